"""Running and administering a registry: ``serve``, ``token``, ``gc`` and ``db``.

These need the server's packages; the commands import them only when they run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mreg.cli.failures import FAILED, MregGroup, command, say
from mreg.cli.options import Connection, json_option, registry_options
from mreg.cli.output import emit, to_dict

ROLES = ["reader", "writer", "approver", "admin"]


@command(
    "serve",
    help="Run a registry on embedded defaults. The gateway, artifact and metadata services "
    "in one process, on SQLite and local files; Ctrl-C stops them.",
)
@click.option("--data-dir", default="mreg-data", show_default=True, help="Where data lives.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--gateway-port", type=int, default=50051, show_default=True, help="Gateway port.")
@click.option(
    "--artifacts-port", type=int, default=50052, show_default=True, help="Artifact service port."
)
@click.option(
    "--metadata-port", type=int, default=50053, show_default=True, help="Metadata service port."
)
@click.option(
    "--http-port",
    type=int,
    default=8080,
    show_default=True,
    help="HTTP port: the OCI pull API under /v2/; 0 picks a free one.",
)
@click.option(
    "--tokens-file",
    help="Require bearer tokens from this file (needed to listen beyond loopback).",
)
@click.option("--policy", help="Promotion policy file (YAML or TOML).")
@click.option("--log-level", default="INFO", show_default=True, help="Log level.")
@click.pass_context
def serve(ctx: click.Context, **o) -> int:
    from services.common.runner import prepare_process
    from services.common.server import run_until_signal, wait_serving
    from services.common.settings import load_settings
    from services.embedded import build_embedded

    name = ctx.command_path
    prepare_process("embedded", load_settings(log_level=o["log_level"]))
    try:
        registry = build_embedded(
            Path(o["data_dir"]),
            host=o["host"],
            gateway_port=o["gateway_port"],
            artifacts_port=o["artifacts_port"],
            metadata_port=o["metadata_port"],
            tokens_file=Path(o["tokens_file"]) if o["tokens_file"] else None,
            policy_file=Path(o["policy"]) if o["policy"] else None,
            http_port=o["http_port"],
        )
        registry.start_http()
    except (OSError, ValueError) as error:
        say(name, str(error))
        return FAILED
    from services.gateway.app import start_background

    def banner() -> None:
        # Only once all three report SERVING (the gateway waits for its peers).
        for server in registry.servers:
            if not wait_serving(registry.address(server), timeout=60):
                say(name, f"{registry.address(server)} is not SERVING")
        print(registry.headline(), flush=True)
        print(registry.describe(), flush=True)
        print("press Ctrl-C to stop", flush=True)

    # The reconciler and the outbox reader stop with the gateway, before its peers do.
    registry.gateway.on_stopping.append(
        start_background(registry.settings, registry.gateway_service)
    )
    try:
        run_until_signal(registry.servers, on_started=banner)
    finally:
        registry.stop_http()
    print("stopped", flush=True)
    return 0


@click.group("token", cls=MregGroup, help="Create, revoke and list bearer tokens.")
def token() -> None:
    pass


def _tokens_file_option(f):
    return click.option(
        "--tokens-file",
        help="The tokens file; default $MREG_AUTH_TOKENS_FILE or mreg-data/tokens.json.",
    )(f)


def _token_store(tokens_file: str | None):
    from services.common.auth import TokenStore

    path = tokens_file or os.environ.get("MREG_AUTH_TOKENS_FILE") or "mreg-data/tokens.json"
    return TokenStore(Path(path))


@token.command("create", help="Create a token (printed once) and store its hash.")
@click.option("--principal", required=True, help="Who the token stands for.")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    multiple=True,
    required=True,
    help="A role the token grants (repeat for several).",
)
@click.option("--model-prefix", default="", help="Limit the token to models with this prefix.")
@click.option(
    "--expires-in-days",
    type=float,
    default=0,
    show_default=True,
    help="Days until the token expires; 0 for never.",
)
@_tokens_file_option
@json_option
def token_create(principal, role, model_prefix, expires_in_days, tokens_file, as_json) -> int:
    from services.common.auth import Role

    store = _token_store(tokens_file)
    ttl = expires_in_days * 86400 if expires_in_days else None
    secret, record = store.create(
        principal, [Role(r) for r in role], model_prefix=model_prefix, ttl_seconds=ttl
    )
    document = {
        "token": secret,
        "id": record.id,
        "principal": record.principal,
        "roles": record.roles,
        "model_prefix": record.model_prefix,
        "expires_at": record.expires_at,
        "tokens_file": str(store.path),
    }
    return emit(
        as_json,
        document,
        lambda: (
            f"{secret}\n(token {record.id} for {record.principal}: {', '.join(record.roles)}"
            f"{'; models ' + record.model_prefix + '*' if record.model_prefix else ''}; "
            "shown once, stored hashed in " + str(store.path) + ")"
        ),
    )


@token.command("revoke", help="Revoke a token by its id (the part after 'mreg_').")
@click.argument("token_id", metavar="ID")
@_tokens_file_option
@json_option
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str, tokens_file, as_json) -> int:
    try:
        record = _token_store(tokens_file).revoke(token_id)
    except KeyError:
        say(ctx.command_path, f"no token with id {token_id!r}")
        return FAILED
    return emit(as_json, {"id": record.id, "revoked": True}, lambda: f"revoked {record.id}")


@token.command("list", help="List tokens (never their secrets).")
@_tokens_file_option
@json_option
def token_list(tokens_file, as_json) -> int:
    records = _token_store(tokens_file).list()
    rows = [{k: v for k, v in vars(r).items() if k != "sha256"} for r in records]
    return emit(
        as_json,
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


@command(
    "gc",
    fields={"grace_period": "--grace-seconds"},
    help="Collect garbage. Removes blobs no version pins and chunks no blob uses; needs "
    "the admin role.",
)
@click.option(
    "--grace-seconds",
    type=float,
    default=3600.0,
    show_default=True,
    help="Keep what was written within this many seconds (uploads not yet registered).",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@registry_options
def gc(conn: Connection, grace_seconds: float, dry_run: bool) -> int:
    from google.protobuf.duration_pb2 import Duration

    from modelregistry.v1 import artifacts_pb2

    with conn.client() as c:
        done = c.artifacts.CollectGarbage(
            artifacts_pb2.CollectGarbageRequest(
                grace_period=Duration(seconds=int(grace_seconds)), dry_run=dry_run
            ),
            timeout=conn.timeout,
            metadata=c.metadata,
        )
    return emit(
        conn.as_json,
        to_dict(done),
        lambda: (
            f"{'would remove' if dry_run else 'removed'} {done.blobs_removed} "
            f"blobs and {done.chunks_removed} chunks, {done.bytes_freed} bytes"
        ),
    )


@click.group("db", cls=MregGroup, help="Database administration.")
def db() -> None:
    pass


@db.command("upgrade", help="Migrate the metadata schema to the latest revision.")
@click.option(
    "--database-url",
    default="",
    help="SQLAlchemy URL; default $MREG_DATABASE_URL, else the embedded SQLite file.",
)
@click.option(
    "--data-dir",
    default="mreg-data",
    show_default=True,
    help="The embedded data directory (without a URL).",
)
def db_upgrade(database_url: str, data_dir: str) -> int:
    from services.common.settings import Settings
    from services.metadata.app import migrate

    url = (
        database_url
        or os.environ.get("MREG_DATABASE_URL")
        or (Settings(data_dir=Path(data_dir)).resolved_database_url)
    )
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    migrate(url)
    print(f"metadata schema is up to date ({url.split('@')[-1]})", file=sys.stderr)
    return 0


def register(group: click.Group) -> None:
    """Add the administration commands to ``group``."""
    for cmd in (serve, token, gc, db):
        group.add_command(cmd)
