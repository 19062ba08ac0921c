"""Conversions between the artifact protos and the service's domain values."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from google.protobuf import timestamp_pb2

from modelregistry.v1 import artifacts_pb2, resources_pb2
from mreg.chunkids import digest_of_id, id_of_digest
from services.artifacts.gc import GcReport
from services.artifacts.scrub import ScrubReport
from services.artifacts.service import BlobView, Digest
from services.artifacts.store import BlobManifest
from services.artifacts.uploads import UploadStatus
from services.common.errors import InvalidArgument
from services.common.validation import validate_digest


def digest_in(digest: resources_pb2.Digest, field: str = "digest") -> Digest:
    """A validated request digest as ``(hash, size)``."""
    validate_digest(digest, field)
    return digest.hash, digest.size_bytes


def chunk_digest_in(digest: resources_pb2.Digest, field: str = "digest") -> Digest:
    """A validated chunk digest as ``(chunk id, size)`` (see :mod:`mreg.chunkids`)."""
    validate_digest(digest, field, chunk=True)
    return id_of_digest(digest), digest.size_bytes


def digest_out(sha: str, size: int) -> resources_pb2.Digest:
    """A ``Digest`` message (of a blob, or of a chunk by its id)."""
    return digest_of_id(sha, size)


def inspection_out(record: dict | None) -> artifacts_pb2.Inspection | None:
    """The ``Inspection`` of a manifest's inspection record."""
    if not record:
        return None
    return artifacts_pb2.Inspection(
        format=record.get("format", ""),
        tensor_count=record.get("tensor_count", 0),
        parameter_count=record.get("parameter_count", 0),
        dtypes=record.get("dtypes", []),
        may_execute_code=record.get("may_execute_code", False),
        details=record.get("details", {}),
    )


def blob_out(manifest: BlobManifest, pins: Sequence[str] = ()) -> artifacts_pb2.BlobInfo:
    """The ``BlobInfo`` of a manifest."""
    create_time = timestamp_pb2.Timestamp()
    create_time.FromNanoseconds(int(manifest.create_time * 1e9))
    return artifacts_pb2.BlobInfo(
        digest=digest_out(manifest.hash, manifest.size),
        chunk_count=len(manifest.chunks),
        stored_bytes=manifest.stored_bytes,
        is_tree=manifest.is_tree,
        inspection=inspection_out(manifest.inspection),
        create_time=create_time,
        pins=list(pins),
    )


def view_out(view: BlobView) -> artifacts_pb2.BlobInfo:
    """The ``BlobInfo`` of a blob, its first pins, their count and its quarantined chunks."""
    info = blob_out(view.manifest, view.pins)
    info.pin_count = view.pin_count
    info.quarantined_chunks.extend(digest_out(*d) for d in view.quarantined)
    return info


_PIN_TOKEN = "p1:"


def pin_token_out(after: str) -> str:
    """The opaque ``next_page_token`` of ``ListBlobPins`` resuming after holder ``after``."""
    if not after:
        return ""
    return base64.urlsafe_b64encode((_PIN_TOKEN + after).encode()).decode()


def pin_token_in(token: str) -> str:
    """The holder a ``ListBlobPins`` page token resumes after; INVALID_ARGUMENT if forged."""
    if not token:
        return ""
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(_PIN_TOKEN) or len(text) == len(_PIN_TOKEN):
        raise InvalidArgument.field(
            "page_token", "the page token is not one a ListBlobPins response gave"
        )
    return text.removeprefix(_PIN_TOKEN)


def upload_status_fields(status: UploadStatus) -> dict:
    """Fields shared by ``UploadBlobResponse`` and ``QueryUploadResponse``."""
    fields: dict = {
        "upload_id": status.upload_id,
        "committed_size": status.committed_size,
        "complete": status.complete,
    }
    if status.blob is not None:
        fields["blob"] = blob_out(status.blob)
    return fields


def gc_out(report: GcReport) -> artifacts_pb2.CollectGarbageResponse:
    """The response of ``CollectGarbage``."""
    return artifacts_pb2.CollectGarbageResponse(
        blobs_removed=report.blobs_removed,
        chunks_removed=report.chunks_removed,
        bytes_freed=report.bytes_freed,
    )


def scrub_out(report: ScrubReport) -> artifacts_pb2.ScrubStorageResponse:
    """The response of ``ScrubStorage``."""
    response = artifacts_pb2.ScrubStorageResponse(
        chunks_checked=report.chunks_checked,
        bytes_checked=report.bytes_checked,
        chunks_quarantined=report.chunks_quarantined,
        mb_per_second=report.mb_per_second,
        max_mb_per_second=report.max_mb_per_second,
        unreadable=[
            artifacts_pb2.UnreadableBlob(
                digest=digest_out(b.hash, b.size),
                is_tree=b.is_tree,
                quarantined_chunks=b.quarantined_chunks,
                pinned_by=b.pinned_by,
                trees=b.trees,
            )
            for b in report.unreadable
        ],
    )
    response.duration.FromNanoseconds(int(report.seconds * 1e9))
    return response
