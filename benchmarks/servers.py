"""Registry processes for benchmarks: ``mreg serve`` on free ports, and a health wait."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.harness import free_port


def wait_healthy(address: str, procs: list[subprocess.Popen], timeout: float = 60) -> None:
    """Block until the server at ``address`` answers health checks; fail if a process died."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                return
            except grpc.RpcError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"server at {address} did not start") from None
                time.sleep(0.2)


def start_embedded(
    data_dir: Path, http_port: int = 0, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """``mreg serve`` (SQLite + local files) on free ports; returns it and the gateway.
    ``http_port`` is its HTTP port (OCI); 0 lets it pick one. ``env``: its environment."""
    gateway, artifacts, metadata = (free_port() for _ in range(3))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mreg.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--gateway-port",
            str(gateway),
            "--artifacts-port",
            str(artifacts),
            "--metadata-port",
            str(metadata),
            "--http-port",
            str(http_port),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    address = f"127.0.0.1:{gateway}"
    wait_healthy(address, [proc])
    return proc, address


def start_separate(
    data_dir: Path, env: dict[str, str] | None = None
) -> tuple[list[subprocess.Popen], str]:
    """The three services as three processes (as deployed), sharing ``data_dir`` (SQLite +
    local files unless ``env`` says otherwise, e.g. ``MREG_DATABASE_URL``); returns them
    (the gateway last) and the gateway's address."""
    ports = {name: free_port() for name in ("metadata", "artifacts", "gateway")}
    env = {
        **os.environ,
        "MREG_DATA_DIR": str(data_dir),
        "MREG_LOG_LEVEL": "WARNING",
        **(env or {}),
        "MREG_GATEWAY_HTTP_LISTEN": "127.0.0.1:0",
        "MREG_ARTIFACTS_HTTP_LISTEN": "127.0.0.1:0",
        "MREG_ARTIFACTS_ADDRESS": f"127.0.0.1:{ports['artifacts']}",
        "MREG_METADATA_ADDRESS": f"127.0.0.1:{ports['metadata']}",
        **{f"MREG_{name.upper()}_LISTEN": f"127.0.0.1:{p}" for name, p in ports.items()},
    }
    subprocess.run(
        [sys.executable, "-m", "services.metadata", "migrate"],
        env=env,
        check=True,
        capture_output=True,
    )
    procs = []
    for name, port in ports.items():
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_healthy(f"127.0.0.1:{port}", procs)
    return procs, f"127.0.0.1:{ports['gateway']}"
