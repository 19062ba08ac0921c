"""An S3 bucket that cannot be reached: UNAVAILABLE to clients, NOT_SERVING health, recovery.

The artifact service runs as its own process on the S3 backend against a moto server process
of this test's own, on a port of its own. The bucket goes away in two real ways: moto is
killed with SIGKILL (connections refused), or moto's state is reset (the bucket no longer
exists: NoSuchBucket). Then moto comes back on the same port with the bucket recreated.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.artifacts.helpers import Client, random_bytes
from tests.artifacts.processes import SERVICE, artifact_process
from tests.conftest import free_port, start_moto, stop_process

MIB = 1024 * 1024
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
BUCKET = "mreg-unreachable"
#: The probe runs every 0.2 s with a 1 s timeout and one attempt: health must follow quickly.
HEALTH_FLIP_SECONDS = 3.0


class Moto:
    """A moto S3 server process that the test may kill, reset and start again."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = start_moto(self.port, log)
        self.create_bucket()

    def create_bucket(self) -> None:
        boto3.client("s3", endpoint_url=self.url, region_name="us-east-1").create_bucket(
            Bucket=BUCKET
        )

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> None:
        self.proc = start_moto(self.port, self.log)
        self.create_bucket()

    def reset(self) -> None:
        """Drop every bucket (moto's own reset call)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = Moto(tmp_path / "moto.log")
    yield server
    stop_process(server.proc)


def _health(client: Client) -> int:
    stub = health_pb2_grpc.HealthStub(client.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status


def _seconds_until(condition, what: str, timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"timed out ({timeout} s) waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - start


def _round_trip(client: Client, seed: int) -> None:
    data = random_bytes(3 * MIB, seed=seed)
    done = client.upload(data)
    assert done.complete
    assert client.read(done.blob.digest) == data


def _unreachable_then_back(tmp_path: Path, moto: Moto, break_it, mend_it) -> None:
    with artifact_process(
        tmp_path,
        MREG_STORAGE_BACKEND="s3",
        MREG_S3_BUCKET=BUCKET,
        MREG_S3_ENDPOINT_URL=moto.url,
        MREG_BACKEND_PROBE_SECONDS="0.2",
    ) as address:
        client = Client(address)
        assert _health(client) == SERVING
        _round_trip(client, seed=1)

        break_it()
        flip = _seconds_until(
            lambda: _health(client) == NOT_SERVING, "NOT_SERVING", HEALTH_FLIP_SECONDS
        )
        print(f"health NOT_SERVING {flip:.2f} s after the bucket became unreachable")
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as refused:
            client.upload(random_bytes(MIB, seed=2))
        print(f"UploadBlob answered after {time.monotonic() - started:.2f} s (data path retries)")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()
        assert "storage backend unreachable" in refused.value.details()
        assert "retry later" in refused.value.details()

        mend_it()
        back = _seconds_until(lambda: _health(client) == SERVING, "SERVING", HEALTH_FLIP_SECONDS)
        print(f"health SERVING {back:.2f} s after the bucket came back")
        _round_trip(client, seed=3)
        client.close()


def test_a_killed_s3_endpoint_answers_unavailable_and_recovers(tmp_path: Path, moto: Moto):
    _unreachable_then_back(tmp_path, moto, moto.kill, moto.restart)


def test_a_missing_bucket_answers_unavailable_and_recovers(tmp_path: Path, moto: Moto):
    _unreachable_then_back(tmp_path, moto, moto.reset, moto.create_bucket)
