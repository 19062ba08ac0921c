"""Commands about versions: ``show``, ``ls``, ``search``, ``compare``, ``evaluate``,
``alias`` and ``deploy``."""

from __future__ import annotations

from typing import Any

import click

from mreg.cli.facts import best_of, evaluation_metrics, version_files
from mreg.cli.failures import command
from mreg.cli.options import Connection, KeyValue, as_dict, registry_options
from mreg.cli.output import emit, stage_name, state_name, to_dict

EVALUATION_TYPES = ["validation", "test", "production"]
DEPLOYMENT_STATUSES = ["deploying", "serving", "degraded", "failed", "retired"]


def _version_line(v: Any, size: str) -> str:
    stage = stage_name(v.stage)
    state = v.state and state_name(v.state)
    return f"{v.name}  {stage}  {state}  {size}  sha256:{v.artifact_digest.hash[:12]}"


def _sizes(client: Any, versions: list[Any]) -> dict[str, str]:
    """What each version's files add up to, by artifact digest: a tree's digest is that of
    its manifest, so its files are summed (one GetTree per distinct tree)."""
    from mreg.progress import human_bytes

    sizes: dict[str, str] = {}
    for v in versions:
        digest = v.artifact_digest
        if digest.hash in sizes:
            continue
        if v.artifact_is_tree:
            files = client.tree(digest)
            total = human_bytes(sum(f.digest.size_bytes for f in files))
            sizes[digest.hash] = f"{total} in {len(files)} files"
        else:
            sizes[digest.hash] = human_bytes(digest.size_bytes)
    return sizes


def _describe(v: Any, size: str) -> str:
    lines = [
        f"{v.name}",
        f"  state      {state_name(v.state)}",
        f"  stage      {stage_name(v.stage)}",
        f"  artifact   sha256:{v.artifact_digest.hash} ({size})",
        f"  format     {v.format or '-'}  parameters {v.parameter_count or '-'}",
        f"  created    {v.create_time.ToJsonString()} by {v.created_by or '-'}",
    ]
    if v.aliases:
        lines.append(f"  aliases    {', '.join(v.aliases)}")
    for key in sorted(v.metrics):
        lines.append(f"  metric     {key} = {v.metrics[key]:g}")
    for key in sorted(v.tags):
        lines.append(f"  tag        {key} = {v.tags[key]}")
    return "\n".join(lines)


@command(
    "show",
    fields={"reference": "REFERENCE", "name": "REFERENCE"},
    help="Show a version: its fields, its files with what inspection found in each (a file "
    "that can run code when loaded is flagged), and its evaluations' metrics. REFERENCE is "
    "name, name:1.2.0, name@alias or name@stage.",
)
@click.argument("reference")
@registry_options
def show(conn: Connection, reference: str) -> int:
    from mreg.progress import human_bytes

    with conn.client() as client:
        version = client.resolve(reference)
        files = version_files(client, version)
        evaluations = client.evaluations(version.name)
    total = human_bytes(sum(f.size_bytes for f in files))
    size = f"tree of {len(files)} files, {total}" if version.artifact_is_tree else total
    document = {
        **to_dict(version),
        "files": [f.as_dict() for f in files],
        "evaluations": [to_dict(e) for e in evaluations],
    }

    def human() -> str:
        lines = [_describe(version, size)]
        width = max(len(f.path) for f in files)
        for f in files:
            lines.append(
                f"  file       {f.path.ljust(width)}  {human_bytes(f.size_bytes):>9}  {f.summary()}"
            )
        for key, value in sorted(evaluation_metrics(evaluations).items()):
            lines.append(f"  evaluated  {key} = {value:g}")
        return "\n".join(lines)

    return emit(conn.as_json, document, human)


