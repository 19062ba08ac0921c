"""Real OCI clients against the registry: skopeo (Debian) and oras (PyPI) pull versions by
version tag, alias and digest, and every file arrives with its SHA-256."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import oras.provider

from tests.oci.conftest import TREE_FILES, Served, sha256

#: scripts/test installs skopeo (Debian's package); without it these tests fail, not skip.
SKOPEO = shutil.which("skopeo") or "skopeo"


def skopeo(*args: str) -> str:
    result = subprocess.run(
        [SKOPEO, "--insecure-policy", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def layout_files(layout: Path, tag: str) -> dict[str, str]:
    """Path -> SHA-256 of every layer of ``tag`` in an OCI layout, checked against its blob."""
    index = json.loads((layout / "index.json").read_text())
    (entry,) = [
        m
        for m in index["manifests"]
        if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    ]
    manifest = json.loads((layout / "blobs/sha256" / entry["digest"][7:]).read_bytes())
    files = {}
    for layer in manifest["layers"]:
        blob = layout / "blobs/sha256" / layer["digest"][7:]
        assert sha256(blob) == layer["digest"][7:]
        files[layer["annotations"]["org.cncf.model.filepath"]] = sha256(blob)
    return files


def test_skopeo_inspects_and_copies_by_version_alias_and_digest(
    served: Served, tmp_path: Path
) -> None:
    image = f"docker://{served.host}/team-a-llm"
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"{image}:1.0.0_build.7")
    manifest = json.loads(raw)
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    tags = json.loads(
        skopeo("list-tags", "--tls-verify=false", f"docker://{served.host}/team-a-llm")
    )["Tags"]
    assert sorted(tags) == [
        "1.0.0_build.7",
        "1.1.0",
        "champion",
        "development",
        "latest",
        "staging",
    ]
    digest = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
    layout = tmp_path / "layout"
    expected = {rel: sha256(served.tree_dir / rel) for rel in TREE_FILES}
    for source, tag in (
        (f"{image}:1.0.0_build.7", "by-version"),
        (f"{image}:champion", "by-alias"),
        (f"{image}@{digest}", "by-digest"),
    ):
        skopeo("copy", "--src-tls-verify=false", source, f"oci:{layout}:{tag}")
        assert layout_files(layout, tag) == expected, source


def test_skopeo_copies_a_single_file_model(served: Served, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{served.host}/team-b-single:latest",
        f"oci:{layout}:single",
    )
    assert layout_files(layout, "single") == {"weights.gguf": sha256(served.single_file)}


def test_skopeo_with_a_token_as_the_password(served_auth: Served, tmp_path: Path) -> None:
    source = f"docker://{served_auth.host}/team-b-single:2.0.0"
    layout = tmp_path / "layout"
    creds = f"ci:{served_auth.tokens['reader']}"
    skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, source, f"oci:{layout}:x")
    assert layout_files(layout, "x") == {"weights.gguf": sha256(served_auth.single_file)}
    denied = subprocess.run(
        [SKOPEO, "--insecure-policy", "inspect", "--tls-verify=false", "--raw", source],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert denied.returncode != 0
    assert "this registry requires a token" in denied.stderr


def test_oras_pulls_a_multi_file_and_a_single_file_model(served: Served, tmp_path: Path) -> None:
    client = oras.provider.Registry(served.host, insecure=True)
    out = tmp_path / "tree"
    pulled = client.pull(target=f"{served.host}/team-a-llm:champion", outdir=str(out))
    assert sorted(Path(p).relative_to(out).as_posix() for p in pulled) == sorted(TREE_FILES)
    for rel in TREE_FILES:
        assert sha256(out / rel) == sha256(served.tree_dir / rel)
    single = tmp_path / "single"
    client.pull(target=f"{served.host}/team-b-single:2.0.0", outdir=str(single))
    assert sha256(single / "weights.gguf") == sha256(served.single_file)
