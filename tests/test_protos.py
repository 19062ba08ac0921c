"""The contracts: generated code is what the generator makes, and buf lint passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_generated_python_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_generated_check_notices_a_stale_file(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "protos", copy / "protos")
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    stale = copy / "protos" / "modelregistry" / "v1" / "resources_pb2.py"
    stale.write_text(stale.read_text() + "\n# edited by hand\n")
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "stale generated file: protos/modelregistry/v1/resources_pb2.py" in result.stderr


def test_buf_lint_passes() -> None:
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("buf is not installed: scripts/test installs it with npm ci")
        pytest.skip("buf not installed; run scripts/test")
    result = subprocess.run([str(buf), "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rpc_documents_its_errors() -> None:
    for proto in sorted((ROOT / "protos" / "modelregistry" / "v1").glob("*.proto")):
        lines = proto.read_text().splitlines()
        for number, line in enumerate(lines):
            if line.strip().startswith("rpc "):
                comment = []
                for previous in reversed(lines[:number]):
                    if not previous.strip().startswith("//"):
                        break
                    comment.append(previous)
                assert any("Errors:" in c for c in comment), f"{proto.name}:{number + 1} {line}"