@command(
    "ls",
    fields={"parent": "MODEL"},
    help="List a model's versions, newest first. Each with its stage, state and the size "
    "of its files; archived versions only with --archived.",
)
@click.argument("model")
@click.option("--archived", is_flag=True, help="Include versions in the archived stage.")
@registry_options
def ls(conn: Connection, model: str, archived: bool) -> int:
    with conn.client() as client:
        versions = client.list_versions(model, archived=archived)
        sizes = {} if conn.as_json else _sizes(client, versions)
    return emit(
        conn.as_json,
        {"model_versions": [to_dict(v) for v in versions]},
        lambda: (
            "\n".join(_version_line(v, sizes[v.artifact_digest.hash]) for v in versions)
            or "no versions"
        ),
    )


@command(
    "search",
    fields={"filter": "FILTER", "order_by": "--order-by", "page_size": "--limit"},
    help="Find versions across models. FILTER is AIP-160, for example "
    "mreg search 'metrics.auc > 0.9 AND tags.team = \"risk\"'.",
)
@click.argument("filter", default="", required=False)
@click.option("--order-by", default="", help="Sort order, e.g. 'metrics.auc desc'.")
@click.option("--limit", type=int, default=50, show_default=True, help="Most versions to show.")
@registry_options
def search(conn: Connection, filter: str, order_by: str, limit: int) -> int:
    with conn.client() as c:
        found = c.search(filter, order_by, limit)
    return emit(
        conn.as_json,
        {"model_versions": [to_dict(v) for v in found]},
        lambda: (
            "\n".join(
                f"{v.name}  {' '.join(f'{k}={v.metrics[k]:g}' for k in sorted(v.metrics))}"
                for v in found
            )
            or "no versions match"
        ),
    )


@command(
    "compare",
    fields={
        "names": "VERSIONS",
        "reference": "VERSIONS",
        "metrics": "--metric",
        "lower_is_better": "--lower-is-better",
    },
    help="Compare versions by metric, their own and their evaluations' (by type and "
    "dataset, e.g. 'auc [test holdout@3]'). VERSIONS are name:1.0.0 name:1.1.0 ...; * marks "
    "the best.",
)
@click.argument("versions", nargs=-1, required=True)
@click.option("--metric", multiple=True, help="Only this metric (repeatable).")
@click.option(
    "--lower-is-better",
    multiple=True,
    metavar="METRIC",
    help="A metric where less is better, e.g. latency_ms (repeatable).",
)
@registry_options
def compare(
    conn: Connection, versions: tuple[str, ...], metric: tuple[str, ...], lower_is_better
) -> int:
    with conn.client() as c:
        table = c.compare(list(versions), list(metric), list(lower_is_better))
        evaluated = {
            row.model_version: evaluation_metrics(c.evaluations(row.model_version), metric)
            for row in table.rows
        }
    best = {b.metric: b.model_version for b in table.best}
    best.update(best_of(evaluated, lower_is_better))
    columns = [*table.metrics, *sorted({k for values in evaluated.values() for k in values})]

    def value(row: Any, name: str) -> float | None:
        if name in row.metrics:
            return row.metrics[name]
        return evaluated[row.model_version].get(name)

    def cell(row: Any, name: str) -> str:
        found = value(row, name)
        text = "-" if found is None else f"{found:g}"
        return text + ("*" if best.get(name) == row.model_version else "")

    def human() -> str:
        width = max(len(r.model_version) for r in table.rows)
        widths = {m: max(12, len(m)) for m in columns}
        head = "version".ljust(width) + "".join(f"  {m:>{widths[m]}}" for m in columns)
        rows = [
            r.model_version.ljust(width) + "".join(f"  {cell(r, m):>{widths[m]}}" for m in columns)
            for r in table.rows
        ]
        return "\n".join([head, *rows, "(* best)"])

    document = to_dict(table)
    document["evaluation_metrics"] = columns[len(table.metrics) :]
    for row in document["rows"]:
        row["evaluation_metrics"] = evaluated[row["model_version"]]
    document["evaluation_best"] = [
        {"metric": m, "model_version": best[m]} for m in document["evaluation_metrics"]
    ]
    return emit(conn.as_json, document, human)


def _dataset(ctx: click.Context, param: click.Parameter, value: str) -> str:
    name, sep, version = value.partition("@")
    if not (name and sep and version):
        raise click.BadParameter(
            f"expected NAME@VERSION, e.g. holdout@3, got {value!r}: an evaluation records "
            "which version of the dataset it used",
            ctx,
            param,
        )
    return value


