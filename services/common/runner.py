"""Entry-point helpers: run one service as its own process until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from services.common.logs import configure_logging
from services.common.observability import start_metrics_server
from services.common.server import ServiceBinding, build_server, run_until_signal
from services.common.settings import Settings
from services.common.tls import server_credentials

logger = logging.getLogger(__name__)


def run_service(
    service: str,
    settings: Settings,
    listen: str,
    make_bindings: Callable[[Settings], Sequence[ServiceBinding]],
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Configure logging, build ``service``'s server on ``listen`` and serve until a signal."""
    configure_logging(settings.log_level, settings.log_format)
    if settings.metrics_port:
        start_metrics_server(settings.metrics_port, settings.metrics_host)
    running = build_server(
        listen,
        make_bindings(settings),
        max_workers=settings.max_workers,
        credentials=server_credentials(settings),
    )
    logger.info("%s listening on %s", service, listen.rsplit(":", 1)[0] + f":{running.port}")
    try:
        run_until_signal([running], grace=settings.shutdown_grace_seconds)
    finally:
        if on_stop is not None:
            on_stop()
