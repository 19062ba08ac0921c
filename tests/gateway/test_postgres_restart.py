"""PostgreSQL restarted during a burst of registrations: nothing acknowledged is lost, nothing
is registered twice. The SDK retries UNAVAILABLE with the same request id."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from modelregistry.v1 import resources_pb2
from mreg.client import Client
from mreg.errors import MregError
from services.common.settings import Settings
from tests.gateway.conftest import upload


def _restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    deadline = time.monotonic() + 60
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.2)


@pytest.fixture
def registry(postgres_database_factory, tmp_path: Path, start_server) -> str:
    if not Path("/etc/postgresql").is_dir():
        pytest.skip("needs the local PostgreSQL cluster (pg_ctlcluster) to restart it")
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    database = postgres_database_factory()
    migrate(database)
    base = Settings(data_dir=tmp_path, database_url=database)
    metadata = start_server(*metadata_bindings(base))
    artifacts = start_server(*artifact_bindings(base))
    return start_server(
        *gateway_bindings(
            base.model_copy(update={"metadata_address": metadata, "artifacts_address": artifacts})
        )
    )


def test_a_restart_during_a_burst_loses_no_acknowledged_registration(registry: str) -> None:
    with Client(registry, timeout=60) as client:
        digest = upload(client.artifacts, b"weights")
    acknowledged: list[str] = []
    failures: list[str] = []
    started = threading.Event()

    def burst(worker: int) -> None:
        with Client(registry, timeout=60) as client:
            for i in range(10):
                try:
                    version = client.register("burst", digest, version=f"1.{worker}.{i}")
                    acknowledged.append(version.name)
                except MregError as error:
                    failures.append(f"1.{worker}.{i}: {error.code.name} {error.message}")
                started.set()
                time.sleep(0.05)

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    assert started.wait(30)
    _restart_postgres()
    for thread in threads:
        thread.join()

    with Client(registry, timeout=60) as client:
        stored = client.list_versions("burst")
    names = [v.name for v in stored]
    assert len(names) == len(set(names)), "a version was registered twice"
    assert set(acknowledged) <= set(names), "an acknowledged registration was lost"
    by_name = {v.name: v for v in stored}
    assert all(by_name[n].state == resources_pb2.VERSION_STATE_READY for n in acknowledged)
    # Retries made every registration go through in the end; report any that did not.
    assert failures == []
    assert len(acknowledged) == 40
