"""``python -m services.metadata`` serves; ``python -m services.metadata migrate`` migrates.

Both read their settings from ``MREG_*`` environment variables (``MREG_DATABASE_URL``,
``MREG_METADATA_LISTEN``). Serving exits with status 2, saying why, on a database that is
not migrated or with ``MREG_AUTH_TOKENS_FILE`` set but no ``MREG_SERVICE_TOKEN``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from services.common.logs import configure_logging
from services.common.runner import run_service
from services.common.settings import load_settings
from services.metadata.app import (
    AuthMisconfigured,
    SchemaOutOfDate,
    build_bindings,
    build_interceptors,
    migrate,
)

logger = logging.getLogger("services.metadata")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.metadata", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate"],
        help="serve (default) or migrate the schema to the newest revision",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.command == "migrate":
        configure_logging(settings.log_level, settings.log_format)
        migrate(settings.resolved_database_url)
        return 0
    try:
        run_service(
            "metadata",
            settings,
            settings.metadata_listen,
            build_bindings,
            make_interceptors=build_interceptors,
            services_only=True,
        )
    except (SchemaOutOfDate, AuthMisconfigured) as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
