"""Blobs: committing an ordered chunk list as a verified blob, and reading byte ranges back."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from mreg.chunking import MAX_CHUNK_BYTES
from mreg.compression import Codec, CodecError, decode_chunk
from services.artifacts.backends.base import ObjectNotFound
from services.artifacts.chunks import ChunkStore
from services.artifacts.inspect import inspect_blob
from services.artifacts.store import BlobManifest, Records, chunk_key, unpack_chunk
from services.common.errors import FailedPrecondition, PreconditionViolation
from services.common.settings import PREFERRED_MESSAGE_BYTES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Piece:
    """One message of a read: blob offset, bytes (encoded by ``codec``) and raw length."""

    offset: int
    data: bytes | memoryview
    codec: int
    raw_size: int


class BlobReader:
    """Random and streaming reads of one blob, every chunk verified."""

    def __init__(self, chunks: ChunkStore, manifest: BlobManifest) -> None:
        self.chunks = chunks
        self.manifest = manifest
        self.starts = [0, *itertools.accumulate(size for _, size in manifest.chunks)]
        self._cached: tuple[int, bytes | memoryview] | None = None

    def _chunk(self, index: int) -> bytes | memoryview:
        if self._cached is None or self._cached[0] != index:
            chunk = self.chunks.read(self.manifest.chunks[index][0], blob=self.manifest.hash)
            assert chunk.data is not None
            self._cached = (index, chunk.data)
        return self._cached[1]

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (fewer at the end of the blob)."""
        end = min(offset + length, self.manifest.size)
        out = bytearray()
        while offset < end:
            index = bisect.bisect_right(self.starts, offset) - 1
            data = self._chunk(index)
            start = offset - self.starts[index]
            take = min(len(data) - start, end - offset)
            out += data[start : start + take]
            offset += take
        return bytes(out)

    def pieces(
        self, offset: int, limit: int, accept_compressed: bool = False, window: int = 4
    ) -> Iterator[Piece]:
        """The bytes ``[offset, offset+limit)`` (``limit`` 0: to the end) in ~1 MiB pieces.

        Chunks are read, decoded and verified ``window`` at a time ahead of the sender. With
        ``accept_compressed``, a chunk wholly inside the range travels in its stored encoding.
        """
        end = self.manifest.size if limit == 0 else min(self.manifest.size, offset + limit)
        if offset >= end:
            return
        first = bisect.bisect_right(self.starts, offset) - 1
        last = bisect.bisect_left(self.starts, end) - 1
        shas = [sha for sha, _ in self.manifest.chunks[first : last + 1]]
        blob = self.manifest.hash
        chunks = self.chunks.read_many(shas, blob=blob, window=window, decode=not accept_compressed)
        for index, chunk in enumerate(chunks, start=first):
            chunk_start = self.starts[index]
            lo = max(offset, chunk_start) - chunk_start
            hi = min(end, self.starts[index + 1]) - chunk_start
            whole = lo == 0 and chunk_start + hi == self.starts[index + 1]
            if accept_compressed and whole and chunk.codec not in (0, Codec.IDENTITY):
                yield Piece(chunk_start, chunk.payload, chunk.codec, hi)
                continue
            view = memoryview(self.chunks.decode(chunk, blob=blob))
            for start in range(lo, hi, PREFERRED_MESSAGE_BYTES):
                stop = min(hi, start + PREFERRED_MESSAGE_BYTES)
                yield Piece(chunk_start + start, view[start:stop], Codec.IDENTITY, stop - start)


def missing_chunks(chunks: ChunkStore, shas: list[str]) -> list[str]:
    """The distinct chunks of ``shas`` absent from storage (by the index); present ones are
    marked used, so garbage collection spares them for its grace period."""
    distinct = list(dict.fromkeys(shas))
    present = chunks.index.use(distinct)
    return [sha for sha in distinct if sha not in present]


def require_chunks(chunks: ChunkStore, shas: list[str], hidden: Collection[str] = ()) -> None:
    """FAILED_PRECONDITION listing every chunk of ``shas`` not in storage (or ``hidden``:
    present, but treated as missing for this caller)."""
    absent = set(missing_chunks(chunks, shas)) | set(hidden)
    missing = [sha for sha in dict.fromkeys(shas) if sha in absent]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise FailedPrecondition(
            f"{len(missing)} chunk(s) are missing: {shown}; upload them with UploadChunks first",
            reason="CHUNKS_MISSING",
            precondition_violations=[
                PreconditionViolation("CHUNK_MISSING", f"chunks/{sha}", "not uploaded")
                for sha in missing
            ],
        )


def hash_chunks(chunks: ChunkStore, manifest: BlobManifest) -> tuple[str, int]:
    """SHA-256 and size of the concatenated chunks, each read back and decoded.

    Chunks are not re-verified individually here (that would hash every byte twice); if the
    blob hash then disagrees, :func:`find_corrupt_chunk` tells corruption from a wrong claim.
    """
    digest = hashlib.sha256()
    total = 0
    shas = [sha for sha, _ in manifest.chunks]
    for chunk in _read_unverified(chunks, shas):
        digest.update(chunk)
        total += len(chunk)
    return digest.hexdigest(), total


def _read_unverified(chunks: ChunkStore, shas: list[str]) -> Iterator[bytes | memoryview]:
    def load(sha: str) -> bytes | memoryview:
        try:
            stored = chunks.backend.get(chunk_key(sha))
        except ObjectNotFound:
            found = chunks.read(sha).data  # DATA_LOSS: missing or quarantined
            assert found is not None  # read decodes unless told not to
            return found
        codec, payload, _ = unpack_chunk(stored)
        try:
            return decode_chunk(codec, payload, max_size=MAX_CHUNK_BYTES)
        except CodecError as error:
            raise chunks.corrupt(sha, stored, str(error)) from None

    win = chunks.window(4)
    try:
        for sha in shas:
            yield from win.submit(load, sha)
        yield from win.drain()
    finally:
        win.cancel()


def find_corrupt_chunk(chunks: ChunkStore, shas: list[str]) -> None:
    """Read every chunk verified; raises DATA_LOSS at the first corrupt one."""
    for _ in chunks.read_many(list(dict.fromkeys(shas))):
        pass


def stored_size(chunks: ChunkStore, shas: list[str]) -> int:
    """Bytes the distinct chunks of ``shas`` occupy at rest."""
    return sum(chunks.index.sizes(shas).values())


def finalize(
    records: Records,
    chunks: ChunkStore,
    manifest: BlobManifest,
    *,
    stored_bytes: int | None = None,
) -> BlobManifest:
    """Inspect a verified blob's header and write its manifest, making the blob visible."""
    if stored_bytes is None:
        stored_bytes = stored_size(chunks, [sha for sha, _ in manifest.chunks])
    manifest.stored_bytes = stored_bytes
    if manifest.inspection is None and not manifest.is_tree:
        reader = BlobReader(chunks, manifest)
        manifest.inspection = inspect_blob(reader.read_at, manifest.size)
    records.put_manifest(manifest)
    logger.info(
        "committed blob %s: %d bytes in %d chunks, %d at rest",
        manifest.hash,
        manifest.size,
        len(manifest.chunks),
        manifest.stored_bytes,
    )
    return manifest
