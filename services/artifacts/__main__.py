"""``python -m services.artifacts`` serves on ``MREG_ARTIFACTS_LISTEN``, and blobs over HTTP
on ``MREG_ARTIFACTS_HTTP_LISTEN`` (where the gateway redirects OCI clients).

``python -m services.artifacts migrate`` upgrades the index database
(``MREG_ARTIFACTS_DATABASE_URL``) to the newest schema and imports pin objects older code
left in the backend, printing JSON (the revision, pins imported). Serving does both at start.

``python -m services.artifacts gc [--grace-seconds N] [--dry-run]`` runs garbage collection
once over the configured backend and prints what it removed as JSON.

``python -m services.artifacts scrub [--max-mb-per-second R]`` verifies every stored chunk at
most R MB/s (default ``MREG_SCRUB_MAX_MB_PER_SECOND``, 50; 0 for no limit), quarantines the
corrupt ones and prints JSON: what it checked, its measured rate, and every blob now
unreadable with the versions that pin it. It exits 1 when a blob is unreadable.

``python -m services.artifacts compact`` compresses every chunk still stored raw (the
background compactor does this for each blob as it is committed; a sweep catches what a
stopped process or a full backlog left) and prints JSON: chunks checked and compressed,
bytes before and after, CPU seconds.

``python -m services.artifacts fsck`` makes the chunk index agree with the backend: a row
for every chunk object without one (a process killed between writing a chunk and recording
it; garbage collection then takes it once unreferenced and old) and no row for an object
that is gone (deleted behind the service's back: the next push sends it again). It prints
JSON: rows added and dropped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from services.artifacts.access import METHOD_ROLES
from services.artifacts.app import build_server, build_service
from services.artifacts.backends import open_backend
from services.artifacts.gc import DEFAULT_GRACE_SECONDS
from services.artifacts.http import start_artifacts_http
from services.artifacts.index.chunks import ChunkIndex
from services.artifacts.index.database import SCHEMA, open_index
from services.artifacts.index.identity import IndexMismatch, bind
from services.artifacts.index.legacy import import_legacy_pins
from services.artifacts.index.pins import PinIndex
from services.artifacts.service import ArtifactService
from services.common.auth import auth_interceptors, check_bind_is_safe
from services.common.logs import configure_logging
from services.common.runner import prepare_process
from services.common.server import run_until_signal
from services.common.settings import Settings, load_settings
from services.common.tls import server_credentials

logger = logging.getLogger(__name__)


def _interceptors(settings: Settings) -> list:
    return auth_interceptors(settings, METHOD_ROLES)


def _once(settings: Settings, run: Callable[[ArtifactService], Any]) -> Any:
    """Run one command over the configured backend (no background compactor); print its
    report as JSON."""
    configure_logging(settings.log_level, settings.log_format)
    service = build_service(settings.model_copy(update={"compact": False}))
    try:
        report = run(service)
    finally:
        service.close()
    print(json.dumps(dataclasses.asdict(report), sort_keys=True))
    return report


def _migrate(settings: Settings) -> None:
    backend = open_backend(settings)
    index = open_index(settings.resolved_artifacts_database_url)
    try:
        bind(backend, index)
        imported = import_legacy_pins(backend, PinIndex(index))
        ChunkIndex(index).import_backend(backend)
    finally:
        index.dispose()
        backend.close()
    print(json.dumps({"revision": SCHEMA.head(), "legacy_pins_imported": imported}))


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.artifacts", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve (the default)")
    gc_parser = sub.add_parser("gc", help="collect garbage once and print a JSON report")
    gc_parser.add_argument("--grace-seconds", type=float, default=DEFAULT_GRACE_SECONDS)
    gc_parser.add_argument("--dry-run", action="store_true")
    scrub_parser = sub.add_parser(
        "scrub", help="verify every stored chunk, quarantine the corrupt, print a JSON report"
    )
    scrub_parser.add_argument(
        "--max-mb-per-second",
        type=float,
        default=None,
        help="rate limit in MB/s read (default MREG_SCRUB_MAX_MB_PER_SECOND; 0: none)",
    )
    sub.add_parser("compact", help="compress every chunk stored raw, print a JSON report")
    sub.add_parser(
        "fsck",
        help="make the index agree with the chunks in the backend (after a crash or a "
        "deletion behind the service's back), print a JSON report",
    )
    sub.add_parser(
        "migrate", help="migrate the index database, import legacy pin objects, print JSON"
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        return _run(args, settings)
    except IndexMismatch as error:
        logger.error("%s", error)
        print(f"artifacts: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "scrub":
        rate = args.max_mb_per_second
        report = _once(
            settings, lambda s: s.scrub(rate if rate is not None else s.default_scrub_rate)
        )
        return 1 if report.unreadable else 0
    if args.command == "gc":
        _once(settings, lambda s: s.collect_garbage(args.grace_seconds, args.dry_run))
        return 0
    if args.command == "migrate":
        configure_logging(settings.log_level, settings.log_format)
        _migrate(settings)
        return 0
    if args.command == "compact":
        _once(settings, lambda s: s.compact_all())
        return 0
    if args.command == "fsck":
        _once(settings, lambda s: s.fsck())
        return 0
    prepare_process("artifacts", settings)
    service = build_service(settings)
    check_bind_is_safe("artifacts", settings.artifacts_listen, settings, False)  # before HTTP binds
    if settings.artifacts_http_listen:
        check_bind_is_safe("artifacts http", settings.artifacts_http_listen, settings, False)
    try:
        http = start_artifacts_http(settings, service)
    except OSError as error:
        raise SystemExit(f"artifacts: cannot start: {error}") from None
    interceptors = _interceptors(settings)
    try:
        running = build_server(
            settings.artifacts_listen,
            service,
            settings,
            interceptors=interceptors,
            credentials=server_credentials(settings),
        )
    except OSError as error:
        if http is not None:
            http.stop(0)
        raise SystemExit(f"artifacts: cannot start: {error}") from None
    host = settings.artifacts_listen.rsplit(":", 1)[0]
    auth = "on" if interceptors else "off"
    logger.info("artifacts listening on %s:%d (auth %s)", host, running.port, auth)
    try:
        run_until_signal([running], grace=settings.shutdown_grace_seconds)
    finally:
        if http is not None:
            http.stop(settings.shutdown_grace_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
