"""HTTP/JSON on a gateway whose ports speak only mutual TLS: ``python -m services.gateway``
as a real process, its certificate naming ``localhost`` only (not 127.0.0.1), holding no
client certificate, both ports on port 0.

HTTP/JSON dials the gateway's own gRPC server through a private Unix socket, not its TCP
port: over TCP it would need a certificate naming 127.0.0.1, a client certificate and the
CA of its own certificate, and ``127.0.0.1:0`` names no port to dial.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import ssl
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc
from tests.tlsutil import Pki, make_pki

ROOT = Path(__file__).resolve().parents[2]
RPC_LISTENING = re.compile(r"gateway listening on 127\.0\.0\.1:(\d+)")
HTTP_LISTENING = re.compile(r"gateway http listening on (https://127\.0\.0\.1:\d+)")
PRIVATE_SOCKET = re.compile(r"HTTP/JSON calls the gateway's gRPC server at unix:(\S+)")


@dataclass
class TlsGateway:
    """The gateway process, where it listens and the tokens it accepts."""

    pki: Pki
    rpc_port: int
    https_url: str
    socket: Path
    artifacts: str
    tokens: dict[str, str]
    process: subprocess.Popen

    def http(self, who: str | None) -> httpx.Client:
        """An HTTPS client presenting the client certificate (mutual TLS), by ``localhost``
        (the only name the server certificate carries)."""
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        url = self.https_url.replace("127.0.0.1", "localhost")
        return httpx.Client(base_url=url, headers=headers, verify=context, timeout=30)


def _upload(artifacts: str, token: str, data: bytes) -> dict[str, str]:
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(artifacts) as channel:
        stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
        requests = [
            artifacts_pb2.UploadBlobRequest(
                header=artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
            ),
            artifacts_pb2.UploadBlobRequest(data=data),
            artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish()),
        ]
        digest = stub.UploadBlob(iter(requests), metadata=metadata, timeout=30).blob.digest
    return {"hash": digest.hash, "sizeBytes": str(digest.size_bytes)}


def _wait_started(pki: Pki, port: int) -> None:
    """Until the gateway's mutual-TLS gRPC port answers (it binds after logging)."""
    credentials = grpc.ssl_channel_credentials(
        pki.ca.read_bytes(), pki.client_key.read_bytes(), pki.client_cert.read_bytes()
    )
    options = [("grpc.ssl_target_name_override", "localhost")]
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options) as channel:
        health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=60, wait_for_ready=True
        )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsGateway]:
    """Metadata and artifacts in this process (plaintext, loopback, a service token), the
    gateway as its own process with mutual TLS on both of its ports."""
    from services.artifacts.access import METHOD_ROLES as ARTIFACT_ROLES
    from services.artifacts.app import build_server as build_artifact_server
    from services.artifacts.app import build_service as artifact_service
    from services.common.auth import Role, TokenStore, auth_interceptors
    from services.common.server import build_server
    from services.common.settings import Settings
    from services.metadata.access import METHOD_ROLES as METADATA_ROLES
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    root = tmp_path_factory.mktemp("jsontls")
    pki = make_pki(root / "pki", server_ip=False)
    store = TokenStore(root / "tokens.json")
    tokens = {
        "writer": store.create("ci", [Role.WRITER])[0],
        "reader": store.create("bob", [Role.READER])[0],
    }
    service_token = uuid.uuid4().hex
    settings = Settings(
        data_dir=root / "data",
        auth_tokens_file=root / "tokens.json",
        service_token=service_token,  # type: ignore[arg-type]  # pydantic makes it a SecretStr
    )
    migrate(settings.resolved_database_url)
    metadata = build_server(
        "127.0.0.1:0",
        metadata_bindings(settings),
        interceptors=auth_interceptors(settings, METADATA_ROLES, services_only=True),
    )
    artifacts = build_artifact_server(
        "127.0.0.1:0",
        artifact_service(settings),
        settings,
        interceptors=auth_interceptors(settings, ARTIFACT_ROLES),
    )
    servers = [metadata, artifacts]
    for server in servers:
        server.start()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}:{ROOT / 'clients/python'}",
        "MREG_DATA_DIR": str(root / "data"),
        "MREG_GATEWAY_LISTEN": "127.0.0.1:0",
        "MREG_GATEWAY_HTTP_LISTEN": "127.0.0.1:0",
        "MREG_METADATA_ADDRESS": f"127.0.0.1:{metadata.port}",
        "MREG_ARTIFACTS_ADDRESS": f"127.0.0.1:{artifacts.port}",
        "MREG_AUTH_TOKENS_FILE": str(root / "tokens.json"),
        "MREG_SERVICE_TOKEN": service_token,
        "MREG_TLS_CERT_FILE": str(pki.server_cert),
        "MREG_TLS_KEY_FILE": str(pki.server_key),
        "MREG_TLS_CLIENT_CA_FILE": str(pki.ca),  # clients need a certificate
    }
    # No MREG_TLS_CA_FILE nor client certificate: the gateway calls its peers in plaintext.
    process = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        while not RPC_LISTENING.search("".join(seen)) and (line := process.stdout.readline()):
            seen.append(line)
        out = "".join(seen)
        found = [p.search(out) for p in (RPC_LISTENING, HTTP_LISTENING, PRIVATE_SOCKET)]
        assert all(found), out
        rpc, https, socket = (m.group(1) for m in found if m)
        _wait_started(pki, int(rpc))
        yield TlsGateway(
            pki,
            int(rpc),
            https,
            Path(socket),
            f"127.0.0.1:{artifacts.port}",
            tokens,
            process,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
        for server in reversed(servers):
            server.stop(grace=None)


def test_http_json_works_on_a_mutual_tls_gateway(gateway: TlsGateway) -> None:
    data = os.urandom(1024)
    digest = _upload(gateway.artifacts, gateway.tokens["writer"], data)
    assert digest["hash"] == hashlib.sha256(data).hexdigest()
    body = {"modelVersion": {"version": "1.0.0", "artifactDigest": digest}}
    with gateway.http("writer") as http:
        created = http.post("/v1/models/tls-model/versions", json=body)
    assert created.status_code == 200, created.text
    with gateway.http("reader") as http:
        model = http.get("/v1/models/tls-model")
        version = http.get("/v1/models/tls-model/versions/1.0.0")
    assert model.status_code == 200, model.text
    assert model.json()["model"]["name"] == "models/tls-model"
    assert version.json()["modelVersion"]["state"] == "VERSION_STATE_READY"


def test_tokens_and_roles_still_apply_over_the_private_socket(gateway: TlsGateway) -> None:
    with gateway.http(None) as http:
        missing = http.get("/v1/models")
    assert missing.status_code == 401, missing.text
    assert missing.headers["www-authenticate"] == 'Bearer realm="model registry"'
    body = {"modelVersion": {"version": "1.0.0", "artifactDigest": {"hash": "0" * 64}}}
    with gateway.http("reader") as http:
        refused = http.post("/v1/models/by-a-reader/versions", json=body)
    assert refused.status_code == 403, refused.text
    assert "writer" in refused.json()["message"]


def test_the_private_socket_is_in_a_directory_only_its_user_may_enter(
    gateway: TlsGateway,
) -> None:
    assert stat.S_ISSOCK(gateway.socket.stat().st_mode)
    directory = gateway.socket.parent.stat()
    assert stat.S_IMODE(directory.st_mode) == 0o700
    assert directory.st_uid == os.getuid()


def test_a_client_without_a_certificate_is_refused(gateway: TlsGateway) -> None:
    context = ssl.create_default_context(cafile=str(gateway.pki.ca))
    url = gateway.https_url.replace("127.0.0.1", "localhost")
    headers = {"Authorization": f"Bearer {gateway.tokens['reader']}"}
    refused = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)
    with (
        httpx.Client(base_url=url, verify=context, timeout=30) as http,
        pytest.raises(refused),
    ):
        http.get("/v1/models", headers=headers)


def test_stopping_the_gateway_removes_the_private_socket(gateway: TlsGateway) -> None:
    """Last in this module: it stops the process."""
    gateway.process.send_signal(signal.SIGTERM)
    out, _ = gateway.process.communicate(timeout=30)
    assert gateway.process.returncode == 0, out
    assert not gateway.socket.parent.exists()
