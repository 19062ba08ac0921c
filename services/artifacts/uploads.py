"""Plain streaming uploads: the server cuts, hashes, compresses and stores the bytes itself.

An upload is a session persisted in the backend (``uploads/{principal}/{id}.json``) listing
the chunks stored so far. A session belongs to the principal that started it: every other
principal (admins included) gets NOT_FOUND for its id, as for an id never used, and using
the same id starts a session of its own. Its committed offset is the number of bytes in
those chunks. The session is checkpointed every ``CHECKPOINT_BYTES`` and whenever a stream
ends, so a client whose connection drops asks ``QueryUpload`` and resumes there, on any
instance. Nothing becomes a visible blob until a finish message is verified.

The blob's SHA-256 is computed as the bytes arrive; when a stream resumed mid-blob (a running
hash cannot be persisted) it is recomputed from the stored chunks at finish.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from mreg.chunking import StreamChunker
from services.artifacts import blobs
from services.artifacts.chunks import ChunkStore, StoredChunk, Unrecorded
from services.artifacts.compactor import Compactor
from services.artifacts.store import BlobManifest, Records, UploadSession
from services.common.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
)

logger = logging.getLogger(__name__)

UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: Persist the session after this many new bytes are stored ...
CHECKPOINT_BYTES = 64 * 1024 * 1024
#: ... or this many seconds after the last save. Garbage collection protects a stored chunk
#: by its age until the session lists it, so its grace period must exceed this.
CHECKPOINT_SECONDS = 10.0


@dataclass(frozen=True)
class Header:
    """Opens a stream: the upload id and the offset of the first data byte."""

    upload_id: str
    write_offset: int


@dataclass(frozen=True)
class Data:
    """The next raw bytes."""

    data: bytes


@dataclass(frozen=True)
class Finish:
    """Ends the upload; ``expected`` is an optional ``(sha256, size)`` to check."""

    expected: tuple[str, int] | None


Message = Header | Data | Finish


class StreamBroken(Exception):
    """The client went away mid-stream (cancelled, disconnected, deadline passed)."""


@dataclass(frozen=True)
class UploadStatus:
    """Where an upload stands."""

    upload_id: str
    committed_size: int
    complete: bool
    blob: BlobManifest | None = None


def validate_upload_id(upload_id: str, field: str = "upload_id") -> str:
    """8 to 64 characters of ``[A-Za-z0-9_-]``."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise InvalidArgument.field(
            field,
            f"invalid upload id {upload_id!r}: use 8 to 64 characters of letters, digits, "
            "'_' and '-' (a UUID is a good choice)",
        )
    return upload_id


class PlainUploads:
    """Use cases of the plain upload path."""

    def __init__(
        self, records: Records, chunks: ChunkStore, compactor: Compactor | None = None
    ) -> None:
        self.records = records
        self.chunks = chunks
        self.compactor = compactor

    def query(self, upload_id: str, principal: str) -> UploadStatus:
        """The committed offset of ``principal``'s upload, and its blob once finished."""
        validate_upload_id(upload_id)
        session = self.records.get_session(upload_id, principal)
        if session is None:
            raise NotFound(f"no upload has id {upload_id!r}", metadata={"upload_id": upload_id})
        return self._status(session)

    def _status(self, session: UploadSession) -> UploadStatus:
        blob = self.records.get_manifest(session.blob_hash) if session.complete else None
        return UploadStatus(session.upload_id, session.committed_size, session.complete, blob)

    def begin(self, header: Message | None, principal: str) -> UploadStream:
        """Open (or resume) ``principal``'s upload named by a stream's first message."""
        if not isinstance(header, Header):
            raise InvalidArgument.field("header", "the first message of an upload must be a header")
        return UploadStream(self, self._open(header, principal))

    def upload(self, messages: Iterator[Message], principal: str) -> UploadStatus:
        """Consume one stream of ``principal``: a header, data, and optionally a finish."""
        stream = self.begin(next(messages, None), principal)
        try:
            for message in messages:
                if isinstance(message, Data):
                    stream.feed(message.data)
                elif isinstance(message, Finish):
                    if next(messages, None) is not None:
                        raise finish_not_last()
                    return stream.finish(message.expected)
                else:
                    raise header_not_first()
        except StreamBroken:
            logger.info("upload %s: the client went away", stream.session.upload_id)
        except BaseException:
            stream.save_progress()
            raise
        stream.save_progress()
        return stream.status()

    def _open(self, header: Header, principal: str) -> UploadSession:
        validate_upload_id(header.upload_id, "header.upload_id")
        session = self.records.get_session(header.upload_id, principal)
        if session is None:
            if header.write_offset != 0:
                raise NotFound(
                    f"no upload has id {header.upload_id!r}; a new upload starts at offset 0",
                    metadata={"upload_id": header.upload_id},
                )
            session = UploadSession(header.upload_id, principal)
            self.records.put_session(session)
        if session.complete:
            raise FailedPrecondition(
                f"upload {header.upload_id!r} already finished as blob {session.blob_hash}; "
                "start a new upload with a new id",
                reason="UPLOAD_FINISHED",
            )
        if header.write_offset != session.committed_size:
            raise OutOfRange(
                f"attempted to write at offset {header.write_offset}, "
                f"expected {session.committed_size}",
                reason="WRONG_OFFSET",
                metadata={"expected_offset": str(session.committed_size)},
            )
        return session


def finish_not_last() -> InvalidArgument:
    """The error for messages after a finish."""
    return InvalidArgument.field("finish", "the finish message must be the last message")


