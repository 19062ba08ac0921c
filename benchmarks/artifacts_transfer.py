"""Artifact transfer benchmark (issue 3): dedup upload, re-upload, changed model, verified
download, server RSS during a 4 GiB upload, stored/raw ratios. Figures are ratios to the raw
gRPC ceiling measured in the same run.

The artifact service runs as a separate process (local backend in a temporary directory) so
its CPU seconds and RSS are measured apart from the client's.

Run: ``python -m benchmarks.artifacts_transfer [--size-mib 1024] [--big-gib 4]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import psutil

from benchmarks import harness
from benchmarks.grpc_ceiling import measure_ceiling
from benchmarks.models import write_safetensors
from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from mreg.transfer import push_blob
from services.common.server import insecure_channel

MIB = 1024 * 1024


@dataclass(frozen=True)
class Pushed:
    """What one push stored and sent."""

    blob: artifacts_pb2.BlobInfo
    chunks: int
    chunks_sent: int
    bytes_sent: int


def push_file(channel: grpc.Channel, path: Path) -> Pushed:
    """One file through the dedup path, with the SDK's own transfer code."""
    blob, stats = push_blob(artifacts_pb2_grpc.ArtifactServiceStub(channel), path)
    return Pushed(blob, stats.chunks_total, stats.chunks_sent, stats.bytes_sent)


def read_verified(channel: grpc.Channel, digest: resources_pb2.Digest) -> int:
    """Download a blob, hashing it as it arrives; returns the byte count."""
    stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
    hasher = hashlib.sha256()
    total = 0
    for piece in stub.ReadBlob(artifacts_pb2.ReadBlobRequest(digest=digest)):
        hasher.update(piece.data)
        total += len(piece.data)
    if hasher.hexdigest() != digest.hash or total != digest.size_bytes:
        raise RuntimeError(f"downloaded {hasher.hexdigest()}/{total}, expected {digest}")
    return total


