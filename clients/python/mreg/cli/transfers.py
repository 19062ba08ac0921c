"""``mreg push`` and ``mreg pull``: bytes to and from the registry, with progress bars."""

from __future__ import annotations

import time

import click

from mreg.cli.facts import CODE_WARNING
from mreg.cli.failures import command
from mreg.cli.options import Connection, KeyValue, as_dict, registry_options
from mreg.cli.output import emit

BUMPS = ["major", "minor", "patch", "breaking", "feature"]

#: The registry's field names for what ``push`` sends, and the flags they come from.
PUSH_FIELDS = {
    "parent": "--model",
    "model_version.version": "--version",
    "model_version.metrics": "--metric",
    "model_version.params": "--param",
    "model_version.hyperparameters": "--hyperparameter",
    "model_version.tags": "--tag",
    "model_version.description": "--description",
    "model_version.experiment_id": "--experiment",
    "model_version.run_id": "--run",
    "model_version.training_dataset": "--dataset",
    "reference": "--parent",
    "entries": "PATH",
}
PULL_FIELDS = {"reference": "REFERENCE"}


def _quiet_gc() -> None:
    """Move what is loaded so far out of the garbage collector's sight: a transfer makes
    few cycles, and collections walking every module and descriptor cost about a tenth of
    a pull's CPU."""
    import gc

    gc.collect()
    gc.freeze()


def _rate_option(f):
    return click.option(
        "--max-rate",
        type=float,
        default=0.0,
        show_default=True,
        metavar="MB/S",
        help="Cap the transfer at this many MB/s; 0 for no cap.",
    )(f)


def _streams_option(what: str):
    return click.option(
        "--streams", type=int, default=4, show_default=True, help=f"Parallel {what} streams."
    )


@command(
    "push",
    fields=PUSH_FIELDS,
    help="Upload a file or a directory and register it as a version. Only the chunks "
    "the registry lacks are sent; running an interrupted push again sends the rest.",
)
@click.argument("path")
@click.option("--model", required=True, help="Model id, e.g. fraud-detector.")
@click.option("--version", help="Explicit semantic version, e.g. 1.2.0 (not with --bump).")
@click.option(
    "--bump",
    type=click.Choice(BUMPS),
    help="Bump the model's latest version; patch when neither this nor --version is given.",
)
@click.option(
    "--metric", type=KeyValue(float), multiple=True, help="A metric, auc=0.93 (repeatable)."
)
@click.option("--param", type=KeyValue(), multiple=True, help="A parameter (repeatable).")
@click.option(
    "--hyperparameter", type=KeyValue(), multiple=True, help="A hyperparameter (repeatable)."
)
@click.option("--tag", type=KeyValue(), multiple=True, help="A tag, team=risk (repeatable).")
@click.option(
    "--parent",
    multiple=True,
    metavar="VERSION",
    help="A version this one was fine-tuned from, name:1.0.0 or name@alias (repeatable).",
)
@click.option(
    "--dataset",
    multiple=True,
    metavar="NAME@VERSION",
    help="A dataset it was trained on (repeatable; the first is its training dataset).",
)
@click.option("--experiment", default="", help="Experiment id.")
@click.option("--run", default="", help="Run id.")
@click.option("--description", default="", help="What this version is.")
@_streams_option("upload")
@click.option("--no-cache", is_flag=True, help="Hash every file again, even if unchanged.")
@_rate_option
@registry_options
@click.pass_context
def push(ctx: click.Context, conn: Connection, **o) -> int:
    from mreg.progress import BarProgress, human_bytes

    if o["version"] and o["bump"]:
        raise click.UsageError("--version and --bump do not go together; give one", ctx=ctx)
    progress = BarProgress(enabled=not conn.as_json)
    started = time.monotonic()
    with conn.client() as client:
        _quiet_gc()
        try:
            result = client.push(
                o["path"],
                model=o["model"],
                version=o["version"] or "",
                bump=o["bump"],
                metrics=as_dict(o["metric"]),
                params=as_dict(o["param"]),
                hyperparameters=as_dict(o["hyperparameter"]),
                tags=as_dict(o["tag"]),
                parents=list(o["parent"]),
                datasets=list(o["dataset"]),
                experiment=o["experiment"],
                run=o["run"],
                description=o["description"],
                streams=o["streams"],
                use_cache=not o["no_cache"],
                progress=progress,
                max_mb_per_s=o["max_rate"],
            )
        finally:
            progress.close()
    v, stats = result.version, result.stats
    seconds = time.monotonic() - started
    rate = stats.bytes_total / 1e6 / seconds if seconds > 0 else 0.0
    document = {
        "model": v.model,
        "version": v.version,
        "name": v.name,
        "digest": v.artifact_digest.hash,
        "is_tree": v.artifact_is_tree,
        "files": stats.files,
        "bytes_total": stats.bytes_total,
        "bytes_sent": stats.bytes_sent,
        "chunks_total": stats.chunks_total,
        "chunks_sent": stats.chunks_sent,
        "files_hashed": stats.files_hashed,
        "deduplicated_ratio": round(stats.dedup_ratio, 4),
        "bytes_deduplicated": stats.bytes_deduplicated,
        "seconds": round(seconds, 3),
        "mb_per_s": round(rate, 1),
        "code_files": [
            {"path": path, "format": found.format}
            for path, found in sorted(result.inspections.items())
            if found.may_execute_code
        ],
    }
    warnings = "".join(
        f"\n! {f['path']} ({f['format']}) {CODE_WARNING}" for f in document["code_files"]
    )
    return emit(
        conn.as_json,
        document,
        lambda: (
            f"pushed {v.name} (sha256:{v.artifact_digest.hash[:12]}, "
            f"{stats.files} file{'s' if stats.files != 1 else ''})\n"
            f"sent {human_bytes(stats.bytes_sent)} of {human_bytes(stats.bytes_total)}, "
            f"{stats.dedup_ratio:.0%} already in the registry (dedup saved "
            f"{human_bytes(stats.bytes_deduplicated)}); {seconds:.1f} s, {rate:.0f} MB/s" + warnings
        ),
    )


