"""A registry assembled from separate servers, so tests can stop and restart one of them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from modelregistry.metadata.v1 import metadata_pb2_grpc
from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from services.common.auth import AuthInterceptor, Role, TokenStore
from services.common.server import RunningServer, build_server, insecure_channel
from services.common.settings import Settings
from services.gateway.policy import Policy, parse_policy

if TYPE_CHECKING:
    from services.artifacts.service import ArtifactService

MESSAGE = 1024 * 1024


@dataclass
class Stack:
    """Metadata, artifact and gateway servers with stubs; ``stop``/``restart`` one of them."""

    settings: Settings
    servers: dict[str, RunningServer] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    gateway_service: object = None
    artifact_service: ArtifactService | None = None
    policy: Policy = field(default_factory=Policy)
    tokens: TokenStore | None = None
    bindings: dict[str, list] = field(default_factory=dict)

    def start(self, which: str) -> None:
        from services.artifacts.app import bindings_for as artifact_bindings
        from services.artifacts.app import build_service
        from services.gateway.access import METHOD_ROLES, model_of
        from services.gateway.app import attach_gateway, bindings_for, build_gateway
        from services.metadata.app import build_bindings as metadata_bindings

        port = self.ports.get(which, 0)
        interceptors = []
        if which == "metadata":
            bindings = metadata_bindings(self.settings)
            self.bindings["metadata"] = bindings
        elif which == "artifacts":
            self.artifact_service = build_service(self.settings)
            bindings = artifact_bindings(self.artifact_service)
        else:
            self.gateway_service = build_gateway(self.settings)
            bindings = bindings_for(self.gateway_service, self.policy)
            if self.tokens is not None:
                interceptors = [AuthInterceptor(self.tokens, METHOD_ROLES, model_of=model_of)]
        server = build_server(f"127.0.0.1:{port}", bindings, interceptors=interceptors)
        if which == "gateway":
            attach_gateway(server, self.gateway_service, interval=0.2)
        server.start()
        self.servers[which] = server
        self.ports[which] = server.port

    def stop(self, which: str) -> None:
        server = self.servers.pop(which)
        server.stop(grace=None)
        # Release the service's database connections (PostgreSQL allows only so many, and
        # a stopped test's pools would otherwise stay open until the session ends).
        if which == "artifacts" and self.artifact_service is not None:
            self.artifact_service.close()
        elif which == "metadata":
            for binding in self.bindings.pop("metadata", []):
                binding.servicer.service.db.dispose()

    def address(self, which: str) -> str:
        return f"127.0.0.1:{self.ports[which]}"

    def restart_gateway(self, policy: str = "", auth: bool = False) -> None:
        """Run the gateway again with a policy (YAML text) and, optionally, bearer tokens."""
        self.policy = parse_policy(policy) if policy else Policy()
        if auth and self.tokens is None:
            self.tokens = TokenStore(self.settings.data_dir / "tokens.json")
        self.stop("gateway")
        self.start("gateway")

    def token(self, principal: str, *roles: Role) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying a new bearer token for ``principal``."""
        assert self.tokens is not None, "restart_gateway(auth=True) first"
        token, _ = self.tokens.create(principal, list(roles))
        return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def stack(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    from services.metadata.app import migrate
    from tests.conftest import free_port

    migrate(database_url)
    ports = {"metadata": free_port(), "artifacts": free_port()}
    # The artifact index on the same kind of database as metadata: the embedded SQLite
    # default, or a fresh PostgreSQL database of its own.
    index_url = ""
    if database_url.startswith("postgresql"):
        index_url = request.getfixturevalue("postgres_database_factory")()
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        artifacts_database_url=index_url,
        metadata_address=f"127.0.0.1:{ports['metadata']}",
        artifacts_address=f"127.0.0.1:{ports['artifacts']}",
    )
    registry = Stack(settings, ports=ports)
    for which in ("metadata", "artifacts", "gateway"):
        registry.start(which)
    yield registry
    for which in list(registry.servers):
        registry.stop(which)


@pytest.fixture
def gateway(stack: Stack) -> Iterator[registry_pb2_grpc.RegistryServiceStub]:
    with insecure_channel(stack.address("gateway")) as channel:
        yield registry_pb2_grpc.RegistryServiceStub(channel)


@pytest.fixture
def artifacts(stack: Stack) -> Iterator[artifacts_pb2_grpc.ArtifactServiceStub]:
    with insecure_channel(stack.address("artifacts")) as channel:
        yield artifacts_pb2_grpc.ArtifactServiceStub(channel)


@pytest.fixture
def metadata(stack: Stack) -> Iterator[metadata_pb2_grpc.MetadataServiceStub]:
    with insecure_channel(stack.address("metadata")) as channel:
        yield metadata_pb2_grpc.MetadataServiceStub(channel)


def upload(stub: artifacts_pb2_grpc.ArtifactServiceStub, data: bytes) -> resources_pb2.Digest:
    """Upload bytes through the plain streaming path; returns their digest."""

    def requests():
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
        )
        for start in range(0, len(data), MESSAGE):
            yield artifacts_pb2.UploadBlobRequest(data=data[start : start + MESSAGE])
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    return stub.UploadBlob(requests(), timeout=30).blob.digest


def register_request(
    model: str, digest: resources_pb2.Digest, version: str = "", request_id: str = "", **fields
) -> registry_pb2.RegisterModelVersionRequest:
    """A registration request with a fresh request id unless one is given."""
    return registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}",
        model_version=resources_pb2.ModelVersion(version=version, artifact_digest=digest, **fields),
        request_id=request_id or str(uuid.uuid4()),
    )


def record_outbox_readers(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of the thread of every ``ListEvents`` the gateway sends."""
    peer = stack.gateway_service.peers.metadata
    readers: list[str] = []
    real_call = peer.call

    def call(method, request, **kwargs):
        if method == "ListEvents":
            readers.append(threading.current_thread().name)
        return real_call(method, request, **kwargs)

    monkeypatch.setattr(peer, "call", call)
    return readers
