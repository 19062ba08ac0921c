"""The ``grpc.aio`` server: many open streams on one event loop, sync use cases on threads.

A service built here serves with the same health, reflection, message limits, keepalives,
TLS and interceptors as :func:`services.common.server.build_server`. Its servicer may mix
native async methods (coroutines / async generators, run on the event loop; used for
long-lived streams) with ordinary sync methods, which run on a bounded thread pool with
the caller's context variables (request id, identity) copied, and see a
:class:`SyncContext` that behaves like the sync server's context (``abort`` raises,
``is_active`` works). The shared interceptors (``grpc.ServerInterceptor`` classes) are
applied unchanged: :func:`~services.common.interceptors.wrap_around` keeps async
behaviours async, so each decision (who may call, which status an error maps to, what
is measured) is written once.

The event loop runs on a background thread so sync callers (tests, ``mreg serve``, the
process runner) start and stop aio servers like sync ones.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from concurrent import futures
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.interceptors import AbortLater, wrap_handler

logger = logging.getLogger(__name__)

T = TypeVar("T")
_END = object()


class SyncContext:
    """The ``grpc.ServicerContext`` a sync method sees when served by the aio server."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context
        self._aborted: grpc.StatusCode | None = None

    def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        self._aborted = code
        raise AbortLater(code, details).record(self._context)

    def abort_with_status(self, status: grpc.Status) -> None:
        self._aborted = status.code
        raise AbortLater(status.code, status.details, status.trailing_metadata).record(
            self._context
        )

    def code(self) -> grpc.StatusCode | None:
        return self._aborted or self._context.code()

    def is_active(self) -> bool:
        return not self._context.done()

    def invocation_metadata(self) -> Any:
        return self._context.invocation_metadata()

    def peer(self) -> str:
        return self._context.peer()

    def auth_context(self) -> Any:
        return self._context.auth_context()

    def time_remaining(self) -> float | None:
        return self._context.time_remaining()

    def set_code(self, code: grpc.StatusCode) -> None:
        self._context.set_code(code)

    def set_details(self, details: str) -> None:
        self._context.set_details(details)

    def set_trailing_metadata(self, metadata: Any) -> None:
        self._context.set_trailing_metadata(metadata)

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self._context.add_done_callback(lambda _ctx: callback())
        return True


def _sync_requests(requests: AsyncIterator[Any], loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """A client stream read from a worker thread, one message at a time from the loop."""

    async def next_message() -> Any:
        try:
            return await requests.__anext__()
        except StopAsyncIteration:
            return _END

    while (message := asyncio.run_coroutine_threadsafe(next_message(), loop).result()) is not _END:
        yield message


def threaded(handler: grpc.RpcMethodHandler, executor: futures.Executor) -> grpc.RpcMethodHandler:
    """``handler`` with its sync behaviour run on ``executor``; async behaviour unchanged."""
    streaming_request = bool(handler.stream_unary or handler.stream_stream)

    def wrap_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(behavior):
            return behavior

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            loop = asyncio.get_running_loop()
            if streaming_request:
                request = _sync_requests(request, loop)
            run = contextvars.copy_context().run
            return await loop.run_in_executor(
                executor, run, behavior, request, SyncContext(context)
            )

        return call

    def wrap_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(behavior):
            return behavior
        if inspect.iscoroutinefunction(behavior):
            return _writer_as_generator(behavior)

        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            loop = asyncio.get_running_loop()
            if streaming_request:
                request = _sync_requests(request, loop)
            run: Callable[..., Any] = contextvars.copy_context().run  # one context per stream
            sync_context = SyncContext(context)
            responses = await loop.run_in_executor(executor, run, behavior, request, sync_context)
            while True:
                item = await loop.run_in_executor(executor, run, next, responses, _END)
                if item is _END:
                    return
                yield item

        return call

    return wrap_handler(handler, wrap_unary, wrap_stream)


def _writer_as_generator(behavior: Callable[..., Any]) -> Callable[..., Any]:
    """A streaming method written as a coroutine that sends with ``await context.write``
    (grpc's own aio health servicer's ``Watch``), as the async generator the interceptors
    iterate: it yields nothing; its messages go out through ``context.write``."""

    async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await behavior(request, context)
        return
        yield  # an async generator, which the interceptors expect

    return call


class _Bridge(grpc.aio.ServerInterceptor):
    """The one aio interceptor: sync behaviour onto threads, then the shared interceptors."""

    def __init__(
        self, interceptors: Sequence[grpc.ServerInterceptor], executor: futures.Executor
    ) -> None:
        self.interceptors = list(interceptors)
        self.executor = executor

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:
            return None
        handler = threaded(handler, self.executor)
        for interceptor in reversed(self.interceptors):  # the first one ends up outermost
            handler = interceptor.intercept_service(lambda _d, h=handler: h, details)
            if handler is None:
                return None
        return wrap_handler(handler, _finish_unary, _finish_stream)


def _finish_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(request, context)
        except AbortLater as status:
            await context.abort(status.code, status.details, status.trailing_metadata)

    return call


def _finish_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for response in behavior(request, context):
                yield response
        except AbortLater as status:
            await context.abort(status.code, status.details, status.trailing_metadata)

    return call


class LoopThread:
    """An asyncio event loop on a daemon thread, driven from sync code."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


class AioHealth:
    """The aio health servicer behind the sync ``set``/``enter_graceful_shutdown`` calls."""

    def __init__(self, servicer: health_aio.HealthServicer, loop: LoopThread) -> None:
        self.servicer = servicer
        self._loop = loop

    def set(self, service: str, status: int) -> None:
        self._loop.run(self.servicer.set(service, status), timeout=10)

    def enter_graceful_shutdown(self) -> None:
        self._loop.run(self.servicer.enter_graceful_shutdown(), timeout=10)


def new_aio_server(
    loop: LoopThread,
    options: Sequence[tuple[str, Any]],
    interceptors: Sequence[grpc.ServerInterceptor],
    executor: futures.Executor,
) -> tuple[grpc.aio.Server, AioHealth]:
    """An aio server (created on ``loop``) with the health service added."""

    async def create() -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
        server = grpc.aio.server(
            interceptors=[_Bridge(interceptors, executor)],
            options=list(options),
            maximum_concurrent_rpcs=None,
        )
        servicer = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        return server, servicer

    server, servicer = loop.run(create(), timeout=30)
    return server, AioHealth(servicer, loop)


__all__ = ["AioHealth", "LoopThread", "SyncContext", "health_pb2", "new_aio_server", "threaded"]
