"""Chunk identities: a chunk is named by the SHA-256 or the BLAKE3 of its raw bytes.

Blob and tree digests are always SHA-256 (a user checks a file with ``sha256sum``); chunk
digests may be BLAKE3, about four times cheaper to compute (0.13 against 0.54 CPU-s/GB
measured here), which both the client and the server pay for every byte pushed.

Inside the server and the SDK a chunk id is one string: the lower-case hex of a SHA-256
(the form chunks always had, so manifests, caches and keys written before BLAKE3 existed keep
their meaning), or ``b3:`` followed by the hex of a BLAKE3. On the wire it is a ``Digest``
whose ``algorithm`` says which (UNSPECIFIED means SHA-256, as old clients send).
"""

from __future__ import annotations

import hashlib

import blake3

from modelregistry.v1 import resources_pb2

SHA256 = "sha256"
BLAKE3 = "blake3"
#: Algorithms, most preferred first.
ALGORITHMS = (BLAKE3, SHA256)
_BLAKE3_TAG = "b3:"


def algorithm_of(chunk_id: str) -> str:
    """The hash algorithm that named ``chunk_id``."""
    return BLAKE3 if chunk_id.startswith(_BLAKE3_TAG) else SHA256


def hex_of(chunk_id: str) -> str:
    """The hexadecimal hash inside ``chunk_id`` (as a ``Digest.hash`` carries it)."""
    return chunk_id.removeprefix(_BLAKE3_TAG)


def chunk_id(hex_hash: str, algorithm: str = SHA256) -> str:
    """The chunk id of a hash in hex computed by ``algorithm``."""
    return _BLAKE3_TAG + hex_hash if algorithm == BLAKE3 else hex_hash


def blake3_hex(data: bytes | memoryview) -> str:
    """Lower-case hexadecimal BLAKE3 (32 bytes) of ``data``; releases the GIL on large input."""
    return blake3.blake3(data).hexdigest()


def hash_chunk(data: bytes | memoryview, algorithm: str = SHA256) -> str:
    """The chunk id of ``data`` under ``algorithm``."""
    if algorithm == BLAKE3:
        return _BLAKE3_TAG + blake3.blake3(data).hexdigest()
    return hashlib.sha256(data).hexdigest()


#: The ``DigestAlgorithm`` of each algorithm, and back.
ENUM_OF = {
    SHA256: resources_pb2.DIGEST_ALGORITHM_SHA256,
    BLAKE3: resources_pb2.DIGEST_ALGORITHM_BLAKE3,
}
_NAME_OF: dict[int, str] = {value: name for name, value in ENUM_OF.items()}


def algorithm_named(value: int) -> str | None:
    """The algorithm of a ``DigestAlgorithm`` value: UNSPECIFIED is SHA-256; None when this
    code does not know the value."""
    return SHA256 if value == resources_pb2.DIGEST_ALGORITHM_UNSPECIFIED else _NAME_OF.get(value)


def id_of_digest(digest: resources_pb2.Digest) -> str:
    """The chunk id a chunk ``Digest`` names (its ``algorithm`` already validated)."""
    return chunk_id(digest.hash, algorithm_named(digest.algorithm) or SHA256)


def digest_of_id(chunk_id: str, size: int) -> resources_pb2.Digest:
    """The ``Digest`` of a chunk by its id (the algorithm stated when it is not SHA-256)."""
    if algorithm_of(chunk_id) == BLAKE3:
        return resources_pb2.Digest(
            hash=hex_of(chunk_id), size_bytes=size, algorithm=ENUM_OF[BLAKE3]
        )
    return resources_pb2.Digest(hash=chunk_id, size_bytes=size)
