"""Use cases of the artifact service, on domain values; the servicer converts protos.

Digests arrive here validated (hex SHA-256, size not negative) as ``(hash, size)`` pairs.
State lives in the backend and in the index database (pins), so instances share nothing
but those two. Use cases that read or name a blob take the caller's :class:`Identity`: a
token limited to a model-name prefix sees only the blobs :mod:`services.artifacts.visibility`
allows, and upload sessions belong to the principal that started them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mreg.chunking import MAX_CHUNK_BYTES, new_chunker
from services.artifacts import blobs, gc, trees
from services.artifacts import compactor as compaction
from services.artifacts import scrub as scrubbing
from services.artifacts.backends.base import Backend
from services.artifacts.blobs import BlobReader, Piece
from services.artifacts.chunks import ChunkStore, StoredChunk, Unrecorded
from services.artifacts.compactor import CompactionReport, Compactor
from services.artifacts.index.chunks import ChunkIndex, Reconciled
from services.artifacts.index.database import IndexDatabase
from services.artifacts.index.pins import PINS_LISTED, PinIndex
from services.artifacts.quarantine import Quarantine
from services.artifacts.store import BlobManifest, Records, blob_key
from services.artifacts.uploads import (
    Message,
    PlainUploads,
    StreamBroken,
    UploadStatus,
    UploadStream,
)
from services.artifacts.visibility import Visibility, not_found
from services.common.auth import ANONYMOUS, Identity
from services.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    OutOfRange,
    PreconditionViolation,
)

logger = logging.getLogger(__name__)

Digest = tuple[str, int]

MAX_FIND_MISSING = 10_000
MAX_HOLDER = 512
MAX_PIN_PAGE = 1000


@dataclass(frozen=True)
class IncomingChunk:
    """One chunk of ``UploadChunks``: its digest, encoding and encoded bytes."""

    hash: str
    size: int
    codec: int
    data: bytes


@dataclass(frozen=True)
class ChunkUploadReport:
    """What one ``UploadChunks`` stream delivered."""

    received: int
    stored: int
    wire_bytes: int


@dataclass(frozen=True)
class BlobView:
    """A blob with the first holders pinning it (at most ``PINS_LISTED``), how many pin it,
    and its quarantined chunks (with sizes)."""

    manifest: BlobManifest
    pins: list[str]
    quarantined: list[Digest] = field(default_factory=list)
    pin_count: int = 0


@dataclass(frozen=True)
class PinPage:
    """One page of a blob's holders and the token of the next (empty on the last)."""

    holders: list[str]
    next_after: str


