"""The SDK names chunks by BLAKE3 when the server advertises it, by SHA-256 otherwise.

A real embedded registry; the fallback test hands the client the ``GetServerInfo`` answer an
older server gives (no ``chunk_digest_algorithms``), then checks what the push stored.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from modelregistry.v1 import registry_pb2, resources_pb2
from mreg.chunkids import BLAKE3, SHA256
from mreg.chunking import hash_file
from mreg.client import Client
from mreg.hashcache import HashCache
from mreg.transfer import chunk_algorithm


@pytest.fixture
def client(embedded_registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    with Client(embedded_registry.address(embedded_registry.gateway), timeout=30) as c:
        yield c


def _stored_chunks(root: Path) -> tuple[int, int]:
    """(BLAKE3, SHA-256) chunk objects stored under ``root``."""
    files = [p for p in root.rglob("*") if p.is_file() and "chunks" in p.parts]
    blake = sum(1 for p in files if "blake3" in p.parts)
    return blake, len(files) - blake


def _model(tmp_path: Path, name: str, size: int) -> Path:
    """Random bytes from a fixed seed: FastCDC cuts 3 MiB of them into several chunks (of
    os.urandom's, now and then into one: a cut point is a property of the bytes)."""
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(f"{name}:{size}").randbytes(size))
    assert len(hash_file(path)[1]) >= 2, "pick bytes FastCDC cuts into several chunks"
    return path


def test_the_server_advertises_blake3_first_and_the_sdk_takes_it(client: Client) -> None:
    info = client.server_info()
    assert list(info.chunk_digest_algorithms) == [
        resources_pb2.DIGEST_ALGORITHM_BLAKE3,
        resources_pb2.DIGEST_ALGORITHM_SHA256,
    ]
    assert chunk_algorithm(info) == BLAKE3


def test_a_server_that_advertises_nothing_gets_sha256(tmp_path: Path) -> None:
    assert chunk_algorithm(registry_pb2.GetServerInfoResponse()) == SHA256
    only_sha = registry_pb2.GetServerInfoResponse(
        chunk_digest_algorithms=[resources_pb2.DIGEST_ALGORITHM_SHA256]
    )
    assert chunk_algorithm(only_sha) == SHA256
    unknown_first = registry_pb2.GetServerInfoResponse(chunk_digest_algorithms=[99, 2])
    assert chunk_algorithm(unknown_first) == BLAKE3


def test_push_names_chunks_by_blake3_and_pulls_back_verified(
    client: Client, embedded_registry, tmp_path: Path
) -> None:
    model = _model(tmp_path, "model.bin", 3 * 1024 * 1024 + 7)
    pushed = client.push(model, model="b3")
    assert pushed.version.artifact_digest.hash == hashlib.sha256(model.read_bytes()).hexdigest()
    blake, legacy = _stored_chunks(tmp_path / "mreg-data")
    assert blake >= 2 and legacy == 0
    again = client.push(model, model="b3", use_cache=False)
    assert again.stats.bytes_sent == 0  # BLAKE3 ids dedup like SHA-256 ones
    pulled = client.pull("b3:1.0.0", tmp_path / "out")
    assert pulled.paths[0].read_bytes() == model.read_bytes()


def test_against_a_server_without_blake3_the_push_falls_back_to_sha256(
    client: Client, tmp_path: Path
) -> None:
    info = registry_pb2.GetServerInfoResponse()
    info.CopyFrom(client.server_info())
    del info.chunk_digest_algorithms[:]  # what a server older than the field answers
    client._server_info = info
    model = _model(tmp_path, "old.bin", 3 * 1024 * 1024 + 11)
    pushed = client.push(model, model="old")
    assert pushed.stats.bytes_sent == model.stat().st_size
    blake, legacy = _stored_chunks(tmp_path / "mreg-data")
    assert blake == 0 and legacy >= 2
    pulled = client.pull("old:1.0.0", tmp_path / "out")
    assert pulled.paths[0].read_bytes() == model.read_bytes()


def test_the_hash_cache_does_not_hand_sha256_ids_to_a_blake3_push(tmp_path: Path) -> None:
    model = _model(tmp_path, "cached.bin", 2 * 1024 * 1024)
    stat = model.stat()
    cache = HashCache(tmp_path / "hashes.sqlite")
    try:
        sha, chunks = hash_file(model, algorithm=SHA256)
        cache.put(model, stat, sha, chunks)
        assert cache.get(model, stat, SHA256) == (sha, chunks)
        assert cache.get(model, stat, BLAKE3) is None
        sha_again, b3_chunks = hash_file(model, algorithm=BLAKE3)
        assert sha_again == sha and all(c.sha256.startswith("b3:") for c in b3_chunks)
        cache.put(model, stat, sha, b3_chunks)
        assert cache.get(model, stat, BLAKE3) == (sha, b3_chunks)
        assert cache.get(model, stat, SHA256) is None
    finally:
        cache.close()
