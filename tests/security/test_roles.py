"""Roles on the real services, with auth on as `mreg serve --tokens-file` runs them."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from services.common.auth import Role, TokenStore
from services.common.server import insecure_channel


@pytest.fixture
def secured(tmp_path: Path):
    from services.embedded import build_embedded

    tokens = TokenStore(tmp_path / "tokens.json")
    registry = build_embedded(
        tmp_path / "data",
        gateway_port=0,
        artifacts_port=0,
        metadata_port=0,
        tokens_file=tokens.path,
    )
    for server in registry.servers:
        server.start()
    gateway = insecure_channel(registry.address(registry.gateway))
    artifacts = insecure_channel(registry.address(registry.artifacts))
    yield (
        tokens,
        registry_pb2_grpc.RegistryServiceStub(gateway),
        artifacts_pb2_grpc.ArtifactServiceStub(artifacts),
    )
    gateway.close()
    artifacts.close()
    for server in reversed(registry.servers):
        server.stop(grace=None)


def _as(tokens: TokenStore, principal: str, *roles: Role):
    token, _ = tokens.create(principal, list(roles))
    return (("authorization", f"Bearer {token}"),)


def _denied(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    return info.value


def _upload(stub, data: bytes, metadata):
    def requests():
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
        )
        yield artifacts_pb2.UploadBlobRequest(data=data)
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    return stub.UploadBlob(requests(), timeout=10, metadata=metadata)


def test_a_reader_cannot_push_register_promote_or_collect_garbage(secured) -> None:
    tokens, gateway, artifacts = secured
    reader = _as(tokens, "rita", Role.READER)
    writer = _as(tokens, "will", Role.WRITER)
    error = _denied(lambda: _upload(artifacts, b"weights", reader))
    assert error.details() == "rita may not call UploadBlob: it needs the writer role"
    digest = _upload(artifacts, b"weights", writer).blob.digest
    request = registry_pb2.RegisterModelVersionRequest(
        parent="models/m",
        model_version=resources_pb2.ModelVersion(version="1.0.0", artifact_digest=digest),
        request_id=str(uuid.uuid4()),
    )
    error = _denied(lambda: gateway.RegisterModelVersion(request, timeout=10, metadata=reader))
    assert error.details() == "rita may not call RegisterModelVersion: it needs the writer role"
    version = gateway.RegisterModelVersion(request, timeout=10, metadata=writer).model_version
    assert version.created_by == "will"
    promote = registry_pb2.PromoteModelVersionRequest(
        name=version.name, target_stage=resources_pb2.STAGE_STAGING
    )
    error = _denied(lambda: gateway.PromoteModelVersion(promote, timeout=10, metadata=reader))
    assert "it needs the writer role" in error.details()
    collect = artifacts_pb2.CollectGarbageRequest(grace_period=Duration(seconds=3600))
    error = _denied(lambda: artifacts.CollectGarbage(collect, timeout=10, metadata=writer))
    assert error.details() == "will may not call CollectGarbage: it needs the admin role"


def test_clients_cannot_pin_blobs_themselves(secured) -> None:
    tokens, _, artifacts = secured
    writer = _as(tokens, "will", Role.WRITER)
    digest = _upload(artifacts, b"weights", writer).blob.digest
    pin = artifacts_pb2.PinBlobRequest(digest=digest, holder="models/m/versions/9.9.9")
    error = _denied(lambda: artifacts.PinBlob(pin, timeout=10, metadata=writer))
    assert error.details() == "will may not call PinBlob: it needs the service role"


def test_without_a_token_nothing_but_health_answers(secured) -> None:
    _, gateway, _ = secured
    with pytest.raises(grpc.RpcError) as info:
        gateway.GetServerInfo(registry_pb2.GetServerInfoRequest(), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
