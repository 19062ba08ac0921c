"""The whole slice over TLS, with mutual TLS between the services, using a throwaway CA."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from services.common.server import build_server, open_channel
from services.common.settings import Settings
from services.common.tls import channel_credentials, server_credentials
from tests.tlsutil import make_pki


@pytest.fixture
def tls_registry(tmp_path: Path):
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    pki = make_pki(tmp_path / "pki")
    database = f"sqlite:///{tmp_path / 'metadata.db'}"
    migrate(database)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database,
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca,  # the backends require client certificates (mTLS)
        tls_ca_file=pki.ca,
        tls_client_cert_file=pki.client_cert,
        tls_client_key_file=pki.client_key,
    )
    servers = []

    def start(bindings, mtls: bool):
        creds_settings = (
            settings if mtls else settings.model_copy(update={"tls_client_ca_file": None})
        )
        server = build_server(
            "127.0.0.1:0", bindings, credentials=server_credentials(creds_settings)
        )
        server.start()
        servers.append(server)
        return f"127.0.0.1:{server.port}"

    metadata = start(metadata_bindings(settings), mtls=True)
    artifacts = start(artifact_bindings(settings), mtls=False)
    gateway = start(
        gateway_bindings(
            settings.model_copy(
                update={"metadata_address": metadata, "artifacts_address": artifacts}
            )
        ),
        mtls=False,
    )
    yield pki, gateway, artifacts, metadata
    for server in servers:
        server.stop(grace=None)


def test_upload_register_resolve_download_over_tls(tls_registry) -> None:
    pki, gateway, artifacts, _ = tls_registry
    client_creds = channel_credentials(Settings(tls_ca_file=pki.ca))
    data = os.urandom(2 * 1024 * 1024 + 3)
    with open_channel(artifacts, client_creds) as a, open_channel(gateway, client_creds) as g:
        artifact_stub = artifacts_pb2_grpc.ArtifactServiceStub(a)
        registry = registry_pb2_grpc.RegistryServiceStub(g)

        def requests():
            yield artifacts_pb2.UploadBlobRequest(
                header=artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
            )
            yield artifacts_pb2.UploadBlobRequest(data=data)
            yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

        digest = artifact_stub.UploadBlob(requests(), timeout=30).blob.digest
        registry.RegisterModelVersion(
            registry_pb2.RegisterModelVersionRequest(
                parent="models/secure",
                model_version=resources_pb2.ModelVersion(version="1.0.0", artifact_digest=digest),
                request_id=str(uuid.uuid4()),
            ),
            timeout=30,
        )
        resolved = registry.ResolveModelVersion(
            registry_pb2.ResolveModelVersionRequest(reference="secure:1.0.0"), timeout=10
        ).model_version
        read = b"".join(
            p.data
            for p in artifact_stub.ReadBlob(
                artifacts_pb2.ReadBlobRequest(digest=resolved.artifact_digest), timeout=30
            )
        )
    assert hashlib.sha256(read).hexdigest() == digest.hash == hashlib.sha256(data).hexdigest()


def test_the_metadata_service_refuses_a_client_without_a_certificate(tls_registry) -> None:
    pki, _, _, metadata = tls_registry
    without_cert = channel_credentials(Settings(tls_ca_file=pki.ca))
    with open_channel(metadata, without_cert) as channel, pytest.raises(grpc.RpcError) as info:
        metadata_pb2_grpc.MetadataServiceStub(channel).GetModel(
            metadata_pb2.GetModelRequest(name="models/secure"), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
