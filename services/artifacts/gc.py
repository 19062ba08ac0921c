"""Garbage collection: sweep unpinned blobs and unreferenced chunks older than a grace period.

Roots are the pinned blobs (read from the index, :mod:`services.artifacts.index.pins`, after
importing legacy pin objects an older instance may still have written), blobs younger than
the grace period, the files of live trees, and the chunks of upload sessions that have not
finished. Chunks are found in the index (:mod:`services.artifacts.index.chunks`), not by
listing the bucket: a chunk is removed only when no live blob or session lists it and the
index says it was not used within the grace period (writers mark a chunk they find present
used, and so does ``FindMissingChunks`` for the chunks it reports present). Its row goes
first, and only while still unused, so from then on every client is told it is missing;
then its object, unless a writer has just written it again. Just before removing a blob
manifest its age is checked again, so one touched while the sweep ran survives.

Finished sessions older than the grace period are removed, unfinished ones after
``ABANDON_SECONDS`` without progress, and so are the owner and tree-membership records
(see :mod:`services.artifacts.visibility`) of removed blobs. Quarantined chunks are kept
for inspection; their records go once the chunk is repaired.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from services.artifacts import trees
from services.artifacts.backends.base import Backend
from services.artifacts.blobs import BlobReader
from services.artifacts.chunks import ChunkStore
from services.artifacts.index.legacy import import_legacy_pins
from services.artifacts.index.pins import PinIndex
from services.artifacts.store import (
    BLOB_PREFIX,
    MEMBER_PREFIX,
    OWNER_PREFIX,
    PIN_PREFIX,
    UPLOAD_PREFIX,
    BlobManifest,
    Records,
    UploadSession,
    blob_hash_of,
    blob_key,
    chunk_key,
)

logger = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 3600.0
#: Unfinished uploads without progress for this long are abandoned.
ABANDON_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class GcReport:
    """What a collection removed (or would have, on a dry run)."""

    blobs_removed: int
    chunks_removed: int
    sessions_removed: int
    bytes_freed: int
    dry_run: bool


def collect_garbage(
    backend: Backend,
    chunks: ChunkStore,
    pins: PinIndex,
    grace_seconds: float,
    dry_run: bool = False,
) -> GcReport:
    """One sweep over the whole store."""
    records = Records(backend)
    now = time.time()
    cutoff = now - grace_seconds

    if not dry_run:
        import_legacy_pins(backend, pins)
    # Legacy objects still listed (a dry run imports nothing) pin their blobs all the same.
    pinned = pins.pinned() | {info.key.split("/")[1] for info in backend.list(PIN_PREFIX)}
    manifest_infos = {blob_hash_of(info.key): info for info in backend.list(BLOB_PREFIX)}
    manifests: dict[str, BlobManifest] = {}
    for sha in manifest_infos:
        manifest = records.get_manifest(sha)
        if manifest is not None:
            manifests[sha] = manifest

    live: set[str] = set()
    stack = [sha for sha, info in manifest_infos.items() if sha in pinned or info.mtime > cutoff]
    while stack:
        sha = stack.pop()
        if sha in live or sha not in manifests:
            continue
        live.add(sha)
        manifest = manifests[sha]
        if manifest.is_tree:
            entries = trees.decode(BlobReader(chunks, manifest).read_at(0, manifest.size)) or []
            stack.extend(entry.hash for entry in entries)

    blobs_removed = 0
    for sha in manifests.keys() - live:
        # Pinned or recommitted while we looked?
        if pins.pinned([sha]):
            live.add(sha)
            continue
        info = backend.stat([blob_key(sha)])[0]
        if info is None or info.mtime > cutoff:
            live.add(sha)
            continue
        if not dry_run:
            backend.delete([blob_key(sha)])
            # A pin that landed between the check and the delete: put the manifest back.
            # PinBlob inserts its pin, then reads the manifest, so one side always sees
            # the other (see ArtifactService.pin).
            if pins.pinned([sha]):
                records.put_manifest(manifests[sha])
                live.add(sha)
                continue
        blobs_removed += 1
        logger.info("gc: blob %s%s", sha, " (dry run)" if dry_run else " removed")

    if not dry_run:
        _sweep_records(backend, live, cutoff)

    referenced: set[str] = set()
    for sha in live:
        referenced.update(chunk for chunk, _ in manifests[sha].chunks)

    sessions_removed = 0
    for info in list(backend.list(UPLOAD_PREFIX)):
        try:
            session = UploadSession.from_bytes(backend.get(info.key))
        except Exception:
            continue
        limit = cutoff if session.complete else min(cutoff, now - ABANDON_SECONDS)
        if info.mtime < limit:
            sessions_removed += 1
            if not dry_run:
                backend.delete([info.key])
            continue
        if not session.complete:
            referenced.update(chunk for chunk, _ in session.chunks)

    chunks_removed = bytes_freed = 0
    for sha, size in chunks.index.unused_since(cutoff):
        if sha in referenced:
            continue
        if not dry_run:
            if not chunks.index.remove_unused(sha, cutoff):
                continue  # used since we looked: a client was told it is present
            # A writer that found the chunk missing once its row was gone may have written
            # it again already (its row follows): leave a fresh object alone.
            fresh = backend.stat([chunk_key(sha)])[0]
            if fresh is not None and fresh.mtime > cutoff:
                continue
            backend.delete([chunk_key(sha)])
        chunks_removed += 1
        bytes_freed += size
    report = GcReport(blobs_removed, chunks_removed, sessions_removed, bytes_freed, dry_run)
    logger.info("gc finished: %s", report)
    return report


def _sweep_records(backend: Backend, live: set[str], cutoff: float) -> None:
    """Remove owner records of removed blobs and membership records of removed trees.

    Only records older than the grace period go: a commit running now writes its record
    (or touches it) before or with its manifest, so it is younger than the cutoff.
    """
    stale = [
        info.key
        for info in backend.list(OWNER_PREFIX)
        if info.mtime <= cutoff and info.key.split("/")[1] not in live
    ]
    stale += [
        info.key
        for info in backend.list(MEMBER_PREFIX)
        if info.mtime <= cutoff and info.key.rsplit("/", 1)[-1] not in live
    ]
    backend.delete(stale)
