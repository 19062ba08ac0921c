"""The SDK's typed exceptions keep the server's message and details; retries are bounded."""

from __future__ import annotations

import grpc
import pytest

from mreg.errors import (
    AbortedError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
    from_rpc_error,
)
from mreg.retry import call_with_retry
from services.common.errors import FailedPrecondition, InvalidArgument, PreconditionViolation
from services.common.server import ServiceBinding, create_server, insecure_channel


class _Fake(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str = "boom") -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self):
        return ()


def _serve(behaviour):
    handler = grpc.unary_unary_rpc_method_handler(behaviour, lambda b: b, lambda b: b)

    def add(_servicer, server):
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("t.S", {"M": handler}),)
        )

    server, port = create_server("127.0.0.1:0", [ServiceBinding("t.S", add, None)])
    server.start()
    return server, insecure_channel(f"127.0.0.1:{port}")


def test_server_errors_become_typed_exceptions_with_details() -> None:
    def fail(request, context):
        if request == b"field":
            raise InvalidArgument.field("model_version.version", "not semver")
        raise FailedPrecondition(
            "gates failed",
            reason="GATES_FAILED",
            precondition_violations=[PreconditionViolation("METRIC_THRESHOLD", "auc", "too low")],
        )

    server, channel = _serve(fail)
    try:
        call = channel.unary_unary("/t.S/M")
        with pytest.raises(grpc.RpcError) as info:
            call(b"field", timeout=5)
        typed = from_rpc_error(info.value)
        assert isinstance(typed, InvalidArgumentError)
        assert str(typed) == "model_version.version: not semver"
        assert typed.field_violations[0].subject == "model_version.version"
        with pytest.raises(grpc.RpcError) as info:
            call(b"gates", timeout=5)
        typed = from_rpc_error(info.value)
        assert isinstance(typed, FailedPreconditionError)
        assert typed.reason == "GATES_FAILED"
        assert typed.precondition_violations[0].type == "METRIC_THRESHOLD"
    finally:
        channel.close()
        server.stop(None)


def test_transient_errors_are_retried_until_success() -> None:
    attempts = []

    def call(timeout: float) -> str:
        attempts.append(timeout)
        if len(attempts) < 3:
            raise _Fake(grpc.StatusCode.UNAVAILABLE)
        return "ok"

    assert call_with_retry(call, deadline=5, sleep=lambda s: None) == "ok"
    assert len(attempts) == 3


def test_permanent_errors_are_not_retried() -> None:
    attempts = []

    def call(timeout: float) -> str:
        attempts.append(timeout)
        raise _Fake(grpc.StatusCode.NOT_FOUND, "no model 'x'")

    with pytest.raises(NotFoundError, match="no model 'x'"):
        call_with_retry(call, deadline=5, sleep=lambda s: None)
    assert len(attempts) == 1


def test_retries_stop_at_the_deadline() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def call(timeout: float) -> str:
        now[0] += 0.5
        raise _Fake(grpc.StatusCode.ABORTED, "concurrent promotion")

    with pytest.raises(AbortedError):
        call_with_retry(call, deadline=3, sleep=sleep, clock=lambda: now[0])
    assert now[0] <= 3.5


def test_unavailable_keeps_its_type() -> None:
    assert isinstance(from_rpc_error(_Fake(grpc.StatusCode.UNAVAILABLE)), UnavailableError)


def test_a_retry_cut_short_by_the_deadline_reports_the_failure_that_made_it_retry() -> None:
    now = [0.0]
    answers = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED]

    def call(timeout: float) -> str:
        now[0] += 1.0
        code = answers.pop(0)
        raise _Fake(code, "metadata database unavailable" if answers else "Deadline Exceeded")

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(UnavailableError) as info:
        call_with_retry(call, deadline=2, sleep=sleep, clock=lambda: now[0])
    assert info.value.message.startswith("metadata database unavailable (gave up after 2 attempts")


def test_a_call_that_is_not_safe_to_repeat_is_tried_once() -> None:
    attempts = []

    def call(timeout: float) -> str:
        attempts.append(timeout)
        raise _Fake(grpc.StatusCode.UNAVAILABLE, "connection reset")

    with pytest.raises(UnavailableError) as info:
        call_with_retry(call, deadline=5, retry=False, what="SetAlias", sleep=lambda s: None)
    assert len(attempts) == 1
    assert info.value.message == (
        "connection reset (SetAlias was not retried: it is not idempotent and carries no "
        "request id; check whether it took effect before repeating it)"
    )
