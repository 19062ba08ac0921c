"""Content-defined chunking (FastCDC 2020) and chunk hashing, shared by the server and the SDK.

Both sides MUST cut and hash with this module so that the chunks a client computes are the
chunks the server stores: the chunk parameters below are part of the storage format. Chunks
are named by BLAKE3 or SHA-256 (``algorithm``; see :mod:`mreg.chunkids`), the
whole file always by SHA-256.

* :class:`StreamChunker` takes bytes as they arrive (``feed``) and hands back completed chunks;
  ``finish`` flushes the tail at end of input. A chunk is final as soon as a later cut point
  was found, because a FastCDC boundary depends only on the bytes from the chunk's start up to
  at most ``MAX_CHUNK_BYTES``.
* :func:`iter_file_chunks` cuts a file (memory-mapped) and hashes its chunks on a small thread
  pool; ``hashlib`` releases the GIL on large buffers, and so does the cut itself.
* :func:`hash_file` is the client's single pass over a file: memory-mapped (no copy), the cut,
  the chunk hashes and the whole-file hash of the same bytes, on threads.

Chunk parameters (average 1 MiB, minimum avg/4, maximum 4x avg) follow the Remote Execution
API's SplitBlob defaults; see ``benchmarks/README.md`` for the measurements behind them.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pyfastcdc.cy import FastCDC

from mreg.chunkids import SHA256, hash_chunk

AVG_CHUNK_BYTES = 1024 * 1024
MIN_CHUNK_BYTES = AVG_CHUNK_BYTES // 4
MAX_CHUNK_BYTES = AVG_CHUNK_BYTES * 4

#: ``StreamChunker`` cuts once this many bytes are pending, so per-cut overhead stays small.
_CUT_THRESHOLD = 4 * MAX_CHUNK_BYTES


def new_chunker() -> FastCDC:
    """A FastCDC 2020 chunker with the registry's parameters (normalized chunking level 1)."""
    return FastCDC(
        AVG_CHUNK_BYTES, min_size=MIN_CHUNK_BYTES, max_size=MAX_CHUNK_BYTES, normalized_chunking=1
    )


def sha256_hex(data: bytes | memoryview) -> str:
    """Lower-case hexadecimal SHA-256 of ``data`` (releases the GIL on large buffers)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunk lies in its blob and its id (``sha256`` is the chunk id: a SHA-256 hex,
    or ``b3:`` and a BLAKE3 hex; the field keeps its name for the hash caches written)."""

    offset: int
    length: int
    sha256: str


class StreamChunker:
    """Cuts a byte stream into chunks as it arrives.

    ``feed`` returns the chunks that became final, as ``(offset, memoryview)`` pairs whose views
    stay valid until the caller drops them (each cut owns its buffer). ``finish`` returns the
    rest. Memory held is bounded by ``_CUT_THRESHOLD`` plus one chunk.
    """

    def __init__(self, start_offset: int = 0) -> None:
        self._cdc = new_chunker()
        self._parts: list[bytes | memoryview] = []
        self._pending = 0
        self._offset = start_offset  # blob offset of the first pending byte

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet handed back in a chunk."""
        return self._pending

    def feed(self, data: bytes | memoryview) -> list[tuple[int, memoryview]]:
        """Add bytes; return the chunks that are now final."""
        if not data:
            return []
        self._parts.append(data)
        self._pending += len(data)
        if self._pending < _CUT_THRESHOLD:
            return []
        return self._cut(final=False)

    def finish(self) -> list[tuple[int, memoryview]]:
        """End of input: return every remaining chunk."""
        if not self._pending:
            return []
        return self._cut(final=True)

    def _cut(self, final: bool) -> list[tuple[int, memoryview]]:
        buf = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        view = memoryview(buf)
        chunks = [(c.offset, c.length) for c in self._cdc.cut_buf(view)]
        if not final and chunks:
            last_offset, _ = chunks.pop()
            tail = view[last_offset:]
            self._parts = [tail]
        else:
            self._parts = []
        out = [(self._offset + off, view[off : off + length]) for off, length in chunks]
        consumed = sum(length for _, length in chunks)
        self._offset += consumed
        self._pending -= consumed
        return out


def iter_file_chunks(
    path: str | os.PathLike[str], *, threads: int = 2, window: int = 16, algorithm: str = SHA256
) -> Iterator[ChunkRef]:
    """Cut a file into chunks and hash each one; yields :class:`ChunkRef` in file order.

    The file is memory-mapped (no copies); hashes run on ``threads`` threads with at most
    ``window`` chunks in flight.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return
        with (
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
            ThreadPoolExecutor(threads, thread_name_prefix="chunk-hash") as pool,
        ):
            view = memoryview(mapped)
            try:
                yield from _hash_chunks(new_chunker().cut_buf(view), pool, window, algorithm)
            finally:
                view.release()


