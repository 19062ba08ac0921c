"""``mreg``: the registry's command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from mreg.commands import add_commands, pairs, to_dict
from mreg.errors import MregError
from mreg.interrupt import catch_sigint


def _client(args: argparse.Namespace):
    from mreg.client import Client

    return Client(
        args.gateway,
        token=args.token,
        timeout=args.timeout,
        tls=args.tls,
        ca_file=args.ca_file,
        cert_file=args.cert,
        key_file=args.key,
    )


def _emit(args: argparse.Namespace, document: Any, human: Callable[[], str]) -> int:
    print(json.dumps(document, indent=2, sort_keys=True) if args.json else human())
    return 0


def _version_line(v: Message) -> str:
    stage = resources_stage_name(v.stage)
    state = v.state and resources_state_name(v.state)
    size = v.artifact_digest.size_bytes
    return f"{v.name}  {stage}  {state}  {size} bytes  sha256:{v.artifact_digest.hash[:12]}"


def resources_stage_name(stage: int) -> str:
    """``STAGE_PRODUCTION`` -> ``production``."""
    from modelregistry.v1 import resources_pb2

    return resources_pb2.Stage.Name(stage).removeprefix("STAGE_").lower()


def resources_state_name(state: int) -> str:
    """``VERSION_STATE_READY`` -> ``ready``."""
    from modelregistry.v1 import resources_pb2

    return resources_pb2.VersionState.Name(state).removeprefix("VERSION_STATE_").lower()


def _show(args: argparse.Namespace) -> int:
    from mreg.progress import human_bytes

    with _client(args) as client:
        version = client.resolve(args.reference)
        digest = version.artifact_digest
        size = f"{human_bytes(digest.size_bytes)}"
        if version.artifact_is_tree:
            files = client.tree(digest)
            total = human_bytes(sum(f.digest.size_bytes for f in files))
            size = f"tree of {len(files)} files, {total}"
    return _emit(args, to_dict(version), lambda: _describe(version, size))


def _describe(v: Message, size: str) -> str:
    lines = [
        f"{v.name}",
        f"  state      {resources_state_name(v.state)}",
        f"  stage      {resources_stage_name(v.stage)}",
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


def _quiet_gc() -> None:
    """Move what is loaded so far out of the garbage collector's sight: a transfer makes
    few cycles, and collections walking every module and descriptor cost about a tenth of
    a pull's CPU."""
    import gc

    gc.collect()
    gc.freeze()


def _push(args: argparse.Namespace) -> int:
    from mreg.progress import BarProgress, human_bytes

    progress = BarProgress(enabled=not args.json)
    started = time.monotonic()
    with _client(args) as client:
        _quiet_gc()
        try:
            result = client.push(
                args.path,
                model=args.model,
                version=args.version or "",
                bump=args.bump,
                metrics=dict(pairs(args.metric, float)),
                params=dict(pairs(args.param, str)),
                hyperparameters=dict(pairs(args.hyperparameter, str)),
                tags=dict(pairs(args.tag, str)),
                parents=args.parent,
                datasets=args.dataset,
                experiment=args.experiment,
                run=args.run,
                description=args.description,
                streams=args.streams,
                use_cache=not args.no_cache,
                progress=progress,
                max_mb_per_s=args.max_rate,
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
    }
    return _emit(
        args,
        document,
        lambda: (
            f"pushed {v.name} (sha256:{v.artifact_digest.hash[:12]}, "
            f"{stats.files} file{'s' if stats.files != 1 else ''})\n"
            f"sent {human_bytes(stats.bytes_sent)} of {human_bytes(stats.bytes_total)}, "
            f"{stats.dedup_ratio:.0%} already in the registry (dedup saved "
            f"{human_bytes(stats.bytes_deduplicated)}); {seconds:.1f} s, {rate:.0f} MB/s"
        ),
    )


