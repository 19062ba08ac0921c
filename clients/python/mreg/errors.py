"""Typed exceptions for gRPC errors, keeping the server's message and details."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class Violation:
    """One field violation or unmet precondition the server reported."""

    subject: str
    description: str
    type: str = ""


@dataclass
class MregError(Exception):
    """An error answered by the registry (or the transport to it)."""

    message: str
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[Violation] = field(default_factory=list)
    precondition_violations: list[Violation] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(MregError):
    """The request was malformed; ``field_violations`` says which field."""


class NotFoundError(MregError):
    """The model, version, alias or blob does not exist."""


class AlreadyExistsError(MregError):
    """The version (or other resource) exists already."""


class FailedPreconditionError(MregError):
    """The registry is not in a state that allows the operation (missing chunks, failed gates)."""


class AbortedError(MregError):
    """A concurrency conflict; retrying may succeed."""


class OutOfRangeError(MregError):
    """An offset lies past the end of the data."""


class UnavailableError(MregError):
    """The registry (or a service behind it) cannot be reached."""


class UnauthenticatedError(MregError):
    """The call carried no valid credentials."""


class PermissionDeniedError(MregError):
    """The caller lacks the role the operation needs."""


class DataLossError(MregError):
    """Stored or transferred data failed verification."""


class DeadlineExceededError(MregError):
    """The call did not finish within its deadline."""


class ClientConfigError(MregError):
    """The client's own settings are wrong (TLS files, addresses); nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, grpc.StatusCode.INVALID_ARGUMENT)


class InsecureTransportError(MregError):
    """The client refused to send a bearer token in plaintext; nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, grpc.StatusCode.FAILED_PRECONDITION)


_BY_CODE: dict[grpc.StatusCode, type[MregError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def from_rpc_error(error: grpc.RpcError) -> MregError:
    """The typed exception for a failed call, with the server's details unpacked."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = (error.details() if hasattr(error, "details") else "") or code.name
    result = _BY_CODE.get(code, MregError)(message, code)
    status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(info):
            result.reason, result.metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad):
            result.field_violations = [
                Violation(v.field, v.description) for v in bad.field_violations
            ]
        elif detail.Unpack(failure):
            result.precondition_violations = [
                Violation(v.subject, v.description, v.type) for v in failure.violations
            ]
    return result
