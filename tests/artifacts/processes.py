"""The artifact service as a real process, and clients that hold streams open on it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc
from services.artifacts.store import UPLOAD_PREFIX
from services.common.server import wait_serving as serving_within
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "modelregistry.v1.ArtifactService"


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}:{ROOT / 'clients/python'}",
        "MREG_ARTIFACTS_HTTP_LISTEN": "",
        "MREG_SHUTDOWN_GRACE_SECONDS": "1",
        **extra,
    }


def wait_serving(address: str, timeout: float = 30.0) -> None:
    """Block until the service at ``address`` reports SERVING (or fail after ``timeout``)."""
    assert serving_within(address, timeout), f"{address} did not report SERVING in {timeout} s"


@contextmanager
def artifact_process(data_dir: Path, **env: str) -> Iterator[str]:
    """``python -m services.artifacts`` on a free port with ``MREG_*`` ``env``; its address.

    Stopped with SIGTERM at the end; its log is printed if it fails to stop cleanly.
    """
    with artifact_process_handle(data_dir, **env) as (address, _proc):
        yield address


@contextmanager
def artifact_process_handle(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """:func:`artifact_process`, also yielding the process (to signal it in the test).

    At the end a process still running gets SIGTERM; either way it must exit with 0.
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.artifacts"],
        env=_env(MREG_ARTIFACTS_LISTEN=f"127.0.0.1:{port}", MREG_DATA_DIR=str(data_dir), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        wait_serving(address)
        yield address, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        assert proc.returncode == 0, out


def session_count(store: Path) -> int:
    """Upload sessions persisted under a local store (every principal)."""
    root = store / UPLOAD_PREFIX
    return sum(1 for _ in root.rglob("*.json")) if root.is_dir() else 0


def header(upload_id: str | None = None, offset: int = 0) -> artifacts_pb2.UploadBlobRequest:
    """The first message of an upload."""
    return artifacts_pb2.UploadBlobRequest(
        header=artifacts_pb2.UploadHeader(
            upload_id=upload_id or uuid.uuid4().hex, write_offset=offset
        )
    )


async def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    """Wait (on the loop) until ``condition()`` holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def aio_stub(channel: grpc.aio.Channel) -> artifacts_pb2_grpc.ArtifactServiceStub:
    """An ``ArtifactService`` stub on an asyncio channel."""
    return artifacts_pb2_grpc.ArtifactServiceStub(channel)
