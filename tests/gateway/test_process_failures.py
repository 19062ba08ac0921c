"""Failures with real processes: the artifact service killed (SIGKILL) and restarted while a
client registers; the metadata service killed. No READY version without its bytes pinned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from mreg.client import Client
from mreg.errors import UnavailableError
from services.common.server import insecure_channel
from tests.conftest import free_port
from tests.gateway.conftest import upload


def _wait(address: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=max(0.1, deadline - time.monotonic()))


class Processes:
    """The three services, each its own OS process, sharing one data directory."""

    def __init__(
        self, data: Path, reconcile_after: float, gateway_env: dict[str, str] | None = None
    ) -> None:
        #: Settings of the gateway process only (on top of the shared ones).
        self.gateway_env = gateway_env or {}
        self.ports = {name: free_port() for name in ("gateway", "artifacts", "metadata")}
        self.env = {
            **os.environ,
            "MREG_DATA_DIR": str(data),
            "MREG_LOG_LEVEL": "WARNING",
            "MREG_RECONCILE_PENDING_AFTER_SECONDS": str(reconcile_after),
            "MREG_RECONCILE_INTERVAL_SECONDS": "0.5",
            **{f"MREG_{n.upper()}_LISTEN": f"127.0.0.1:{p}" for n, p in self.ports.items()},
            "MREG_ARTIFACTS_ADDRESS": f"127.0.0.1:{self.ports['artifacts']}",
            "MREG_METADATA_ADDRESS": f"127.0.0.1:{self.ports['metadata']}",
        }
        subprocess.run(
            [sys.executable, "-m", "services.metadata", "migrate"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.procs: dict[str, subprocess.Popen] = {}
        for name in ("metadata", "artifacts", "gateway"):
            self.start(name)

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env={**self.env, **(self.gateway_env if name == "gateway" else {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self.address(name))

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.wait(timeout=20)


@pytest.fixture
def processes(request: pytest.FixtureRequest, tmp_path: Path):
    """The services as processes; the reconciler settles after ``request.param`` seconds."""
    running = Processes(tmp_path / "data", getattr(request, "param", 3600))
    yield running
    running.stop_all()


def _pins(address: str, digest: resources_pb2.Digest) -> list[str]:
    with insecure_channel(address) as channel:
        blob = (
            artifacts_pb2_grpc.ArtifactServiceStub(channel)
            .StatBlob(artifacts_pb2.StatBlobRequest(digest=digest), timeout=10, wait_for_ready=True)
            .blob
        )
    return list(blob.pins)


def test_artifact_service_killed_then_restarted(processes: Processes) -> None:
    with Client(processes.address("gateway"), timeout=10) as client:
        digest = upload(client.artifacts, b"weights")
        processes.kill("artifacts")
        with pytest.raises(UnavailableError, match="artifact service at"):
            client.register("m", digest, version="1.0.0", request_id="reg-1")
        pending = client.get_version("m", "1.0.0")
        assert pending.state == resources_pb2.VERSION_STATE_PENDING
        processes.start("artifacts")
        assert _pins(processes.address("artifacts"), digest) == []
        ready = client.register("m", digest, version="1.0.0", request_id="reg-1")
        assert ready.state == resources_pb2.VERSION_STATE_READY
    assert _pins(processes.address("artifacts"), digest) == ["models/m/versions/1.0.0"]


@pytest.mark.parametrize("processes", [1], indirect=True)
def test_a_registration_left_pending_is_settled_by_the_reconciler(processes: Processes) -> None:
    with Client(processes.address("gateway"), timeout=10) as client:
        digest = upload(client.artifacts, b"weights")
        processes.kill("artifacts")
        with pytest.raises(UnavailableError):
            client.register("m", digest, version="1.0.0")
        processes.start("artifacts")
        # Nobody retries: the gateway's reconciler finishes the registration by itself.
        deadline = time.monotonic() + 20
        while client.get_version("m", "1.0.0").state != resources_pb2.VERSION_STATE_READY:
            assert time.monotonic() < deadline, "the reconciler did not settle the version"
            time.sleep(0.2)
    assert _pins(processes.address("artifacts"), digest) == ["models/m/versions/1.0.0"]


def test_metadata_service_killed_answers_unavailable_and_pins_nothing(
    processes: Processes,
) -> None:
    with Client(processes.address("gateway"), timeout=10) as client:
        digest = upload(client.artifacts, b"weights")
        processes.kill("metadata")
        with pytest.raises(UnavailableError, match="metadata service at"):
            client.register("m", digest, version="1.0.0")
    assert _pins(processes.address("artifacts"), digest) == []
