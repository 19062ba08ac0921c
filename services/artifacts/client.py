"""A small client of the deduplicating path, reusable by the SDK and the benchmarks.

``push_file`` chunks and hashes a file locally (memory-mapped, hashes on threads), asks
``FindMissingChunks`` in batches, streams only the missing chunks with ``UploadChunks`` and
commits the blob. ``read_verified`` downloads a blob and checks its SHA-256.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from services.common.chunking import file_sha256, iter_file_chunks

FIND_BATCH = 1000


@dataclass(frozen=True)
class PushResult:
    """What a push sent and what the server stored."""

    blob: artifacts_pb2.BlobInfo
    chunks: int
    chunks_sent: int
    bytes_sent: int


def push_file(channel: grpc.Channel, path: str | os.PathLike[str]) -> PushResult:
    """Upload a file through the dedup path; only chunks the server lacks travel."""
    stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
    with ThreadPoolExecutor(1, thread_name_prefix="blob-hash") as pool:
        blob_hash = pool.submit(file_sha256, path)  # runs beside chunking (GIL released)
        refs = list(iter_file_chunks(path))
        digests = [resources_pb2.Digest(hash=r.sha256, size_bytes=r.length) for r in refs]
        missing: set[str] = set()
        for start in range(0, len(digests), FIND_BATCH):
            response = stub.FindMissingChunks(
                artifacts_pb2.FindMissingChunksRequest(digests=digests[start : start + FIND_BATCH])
            )
            missing.update(d.hash for d in response.missing_digests)
        sent = [0, 0]
        if missing:
            with (
                open(path, "rb") as handle,
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
            ):

                def requests() -> Iterator[artifacts_pb2.UploadChunksRequest]:
                    seen: set[str] = set()
                    for ref, digest in zip(refs, digests, strict=True):
                        if ref.sha256 not in missing or ref.sha256 in seen:
                            continue
                        seen.add(ref.sha256)
                        sent[0] += 1
                        sent[1] += ref.length
                        yield artifacts_pb2.UploadChunksRequest(
                            digest=digest,
                            compressor=artifacts_pb2.COMPRESSOR_IDENTITY,
                            data=mapped[ref.offset : ref.offset + ref.length],
                        )

                stub.UploadChunks(requests())
        size = Path(path).stat().st_size
        blob = stub.CommitBlob(
            artifacts_pb2.CommitBlobRequest(
                blob_digest=resources_pb2.Digest(hash=blob_hash.result(), size_bytes=size),
                chunk_digests=digests,
            )
        ).blob
    return PushResult(blob, len(refs), sent[0], sent[1])


class VerificationError(RuntimeError):
    """Downloaded bytes do not match the digest."""


def read_verified(channel: grpc.Channel, digest: resources_pb2.Digest) -> int:
    """Download a blob, hashing it as it arrives; returns the byte count."""
    stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
    hasher = hashlib.sha256()
    total = 0
    for piece in stub.ReadBlob(artifacts_pb2.ReadBlobRequest(digest=digest)):
        hasher.update(piece.data)
        total += len(piece.data)
    if hasher.hexdigest() != digest.hash or total != digest.size_bytes:
        raise VerificationError(f"downloaded {hasher.hexdigest()}/{total}, expected {digest}")
    return total
