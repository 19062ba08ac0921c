"""The client distribution (clients/python) installs alone, without any server code, and
pushes and pulls against a running registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only ``pip install ./clients/python`` in it."""
    venv = tmp_path_factory.mktemp("client") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(ROOT / "clients" / "python"),
        ],
        check=True,
        timeout=900,
    )
    return venv


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def test_the_client_brings_no_server_code_or_server_dependencies(
    client_venv: Path, tmp_path: Path
) -> None:
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('services', 'modelregistry.metadata', 'sqlalchemy', 'alembic', "
        "'psycopg', 'boto3', 'starlette', 'opentelemetry') if u.find_spec(m)])"
    )
    found = subprocess.run(
        [str(client_venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not the repository, whose folders would be importable from here
        env=_env(),
    )
    assert found.stdout.strip() == "[]"


def test_the_client_alone_pushes_and_pulls(
    client_venv: Path, embedded_registry, tmp_path: Path
) -> None:
    mreg = str(client_venv / "bin" / "mreg")
    env = _env(
        MREG_GATEWAY=embedded_registry.address(embedded_registry.gateway),
        MREG_CACHE_DIR=str(tmp_path / "cache"),
    )
    weights = tmp_path / "model.bin"
    weights.write_bytes(os.urandom(3 * 1024 * 1024 + 17))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [mreg, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
        )

    pushed = run("push", str(weights), "--model", "alone")
    assert pushed.returncode == 0, pushed.stderr
    pulled = run("pull", "alone:1.0.0", str(tmp_path / "out"))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "out" / "model.bin").read_bytes() == weights.read_bytes()
    version = run("--version")
    assert version.stdout.startswith("mreg 0.")

    served = run("serve")  # the server's command, without the server
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [
        "mreg serve: this command runs the registry's server, which is not installed here "
        "(only the client, modelregistry-client, is): install the server distribution, "
        "`pip install .` in the registry's repository"
    ]


def test_the_client_alone_says_how_to_get_what_mreg_import_mlflow_needs(
    client_venv: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            str(client_venv / "bin" / "mreg"),
            "import",
            "mlflow",
            "--tracking-uri",
            "http://127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=_env(),
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "mreg import mlflow: reading MLflow needs its client library: "
        "pip install 'modelregistry-client[mlflow]'\n"
    )


def test_the_client_ships_the_openapi_description(client_venv: Path, tmp_path: Path) -> None:
    """The gateway serves /v1/openapi.json from the installed modelregistry.v1 package."""
    probe = (
        "import json; from importlib import resources; "
        "d = json.loads(resources.files('modelregistry.v1').joinpath('openapi.json').read_text()); "
        "print(d['paths']['/v1/references/{reference}']['get']['summary'])"
    )
    found = subprocess.run(
        [str(client_venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("ResolveModelVersion turns `name`")
