"""Server interceptors shared by every service."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc

from services.common.errors import RegistryError, translate

logger = logging.getLogger(__name__)


def _already_aborted(context: grpc.ServicerContext) -> bool:
    code = context.code()
    return code is not None and code != grpc.StatusCode.OK


def error_status(error: BaseException, method: str) -> grpc.Status | None:
    """The status an exception from ``method`` ends the call with: its own for a
    :class:`RegistryError` or a translated one, None for anything else (INTERNAL, or the
    status the handler already aborted with). Shared by the sync and the aio servers."""
    if isinstance(error, RegistryError):
        return error.to_grpc_status()
    if (translated := translate(error)) is not None:
        logger.warning("%s: %s (%s)", method, translated.message, error)
        return translated.to_grpc_status()
    return None


def internal_details(method: str) -> str:
    """What a client sees of an unexpected error: the method and a pointer to the log."""
    logger.exception("unexpected error in %s", method)
    return f"internal error in {method}; see the server log"


def _handle(error: BaseException, context: grpc.ServicerContext, method: str) -> None:
    if (status := error_status(error, method)) is not None:
        context.abort_with_status(status)
    if _already_aborted(context):
        raise error
    context.abort(grpc.StatusCode.INTERNAL, internal_details(method))


class AbortLater(Exception):
    """An aio call's final status, decided by an interceptor and sent by the outermost
    wrapper (services/common/aio.py) once every interceptor has seen it: ``context.abort``
    on aio sends the status at once, before the outer interceptors (metrics) ran."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing_metadata = tuple(trailing_metadata or ())

    def record(self, context: Any) -> AbortLater:
        """Set the status on ``context`` (so interceptors read it with ``code()``); self."""
        context.set_code(self.code)
        context.set_details(self.details)
        return self


async def _handle_async(error: BaseException, context: Any, method: str) -> None:
    if isinstance(error, (grpc.aio.AbortError, AbortLater)):
        raise error
    if (status := error_status(error, method)) is not None:
        raise AbortLater(status.code, status.details, status.trailing_metadata).record(context)
    details = internal_details(method)
    raise AbortLater(grpc.StatusCode.INTERNAL, details).record(context)


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Turns :class:`RegistryError` into its status; any other exception into INTERNAL.

    Tracebacks are logged here and never sent: the client sees a message that names
    the method and points at the server log.
    """

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def wrap_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(behavior):

                async def call_async(request: Any, context: Any) -> Any:
                    try:
                        return await behavior(request, context)
                    except Exception as error:
                        await _handle_async(error, context, method)

                return call_async

            def call(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return behavior(request, context)
                except Exception as error:
                    _handle(error, context, method)
                    raise

            return call

        def wrap_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.isasyncgenfunction(behavior):

                async def call_async(request: Any, context: Any) -> AsyncIterator[Any]:
                    try:
                        async for response in behavior(request, context):
                            yield response
                    except Exception as error:
                        await _handle_async(error, context, method)

                return call_async

            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    yield from behavior(request, context)
                except Exception as error:
                    _handle(error, context, method)
                    raise

            return call

        return wrap_handler(handler, wrap_unary, wrap_stream)


Wrapper = Callable[[Callable[..., Any]], Callable[..., Any]]


def wrap_handler(
    handler: grpc.RpcMethodHandler, wrap_unary: Wrapper, wrap_stream: Wrapper
) -> grpc.RpcMethodHandler:
    """``handler`` with its behaviour wrapped: ``wrap_unary`` for unary responses,
    ``wrap_stream`` (which must return a generator function) for streamed responses.

    On the aio server behaviours may be coroutine / async generator functions; the
    wrappers here keep the kind they are given (sync stays sync, async stays async)."""
    if handler.unary_unary:
        return handler._replace(unary_unary=wrap_unary(handler.unary_unary))
    if handler.stream_unary:
        return handler._replace(stream_unary=wrap_unary(handler.stream_unary))
    if handler.unary_stream:
        return handler._replace(unary_stream=wrap_stream(handler.unary_stream))
    return handler._replace(stream_stream=wrap_stream(handler.stream_stream))


def wrap_around(
    handler: grpc.RpcMethodHandler,
    enter: Callable[[Any], Any],
    leave: Callable[[Any, grpc.ServicerContext, bool], None],
) -> grpc.RpcMethodHandler:
    """``handler`` with ``enter(request)`` before its behaviour and ``leave(state, context,
    failed)`` after it (after the last message of a stream), whatever happens.

    ``request`` is None for client-streaming methods; ``state`` is what ``enter`` returned.
    """
    streaming_request = bool(handler.stream_unary or handler.stream_stream)

    def wrap_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(behavior):

            async def call_async(request: Any, context: Any) -> Any:
                state = enter(None if streaming_request else request)
                failed = True
                try:
                    response = await behavior(request, context)
                    failed = False
                    return response
                finally:
                    leave(state, context, failed)

            return call_async

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            state = enter(None if streaming_request else request)
            failed = True
            try:
                response = behavior(request, context)
                failed = False
                return response
            finally:
                leave(state, context, failed)

        return call

    def wrap_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(behavior):

            async def call_async(request: Any, context: Any) -> AsyncIterator[Any]:
                state = enter(None if streaming_request else request)
                failed = True
                try:
                    async for response in behavior(request, context):
                        yield response
                    failed = False
                finally:
                    leave(state, context, failed)

            return call_async

        def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            state = enter(None if streaming_request else request)
            failed = True
            try:
                yield from behavior(request, context)
                failed = False
            finally:
                leave(state, context, failed)

        return call

    return wrap_handler(handler, wrap_unary, wrap_stream)