class ArtifactService:
    """Content-addressed, deduplicated, compressed storage of model files."""

    def __init__(
        self,
        backend: Backend,
        index: IndexDatabase,
        *,
        threads: int = 4,
        default_scrub_rate: float = scrubbing.DEFAULT_MAX_MB_PER_SECOND,
        compact: bool = True,
        compact_delay_seconds: float = 2.0,
        compact_max_mb_per_second: float = 0.0,
    ) -> None:
        self.backend = backend
        self.index = index
        self.pins = PinIndex(index)
        self.default_scrub_rate = default_scrub_rate
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="artifacts")
        self.records = Records(backend)
        self.quarantine = Quarantine(backend)
        self.chunks = ChunkStore(backend, self.pool, ChunkIndex(index), self.quarantine)
        self.compactor = Compactor(
            self.records,
            self.chunks,
            delay_seconds=compact_delay_seconds,
            max_mb_per_second=compact_max_mb_per_second,
        )
        if compact:
            self.compactor.start()
        self.uploads = PlainUploads(self.records, self.chunks, self.compactor)
        self.visibility = Visibility(self.records, self.pins)

    def close(self) -> None:
        """Stop the compactor and the worker threads, and release the backend and index."""
        self.compactor.stop()
        self.pool.shutdown(wait=True)
        self.backend.close()
        self.index.dispose()

    # ------------------------------------------------------------------ dedup path

    def find_missing_chunks(
        self, digests: list[Digest], identity: Identity = ANONYMOUS
    ) -> list[Digest]:
        """The digests whose chunks are not stored; present ones are touched (kept by GC).

        For a prefix-limited caller, a chunk that is another's whole one-chunk file counts
        as missing (see :mod:`services.artifacts.visibility`).
        """
        if len(digests) > MAX_FIND_MISSING:
            raise InvalidArgument.field(
                "digests", f"at most {MAX_FIND_MISSING} digests per call, got {len(digests)}"
            )
        shas = [sha for sha, _ in digests]
        missing = set(blobs.missing_chunks(self.chunks, shas))
        missing |= self.visibility.hidden_blobs(identity, [s for s in shas if s not in missing])
        return [d for d in digests if d[0] in missing]

    def upload_chunks(
        self, incoming: Iterable[IncomingChunk], identity: Identity = ANONYMOUS
    ) -> ChunkUploadReport:
        """Verify and store each chunk; a few are decoded, hashed and written in parallel."""
        upload = self.begin_chunk_upload(identity)
        try:
            for chunk in incoming:
                upload.add(chunk)
        except StreamBroken:
            logger.info("UploadChunks: the client went away after %d chunks", upload.received)
        except BaseException:
            upload.cancel()
            raise
        return upload.finish()

    def begin_chunk_upload(self, identity: Identity = ANONYMOUS) -> ChunkUpload:
        """The state of one ``UploadChunks`` stream (see :class:`ChunkUpload`)."""
        return ChunkUpload(self, identity)

    def commit_blob(
        self, blob: Digest, chunk_digests: list[Digest], identity: Identity = ANONYMOUS
    ) -> BlobView:
        """Record a blob as its ordered chunks, after checking presence and the digest.

        An existing blob is answered at once, unless the caller may not see it (it must then
        prove it holds the bytes, by chunks that concatenate to the digest) or some of its
        chunks are quarantined (they must be uploaded again: FAILED_PRECONDITION).
        """
        sha, size = blob
        existing = self.records.get_manifest(sha)
        if (
            existing is not None
            and existing.size == size
            and self.visibility.may_see(identity, sha)
            and not self.quarantine.unreadable([s for s, _ in existing.chunks])
        ):
            self.backend.touch([blob_key(sha)])
            return self._view(existing, identity=identity)
        claimed = sum(s for _, s in chunk_digests)
        if claimed != size:
            raise InvalidArgument.field(
                "blob_digest.size_bytes",
                f"the chunks add up to {claimed} bytes, the blob digest says {size}",
                reason="DIGEST_MISMATCH",
            )
        shas = [s for s, _ in chunk_digests]
        blobs.require_chunks(self.chunks, shas, self.visibility.hidden_blobs(identity, shas))
        manifest = BlobManifest(sha, size, list(chunk_digests))
        actual_sha, actual_size = blobs.hash_chunks(self.chunks, manifest)
        if (actual_sha, actual_size) != (sha, size):
            blobs.find_corrupt_chunk(self.chunks, shas)  # DATA_LOSS if storage is at fault
            raise InvalidArgument.field(
                "blob_digest",
                f"the chunks concatenate to {actual_sha}/{actual_size}, not {sha}/{size}",
                reason="DIGEST_MISMATCH",
            )
        self._own(identity, sha)
        if existing is not None and existing.size == size:
            self.backend.touch([blob_key(sha)])
            return self._view(existing, identity=identity)
        committed = blobs.finalize(self.records, self.chunks, manifest)
        self.compactor.offer(committed.hash)
        return self._view(committed, identity=identity)

    def _own(self, identity: Identity, sha: str) -> None:
        """Let a prefix-limited caller read back what it committed (before it is pinned)."""
        if identity.model_prefix:
            self.records.add_owner(sha, identity.principal)

    # ------------------------------------------------------------------ plain path

    def upload_blob(
        self, messages: Iterator[Message], identity: Identity = ANONYMOUS
    ) -> UploadStatus:
        """Consume one plain upload stream (see :mod:`services.artifacts.uploads`)."""
        return self.owned(self.uploads.upload(messages, identity.principal), identity)

    def begin_upload(self, header: Message | None, identity: Identity = ANONYMOUS) -> UploadStream:
        """Open or resume the caller's plain upload named by its stream's first message."""
        return self.uploads.begin(header, identity.principal)

    def owned(self, status: UploadStatus, identity: Identity = ANONYMOUS) -> UploadStatus:
        """``status``, after recording a finished upload's blob as the caller's own."""
        if status.complete and status.blob is not None:
            self._own(identity, status.blob.hash)
        return status

    def query_upload(self, upload_id: str, identity: Identity = ANONYMOUS) -> UploadStatus:
        """How far the caller's upload got; NOT_FOUND for another principal's id."""
        return self.uploads.query(upload_id, identity.principal)

    def put_bytes(self, data: bytes, *, is_tree: bool = False) -> BlobManifest:
        """Store a small blob held in memory (tree manifests); returns its manifest."""
        view = memoryview(data)
        stored = [
            self.chunks.store(view[c.offset : c.offset + c.length])
            for c in new_chunker().cut_buf(view)
        ]
        sha = hashlib.sha256(data).hexdigest()
        manifest = BlobManifest(sha, len(data), [(s.sha256, s.size) for s in stored])
        manifest.is_tree = is_tree
        if is_tree:
            manifest.inspection = {"format": "tree"}
        return blobs.finalize(self.records, self.chunks, manifest)

    # ------------------------------------------------------------------ reads

    def manifest(self, digest: Digest, identity: Identity = ANONYMOUS) -> BlobManifest:
        """The manifest of a blob by hash (the size is not compared); NOT_FOUND when absent
        or when ``identity`` may not see it (the same answer, so existence is not leaked)."""
        sha = digest[0]
        manifest = self.records.get_manifest(sha)
        if manifest is None:
            raise not_found(sha)
        self.visibility.require(identity, sha)
        return manifest

    def read_blob(
        self,
        digest: Digest,
        offset: int,
        limit: int,
        accept_compressed: bool = False,
        identity: Identity = ANONYMOUS,
    ) -> Iterator[Piece]:
        """Check the request, then return the pieces of ``[offset, offset+limit)``.

        Errors are raised here, before the first byte is sent; DATA_LOSS may still come
        from the iterator when a chunk turns out corrupt.
        """
        if offset < 0:
            raise InvalidArgument.field("offset", f"offset must not be negative, got {offset}")
        if limit < 0:
            raise InvalidArgument.field("limit", f"limit must not be negative, got {limit}")
        manifest = self.manifest(digest, identity)
        if digest[1] and digest[1] != manifest.size:
            raise InvalidArgument.field(
                "digest.size_bytes",
                f"blob {manifest.hash} has {manifest.size} bytes, not {digest[1]}",
            )
        if offset > manifest.size:
            raise OutOfRange(
                f"offset {offset} is beyond the end of the blob ({manifest.size} bytes)",
                reason="OFFSET_OUT_OF_RANGE",
            )
        return BlobReader(self.chunks, manifest).pieces(offset, limit, accept_compressed)

    def stat_blob(self, digest: Digest, identity: Identity = ANONYMOUS) -> BlobView:
        """A blob's manifest, pins and quarantined chunks (for a tree: its files' too)."""
        manifest = self.manifest(digest, identity)
        return self._view(manifest, self._quarantined(manifest), identity)

    def _quarantined(self, manifest: BlobManifest) -> list[Digest]:
        active = self.quarantine.active()
        if not active:
            return []
        chunks = list(manifest.chunks)
        if manifest.is_tree:
            for entry in self._entries(manifest) or []:
                file = self.records.get_manifest(entry.hash)
                chunks.extend(file.chunks if file is not None else [])
        return list(dict.fromkeys(c for c in chunks if c[0] in active))

    def _view(
        self,
        manifest: BlobManifest,
        quarantined: Sequence[Digest] = (),
        identity: Identity = ANONYMOUS,
    ) -> BlobView:
        """The blob with its first pins and their count (to a prefix-limited caller: only
        its prefix's versions)."""
        pins, count = self.pins.view(
            manifest.hash, limit=PINS_LISTED, model_prefix=identity.model_prefix
        )
        return BlobView(manifest, pins, list(quarantined), count)

    def _entries(self, manifest: BlobManifest) -> list[trees.Entry] | None:
        if not manifest.is_tree:
            return None
        return trees.decode(BlobReader(self.chunks, manifest).read_at(0, manifest.size))

    # ------------------------------------------------------------------ trees

    def commit_tree(self, entries: list[trees.Entry], identity: Identity = ANONYMOUS) -> BlobView:
        """Store a tree manifest after checking paths and that every file's blob exists
        (and that the caller may see it: a blob it may not see counts as missing)."""
        entries = trees.validate_entries(entries)
        missing = []
        for entry in entries:
            manifest = self.records.get_manifest(entry.hash)
            if (
                manifest is None
                or manifest.size != entry.size
                or not self.visibility.may_see(identity, entry.hash)
            ):
                missing.append(entry)
        if missing:
            raise FailedPrecondition(
                f"{len(missing)} file(s) of the tree name blobs the server does not hold: "
                + ", ".join(f"{e.path} ({e.hash}/{e.size})" for e in missing[:5]),
                reason="BLOBS_MISSING",
                precondition_violations=[
                    PreconditionViolation("BLOB_MISSING", f"blobs/{e.hash}", e.path)
                    for e in missing
                ],
            )
        encoded = trees.encode(entries)
        tree_sha = hashlib.sha256(encoded).hexdigest()
        # Membership first: a reader of the tree's pins may then read its files.
        self.records.add_members(tree_sha, [e.hash for e in entries])
        self._own(identity, tree_sha)
        return self._view(self.put_bytes(encoded, is_tree=True), identity=identity)

    def get_tree(self, digest: Digest, identity: Identity = ANONYMOUS) -> list[trees.Entry]:
        """The entries of a tree manifest."""
        manifest = self.manifest(digest, identity)
        entries = self._entries(manifest)
        if entries is None:
            raise FailedPrecondition(
                f"blob {manifest.hash} is not a tree manifest",
                reason="NOT_A_TREE",
                precondition_violations=[
                    PreconditionViolation("NOT_A_TREE", f"blobs/{manifest.hash}", "not a tree")
                ],
            )
        return entries

    # ------------------------------------------------------------------ pins and GC

    def pin(self, digest: Digest, holder: str) -> BlobView:
        """Pin a blob for ``holder`` (idempotent).

        The pin is written first and the manifest read after it, so a garbage collection
        that removes the blob meanwhile either sees the pin (and puts the manifest back) or
        is seen here (the pin is taken back: NOT_FOUND).
        """
        _validate_holder(holder)
        manifest = self.manifest(digest)
        if manifest.is_tree:  # trees committed before membership records existed
            self.records.add_members(manifest.hash, [e.hash for e in self._entries(manifest) or []])
        self.pins.add([(manifest.hash, holder)])
        if self.backend.stat([blob_key(manifest.hash)])[0] is None:
            self.pins.remove(manifest.hash, holder)
            raise not_found(manifest.hash)
        return self._view(manifest)

    def unpin(self, digest: Digest, holder: str) -> bool:
        """Remove ``holder``'s pin; ``True`` when there was one."""
        _validate_holder(holder)
        return self.pins.remove(digest[0], holder)

    def list_pins(
        self, digest: Digest, page_size: int, after: str, identity: Identity = ANONYMOUS
    ) -> PinPage:
        """A page of the holders pinning a blob the caller may see, in byte order, after
        the holder ``after`` (to a prefix-limited caller: only its prefix's versions)."""
        if page_size < 0:
            raise InvalidArgument.field(
                "page_size", f"page_size must not be negative, got {page_size}"
            )
        size = min(page_size or PINS_LISTED, MAX_PIN_PAGE)
        self.manifest(digest, identity)
        holders = self.pins.holders(
            digest[0], limit=size + 1, after=after, model_prefix=identity.model_prefix
        )
        more = len(holders) > size
        holders = holders[:size]
        return PinPage(holders, holders[-1] if more else "")

    def collect_garbage(self, grace_seconds: float, dry_run: bool = False) -> gc.GcReport:
        """Sweep unpinned blobs and unreferenced chunks older than ``grace_seconds``."""
        if grace_seconds < 0:
            raise InvalidArgument.field(
                "grace_period", f"the grace period must not be negative, got {grace_seconds} s"
            )
        return gc.collect_garbage(self.backend, self.chunks, self.pins, grace_seconds, dry_run)

    def fsck(self) -> Reconciled:
        """Make the chunk index agree with the backend (see
        :meth:`~services.artifacts.index.chunks.ChunkIndex.reconcile`)."""
        return self.chunks.index.reconcile(self.backend)

    def compact_all(self) -> CompactionReport:
        """Compress every chunk stored raw (see :mod:`services.artifacts.compactor`)."""
        return compaction.sweep(self.records, self.chunks)

    def scrub(self, max_mb_per_second: float) -> scrubbing.ScrubReport:
        """Verify every stored chunk at most this fast (0: unbounded); quarantine the bad."""
        if max_mb_per_second < 0:
            raise InvalidArgument.field(
                "max_mb_per_second",
                f"the rate limit must not be negative, got {max_mb_per_second} MB/s",
            )
        return scrubbing.scrub(self.chunks, self.pins, max_mb_per_second)


