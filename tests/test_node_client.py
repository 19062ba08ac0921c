"""A Node.js client generated from the protos at run time round-trips through real servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_CLIENT = ROOT / "clients" / "node"


def _node() -> str:
    node = shutil.which("node")
    installed = (NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js").exists()
    if node and installed:
        return node
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("node or clients/node/node_modules missing: scripts/test installs them")
    pytest.skip("node client not installed; run scripts/test")


def test_node_client_uploads_registers_resolves_alias_and_downloads(
    embedded_registry, tmp_path: Path
) -> None:
    node = _node()
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(os.urandom(2 * 1024 * 1024 + 777))
    result = subprocess.run(
        [
            node,
            "roundtrip.js",
            "--gateway",
            embedded_registry.address(embedded_registry.gateway),
            "--file",
            str(model_file),
            "--model",
            "node-model",
            "--version",
            "1.2.3",
            "--alias",
            "champion",
        ],
        cwd=NODE_CLIENT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert report["registered"] == "models/node-model/versions/1.2.3"
    assert report["state"] == "VERSION_STATE_READY"
    assert report["reference"] == "node-model@champion"
    assert report["resolved"] == "models/node-model/versions/1.2.3"