@command(
    "pull",
    fields=PULL_FIELDS,
    help="Download a version's files into DEST. Each is verified against its SHA-256; "
    "files already there are kept; an interrupted pull resumes.",
)
@click.argument("reference")
@click.argument("dest")
@_streams_option("download")
@_rate_option
@click.option(
    "--compressed",
    is_flag=True,
    help="Fetch chunks compressed: fewer bytes on a slow link, more CPU here.",
)
@registry_options
def pull(
    conn: Connection, reference: str, dest: str, streams: int, max_rate: float, compressed: bool
) -> int:
    from mreg.progress import BarProgress, human_bytes

    progress = BarProgress(enabled=not conn.as_json)
    started = time.monotonic()
    with conn.client() as client:
        _quiet_gc()
        try:
            result = client.pull(
                reference,
                dest,
                threads=streams,
                progress=progress,
                max_mb_per_s=max_rate,
                compressed=compressed,
            )
        finally:
            progress.close()
    v, stats = result.version, result.stats
    seconds = time.monotonic() - started
    rate = stats.bytes_received / 1e6 / seconds if seconds > 0 else 0.0
    document = {
        "model": v.model,
        "version": v.version,
        "name": v.name,
        "digest": v.artifact_digest.hash,
        "files": [str(p) for p in result.paths],
        "bytes_total": stats.bytes_total,
        "bytes_received": stats.bytes_received,
        "bytes_resumed": stats.bytes_resumed,
        "files_skipped": stats.files_skipped,
        "seconds": round(seconds, 3),
        "mb_per_s": round(rate, 1),
    }
    return emit(
        conn.as_json,
        document,
        lambda: (
            f"pulled {v.name} into {dest}: {len(result.paths)} file(s), "
            f"received {human_bytes(stats.bytes_received)} of {human_bytes(stats.bytes_total)}"
            f" in {seconds:.1f} s ({rate:.0f} MB/s)"
            f"{f', resumed from {human_bytes(stats.bytes_resumed)}' if stats.bytes_resumed else ''}"
            f"{f', {stats.files_skipped} already present' if stats.files_skipped else ''}; "
            "every file verified"
        ),
    )


def register(group: click.Group) -> None:
    """Add ``push`` and ``pull`` to ``group``."""
    group.add_command(push)
    group.add_command(pull)
