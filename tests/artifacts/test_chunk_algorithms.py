"""Chunks named by BLAKE3 beside chunks named by SHA-256: dedup, verification, mixed stores.

Blob digests stay SHA-256 either way; the two kinds of chunk id never share a storage key.
"""

from __future__ import annotations

import blake3
import grpc

from modelregistry.v1 import artifacts_pb2, resources_pb2
from mreg.chunkids import BLAKE3, SHA256
from services.artifacts.store import BLAKE3_CHUNK_PREFIX, CHUNK_PREFIX, chunk_hash_of
from tests.artifacts.helpers import (
    bf16_weights,
    chunk_digest_of,
    digest_of,
    error_of,
    random_bytes,
)


def _chunk_keys(service) -> list[str]:
    return [info.key for info in service.backend.list(CHUNK_PREFIX)]


def test_blake3_push_dedups_and_reads_back_verified(served) -> None:
    service, client = served
    data = bf16_weights(6 * 1024 * 1024, seed=61)
    blob = client.push_dedup(data, BLAKE3).blob
    assert blob.digest == digest_of(data)  # the blob stays SHA-256
    keys = _chunk_keys(service)
    assert keys and all(k.startswith(BLAKE3_CHUNK_PREFIX) for k in keys)
    assert client.read(blob.digest) == data
    # The same content again: every chunk is found, nothing is sent, the commit is immediate.
    digests = [
        chunk_digest_of(chunk_hash_of(k), 0) for k in keys
    ]  # sizes do not matter to presence
    missing = client.stub.FindMissingChunks(
        artifacts_pb2.FindMissingChunksRequest(digests=digests)
    ).missing_digests
    assert list(missing) == []
    assert client.push_dedup(data, BLAKE3).blob.digest == blob.digest
    assert sorted(_chunk_keys(service)) == sorted(keys)


def test_the_same_content_pushed_both_ways_reads_fine(served) -> None:
    service, client = served
    first, second = random_bytes(3 * 1024 * 1024, seed=62), random_bytes(3 * 1024 * 1024, seed=63)
    # An old client (SHA-256 ids), then a new one, on the same content, and the reverse.
    assert client.push_dedup(first, SHA256).blob.digest == digest_of(first)
    assert client.push_dedup(first, BLAKE3).blob.digest == digest_of(first)
    assert client.push_dedup(second, BLAKE3).blob.digest == digest_of(second)
    assert client.push_dedup(second, SHA256).blob.digest == digest_of(second)
    keys = _chunk_keys(service)
    legacy = [k for k in keys if not k.startswith(BLAKE3_CHUNK_PREFIX)]
    assert legacy and len(legacy) < len(keys)  # both kinds stored, under distinct keys
    assert client.read(digest_of(first)) == first
    assert client.read(digest_of(second)) == second
    report = service.scrub(0)
    assert (report.chunks_checked, report.chunks_quarantined) == (len(keys), [])
    assert report.bytes_checked >= 2 * (len(first) + len(second))


def test_gc_removes_chunks_of_both_kinds(local_served) -> None:
    service, client = local_served
    client.push_dedup(random_bytes(2 * 1024 * 1024, seed=64), SHA256)
    client.push_dedup(random_bytes(2 * 1024 * 1024, seed=65), BLAKE3)
    kinds = {k.startswith(BLAKE3_CHUNK_PREFIX) for k in _chunk_keys(service)}
    assert kinds == {True, False}
    report = service.collect_garbage(0)
    assert report.blobs_removed == 2
    assert _chunk_keys(service) == []


def test_server_cut_chunks_are_named_by_blake3(served) -> None:
    service, client = served
    data = random_bytes(3 * 1024 * 1024, seed=66)
    client.upload(data)
    keys = _chunk_keys(service)
    assert keys and all(k.startswith(BLAKE3_CHUNK_PREFIX) for k in keys)
    assert client.read(digest_of(data)) == data


def test_a_chunk_that_does_not_match_its_blake3_id_is_refused(client) -> None:
    data, other = b"the bytes sent", b"the bytes named"
    named = blake3.blake3(other).hexdigest()
    digest = resources_pb2.Digest(
        hash=named, size_bytes=len(data), algorithm=resources_pb2.DIGEST_ALGORITHM_BLAKE3
    )
    request = artifacts_pb2.UploadChunksRequest(
        digest=digest, compressor=artifacts_pb2.COMPRESSOR_IDENTITY, data=data
    )
    error = error_of(lambda: client.stub.UploadChunks(iter([request]), timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    actual = blake3.blake3(data).hexdigest()
    assert error.details() == f"digest.hash: chunk data hashes to b3:{actual}, not b3:{named}"


def test_a_blake3_blob_digest_is_refused(client) -> None:
    data = b"a small file"
    chunk = chunk_digest_of("b3:" + blake3.blake3(data).hexdigest(), len(data))
    blob = resources_pb2.Digest(
        hash=blake3.blake3(data).hexdigest(),
        size_bytes=len(data),
        algorithm=resources_pb2.DIGEST_ALGORITHM_BLAKE3,
    )
    request = artifacts_pb2.CommitBlobRequest(blob_digest=blob, chunk_digests=[chunk])
    error = error_of(lambda: client.stub.CommitBlob(request, timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("blob_digest.algorithm: digest algorithm 2 is not accepted")


def test_a_corrupt_blake3_chunk_is_quarantined_on_read_and_heals(local_served) -> None:
    service, client = local_served
    data = random_bytes(3 * 1024 * 1024, seed=67)
    client.push_dedup(data, BLAKE3)
    assert service.compactor.wait_idle(60)  # else it may find the corruption first
    victim = next(k for k in _chunk_keys(service) if k.startswith(BLAKE3_CHUNK_PREFIX))
    path = service.backend.root / victim
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    error = error_of(lambda: client.read(digest_of(data)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    sha = chunk_hash_of(victim)
    assert error.details().startswith(f"chunk {sha} of blob {digest_of(data).hash} is corrupt")
    assert service.quarantine.record(sha) is not None
    stat = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(data))).blob
    assert [d.algorithm for d in stat.quarantined_chunks] == [resources_pb2.DIGEST_ALGORITHM_BLAKE3]
    assert stat.quarantined_chunks[0].hash == sha.removeprefix("b3:")
    client.push_dedup(data, BLAKE3)  # FindMissingChunks reports it: the push sends it again
    assert client.read(digest_of(data)) == data
