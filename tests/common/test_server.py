"""The server factory: health, reflection, message limits and the error-mapping interceptor."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from services.common.server import create_server
from services.common.settings import MAX_MESSAGE_BYTES
from tests.common.echo import SERVICE, call


def test_create_server_binds_a_free_port_and_serves(channel: grpc.Channel) -> None:
    assert call(channel, b"hello") == b"hello"


def test_health_reports_each_service_and_the_server_serving(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE):
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as info:
        stub.Check(health_pb2.HealthCheckRequest(service="nope.Service"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(stub.ServerReflectionInfo(iter([request]), timeout=5))
    names = {s.name for s in response.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


def test_domain_error_maps_to_its_code_with_field_violation(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(channel, b"invalid")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "model_version.version: not a semantic version"
    status = rpc_status.from_call(info.value)
    bad_request = error_details_pb2.BadRequest()
    error_info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(error_info)
    assert (error_info.reason, error_info.domain) == ("INVALID_ARGUMENT", "modelregistry")
    assert status.details[1].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "model_version.version"


def test_precondition_failure_detail_lists_violations(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(channel, b"precondition")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    failure = error_details_pb2.PreconditionFailure()
    assert rpc_status.from_call(info.value).details[1].Unpack(failure)
    assert failure.violations[0].subject == "sha256:ab"


def test_unknown_exception_is_internal_without_leaking_details(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(channel, b"crash")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in info.value.details()
    assert "Traceback" not in info.value.details()
    assert "/test.Echo/Echo" in info.value.details()
    assert "secret internal detail" in caplog.text


def test_abort_inside_a_handler_keeps_its_own_code(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(channel, b"abort")
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info.value.details() == "aborted by the handler"


@pytest.mark.parametrize(
    ("payload", "code", "needle"),
    [(b"x", grpc.StatusCode.INVALID_ARGUMENT, "offset"), (b"crash", grpc.StatusCode.INTERNAL, "")],
)
def test_streaming_handler_errors_are_mapped_after_partial_output(
    channel: grpc.Channel, payload: bytes, code: grpc.StatusCode, needle: str
) -> None:
    responses = channel.unary_stream(f"/{SERVICE}/Stream")(payload, timeout=10)
    assert next(responses) == b"first"
    with pytest.raises(grpc.RpcError) as info:
        next(responses)
    assert info.value.code() == code
    assert needle in info.value.details()
    assert "secret" not in info.value.details()


def test_messages_up_to_16_mib_pass_and_larger_are_refused(channel: grpc.Channel) -> None:
    assert len(call(channel, b"x" * (MAX_MESSAGE_BYTES - 1024))) == MAX_MESSAGE_BYTES - 1024
    with pytest.raises(grpc.RpcError) as info:
        call(channel, b"x" * (MAX_MESSAGE_BYTES + 1))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_create_server_on_a_taken_port_says_so() -> None:
    server, port = create_server("127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            create_server(f"127.0.0.1:{port}")
    finally:
        server.stop(None)


def test_a_sigterm_delivered_to_another_thread_still_stops_the_servers() -> None:
    """The kernel may hand a process's SIGTERM to any thread (grpc's, the event loop's);
    its Python handler runs only once the main thread runs again."""
    import subprocess
    import sys
    import textwrap

    program = textwrap.dedent(
        """
        import signal, threading, time
        from services.common.server import run_until_signal

        def deliver_to_this_thread():
            time.sleep(0.5)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

        threading.Thread(target=deliver_to_this_thread, daemon=True).start()
        run_until_signal([])
        print("stopped")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=10
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"


def test_servers_stop_in_reverse_start_order_so_the_front_door_goes_first() -> None:
    """The gateway is started last and must stop first: stopped after its peers, its
    outbox reader would poll a metadata service that no longer listens, and warn."""
    import os
    import signal

    from services.common.server import run_until_signal

    events: list[str] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def start(self) -> None:
            events.append(f"start {self.name}")

        def stop(self, grace: float | None = None) -> None:
            events.append(f"stop {self.name}")

    servers = [Recorder("metadata"), Recorder("artifacts"), Recorder("gateway")]
    run_until_signal(
        servers,  # type: ignore[arg-type]  # only start() and stop() are called
        on_started=lambda: os.kill(os.getpid(), signal.SIGTERM),
    )
    assert events == [
        "start metadata",
        "start artifacts",
        "start gateway",
        "stop gateway",
        "stop artifacts",
        "stop metadata",
    ]


@pytest.mark.parametrize("options", ["server", "sdk"])
def test_a_new_channel_reaches_a_server_restarted_on_its_old_port(options: str) -> None:
    """An older channel left in reconnect backoff must not make a fresh one fail fast."""
    from mreg.connection import CHANNEL_OPTIONS
    from services.common.server import build_server, insecure_channel

    def fresh_channel(address: str) -> grpc.Channel:
        if options == "server":
            return insecure_channel(address)
        return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)

    first = build_server("127.0.0.1:0")
    first.start()
    address = f"127.0.0.1:{first.port}"
    request = health_pb2.HealthCheckRequest()
    with fresh_channel(address) as old:
        health_pb2_grpc.HealthStub(old).Check(request, timeout=5)
        first.stop(grace=None)
        for _ in range(3):  # each refused connection lengthens the old channel's backoff
            with pytest.raises(grpc.RpcError) as refused:
                health_pb2_grpc.HealthStub(old).Check(request, timeout=1)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        second = build_server(address)
        second.start()
        try:
            with fresh_channel(address) as new:
                answer = health_pb2_grpc.HealthStub(new).Check(request, timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        finally:
            second.stop(grace=None)
