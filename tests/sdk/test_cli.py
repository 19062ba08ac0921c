"""The ``mreg`` command line against a running registry, and when none is running."""

from __future__ import annotations

import json
import subprocess
import sys

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
