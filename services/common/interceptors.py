"""Server interceptors shared by every service."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from services.common.errors import RegistryError, translate

logger = logging.getLogger(__name__)


def _already_aborted(context: grpc.ServicerContext) -> bool:
    code = context.code()
    return code is not None and code != grpc.StatusCode.OK


def _handle(error: BaseException, context: grpc.ServicerContext, method: str) -> None:
    if isinstance(error, RegistryError):
        context.abort_with_status(error.to_grpc_status())
    if (translated := translate(error)) is not None:
        logger.warning("%s: %s (%s)", method, translated.message, error)
        context.abort_with_status(translated.to_grpc_status())
    if _already_aborted(context):
        raise error
    logger.exception("unexpected error in %s", method)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}; see the server log")


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
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return behavior(request, context)
                except Exception as error:
                    _handle(error, context, method)
                    raise

            return call

        def wrap_stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
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
    ``wrap_stream`` (which must return a generator function) for streamed responses."""
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

    def wrap_stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
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
