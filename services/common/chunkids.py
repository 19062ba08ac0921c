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
