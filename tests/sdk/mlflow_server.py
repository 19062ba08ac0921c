"""A real ``mlflow server`` for the import tests, run from MLflow's own venv (.venv-mlflow
for MLflow 3, .venv-mlflow2 for MLflow 2; scripts/test installs both), and a populator
that fills it through the same venv's MLflow client."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
#: The MLflow servers the import tests run against, by major version.
VENVS = {3: ROOT / ".venv-mlflow", 2: ROOT / ".venv-mlflow2"}
POPULATE = ROOT / "tests" / "mlflow" / "populate.py"


@dataclass
class MlflowServer:
    url: str
    version: str
    artifacts: Path
    server: subprocess.Popen
    populator: subprocess.Popen

    def populate(self, spec: list) -> dict:
        """Create the models and versions of ``spec`` (see populate.py); their run ids."""
        assert self.populator.stdin is not None and self.populator.stdout is not None
        self.populator.stdin.write(json.dumps(spec) + "\n")
        self.populator.stdin.flush()
        return json.loads(_line_starting(self.populator, "ANSWER ").removeprefix("ANSWER "))

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def artifact_dir(self, experiment_id: str, run_id: str) -> Path:
        """Where the server keeps a run's artifacts (``--artifacts-destination``)."""
        return self.artifacts / experiment_id / run_id / "artifacts"

    def stop(self) -> None:
        stop_process(self.populator)
        _stop_group(self.server)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (it forks workers), SIGKILL after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _line_starting(proc: subprocess.Popen, prefix: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the MLflow populator ended (exit {proc.wait()}) before {prefix!r}")


def start_mlflow(tmp: Path, major: int = 3) -> MlflowServer:
    """``mlflow server`` of MLflow ``major`` (a key of :data:`VENVS`) on a free loopback
    port, SQLite in ``tmp``, artifacts served."""
    venv = VENVS[major]
    mlflow = venv / "bin" / "mlflow"
    assert mlflow.exists(), f"{mlflow} is missing: scripts/test installs it (run it once)"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "mlflow-server.log").open("w")
    server = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp / 'mlflow.db'}",
            "--artifacts-destination",
            str(tmp / "artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # The populator imports MLflow while the server starts, then waits for /health.
    populator = subprocess.Popen(
        [str(venv / "bin" / "python"), str(POPULATE), url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp / "mlflow-populate.log").open("w"),
        text=True,
        cwd=POPULATE.parent,
    )
    try:
        version = _line_starting(populator, "READY ").removeprefix("READY ")
    except AssertionError:
        _stop_group(server)
        print((tmp / "mlflow-server.log").read_text()[-2000:], file=sys.stderr)
        raise
    assert version.startswith(f"{major}."), f"{venv} has MLflow {version}, not {major}.x"
    return MlflowServer(url, version, tmp / "artifacts", server, populator)
