"""The HTTP/JSON API under ``/v1/``: each request transcoded to its RPC on the gateway.

A request is matched against the rules read from ``registry.proto``'s ``google.api.http``
options, turned into the RPC's request message and sent over a ``grpc.aio`` channel to the
gateway's own gRPC port on loopback. That one hop buys everything the gRPC API does, in
the same code: authentication and roles (the ``Authorization`` header goes on as the
call's ``authorization`` metadata), validation, error details, idempotency by
``request_id``, the metrics and the logs. Everything here is async: a waiting call or an
open event stream holds no thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.rpc import status_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from services.common.cloudevents import default_source, to_cloudevent
from services.common.server import channel_options
from services.gateway.http.json_api.rules import HttpRule, RequestPath, rules_of
from services.gateway.http.json_api.status import (
    HTTP_STATUS,
    HttpJsonError,
    call_status,
    from_rpc_error,
    rpc_error_response,
    status_json,
    status_response,
)
from services.gateway.http.json_api.transcode import build_request, parse_body, to_json
from services.gateway.watch import WATCH_ACCEPTED

logger = logging.getLogger(__name__)

#: Largest request body accepted (413 past it): gRPC's message limit on every port.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: How long one unary call may take.
CALL_TIMEOUT_SECONDS = 60.0
_FORWARDED = ("authorization", "x-request-id")
_JSON = {"application/json"}
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def _not_found(path: str) -> HttpJsonError:
    return HttpJsonError(
        grpc.StatusCode.NOT_FOUND,
        f"no RPC is mapped to {path[:200]}; see /v1/openapi.json for the paths this API has",
        reason="NO_SUCH_PATH",
    )


class JsonApi:
    """Routes every ``google.api.http`` binding of ``service`` to ``target``'s gRPC port."""

    def __init__(
        self,
        service: ServiceDescriptor,
        target: str,
        openapi: Callable[[], dict],
        credentials: grpc.ChannelCredentials | None = None,
        cloudevents_source: str = "",
    ) -> None:
        self.service = service
        self.cloudevents_source = cloudevents_source or default_source()
        self.rules = rules_of(service)
        self.target = target
        self.credentials = credentials
        self._openapi = openapi
        self._openapi_doc: dict | None = None
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: set[grpc.aio.Call] = set()
        self._closing = False
        self._callables: dict[str, grpc.aio.UnaryUnaryMultiCallable] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        """``/v1/openapi.json``, then everything else under ``/v1``, whatever its method
        (so an unknown path or method gets a Status body, never another page)."""
        return [
            Route("/v1/openapi.json", self.openapi, methods=["GET"]),
            Route("/v1", self.dispatch, methods=_ANY_METHOD),
            Route("/v1/{path:path}", self.dispatch, methods=_ANY_METHOD),
        ]

    def close(self) -> None:
        """End every open event stream (before the HTTP server stops); callable from any
        thread."""
        with self._lock:
            self._closing = True
            loop, streams = self._loop, list(self._streams)
        if loop is not None and not loop.is_closed():
            for call in streams:
                loop.call_soon_threadsafe(call.cancel)

    # ---------------------------------------------------------------- endpoints

    async def openapi(self, request: Request) -> Response:
        if self._openapi_doc is None:
            self._openapi_doc = self._openapi()
        return JSONResponse(self._openapi_doc)

    async def dispatch(self, request: Request) -> Response:
        try:
            rule, variables = self._match(request)
            body = await self._body(request, rule)
            query = list(request.query_params.multi_items())
            if rule.method.server_streaming:
                # ``format`` belongs to the stream, not to the RPC's request.
                formats = [v for k, v in query if k == "format"]
                query = [(k, v) for k, v in query if k != "format"]
                message = build_request(rule, variables, query, body)
                return await self._stream(request, rule, message, _stream_format(formats))
            message = build_request(rule, variables, query, body)
            return await self._unary(request, rule, message)
        except HttpJsonError as error:
            return error.response()
        except Exception:
            # A bug: INTERNAL as a Status, the traceback in the log, never to the client.
            logger.exception("HTTP/JSON %s %s failed", request.method, request.url.path[:200])
            return HttpJsonError(
                grpc.StatusCode.INTERNAL,
                f"internal error in {request.method} {request.url.path[:200]}; "
                "the gateway's log has the details",
                reason="INTERNAL",
            ).response()

    def _match(self, request: Request) -> tuple[HttpRule, dict[str, str]]:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = RequestPath.parse(raw.decode("latin-1").split("?", 1)[0])
        allowed: set[str] = set()
        for rule in self.rules:
            variables = rule.template.match(path)
            if variables is None:
                continue
            if rule.http_method == request.method:
                return rule, variables
            allowed.add(rule.http_method)
        if not allowed:
            raise _not_found(request.url.path)
        raise HttpJsonError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{request.method} is not allowed on {request.url.path[:200]}; "
            f"use {', '.join(sorted(allowed))}",
            reason="METHOD_NOT_ALLOWED",
            http_status=405,
            headers={"Allow": ", ".join(sorted(allowed))},
        )

    async def _body(self, request: Request, rule: HttpRule) -> object:
        """The JSON body (None when the rule takes none or the request sent none)."""
        raw = await read_limited(request)
        if not raw:
            return {} if rule.body == "*" else None
        require_json(request)
        if not rule.body:
            raise HttpJsonError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{rule.http_method} {rule.template.text} takes no body; "
                "send its fields as query parameters",
                reason="UNEXPECTED_BODY",
            )
        return parse_body(raw)

    # ---------------------------------------------------------------- calls

    def _stub_channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            with self._lock:
                self._loop = asyncio.get_running_loop()
            # The services' message limits (16 MiB), not grpc's default 4 MiB receive
            # limit: an answer the gRPC API sends must reach HTTP clients too.
            options = channel_options()
            if self.credentials is not None:
                self._channel = grpc.aio.secure_channel(self.target, self.credentials, options)
            else:
                self._channel = grpc.aio.insecure_channel(self.target, options)
        return self._channel

    def _path(self, rule: HttpRule) -> str:
        return f"/{self.service.full_name}/{rule.rpc}"

    @staticmethod
    def _metadata(request: Request) -> list[tuple[str, str]]:
        return [(k, request.headers[k]) for k in _FORWARDED if k in request.headers]

    async def _unary(self, request: Request, rule: HttpRule, message) -> Response:
        call = self._callables.get(rule.rpc)
        if call is None:
            call = self._callables[rule.rpc] = self._stub_channel().unary_unary(
                self._path(rule),
                request_serializer=_serialize,
                response_deserializer=_parser(rule.method.output_type),
            )
        try:
            response = await call(
                message, metadata=self._metadata(request), timeout=CALL_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            return rpc_error_response(error)
        return JSONResponse(to_json(response))

    async def _stream(
        self, request: Request, rule: HttpRule, message, cloudevents: bool = False
    ) -> Response:
        """A server-streaming RPC as server-sent events: ``id:`` each event's sequence,
        ``data:`` the proto3 JSON of the streamed message's event, or with
        ``?format=cloudevents`` the event as a CloudEvent (services/common/cloudevents.py).
        A ``Last-Event-ID`` header resumes after that sequence."""
        resume = request.headers.get("last-event-id")
        if resume:
            if not resume.isdigit():
                raise HttpJsonError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Last-Event-ID must be a sequence number, got {resume[:64]!r}",
                    reason="INVALID_REQUEST",
                    field="Last-Event-ID",
                )
            message.after_sequence = int(resume)
        output = rule.method.output_type
        call = self._stub_channel().unary_stream(
            self._path(rule),
            request_serializer=_serialize,
            response_deserializer=_parser(output),
        )(message, metadata=self._metadata(request))
        # The gateway sends WATCH_ACCEPTED once it has checked the request, so errors
        # (a bad cursor, a refused token) answer with their HTTP status, not a 200 stream.
        try:
            metadata = await call.initial_metadata()
        except grpc.aio.AioRpcError as error:
            return rpc_error_response(error)
        if not any(key == WATCH_ACCEPTED for key, _ in metadata or ()):
            code = await call.code()
            status = call_status(code, await call.details(), await call.trailing_metadata())
            return status_response(status, HTTP_STATUS.get(code, 500))
        with self._lock:
            self._streams.add(call)
        return StreamingResponse(
            self._events(call, cloudevents),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _events(
        self, call: grpc.aio.UnaryStreamCall, cloudevents: bool = False
    ) -> AsyncIterator[str]:
        last = None
        try:
            yield "retry: 2000\n\n"
            async for response in call:
                event = response.event
                last = event.sequence
                document = (
                    to_cloudevent(event, self.cloudevents_source) if cloudevents else to_json(event)
                )
                data = json.dumps(document, separators=(",", ":"))
                yield f"id: {event.sequence}\ndata: {data}\n\n"
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                yield _error_event(from_rpc_error(error))
        except asyncio.CancelledError:
            if not self._closing:
                raise  # the client went away
            # close(): end the stream whole, telling the client to come back.
            yield _error_event(_shutting_down(last))
        finally:
            call.cancel()
            with self._lock:
                self._streams.discard(call)


def _stream_format(formats: list[str]) -> bool:
    """Whether ``?format=`` asks for CloudEvents (``json``, the default, does not)."""
    if len(formats) > 1:
        raise HttpJsonError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "format is given more than once",
            reason="INVALID_REQUEST",
            field="format",
        )
    chosen = formats[0] if formats else "json"
    if chosen not in ("json", "cloudevents"):
        raise HttpJsonError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"format must be json or cloudevents, got {chosen[:64]!r}",
            reason="INVALID_REQUEST",
            field="format",
        )
    return chosen == "cloudevents"