def _pull(args: argparse.Namespace) -> int:
    from mreg.progress import BarProgress, human_bytes

    progress = BarProgress(enabled=not args.json)
    started = time.monotonic()
    with _client(args) as client:
        _quiet_gc()
        try:
            result = client.pull(
                args.reference,
                args.dest,
                threads=args.streams,
                progress=progress,
                max_mb_per_s=args.max_rate,
                compressed=args.compressed,
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
    return _emit(
        args,
        document,
        lambda: (
            f"pulled {v.name} into {args.dest}: {len(result.paths)} file(s), "
            f"received {human_bytes(stats.bytes_received)} of {human_bytes(stats.bytes_total)}"
            f" in {seconds:.1f} s ({rate:.0f} MB/s)"
            f"{f', resumed from {human_bytes(stats.bytes_resumed)}' if stats.bytes_resumed else ''}"
            f"{f', {stats.files_skipped} already present' if stats.files_skipped else ''}; "
            "every file verified"
        ),
    )


def _ls(args: argparse.Namespace) -> int:
    with _client(args) as client:
        versions = client.list_versions(args.model)
    return _emit(
        args,
        {"model_versions": [to_dict(v) for v in versions]},
        lambda: "\n".join(_version_line(v) for v in versions) or "no versions",
    )


def _serve(args: argparse.Namespace) -> int:
    from services.common.runner import prepare_process
    from services.common.server import run_until_signal, wait_serving
    from services.common.settings import load_settings
    from services.embedded import build_embedded

    prepare_process("embedded", load_settings(log_level=args.log_level))
    try:
        registry = build_embedded(
            Path(args.data_dir),
            host=args.host,
            gateway_port=args.gateway_port,
            artifacts_port=args.artifacts_port,
            metadata_port=args.metadata_port,
            tokens_file=Path(args.tokens_file) if args.tokens_file else None,
            policy_file=Path(args.policy) if args.policy else None,
            http_port=args.http_port,
        )
        registry.start_http()
    except (OSError, ValueError) as error:
        print(f"mreg serve: {error}", file=sys.stderr)
        return 1
    from services.gateway.app import start_background

    def banner() -> None:
        # Only once all three report SERVING (the gateway waits for its peers).
        for server in registry.servers:
            if not wait_serving(registry.address(server), timeout=60):
                print(f"mreg serve: {registry.address(server)} is not SERVING", file=sys.stderr)
        print("model registry running on embedded defaults (SQLite + local files)", flush=True)
        print(registry.describe(), flush=True)
        print("press Ctrl-C to stop", flush=True)

    stop_background = start_background(registry.settings, registry.gateway_service)
    try:
        run_until_signal(registry.servers, on_started=banner)
    finally:
        registry.stop_http()
        stop_background()
    print("stopped", flush=True)
    return 0


def _token_store(args: argparse.Namespace):
    import os

    from services.common.auth import TokenStore

    path = args.tokens_file or os.environ.get("MREG_AUTH_TOKENS_FILE") or "mreg-data/tokens.json"
    return TokenStore(Path(path))


def _token_create(args: argparse.Namespace) -> int:
    from services.common.auth import Role

    store = _token_store(args)
    ttl = args.expires_in_days * 86400 if args.expires_in_days else None
    token, record = store.create(
        args.principal,
        [Role(r) for r in args.role],
        model_prefix=args.model_prefix,
        ttl_seconds=ttl,
    )
    document = {
        "token": token,
        "id": record.id,
        "principal": record.principal,
        "roles": record.roles,
        "model_prefix": record.model_prefix,
        "expires_at": record.expires_at,
        "tokens_file": str(store.path),
    }
    return _emit(
        args,
        document,
        lambda: (
            f"{token}\n(token {record.id} for {record.principal}: {', '.join(record.roles)}"
            f"{'; models ' + record.model_prefix + '*' if record.model_prefix else ''}; "
            "shown once, stored hashed in " + str(store.path) + ")"
        ),
    )


def _token_revoke(args: argparse.Namespace) -> int:
    try:
        record = _token_store(args).revoke(args.id)
    except KeyError:
        print(f"mreg token revoke: no token with id {args.id!r}", file=sys.stderr)
        return 1
    return _emit(args, {"id": record.id, "revoked": True}, lambda: f"revoked {record.id}")


def _token_list(args: argparse.Namespace) -> int:
    records = _token_store(args).list()
    rows = [{k: v for k, v in vars(r).items() if k != "sha256"} for r in records]
    return _emit(
        args,
        {"tokens": rows},
        lambda: (
            "\n".join(
                f"{r.id}  {r.principal}  {','.join(r.roles)}  {r.model_prefix or '*'}"
                f"{'  revoked' if r.revoked else ''}"
                for r in records
            )
            or "no tokens"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``mreg`` argument parser with its sub-commands."""
    parser = argparse.ArgumentParser(prog="mreg", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the gateway, artifact and metadata services on embedded defaults"
    )
    serve.add_argument("--data-dir", default="mreg-data", help="where data lives (./mreg-data)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--gateway-port", type=int, default=50051, help="gateway port (50051)")
    serve.add_argument("--artifacts-port", type=int, default=50052, help="artifacts port (50052)")
    serve.add_argument("--metadata-port", type=int, default=50053, help="metadata port (50053)")
    serve.add_argument(
        "--http-port", type=int, default=8080, help="HTTP port: OCI pull API under /v2/ (8080)"
    )
    serve.add_argument(
        "--tokens-file",
        default=None,
        help="require bearer tokens from this file (needed to listen beyond loopback)",
    )
    serve.add_argument("--policy", default=None, help="promotion policy file (YAML or TOML)")
    serve.add_argument("--log-level", default="INFO", help="log level (INFO)")
    serve.set_defaults(handler=_serve)

    def client_command(name: str, help: str, run: Callable[[argparse.Namespace], int]):
        command = commands.add_parser(name, help=help)
        command.add_argument(
            "--gateway",
            default=None,
            help="gateway address (default: $MREG_GATEWAY or 127.0.0.1:50051)",
        )
        command.add_argument("--json", action="store_true", help="print one JSON document")
        command.add_argument("--token", default=None, help="bearer token (default: $MREG_TOKEN)")
        command.add_argument(
            "--timeout",
            type=float,
            default=30.0,
            help="seconds per call, retries included (30)",
        )
        command.add_argument(
            "--tls",
            action="store_true",
            default=None,
            help="use TLS, verified against the system's roots (default: $MREG_TLS; "
            "an https:// gateway turns it on)",
        )
        command.add_argument(
            "--ca-file", default=None, help="PEM CA bundle to verify the registry (TLS on)"
        )
        command.add_argument(
            "--cert", default=None, help="PEM client certificate for mutual TLS (with --key)"
        )
        command.add_argument("--key", default=None, help="PEM private key of --cert")
        command.set_defaults(handler=run)
        return command

    token = commands.add_parser("token", help="create, revoke and list bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    for name, run, help_text in (
        ("create", _token_create, "create a token (printed once) and store its hash"),
        ("revoke", _token_revoke, "revoke a token by id"),
        ("list", _token_list, "list tokens (never the secrets)"),
    ):
        sub = token_commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--tokens-file",
            default=None,
            help="tokens file (default: $MREG_AUTH_TOKENS_FILE or mreg-data/tokens.json)",
        )
        sub.add_argument("--json", action="store_true", help="print one JSON document")
        sub.set_defaults(handler=run)
        if name == "create":
            sub.add_argument("--principal", required=True, help="who the token stands for")
            sub.add_argument(
                "--role",
                action="append",
                required=True,
                choices=["reader", "writer", "approver", "admin"],
                help="a role (repeat for several)",
            )
            sub.add_argument("--model-prefix", default="", help="limit to models with this prefix")
            sub.add_argument("--expires-in-days", type=float, default=0, help="0: never")
        elif name == "revoke":
            sub.add_argument("id", help="token id (the part after 'mreg_')")

    show = client_command("show", "show a version: name, name:version, name@alias", _show)
    show.add_argument("reference", help="name, name:1.2.0, name@alias or name@stage")
    push = client_command("push", "upload a file or directory and register a version", _push)
    push.add_argument("path", help="a model file or a directory of files")
    push.add_argument("--model", required=True, help="model id")
    numbering = push.add_mutually_exclusive_group()
    numbering.add_argument("--version", help="explicit semantic version, e.g. 1.2.0")
    numbering.add_argument(
        "--bump",
        choices=["major", "minor", "patch", "breaking", "feature"],
        help="bump the model's latest version (default: patch)",
    )
    for flag, what in (
        ("--metric", "metric KEY=NUMBER"),
        ("--param", "parameter KEY=VALUE"),
        ("--hyperparameter", "hyperparameter KEY=VALUE"),
        ("--tag", "tag KEY=VALUE"),
        ("--parent", "parent version it was fine-tuned from (name:1.0.0, name@alias)"),
        ("--dataset", "dataset it was trained on, name@version"),
    ):
        push.add_argument(flag, action="append", default=[], help=f"{what} (repeatable)")
    push.add_argument("--experiment", default="", help="experiment id")
    push.add_argument("--run", default="", help="run id")
    push.add_argument("--description", default="", help="description")
    push.add_argument("--streams", type=int, default=4, help="parallel upload streams (4)")
    push.add_argument("--no-cache", action="store_true", help="hash files even if unchanged")
    push.add_argument("--max-rate", type=float, default=0.0, help="cap in MB/s (0: none)")
    pull = client_command("pull", "download a version's files, verified", _pull)
    pull.add_argument("reference", help="name, name:1.2.0, name@alias or name@stage")
    pull.add_argument("dest", help="directory to write the files into")
    pull.add_argument("--streams", type=int, default=4, help="parallel download streams (4)")
    pull.add_argument("--max-rate", type=float, default=0.0, help="cap in MB/s (0: none)")
    pull.add_argument(
        "--compressed",
        action="store_true",
        help="fetch chunks compressed: fewer bytes on a slow link, more CPU here",
    )
    ls = client_command("ls", "list a model's versions, newest first", _ls)
    ls.add_argument("model", help="model id")
    add_commands(commands, client_command, _emit, _client)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mreg``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with catch_sigint():
            return args.handler(args)
    except MregError as error:
        if getattr(args, "json", False):
            print(json.dumps({"error": {"code": error.code.name, "message": error.message}}))
        print(f"mreg {args.command}: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mreg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