class Server:
    """``python -m services.artifacts`` on a free port over a fresh local store."""

    def __init__(self, data_dir: Path) -> None:
        self.port = harness.free_port()
        env = {
            **os.environ,
            "MREG_DATA_DIR": str(data_dir),
            "MREG_ARTIFACTS_LISTEN": f"127.0.0.1:{self.port}",
            "MREG_ARTIFACTS_HTTP_LISTEN": "127.0.0.1:0",
            "MREG_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen([sys.executable, "-m", "services.artifacts"], env=env)
        self.ps = psutil.Process(self.proc.pid)
        self.channel = insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.channel.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _measure(server: Server, fn) -> dict[str, Any]:
    client_cpu, server_cpu = harness.cpu_seconds(), server.cpu()
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    return {
        "value": value,
        "seconds": seconds,
        "client_cpu_s": harness.cpu_seconds() - client_cpu,
        "server_cpu_s": server.cpu() - server_cpu,
    }


def _big_upload(server: Server, path: Path, total: int) -> tuple[int, int]:
    """Plain-upload ``total`` bytes (the file over and over, each pass prefixed by a new
    16-byte marker so the stream is one long blob); returns (RSS growth, bytes)."""
    data = path.read_bytes()
    stub = artifacts_pb2_grpc.ArtifactServiceStub(server.channel)

    def requests() -> Iterator[artifacts_pb2.UploadBlobRequest]:
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=uuid.uuid4().hex)
        )
        sent = 0
        view = memoryview(data)
        while sent < total:
            yield artifacts_pb2.UploadBlobRequest(data=os.urandom(16))
            sent += 16
            for start in range(0, len(data), MIB):
                piece = view[start : start + min(MIB, total - sent)]
                if not piece:
                    break
                yield artifacts_pb2.UploadBlobRequest(data=bytes(piece))
                sent += len(piece)
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    with harness.PeakRss(server.proc.pid, interval=0.02) as rss:
        response = stub.UploadBlob(requests())
    return rss.growth_bytes, response.committed_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.artifacts_transfer")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--big-gib", type=float, default=4.0)
    parser.add_argument("--ratio-mib", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    result: dict[str, Any] = {"environment": harness.environment(), "size_bytes": size}
    ceiling = measure_ceiling(total_bytes=size, message_bytes=MIB, repeats=args.repeats)
    up_ceiling = ceiling["upload_mb_s"]["median"]
    down_ceiling = ceiling["download_mb_s"]["median"]
    result["ceiling"] = {
        "upload_mb_s": ceiling["upload_mb_s"],
        "download_mb_s": ceiling["download_mb_s"],
    }
    with tempfile.TemporaryDirectory(prefix="mreg-bench-") as tmp:
        root = Path(tmp)
        model, changed = root / "model.safetensors", root / "changed.safetensors"
        write_safetensors(model, size, "BF16", seed=1)
        write_safetensors(changed, size, "BF16", seed=1, changed=3, extra_header=37)
        file_bytes = model.stat().st_size
        fresh: list[dict] = []
        for run in range(args.repeats):
            server = Server(root / f"store{run}")
            try:
                fresh.append(_measure(server, lambda s=server: push_file(s.channel, model)))
                if run == args.repeats - 1:
                    again = _measure(server, lambda s=server: push_file(s.channel, model))
                    delta = _measure(server, lambda s=server: push_file(s.channel, changed))
                    digest = fresh[-1]["value"].blob.digest
                    downloads = [
                        _measure(server, lambda s=server, d=digest: read_verified(s.channel, d))
                        for _ in range(args.repeats)
                    ]
                    ratios = {}
                    for dtype in ("BF16", "F16", "F32"):
                        path = root / f"{dtype}.safetensors"
                        write_safetensors(path, args.ratio_mib * MIB, dtype, seed=7)
                        blob = push_file(server.channel, path).blob
                        ratios[dtype.lower()] = blob.stored_bytes / blob.digest.size_bytes
                    rnd = root / "random.bin"
                    rnd.write_bytes(np.random.default_rng(9).bytes(args.ratio_mib * MIB))
                    blob = push_file(server.channel, rnd).blob
                    ratios["random"] = blob.stored_bytes / blob.digest.size_bytes
                    ratios["bf16_model_1gib"] = fresh[-1]["value"].blob.stored_bytes / file_bytes
                    growth, big_bytes = _big_upload(server, model, int(args.big_gib * 1024 * MIB))
            finally:
                server.stop()
    gb = file_bytes / 1e9
    fresh_s = [f["seconds"] for f in fresh]
    best = min(fresh, key=lambda f: f["seconds"])
    fresh_mb_s = harness.mb_per_s(file_bytes, best["seconds"])
    down_s = [d["seconds"] for d in downloads]
    down_mb_s = harness.mb_per_s(file_bytes, min(down_s))
    result["fresh_upload"] = {
        "seconds": harness.summary(fresh_s),
        "mb_s_best": fresh_mb_s,
        "ratio_to_upload_ceiling": fresh_mb_s / up_ceiling,
        "client_cpu_s_per_gb": best["client_cpu_s"] / gb,
        "server_cpu_s_per_gb": best["server_cpu_s"] / gb,
        "chunks": best["value"].chunks,
        "target": ">= 0.4",
    }
    result["reupload_identical"] = {
        "seconds": again["seconds"],
        "ratio_to_fresh_time": again["seconds"] / best["seconds"],
        "bytes_sent_fraction": again["value"].bytes_sent / file_bytes,
        "target": "time <= 0.4x fresh, bytes < 1%",
    }
    result["one_tensor_changed_header_shifted"] = {
        "bytes_sent_fraction": delta["value"].bytes_sent / file_bytes,
        "chunks_sent": delta["value"].chunks_sent,
        "seconds": delta["seconds"],
        "target": "<= 0.20",
    }
    result["download_verified"] = {
        "seconds": harness.summary(down_s),
        "mb_s_best": down_mb_s,
        "ratio_to_download_ceiling": down_mb_s / down_ceiling,
        "client_cpu_s_per_gb": min(d["client_cpu_s"] for d in downloads) / gb,
        "server_cpu_s_per_gb": min(d["server_cpu_s"] for d in downloads) / gb,
        "target": ">= 0.5",
    }
    result["server_rss_growth_big_upload"] = {
        "bytes_uploaded": big_bytes,
        "rss_growth_mb": growth / 1e6,
        "target": "< 150",
    }
    result["stored_to_raw"] = {**ratios, "target_bf16": "<= 0.70"}
    harness.emit(result)


if __name__ == "__main__":
    main()