def iter_buffer_chunks(
    data: bytes | memoryview, *, threads: int = 2, window: int = 16, algorithm: str = SHA256
) -> Iterator[ChunkRef]:
    """Like :func:`iter_file_chunks` for bytes already in memory."""
    if not len(data):
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="chunk-hash") as pool:
        yield from _hash_chunks(new_chunker().cut_buf(memoryview(data)), pool, window, algorithm)


def _hash_chunks(
    chunks: Iterator, pool: ThreadPoolExecutor, window: int, algorithm: str
) -> Iterator[ChunkRef]:
    inflight: deque[tuple[int, int, Future[str]]] = deque()
    for chunk in chunks:
        inflight.append(
            (chunk.offset, chunk.length, pool.submit(hash_chunk, chunk.data, algorithm))
        )
        if len(inflight) >= window:
            offset, length, future = inflight.popleft()
            yield ChunkRef(offset, length, future.result())
    while inflight:
        offset, length, future = inflight.popleft()
        yield ChunkRef(offset, length, future.result())


#: :func:`hash_file` hashes the whole file in steps of this many bytes, and lets go of the
#: mapped pages behind it (they stay in the page cache) every ``_RELEASE_BYTES``.
_WHOLE_STEP = 16 * 1024 * 1024
_RELEASE_BYTES = 64 * 1024 * 1024
EMPTY_SHA256 = hashlib.sha256().hexdigest()


def hash_file(
    path: str | os.PathLike[str],
    *,
    on_bytes: Callable[[int], None] | None = None,
    threads: int = 2,
    window: int = 16,
    algorithm: str = SHA256,
) -> tuple[str, list[ChunkRef]]:
    """The file's SHA-256 and its chunks (with their ids by ``algorithm``), touching each
    byte once.

    The file is memory-mapped, so no byte is copied: the main thread cuts, ``threads``
    threads hash the chunks (at most ``window`` in flight) and one more thread hashes the
    whole file in order; all of these release the GIL. Pages already hashed both ways are
    unmapped as it goes, so the resident size stays small. ``on_bytes`` is called with each
    chunk's length once it is hashed, in file order: progress advances by bytes.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return EMPTY_SHA256, []
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    whole = hashlib.sha256()
    whole_done = [0]
    chunks: list[ChunkRef] = []
    inflight: deque[tuple[int, int, Future[str]]] = deque()
    view = memoryview(mapped)

    stop = threading.Event()

    def hash_whole() -> None:
        for start in range(0, size, _WHOLE_STEP):
            if stop.is_set():
                return
            whole.update(view[start : start + _WHOLE_STEP])
            whole_done[0] = min(size, start + _WHOLE_STEP)

    released = 0

    def collect(limit: int) -> None:
        nonlocal released
        while len(inflight) > limit:
            offset, length, future = inflight.popleft()
            chunks.append(ChunkRef(offset, length, future.result()))
            if on_bytes is not None:
                on_bytes(length)
            behind = min(offset + length, whole_done[0]) // mmap.PAGESIZE * mmap.PAGESIZE
            if behind - released >= _RELEASE_BYTES:
                mapped.madvise(mmap.MADV_DONTNEED, released, behind - released)
                released = behind

    try:
        with (
            ThreadPoolExecutor(threads, thread_name_prefix="chunk-hash") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="file-hash") as ordered,
        ):
            whole_future = ordered.submit(hash_whole)
            try:
                for chunk in new_chunker().cut_buf(view):
                    data = chunk.data
                    job = pool.submit(hash_chunk, data, algorithm)
                    inflight.append((chunk.offset, chunk.length, job))
                    del chunk, data
                    collect(window)
                collect(0)
                whole_future.result()
            finally:  # on Ctrl-C, the whole-file hash stops at its next step
                stop.set()
                pool.shutdown(wait=False, cancel_futures=True)
    finally:
        inflight.clear()
        with contextlib.suppress(BufferError):  # a view still held by an exception in flight:
            view.release()  # the mapping closes when it is collected
            mapped.close()
    return whole.hexdigest(), chunks


def file_sha256(path: str | os.PathLike[str] | Path, block: int = 8 * 1024 * 1024) -> str:
    """SHA-256 of a whole file, memory-mapped (no copy) and hashed in ``block`` steps, with
    the pages hashed unmapped behind (hashlib releases the GIL)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return EMPTY_SHA256
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            released = 0
            for start in range(0, size, block):
                with memoryview(mapped) as view:
                    digest.update(view[start : start + block])
                done = min(size, start + block) // mmap.PAGESIZE * mmap.PAGESIZE
                if done - released >= _RELEASE_BYTES:
                    mapped.madvise(mmap.MADV_DONTNEED, released, done - released)
                    released = done
    return digest.hexdigest()
