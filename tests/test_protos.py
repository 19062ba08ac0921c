"""The contracts: generated code is what the generator makes, buf lint passes, and the
public protos keep every published wire and JSON detail of the committed baseline."""

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


@pytest.mark.parametrize(
    "generated", ["modelregistry/v1/resources_pb2.py", "modelregistry/metadata/v1/metadata_pb2.py"]
)
def test_generated_check_notices_a_stale_file(tmp_path: Path, generated: str) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "protos", copy / "protos")
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    stale = copy / "protos" / generated
    stale.write_text(stale.read_text() + "\n# edited by hand\n")
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"stale generated file: protos/{generated}" in result.stderr


BASELINE = "public-baseline.binpb"


def _buf() -> str:
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("buf is not installed: scripts/test installs it with npm ci")
        pytest.skip("buf not installed; run scripts/test")
    return str(buf)


def test_buf_lint_passes() -> None:
    result = subprocess.run([_buf(), "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _breaking(protos: Path) -> subprocess.CompletedProcess:
    """What scripts/test runs: the public package only (not the vendored third_party
    module, which the baseline does not hold)."""
    return subprocess.run(
        [_buf(), "breaking", "--against", BASELINE, "--path", "modelregistry/v1"],
        cwd=protos,
        capture_output=True,
        text=True,
    )


def test_buf_breaking_passes_against_the_committed_baseline() -> None:
    result = _breaking(ROOT / "protos")
    assert result.returncode == 0, result.stdout + result.stderr


def _edited_copy(tmp_path: Path, proto: str, old: str, new: str) -> Path:
    copy = tmp_path / "protos"
    shutil.copytree(ROOT / "protos", copy, ignore=shutil.ignore_patterns("*.py", "*.pyi"))
    path = copy / proto
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {proto}"
    path.write_text(text.replace(old, new))
    return copy


def test_buf_breaking_refuses_a_renumbered_public_field(tmp_path: Path) -> None:
    # ResolveModelVersionRequest.reference moves from field 1 to field 9.
    copy = _edited_copy(
        tmp_path,
        "modelregistry/v1/registry.proto",
        "  // `name`, `name:version`, `name@alias` or `name@stage`.\n  string reference = 1;",
        "  // `name`, `name:version`, `name@alias` or `name@stage`.\n  string reference = 9;",
    )
    result = _breaking(copy)
    assert result.returncode != 0
    assert "ResolveModelVersionRequest" in result.stdout, result.stdout + result.stderr


def test_buf_breaking_refuses_a_renamed_public_field(tmp_path: Path) -> None:
    # The wire stays the same, the JSON name does not: WIRE_JSON refuses it.
    copy = _edited_copy(
        tmp_path,
        "modelregistry/v1/registry.proto",
        "string server_version = 6;",
        "string release = 6;",
    )
    result = _breaking(copy)
    assert result.returncode != 0
    assert "server_version" in result.stdout, result.stdout + result.stderr


def test_buf_breaking_lets_the_internal_package_change(tmp_path: Path) -> None:
    copy = _edited_copy(
        tmp_path,
        "modelregistry/metadata/v1/metadata.proto",
        "  string reference = 1;\n}",
        "  string reference = 7;\n}",
    )
    result = _breaking(copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rpc_documents_its_errors() -> None:
    for proto in sorted((ROOT / "protos" / "modelregistry").rglob("*.proto")):
        lines = proto.read_text().splitlines()
        for number, line in enumerate(lines):
            if line.strip().startswith("rpc "):
                comment = []
                for previous in reversed(lines[:number]):
                    if not previous.strip().startswith("//"):
                        break
                    comment.append(previous)
                assert any("Errors:" in c for c in comment), f"{proto.name}:{number + 1} {line}"
