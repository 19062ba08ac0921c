"""A full disk under the local backend: RESOURCE_EXHAUSTED, nothing half-written, honest health.

The store is a small tmpfs (the tests run as root, as CI does), filled up for real while the
artifact service runs as its own process; then the space is freed again.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc
from services.artifacts.chunks import ChunkStore
from services.artifacts.store import BLOB_PREFIX, CHUNK_PREFIX, chunk_hash_of
from services.common.server import insecure_channel
from tests.artifacts.helpers import digest_of, random_bytes
from tests.artifacts.processes import SERVICE, artifact_process, header, session_count

MIB = 1024 * 1024
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 12 MiB tmpfs, unmounted at the end."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"this test mounts a tmpfs and needs root: {result.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(path: Path) -> None:
    """Write ``path`` until the file system has no byte left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for block in (MIB, 4096, 1):
            try:
                while os.write(fd, b"\0" * block):
                    pass
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


def _data(data: bytes):
    for start in range(0, len(data), MIB):
        yield artifacts_pb2.UploadBlobRequest(data=data[start : start + MIB])


def _finish(whole: bytes) -> artifacts_pb2.UploadBlobRequest:
    return artifacts_pb2.UploadBlobRequest(
        finish=artifacts_pb2.UploadFinish(expected_digest=digest_of(whole))
    )


def _wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _assert_nothing_half_written(store: Path) -> None:
    temps = [p for p in store.rglob("*") if p.name.startswith(".tmp-")]
    assert temps == [], temps
    for path in (store / CHUNK_PREFIX).rglob("*"):
        if path.is_file():
            _, problem = ChunkStore.decode_verified(chunk_hash_of(path.name), path.read_bytes())
            assert problem == "", f"{path} is not a whole chunk: {problem}"


def test_a_full_disk_refuses_uploads_cleanly_and_recovers(small_disk: Path) -> None:
    store = small_disk / "store"
    data = random_bytes(6 * MIB, seed=7)
    filler = small_disk / "filler"
    with artifact_process(
        small_disk.parent,
        MREG_STORAGE_PATH=str(store),
        MREG_BACKEND_PROBE_SECONDS="0.1",
    ) as address:
        channel = insecure_channel(address)
        stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)

        def status() -> int:
            request = health_pb2.HealthCheckRequest(service=SERVICE)
            return health.Check(request, timeout=5).status

        assert status() == SERVING

        go_on = threading.Event()

        def stalled():  # the first MiB, then the rest once the disk is full
            yield header("full-disk-01")
            yield from _data(data[:MIB])
            go_on.wait(30)
            yield from _data(data[MIB:])
            yield _finish(data)

        upload = stub.UploadBlob.future(stalled(), timeout=30)
        _wait_until(lambda: session_count(store) == 1, "the upload's session")
        _fill(filler)
        go_on.set()
        with pytest.raises(grpc.RpcError) as full:
            upload.result()
        assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, full.value.details()
        assert "no space left in the storage backend" in full.value.details()
        _assert_nothing_half_written(store)
        assert not (store / BLOB_PREFIX).exists() or not any((store / BLOB_PREFIX).rglob("*.json"))
        _wait_until(lambda: status() == NOT_SERVING, "health NOT_SERVING on a full disk")

        filler.unlink()
        _wait_until(lambda: status() == SERVING, "health SERVING once space is freed")
        status = stub.QueryUpload(
            artifacts_pb2.QueryUploadRequest(upload_id="full-disk-01"), timeout=5
        )
        offset = status.committed_size
        resumed = stub.UploadBlob(
            iter([header("full-disk-01", offset), *_data(data[offset:]), _finish(data)]),
            timeout=30,
        )
        assert resumed.complete
        assert resumed.blob.digest.hash == hashlib.sha256(data).hexdigest()
        read = stub.ReadBlob(artifacts_pb2.ReadBlobRequest(digest=digest_of(data)), timeout=30)
        assert b"".join(piece.data for piece in read) == data
        channel.close()
