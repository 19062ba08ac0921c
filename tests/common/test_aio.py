"""The ``grpc.aio`` server: native async methods beside sync ones, open streams hold no
thread, and keepalives that never get a connection dropped (real channels on loopback)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import grpc
import pytest

from modelregistry.v1 import registry_pb2
from services.common.errors import InvalidArgument
from services.common.observability import current_request_id
from services.common.server import (
    ServiceBinding,
    build_aio_server,
    build_server,
    insecure_channel,
)

SERVICE = "test.Aio"


def _same(data: bytes) -> bytes:
    return data


async def _async_echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    if request == b"invalid":
        raise InvalidArgument.field("name", "must not be empty")
    if request == b"crash":
        raise ValueError("secret internal detail")
    return request


async def _hold(request: bytes, context: grpc.aio.ServicerContext):
    yield b"open"
    await asyncio.Event().wait()  # until the client cancels


def _whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
    assert context.is_active()
    return current_request_id().encode()


def _concat(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    return b"".join(requests)


def _blocking_hold(request: bytes, context: grpc.ServicerContext):
    yield b"open"
    # Bounded: once the server has stopped, nothing may mark the call done, and a worker
    # that never returns would hold the interpreter's exit (it joins pool threads).
    deadline = time.monotonic() + 10
    while context.is_active() and time.monotonic() < deadline:
        time.sleep(0.01)


async def _async_name(request: registry_pb2.GetModelRequest, context) -> bytes:
    return request.name.encode()


def _names(requests: Iterator[registry_pb2.GetModelRequest], context) -> bytes:
    return b",".join(r.name.encode() for r in requests)


def _parsed(behavior, kind=grpc.unary_unary_rpc_method_handler):
    return kind(behavior, registry_pb2.GetModelRequest.FromString, _same)


def _add(_servicer: object, server: grpc.Server) -> None:
    handlers = {
        "AsyncParse": _parsed(_async_name),
        "StreamParse": _parsed(_names, grpc.stream_unary_rpc_method_handler),
        "AsyncEcho": grpc.unary_unary_rpc_method_handler(_async_echo, _same, _same),
        "Hold": grpc.unary_stream_rpc_method_handler(_hold, _same, _same),
        "BlockingHold": grpc.unary_stream_rpc_method_handler(_blocking_hold, _same, _same),
        "WhoAmI": grpc.unary_unary_rpc_method_handler(_whoami, _same, _same),
        "Concat": grpc.stream_unary_rpc_method_handler(_concat, _same, _same),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture
def aio_channel() -> Iterator[grpc.Channel]:
    running = build_aio_server("127.0.0.1:0", [ServiceBinding(SERVICE, _add, None)], max_workers=2)
    running.start()
    channel = insecure_channel(f"127.0.0.1:{running.port}")
    yield channel
    channel.close()
    running.stop(None)


def _method(channel: grpc.Channel, name: str):
    return channel.unary_unary(f"/{SERVICE}/{name}")


def test_async_methods_map_errors_like_sync_ones(aio_channel: grpc.Channel) -> None:
    assert _method(aio_channel, "AsyncEcho")(b"hi", timeout=5) == b"hi"
    with pytest.raises(grpc.RpcError) as invalid:
        _method(aio_channel, "AsyncEcho")(b"invalid", timeout=5)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert invalid.value.details() == "name: must not be empty"
    with pytest.raises(grpc.RpcError) as crash:
        _method(aio_channel, "AsyncEcho")(b"crash", timeout=5)
    assert crash.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in crash.value.details()
    assert f"/{SERVICE}/AsyncEcho" in crash.value.details()


def test_sync_methods_on_threads_see_the_request_id(aio_channel: grpc.Channel) -> None:
    answer = _method(aio_channel, "WhoAmI")(b"", timeout=5, metadata=(("x-request-id", "r-42"),))
    assert answer == b"r-42"


def test_sync_client_streaming_methods_read_the_stream(aio_channel: grpc.Channel) -> None:
    concat = aio_channel.stream_unary(f"/{SERVICE}/Concat")
    assert concat(iter([b"a", b"b", b"c"]), timeout=5) == b"abc"


def test_unparsable_requests_answer_invalid_argument_on_aio(aio_channel: grpc.Channel) -> None:
    good = registry_pb2.GetModelRequest(name="m").SerializeToString()
    assert _method(aio_channel, "AsyncParse")(good, timeout=5) == b"m"
    upload = aio_channel.stream_unary(f"/{SERVICE}/StreamParse")
    assert upload(iter([good, good]), timeout=5) == b"m,m"
    for call in (
        lambda: _method(aio_channel, "AsyncParse")(b"\xff\xff", timeout=5),
        lambda: upload(iter([good, b"\xff\xff"]), timeout=5),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "modelregistry.v1.GetModelRequest" in info.value.details()


def _open_streams(channel: grpc.Channel, method: str, count: int) -> list:
    streams = [channel.unary_stream(f"/{SERVICE}/{method}")(b"", timeout=30) for _ in range(count)]
    for stream in streams:
        assert next(stream) == b"open"
    return streams


def test_open_async_streams_hold_no_thread(aio_channel: grpc.Channel) -> None:
    streams = _open_streams(aio_channel, "Hold", 50)  # 25 times the 2 worker threads
    try:
        started = time.perf_counter()
        for _ in range(20):
            assert len(_method(aio_channel, "WhoAmI")(b"", timeout=5)) == 32  # a fresh id
        assert time.perf_counter() - started < 2
    finally:
        for stream in streams:
            stream.cancel()


def test_blocking_sync_streams_on_aio_still_answer_unary_calls(aio_channel: grpc.Channel) -> None:
    # A sync stream holds a worker only while it produces a message, not while open.
    streams = _open_streams(aio_channel, "BlockingHold", 1)
    try:
        assert _method(aio_channel, "AsyncEcho")(b"still here", timeout=5) == b"still here"
    finally:
        for stream in streams:
            stream.cancel()


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_an_idle_channel_outlives_many_keepalive_pings_without_goaway(
    kind: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MREG_GRPC_KEEPALIVE_SECONDS", "1")
    monkeypatch.setenv("GRPC_VERBOSITY", "error")
    build = build_server if kind == "sync" else build_aio_server
    running = build("127.0.0.1:0", [ServiceBinding(SERVICE, _add, None)])
    running.start()
    channel = insecure_channel(f"127.0.0.1:{running.port}")
    states: list[grpc.ChannelConnectivity] = []
    try:
        assert _method(channel, "WhoAmI")(b"", timeout=5)
        channel.subscribe(states.append)
        # Idle for 6 pings: the old server options dropped the connection after 3
        # (GOAWAY ENHANCE_YOUR_CALM too_many_pings) and the channel went IDLE.
        time.sleep(6)
        assert _method(channel, "WhoAmI")(b"", timeout=5)
    finally:
        channel.close()
        running.stop(None)
    assert set(states) == {grpc.ChannelConnectivity.READY}
    assert "too_many_pings" not in capfd.readouterr().err


def test_health_watch_on_an_aio_server_follows_the_status() -> None:
    """grpc's aio health servicer writes Watch answers with context.write from a coroutine,
    not an async generator; it answered INTERNAL ("'coroutine' object is not an iterator")."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    running = build_aio_server("127.0.0.1:0", [ServiceBinding(SERVICE, _add, None)])
    running.start()
    try:
        with insecure_channel(f"127.0.0.1:{running.port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=10
            )
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            running.set_serving(False)
            assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()
    finally:
        running.stop(None)
