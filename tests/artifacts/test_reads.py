"""Verified reads: ranges, compressed transfer, DATA_LOSS on corruption, bad offsets."""

from __future__ import annotations

import grpc

from modelregistry.v1 import artifacts_pb2, resources_pb2
from mreg.compression import Codec, decode_chunk
from services.artifacts.store import CHUNK_PREFIX, chunk_hash_of, pack_chunk, unpack_chunk
from tests.artifacts.helpers import Client, bf16_weights, digest_of, error_of, random_bytes


def test_compressed_read_sends_fewer_bytes_that_decode_to_the_blob(served) -> None:
    service, client = served
    data = bf16_weights(4 * 1024 * 1024, seed=21)
    client.upload(data)
    assert service.compactor.wait_idle(60)
    pieces = list(
        client.stub.ReadBlob(
            artifacts_pb2.ReadBlobRequest(digest=digest_of(data), accept_compressed=True)
        )
    )
    assert sum(len(p.data) for p in pieces) < 0.75 * len(data)
    out = b"".join(bytes(decode_chunk(p.compressor, p.data)) for p in pieces)
    assert out == data
    assert all(
        len(bytes(decode_chunk(p.compressor, p.data))) == p.uncompressed_size for p in pieces
    )


def test_read_messages_are_about_one_mebibyte(client: Client) -> None:
    data = random_bytes(5 * 1024 * 1024, seed=22)
    client.upload(data)
    pieces = list(client.stub.ReadBlob(artifacts_pb2.ReadBlobRequest(digest=digest_of(data))))
    assert max(len(p.data) for p in pieces) <= 1024 * 1024
    assert [p.offset for p in pieces] == sorted(p.offset for p in pieces)


def test_corrupted_chunk_answers_data_loss_never_wrong_bytes(served) -> None:
    service, client = served
    data = random_bytes(3 * 1024 * 1024, seed=23)
    client.upload(data)
    assert service.compactor.wait_idle(60)  # else it may find the corruption first
    victim = next(iter(service.backend.list(CHUNK_PREFIX)))
    sha = chunk_hash_of(victim.key)
    # Another chunk's object, well formed, under this chunk's key: its checksum is bound to
    # the key, so the read refuses it.
    other = digest_of(b"garbage").hash
    service.backend.put(victim.key, pack_chunk(other, Codec.IDENTITY, b"garbage"))
    error = error_of(lambda: client.read(digest_of(data)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert error.details() == (
        f"chunk {sha} of blob {digest_of(data).hash} is corrupt (its stored bytes do not "
        "match their checksum) and was quarantined; push a file that contains it again to "
        "repair it"
    )


def test_chunks_stored_before_checksums_are_read_and_verified_by_their_hash(served) -> None:
    service, client = served
    data = random_bytes(3 * 1024 * 1024, seed=25)
    client.upload(data)
    assert service.compactor.wait_idle(60)  # it would rewrite the chunks under the test
    keys = [info.key for info in service.backend.list(CHUNK_PREFIX)]
    # Rewrite every chunk in the old format: the codec byte, then the bytes.
    for key in keys:
        _, payload, _ = unpack_chunk(service.backend.get(key))
        service.backend.put(key, [bytes((Codec.IDENTITY,)), bytes(payload)])
    assert client.read(digest_of(data)) == data
    sha = chunk_hash_of(keys[0])
    service.backend.put(keys[0], [bytes((Codec.IDENTITY,)), b"garbage"])
    error = error_of(lambda: client.read(digest_of(data)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert f"chunk {sha} of blob {digest_of(data).hash} is corrupt (its stored bytes hash to " in (
        error.details()
    )


def test_corrupted_compressed_chunk_answers_data_loss(local_served) -> None:
    service, client = local_served
    data = bf16_weights(1024 * 1024, seed=24)
    client.upload(data)
    assert service.compactor.wait_idle(60)
    victim = next(iter(service.backend.list(CHUNK_PREFIX)))
    assert unpack_chunk(service.backend.get(victim.key))[0] == Codec.BYTEGROUP2_ZSTD
    path = service.backend.root / victim.key
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    error = error_of(lambda: client.read(digest_of(data)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert error.details().startswith(f"chunk {chunk_hash_of(victim.key)} of blob ")


def test_read_of_unknown_digest_is_not_found(client: Client) -> None:
    digest = digest_of(b"nothing")
    error = error_of(lambda: client.read(digest))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f"no blob has digest {digest.hash}"


def test_negative_offset_or_limit_is_invalid(client: Client) -> None:
    client.upload(b"0123456789")
    digest = digest_of(b"0123456789")
    error = error_of(lambda: client.read(digest, offset=-1))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "offset: offset must not be negative, got -1"
    error = error_of(lambda: client.read(digest, limit=-5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "limit: limit must not be negative, got -5"


def test_offset_beyond_the_end_is_out_of_range(client: Client) -> None:
    client.upload(b"0123456789")
    error = error_of(lambda: client.read(digest_of(b"0123456789"), offset=11))
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert error.details() == "offset 11 is beyond the end of the blob (10 bytes)"


def test_limit_past_the_end_reads_to_the_end(client: Client) -> None:
    client.upload(b"0123456789")
    assert client.read(digest_of(b"0123456789"), offset=7, limit=100) == b"789"


def test_digest_with_the_wrong_size_is_invalid_on_read(client: Client) -> None:
    client.upload(b"0123456789")
    digest = resources_pb2.Digest(hash=digest_of(b"0123456789").hash, size_bytes=11)
    error = error_of(lambda: client.read(digest))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (f"digest.size_bytes: blob {digest.hash} has 10 bytes, not 11")
