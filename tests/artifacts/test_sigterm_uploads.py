"""SIGTERM drains an upload in flight: it keeps every byte sent before the signal.

A real artifact process takes an upload stream that sends a header and 5.5 MiB, then pauses;
the process gets SIGTERM. The stream must end with UNAVAILABLE naming the committed offset,
the process must exit within its grace, and a new process on the same store must report the
upload committed up to the last byte sent: the stream's tail is cut into a last chunk when it
ends, so the offset is exact, not rounded to a checkpoint (``CHECKPOINT_BYTES``, 64 MiB).
The resume from there must produce the right blob.

Streams opened after the signal are refused with UNAVAILABLE. To ask while the service is
surely still draining (and not already in gRPC's own stop, which cancels calls), a second
upload keeps sending one-byte messages: a stream that still sends is still taken, for half
the grace; then it is ended too (UNAVAILABLE), so a busy client cannot hold the shutdown.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelregistry.v1 import artifacts_pb2
from tests.artifacts.helpers import Client, digest_of, random_bytes
from tests.artifacts.processes import SERVICE, artifact_process_handle, header

MIB = 1024 * 1024
GRACE_SECONDS = 10.0  # uploads take messages for half of it
UPLOAD_ID = "sigterm-upload-01"


def _data(data: bytes):
    for start in range(0, len(data), MIB):
        yield artifacts_pb2.UploadBlobRequest(data=data[start : start + MIB])


def test_sigterm_commits_what_an_upload_sent_and_the_upload_resumes(tmp_path: Path) -> None:
    data = random_bytes(9 * MIB, seed=11)
    before = 5 * MIB + MIB // 2  # sent before the signal; not a multiple of anything
    env = {
        "MREG_STORAGE_PATH": str(tmp_path / "store"),
        "MREG_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    sent, release = threading.Event(), threading.Event()

    def paused():
        yield header(UPLOAD_ID)
        yield from _data(data[:before])
        sent.set()
        release.wait(60)  # the stream stays open, sending nothing, until the test ends

    def trickle():
        yield header("sigterm-trickle-01")
        while not release.is_set():
            yield artifacts_pb2.UploadBlobRequest(data=b"x")

    with artifact_process_handle(tmp_path, **env) as (address, proc):
        client = Client(address)
        health = health_pb2_grpc.HealthStub(client.channel)
        upload = client.stub.UploadBlob.future(paused(), timeout=60)
        busy = client.stub.UploadBlob.future(trickle(), timeout=60)
        assert sent.wait(30), "the client could not send its first bytes"
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        request = health_pb2.HealthCheckRequest(service=SERVICE)
        while health.Check(request, timeout=5).status != health_pb2.HealthCheckResponse.NOT_SERVING:
            assert time.monotonic() - signalled < 10, "health still SERVING after SIGTERM"

        with pytest.raises(grpc.RpcError) as refused:
            client.stub.UploadBlob(iter([header("sigterm-upload-02")]), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()
        assert "shutting down" in refused.value.details()

        with pytest.raises(grpc.RpcError) as ended:
            upload.result()
        details = ended.value.details()
        assert ended.value.code() == grpc.StatusCode.UNAVAILABLE, details
        assert "shutting down" in details
        assert f"write_offset {before}" in details, details
        with pytest.raises(grpc.RpcError) as trickled:
            busy.result()
        assert trickled.value.code() == grpc.StatusCode.UNAVAILABLE, trickled.value.details()
        assert "write_offset" in trickled.value.details()
        print(f"the sending upload was ended {time.monotonic() - signalled:.2f} s after SIGTERM")
        release.set()
        client.close()

        proc.wait(timeout=GRACE_SECONDS + 10)
        took = time.monotonic() - signalled
        print(f"the process exited {took:.2f} s after SIGTERM (grace {GRACE_SECONDS} s)")
        assert proc.returncode == 0
        assert took < GRACE_SECONDS

    with artifact_process_handle(tmp_path, **env) as (address, _proc):
        client = Client(address)
        status = client.stub.QueryUpload(
            artifacts_pb2.QueryUploadRequest(upload_id=UPLOAD_ID), timeout=10
        )
        assert status.committed_size == before
        assert not status.complete
        finish = artifacts_pb2.UploadBlobRequest(
            finish=artifacts_pb2.UploadFinish(expected_digest=digest_of(data))
        )
        resumed = client.stub.UploadBlob(
            iter([header(UPLOAD_ID, before), *_data(data[before:]), finish]), timeout=60
        )
        assert resumed.complete
        assert resumed.blob.digest.hash == hashlib.sha256(data).hexdigest()
        assert client.read(digest_of(data)) == data
        client.close()
