"""HTTP/JSON passes on answers as large as the gRPC API sends (16 MiB), not only up to
grpc's default receive limit (4 MiB): a real gRPC server on loopback answers
GetServerInfo with a 5 MiB field, a real HTTP listener transcodes it."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest
from starlette.applications import Starlette

from modelregistry.v1 import registry_pb2
from services.common.http import start_http
from services.common.server import ServiceBinding, build_aio_server
from services.gateway.http.json_api import SERVICE, build_json_api

BIG = 5 * 1024 * 1024


def _server_info(request: registry_pb2.GetServerInfoRequest, context) -> bytes:
    return registry_pb2.GetServerInfoResponse(server_version="v" * BIG).SerializeToString()


def _add(_servicer: object, server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(
        _server_info, registry_pb2.GetServerInfoRequest.FromString, lambda b: b
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, {"GetServerInfo": handler}),)
    )


@pytest.fixture
def http_url() -> Iterator[str]:
    running = build_aio_server("127.0.0.1:0", [ServiceBinding(SERVICE.full_name, _add, None)])
    running.start()
    api = build_json_api(f"127.0.0.1:{running.port}")
    http = start_http(Starlette(routes=api.routes()), "127.0.0.1:0")
    try:
        yield http.url
    finally:
        http.stop(None)
        running.stop(None)


def test_an_answer_over_4_mib_reaches_the_http_client(http_url: str) -> None:
    answer = httpx.get(f"{http_url}/v1/serverInfo", timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    assert len(answer.json()["serverVersion"]) == BIG
