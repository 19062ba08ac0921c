"""Errors of the HTTP/JSON API as ``google.rpc.Status`` JSON, with Google's status mapping.

The body is the proto3 JSON of ``google.rpc.Status``: ``{"code": 5, "message": "...",
"details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", ...}]}``, the same code,
message and details the gRPC call answered (its ``grpc-status-details-bin`` trailer). The
HTTP status follows ``google/rpc/code.proto``.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from starlette.responses import JSONResponse

from services.common.errors import ERROR_DOMAIN

logger = logging.getLogger(__name__)

#: gRPC status -> HTTP status, as ``google/rpc/code.proto`` gives them.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}
#: The challenge of a 401 from the JSON API.
BEARER_CHALLENGE = 'Bearer realm="model registry"'
_DETAILS_KEY = "grpc-status-details-bin"
_MAX_MESSAGE = 1024


class HttpJsonError(Exception):
    """A request the transcoder refuses before any RPC: its status and headers."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str,
        field: str | None = None,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message[:_MAX_MESSAGE]
        self.reason = reason
        self.field = field
        self.http_status = http_status or HTTP_STATUS[code]
        self.headers = headers or {}

    def status(self) -> status_pb2.Status:
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        status.details.add().Pack(
            error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN)
        )
        if self.field is not None:
            violation = error_details_pb2.BadRequest.FieldViolation(
                field=self.field, description=self.message
            )
            status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        return status

    def response(self) -> JSONResponse:
        return status_response(self.status(), self.http_status, self.headers)


def status_response(
    status: status_pb2.Status, http_status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    """``status`` as its proto3 JSON with ``http_status``."""
    headers = dict(headers or {})
    if status.code == code_pb2.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return JSONResponse(status_json(status), http_status, headers)


def status_json(status: status_pb2.Status) -> dict:
    """The proto3 JSON of a status (details whose type is unknown here are left out)."""
    try:
        return json_format.MessageToDict(status)
    except TypeError:  # a detail of a type this process has not imported
        return {"code": status.code, "message": status.message}


def call_status(
    code: grpc.StatusCode, details: str | None, trailing: grpc.aio.Metadata | None
) -> status_pb2.Status:
    """The ``google.rpc.Status`` a failed call answered, details included."""
    for key, value in trailing or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:  # a malformed trailer: keep code and message
                logger.warning("malformed %s trailer with %s", _DETAILS_KEY, code)
    return status_pb2.Status(code=code.value[0], message=details or "")


def from_rpc_error(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    return call_status(error.code(), error.details(), error.trailing_metadata())


def rpc_error_response(error: grpc.aio.AioRpcError) -> JSONResponse:
    """A failed call as an HTTP response."""
    return status_response(from_rpc_error(error), HTTP_STATUS.get(error.code(), 500))
