"""What every RPC leaves behind: Prometheus metrics, and a request id and principal in logs.

The :class:`ObservabilityInterceptor` is the outermost interceptor of every server. It
reads (or makes) the request id from the ``x-request-id`` header, records who called,
counts the RPC by method and final status code and times it, including streams.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from services.common.interceptors import wrap_around

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
PRINCIPAL_HEADER = "x-mreg-principal"

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
#: Set by the auth interceptor once the caller is known.
principal_var: contextvars.ContextVar[str] = contextvars.ContextVar("principal", default="")

RPC_REQUESTS = Counter(
    "mreg_rpc_requests_total", "RPCs handled, by method and status code", ["method", "code"]
)
RPC_ERRORS = Counter(
    "mreg_rpc_errors_total", "RPCs that ended with a status other than OK", ["method", "code"]
)
RPC_DURATION = Histogram(
    "mreg_rpc_duration_seconds",
    "Time from the start of an RPC to its last message",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RPC_IN_FLIGHT = Gauge("mreg_rpc_in_flight", "RPCs being handled", ["method"])


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``principal`` of the current RPC to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.principal = principal_var.get()
        return True


def reset(var: contextvars.ContextVar[Any], token: contextvars.Token[Any]) -> None:
    """``var.reset(token)``, unless this runs in another context than the one that set it
    (an aio stream cancelled by its client is closed by a finalizer in a fresh context)."""
    with contextlib.suppress(ValueError):
        var.reset(token)


def current_request_id() -> str:
    """The request id of the RPC being handled on this thread, or empty."""
    return request_id_var.get()


def start_metrics_server(port: int, host: str = "127.0.0.1") -> int:
    """Serve ``/metrics`` over HTTP on ``host:port`` (0 picks a free port); returns the port."""
    server, _thread = start_http_server(port, addr=host)
    bound = server.server_address[1]
    logger.info("metrics on http://%s:%d/metrics", host, bound)
    return bound


def _final_code(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code()
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name


class ObservabilityInterceptor(grpc.ServerInterceptor):
    """Metrics and log context for every RPC; changes nothing about the call itself."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        headers = dict(details.invocation_metadata or ())

        def enter(_request: Any) -> tuple[contextvars.Token[str], float]:
            rid = headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
            RPC_IN_FLIGHT.labels(method).inc()
            return request_id_var.set(str(rid)), time.perf_counter()

        def leave(state: tuple[Any, float], context: grpc.ServicerContext, failed: bool) -> None:
            code = _final_code(context, failed)
            RPC_IN_FLIGHT.labels(method).dec()
            RPC_DURATION.labels(method).observe(time.perf_counter() - state[1])
            RPC_REQUESTS.labels(method, code).inc()
            if code != "OK":
                RPC_ERRORS.labels(method, code).inc()
            reset(request_id_var, state[0])

        return wrap_around(handler, enter, leave)
