"""A registry whose public ports (gateway, artifacts) speak only TLS, optionally requiring
client certificates, with mutual TLS to the metadata service behind it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.common.server import build_server
from services.common.settings import Settings
from services.common.tls import server_credentials
from tests.tlsutil import Pki, make_pki


@dataclass(frozen=True)
class TlsRegistry:
    """The certificates and the public addresses of a running TLS registry."""

    pki: Pki
    gateway: str
    artifacts: str


@contextmanager
def serve_tls(directory: Path, *, mutual: bool) -> Iterator[TlsRegistry]:
    """Start metadata (mTLS), artifacts and gateway (TLS; mTLS when ``mutual``) on loopback."""
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    pki = make_pki(directory / "pki")
    database = f"sqlite:///{directory / 'metadata.db'}"
    migrate(database)
    settings = Settings(
        data_dir=directory,
        database_url=database,
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca,
        tls_ca_file=pki.ca,
        tls_client_cert_file=pki.client_cert,
        tls_client_key_file=pki.client_key,
    )
    public = settings if mutual else settings.model_copy(update={"tls_client_ca_file": None})
    servers = []

    def start(bindings, credential_settings: Settings) -> str:
        server = build_server(
            "127.0.0.1:0", bindings, credentials=server_credentials(credential_settings)
        )
        server.start()
        servers.append(server)
        return f"127.0.0.1:{server.port}"

    try:
        metadata = start(metadata_bindings(settings), settings)
        artifacts = start(artifact_bindings(settings), public)
        peers = {"metadata_address": metadata, "artifacts_address": artifacts}
        gateway = start(gateway_bindings(settings.model_copy(update=peers)), public)
        yield TlsRegistry(pki, gateway, artifacts)
    finally:
        for server in reversed(servers):
            server.stop(grace=None)
