"""``mreg import mlflow``: copy registered models from an MLflow server, with a plan first."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from mreg.cli.failures import FAILED, MregGroup, say
from mreg.cli.options import Connection, KeyValue, registry_options
from mreg.cli.output import emit


@click.group(
    "import",
    cls=MregGroup,
    help="Copy models from another registry into this one.",
)
def import_group() -> None:
    pass


def _renames(ctx: click.Context, param: click.Parameter, pairs: tuple) -> dict[str, str]:
    from mreg.importers.mapping import MappingError, check_model_id

    try:
        return {name: check_model_id(new) for name, new in pairs}
    except MappingError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


@import_group.command(
    "mlflow",
    help="Copy registered models from a running MLflow server (2.x or 3.x): every version "
    "with its files, tags, description, its run's metrics and parameters, its stage and "
    "aliases. MLflow's version N becomes N.0.0. Running it again copies only what is new.",
)
@click.option(
    "--tracking-uri",
    required=True,
    envvar="MLFLOW_TRACKING_URI",
    metavar="URL",
    help="The MLflow server, e.g. http://mlflow:5000; default $MLFLOW_TRACKING_URI.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="An MLflow registered model to copy (repeatable); default: all of them.",
)
@click.option(
    "--rename",
    type=KeyValue(),
    multiple=True,
    callback=_renames,
    metavar="NAME=ID",
    help="Give the MLflow model NAME the model id ID here instead of the derived one (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be copied; change nothing.")
@click.option("--streams", type=int, default=4, show_default=True, help="Parallel upload streams.")
@click.option(
    "--max-rate",
    type=float,
    default=0.0,
    show_default=True,
    metavar="MB/S",
    help="Cap each upload at this many MB/s; 0 for no cap.",
)
@registry_options
@click.pass_context
def mlflow_command(ctx: click.Context, conn: Connection, **o: Any) -> int:
    from mreg.importers.mlflow import MlflowSource, SourceError
    from mreg.importers.plan import Importer, make_plan
    from mreg.progress import BarProgress

    started = time.monotonic()
    try:
        source = MlflowSource(o["tracking_uri"], bars=not conn.as_json)
        server_version = source.probe()
    except SourceError as error:
        say(ctx.command_path, str(error))
        return FAILED
    human = not conn.as_json
    with conn.client() as client:
        try:
            plans = make_plan(client, source, o["models"], o["rename"])
        except SourceError as error:
            say(ctx.command_path, str(error))
            return FAILED
        if o["dry_run"]:
            document = _plan_document(source.uri, server_version, plans)
            status = emit(conn.as_json, document, lambda: _plan_text(document))
            return FAILED if any(p.error for p in plans) else status

        def line(text: str) -> None:
            if human:
                print(text, file=sys.stderr, flush=True)

        importer = Importer(
            client,
            source,
            progress=lambda: BarProgress(enabled=human),
            say=line,
            streams=o["streams"],
            max_mb_per_s=o["max_rate"],
        )
        summary = importer.apply(plans)
    document = _plan_document(source.uri, server_version, plans)
    document["summary"] = {
        "imported": summary.imported,
        "already_present": summary.present,
        "stages_set": summary.stages,
        "aliases_set": summary.aliases,
        "failures": summary.failures,
        "notes": summary.notes,
        "bytes_total": summary.bytes_total,
        "bytes_sent": summary.bytes_sent,
        "seconds": round(time.monotonic() - started, 3),
    }
    emit(conn.as_json, document, lambda: _summary_text(document["summary"]))
    for failure in summary.failures:
        say(ctx.command_path, failure)
    return FAILED if summary.failures else 0


def _plan_document(uri: str, server_version: str, plans: list) -> dict[str, Any]:
    return {
        "tracking_uri": uri,
        "mlflow_version": server_version,
        "models": [
            {
                "mlflow_name": p.name,
                "model": p.model,
                "error": p.error,
                "exists": p.exists,
                "versions": [
                    {
                        "mlflow_version": s.source.number,
                        "version": s.version,
                        "action": s.action,
                        "stage": s.stage,
                        "aliases": sorted(a for a, v in p.aliases.items() if v == s.version),
                        "reason": s.reason,
                    }
                    for s in p.versions
                ],
                "aliases": p.aliases,
                "notes": p.notes,
            }
            for p in plans
        ],
    }


def _plan_text(document: dict[str, Any]) -> str:
    models = document["models"]
    counts = {"import": 0, "present": 0, "conflict": 0, "skip": 0}
    for m in models:
        for v in m["versions"]:
            counts[v["action"]] += 1
    lines = [
        f"plan for MLflow {document['mlflow_version']} at {document['tracking_uri']}: "
        f"{len(models)} model(s), {counts['import']} version(s) to import, "
        f"{counts['present']} already here, {counts['conflict'] + counts['skip']} not importable"
    ]
    for m in models:
        if m["error"]:
            lines.append(f"{m['mlflow_name']!r}: refused: {m['error']}")
            continue
        state = "exists here" if m["exists"] else "new model"
        lines.append(f"{m['model']} (MLflow {m['mlflow_name']!r}, {state})")
        for v in m["versions"]:
            aliases = f"  aliases {', '.join(v['aliases'])}" if v["aliases"] else ""
            reason = f"  ({v['reason']})" if v["reason"] else ""
            lines.append(
                f"  {v['mlflow_version']:>4} -> {v['version']:<10} {v['action']:<8} "
                f"{v['stage']}{aliases}{reason}"
            )
        lines += [f"  note: {n}" for n in m["notes"]]
    return "\n".join(lines)


def _summary_text(s: dict[str, Any]) -> str:
    from mreg.progress import human_bytes

    lines = [
        f"imported {len(s['imported'])} version(s), {s['already_present']} already here, "
        f"{len(s['failures'])} failed; sent {human_bytes(s['bytes_sent'])} of "
        f"{human_bytes(s['bytes_total'])}; {len(s['stages_set'])} stage(s) and "
        f"{len(s['aliases_set'])} alias(es) set; {s['seconds']:.1f} s"
    ]
    lines += [f"note: {n}" for n in s["notes"]]
    return "\n".join(lines)


def register(group: click.Group) -> None:
    """Add ``import`` (with ``import mlflow``) to ``group``."""
    group.add_command(import_group)