def header_not_first() -> InvalidArgument:
    """The error for a header after the first message."""
    return InvalidArgument.field("header", "a header may only be the first message of a stream")


class UploadStream:
    """One stream's state: chunker, running hash, chunk jobs in flight.

    Its methods block (hashing, compression, backend writes): a caller on an event loop
    runs them on a thread pool, one at a time per stream.
    """

    def __init__(self, uploads: PlainUploads, session: UploadSession) -> None:
        self.uploads = uploads
        self.session = session
        self.chunker = StreamChunker(session.committed_size)
        self.window = uploads.chunks.window(8)
        self.unrecorded = Unrecorded(uploads.chunks)
        # A running hash is only possible from byte 0.
        self.hasher = hashlib.sha256() if session.committed_size == 0 else None
        self.received = session.committed_size
        self.unsaved = 0
        self.last_save = time.monotonic()
        #: A chunk failed to store: the session keeps the chunks before it and grows no more
        #: (chunks after it may have been stored, but listing them would leave a gap).
        self.broken = False

    def feed(self, data: bytes) -> None:
        if self.uploads.compactor is not None:
            self.uploads.compactor.touch()
        if self.hasher is not None:
            self.hasher.update(data)
        self.received += len(data)
        for _offset, chunk in self.chunker.feed(data):
            self._store(chunk)
        now = time.monotonic()
        if self.unsaved >= CHECKPOINT_BYTES or (
            self.unsaved and now - self.last_save >= CHECKPOINT_SECONDS
        ):
            self.unrecorded.flush()
            self.uploads.records.put_session(self.session)
            self.unsaved = 0
            self.last_save = now

    def _store(self, chunk: memoryview) -> None:
        self.window.start(self.uploads.chunks.store, chunk, record=False)
        self._collect(self.window.ready())

    def _collect(self, stored: Iterator[StoredChunk]) -> None:
        """Append stored chunks in order; on the first failure, stop for good and raise."""
        if self.broken:
            raise Aborted(
                f"upload {self.session.upload_id!r} failed to store a chunk; resume at offset "
                f"{self.session.committed_size}",
                reason="UPLOAD_BROKEN",
                metadata={"expected_offset": str(self.session.committed_size)},
            )
        try:
            for chunk in stored:
                self.session.chunks.append((chunk.sha256, chunk.size))
                self.session.committed_size += chunk.size
                self.unsaved += chunk.size
                self.unrecorded.add([chunk])
        except BaseException:
            self.broken = True
            self.unrecorded.add(self.window.cancel())  # stored, though not in the session
            self.unrecorded.flush()
            raise

    def _flush(self) -> None:
        for _offset, chunk in self.chunker.finish():
            self._store(chunk)
        self._collect(self.window.results())
        self.unrecorded.flush()

    def status(self) -> UploadStatus:
        """Where the upload stands now (as persisted once :meth:`save_progress` ran)."""
        return self.uploads._status(self.session)

    def save_progress(self) -> None:
        """Store what was received and persist the session (stream ended without finish)."""
        if self.session.complete:
            return
        try:
            if not self.broken:
                self._flush()
        except Exception:
            # Keep the unbroken prefix stored in order; the rest is sent again on resuming.
            logger.warning("upload %s: storing the tail failed", self.session.upload_id)
        self.uploads.records.put_session(self.session)
        logger.info(
            "upload %s paused at offset %d",
            self.session.upload_id,
            self.session.committed_size,
        )

    def finish(self, expected: tuple[str, int] | None) -> UploadStatus:
        self._flush()
        session = self.session
        shas = [sha for sha, _ in session.chunks]
        self._recover_lost_chunks(shas)
        manifest = BlobManifest("", session.committed_size, list(session.chunks))
        if self.hasher is not None:
            sha, size = self.hasher.hexdigest(), self.received
        else:
            sha, size = blobs.hash_chunks(self.uploads.chunks, manifest)
        if expected is not None and (sha, size) != expected:
            self.uploads.records.put_session(session)
            raise InvalidArgument.field(
                "finish.expected_digest",
                f"the uploaded bytes are {sha}/{size}, expected {expected[0]}/{expected[1]}",
                reason="DIGEST_MISMATCH",
            )
        manifest.hash = sha
        existing = self.uploads.records.get_manifest(sha)
        if existing is None:
            existing = blobs.finalize(self.uploads.records, self.uploads.chunks, manifest)
            if self.uploads.compactor is not None:
                self.uploads.compactor.offer(existing.hash)
        session.complete = True
        session.blob_hash = sha
        self.uploads.records.put_session(session)
        return UploadStatus(session.upload_id, session.committed_size, True, existing)

    def _recover_lost_chunks(self, shas: list[str]) -> None:
        """If garbage collection removed a chunk meanwhile, rewind the upload to before it."""
        missing = set(blobs.missing_chunks(self.uploads.chunks, shas))
        if not missing:
            return
        keep = next(i for i, sha in enumerate(shas) if sha in missing)
        session = self.session
        session.chunks = session.chunks[:keep]
        session.committed_size = sum(size for _, size in session.chunks)
        self.uploads.records.put_session(session)
        self.session = session
        self.window = self.uploads.chunks.window(8)
        raise Aborted(
            f"a stored chunk of upload {session.upload_id!r} was removed while it ran; "
            f"resume at offset {session.committed_size}",
            reason="CHUNK_LOST",
            metadata={"expected_offset": str(session.committed_size)},
        )
