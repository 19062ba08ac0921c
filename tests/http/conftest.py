"""A registry with auth on, its HTTP port serving HTTP/JSON, and an httpx client.

The registry is the embedded one (``mreg serve``'s): real gRPC servers and a real HTTP
listener on loopback ports; HTTP/JSON calls reach the gateway's gRPC port over loopback.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc


@dataclass
class Registry:
    """The running registry: its HTTP base URL, gRPC addresses and tokens by role."""

    url: str
    gateway: str
    artifacts: str
    tokens: dict[str, str]
    #: Stops the HTTP listener (as on shutdown), the gRPC servers staying up.
    stop_http: Callable[[], None]

    def http(self, who: str | None = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def upload(self, data: bytes) -> dict[str, str]:
        """Upload bytes to the artifact service (gRPC); the digest as proto3 JSON."""
        metadata = (("authorization", f"Bearer {self.tokens['writer']}"),)
        with grpc.insecure_channel(self.artifacts) as channel:
            stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
            header = artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
            requests = [
                artifacts_pb2.UploadBlobRequest(header=header),
                artifacts_pb2.UploadBlobRequest(data=data),
                artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish()),
            ]
            digest = stub.UploadBlob(iter(requests), metadata=metadata, timeout=30).blob.digest
        assert digest.hash == hashlib.sha256(data).hexdigest()
        return {"hash": digest.hash, "sizeBytes": str(digest.size_bytes)}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    from services.common.auth import Role, TokenStore
    from services.embedded import build_embedded
    from services.gateway.app import start_background

    root: Path = tmp_path_factory.mktemp("httpjson")
    tokens_file = root / "tokens.json"
    store = TokenStore(tokens_file)
    tokens = {
        "admin": store.create("root", [Role.ADMIN])[0],
        "writer": store.create("ci", [Role.WRITER])[0],
        "reader": store.create("bob", [Role.READER])[0],
        "team-a": store.create("team-a-ci", [Role.WRITER], model_prefix="team-a-")[0],
    }
    embedded = build_embedded(
        root / "data",
        gateway_port=0,
        artifacts_port=0,
        metadata_port=0,
        tokens_file=tokens_file,
        http_port=0,
    )
    for server in embedded.servers:
        server.start()
    embedded.start_http()
    stop_background = start_background(embedded.settings, embedded.gateway_service)
    assert embedded.http is not None
    try:
        yield Registry(
            embedded.http.url,
            embedded.address(embedded.gateway),
            embedded.address(embedded.artifacts),
            tokens,
            embedded.stop_http,
        )
    finally:
        stop_background()
        embedded.stop_http()
        for server in reversed(embedded.servers):
            server.stop(grace=None)