@command(
    "evaluate",
    fields={
        "parent": "VERSION",
        "reference": "VERSION",
        "evaluation.dataset_name": "--dataset",
        "evaluation.dataset_version": "--dataset",
        "evaluation.metrics": "--metric",
        "evaluation.evaluator": "--evaluator",
        "evaluation.comment": "--comment",
    },
    help="Record an evaluation of a version. VERSION is name:1.0.0 or name@alias.",
)
@click.argument("version")
@click.option(
    "--dataset",
    required=True,
    metavar="NAME@VERSION",
    callback=_dataset,
    help="The dataset and its version, e.g. holdout@3.",
)
@click.option(
    "--metric",
    type=KeyValue(float),
    multiple=True,
    required=True,
    help="A metric, auc=0.93 (repeatable; at least one).",
)
@click.option(
    "--type",
    "kind",
    type=click.Choice(EVALUATION_TYPES),
    default="validation",
    show_default=True,
    help="What kind of evaluation.",
)
@click.option("--evaluator", default="", help="Who or what evaluated.")
@click.option("--comment", default="", help="A note kept with the evaluation.")
@registry_options
def evaluate(conn: Connection, version: str, dataset: str, metric, kind, evaluator, comment):
    with conn.client() as c:
        done = c.evaluate(
            version,
            dataset=dataset,
            metrics=as_dict(metric),
            type=kind,
            evaluator=evaluator,
            comment=comment,
        )
    return emit(
        conn.as_json,
        to_dict(done),
        lambda: (
            f"recorded {kind} evaluation of {done.model_version} on "
            f"{done.dataset_name}@{done.dataset_version}: "
            + ", ".join(f"{k}={v:g}" for k, v in sorted(done.metrics.items()))
        ),
    )


@command(
    "alias",
    fields={"model_version": "TARGET", "reference": "TARGET", "parent": "TARGET", "alias": "ALIAS"},
    help="Point an alias at a version. Sets name@ALIAS to TARGET (name:1.0.0); with "
    "--delete, TARGET is the model and the alias is removed.",
)
@click.argument("target")
@click.argument("alias")
@click.option("--delete", is_flag=True, help="Remove the alias instead of setting it.")
@registry_options
def alias(conn: Connection, target: str, alias: str, delete: bool) -> int:
    with conn.client() as c:
        if delete:
            model = target.split("@", 1)[0].split(":", 1)[0]
            c.delete_alias(model, alias)
            return emit(conn.as_json, {"deleted": f"{model}@{alias}"}, lambda: "deleted")
        done = c.set_alias(target, alias)
    return emit(conn.as_json, to_dict(done), lambda: f"{done.name} -> {done.model_version}")


@command(
    "deploy",
    fields={
        "model_version": "VERSION",
        "reference": "VERSION",
        "environment": "--environment",
        "endpoint": "--endpoint",
        "health": "--health",
    },
    help="Record where a version runs. VERSION is name:1.0.0.",
)
@click.argument("version")
@click.option("--environment", required=True, help="Where it runs, e.g. prod-eu.")
@click.option("--endpoint", default="", help="Its address, e.g. http://fraud.prod:8080.")
@click.option(
    "--status",
    type=click.Choice(DEPLOYMENT_STATUSES),
    default="serving",
    show_default=True,
    help="The deployment's state.",
)
@click.option("--health", default="", help="A free-form health note.")
@registry_options
def deploy(conn: Connection, version: str, environment: str, endpoint: str, status, health):
    with conn.client() as c:
        done = c.report_deployment(
            version, environment=environment, endpoint=endpoint, status=status, health=health
        )
    return emit(
        conn.as_json, to_dict(done), lambda: f"{done.model_version} {status} in {done.environment}"
    )


def register(group: click.Group) -> None:
    """Add the version commands to ``group``."""
    for cmd in (show, ls, search, compare, evaluate, alias, deploy):
        group.add_command(cmd)
