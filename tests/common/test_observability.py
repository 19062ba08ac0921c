"""Every RPC is counted and timed by method and code; logs carry its request id."""

from __future__ import annotations

import json
import logging
import urllib.request

import grpc
import pytest
from prometheus_client import REGISTRY

from services.common.logs import JsonFormatter
from services.common.observability import ContextFilter, start_metrics_server
from tests.common.echo import SERVICE, call

METHOD = f"/{SERVICE}/Echo"


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_rpcs_are_counted_by_method_and_code(channel: grpc.Channel) -> None:
    ok = _count("mreg_rpc_requests_total", method=METHOD, code="OK")
    bad = _count("mreg_rpc_requests_total", method=METHOD, code="INVALID_ARGUMENT")
    internal = _count("mreg_rpc_errors_total", method=METHOD, code="INTERNAL")
    timed = _count("mreg_rpc_duration_seconds_count", method=METHOD)
    call(channel, b"hello")
    for payload in (b"invalid", b"crash"):
        with pytest.raises(grpc.RpcError):
            call(channel, payload)
    assert _count("mreg_rpc_requests_total", method=METHOD, code="OK") == ok + 1
    assert _count("mreg_rpc_requests_total", method=METHOD, code="INVALID_ARGUMENT") == bad + 1
    assert _count("mreg_rpc_errors_total", method=METHOD, code="INTERNAL") == internal + 1
    assert _count("mreg_rpc_duration_seconds_count", method=METHOD) == timed + 3
    assert _count("mreg_rpc_in_flight", method=METHOD) == 0


def test_streaming_rpcs_are_counted_when_the_stream_ends(channel: grpc.Channel) -> None:
    method = f"/{SERVICE}/Stream"
    before = _count("mreg_rpc_requests_total", method=method, code="INVALID_ARGUMENT")
    with pytest.raises(grpc.RpcError):
        list(channel.unary_stream(method)(b"x", timeout=5))
    after = _count("mreg_rpc_requests_total", method=method, code="INVALID_ARGUMENT")
    assert after == before + 1


def test_log_records_carry_the_request_id_of_the_rpc(
    channel: grpc.Channel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.addFilter(ContextFilter())
    with pytest.raises(grpc.RpcError):
        _call_with_id(channel, b"crash", "req-42")
    record = next(r for r in caplog.records if "unexpected error" in r.getMessage())
    assert record.request_id == "req-42"
    document = json.loads(JsonFormatter().format(record))
    assert document["request_id"] == "req-42"
    assert document["level"] == "ERROR"
    assert "secret internal detail" in document["exception"]


def _call_with_id(channel: grpc.Channel, payload: bytes, request_id: str) -> bytes:
    return channel.unary_unary(METHOD)(payload, timeout=5, metadata=(("x-request-id", request_id),))


def test_metrics_endpoint_serves_prometheus_text(channel: grpc.Channel) -> None:
    call(channel, b"hello")
    port = start_metrics_server(0)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert f'mreg_rpc_requests_total{{code="OK",method="{METHOD}"}}' in body


def test_json_formatter_without_context_still_formats() -> None:
    record = logging.makeLogRecord({"msg": "hello %s", "args": ("x",), "levelname": "INFO"})
    assert json.loads(JsonFormatter().format(record))["message"] == "hello x"
