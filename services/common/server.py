"""One way to build, start and stop a gRPC server, used by every service and the tests."""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.interceptors import ErrorMappingInterceptor
from services.common.malformed import MalformedRequestInterceptor
from services.common.observability import ObservabilityInterceptor
from services.common.settings import MAX_MESSAGE_BYTES, load_settings

logger = logging.getLogger(__name__)

#: Message limits are set on purpose (16 MiB; data travels in ~1 MiB messages).
MESSAGE_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]


#: Calls a server holds before its handlers pick them up (see :func:`server_options`).
MAX_PENDING_CALLS = 20_000


def keepalive_ms() -> int:
    """The keepalive ping interval of every hop (``MREG_GRPC_KEEPALIVE_SECONDS``)."""
    return max(1, int(load_settings().grpc_keepalive_seconds * 1000))


def channel_options(keepalive: int | None = None) -> list[tuple[str, Any]]:
    """Options of every client channel: message limits, and keepalive pings (also on idle
    connections) that notice a dead peer within about ``keepalive`` + 10 s.

    Each channel keeps its own connections (``use_local_subchannel_pool``). In grpc's
    shared pool a new channel inherits the reconnect backoff of any older channel to the
    same address, so after a peer restarts on its old port the first calls on a fresh
    channel failed at once with "Connection refused" while the server was listening."""
    keepalive = keepalive or keepalive_ms()
    return [
        *MESSAGE_OPTIONS,
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.keepalive_time_ms", keepalive),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


def server_options(keepalive: int | None = None) -> list[tuple[str, Any]]:
    """Options of every server. The server accepts pings twice as often as our channels
    send them (with or without calls), so it never answers them with GOAWAY
    ENHANCE_YOUR_CALM too_many_pings; no SO_REUSEPORT: a second server on a taken port
    must fail, not share it.

    Calls that arrived but that the application has not picked up yet are "pending"; past
    grpc's soft limit (1,000) it cancels new ones at random, and a burst of watchers
    reconnecting at once (2,000 pods after a gateway restart) is more than that: 10% of
    2,000 streams opened together were CANCELLED before their handler ran."""
    keepalive = keepalive or keepalive_ms()
    return [
        *channel_options(keepalive),
        ("grpc.http2.min_ping_interval_without_data_ms", keepalive // 2),
        ("grpc.http2.min_time_between_pings_ms", keepalive // 2),
        ("grpc.so_reuseport", 0),
        ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
        ("grpc.server.max_pending_requests_hard_limit", 2 * MAX_PENDING_CALLS),
    ]


#: Channel options with the default keepalive, for callers that want a constant.
GRPC_OPTIONS: list[tuple[str, Any]] = channel_options(30_000)


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer and how to add it: ``add`` is the generated ``add_XServicer_to_server``."""

    name: str
    add: Callable[[Any, grpc.Server], None]
    servicer: Any
    #: The servicer has natively async methods: it must be served by ``grpc.aio``.
    aio: bool = False


@dataclass
class RunningServer:
    """A built server with its bound port and health servicer; :meth:`start` serves.

    ``on_stop`` callbacks run after health turns NOT_SERVING and before the server stops
    accepting calls (to end long-lived streams with a status clients can act on);
    ``on_stopping`` callbacks run first, while health still says SERVING (to refuse new
    work before anyone can see NOT_SERVING).
    """

    server: grpc.Server
    port: int
    health: Any
    services: tuple[str, ...]
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    on_stopping: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        """Start serving."""
        self.server.start()

    def set_serving(self, serving: bool) -> None:
        """Report every service of this server SERVING or NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in (*self.services, ""):
            self.health.set(name, status)

    def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, then stop, letting in-flight RPCs finish within ``grace``."""
        self._run(self.on_stopping)
        self.health.enter_graceful_shutdown()
        self._run(self.on_stop)
        self.server.stop(grace).wait()

    def _run(self, callbacks: list[Callable[[], None]]) -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("stop callback failed")


@dataclass
class AioRunningServer(RunningServer):
    """A ``grpc.aio`` server whose event loop runs on its own thread; same API."""

    loop: Any = None
    executor: futures.ThreadPoolExecutor | None = None

    def start(self) -> None:
        self.loop.run(self.server.start(), timeout=30)

    def stop(self, grace: float | None = 5.0) -> None:
        try:
            self._run(self.on_stopping)
            self.health.enter_graceful_shutdown()
            self._run(self.on_stop)
            self.loop.run(self.server.stop(grace), timeout=(grace or 0) + 10)
        finally:
            self.loop.close()
            if self.executor is not None:
                self.executor.shutdown(wait=False, cancel_futures=True)


def _port_taken(address: str) -> bool:
    """Whether another process listens on ``address`` (asked before gRPC is, whose C core
    would log its own line about the failed bind)."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return False
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError:
        return False  # gRPC reports an address it cannot resolve
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
        try:
            probe.bind(sockaddr)
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _bind(server: Any, address: str, credentials: grpc.ServerCredentials | None) -> int:
    if _port_taken(address):
        raise OSError(f"cannot listen on {address}: another process listens on that port")
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {address}: address in use or not available")
    return port


def _bind_all(
    server: Any,
    address: str,
    credentials: grpc.ServerCredentials | None,
    local_address: str | None,
) -> int:
    """Bind ``address``, and ``local_address`` (a private ``unix:`` socket, plaintext:
    see services/common/local_socket.py) when given; the port bound for ``address``."""
    port = _bind(server, address, credentials)
    if local_address is not None and server.add_insecure_port(local_address) == 0:
        raise OSError(f"cannot listen on {local_address}")
    return port


def _register(
    server: Any, health_servicer: Any, services: Sequence[ServiceBinding]
) -> tuple[str, ...]:
    for binding in services:
        binding.add(binding.servicer, server)
    names = tuple(b.name for b in services)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return names


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


def shared_interceptors(
    interceptors: Sequence[grpc.ServerInterceptor],
) -> list[grpc.ServerInterceptor]:
    """Every server's interceptors, outermost first, then the service's own ``interceptors``
    (so their domain errors are mapped, and they never see an unparsable request)."""
    return [
        ObservabilityInterceptor(),
        ErrorMappingInterceptor(),
        MalformedRequestInterceptor(),
        *interceptors,
    ]


def build_server(
    address: str,
    services: Iterable[ServiceBinding] = (),
    *,
    max_workers: int = 32,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
    local_address: str | None = None,
) -> RunningServer:
    """Like :func:`create_server`, also returning the health servicer for shutdown;
    ``local_address`` (``unix:<path>``) is a second, plaintext listener for this process's
    own calls (:class:`services.common.local_socket.PrivateSocket`).

    Bindings that need ``grpc.aio`` (``ServiceBinding.aio``) get :func:`build_aio_server`.
    """
    services = list(services)
    if any(binding.aio for binding in services):
        return build_aio_server(
            address,
            services,
            max_workers=max_workers,
            interceptors=interceptors,
            credentials=credentials,
            local_address=local_address,
        )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        interceptors=shared_interceptors(interceptors),
        options=server_options(),
        maximum_concurrent_rpcs=None,
    )
    services = list(services)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = _register(server, health_servicer, services)
    port = _bind_all(server, address, credentials, local_address)
    running = RunningServer(server, port, health_servicer, names)
    running.set_serving(True)
    return running


def build_aio_server(
    address: str,
    services: Iterable[ServiceBinding] = (),
    *,
    max_workers: int = 32,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
    serving: bool = True,
    local_address: str | None = None,
) -> AioRunningServer:
    """Like :func:`build_server`, served by ``grpc.aio`` (see services/common/aio.py).

    Sync servicer methods run on ``max_workers`` threads; async ones on the event loop,
    so open streams hold no thread. ``serving=False`` starts health at NOT_SERVING (call
    :meth:`RunningServer.set_serving` once the service can answer).
    """
    from services.common.aio import LoopThread, new_aio_server

    loop = LoopThread(f"aio-{address}")
    executor = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc")
    try:
        server, health_servicer = new_aio_server(
            loop,
            server_options(),
            shared_interceptors(interceptors),
            executor,
        )
        services = list(services)

        async def register_and_bind() -> tuple[tuple[str, ...], int]:
            names = _register(server, health_servicer, services)
            return names, _bind_all(server, address, credentials, local_address)

        names, port = loop.run(register_and_bind(), timeout=30)
    except BaseException:
        loop.close()
        executor.shutdown(wait=False)
        raise
    running = AioRunningServer(server, port, health_servicer, names, loop=loop, executor=executor)
    running.set_serving(serving)
    return running


def wait_serving(address: str, timeout: float = 30.0) -> bool:
    """Whether the server at ``address`` reports SERVING (overall health) within ``timeout``."""
    deadline = time.monotonic() + timeout
    with insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.05)
    return False


def run_until_signal(
    servers: Sequence[RunningServer],
    grace: float = 10.0,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Start ``servers`` in order and block until SIGTERM or SIGINT, then stop them
    gracefully in reverse order: the front door first, so nothing still running calls a
    peer that has already stopped.

    ``on_started`` runs once they are started (for example, to wait until they serve)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for running in servers:
            running.start()
        if on_started is not None:
            on_started()
        # Wake now and then: a signal the kernel hands to another thread (grpc's, the event
        # loop's) only runs its Python handler once the main thread runs again.
        while not stop.wait(0.5):
            pass
    finally:
        for running in reversed(servers):
            running.stop(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("stopped")


def insecure_channel(address: str) -> grpc.Channel:
    """A plaintext client channel with the same message limits and keepalives as the servers."""
    return grpc.insecure_channel(address, options=channel_options())


def open_channel(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.Channel:
    """A client channel: TLS when ``credentials`` are given, plaintext otherwise."""
    if credentials is None:
        return insecure_channel(address)
    return grpc.secure_channel(address, credentials, options=channel_options())
