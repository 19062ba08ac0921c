"""Domain errors that carry their gRPC status code and ``google.rpc`` details.

Services raise these; one interceptor (:mod:`services.common.interceptors`) turns
them into statuses. Anything else a handler raises becomes INTERNAL, logged with
its traceback and never shown to the client.

Whatever the input, a status stays well inside gRPC's default 8 KiB limit on the
headers of a response (``grpc-message`` plus ``grpc-status-details-bin``): the message
is cut to :data:`MAX_MESSAGE_BYTES`, every string inside a detail to
:data:`MAX_DETAIL_STRING_BYTES`, repeated fields to :data:`MAX_REPEATED`, and the details
together to :data:`MAX_DETAILS_BYTES`, each cut marked with an ellipsis. Messages quote
client values through :func:`quote`, which shows at most a short prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

#: The ``ErrorInfo.domain`` of every error this registry raises.
ERROR_DOMAIN = "modelregistry"

#: UTF-8 bytes of a status message (sent percent-encoded: at most 3 KiB on the wire).
MAX_MESSAGE_BYTES = 1024
#: UTF-8 bytes of any one string inside a detail (a metadata value, a description).
MAX_DETAIL_STRING_BYTES = 512
#: Elements kept of any repeated field of a detail (field violations, metadata entries).
MAX_REPEATED = 32
#: Serialized bytes of all details together (sent base64: about 2 KiB on the wire).
MAX_DETAILS_BYTES = 1536
#: Characters of a client's value that a message quotes.
QUOTE_CHARS = 64
ELLIPSIS = "\u2026"


def shorten(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, ending in an ellipsis when cut."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= max_bytes:
        return text
    cut = max_bytes - len(ELLIPSIS.encode())
    return data[: max(cut, 0)].decode("utf-8", "ignore") + ELLIPSIS


def quote(value: str, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` for a message; a longer value shows its first ``limit`` characters,
    an ellipsis and its length: ``'models/aaaa'\u2026 (5007 characters)``."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}{ELLIPSIS} ({len(value)} characters)"


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
        return bounded_status(self.code, self.message, details)

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
            **kwargs,  # type: ignore[arg-type]  # the other keywords of RegistryError
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


class ResourceExhausted(RegistryError):
    """A limit was reached (a quota, a number of open streams); retry later or ask for less."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


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
        return bounded_status(self.code, self.message, self.remote_details)


def bounded_status(
    code: grpc.StatusCode, message: str, details: Iterable[Message]
) -> status_pb2.Status:
    """A ``google.rpc.Status`` whose message and details are cut to the bounds above."""
    packed = []
    for detail in bound_details(details):
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return status_pb2.Status(
        code=code.value[0], message=shorten(message, MAX_MESSAGE_BYTES), details=packed
    )


def bound_details(details: Iterable[Message]) -> list[Message]:
    """Copies of ``details`` with every string, repeated field and the total size bounded.

    While the details together exceed :data:`MAX_DETAILS_BYTES`, elements of repeated
    fields are dropped from the last detail backwards, then whole details after the
    first (the ``ErrorInfo``), so the reason always survives.
    """
    out = []
    for detail in list(details)[:MAX_REPEATED]:
        copy = type(detail)()
        copy.CopyFrom(detail)
        _shorten_fields(copy)
        out.append(copy)
    while sum(_packed_size(d) for d in out) > MAX_DETAILS_BYTES and _drop_one(out):
        pass
    return out


def _packed_size(detail: Message) -> int:
    return detail.ByteSize() + len(detail.DESCRIPTOR.full_name) + 40


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _shorten_fields(message: Message) -> None:
    for field, value in message.ListFields():
        is_string = field.type == FieldDescriptor.TYPE_STRING
        if _is_map(field):
            entries = list(value.items())[:MAX_REPEATED]
            value.clear()
            value_field = field.message_type.fields_by_name["value"]
            for key, item in entries:
                key = shorten(key, MAX_DETAIL_STRING_BYTES) if isinstance(key, str) else key
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    value[key].CopyFrom(item)
                    _shorten_fields(value[key])
                elif isinstance(item, str):
                    value[key] = shorten(item, MAX_DETAIL_STRING_BYTES)
                else:
                    value[key] = item
        elif field.is_repeated:
            del value[MAX_REPEATED:]
            for index, item in enumerate(value):
                if is_string:
                    value[index] = shorten(item, MAX_DETAIL_STRING_BYTES)
                elif field.type == FieldDescriptor.TYPE_MESSAGE:
                    _shorten_fields(item)
        elif is_string:
            setattr(message, field.name, shorten(value, MAX_DETAIL_STRING_BYTES))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            _shorten_fields(value)


def _drop_one(details: list[Message]) -> bool:
    """Remove one repeated element (or one detail after the first); False if none is left."""
    for index in range(len(details) - 1, -1, -1):
        if _drop_element(details[index]):
            return True
        if index > 0:
            del details[index]
            return True
    return False


def _drop_element(message: Message) -> bool:
    for field, value in reversed(message.ListFields()):
        if _is_map(field):
            del value[next(reversed(list(value)))]
            return True
        if field.is_repeated:
            del value[-1]
            return True
        if field.type == FieldDescriptor.TYPE_MESSAGE and _drop_element(value):
            return True
    return False


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

    The code and message are passed on unchanged, with the ``google.rpc`` details when
    they agree with the code. A peer that cannot be reached becomes UNAVAILABLE with a
    message naming it, so the caller knows which hop failed.
    """
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and peer:
        return Unavailable(f"{peer} is unavailable: {message}", metadata={"peer": peer})
    return RemoteError(code, message or code.name, _details_of(error, code))


def _details_of(error: grpc.RpcError, code: grpc.StatusCode) -> list[Message]:
    """The details in a failed call's trailers; none when absent, unreadable or about
    another code (headers cut short on the way, say)."""
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except DecodeError:
                return []
            return unpack_details(status) if status.code == code.value[0] else []
    return []
