"""Entry-point helpers: run one service as its own process until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import grpc

from services.common.auth import check_bind_is_safe
from services.common.logs import configure_logging
from services.common.observability import start_metrics_server
from services.common.server import (
    RunningServer,
    ServiceBinding,
    build_server,
    run_until_signal,
)
from services.common.settings import Settings
from services.common.tls import server_credentials
from services.common.tracing import configure_tracing

logger = logging.getLogger(__name__)

_prepared = False


def prepare_process(service: str, settings: Settings) -> None:
    """Logging, tracing and the metrics endpoint of a process, once; call before building
    servers and channels (tracing instruments them as they are created)."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(service, settings)
    if settings.metrics_port:
        start_metrics_server(settings.metrics_port, settings.metrics_host)


def run_service(
    service: str,
    settings: Settings,
    listen: str,
    make_bindings: Callable[[Settings], Sequence[ServiceBinding]],
    on_stop: Callable[[], None] | None = None,
    *,
    make_interceptors: Callable[[Settings], Sequence[grpc.ServerInterceptor]] | None = None,
    services_only: bool = False,
    on_built: Callable[[RunningServer], None] | None = None,
    local_address: str | None = None,
) -> None:
    """Configure logging, build ``service``'s server on ``listen`` (and on the private
    socket ``local_address``, see services/common/local_socket.py) and serve until a signal.

    A non-loopback ``listen`` address is refused unless authentication is configured
    (tokens for public services; the service token for ``services_only`` ones).
    """
    prepare_process(service, settings)
    check_bind_is_safe(service, listen, settings, services_only)
    interceptors = list(make_interceptors(settings)) if make_interceptors else []
    running = build_server(
        listen,
        make_bindings(settings),
        max_workers=settings.max_workers,
        interceptors=interceptors,
        credentials=server_credentials(settings),
        local_address=local_address,
    )
    if on_built is not None:
        on_built(running)
    host = listen.rsplit(":", 1)[0]
    auth = "on" if interceptors else "off"
    logger.info("%s listening on %s:%d (auth %s)", service, host, running.port, auth)
    try:
        run_until_signal([running], grace=settings.shutdown_grace_seconds)
    finally:
        if on_stop is not None:
            on_stop()
