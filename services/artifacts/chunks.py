"""Chunks at rest: verified writes, verified reads, and a bounded window of parallel work.

Every chunk is hashed by the server before it is written under its SHA-256, and hashed again
after it is read and decoded; a mismatch on read is DATA_LOSS, and the chunk is then
quarantined (see :mod:`services.artifacts.quarantine`) so it reads as missing until a push
sends it again. The CPU-heavy steps (SHA-256,
zstd, numpy byte grouping, file I/O) release the GIL, so they run on a small shared thread
pool while the RPC thread keeps receiving or sending.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.artifacts.backends.base import Backend, ObjectNotFound
from services.artifacts.quarantine import Quarantine
from services.artifacts.store import chunk_key, pack_chunk, unpack_chunk
from services.common.chunking import MAX_CHUNK_BYTES
from services.common.compression import Codec, CodecError, decode_chunk, encode_chunk
from services.common.errors import DataLoss, InvalidArgument

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class StoredChunk:
    """Result of storing one chunk: its hash, raw size, size at rest, and whether it was new."""

    sha256: str
    size: int
    stored_size: int
    new: bool


@dataclass(frozen=True)
class ReadChunk:
    """A chunk read back and verified: raw bytes, plus its stored encoding."""

    sha256: str
    data: bytes | memoryview
    codec: int
    payload: memoryview


class Window(Generic[T]):
    """Runs jobs on a pool with at most ``size`` in flight; results come back in order.

    ``submit`` returns the results that had to be collected to make room, so a producer
    never holds more than ``size`` pending jobs (and their buffers) at once.
    """

    def __init__(self, pool: ThreadPoolExecutor, size: int) -> None:
        self._pool = pool
        self._size = size
        self._inflight: deque[Future[T]] = deque()

    def submit(self, fn: Callable[..., T], *args: object, **kwargs: object) -> list[T]:
        """Queue ``fn(*args, **kwargs)``; return completed results in submission order."""
        self._inflight.append(self._pool.submit(fn, *args, **kwargs))
        done: list[T] = []
        while len(self._inflight) > self._size or (self._inflight and self._inflight[0].done()):
            done.append(self._inflight.popleft().result())
        return done

    def drain(self) -> list[T]:
        """Wait for every job; return the remaining results in order."""
        out = [future.result() for future in self._inflight]
        self._inflight.clear()
        return out

    def cancel(self) -> None:
        """Wait for jobs already started and drop their results (used on error paths)."""
        for future in self._inflight:
            future.cancel()
        for future in self._inflight:
            if not future.cancelled():
                try:
                    future.result()
                except Exception:
                    logger.debug("job failed while cancelling", exc_info=True)
        self._inflight.clear()


class ChunkStore:
    """Stores and reads chunks in a backend, verifying every digest."""

    def __init__(
        self, backend: Backend, pool: ThreadPoolExecutor, quarantine: Quarantine | None = None
    ) -> None:
        self.backend = backend
        self.pool = pool
        self.quarantine = quarantine

    def window(self, size: int = 8) -> Window:
        """A bounded window of parallel chunk jobs on this store's pool."""
        return Window(self.pool, size)

    def store(self, data: bytes | memoryview, expected: str | None = None) -> StoredChunk:
        """Hash ``data``, check it against ``expected``, and write it unless present.

        A chunk already present is touched (so garbage collection spares it) and not
        rewritten. Raises INVALID_ARGUMENT when the hash differs from ``expected``.
        """
        sha = hashlib.sha256(data).hexdigest()
        if expected is not None and sha != expected:
            raise InvalidArgument.field(
                "digest.hash",
                f"chunk data hashes to {sha}, not {expected}",
                reason="DIGEST_MISMATCH",
            )
        key = chunk_key(sha)
        if self.backend.touch([key])[0]:
            info = self.backend.stat([key])[0]
            return StoredChunk(sha, len(data), info.size if info else 0, False)
        codec, payload = encode_chunk(data)
        parts = pack_chunk(codec, payload)
        self.backend.put(key, parts)
        return StoredChunk(sha, len(data), 1 + len(payload), True)

    def store_encoded(
        self, codec: int, payload: bytes, expected_sha: str, size: int
    ) -> StoredChunk:
        """Decode a chunk a client sent (possibly compressed), verify its digest, store it."""
        if codec not in (Codec.IDENTITY, Codec.ZSTD, 0):
            raise InvalidArgument.field(
                "compressor", f"clients may send IDENTITY or ZSTD chunks, not {codec}"
            )
        try:
            raw = decode_chunk(codec, payload, max_size=MAX_CHUNK_BYTES)
        except CodecError as error:
            raise InvalidArgument.field(
                "data", f"chunk {expected_sha} does not decompress: {error}"
            ) from None
        if len(raw) > MAX_CHUNK_BYTES:
            raise InvalidArgument.field(
                "data",
                f"chunk {expected_sha} has {len(raw)} bytes, more than the maximum "
                f"chunk size of {MAX_CHUNK_BYTES} bytes",
                reason="CHUNK_TOO_LARGE",
            )
        if len(raw) != size:
            raise InvalidArgument.field(
                "digest.size_bytes",
                f"chunk {expected_sha} has {len(raw)} bytes, digest says {size}",
                reason="DIGEST_MISMATCH",
            )
        return self.store(raw, expected_sha)

    def read(self, sha: str, *, blob: str = "") -> ReadChunk:
        """Read chunk ``sha``, decode it and verify it; DATA_LOSS when it is corrupt or gone.

        A corrupt chunk is quarantined before the DATA_LOSS is raised.
        """
        where = f" of blob {blob}" if blob else ""
        try:
            stored = self.backend.get(chunk_key(sha))
        except ObjectNotFound:
            if self.quarantine is not None and self.quarantine.record(sha) is not None:
                raise DataLoss(
                    f"chunk {sha}{where} failed verification and is quarantined; "
                    "push a file that contains it again to repair it",
                    reason="CHUNK_QUARANTINED",
                    metadata={"chunk": sha},
                ) from None
            raise DataLoss(
                f"chunk {sha}{where} is missing from storage", metadata={"chunk": sha}
            ) from None
        data, problem = self.decode_verified(sha, stored)
        if problem:
            raise self.corrupt(sha, stored, problem, where)
        codec, payload = unpack_chunk(stored)
        return ReadChunk(sha, data, codec, payload)

    @staticmethod
    def decode_verified(sha: str, stored: bytes) -> tuple[bytes | memoryview, str]:
        """The raw bytes of a stored chunk object, and what is wrong with it ("" if nothing)."""
        codec, payload = unpack_chunk(stored)
        try:
            data = decode_chunk(codec, payload, max_size=MAX_CHUNK_BYTES)
        except CodecError as error:
            return b"", str(error)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            return b"", f"its stored bytes hash to {actual}"
        return data, ""

    def corrupt(self, sha: str, stored: bytes, problem: str, where: str = "") -> DataLoss:
        """Quarantine a chunk found corrupt; the DATA_LOSS to raise for it."""
        logger.error("chunk %s%s is corrupt: %s", sha, where, problem)
        if self.quarantine is None:
            return DataLoss(f"chunk {sha}{where} is corrupt: {problem}", metadata={"chunk": sha})
        self.quarantine.isolate(sha, stored, problem)
        return DataLoss(
            f"chunk {sha}{where} is corrupt ({problem}) and was quarantined; "
            "push a file that contains it again to repair it",
            reason="CHUNK_QUARANTINED",
            metadata={"chunk": sha},
        )

    def read_many(self, shas: list[str], *, blob: str = "", window: int = 4) -> Iterator[ReadChunk]:
        """Read and verify chunks in order, prefetching ``window`` of them in parallel."""
        win: Window[ReadChunk] = self.window(window)
        try:
            for sha in shas:
                yield from win.submit(self.read, sha, blob=blob)
            yield from win.drain()
        finally:
            win.cancel()
