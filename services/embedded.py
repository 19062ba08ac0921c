"""All three services in one process on embedded defaults (SQLite + local files).

This is what ``mreg serve`` runs: a registry for a laptop or a single box, with no
other service needed. The metadata schema is migrated on start.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from starlette.routing import Mount

from services.artifacts.access import METHOD_ROLES as ARTIFACT_ROLES
from services.common.auth import auth_interceptors, is_loopback
from services.common.grants import grant_secret
from services.common.http import RunningHttp, start_http
from services.common.server import RunningServer, build_server
from services.common.settings import Settings
from services.common.vocabulary import ARTIFACTS_PORT, GATEWAY_PORT, METADATA_PORT
from services.gateway.service import Gateway
from services.metadata.access import METHOD_ROLES as METADATA_ROLES

logger = logging.getLogger(__name__)


@dataclass
class EmbeddedRegistry:
    """The three running servers and where their data lives."""

    gateway: RunningServer
    artifacts: RunningServer
    metadata: RunningServer
    host: str
    settings: Settings
    gateway_service: Gateway
    http_app: Any = None
    http: RunningHttp | None = None

    def start_http(self) -> None:
        """Serve the HTTP port (OCI pull API, blobs under /artifacts), if one was asked for."""
        if self.http_app is not None and self.http is None:
            self.http = start_http(self.http_app, self.settings.gateway_http_listen)

    def stop_http(self) -> None:
        """Stop the HTTP port, letting in-flight requests finish."""
        if self.http is not None:
            self.http.stop()
            self.http = None

    @property
    def servers(self) -> list[RunningServer]:
        """Servers in start order (backends first)."""
        return [self.metadata, self.artifacts, self.gateway]

    def address(self, server: RunningServer) -> str:
        """``host:port`` of one of the servers."""
        return f"{self.host}:{server.port}"

    def headline(self) -> str:
        """The banner's first line: what the registry runs on."""
        if self.settings.resolved_database_url.startswith("sqlite"):
            return "model registry running on embedded defaults (SQLite + local files)"
        return "model registry running on PostgreSQL (MREG_DATABASE_URL) + local files"

    def describe(self) -> str:
        """Where each service listens, where data lives, whether auth is on and which
        promotion policy holds, for people."""
        s = self.settings
        policy = (
            str(s.policy_file.resolve())
            if s.policy_file
            else "none: any stage change the stage rules allow, no gates or approvals"
        )
        auth = (
            f"bearer tokens from {s.auth_tokens_file}"
            if s.auth_tokens_file
            else "off: open to every process on this machine (loopback only)"
        )
        return "\n".join(
            [
                f"gateway    listening on {self.address(self.gateway)}",
                f"artifacts  listening on {self.address(self.artifacts)}",
                f"metadata   listening on {self.address(self.metadata)}",
                *(
                    [
                        f"http       {self.http.url}/ "
                        "(web UI; HTTP/JSON under /v1/; OCI pull under /v2/)"
                    ]
                    if self.http
                    else []
                ),
                f"data       {s.data_dir.resolve()}",
                f"  database {s.resolved_database_url}",
                f"  blobs    {s.resolved_storage_path.resolve()}",
                f"  index    {s.resolved_artifacts_database_url}",
                f"auth       {auth}",
                f"policy     {policy}",
            ]
        )


def build_embedded(
    data_dir: Path,
    host: str = "127.0.0.1",
    gateway_port: int = GATEWAY_PORT,
    artifacts_port: int = ARTIFACTS_PORT,
    metadata_port: int = METADATA_PORT,
    tokens_file: Path | None = None,
    policy_file: Path | None = None,
    http_port: int | None = None,
) -> EmbeddedRegistry:
    """Migrate the embedded database and build (not start) the three servers.

    Without ``tokens_file`` the registry is open, which is allowed on loopback only.
    With it, the gateway and artifact service require bearer tokens and the three
    services share a fresh service token, so only the gateway can reach metadata.
    """
    from services.artifacts.app import build_server as build_artifact_server
    from services.artifacts.app import build_service as artifact_service
    from services.artifacts.http import build_app as artifacts_http_app
    from services.gateway.app import attach_gateway, bindings_for, build_gateway
    from services.gateway.app import build_interceptors as gateway_interceptors
    from services.gateway.http.app import build_http_app, loopback_target
    from services.gateway.policy import load_policy
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    if tokens_file is None and not is_loopback(f"{host}:0"):
        raise ValueError(
            f"refusing to serve on {host} without authentication: pass --tokens-file "
            "(mreg token create makes tokens) or listen on 127.0.0.1"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    base = Settings(
        data_dir=data_dir,
        storage_backend="local",
        auth_tokens_file=tokens_file,
        service_token=SecretStr(secrets.token_urlsafe(32) if tokens_file else ""),
        policy_file=policy_file,
    )
    migrate(base.resolved_database_url)
    metadata = build_server(
        f"{host}:{metadata_port}",
        metadata_bindings(base),
        interceptors=auth_interceptors(base, METADATA_ROLES, services_only=True),
    )
    blobs = artifact_service(base)
    artifacts = build_artifact_server(
        f"{host}:{artifacts_port}",
        blobs,
        base,
        interceptors=auth_interceptors(base, ARTIFACT_ROLES),
    )
    settings = base.model_copy(
        update={
            "metadata_address": f"{host}:{metadata.port}",
            "artifacts_address": f"{host}:{artifacts.port}",
            "gateway_listen": f"{host}:{gateway_port}",
            # One HTTP port: blob redirects stay on it (a relative Location).
            "gateway_http_listen": f"{host}:{http_port}" if http_port is not None else "",
            "artifacts_http_public_url": "/artifacts",
        }
    )
    gateway_service = build_gateway(settings)
    gateway = build_server(
        settings.gateway_listen,
        bindings_for(gateway_service, load_policy(policy_file)),
        interceptors=gateway_interceptors(settings),
    )
    attach_gateway(gateway, gateway_service)
    http_app = None
    if http_port is not None:
        blobs_app = artifacts_http_app(blobs, grant_secret(base), tokens_file is not None)
        # HTTP/JSON calls the gateway's gRPC port (plaintext here): the one it bound (the
        # port may be 0).
        http_app = build_http_app(
            settings,
            gateway_service,
            [Mount("/artifacts", blobs_app)],
            grpc_target=loopback_target(f"{host}:{gateway.port}"),
        )
    return EmbeddedRegistry(gateway, artifacts, metadata, host, settings, gateway_service, http_app)
