"""Corrupt data heals: a chunk flipped or truncated on disk is quarantined when read or
scrubbed, reads as missing, is re-sent by the next push, and registration refuses a blob
that lists it meanwhile. The real registry (embedded), the SDK and the scrub command."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from mreg.chunkids import BLAKE3, chunk_id
from mreg.chunking import ChunkRef, iter_file_chunks
from mreg.client import Client
from mreg.errors import DataLossError
from mreg.transfer import chunk_digest
from services.artifacts.backends.local import LocalBackend
from services.artifacts.store import Records, chunk_key
from services.common.server import insecure_channel

MIB = 1024 * 1024


@pytest.fixture
def no_compactor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background compactor reads every chunk of a committed blob once uploads are
    quiet for 2 s; on a loaded machine that can be after the test damaged them, and it then
    quarantines them before the read or scrub under test finds them."""
    monkeypatch.setenv("MREG_COMPACT", "false")


@pytest.fixture
def registry(no_compactor, embedded_registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    root = embedded_registry.settings.resolved_storage_path
    with (
        Client(embedded_registry.address(embedded_registry.gateway), timeout=30) as client,
        insecure_channel(embedded_registry.address(embedded_registry.artifacts)) as channel,
    ):
        yield client, artifacts_pb2_grpc.ArtifactServiceStub(channel), root


def _model(tmp_path: Path) -> Path:
    src = tmp_path / "model"
    src.mkdir()
    # a.bin needs a second chunk to flip; 3 MiB of random bytes is sometimes one chunk.
    (src / "a.bin").write_bytes(os.urandom(3 * MIB))
    while len(list(iter_file_chunks(src / "a.bin"))) < 2:
        (src / "a.bin").write_bytes(os.urandom(3 * MIB))
    (src / "b.bin").write_bytes(os.urandom(3 * MIB))
    return src


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _damage(root: Path, src: Path) -> tuple[str, str, str, str]:
    """Flip a byte in a chunk of a.bin and truncate a chunk of b.bin, on disk.

    Returns (blob a, its flipped chunk, blob b, its truncated chunk)."""
    records = Records(LocalBackend(root))
    blob_a, blob_b = (_sha((src / n).read_bytes()) for n in ("a.bin", "b.bin"))
    flipped = records.get_manifest(blob_a).chunks[1][0]
    truncated = records.get_manifest(blob_b).chunks[0][0]
    path = root / chunk_key(flipped)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    path = root / chunk_key(truncated)
    path.write_bytes(path.read_bytes()[:1000])
    return blob_a, flipped, blob_b, truncated


def _read(stub, blob: str, size: int) -> bytes:
    request = artifacts_pb2.ReadBlobRequest(digest=resources_pb2.Digest(hash=blob, size_bytes=size))
    return b"".join(r.data for r in stub.ReadBlob(request, timeout=10))


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_a_read_quarantines_a_corrupt_chunk_and_the_next_push_repairs_it(
    registry, tmp_path: Path
) -> None:
    client, stub, root = registry
    src = _model(tmp_path)
    client.push(src, model="healing", version="1.0.0")
    blob_a, flipped, blob_b, truncated = _damage(root, src)
    advice = "push a file that contains it again to repair it"

    error = _error(lambda: _read(stub, blob_a, 3 * MIB))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert error.details() == (
        f"chunk {flipped} of blob {blob_a} is corrupt (its stored bytes do not match their "
        f"checksum) and was quarantined; {advice}"
    )
    error = _error(lambda: _read(stub, blob_b, 3 * MIB))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert error.details() == (
        f"chunk {truncated} of blob {blob_b} is corrupt (its stored bytes do not match their "
        f"checksum) and was quarantined; {advice}"
    )
    assert not (root / chunk_key(flipped)).exists()
    assert (root / "quarantine" / f"{flipped}.data").exists()

    # Quarantined: reads say so, FindMissingChunks reports both chunks missing.
    error = _error(lambda: _read(stub, blob_a, 3 * MIB))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.DATA_LOSS,
        f"chunk {flipped} of blob {blob_a} failed verification and is quarantined; {advice}",
    )
    missing = stub.FindMissingChunks(
        artifacts_pb2.FindMissingChunksRequest(
            digests=[chunk_digest(ChunkRef(0, 1, h)) for h in (flipped, truncated)]
        ),
        timeout=10,
    ).missing_digests
    assert [chunk_id(d.hash, BLAKE3) for d in missing] == [flipped, truncated]
    with pytest.raises(DataLossError) as info:
        client.pull("healing:1.0.0", tmp_path / "broken")
    assert "failed verification and is quarantined" in info.value.message

    # The next push sends exactly the two quarantined chunks and repairs both files.
    records = Records(LocalBackend(root))
    sizes = dict(records.get_manifest(blob_a).chunks) | dict(records.get_manifest(blob_b).chunks)
    pushed = client.push(src, model="healing", version="1.0.1")
    assert pushed.stats.bytes_sent == sizes[flipped] + sizes[truncated]
    pulled = client.pull("healing:1.0.0", tmp_path / "healed")
    assert sorted(p.name for p in pulled.paths) == ["a.bin", "b.bin"]
    for path in pulled.paths:
        assert path.read_bytes() == (src / path.name).read_bytes()


