"""``mreg pull`` refuses a tree no file system can hold before writing anything.

The artifact service refuses such trees on ``CommitTree``; these trees are planted in the
store directly, as an older server (or a tampered store) could have left them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2
from mreg.client import Client
from mreg.transfer import TransferError
from services.artifacts import trees
from services.artifacts.app import build_service
from services.common.server import insecure_channel


@pytest.fixture
def client(embedded_registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    with Client(embedded_registry.address(embedded_registry.gateway), timeout=30) as c:
        yield c


def _plant_tree(registry, model: str, entries: list[tuple[str, int]]) -> None:
    """Store a tree manifest without CommitTree's checks and register it as ``model``."""
    store = build_service(registry.settings)
    data = b"same bytes in every file"
    store.put_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    manifest = trees.encode(
        sorted(
            (trees.Entry(path, digest, len(data), mode) for path, mode in entries),
            key=lambda e: e.path,
        )
    )
    tree = store.put_bytes(manifest, is_tree=True)
    with insecure_channel(registry.address(registry.gateway)) as channel:
        registry_pb2_grpc.RegistryServiceStub(channel).RegisterModelVersion(
            registry_pb2.RegisterModelVersionRequest(
                parent=f"models/{model}",
                model_version=resources_pb2.ModelVersion(
                    version="1.0.0",
                    artifact_digest=resources_pb2.Digest(hash=tree.hash, size_bytes=tree.size),
                    artifact_is_tree=True,
                ),
            ),
            timeout=30,
        )


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (
            [("x", 0o644), ("x/y", 0o644)],
            "entries[1].path: path 'x/y' puts a file inside 'x', which entry 0 names as a "
            "file; a path cannot be both a file and a directory",
        ),
        (
            [("Model.bin", 0o644), ("model.bin", 0o644)],
            "entries[1].path: 'model.bin' and 'Model.bin' of entry 0 differ only by case or "
            "Unicode normalization; they collide on macOS and Windows",
        ),
        (
            [("a.bin", 0o644), ("evil\x1b[2J.bin", 0o644)],
            "entries[1].path: path 'evil\\x1b[2J.bin' contains the control character U+001B; "
            "paths may not contain control characters",
        ),
        (
            [("run.sh", 0o4755)],
            "entries[0].mode: mode 4755 sets the setuid bit; modes are permission bits only "
            "(at most 777)",
        ),
    ],
)
def test_pull_refuses_a_tree_a_file_system_cannot_hold_before_writing(
    client: Client, embedded_registry, tmp_path: Path, entries, problem: str
) -> None:
    _plant_tree(embedded_registry, "planted", entries)
    dest = tmp_path / "out"
    with pytest.raises(TransferError) as info:
        client.pull("planted:1.0.0", dest)
    assert str(info.value) == f"refusing to pull into {dest}: {problem}"
    assert not dest.exists()


def test_push_refuses_a_directory_whose_names_differ_only_by_case(
    client: Client, tmp_path: Path
) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "Weights.bin").write_bytes(b"a")
    (src / "weights.bin").write_bytes(b"b")
    with pytest.raises(TransferError) as info:
        client.push(src, model="cased")
    assert str(info.value) == (
        f"cannot push {src} as a tree: 'weights.bin' and 'Weights.bin' of entry 0 differ "
        "only by case or Unicode normalization; they collide on macOS and Windows"
    )
