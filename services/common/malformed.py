"""Request bytes that do not parse are the caller's fault: INVALID_ARGUMENT, not INTERNAL.

grpcio answers a request whose bytes its deserializer refuses with INTERNAL ("Exception
deserializing request!") and logs a traceback per request, so garbage from a client looks
like a server bug and can flood the log. Here the deserializer is replaced by one that never
raises: bytes that do not parse become a :class:`Malformed` value, which the handler turns
into INVALID_ARGUMENT naming the expected message type, before any servicer code (or the
authentication interceptor, which reads the request) sees it.

The functions are independent of the server model: the sync interceptor below uses them,
and an asyncio interceptor can wrap its behaviours the same way.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from services.common.errors import InvalidArgument
from services.common.interceptors import wrap_handler


@dataclass(frozen=True)
class Malformed:
    """What a request's bytes became when they did not parse as ``message_type``."""

    message_type: str
    size: int
    reason: str

    def error(self) -> InvalidArgument:
        """The INVALID_ARGUMENT this request is answered with."""
        reason = self.reason[:200] or "not a valid protobuf encoding"
        return InvalidArgument(
            f"the request ({self.size} bytes) does not parse as {self.message_type}: {reason}; "
            "send a message serialized from the service's published proto",
            reason="MALFORMED_REQUEST",
            metadata={"message_type": self.message_type},
        )


def _type_name(deserializer: Callable[[bytes], Any]) -> str:
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", "the request message")


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` returning :class:`Malformed` instead of raising on bad bytes."""
    if deserializer is None:
        return None
    name = _type_name(deserializer)

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, TypeError) as error:
            return Malformed(name, len(data), str(error))

    return parse


def check(request: Any) -> Any:
    """``request`` itself, or the INVALID_ARGUMENT it deserves when it is :class:`Malformed`."""
    if isinstance(request, Malformed):
        raise request.error()
    return request


def checked(requests: Iterator[Any]) -> Iterator[Any]:
    """A request stream that raises INVALID_ARGUMENT at its first malformed message."""
    for request in requests:
        yield check(request)


async def checked_async(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """:func:`checked` for an asyncio request stream."""
    async for request in requests:
        yield check(request)


def tolerant_handler(
    handler: grpc.RpcMethodHandler,
    wrap_unary: Callable[[Callable[..., Any]], Callable[..., Any]],
    wrap_stream: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> grpc.RpcMethodHandler:
    """``handler`` with a tolerant deserializer and its behaviour wrapped to check requests."""
    return wrap_handler(
        handler._replace(request_deserializer=tolerant(handler.request_deserializer)),
        wrap_unary,
        wrap_stream,
    )


class MalformedRequestInterceptor(grpc.ServerInterceptor):
    """Answers requests whose bytes do not parse with INVALID_ARGUMENT (sync and aio servers).

    Sits inside the error-mapping interceptor (which sends the error) and outside the
    authentication interceptor (which must never see a :class:`Malformed` request).
    """

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        streaming_request = bool(handler.stream_unary or handler.stream_stream)

        def argument(request: Any) -> Any:
            return checked(request) if streaming_request else check(request)

        def argument_async(request: Any) -> Any:
            return checked_async(request) if streaming_request else check(request)

        def wrap_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(behavior):  # the aio server

                async def call_async(request: Any, context: Any) -> Any:
                    return await behavior(argument_async(request), context)

                return call_async

            def call(request: Any, context: grpc.ServicerContext) -> Any:
                return behavior(argument(request), context)

            return call

        def wrap_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.isasyncgenfunction(behavior):

                async def call_async(request: Any, context: Any) -> AsyncIterator[Any]:
                    async for response in behavior(argument_async(request), context):
                        yield response

                return call_async

            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                yield from behavior(argument(request), context)

            return call

        return tolerant_handler(handler, wrap_unary, wrap_stream)
