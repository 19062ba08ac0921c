"""The deduplicating path: FindMissingChunks, UploadChunks, CommitBlob."""

from __future__ import annotations

import grpc

from modelregistry.v1 import artifacts_pb2, resources_pb2
from mreg.chunking import MAX_CHUNK_BYTES, iter_buffer_chunks
from mreg.compression import Codec, compress
from tests.artifacts.helpers import (
    Client,
    bf16_weights,
    digest_of,
    error_of,
    random_bytes,
    violations,
)


def _chunk_request(data: bytes, codec: int = artifacts_pb2.COMPRESSOR_IDENTITY, digest=None):
    return artifacts_pb2.UploadChunksRequest(
        digest=digest or digest_of(data), compressor=codec, data=data
    )


def test_dedup_upload_commits_and_reads_back(served) -> None:
    service, client = served
    data = bf16_weights(6 * 1024 * 1024, seed=5)
    blob = client.push_dedup(data).blob
    assert blob.digest == digest_of(data)
    # Stored as sent (raw) on the request path; the compactor compresses it afterwards.
    assert blob.stored_bytes >= len(data)
    assert client.read(blob.digest) == data
    assert service.compactor.wait_idle(60)
    stat = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=blob.digest)).blob
    assert stat.stored_bytes <= 0.70 * len(data)
    assert client.read(blob.digest) == data


def test_second_push_sends_nothing_and_commit_is_immediate(client: Client) -> None:
    data = random_bytes(5 * 1024 * 1024, seed=8)
    client.push_dedup(data)
    digests = [
        resources_pb2.Digest(hash=r.sha256, size_bytes=r.length) for r in iter_buffer_chunks(data)
    ]
    missing = client.stub.FindMissingChunks(
        artifacts_pb2.FindMissingChunksRequest(digests=digests)
    ).missing_digests
    assert list(missing) == []
    again = client.stub.CommitBlob(
        artifacts_pb2.CommitBlobRequest(blob_digest=digest_of(data), chunk_digests=digests)
    )
    assert again.blob.digest == digest_of(data)


def test_find_missing_lists_absent_digests_in_request_order(client: Client) -> None:
    present = b"present chunk"
    client.stub.UploadChunks(iter([_chunk_request(present)]))
    absent = [digest_of(b"a"), digest_of(b"b")]
    response = client.stub.FindMissingChunks(
        artifacts_pb2.FindMissingChunksRequest(digests=[absent[0], digest_of(present), absent[1]])
    )
    assert list(response.missing_digests) == absent


def test_client_compressed_chunks_are_verified_after_decompression(client: Client) -> None:
    data = bytes(300_000) + b"tail"
    response = client.stub.UploadChunks(
        iter(
            [
                _chunk_request(
                    compress(Codec.ZSTD, data), artifacts_pb2.COMPRESSOR_ZSTD, digest_of(data)
                )
            ]
        )
    )
    assert (response.chunks_received, response.chunks_stored) == (1, 1)
    assert response.wire_bytes < 1000
    blob = client.stub.CommitBlob(
        artifacts_pb2.CommitBlobRequest(
            blob_digest=digest_of(data), chunk_digests=[digest_of(data)]
        )
    ).blob
    assert client.read(blob.digest) == data


def test_chunk_whose_data_does_not_match_its_digest_is_refused(client: Client) -> None:
    claimed = digest_of(b"other")
    claimed.size_bytes = 4
    error = error_of(
        lambda: client.stub.UploadChunks(iter([_chunk_request(b"data", digest=claimed)]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        f"digest.hash: chunk data hashes to {digest_of(b'data').hash}, not {claimed.hash}"
    )


def test_chunk_whose_size_does_not_match_its_digest_is_refused(client: Client) -> None:
    digest = digest_of(b"data")
    digest.size_bytes = 5
    error = error_of(
        lambda: client.stub.UploadChunks(iter([_chunk_request(b"data", digest=digest)]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"digest.size_bytes: chunk {digest.hash} has 4 bytes, digest says 5"


def test_chunk_over_the_maximum_size_is_refused(client: Client) -> None:
    data = bytes(MAX_CHUNK_BYTES + 1)
    error = error_of(lambda: client.stub.UploadChunks(iter([_chunk_request(data)])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        f"digest.size_bytes: chunk {digest_of(data).hash} has 4194305 bytes, more than the "
        "maximum chunk size of 4194304 bytes"
    )


def test_chunk_that_does_not_decompress_is_refused(client: Client) -> None:
    digest = digest_of(b"x")
    error = error_of(
        lambda: client.stub.UploadChunks(
            iter([_chunk_request(b"not zstd", artifacts_pb2.COMPRESSOR_ZSTD, digest)])
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"data: chunk {digest.hash} does not decompress:")


def test_commit_with_missing_chunks_lists_them(client: Client) -> None:
    present, absent = b"first chunk", b"second chunk"
    client.stub.UploadChunks(iter([_chunk_request(present)]))
    error = error_of(
        lambda: client.stub.CommitBlob(
            artifacts_pb2.CommitBlobRequest(
                blob_digest=digest_of(present + absent),
                chunk_digests=[digest_of(present), digest_of(absent)],
            )
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"1 chunk(s) are missing: {digest_of(absent).hash}; upload them with UploadChunks first"
    )
    assert [(v.type, v.subject) for v in violations(error)] == [
        ("CHUNK_MISSING", f"chunks/{digest_of(absent).hash}")
    ]


def test_commit_with_wrong_blob_hash_is_invalid(client: Client) -> None:
    a, b = b"chunk a", b"chunk b"
    client.stub.UploadChunks(iter([_chunk_request(a), _chunk_request(b)]))
    wrong = digest_of(b + a)
    error = error_of(
        lambda: client.stub.CommitBlob(
            artifacts_pb2.CommitBlobRequest(
                blob_digest=wrong, chunk_digests=[digest_of(a), digest_of(b)]
            )
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        f"blob_digest: the chunks concatenate to {digest_of(a + b).hash}/14, not {wrong.hash}/14"
    )
    stat = error_of(lambda: client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=wrong)))
    assert stat.code() == grpc.StatusCode.NOT_FOUND


def test_commit_with_wrong_blob_size_is_invalid(client: Client) -> None:
    a = b"chunk a"
    client.stub.UploadChunks(iter([_chunk_request(a)]))
    digest = digest_of(a)
    digest.size_bytes = 8
    error = error_of(
        lambda: client.stub.CommitBlob(
            artifacts_pb2.CommitBlobRequest(blob_digest=digest, chunk_digests=[digest_of(a)])
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        "blob_digest.size_bytes: the chunks add up to 7 bytes, the blob digest says 8"
    )


def test_malformed_digest_is_invalid(client: Client) -> None:
    bad = resources_pb2.Digest(hash="ABC", size_bytes=1)
    error = error_of(
        lambda: client.stub.FindMissingChunks(artifacts_pb2.FindMissingChunksRequest(digests=[bad]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        "digests[0].hash: invalid SHA-256 'ABC': expected 64 lower-case hexadecimal characters"
    )


def test_too_many_digests_are_refused(client: Client) -> None:
    digests = [digest_of(b"x")] * 10_001
    error = error_of(
        lambda: client.stub.FindMissingChunks(
            artifacts_pb2.FindMissingChunksRequest(digests=digests)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "digests: at most 10000 digests per call, got 10001"