def _error_event(status: status_pb2.Status) -> str:
    return f"event: error\ndata: {json.dumps(status_json(status), separators=(',', ':'))}\n\n"


def _shutting_down(last: int | None) -> status_pb2.Status:
    resume = "with Last-Event-ID" if last is None else f"after event {last} (Last-Event-ID)"
    return status_pb2.Status(
        code=grpc.StatusCode.UNAVAILABLE.value[0],
        message=f"this gateway is shutting down; reconnect to any gateway and resume {resume}",
    )


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _parser(descriptor: Descriptor) -> Callable[[bytes], object]:
    return message_factory.GetMessageClass(descriptor).FromString


async def read_limited(request: Request) -> bytes:
    """The raw request body; 413 past :data:`MAX_BODY_BYTES`, before reading it all."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise too_large()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise too_large()
    return bytes(raw)


def require_json(request: Request) -> None:
    """415 unless the request says its body is JSON (``application/json`` or ``+json``)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _JSON and not kind.endswith("+json"):
        raise HttpJsonError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"request bodies must be application/json, got {kind[:100] or 'no content type'}",
            reason="UNSUPPORTED_MEDIA_TYPE",
            http_status=415,
        )


def too_large() -> HttpJsonError:
    return HttpJsonError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the request body is over the limit of {MAX_BODY_BYTES // (1024 * 1024)} MiB",
        reason="BODY_TOO_LARGE",
        http_status=413,
    )
