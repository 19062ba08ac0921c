"""Artifact service fixtures: the service over each backend, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.artifacts.app import bindings_for
from services.artifacts.service import ArtifactService
from services.common.settings import Settings
from tests.artifacts.helpers import Client, service_of


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a fresh store: a local directory with its index on SQLite (the embedded
    default), or a bucket on moto's S3 server with its index on a fresh PostgreSQL database
    (as deployed), so every test using it runs on both index databases."""
    if request.param == "local":
        return Settings(data_dir=tmp_path, storage_backend="local")
    bucket = request.getfixturevalue("s3_bucket")
    endpoint = request.getfixturevalue("s3_endpoint")
    return Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_prefix="store",
        artifacts_database_url=request.getfixturevalue("postgres_database_factory")(),
    )


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """Settings of a fresh local store (for tests that reach into files)."""
    return Settings(data_dir=tmp_path, storage_backend="local")


def _serve(settings: Settings, start_server) -> Iterator[tuple[ArtifactService, Client]]:
    # Compaction starts as soon as a blob is committed; tests that look at sizes at rest
    # wait for it (service.compactor.wait_idle).
    service = service_of(settings, compact_delay_seconds=0)
    client = Client(start_server(*bindings_for(service)))
    try:
        yield service, client
    finally:
        client.close()
        service.close()  # its index connections: PostgreSQL allows only so many


@pytest.fixture
def served(settings: Settings, start_server) -> Iterator[tuple[ArtifactService, Client]]:
    """The service over each backend and a client connected to it over loopback."""
    yield from _serve(settings, start_server)


@pytest.fixture
def client(served) -> Client:
    """A client of the service over each backend."""
    return served[1]


@pytest.fixture
def local_served(local_settings: Settings, start_server):
    """The service over a local store, and a client."""
    yield from _serve(local_settings, start_server)
