"""The vertical slice, end to end through real gRPC between the three services.

Upload a file to the artifact service (plain client streaming), register it through the
gateway, resolve ``name:version`` through the gateway and download the same bytes.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from services.common.server import insecure_channel
from services.common.settings import Settings

MESSAGE = 1024 * 1024


class Registry:
    """Stubs for a running gateway and artifact service."""

    def __init__(self, gateway: str, artifacts: str) -> None:
        self.channels = [insecure_channel(gateway), insecure_channel(artifacts)]
        self.gateway = registry_pb2_grpc.RegistryServiceStub(self.channels[0])
        self.artifacts = artifacts_pb2_grpc.ArtifactServiceStub(self.channels[1])

    def upload(self, data: bytes) -> resources_pb2.Digest:
        def requests() -> Iterator[artifacts_pb2.UploadBlobRequest]:
            yield artifacts_pb2.UploadBlobRequest(
                header=artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()), write_offset=0)
            )
            for start in range(0, len(data), MESSAGE):
                yield artifacts_pb2.UploadBlobRequest(data=data[start : start + MESSAGE])
            yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

        response = self.artifacts.UploadBlob(requests(), timeout=60)
        assert response.complete
        return response.blob.digest

    def download(self, digest: resources_pb2.Digest) -> bytes:
        stream = self.artifacts.ReadBlob(artifacts_pb2.ReadBlobRequest(digest=digest), timeout=60)
        return b"".join(piece.data for piece in stream)

    def register(self, model: str, digest: resources_pb2.Digest, **fields: object):
        version = fields.pop("version", "")
        return self.gateway.RegisterModelVersion(
            registry_pb2.RegisterModelVersionRequest(
                parent=f"models/{model}",
                model_version=resources_pb2.ModelVersion(
                    version=version, artifact_digest=digest, **fields
                ),
                request_id=str(uuid.uuid4()),
            ),
            timeout=30,
        ).model_version

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


@pytest.fixture
def registry(database_url: str, tmp_path: Path, start_server) -> Iterator[Registry]:
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    migrate(database_url)
    base = Settings(data_dir=tmp_path, database_url=database_url)
    metadata = start_server(*metadata_bindings(base))
    artifacts = start_server(*artifact_bindings(base))
    gateway = start_server(
        *gateway_bindings(
            base.model_copy(update={"metadata_address": metadata, "artifacts_address": artifacts})
        )
    )
    client = Registry(gateway, artifacts)
    yield client
    client.close()


def test_upload_register_resolve_download_round_trip(registry: Registry) -> None:
    data = os.urandom(3 * MESSAGE + 12345)
    digest = registry.upload(data)
    assert digest.hash == hashlib.sha256(data).hexdigest()
    assert digest.size_bytes == len(data)

    version = registry.register("fraud-detector", digest, version="1.0.0", framework="pytorch")
    assert version.name == "models/fraud-detector/versions/1.0.0"
    assert version.state == resources_pb2.VERSION_STATE_READY

    resolved = registry.gateway.ResolveModelVersion(
        registry_pb2.ResolveModelVersionRequest(reference="fraud-detector:1.0.0"), timeout=10
    ).model_version
    assert resolved.name == version.name
    assert resolved.artifact_digest == digest
    downloaded = registry.download(resolved.artifact_digest)
    assert hashlib.sha256(downloaded).hexdigest() == digest.hash


def test_server_info_points_clients_at_the_artifact_service(registry: Registry) -> None:
    info = registry.gateway.GetServerInfo(registry_pb2.GetServerInfoRequest(), timeout=5)
    assert info.max_message_bytes == 16 * 1024 * 1024
    assert info.preferred_message_bytes == 1024 * 1024
    assert info.artifact_service_address


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _field(error: grpc.RpcError) -> str:
    for detail in rpc_status.from_call(error).details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            return bad_request.field_violations[0].field
    raise AssertionError("no BadRequest detail")


@pytest.mark.parametrize("model", ["Fraud", "a/b", "a..b", "-x", ""])
def test_register_with_a_bad_model_name_is_invalid_argument(registry: Registry, model: str) -> None:
    digest = resources_pb2.Digest(hash="0" * 64, size_bytes=1)
    error = _error(lambda: registry.register(model, digest))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _field(error) == "parent"
    assert error.details().startswith("parent: ")


def test_register_with_a_malformed_digest_is_invalid_argument(registry: Registry) -> None:
    error = _error(lambda: registry.register("m", resources_pb2.Digest(hash="xyz", size_bytes=1)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _field(error) == "model_version.artifact_digest.hash"
    assert "expected 64 lower-case hexadecimal characters" in error.details()


def test_register_with_a_bad_version_is_invalid_argument(registry: Registry) -> None:
    digest = registry.upload(b"weights")
    error = _error(lambda: registry.register("m", digest, version="1.0"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _field(error) == "model_version.version"
    assert "1.0" in error.details()


def test_register_an_artifact_that_was_never_uploaded_fails_precondition(
    registry: Registry,
) -> None:
    missing = resources_pb2.Digest(hash="ab" * 32, size_bytes=10)
    error = _error(lambda: registry.register("m", missing, version="1.0.0"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"cannot register sha256:{'ab' * 32}" in error.details()
    failed = registry.gateway.GetModelVersion(
        registry_pb2.GetModelVersionRequest(name="models/m/versions/1.0.0"), timeout=5
    ).model_version
    assert failed.state == resources_pb2.VERSION_STATE_FAILED


def test_register_with_the_wrong_size_fails_precondition(registry: Registry) -> None:
    digest = registry.upload(b"twelve bytes")
    wrong = resources_pb2.Digest(hash=digest.hash, size_bytes=13)
    error = _error(lambda: registry.register("m", wrong, version="1.0.0"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "has 12 bytes, the request states 13" in error.details()


@pytest.mark.parametrize(
    ("reference", "message"),
    [("nobody:1.0.0", "nobody"), ("m:9.9.9", "9.9.9")],
)
def test_resolving_unknown_models_and_versions_is_not_found(
    registry: Registry, reference: str, message: str
) -> None:
    registry.register("m", registry.upload(b"w"), version="1.0.0")
    error = _error(
        lambda: registry.gateway.ResolveModelVersion(
            registry_pb2.ResolveModelVersionRequest(reference=reference), timeout=5
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert message in error.details()


def test_downloading_an_unknown_digest_is_not_found(registry: Registry) -> None:
    error = _error(lambda: registry.download(resources_pb2.Digest(hash="cd" * 32, size_bytes=5)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "cd" * 32 in error.details()
