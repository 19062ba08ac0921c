"""Compression at rest, off the request path.

A push stores chunks as they arrive (raw, unless the client compressed them), so the
request path pays for hashing and writing only. Each committed blob is then offered to the
:class:`Compactor`, a background thread that starts once uploads have been quiet for
``delay_seconds`` (or once its backlog is half full), and at most ``max_mb_per_second``:

1. every raw chunk of the blob is read and checked (its stored checksum);
2. the codec that pays best is chosen (:func:`mreg.compression.encode_chunk`) and,
   if it saves at least ~5%, the chunk is written again in that encoding under the same key.
   A backend write replaces an object atomically, so a reader sees the raw chunk or the
   compressed one, both valid, never a mix; a killed compactor leaves raw chunks, which stay
   valid and are compacted by the next sweep;
3. the blob's manifest gets the new size at rest (``stored_bytes``).

Nothing is lost when the backlog overflows or the process stops: ``python -m
services.artifacts compact`` sweeps every raw chunk in the backend. The thread's own CPU time
and bytes are exported as metrics, so its cost is reported apart from the request path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from mreg.compression import Codec, encode_chunk
from services.artifacts import blobs, metrics
from services.artifacts.backends.base import ObjectNotFound
from services.artifacts.chunks import ChunkStore
from services.artifacts.store import (
    BLOB_PREFIX,
    CHUNK_PREFIX,
    Records,
    blob_hash_of,
    chunk_hash_of,
    chunk_key,
    pack_chunk,
    unpack_chunk,
)

logger = logging.getLogger(__name__)

DEFAULT_DELAY_SECONDS = 2.0
DEFAULT_BACKLOG_BLOBS = 10_000


@dataclass
class CompactionReport:
    """What a compaction did: chunks looked at and rewritten, bytes before and after."""

    chunks_checked: int = 0
    chunks_compressed: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    cpu_seconds: float = 0.0

    def add(self, other: CompactionReport) -> None:
        self.chunks_checked += other.chunks_checked
        self.chunks_compressed += other.chunks_compressed
        self.raw_bytes += other.raw_bytes
        self.stored_bytes += other.stored_bytes
        self.cpu_seconds += other.cpu_seconds


def compact_chunk(chunks: ChunkStore, sha: str) -> CompactionReport:
    """Compress one stored chunk if it is raw and compression pays; what was done."""
    report = CompactionReport()
    try:
        stored = chunks.backend.get(chunk_key(sha))
    except ObjectNotFound:  # collected meanwhile, or quarantined
        return report
    codec, payload, _ = unpack_chunk(stored)
    report.chunks_checked = 1
    if codec not in (0, Codec.IDENTITY):
        return report
    problem = chunks.check(sha, stored)
    if problem:
        chunks.corrupt(sha, stored, problem)
        return report
    encoded_codec, encoded = encode_chunk(payload)
    if encoded_codec == Codec.IDENTITY:
        return report
    parts = pack_chunk(sha, encoded_codec, encoded)
    chunks.backend.put(chunk_key(sha), parts)
    report.chunks_compressed = 1
    report.raw_bytes = len(payload)
    report.stored_bytes = sum(len(p) for p in parts)
    chunks.index.resize(sha, report.stored_bytes)
    return report


class Compactor:
    """Compresses the raw chunks of committed blobs in a background thread."""

    def __init__(
        self,
        records: Records,
        chunks: ChunkStore,
        *,
        delay_seconds: float = DEFAULT_DELAY_SECONDS,
        max_mb_per_second: float = 0.0,
        backlog: int = DEFAULT_BACKLOG_BLOBS,
    ) -> None:
        self.records = records
        self.chunks = chunks
        self.delay = delay_seconds
        self.rate = max_mb_per_second
        self.backlog = backlog
        self._queue: deque[str] = deque()
        self._cond = threading.Condition()
        self._last_offer = 0.0
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def offer(self, blob_sha: str) -> None:
        """Queue a committed blob; dropped (left to a sweep) when the backlog is full."""
        with self._cond:
            self._last_offer = time.monotonic()
            if len(self._queue) >= self.backlog:
                metrics.COMPACTION_DROPPED.inc()
                return
            self._queue.append(blob_sha)
            self._cond.notify_all()

    def touch(self) -> None:
        """Uploads are under way: wait ``delay_seconds`` more before compacting."""
        self._last_offer = time.monotonic()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="compactor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the chunk under way and stop; what is left waits for a sweep."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or under way; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopping:
                if self._queue:
                    quiet = time.monotonic() - self._last_offer
                    if quiet >= self.delay or len(self._queue) * 2 >= self.backlog:
                        self._busy = True
                        return self._queue.popleft()
                    self._cond.wait(self.delay - quiet)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (sha := self._next()) is not None:
            try:
                self.compact_blob(sha)
            except Exception:  # the chunks stay raw and valid; a sweep retries them
                logger.exception("compacting blob %s failed", sha)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def compact_blob(self, blob_sha: str) -> CompactionReport:
        """Compress the raw chunks of one blob and record its new size at rest."""
        started_cpu = time.thread_time()
        manifest = self.records.get_manifest(blob_sha)
        report = CompactionReport()
        if manifest is None:
            return report
        started = time.monotonic()
        for sha in dict.fromkeys(sha for sha, _ in manifest.chunks):
            if self._stopping:
                break
            report.add(compact_chunk(self.chunks, sha))
            self._pace(report.raw_bytes, started)
        if report.chunks_compressed and self.records.get_manifest(blob_sha) is not None:
            manifest.stored_bytes = blobs.stored_size(self.chunks, [s for s, _ in manifest.chunks])
            self.records.put_manifest(manifest)
        report.cpu_seconds = time.thread_time() - started_cpu
        _count(report)
        return report

    def _pace(self, nbytes: int, started: float) -> None:
        if self.rate > 0:
            due = nbytes / (self.rate * 1e6) - (time.monotonic() - started)
            if due > 0:
                time.sleep(due)


def sweep(records: Records, chunks: ChunkStore) -> CompactionReport:
    """Compress every raw chunk in the backend, then refresh the sizes at rest of the blobs
    (``python -m services.artifacts compact``)."""
    started_cpu = time.process_time()
    report = CompactionReport()
    for info in chunks.backend.list(CHUNK_PREFIX):
        report.add(compact_chunk(chunks, chunk_hash_of(info.key)))
    if report.chunks_compressed:
        for info in chunks.backend.list(BLOB_PREFIX):
            manifest = records.get_manifest(blob_hash_of(info.key))
            if manifest is None:
                continue
            size = blobs.stored_size(chunks, [s for s, _ in manifest.chunks])
            if size != manifest.stored_bytes:
                manifest.stored_bytes = size
                records.put_manifest(manifest)
    report.cpu_seconds = time.process_time() - started_cpu
    _count(report)
    return report


def _count(report: CompactionReport) -> None:
    metrics.COMPACTED_CHUNKS.inc(report.chunks_compressed)
    metrics.COMPACTION_BYTES.labels("raw").inc(report.raw_bytes)
    metrics.COMPACTION_BYTES.labels("stored").inc(report.stored_bytes)
    metrics.COMPACTION_CPU_SECONDS.inc(report.cpu_seconds)
