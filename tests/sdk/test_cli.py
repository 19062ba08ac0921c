"""The ``mreg`` command line against a running registry, and when none is running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mreg.cli import main
from tests.conftest import free_port


def test_unreachable_gateway_is_one_line_naming_the_address() -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "mreg.cli", "show", "m:1.0.0", "--gateway", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"mreg show: cannot reach the registry at 127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_gateway_address_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("MREG_GATEWAY", f"127.0.0.1:{port}")
    assert main(["ls", "m", "--json"]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["code"] == "UNAVAILABLE"
    assert f"127.0.0.1:{port}" in captured.err


def _as_unprivileged(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``argv`` as an ordinary user: as root (CI), through setpriv as ``nobody``."""
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


@pytest.fixture
def shared_dir():
    """A directory an unprivileged user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="mreg-cli-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_push_of_an_unreadable_file_names_it(embedded_registry, shared_dir: Path) -> None:
    model = shared_dir / "locked.bin"
    model.write_bytes(b"weights")
    model.chmod(0)
    gateway = embedded_registry.address(embedded_registry.gateway)
    result = _as_unprivileged(
        [
            sys.executable,
            "-m",
            "mreg.cli",
            "push",
            str(model),
            "--model",
            "m",
            "--gateway",
            gateway,
        ],
        {"MREG_CACHE_DIR": str(shared_dir / "cache"), "HOME": str(shared_dir)},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"mreg push: cannot read {model}: Permission denied"


def test_pull_into_a_directory_without_write_permission_fails_clearly(
    embedded_registry, shared_dir: Path
) -> None:
    from mreg.client import Client

    source = shared_dir / "m.bin"
    source.write_bytes(b"weights")
    gateway = embedded_registry.address(embedded_registry.gateway)
    with Client(gateway) as client:
        client.push(source, model="ro", version="1.0.0", use_cache=False)
    target = shared_dir / "readonly"
    target.mkdir(mode=0o555)
    target.chmod(0o555)
    result = _as_unprivileged(
        [sys.executable, "-m", "mreg.cli", "pull", "ro:1.0.0", str(target), "--gateway", gateway],
        {"HOME": str(shared_dir)},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"mreg pull: cannot write to {target}: permission denied"
    assert list(target.iterdir()) == []
