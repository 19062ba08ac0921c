"""Whatever a message or its details would hold, an error's headers fit gRPC's 8 KiB limit.

Before, an error quoting a long value went out with headers over the limit: the caller got
RESOURCE_EXHAUSTED ("received metadata size exceeds soft limit") instead of its code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.common.errors import (
    MAX_DETAIL_STRING_BYTES,
    MAX_DETAILS_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_REPEATED,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    RegistryError,
    RemoteError,
    bounded_status,
)
from services.common.server import ServiceBinding, create_server, insecure_channel

SERVICE = "test.Bounds"
HUGE = "v" * 100_000

ERRORS: dict[bytes, Callable[[], RegistryError]] = {
    b"long-message": lambda: InvalidArgument.field("name", f"got {HUGE}"),
    b"wide-characters": lambda: NotFound("\U0001f600" * 20_000, metadata={"k": "\u00e9" * 5000}),
    b"many-violations": lambda: InvalidArgument(
        "bad", field_violations=[FieldViolation(f"f{i}", HUGE[:900]) for i in range(10_000)]
    ),
    b"huge-metadata": lambda: FailedPrecondition(
        "gates failed",
        reason="GATES_FAILED",
        metadata={f"key-{i}-{HUGE[:200]}": HUGE for i in range(1000)},
        precondition_violations=[PreconditionViolation("GATE", HUGE, HUGE) for _ in range(50)],
    ),
    b"remote": lambda: RemoteError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        HUGE,
        [
            error_details_pb2.ErrorInfo(
                reason="QUOTA", domain="modelregistry", metadata={"a": HUGE}
            ),
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=HUGE, description=HUGE)
                ]
                * 100
            ),
        ],
    ),
}


def _handlers() -> dict[str, grpc.RpcMethodHandler]:
    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise ERRORS[request]()

    return {"Fail": grpc.unary_unary_rpc_method_handler(fail, lambda b: b, lambda b: b)}


def _add(handlers: dict[str, grpc.RpcMethodHandler], server: grpc.Server) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    server, port = create_server("127.0.0.1:0", [ServiceBinding(SERVICE, _add, _handlers())])
    server.start()
    channel = insecure_channel(f"127.0.0.1:{port}")
    yield channel
    channel.close()
    server.stop(None)


def _error_of(channel: grpc.Channel, case: bytes) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        channel.unary_unary(f"/{SERVICE}/Fail")(case, timeout=10)
    return info.value


@pytest.mark.parametrize(
    ("case", "code"),
    [
        (b"long-message", grpc.StatusCode.INVALID_ARGUMENT),
        (b"wide-characters", grpc.StatusCode.NOT_FOUND),
        (b"many-violations", grpc.StatusCode.INVALID_ARGUMENT),
        (b"huge-metadata", grpc.StatusCode.FAILED_PRECONDITION),
        (b"remote", grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
)
def test_an_error_of_any_size_arrives_with_its_code_and_bounded_details(
    channel: grpc.Channel, case: bytes, code: grpc.StatusCode
) -> None:
    error = _error_of(channel, case)
    assert error.code() == code
    message = error.details()
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    short = {b"many-violations": "bad", b"huge-metadata": "gates failed"}
    assert message == short[case] if case in short else message.endswith("\u2026")
    status = rpc_status.from_call(error)
    assert status is not None and status.message == message
    assert sum(d.ByteSize() for d in status.details) <= MAX_DETAILS_BYTES
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info) and info.reason  # the reason always survives
    headers = sum(len(k) + len(v) + 32 for k, v in error.trailing_metadata())
    assert headers < 6 * 1024


def test_long_message_keeps_its_start_and_a_cut_description() -> None:
    status = InvalidArgument.field("name", f"got {HUGE}").to_status_proto()
    assert status.message == ("name: got " + HUGE)[: MAX_MESSAGE_BYTES - 3] + "\u2026"
    bad = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad)
    assert bad.field_violations[0].field == "name"
    assert bad.field_violations[0].description == (
        ("got " + HUGE)[: MAX_DETAIL_STRING_BYTES - 3] + "\u2026"
    )


def test_many_violations_are_cut_from_the_end_and_short_errors_are_untouched() -> None:
    status = ERRORS[b"many-violations"]().to_status_proto()
    bad = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad)
    assert 0 < len(bad.field_violations) <= MAX_REPEATED
    assert [v.field for v in bad.field_violations] == [
        f"f{i}" for i in range(len(bad.field_violations))
    ]
    small = InvalidArgument.field("name", "expected 'models/{model}'", metadata={"a": "b"})
    status = small.to_status_proto()
    assert status.message == "name: expected 'models/{model}'"
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info) and status.details[1].Unpack(bad)
    assert (info.reason, dict(info.metadata)) == ("INVALID_ARGUMENT", {"a": "b"})
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("name", "expected 'models/{model}'")
    ]


def test_bounded_status_keeps_error_info_first_whatever_the_details() -> None:
    details = [
        error_details_pb2.ErrorInfo(reason="R" * 5000, metadata={str(i): HUGE for i in range(99)}),
        *[error_details_pb2.ResourceInfo(resource_name=HUGE) for _ in range(20)],
    ]
    status = bounded_status(grpc.StatusCode.NOT_FOUND, "\u00e9" * 10_000, details)
    assert len(status.message.encode()) <= MAX_MESSAGE_BYTES
    assert sum(d.ByteSize() for d in status.details) <= MAX_DETAILS_BYTES
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "R" * (MAX_DETAIL_STRING_BYTES - 3) + "\u2026"
