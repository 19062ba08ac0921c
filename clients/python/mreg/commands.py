"""The ``mreg`` sub-commands that talk to a running registry beyond push, pull, ls and show."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

Emit = Callable[[argparse.Namespace, Any, Callable[[], str]], int]


def to_dict(message: Message) -> dict[str, Any]:
    """A proto as a JSON-ready dict with the proto's own field names."""
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def pairs(items: list[str] | None, cast: Callable[[str], Any]) -> list[tuple[str, Any]]:
    """``KEY=VALUE`` arguments as pairs, the values cast; exits with a message when malformed."""
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        try:
            out.append((key, cast(value)))
        except ValueError:
            raise SystemExit(f"{key}: {value!r} is not a number") from None
    return out


def add_commands(commands: Any, client_command: Callable, emit: Emit, client: Callable) -> None:
    """Add the lifecycle and query sub-commands to the ``mreg`` parser."""

    def promotion_summary(response: Any) -> str:
        from modelregistry.v1 import governance_pb2
        from mreg.cli import resources_stage_name

        p = response.promotion
        if p.name:
            state = governance_pb2.PromotionState.Name(p.state).removeprefix("PROMOTION_STATE_")
            lines = [f"{p.name}: {state.lower()}"]
            if p.required_approvals:
                lines.append(f"  approvals {len(p.approvals)} of {p.required_approvals}")
        else:
            lines = ["override (no promotion record)"]
        if response.model_version.name:
            stage = resources_stage_name(response.model_version.stage)
            lines.append(f"  {response.model_version.name} is now {stage}")
        if response.previous_production.name:
            lines.append(f"  {response.previous_production.name} left production")
        return "\n".join(lines)

    def search(args):
        with client(args) as c:
            found = c.search(args.filter, args.order_by, args.limit)
        return emit(
            args,
            {"model_versions": [to_dict(v) for v in found]},
            lambda: (
                "\n".join(
                    f"{v.name}  {' '.join(f'{k}={v.metrics[k]:g}' for k in sorted(v.metrics))}"
                    for v in found
                )
                or "no versions match"
            ),
        )

    cmd = client_command("search", "find versions: mreg search 'metrics.auc > 0.9'", search)
    cmd.add_argument("filter", nargs="?", default="", help="AIP-160 filter")
    cmd.add_argument("--order-by", default="", help="e.g. 'metrics.auc desc'")
    cmd.add_argument("--limit", type=int, default=50, help="most versions to show (50)")

    def compare(args):
        with client(args) as c:
            table = c.compare(args.versions, args.metric, args.lower_is_better)
        best = {b.metric: b.model_version for b in table.best}

        def cell(row: Any, metric: str) -> str:
            value = f"{row.metrics[metric]:g}" if metric in row.metrics else "-"
            return value + ("*" if best.get(metric) == row.model_version else "")

        def human() -> str:
            width = max(len(r.model_version) for r in table.rows)
            head = "version".ljust(width) + "".join(f"  {m:>12}" for m in table.metrics)
            rows = [
                r.model_version.ljust(width) + "".join(f"  {cell(r, m):>12}" for m in table.metrics)
                for r in table.rows
            ]
            return "\n".join([head, *rows, "(* best)"])

        return emit(args, to_dict(table), human)

    cmd = client_command("compare", "compare versions by metric", compare)
    cmd.add_argument("versions", nargs="+", help="name:1.0.0 name:1.1.0 ...")
    cmd.add_argument("--metric", action="append", default=[], help="only these metrics")
    cmd.add_argument("--lower-is-better", action="append", default=[], help="e.g. latency_ms")

    def evaluate(args):
        with client(args) as c:
            done = c.evaluate(
                args.version,
                dataset=args.dataset,
                metrics=dict(pairs(args.metric, float)),
                type=args.type,
                evaluator=args.evaluator,
                comment=args.comment,
            )
        return emit(
            args,
            to_dict(done),
            lambda: (
                f"recorded {args.type} evaluation of {done.model_version} on "
                f"{done.dataset_name}@{done.dataset_version}: "
                + ", ".join(f"{k}={v:g}" for k, v in sorted(done.metrics.items()))
            ),
        )

    cmd = client_command("evaluate", "record an evaluation of a version", evaluate)
    cmd.add_argument("version", help="name:1.0.0 or name@alias")
    cmd.add_argument("--dataset", required=True, help="name@version")
    cmd.add_argument("--metric", action="append", default=[], required=True, help="auc=0.93")
    cmd.add_argument("--type", default="validation", choices=["validation", "test", "production"])
    cmd.add_argument("--evaluator", default="", help="who or what evaluated")
    cmd.add_argument("--comment", default="")

    def promote(args):
        with client(args) as c:
            done = c.promote(args.version, args.stage, args.reason)
        return emit(args, to_dict(done), lambda: promotion_summary(done))

    cmd = client_command("promote", "ask to move a version to a stage", promote)
    cmd.add_argument("version", help="name:1.0.0")
    cmd.add_argument(
        "stage", choices=["development", "staging", "production", "archived", "deprecated"]
    )
    cmd.add_argument("--reason", default="", help="why")

    def approve(args):
        with client(args) as c:
            done = c.approve(args.promotion, args.comment)
        return emit(args, to_dict(done), lambda: promotion_summary(done))

    cmd = client_command("approve", "approve a promotion", approve)
    cmd.add_argument("promotion", help="models/{model}/promotions/{id}")
    cmd.add_argument("--comment", default="")

    def reject(args):
        with client(args) as c:
            done = c.reject(args.promotion, args.comment)
        return emit(args, to_dict(done), lambda: f"{done.name}: rejected")

    cmd = client_command("reject", "reject a promotion", reject)
    cmd.add_argument("promotion", help="models/{model}/promotions/{id}")
    cmd.add_argument("--comment", default="")

    def alias(args):
        from services.common.validation import reference_model

        with client(args) as c:
            if args.delete:
                model = reference_model(args.target)
                c.delete_alias(model, args.alias)
                return emit(args, {"deleted": f"{model}@{args.alias}"}, lambda: "deleted")
            done = c.set_alias(args.target, args.alias)
        return emit(args, to_dict(done), lambda: f"{done.name} -> {done.model_version}")

    cmd = client_command("alias", "point name@alias at a version (or --delete it)", alias)
    cmd.add_argument("target", help="the version, name:1.0.0 (the model, with --delete)")
    cmd.add_argument("alias", help="e.g. champion")
    cmd.add_argument("--delete", action="store_true", help="remove the alias")

    def lineage(args):
        from mreg.render import dot, tree

        with client(args) as c:
            graph = c.lineage(
                args.node, node_type=args.type, direction=args.direction, depth=args.depth
            )
        root = next((n for n in graph.nodes if n.depth == 0), graph.nodes[0])
        if args.format == "dot":
            print(dot(list(graph.nodes), list(graph.edges)))
            return 0
        return emit(
            args, to_dict(graph), lambda: tree(root, list(graph.edges), args.direction != "down")
        )

    cmd = client_command("lineage", "show where a version came from (or what came of it)", lineage)
    cmd.add_argument("node", help="name:1.0.0, or dataset@version with --type dataset")
    cmd.add_argument("--type", default="model", choices=["model", "dataset", "experiment", "run"])
    cmd.add_argument("--direction", default="up", choices=["up", "down", "both"])
    cmd.add_argument("--depth", type=int, default=10)
    cmd.add_argument("--format", default="tree", choices=["tree", "dot"])

    def impact(args):
        from mreg.cli import resources_stage_name

        with client(args) as c:
            found = c.impact(args.node, node_type=args.type, stages=args.stage)
        return emit(
            args,
            {"versions": [to_dict(v) for v in found]},
            lambda: (
                "\n".join(
                    f"{v.model_version}  {resources_stage_name(v.stage)}  (depth {v.depth})"
                    for v in found
                )
                or "nothing downstream"
            ),
        )

    cmd = client_command("impact", "every version downstream of a dataset or version", impact)
    cmd.add_argument("node", help="dataset@version (or name:1.0.0 with --type model)")
    cmd.add_argument("--type", default="dataset", choices=["model", "dataset", "experiment", "run"])
    cmd.add_argument("--stage", action="append", default=[], help="only versions in this stage")

    def events(args):
        from mreg.interrupt import until_interrupted

        with client(args) as c:
            seen = []
            stream = c.events(args.after, model=args.model, types=args.type, follow=args.follow)
            for event in until_interrupted(stream) if args.follow else stream:
                if args.json and not args.follow:
                    seen.append(to_dict(event))
                    continue
                if args.json:
                    print(json.dumps(to_dict(event)), flush=True)
                else:
                    attributes = " ".join(f"{k}={v}" for k, v in sorted(event.attributes.items()))
                    print(
                        f"{event.sequence}  {event.type}  {event.resource}  {attributes}",
                        flush=True,
                    )
        if args.json and not args.follow:
            print(json.dumps({"events": seen}, indent=2))
        return 0

    cmd = client_command("events", "registry events; --follow keeps watching", events)
    cmd.add_argument("--after", type=int, default=0, help="resume after this sequence")
    cmd.add_argument("--model", default="", help="only this model")
    cmd.add_argument("--type", action="append", default=[], help="only this event type")
    cmd.add_argument("--follow", action="store_true", help="wait for new events (Ctrl-C ends)")

    def deploy(args):
        with client(args) as c:
            done = c.report_deployment(
                args.version,
                environment=args.environment,
                endpoint=args.endpoint,
                status=args.status,
                health=args.health,
            )
        return emit(
            args, to_dict(done), lambda: f"{done.model_version} {args.status} in {done.environment}"
        )

    cmd = client_command("deploy", "record where a version runs", deploy)
    cmd.add_argument("version", help="name:1.0.0")
    cmd.add_argument("--environment", required=True, help="e.g. prod-eu")
    cmd.add_argument("--endpoint", default="")
    cmd.add_argument(
        "--status",
        default="serving",
        choices=["deploying", "serving", "degraded", "failed", "retired"],
    )
    cmd.add_argument("--health", default="")

    def gc(args):
        from google.protobuf.duration_pb2 import Duration

        from modelregistry.v1 import artifacts_pb2

        with client(args) as c:
            done = c.artifacts.CollectGarbage(
                artifacts_pb2.CollectGarbageRequest(
                    grace_period=Duration(seconds=int(args.grace_seconds)), dry_run=args.dry_run
                ),
                timeout=args.timeout,
                metadata=c.metadata,
            )
        return emit(
            args,
            to_dict(done),
            lambda: (
                f"{'would remove' if args.dry_run else 'removed'} {done.blobs_removed} "
                f"blobs and {done.chunks_removed} chunks, {done.bytes_freed} bytes"
            ),
        )

    cmd = client_command("gc", "remove unpinned blobs and unreferenced chunks (admin)", gc)
    cmd.add_argument("--grace-seconds", type=float, default=3600.0)
    cmd.add_argument("--dry-run", action="store_true")

    def db_upgrade(args):
        from services.common.settings import Settings
        from services.metadata.app import migrate

        url = (
            args.database_url
            or os.environ.get("MREG_DATABASE_URL")
            or (Settings(data_dir=Path(args.data_dir)).resolved_database_url)
        )
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        migrate(url)
        print(f"metadata schema is up to date ({url.split('@')[-1]})", file=sys.stderr)
        return 0

    db = commands.add_parser("db", help="database administration")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the metadata schema to the latest")
    upgrade.add_argument(
        "--database-url", default="", help="default: $MREG_DATABASE_URL or embedded"
    )
    upgrade.add_argument("--data-dir", default="mreg-data", help="embedded data dir (mreg-data)")
    upgrade.set_defaults(handler=db_upgrade)
