"""Chunks at rest: verified writes, verified reads, and a bounded window of parallel work.

Every chunk is hashed by the server before it is written under its id (the BLAKE3 or SHA-256
its client named it by; BLAKE3 for chunks the server cuts itself), and written with
a checksum of its stored bytes (:func:`services.artifacts.store.pack_chunk`); a read checks
that checksum (chunks from before it existed are decoded and hashed again). A mismatch on
read is DATA_LOSS, and the chunk is then quarantined (see :mod:`services.artifacts.quarantine`)
so it reads as missing until a push sends it again.

The request path stores chunks as they came (raw, or as the client compressed them); the
:mod:`compactor <services.artifacts.compactor>` compresses raw ones later, off the request
path. The CPU-heavy steps (hashing, zstd, numpy byte grouping, file I/O) release the GIL, so
they run on a small shared thread pool while the RPC thread keeps receiving or sending.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from mreg.chunkids import BLAKE3, algorithm_of, hash_chunk
from mreg.chunking import MAX_CHUNK_BYTES
from mreg.compression import Codec, CodecError, decode_chunk
from services.artifacts.backends.base import Backend, ObjectNotFound
from services.artifacts.index.chunks import ChunkIndex
from services.artifacts.quarantine import Quarantine
from services.artifacts.store import chunk_key, pack_chunk, payload_checksum, unpack_chunk
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
    """A chunk read back and verified: its stored encoding, and its raw bytes when decoded
    (``data`` is None for a compressed chunk read with ``decode=False``)."""

    sha256: str
    data: bytes | memoryview | None
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
        self.start(fn, *args, **kwargs)
        return list(self.ready())

    def drain(self) -> list[T]:
        """Wait for every job; return the remaining results in order."""
        return list(self.results())

    def start(self, fn: Callable[..., T], *args: object, **kwargs: object) -> None:
        """Queue ``fn(*args, **kwargs)``; collect with :meth:`ready` (keeps the bound)."""
        self._inflight.append(self._pool.submit(fn, *args, **kwargs))

    def ready(self) -> Iterator[T]:
        """Results, in order, that are done or must be waited for to make room."""
        while len(self._inflight) > self._size or (self._inflight and self._inflight[0].done()):
            yield self._next()

    def results(self) -> Iterator[T]:
        """Every remaining result, in order, waiting for each."""
        while self._inflight:
            yield self._next()

    def _next(self) -> T:
        # A failed job stays queued (cancel() drops it): the results before it were
        # delivered one by one, none after it is.
        result = self._inflight[0].result()
        self._inflight.popleft()
        return result

    def cancel(self) -> list[T]:
        """Drop the jobs not started and wait for those under way (used on error paths);
        the results of those that succeeded, in order, for a caller that must account
        for what was done."""
        for future in self._inflight:
            future.cancel()
        done: list[T] = []
        for future in self._inflight:
            if not future.cancelled():
                try:
                    done.append(future.result())
                except Exception:
                    logger.debug("job failed while cancelling", exc_info=True)
        self._inflight.clear()
        return done


class ChunkStore:
    """Stores and reads chunks in a backend, verifying every digest; which chunks are
    stored is the index's answer (:mod:`services.artifacts.index.chunks`)."""

    def __init__(
        self,
        backend: Backend,
        pool: ThreadPoolExecutor,
        index: ChunkIndex,
        quarantine: Quarantine | None = None,
    ) -> None:
        self.backend = backend
        self.pool = pool
        self.index = index
        self.quarantine = quarantine

    def window(self, size: int = 8) -> Window:
        """A bounded window of parallel chunk jobs on this store's pool."""
        return Window(self.pool, size)

    def store(
        self,
        data: bytes | memoryview,
        expected: str | None = None,
        *,
        write: bool = True,
        record: bool = True,
    ) -> StoredChunk:
        """Hash ``data``, check it against ``expected``, and write it raw unless present.

        The hash is by ``expected``'s algorithm; a chunk the server cut itself (no
        ``expected``) is named by BLAKE3. A chunk already present is marked used (so garbage
        collection spares it) and not rewritten. Raises INVALID_ARGUMENT when the hash
        differs from ``expected``. With ``write`` False an absent chunk is only reported
        (``new``), not written. With ``record`` False a new chunk is written but not yet
        recorded in the index: the caller records it (:class:`Unrecorded`) before it tells
        a client the chunk is stored.
        """
        sha = hash_chunk(data, algorithm_of(expected) if expected is not None else BLAKE3)
        if expected is not None and sha != expected:
            raise InvalidArgument.field(
                "digest.hash",
                f"chunk data hashes to {sha}, not {expected}",
                reason="DIGEST_MISMATCH",
            )
        if self.index.stored_size(sha) is not None:  # a read: most chunks sent are new
            present = self.index.use([sha])
            if sha in present:
                return StoredChunk(sha, len(data), present[sha], False)
        if not write:
            return StoredChunk(sha, len(data), 0, True)
        return self._put_new(sha, Codec.IDENTITY, data, len(data), record)

    def _put_new(
        self, sha: str, codec: int, payload: bytes | memoryview, size: int, record: bool
    ) -> StoredChunk:
        parts = pack_chunk(sha, Codec(codec), payload)
        self.backend.put(chunk_key(sha), parts)
        stored = StoredChunk(sha, size, sum(len(p) for p in parts), True)
        if record:
            self.index.record([(sha, stored.stored_size)])  # after the object, never before
        return stored

    def store_encoded(
        self, codec: int, payload: bytes, expected_sha: str, size: int, *, record: bool = True
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
        if codec in (Codec.IDENTITY, 0):
            return self.store(raw, expected_sha, record=record)
        stored = self.store(raw, expected_sha, write=False)
        if not stored.new:
            return stored
        # The client compressed it and the bytes it decodes to are verified: keep its encoding.
        return self._put_new(expected_sha, codec, payload, size, record)

    def read(self, sha: str, *, blob: str = "", decode: bool = True) -> ReadChunk:
        """Read chunk ``sha`` and verify it; DATA_LOSS when it is corrupt or gone.

        With ``decode`` False a compressed chunk is checked by its stored checksum and not
        decoded (``data`` None). A corrupt chunk is quarantined before the DATA_LOSS is raised.
        """
        where = f" of blob {blob}" if blob else ""
        try:
            stored = self.backend.get(chunk_key(sha))
        except ObjectNotFound:
            self.index.forget([sha])  # gone behind our back: the next push sends it again
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
        codec, payload, checksum = unpack_chunk(stored)
        data: bytes | memoryview | None = None
        if checksum is None:  # stored before checksums: decode and hash
            data, problem = self.decode_verified(sha, stored)
        else:
            problem = _checksum_problem(sha, payload, checksum)
            if not problem and codec in (0, Codec.IDENTITY):
                data = payload
            elif not problem and decode:
                data, problem = _decode(codec, payload)
        if problem:
            raise self.corrupt(sha, stored, problem, where)
        return ReadChunk(sha, data, codec, payload)

    def decode(self, chunk: ReadChunk, *, blob: str = "") -> bytes | memoryview:
        """The raw bytes of a chunk read with ``decode=False``."""
        if chunk.data is not None:
            return chunk.data
        data, problem = _decode(chunk.codec, chunk.payload)
        if problem:
            where = f" of blob {blob}" if blob else ""
            stored = self.backend.get(chunk_key(chunk.sha256))
            raise self.corrupt(chunk.sha256, stored, problem, where)
        return data

    @staticmethod
    def check(sha: str, stored: bytes) -> str:
        """What is wrong with a stored chunk object ("" if nothing): the checksum, or for a
        chunk stored without one, its decoded bytes' hash."""
        _, payload, checksum = unpack_chunk(stored)
        if checksum is None:
            return ChunkStore.decode_verified(sha, stored)[1]
        return _checksum_problem(sha, payload, checksum)

    @staticmethod
    def decode_verified(sha: str, stored: bytes) -> tuple[bytes | memoryview, str]:
        """The raw bytes of a stored chunk object, hashed (by the id's algorithm) against
        ``sha``, and what is wrong with it ("" if nothing)."""
        codec, payload, _ = unpack_chunk(stored)
        data, problem = _decode(codec, payload)
        if problem:
            return b"", problem
        actual = hash_chunk(data, algorithm_of(sha))
        if actual != sha:
            return b"", f"its stored bytes hash to {actual}"
        return data, ""

    def corrupt(self, sha: str, stored: bytes, problem: str, where: str = "") -> DataLoss:
        """Quarantine a chunk found corrupt; the DATA_LOSS to raise for it."""
        logger.error("chunk %s%s is corrupt: %s", sha, where, problem)
        self.index.forget([sha])
        if self.quarantine is None:
            return DataLoss(f"chunk {sha}{where} is corrupt: {problem}", metadata={"chunk": sha})
        self.quarantine.isolate(sha, stored, problem)
        return DataLoss(
            f"chunk {sha}{where} is corrupt ({problem}) and was quarantined; "
            "push a file that contains it again to repair it",
            reason="CHUNK_QUARANTINED",
            metadata={"chunk": sha},
        )

    def read_many(
        self, shas: list[str], *, blob: str = "", window: int = 4, decode: bool = True
    ) -> Iterator[ReadChunk]:
        """Read and verify chunks in order, prefetching ``window`` of them in parallel."""
        win: Window[ReadChunk] = self.window(window)
        try:
            for sha in shas:
                yield from win.submit(self.read, sha, blob=blob, decode=decode)
            yield from win.drain()
        finally:
            win.cancel()


class Unrecorded:
    """Chunks a stream wrote with ``record=False``, recorded in the index a batch at a time:
    one transaction per ``batch`` chunks, or per ``seconds`` on a slow stream, instead of
    one per chunk.

    Until :meth:`flush` the chunks are stored but unknown to the index: another client is
    told they are missing (and sends them again, harmlessly), garbage collection does not
    see them, and a crash leaves objects without rows (``fsck`` records them). A stream
    flushes before it answers, checks its chunks, or commits a blob of them, and when it
    is cancelled.
    """

    def __init__(self, chunks: ChunkStore, batch: int = 64, seconds: float = 0.25) -> None:
        self.chunks = chunks
        self.batch = batch
        self.seconds = seconds
        self._pending: list[tuple[str, int]] = []
        self._since = time.monotonic()

    def add(self, results: Iterable[StoredChunk]) -> None:
        """Note the new chunks among ``results``; record them once a batch is full or the
        oldest has waited ``seconds``."""
        if not self._pending:
            self._since = time.monotonic()
        self._pending.extend((r.sha256, r.stored_size) for r in results if r.new)
        if self._pending and (
            len(self._pending) >= self.batch or time.monotonic() - self._since >= self.seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Record every pending chunk now."""
        pending, self._pending = self._pending, []
        self.chunks.index.record(pending)


def _checksum_problem(sha: str, payload: memoryview, checksum: bytes) -> str:
    """What is wrong with a stored payload by its checksum ("" if nothing)."""
    if payload_checksum(sha, payload) != checksum:
        return "its stored bytes do not match their checksum"
    return ""


def _decode(codec: int, payload: memoryview) -> tuple[bytes | memoryview, str]:
    try:
        return decode_chunk(codec, payload, max_size=MAX_CHUNK_BYTES), ""
    except CodecError as error:
        return b"", str(error)
