"""``modelregistry.v1.ArtifactService`` over gRPC: protos in, domain calls, protos out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import cast

import grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc
from services.artifacts import convert, metrics, trees, uploads
from services.artifacts.blobs import Piece
from services.artifacts.gc import DEFAULT_GRACE_SECONDS
from services.artifacts.service import ArtifactService, ChunkUploadReport, IncomingChunk
from services.common.auth import current_identity
from services.common.errors import InvalidArgument
from services.common.vocabulary import ProtoEnum

logger = logging.getLogger(__name__)


class ArtifactServicer(artifacts_pb2_grpc.ArtifactServiceServicer):
    """Thin adapter over :class:`ArtifactService`."""

    def __init__(self, service: ArtifactService) -> None:
        self.service = service

    def FindMissingChunks(self, request, context):
        digests = [
            convert.chunk_digest_in(d, f"digests[{i}]") for i, d in enumerate(request.digests)
        ]
        missing = self.service.find_missing_chunks(digests, current_identity())
        metrics.BYTES_DEDUPLICATED.inc(sum(s for _, s in digests) - sum(s for _, s in missing))
        return artifacts_pb2.FindMissingChunksResponse(
            missing_digests=[convert.digest_out(*d) for d in missing]
        )

    def UploadChunks(self, request_iterator, context):
        incoming = (incoming_chunk(request) for request in _requests(request_iterator))
        return chunks_response(self.service.upload_chunks(incoming, current_identity()))

    def CommitBlob(self, request, context):
        blob = convert.digest_in(request.blob_digest, "blob_digest")
        chunks = [
            convert.chunk_digest_in(d, f"chunk_digests[{i}]")
            for i, d in enumerate(request.chunk_digests)
        ]
        view = self.service.commit_blob(blob, chunks, current_identity())
        _count_commit(view)
        return artifacts_pb2.CommitBlobResponse(blob=convert.view_out(view))

    def UploadBlob(self, request_iterator, context):
        with metrics.UPLOADS_IN_FLIGHT.track_inprogress():
            status = self.service.upload_blob(
                _upload_messages(request_iterator), current_identity()
            )
        return upload_response(status)

    def QueryUpload(self, request, context):
        status = self.service.query_upload(request.upload_id, current_identity())
        return artifacts_pb2.QueryUploadResponse(**convert.upload_status_fields(status))

    def ReadBlob(self, request, context):
        pieces = self.service.read_blob(
            convert.digest_in(request.digest),
            request.offset,
            request.limit,
            request.accept_compressed,
            current_identity(),
        )
        for piece in pieces:
            yield read_response(piece)

    def StatBlob(self, request, context):
        view = self.service.stat_blob(convert.digest_in(request.digest), current_identity())
        return artifacts_pb2.StatBlobResponse(blob=convert.view_out(view))

    def CommitTree(self, request, context):
        entries = [
            trees.Entry(e.path, *convert.digest_in(e.digest, f"entries[{i}].digest"), e.mode)
            for i, e in enumerate(request.entries)
        ]
        view = self.service.commit_tree(entries, current_identity())
        return artifacts_pb2.CommitTreeResponse(tree=convert.view_out(view))

    def GetTree(self, request, context):
        entries = self.service.get_tree(convert.digest_in(request.digest), current_identity())
        return artifacts_pb2.GetTreeResponse(
            entries=[
                artifacts_pb2.TreeEntry(
                    path=e.path, digest=convert.digest_out(e.hash, e.size), mode=e.mode
                )
                for e in entries
            ]
        )

    def PinBlob(self, request, context):
        view = self.service.pin(convert.digest_in(request.digest), request.holder)
        return artifacts_pb2.PinBlobResponse(blob=convert.view_out(view))

    def ListBlobPins(self, request, context):
        page = self.service.list_pins(
            convert.digest_in(request.digest),
            request.page_size,
            convert.pin_token_in(request.page_token),
            current_identity(),
        )
        return artifacts_pb2.ListBlobPinsResponse(
            holders=page.holders, next_page_token=convert.pin_token_out(page.next_after)
        )

    def UnpinBlob(self, request, context):
        removed = self.service.unpin(convert.digest_in(request.digest), request.holder)
        return artifacts_pb2.UnpinBlobResponse(removed=removed)

    def CollectGarbage(self, request, context):
        grace = DEFAULT_GRACE_SECONDS
        if request.HasField("grace_period"):
            grace = request.grace_period.ToNanoseconds() / 1e9
        report = self.service.collect_garbage(grace, request.dry_run)
        metrics.GC_RUNS.labels(str(request.dry_run).lower()).inc()
        if not request.dry_run:
            metrics.GC_REMOVED.labels("blobs").inc(report.blobs_removed)
            metrics.GC_REMOVED.labels("chunks").inc(report.chunks_removed)
            metrics.GC_BYTES_FREED.inc(report.bytes_freed)
        return convert.gc_out(report)

    def ScrubStorage(self, request, context):
        rate = self.service.default_scrub_rate
        if request.HasField("max_mb_per_second"):
            rate = request.max_mb_per_second
        return convert.scrub_out(self.service.scrub(rate))


def _count_commit(view) -> None:
    metrics.COMMITTED_BYTES.labels("raw").inc(view.manifest.size)
    metrics.COMMITTED_BYTES.labels("stored").inc(view.manifest.stored_bytes)


def _requests(requests: Iterator) -> Iterator:
    """The requests of a client stream; a client that goes away raises ``StreamBroken``."""
    try:
        yield from requests
    except grpc.RpcError as error:
        raise uploads.StreamBroken(str(error)) from None


def _upload_messages(
    requests: Iterator[artifacts_pb2.UploadBlobRequest],
) -> Iterator[uploads.Message]:
    for request in _requests(requests):
        yield upload_message(request)


# Conversions of single messages, shared with the asyncio servicer.


def incoming_chunk(request: artifacts_pb2.UploadChunksRequest) -> IncomingChunk:
    """One ``UploadChunks`` message as a domain value."""
    sha, size = convert.chunk_digest_in(request.digest)
    return IncomingChunk(sha, size, request.compressor, request.data)


def chunks_response(report: ChunkUploadReport) -> artifacts_pb2.UploadChunksResponse:
    """The answer to an ``UploadChunks`` stream (its bytes and chunks counted)."""
    metrics.BYTES_RECEIVED.labels("chunks").inc(report.wire_bytes)
    metrics.CHUNKS_STORED.inc(report.stored)
    return artifacts_pb2.UploadChunksResponse(
        chunks_received=report.received,
        chunks_stored=report.stored,
        wire_bytes=report.wire_bytes,
    )


def upload_message(request: artifacts_pb2.UploadBlobRequest) -> uploads.Message:
    """One ``UploadBlob`` message as a domain value."""
    kind = request.WhichOneof("kind")
    if kind == "header":
        return uploads.Header(request.header.upload_id, request.header.write_offset)
    if kind == "data":
        metrics.BYTES_RECEIVED.labels("plain").inc(len(request.data))
        return uploads.Data(request.data)
    if kind == "finish":
        expected = None
        if request.finish.HasField("expected_digest"):
            expected = convert.digest_in(request.finish.expected_digest, "finish.expected_digest")
        return uploads.Finish(expected)
    raise InvalidArgument.field("kind", "a message must carry a header, data or finish")


def upload_response(status: uploads.UploadStatus) -> artifacts_pb2.UploadBlobResponse:
    """The answer to an ``UploadBlob`` stream."""
    return artifacts_pb2.UploadBlobResponse(**convert.upload_status_fields(status))


def read_response(piece: Piece) -> artifacts_pb2.ReadBlobResponse:
    """One ``ReadBlob`` message (its bytes counted)."""
    metrics.BYTES_SENT.inc(len(piece.data))
    return artifacts_pb2.ReadBlobResponse(
        offset=piece.offset,
        data=bytes(piece.data),
        compressor=cast(ProtoEnum, piece.codec),  # a Codec's value is its Compressor's
        uncompressed_size=piece.raw_size,
    )
