"""A peer's error reaches the gateway's caller with its code, message and details intact.

The metadata service here is a real gRPC server whose ``GetModel`` answers the error a
test sets, through the same error interceptor as the real one; the gateway in front of it
is the real gateway.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from modelregistry.metadata.v1 import metadata_pb2_grpc
from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from services.common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    RegistryError,
    ResourceExhausted,
)
from services.common.server import ServiceBinding, build_server, insecure_channel
from services.common.settings import Settings
from services.gateway.app import bindings_for, build_gateway
from tests.conftest import free_port


class ScriptedMetadata(metadata_pb2_grpc.MetadataServiceServicer):
    """Answers ``GetModel`` with ``self.error`` (a RegistryError) or a plain abort."""

    def __init__(self) -> None:
        self.error: RegistryError | None = None
        self.abort: tuple[grpc.StatusCode, str] | None = None

    def GetModel(self, request, context):
        if self.abort is not None:
            context.abort(*self.abort)
        assert self.error is not None
        raise self.error


@pytest.fixture
def scripted(tmp_path) -> Iterator[tuple[ScriptedMetadata, registry_pb2_grpc.RegistryServiceStub]]:
    peer = ScriptedMetadata()
    metadata = build_server(
        "127.0.0.1:0",
        [
            ServiceBinding(
                "modelregistry.metadata.v1.MetadataService",
                metadata_pb2_grpc.add_MetadataServiceServicer_to_server,
                peer,
            )
        ],
    )
    metadata.start()
    settings = Settings(
        data_dir=tmp_path,
        metadata_address=f"127.0.0.1:{metadata.port}",
        artifacts_address=f"127.0.0.1:{free_port()}",
        resolve_cache_poll_seconds=0,
    )
    service = build_gateway(settings)
    gateway = build_server("127.0.0.1:0", bindings_for(service))
    gateway.start()
    channel = insecure_channel(f"127.0.0.1:{gateway.port}")
    yield peer, registry_pb2_grpc.RegistryServiceStub(channel)
    channel.close()
    gateway.stop(grace=None)
    service.peers.close()
    metadata.stop(grace=None)


ERRORS = [
    InvalidArgument.field("name", "expected 'models/{model}', got 'x/y'", metadata={"n": "1"}),
    NotFound("model 'models/fraud' does not exist", metadata={"model": "fraud"}),
    FailedPrecondition(
        "2 gates failed",
        reason="GATES_FAILED",
        precondition_violations=[
            PreconditionViolation("METRIC", "auc", "auc 0.8 is below 0.9"),
            PreconditionViolation("APPROVAL", "approvals", "needs 1 approval"),
        ],
    ),
    ResourceExhausted(
        "alice has 64 open streams, the limit", reason="STREAM_LIMIT", metadata={"limit": "64"}
    ),
    InvalidArgument(
        "two fields are wrong",
        field_violations=[FieldViolation("a", "is bad"), FieldViolation("b", "is worse")],
    ),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.code.name)
def test_a_peers_error_passes_through_the_gateway_unchanged(scripted, error: RegistryError) -> None:
    peer, gateway = scripted
    peer.error = error
    with pytest.raises(grpc.RpcError) as info:
        gateway.GetModel(registry_pb2.GetModelRequest(name="models/fraud"), timeout=10)
    assert info.value.code() == error.code
    assert info.value.details() == error.message
    assert rpc_status.from_call(info.value) == error.to_status_proto()


def test_a_peers_plain_status_keeps_its_code_and_message(scripted) -> None:
    peer, gateway = scripted
    peer.abort = (grpc.StatusCode.RESOURCE_EXHAUSTED, "too many requests from the gateway")
    with pytest.raises(grpc.RpcError) as info:
        gateway.GetModel(registry_pb2.GetModelRequest(name="models/fraud"), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info.value.details() == "too many requests from the gateway"
    status = rpc_status.from_call(info.value)
    assert status is not None and status.details == []


def test_a_peers_oversized_error_arrives_bounded_with_its_code(scripted) -> None:
    peer, gateway = scripted
    peer.error = InvalidArgument.field("name", "got " + "n" * 50_000, metadata={"v": "m" * 9000})
    with pytest.raises(grpc.RpcError) as info:
        gateway.GetModel(registry_pb2.GetModelRequest(name="models/fraud"), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == ("name: got " + "n" * 50_000)[:1021] + "\u2026"
    detail = error_details_pb2.ErrorInfo()
    assert rpc_status.from_call(info.value).details[0].Unpack(detail)
    assert detail.metadata["v"] == "m" * 509 + "\u2026"
