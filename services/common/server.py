"""One way to build, start and stop a gRPC server, used by every service and the tests."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.interceptors import ErrorMappingInterceptor
from services.common.malformed import MalformedRequestInterceptor
from services.common.observability import ObservabilityInterceptor
from services.common.settings import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

#: Channel and server options every hop uses: message limits are set on purpose
#: (16 MiB; data travels in ~1 MiB messages) and keepalives notice dead peers.
GRPC_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
]


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer and how to add it: ``add`` is the generated ``add_XServicer_to_server``."""

    name: str
    add: Callable[[Any, grpc.Server], None]
    servicer: Any


@dataclass
class RunningServer:
    """A started server with its bound port and health servicer."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    services: tuple[str, ...]

    def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, then stop, letting in-flight RPCs finish within ``grace``."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def create_server(
    address: str,
    services: Iterable[ServiceBinding] = (),
    *,
    max_workers: int = 32,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.Server, int]:
    """Build a server bound to ``address`` (``host:0`` picks a free port); not started.

    Every server gets health checking, reflection, metrics, the error-mapping interceptor
    and INVALID_ARGUMENT for request bytes that do not parse; ``interceptors`` run inside
    those (so their domain errors are mapped, and they never see an unparsable request).
    Returns the server and the bound port.
    """
    running = build_server(
        address,
        services,
        max_workers=max_workers,
        interceptors=interceptors,
        credentials=credentials,
    )
    return running.server, running.port


def build_server(
    address: str,
    services: Iterable[ServiceBinding] = (),
    *,
    max_workers: int = 32,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> RunningServer:
    """Like :func:`create_server`, also returning the health servicer for shutdown."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        interceptors=[
            ObservabilityInterceptor(),
            ErrorMappingInterceptor(),
            MalformedRequestInterceptor(),
            *interceptors,
        ],
        # No SO_REUSEPORT: a second server on a taken port must fail, not share it.
        options=[*GRPC_OPTIONS, ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=None,
    )
    services = list(services)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in services:
        binding.add(binding.servicer, server)
        health_servicer.set(binding.name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    names = tuple(b.name for b in services)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {address}: address in use or not available")
    return RunningServer(server, port, health_servicer, names)


def run_until_signal(servers: Sequence[RunningServer], grace: float = 10.0) -> None:
    """Start ``servers`` and block until SIGTERM or SIGINT, then stop them gracefully."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for running in servers:
            running.server.start()
        stop.wait()
    finally:
        for running in servers:
            running.stop(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("stopped")


def insecure_channel(address: str) -> grpc.Channel:
    """A plaintext client channel with the same message limits and keepalives as the servers."""
    return grpc.insecure_channel(address, options=GRPC_OPTIONS)


def open_channel(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.Channel:
    """A client channel: TLS when ``credentials`` are given, plaintext otherwise."""
    if credentials is None:
        return insecure_channel(address)
    return grpc.secure_channel(address, credentials, options=GRPC_OPTIONS)
