"""``Client.push`` and ``Client.pull`` against a real registry: dedup, trees, verification."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modelregistry.v1 import registry_pb2, resources_pb2
from mreg.client import Client
from mreg.errors import NotFoundError
from mreg.transfer import TransferError


@pytest.fixture
def client(embedded_registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    with Client(embedded_registry.address(embedded_registry.gateway), timeout=30) as c:
        yield c


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_push_a_file_then_pull_it_back_verified(client: Client, tmp_path: Path) -> None:
    model = _write(tmp_path / "src" / "model.bin", os.urandom(3 * 1024 * 1024 + 5))
    pushed = client.push(model, model="single", version="1.0.0", metrics={"auc": 0.9})
    assert pushed.version.state == resources_pb2.VERSION_STATE_READY
    assert pushed.version.artifact_digest.hash == _sha(model)
    assert pushed.stats.bytes_sent == pushed.stats.bytes_total == model.stat().st_size

    pulled = client.pull("single:1.0.0", tmp_path / "out")
    assert [p.name for p in pulled.paths] == ["model.bin"]
    assert _sha(pulled.paths[0]) == _sha(model)


def test_second_push_of_the_same_bytes_sends_nothing_and_skips_hashing(
    client: Client, tmp_path: Path
) -> None:
    model = _write(tmp_path / "m.bin", os.urandom(4 * 1024 * 1024))
    first = client.push(model, model="dedup")
    second = client.push(model, model="dedup")
    assert first.stats.bytes_sent == model.stat().st_size
    assert second.stats.bytes_sent == 0
    assert second.stats.files_hashed == 0
    assert (first.version.version, second.version.version) == ("1.0.0", "1.0.1")
    third = client.push(model, model="dedup", use_cache=False)
    assert third.stats.files_hashed == 1
    assert third.stats.bytes_sent == 0


def test_a_changed_part_sends_only_the_changed_chunks(client: Client, tmp_path: Path) -> None:
    data = bytearray(os.urandom(12 * 1024 * 1024))
    model = _write(tmp_path / "m.bin", bytes(data))
    client.push(model, model="partial")
    data[6 * 1024 * 1024 : 6 * 1024 * 1024 + 100] = os.urandom(100)
    model.write_bytes(bytes(data))
    second = client.push(model, model="partial")
    assert 0 < second.stats.bytes_sent <= 5 * 1024 * 1024


def test_push_a_directory_as_a_tree_and_pull_skips_present_files(
    client: Client, tmp_path: Path
) -> None:
    src = tmp_path / "model"
    _write(src / "config.json", b'{"layers": 2}')
    _write(src / "weights" / "shard-0.bin", os.urandom(2 * 1024 * 1024))
    _write(src / "weights" / "shard-1.bin", os.urandom(1024 * 1024))
    _write(src / "empty.txt", b"")
    pushed = client.push(src, model="tree", version="2.0.0", datasets=["imagenet@3"])
    assert pushed.version.artifact_is_tree
    assert pushed.stats.files == 4

    out = tmp_path / "out"
    first = client.pull("tree:2.0.0", out)
    assert sorted(p.relative_to(out).as_posix() for p in first.paths) == [
        "config.json",
        "empty.txt",
        "weights/shard-0.bin",
        "weights/shard-1.bin",
    ]
    for path in first.paths:
        assert _sha(path) == _sha(src / path.relative_to(out))
    (out / "config.json").write_bytes(b"tampered")
    second = client.pull("tree:2.0.0", out)
    assert second.stats.files_skipped == 3
    assert (out / "config.json").read_bytes() == b'{"layers": 2}'


def test_push_records_lineage_of_parents_and_datasets(client: Client, tmp_path: Path) -> None:
    base = client.push(_write(tmp_path / "a.bin", b"base"), model="lm", version="1.0.0")
    tuned = client.push(
        _write(tmp_path / "b.bin", b"tuned"),
        model="lm",
        version="1.1.0",
        parents=["lm:1.0.0"],
        datasets=["chat@2"],
    )
    lineage = client._unary(
        "GetLineage",
        registry_pb2.GetLineageRequest(
            node=resources_pb2.LineageNode(
                type=resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION, key=tuned.version.name
            ),
            direction=resources_pb2.LINEAGE_DIRECTION_UP,
        ),
    )
    keys = {node.key for node in lineage.nodes}
    assert {base.version.name, "chat@2"} <= keys


def test_push_of_a_missing_path_says_so(client: Client, tmp_path: Path) -> None:
    with pytest.raises(TransferError, match=f"{tmp_path / 'nope'} does not exist"):
        client.push(tmp_path / "nope", model="m")


def test_push_refuses_a_symlink_that_points_outside(client: Client, tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.txt", b"password")
    src = tmp_path / "model"
    _write(src / "weights.bin", b"w")
    (src / "leak.txt").symlink_to(secret)
    with pytest.raises(TransferError, match=r"leak.txt is a symlink to .*secret.txt, outside"):
        client.push(src, model="m")


def test_pull_of_an_unknown_version_is_not_found(client: Client, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        client.pull("nobody:1.0.0", tmp_path / "out")


def test_pull_never_leaves_a_partial_file_under_the_final_name(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mreg.transfer as transfer

    client.push(_write(tmp_path / "m.bin", os.urandom(2 * 1024 * 1024)), model="p", version="1.0.0")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(transfer.os, "pwrite", broken)
    out = tmp_path / "out"
    with pytest.raises(TransferError, match=r"cannot write .*m\.bin: No space left on device"):
        client.pull("p:1.0.0", out)
    # Only the hidden partial file and its journal stay, for the next pull to resume from.
    assert sorted(p.name for p in out.iterdir()) == [
        ".m.bin.mreg-partial",
        ".m.bin.mreg-partial.journal",
    ]
