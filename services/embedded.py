"""All three services in one process on embedded defaults (SQLite + local files).

This is what ``mreg serve`` runs: a registry for a laptop or a single box, with no
other service needed. The metadata schema is migrated on start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from services.common.server import RunningServer, build_server
from services.common.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class EmbeddedRegistry:
    """The three running servers and where their data lives."""

    gateway: RunningServer
    artifacts: RunningServer
    metadata: RunningServer
    host: str
    settings: Settings

    @property
    def servers(self) -> list[RunningServer]:
        """Servers in start order (backends first)."""
        return [self.metadata, self.artifacts, self.gateway]

    def address(self, server: RunningServer) -> str:
        """``host:port`` of one of the servers."""
        return f"{self.host}:{server.port}"

    def describe(self) -> str:
        """Where each service listens and where data lives, for people."""
        s = self.settings
        return "\n".join(
            [
                f"gateway    listening on {self.address(self.gateway)}",
                f"artifacts  listening on {self.address(self.artifacts)}",
                f"metadata   listening on {self.address(self.metadata)}",
                f"data       {s.data_dir.resolve()}",
                f"  database {s.resolved_database_url}",
                f"  blobs    {s.resolved_storage_path.resolve()}",
            ]
        )


def build_embedded(
    data_dir: Path,
    host: str = "127.0.0.1",
    gateway_port: int = 50051,
    artifacts_port: int = 50052,
    metadata_port: int = 50053,
) -> EmbeddedRegistry:
    """Migrate the embedded database and build (not start) the three servers."""
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    data_dir.mkdir(parents=True, exist_ok=True)
    base = Settings(data_dir=data_dir, storage_backend="local")
    migrate(base.resolved_database_url)
    metadata = build_server(f"{host}:{metadata_port}", metadata_bindings(base))
    artifacts = build_server(f"{host}:{artifacts_port}", artifact_bindings(base))
    settings = base.model_copy(
        update={
            "metadata_address": f"{host}:{metadata.port}",
            "artifacts_address": f"{host}:{artifacts.port}",
            "gateway_listen": f"{host}:{gateway_port}",
        }
    )
    gateway = build_server(settings.gateway_listen, gateway_bindings(settings))
    return EmbeddedRegistry(gateway, artifacts, metadata, host, settings)
