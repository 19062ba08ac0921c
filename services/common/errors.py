"""Domain errors that carry their gRPC status code and ``google.rpc`` details.

Services raise these; one interceptor (:mod:`services.common.interceptors`) turns
them into statuses. Anything else a handler raises becomes INTERNAL, logged with
its traceback and never shown to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

#: The ``ErrorInfo.domain`` of every error this registry raises.
ERROR_DOMAIN = "modelregistry"


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field: its path (``model_version.version``) and what is wrong."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet precondition: its type (``CHUNK_MISSING``), subject and why."""

    type: str
    subject: str
    description: str


class RegistryError(Exception):
    """An error with a gRPC status code, a message for people and machine-readable details."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        field_violations: Iterable[FieldViolation] = (),
        precondition_violations: Iterable[PreconditionViolation] = (),
        details: Iterable[Message] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations)
        self.precondition_violations = list(precondition_violations)
        self.extra_details = list(details)

    def to_status_proto(self) -> status_pb2.Status:
        """The ``google.rpc.Status`` this error is sent as."""
        details: list[Message] = [
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
            )
        ]
        if self.field_violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in self.field_violations
                    ]
                )
            )
        if self.precondition_violations:
            details.append(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=v.type, subject=v.subject, description=v.description
                        )
                        for v in self.precondition_violations
                    ]
                )
            )
        details.extend(self.extra_details)
        packed = []
        for detail in details:
            any_detail = any_pb2.Any()
            any_detail.Pack(detail)
            packed.append(any_detail)
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)

    def to_grpc_status(self) -> grpc.Status:
        """The status for ``context.abort_with_status``."""
        return rpc_status.to_status(self.to_status_proto())


class InvalidArgument(RegistryError):
    """The request is malformed; the field violations say which field and why."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    @classmethod
    def field(cls, field: str, description: str, **kwargs: object) -> InvalidArgument:
        """An error about one field, whose message is ``"{field}: {description}"``."""
        return cls(
            f"{field}: {description}",
            field_violations=[FieldViolation(field, description)],
            **kwargs,  # type: ignore[arg-type]
        )


class NotFound(RegistryError):
    """The named resource does not exist."""

    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(RegistryError):
    """The resource to create exists already."""

    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(RegistryError):
    """The system is not in a state the operation needs; the violations say what is missing."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class OutOfRange(RegistryError):
    """An offset or position lies past a valid range."""

    code = grpc.StatusCode.OUT_OF_RANGE
    default_reason = "OUT_OF_RANGE"


class Aborted(RegistryError):
    """A concurrency conflict (stale etag, concurrent promotion); retrying may succeed."""

    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class DataLoss(RegistryError):
    """Stored data is corrupt; no wrong bytes were sent."""

    code = grpc.StatusCode.DATA_LOSS
    default_reason = "DATA_LOSS"


class Unavailable(RegistryError):
    """A service this one depends on cannot be reached."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class Unauthenticated(RegistryError):
    """The caller did not prove who it is."""

    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(RegistryError):
    """The caller is known but lacks the role the operation needs."""

    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class RemoteError(RegistryError):
    """An error answered by another service, passed on with its code, message and details."""

    def __init__(self, code: grpc.StatusCode, message: str, details: Iterable[Message]) -> None:
        super().__init__(message)
        self.code = code
        self.remote_details = list(details)
        for detail in self.remote_details:
            if isinstance(detail, error_details_pb2.ErrorInfo):
                self.reason, self.metadata = detail.reason, dict(detail.metadata)

    def to_status_proto(self) -> status_pb2.Status:
        packed = []
        for detail in self.remote_details:
            any_detail = any_pb2.Any()
            any_detail.Pack(detail)
            packed.append(any_detail)
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)


#: Translators of foreign exceptions (a database driver's, say) into registry errors.
_TRANSLATORS: list[tuple[type[BaseException], Callable[[BaseException], RegistryError | None]]] = []


def add_translator(
    kind: type[BaseException], translate: Callable[[BaseException], RegistryError | None]
) -> None:
    """Let the error-mapping interceptor turn ``kind`` exceptions into registry errors.

    ``translate`` returns the error to answer with, or None to leave it an INTERNAL error.
    """
    _TRANSLATORS.append((kind, translate))


def translate(error: BaseException) -> RegistryError | None:
    """The registry error a foreign exception stands for, if a translator knows it."""
    for kind, translator in _TRANSLATORS:
        if isinstance(error, kind) and (translated := translator(error)) is not None:
            return translated
    return None


_DETAIL_TYPES: tuple[type[Message], ...] = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.ResourceInfo,
)


def unpack_details(status: status_pb2.Status) -> list[Message]:
    """The known ``google.rpc`` detail messages of a status."""
    out: list[Message] = []
    for any_detail in status.details:
        for detail_type in _DETAIL_TYPES:
            if any_detail.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                any_detail.Unpack(detail)
                out.append(detail)
                break
    return out


def from_rpc_error(error: grpc.RpcError, *, peer: str = "") -> RegistryError:
    """Turn an error answered by another service into one this service can raise.

    Statuses with details are passed on unchanged. A peer that cannot be reached
    becomes UNAVAILABLE with a message naming it, so the caller knows which hop failed.
    """
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and peer:
        return Unavailable(f"{peer} is unavailable: {message}", metadata={"peer": peer})
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    details = unpack_details(status) if status is not None else []
    return RemoteError(code, message or code.name, details)
