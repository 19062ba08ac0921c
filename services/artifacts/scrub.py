"""Scrub: read back and verify every stored chunk at a bounded rate; quarantine the bad.

A chunk is verified as a read verifies it (its stored checksum; for a chunk stored before
checksums, decode and SHA-256 against its key). The scrub reads at most
``max_mb_per_second`` (10^6 bytes/s, of bytes at rest; 0 means as fast as it can), so it
can run beside live traffic. Its report lists every blob that is now unreadable
(it lists a quarantined chunk, found by this run or an earlier read) and the holders that
pin it or a tree listing it: the versions whose bytes must be pushed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.artifacts.backends.base import ObjectNotFound
from services.artifacts.chunks import ChunkStore
from services.artifacts.index.pins import PINS_LISTED, PinIndex
from services.artifacts.store import (
    BLOB_PREFIX,
    CHUNK_PREFIX,
    Records,
    blob_hash_of,
    chunk_hash_of,
    chunk_key,
)

logger = logging.getLogger(__name__)

#: Default rate limit of a scrub, in MB/s (``MREG_SCRUB_MAX_MB_PER_SECOND``).
DEFAULT_MAX_MB_PER_SECOND = 50.0


@dataclass(frozen=True)
class UnreadableBlob:
    """A blob that lists quarantined chunks, and who depends on it."""

    hash: str
    size: int
    is_tree: bool
    quarantined_chunks: list[str]
    pinned_by: list[str]
    trees: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScrubReport:
    """What one scrub checked, found and measured."""

    chunks_checked: int
    bytes_checked: int
    chunks_quarantined: list[str]
    seconds: float
    mb_per_second: float
    max_mb_per_second: float
    unreadable: list[UnreadableBlob]


def scrub(
    chunks: ChunkStore,
    pins: PinIndex,
    max_mb_per_second: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ScrubReport:
    """Verify every chunk of ``chunks``' backend; see the module docstring."""
    backend = chunks.backend
    start = clock()
    checked = nbytes = 0
    found: list[str] = []

    def verify(sha: str) -> tuple[str, int]:
        try:
            stored = backend.get(chunk_key(sha))
        except ObjectNotFound:  # removed by garbage collection meanwhile
            return "", 0
        problem = chunks.check(sha, stored)
        if problem:
            chunks.corrupt(sha, stored, problem)
            return sha, len(stored)
        return "", len(stored)

    def collect(results: list[tuple[str, int]]) -> None:
        nonlocal checked, nbytes
        for bad, size in results:
            checked += 1
            nbytes += size
            if bad:
                found.append(bad)
        if max_mb_per_second > 0:
            due = nbytes / (max_mb_per_second * 1e6) - (clock() - start)
            if due > 0:
                sleep(due)

    window = chunks.window(4)
    try:
        for info in backend.list(CHUNK_PREFIX):
            collect(window.submit(verify, chunk_hash_of(info.key)))
        collect(window.drain())
    finally:
        window.cancel()
    seconds = clock() - start
    report = ScrubReport(
        chunks_checked=checked,
        bytes_checked=nbytes,
        chunks_quarantined=found,
        seconds=round(seconds, 3),
        mb_per_second=round(nbytes / 1e6 / seconds, 1) if seconds > 0 else 0.0,
        max_mb_per_second=max_mb_per_second,
        unreadable=unreadable_blobs(chunks, pins),
    )
    logger.info(
        "scrub: %d chunks (%d bytes) in %.1f s, %d quarantined, %d blobs unreadable",
        checked,
        nbytes,
        seconds,
        len(found),
        len(report.unreadable),
    )
    return report


def unreadable_blobs(chunks: ChunkStore, pins: PinIndex) -> list[UnreadableBlob]:
    """Every blob listing a quarantined chunk, with the holders pinning it or its trees
    (at most :data:`PINS_LISTED` of each: the first in byte order)."""
    if chunks.quarantine is None:
        return []
    bad = chunks.quarantine.active()
    if not bad:
        return []
    records = Records(chunks.backend)
    out = []
    for info in chunks.backend.list(BLOB_PREFIX):
        manifest = records.get_manifest(blob_hash_of(info.key))
        if manifest is None:
            continue
        hit = [sha for sha in dict.fromkeys(s for s, _ in manifest.chunks) if sha in bad]
        if not hit:
            continue
        trees = sorted(records.trees_listing(manifest.hash))
        holders = set(pins.holders(manifest.hash, limit=PINS_LISTED))
        for tree in trees:
            holders.update(pins.holders(tree, limit=PINS_LISTED))
        out.append(
            UnreadableBlob(
                manifest.hash, manifest.size, manifest.is_tree, hit, sorted(holders), trees
            )
        )
    return sorted(out, key=lambda b: b.hash)