class ChunkUpload:
    """One ``UploadChunks`` stream: chunks are decoded, verified and stored a few at a time.

    :meth:`add` blocks while the window of parallel jobs is full (so a fast sender is held
    back by flow control); :meth:`finish` waits for the rest and reports.
    """

    def __init__(self, service: ArtifactService, identity: Identity) -> None:
        self.service = service
        self.identity = identity
        self.window = service.chunks.window(8)
        self.unrecorded = Unrecorded(service.chunks)
        self.received = self.stored = self.wire = 0
        self.sent: list[str] = []

    def _count(self, results: list[StoredChunk]) -> None:
        self.stored += sum(1 for r in results if r.new)
        self.sent.extend(r.sha256 for r in results)
        self.unrecorded.add(results)

    def add(self, chunk: IncomingChunk) -> None:
        """Check one chunk's claimed size and queue it for storing."""
        self.service.compactor.touch()
        self.received += 1
        self.wire += len(chunk.data)
        if chunk.size > MAX_CHUNK_BYTES:
            raise InvalidArgument.field(
                "digest.size_bytes",
                f"chunk {chunk.hash} has {chunk.size} bytes, more than the maximum "
                f"chunk size of {MAX_CHUNK_BYTES} bytes",
                reason="CHUNK_TOO_LARGE",
            )
        chunks = self.service.chunks
        self._count(
            self.window.submit(
                chunks.store_encoded, chunk.codec, chunk.data, chunk.hash, chunk.size, record=False
            )
        )

    def drain(self) -> None:
        """Wait for the chunks in flight (their errors are raised); record them all."""
        try:
            self._count(self.window.drain())
        finally:
            self.unrecorded.flush()  # what was stored is recorded, even after an error

    def cancel(self) -> None:
        """Drop the chunks not started; wait for those under way and record what they
        stored (on error paths)."""
        self.unrecorded.add(self.window.cancel())
        self.unrecorded.flush()

    def finish(self) -> ChunkUploadReport:
        """Wait for the rest; let the caller see the chunks it sent; the report."""
        self.drain()
        self.service.visibility.claim_sent(self.identity, self.sent)
        return ChunkUploadReport(self.received, self.stored, self.wire)


def _validate_holder(holder: str) -> None:
    if not holder:
        raise InvalidArgument.field("holder", "a holder is required")
    if len(holder) > MAX_HOLDER or any(ord(c) < 32 for c in holder):
        raise InvalidArgument.field(
            "holder",
            f"a holder is at most {MAX_HOLDER} printable characters, got {len(holder)}",
        )
