"""S3 requests per push and pull (issue 13): what a fresh push, an unchanged re-push and a
verified pull cost in requests to the bucket, counted by moto's S3 server itself.

The artifact service runs as its own process (``python -m services.artifacts``) on a bucket
of moto's server mode, its index on SQLite, the background compactor off (it is reported
apart: today it reads and rewrites each raw chunk, two requests per chunk) and the health
probe slowed to once an hour so that its writes do not count. The client is the SDK's own
transfer code. Each request moto serves is one line of its access log; the figure for a
phase is the lines it added, by method.

No latency is added here: wall times are loopback times. The issue's budgets: fresh push of
1 GiB <= 64 requests, re-push of an unchanged 10 GiB <= 10, pull of 1 GiB <= 64 GETs.

Run: ``python -m benchmarks.s3_requests [--size-mib 1024]``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import grpc

from benchmarks import harness
from benchmarks.artifacts_transfer import read_verified
from benchmarks.servers import wait_healthy
from modelregistry.v1 import artifacts_pb2_grpc
from mreg.transfer import push_blob
from services.common.server import insecure_channel

MIB = 1024 * 1024
_REQUEST = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) ')
BUCKET = "bench"


class Moto:
    """moto's S3 server as a subprocess, its access log in a file."""

    def __init__(self, workdir: Path) -> None:
        self.port = harness.free_port()
        self.log = workdir / "moto.log"
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                boto3.client(
                    "s3",
                    endpoint_url=self.url,
                    region_name="us-east-1",
                    aws_access_key_id="test",
                    aws_secret_access_key="test",
                ).create_bucket(Bucket=BUCKET)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def requests(self) -> Counter[str]:
        """Requests served so far, by method."""
        return Counter(m.group(1) for m in _REQUEST.finditer(self.log.read_text()))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _service(workdir: Path, moto: Moto) -> tuple[subprocess.Popen, str]:
    port = harness.free_port()
    env = {
        **os.environ,
        "MREG_DATA_DIR": str(workdir / "data"),
        "MREG_STORAGE_BACKEND": "s3",
        "MREG_S3_BUCKET": BUCKET,
        "MREG_S3_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MREG_ARTIFACTS_LISTEN": f"127.0.0.1:{port}",
        "MREG_ARTIFACTS_HTTP_LISTEN": "127.0.0.1:0",
        "MREG_COMPACT": "false",
        "MREG_BACKEND_PROBE_SECONDS": "3600",
        "MREG_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.artifacts"], env=env)
    address = f"127.0.0.1:{port}"
    wait_healthy(address, [proc])
    return proc, address


def _phase(moto: Moto, name: str, run: Any, size: int) -> dict[str, Any]:
    before = moto.requests()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    spent = moto.requests() - before
    total = sum(spent.values())
    return {
        "phase": name,
        "requests": total,
        "by_method": dict(sorted(spent.items())),
        "requests_per_gib": round(total / (size / (1024 * MIB)), 1),
        "wall_seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="mreg-s3-requests-") as tmp:
        workdir = Path(tmp)
        weights = workdir / "weights.bin"
        with open(weights, "wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        moto = Moto(workdir)
        proc, address = _service(workdir, moto)
        try:
            with insecure_channel(address) as channel:
                stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
                pushed: list[Any] = []
                phases = [
                    _phase(
                        moto, "fresh_push", lambda: pushed.append(push_blob(stub, weights)), size
                    ),
                    _phase(moto, "unchanged_repush", lambda: push_blob(stub, weights), size),
                    _phase(
                        moto,
                        "verified_pull",
                        lambda: read_verified(channel, pushed[0][0].digest),
                        size,
                    ),
                ]
        except grpc.RpcError as error:
            raise SystemExit(f"s3_requests: {error.code().name}: {error.details()}") from None
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            moto.stop()
    budgets = {"fresh_push": 64, "unchanged_repush": 10, "verified_pull": 64}
    for phase in phases:
        budget = budgets[phase["phase"]] * (
            size / (1024 * MIB) if phase["phase"] != "unchanged_repush" else 1
        )
        phase["budget"] = round(budget, 1)
        phase["within_budget"] = phase["requests"] <= budget
    harness.emit(
        {
            "benchmark": "s3_requests",
            "size_mib": args.size_mib,
            "phases": phases,
            "note": "compactor off (it adds a GET and a PUT per raw chunk); no added latency",
            "environment": harness.environment(),
        }
    )


if __name__ == "__main__":
    main()
