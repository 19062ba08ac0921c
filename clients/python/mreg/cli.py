"""``mreg``: the registry's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    from services.common.logs import configure_logging
    from services.common.server import run_until_signal
    from services.embedded import build_embedded

    configure_logging(args.log_level)
    try:
        registry = build_embedded(
            Path(args.data_dir),
            host=args.host,
            gateway_port=args.gateway_port,
            artifacts_port=args.artifacts_port,
            metadata_port=args.metadata_port,
        )
    except OSError as error:
        print(f"mreg serve: {error}", file=sys.stderr)
        return 1
    print("model registry running on embedded defaults (SQLite + local files)", flush=True)
    print(registry.describe(), flush=True)
    print("press Ctrl-C to stop", flush=True)
    run_until_signal(registry.servers)
    print("stopped", flush=True)
    return 0


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
    serve.add_argument("--log-level", default="INFO", help="log level (INFO)")
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mreg``; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
