"""Each service runs as its own process, and ``mreg serve`` runs all three; both stop cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.server import insecure_channel
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _wait_serving(
    address: str,
    service: str = "",
    timeout: float = 30.0,
    want: int = health_pb2.HealthCheckResponse.SERVING,
) -> None:
    deadline = time.monotonic() + timeout
    with insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                if status.status == want:
                    return
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}:{ROOT / 'clients/python'}",
        # HTTP listeners on free ports, never the shared defaults 8080/8081.
        "MREG_GATEWAY_HTTP_LISTEN": "127.0.0.1:0",
        "MREG_ARTIFACTS_HTTP_LISTEN": "127.0.0.1:0",
        **extra,
    }


def _stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, out


def test_gateway_process_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"],
        env=_env(MREG_GATEWAY_LISTEN=f"127.0.0.1:{port}", MREG_DATA_DIR=str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # No peers are running: it answers health, NOT_SERVING (tests/gateway/test_streams.py).
        _wait_serving(
            f"127.0.0.1:{port}",
            "modelregistry.v1.RegistryService",
            want=health_pb2.HealthCheckResponse.NOT_SERVING,
        )
    finally:
        code, out = _stop(proc, signal.SIGTERM)
    assert code == 0, out
    assert f"gateway listening on 127.0.0.1:{port}" in out
    assert "received SIGTERM, stopping" in out


@pytest.mark.parametrize(
    ("module", "listen", "service", "extra"),
    [
        ("services.artifacts", "MREG_ARTIFACTS_LISTEN", "modelregistry.v1.ArtifactService", {}),
        (
            "services.metadata",
            "MREG_METADATA_LISTEN",
            "modelregistry.metadata.v1.MetadataService",
            {},
        ),
    ],
)
def test_backend_services_run_as_their_own_processes(
    tmp_path: Path, module: str, listen: str, service: str, extra: dict[str, str]
) -> None:
    if module == "services.metadata":
        migrate = subprocess.run(
            [sys.executable, "-m", module, "migrate"],
            env=_env(MREG_DATA_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        env=_env(**{listen: f"127.0.0.1:{port}", "MREG_DATA_DIR": str(tmp_path)}, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_serving(f"127.0.0.1:{port}", service)
    finally:
        code, out = _stop(proc, signal.SIGTERM)
    assert code == 0, out


def _serve(data_dir: Path, ports: list[int], *extra: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mreg.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--gateway-port",
            str(ports[0]),
            "--artifacts-port",
            str(ports[1]),
            "--metadata-port",
            str(ports[2]),
            "--http-port",
            "0",
            *extra,
        ],
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _serve_until_ctrl_c(data_dir: Path, *extra: str, **env: str) -> tuple[list[int], str]:
    """``mreg serve`` until all three serve, then Ctrl-C; its ports and its whole output."""
    ports = [free_port() for _ in range(3)]
    proc = _serve(data_dir, ports, *extra, **env)
    try:
        for port in ports:
            _wait_serving(f"127.0.0.1:{port}")
        # The banner comes once all three report SERVING: wait for its last line.
        assert proc.stdout is not None
        before: list[str] = []
        while (line := proc.stdout.readline()) and line.strip() != "press Ctrl-C to stop":
            before.append(line)
    finally:
        code, rest = _stop(proc, signal.SIGINT)
    out = "".join(before) + rest
    assert code == 0, out
    return ports, out


def test_mreg_serve_runs_all_three_and_stops_on_ctrl_c_without_a_warning(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    ports, out = _serve_until_ctrl_c(data_dir)
    assert f"gateway    listening on 127.0.0.1:{ports[0]}" in out
    assert f"artifacts  listening on 127.0.0.1:{ports[1]}" in out
    assert f"metadata   listening on 127.0.0.1:{ports[2]}" in out
    assert re.search(
        r"^http       http://127\.0\.0\.1:\d+/ "
        r"\(web UI; HTTP/JSON under /v1/; OCI pull under /v2/\)$",
        out,
        re.M,
    ), out
    assert f"data       {data_dir.resolve()}" in out
    assert "auth       off: open to every process on this machine (loopback only)" in out
    assert "policy     none: any stage change the stage rules allow" in out
    assert (data_dir / "metadata.db").exists()
    assert out.rstrip().endswith("stopped")
    assert " WARNING " not in out and " ERROR " not in out, out  # a clean stop is quiet


def test_the_serve_banner_names_postgresql_and_the_policy_file(
    tmp_path: Path, postgres_url: str
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("default:\n  stages:\n    production:\n      approvals: 1\n")
    _, out = _serve_until_ctrl_c(
        tmp_path / "data", "--policy", str(policy), MREG_DATABASE_URL=postgres_url
    )
    assert "model registry running on PostgreSQL (MREG_DATABASE_URL) + local files" in out
    assert "embedded defaults" not in out
    assert f"policy     {policy.resolve()}" in out


def test_mreg_serve_on_a_taken_port_says_which(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mreg.cli",
                "serve",
                "--data-dir",
                str(tmp_path),
                "--metadata-port",
                str(port),
                "--gateway-port",
                str(free_port()),
                "--artifacts-port",
                str(free_port()),
                "--http-port",
                "0",
            ],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: another process listens on that port" in (
        result.stderr
    )
    assert "add_port.cc" not in result.stderr, result.stderr  # no line from gRPC's C core
    assert [line for line in result.stderr.splitlines() if "127.0.0.1:" in line] == [
        f"mreg serve: cannot listen on 127.0.0.1:{port}: another process listens on that port"
    ]
