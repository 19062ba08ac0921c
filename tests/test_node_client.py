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


def _roundtrip(node: str, model_file: Path, gateway: str, *options: str, model: str = "m"):
    return subprocess.run(
        [
            node,
            "roundtrip.js",
            "--gateway",
            gateway,
            "--file",
            str(model_file),
            "--model",
            model,
            "--version",
            "1.0.0",
            "--alias",
            "champion",
            *options,
        ],
        cwd=NODE_CLIENT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("MREG_")},
    )


def test_node_client_round_trips_over_mutual_tls(tmp_path: Path) -> None:
    from tests.tlsregistry import serve_tls

    node = _node()
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(os.urandom(1024 * 1024 + 5))
    with serve_tls(tmp_path / "registry", mutual=True) as registry:
        pki = registry.pki
        result = _roundtrip(
            node,
            model_file,
            registry.gateway,
            "--tls",
            "--ca-file",
            str(pki.ca),
            "--cert",
            str(pki.client_cert),
            "--key",
            str(pki.client_key),
            "--token",
            "t0ken",
            model="node-tls",
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["verified"] is True
        assert report["resolved"] == "models/node-tls/versions/1.0.0"
        # Without the client certificate the registry refuses the connection.
        refused = _roundtrip(
            node, model_file, f"https://{registry.gateway}", "--ca-file", str(pki.ca)
        )
        assert refused.returncode == 2
        assert "(code 14)" in refused.stderr  # UNAVAILABLE


def test_node_client_refuses_a_token_in_plaintext_off_this_machine(tmp_path: Path) -> None:
    node = _node()
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"x")
    result = _roundtrip(node, model_file, "10.255.255.1:50051", "--token", "secret")
    assert result.returncode == 2
    assert result.stderr == (
        "error: refusing to send the bearer token to 10.255.255.1:50051 in plaintext: anyone "
        "on the network could read it. Use TLS (--tls or an https:// address, with --ca-file "
        "if the registry's certificate is from a private CA; MREG_TLS=1 and MREG_CA_FILE in "
        "the environment), or reach the registry over loopback\n"
    )