def _scrub_command(root: Path) -> tuple[int, dict]:
    # The store is {data_dir}/artifacts; the pins are in the index in {data_dir}.
    env = {
        **os.environ,
        "MREG_STORAGE_BACKEND": "local",
        "MREG_STORAGE_PATH": str(root),
        "MREG_DATA_DIR": str(root.parent),
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.artifacts", "scrub", "--max-mb-per-second", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_scrub_finds_both_names_the_versions_and_registration_refuses_until_repaired(
    embedded_registry, registry, tmp_path: Path
) -> None:
    client, stub, root = registry
    src = _model(tmp_path)
    first = client.push(src, model="scrubbed", version="1.0.0")
    client.push(src, model="scrubbed", version="1.0.1")
    tree = first.version.artifact_digest
    blob_a, flipped, blob_b, truncated = _damage(root, src)

    stored = [p.stat().st_size for p in (root / "chunks").rglob("*") if p.is_file()]

    code, report = _scrub_command(root)
    assert code == 1
    assert report["chunks_checked"] == len(stored)
    assert report["bytes_checked"] == sum(stored)
    assert sorted(report["chunks_quarantined"]) == sorted([flipped, truncated])
    holders = ["models/scrubbed/versions/1.0.0", "models/scrubbed/versions/1.0.1"]
    assert sorted(
        (b["hash"], b["quarantined_chunks"], b["pinned_by"], b["trees"])
        for b in report["unreadable"]
    ) == sorted(
        [
            (blob_a, [flipped], holders, [tree.hash]),
            (blob_b, [truncated], holders, [tree.hash]),
        ]
    )
    assert report["max_mb_per_second"] == 0

    # Through the admin RPC: nothing new is found, both blobs are still unreadable.
    again = stub.ScrubStorage(artifacts_pb2.ScrubStorageRequest(max_mb_per_second=0), timeout=30)
    assert list(again.chunks_quarantined) == []
    assert sorted(b.digest.hash for b in again.unreadable) == sorted([blob_a, blob_b])

    # Registration refuses the tree while its chunks are quarantined; so does CommitBlob.
    stat = stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=tree), timeout=10).blob
    assert [chunk_id(c.hash, BLAKE3) for c in stat.quarantined_chunks] == [flipped, truncated]
    with insecure_channel(embedded_registry.address(embedded_registry.gateway)) as channel:
        gateway = registry_pb2_grpc.RegistryServiceStub(channel)
        error = _error(
            lambda: gateway.RegisterModelVersion(
                registry_pb2.RegisterModelVersionRequest(
                    parent="models/scrubbed",
                    model_version=resources_pb2.ModelVersion(
                        artifact_digest=tree, artifact_is_tree=True
                    ),
                    request_id=str(uuid.uuid4()),
                ),
                timeout=10,
            )
        )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"cannot register sha256:{tree.hash}: 2 of its chunk(s) failed verification and are "
        f"quarantined: {flipped}, {truncated}; push the files again to repair them"
    )
    chunks = Records(LocalBackend(root)).get_manifest(blob_a).chunks
    error = _error(
        lambda: stub.CommitBlob(
            artifacts_pb2.CommitBlobRequest(
                blob_digest=resources_pb2.Digest(hash=blob_a, size_bytes=3 * MIB),
                chunk_digests=[chunk_digest(ChunkRef(0, s, h)) for h, s in chunks],
            ),
            timeout=10,
        )
    )
    assert (error.code(), error.details()) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"1 chunk(s) are missing: {flipped}; upload them with UploadChunks first",
    )

    # A push repairs; the scrub then finds the store whole.
    repaired = client.push(src, model="scrubbed", version="1.1.0")
    assert repaired.stats.bytes_sent > 0
    code, report = _scrub_command(root)
    assert (code, report["chunks_quarantined"], report["unreadable"]) == (0, [], [])
    stat = stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=tree), timeout=10).blob
    assert list(stat.quarantined_chunks) == []


def test_a_scrub_keeps_to_its_rate_limit(registry, tmp_path: Path) -> None:
    client, stub, _root = registry
    (tmp_path / "m.bin").write_bytes(os.urandom(6 * MIB))
    client.push(tmp_path / "m.bin", model="rated")
    report = stub.ScrubStorage(artifacts_pb2.ScrubStorageRequest(max_mb_per_second=20), timeout=30)
    assert report.bytes_checked > 6 * MIB
    assert report.max_mb_per_second == 20
    assert 0 < report.mb_per_second <= 20.1
    error = _error(
        lambda: stub.ScrubStorage(
            artifacts_pb2.ScrubStorageRequest(max_mb_per_second=-1), timeout=10
        )
    )
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "max_mb_per_second: the rate limit must not be negative, got -1.0 MB/s",
    )
