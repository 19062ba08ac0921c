"""Idle upload streams against one artifact service (issue 11), sync server vs aio server.

For each server model, one artifact service process over a fresh local store:

* ``transfer``: one plain ``UploadBlob`` of ``--transfer-mib`` (bf16-like bytes, 1 MiB
  messages) and one ``ReadBlob`` of it back: MB/s, and CPU seconds per GB of the server
  process and of this (client) process;
* ``baseline``: ``--requests`` calls alternating ``FindMissingChunks`` (16 digests) and
  ``StatBlob``, one at a time: p50/p99 latency;
* ``idle``: the same load while ``--streams`` upload streams are open that sent a header and
  then nothing: p50/p99, the ratio of p99 to the baseline's, calls that failed (each has a
  2 s deadline; after 5 failures in a row the rest are not tried), and the server's RSS
  growth per open stream.

``sync`` is the thread-per-stream server the service had before (``build_server``, 32
threads); ``aio`` is ``python -m services.artifacts`` as shipped. The idle timeout is set
past the run and the per-principal limit above ``--streams`` so neither ends the streams.
Prints one JSON document.

    python -m benchmarks.idle_uploads [--streams 200] [--requests 400] [--transfer-mib 256] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import psutil

from benchmarks import harness
from benchmarks.servers import wait_healthy
from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from services.common.server import GRPC_OPTIONS, insecure_channel

logger = logging.getLogger(__name__)
MIB = 1024 * 1024
GB = 1_000_000_000
CALL_TIMEOUT = 2.0
MAX_FAILURES_IN_A_ROW = 5


def serve_sync() -> None:
    """The artifact service on the sync, thread-per-stream server (the model before aio)."""
    from services.artifacts.app import SERVICE_NAME, build_service
    from services.artifacts.servicer import ArtifactServicer
    from services.common.server import ServiceBinding, build_server, run_until_signal
    from services.common.settings import load_settings

    settings = load_settings()
    service = build_service(settings)
    binding = ServiceBinding(
        SERVICE_NAME,
        artifacts_pb2_grpc.add_ArtifactServiceServicer_to_server,
        ArtifactServicer(service),
    )
    running = build_server(settings.artifacts_listen, [binding], max_workers=settings.max_workers)
    run_until_signal([running], grace=1)


class Server:
    """One artifact service process (``sync`` or ``aio``) on a free port."""

    def __init__(self, model: str, data_dir: Path, streams: int) -> None:
        self.port = harness.free_port()
        self.address = f"127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MREG_DATA_DIR": str(data_dir),
            "MREG_ARTIFACTS_LISTEN": self.address,
            "MREG_ARTIFACTS_HTTP_LISTEN": "",
            "MREG_LOG_LEVEL": "WARNING",
            "MREG_SHUTDOWN_GRACE_SECONDS": "1",
            "MREG_UPLOAD_IDLE_TIMEOUT_SECONDS": "3600",
            "MREG_MAX_STREAMS_PER_PRINCIPAL": str(streams + 16),
        }
        argv = [sys.executable, "-m", "services.artifacts"]
        if model == "sync":
            argv = [sys.executable, "-m", "benchmarks.idle_uploads", "--serve-sync"]
        self.proc = subprocess.Popen(argv, env=env)
        self.ps = psutil.Process(self.proc.pid)
        wait_healthy(self.address, [self.proc])
        self.channel = insecure_channel(self.address)
        self.stub = artifacts_pb2_grpc.ArtifactServiceStub(self.channel)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        return harness.rss_bytes(self.proc.pid)

    def stop(self) -> None:
        self.channel.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _bf16(nbytes: int) -> bytes:
    values = np.random.default_rng(1).normal(0, 0.02, nbytes // 2).astype(np.float32)
    return (values.view(np.uint32) >> 16).astype(np.uint16).tobytes()


def _header() -> artifacts_pb2.UploadBlobRequest:
    return artifacts_pb2.UploadBlobRequest(
        header=artifacts_pb2.UploadHeader(upload_id=uuid.uuid4().hex)
    )


def _transfer(server: Server, data: bytes) -> tuple[dict[str, Any], resources_pb2.Digest]:
    def requests() -> Iterator[artifacts_pb2.UploadBlobRequest]:
        yield _header()
        view = memoryview(data)
        for start in range(0, len(data), MIB):
            yield artifacts_pb2.UploadBlobRequest(data=bytes(view[start : start + MIB]))
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    gb = len(data) / GB
    out: dict[str, Any] = {}
    client, cpu, start = harness.cpu_seconds(), server.cpu(), time.perf_counter()
    response = server.stub.UploadBlob(requests(), timeout=600)
    seconds = time.perf_counter() - start
    out["upload"] = {
        "mb_s": harness.mb_per_s(len(data), seconds),
        "server_cpu_s_per_gb": (server.cpu() - cpu) / gb,
        "client_cpu_s_per_gb": (harness.cpu_seconds() - client) / gb,
    }
    digest = response.blob.digest
    client, cpu, start = harness.cpu_seconds(), server.cpu(), time.perf_counter()
    total = sum(
        len(p.data)
        for p in server.stub.ReadBlob(artifacts_pb2.ReadBlobRequest(digest=digest), timeout=600)
    )
    seconds = time.perf_counter() - start
    if total != len(data):
        raise RuntimeError(f"read back {total} bytes of {len(data)}")
    out["read"] = {
        "mb_s": harness.mb_per_s(len(data), seconds),
        "server_cpu_s_per_gb": (server.cpu() - cpu) / gb,
        "client_cpu_s_per_gb": (harness.cpu_seconds() - client) / gb,
    }
    return out, digest


def _load(server: Server, digest: resources_pb2.Digest, requests: int) -> dict[str, Any]:
    """``requests`` calls alternating FindMissingChunks and StatBlob; latency percentiles."""
    probe = [resources_pb2.Digest(hash=f"{i:064x}", size_bytes=1024) for i in range(15)] + [digest]
    latencies: list[float] = []
    failures = in_a_row = 0
    for i in range(requests):
        start = time.perf_counter()
        try:
            if i % 2:
                server.stub.StatBlob(
                    artifacts_pb2.StatBlobRequest(digest=digest), timeout=CALL_TIMEOUT
                )
            else:
                server.stub.FindMissingChunks(
                    artifacts_pb2.FindMissingChunksRequest(digests=probe), timeout=CALL_TIMEOUT
                )
        except grpc.RpcError as error:
            failures += 1
            in_a_row += 1
            logger.info("call %d failed: %s", i, error.code())
            if in_a_row >= MAX_FAILURES_IN_A_ROW:
                break
            continue
        in_a_row = 0
        latencies.append(time.perf_counter() - start)
    out: dict[str, Any] = {"calls_tried": i + 1, "calls_failed": failures}
    if latencies:
        ordered = sorted(latencies)
        out["p50_ms"] = 1000 * ordered[len(ordered) // 2]
        out["p99_ms"] = 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return out


class IdleStreams:
    """``count`` upload streams that send a header and then nothing, on a loop thread."""

    def __init__(self, address: str, count: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.calls: list[Any] = []
        self.channel: grpc.aio.Channel | None = None
        asyncio.run_coroutine_threadsafe(self._open(address, count), self.loop).result(120)

    async def _open(self, address: str, count: int) -> None:
        self.channel = grpc.aio.insecure_channel(address, options=GRPC_OPTIONS)
        stub = artifacts_pb2_grpc.ArtifactServiceStub(self.channel)
        for _ in range(count):
            call = stub.UploadBlob()
            await call.write(_header())
            self.calls.append(call)

    def close(self) -> None:
        async def close() -> None:
            for call in self.calls:
                call.cancel()
            if self.channel is not None:
                await self.channel.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _sessions(store: Path) -> int:
    root = store / "uploads"
    return sum(1 for _ in root.rglob("*.json")) if root.is_dir() else 0


def measure(model: str, root: Path, data: bytes, streams: int, requests: int) -> dict[str, Any]:
    """Transfer, baseline load and load under idle streams on one server of ``model``."""
    data_dir = root / model
    server = Server(model, data_dir, streams)
    try:
        result: dict[str, Any] = {}
        result["transfer"], digest = _transfer(server, data)
        _load(server, digest, 20)  # warm-up
        result["baseline"] = _load(server, digest, requests)
        before = server.rss()
        idle = IdleStreams(server.address, streams)
        try:
            # Wait (bounded) until the server has opened the sessions it is going to open.
            deadline = time.monotonic() + 10
            while _sessions(data_dir / "artifacts") < streams + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            held = _sessions(data_dir / "artifacts") - 1
            after = server.rss()
            result["idle"] = {
                "streams_open": streams,
                "sessions_the_server_started": held,
                "rss_growth_mb": (after - before) / 1e6,
                "rss_per_stream_kb": (after - before) / streams / 1000,
                **_load(server, digest, requests),
            }
        finally:
            idle.close()
        base, loaded = result["baseline"], result["idle"]
        if "p99_ms" in loaded:
            loaded["p99_ratio_to_baseline"] = loaded["p99_ms"] / base["p99_ms"]
        result["server_rss_mb"] = server.rss() / 1e6
        return result
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle_uploads")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--transfer-mib", type=int, default=256)
    parser.add_argument("--models", default="sync,aio")
    parser.add_argument("--serve-sync", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.serve_sync:
        serve_sync()
        return
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    data = _bf16(args.transfer_mib * MIB)
    result: dict[str, Any] = {
        "benchmark": "idle_uploads",
        "environment": harness.environment(),
        "parameters": {
            "streams": args.streams,
            "requests": args.requests,
            "transfer_bytes": len(data),
            "call_timeout_s": CALL_TIMEOUT,
        },
    }
    with tempfile.TemporaryDirectory(prefix="mreg-idle-") as tmp:
        for model in args.models.split(","):
            result[model] = measure(model, Path(tmp), data, args.streams, args.requests)
    if "sync" in result and "aio" in result:
        result["aio_vs_sync"] = {
            f"{kind}_mb_s_ratio": result["aio"]["transfer"][kind]["mb_s"]
            / result["sync"]["transfer"][kind]["mb_s"]
            for kind in ("upload", "read")
        }
    result["target"] = "aio idle p99 < 50 ms; transfer MB/s aio >= sync"
    harness.emit(result)


if __name__ == "__main__":
    main()
