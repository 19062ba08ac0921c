"""Small factories shared by the artifact tests: a client over a real channel, test data."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from mreg.chunkids import BLAKE3, SHA256, algorithm_of, hex_of
from mreg.chunking import iter_buffer_chunks
from services.artifacts.service import ArtifactService
from services.common.server import insecure_channel
from services.common.settings import Settings

MESSAGE = 1024 * 1024


def digest_of(data: bytes) -> resources_pb2.Digest:
    """The ``Digest`` of some bytes."""
    return resources_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def chunk_digest_of(chunk_id: str, size: int) -> resources_pb2.Digest:
    """The ``Digest`` of a chunk by its id (BLAKE3 ids state their algorithm)."""
    if algorithm_of(chunk_id) == BLAKE3:
        return resources_pb2.Digest(
            hash=hex_of(chunk_id), size_bytes=size, algorithm=resources_pb2.DIGEST_ALGORITHM_BLAKE3
        )
    return resources_pb2.Digest(hash=chunk_id, size_bytes=size)


def bf16_weights(nbytes: int, seed: int = 0) -> bytes:
    """Synthetic bf16 weights: normal(0, 0.02), the top 2 bytes of each float32."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 0.02, nbytes // 2).astype(np.float32)
    return (values.view(np.uint32) >> 16).astype(np.uint16).tobytes()


def random_bytes(nbytes: int, seed: int = 0) -> bytes:
    """Incompressible bytes, reproducible by seed."""
    return np.random.default_rng(seed).bytes(nbytes)


def service_of(settings: Settings, **options: Any) -> ArtifactService:
    """An artifact service over the backend and index ``settings`` name (index migrated)."""
    from services.artifacts.backends import open_backend
    from services.artifacts.index.database import open_index

    return ArtifactService(
        open_backend(settings), open_index(settings.resolved_artifacts_database_url), **options
    )


class Client:
    """Stub calls used by the tests."""

    def __init__(self, address: str) -> None:
        self.channel = insecure_channel(address)
        self.stub = artifacts_pb2_grpc.ArtifactServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def upload_requests(
        self,
        data: bytes,
        upload_id: str | None = None,
        offset: int = 0,
        finish: bool = True,
        expected: resources_pb2.Digest | None = None,
    ) -> Iterator[artifacts_pb2.UploadBlobRequest]:
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(
                upload_id=upload_id or uuid.uuid4().hex, write_offset=offset
            )
        )
        for start in range(0, len(data), MESSAGE):
            yield artifacts_pb2.UploadBlobRequest(data=data[start : start + MESSAGE])
        if finish:
            yield artifacts_pb2.UploadBlobRequest(
                finish=artifacts_pb2.UploadFinish(expected_digest=expected)
            )

    def upload(self, data: bytes, **kwargs) -> artifacts_pb2.UploadBlobResponse:
        return self.stub.UploadBlob(self.upload_requests(data, **kwargs), timeout=60)

    def read(self, digest: resources_pb2.Digest, offset: int = 0, limit: int = 0) -> bytes:
        stream = self.stub.ReadBlob(
            artifacts_pb2.ReadBlobRequest(digest=digest, offset=offset, limit=limit), timeout=60
        )
        return b"".join(piece.data for piece in stream)

    def push_dedup(self, data: bytes, algorithm: str = SHA256) -> artifacts_pb2.CommitBlobResponse:
        """The SDK's path: chunk, ask which are missing, send those, commit (chunks named by
        ``algorithm``; SHA-256 is what clients older than BLAKE3 chunk ids send)."""
        refs = list(iter_buffer_chunks(data, algorithm=algorithm))
        digests = [chunk_digest_of(r.sha256, r.length) for r in refs]
        missing = {
            d.hash
            for d in self.stub.FindMissingChunks(
                artifacts_pb2.FindMissingChunksRequest(digests=digests)
            ).missing_digests
        }
        requests = [
            artifacts_pb2.UploadChunksRequest(
                digest=d,
                compressor=artifacts_pb2.COMPRESSOR_IDENTITY,
                data=data[r.offset : r.offset + r.length],
            )
            for r, d in zip(refs, digests, strict=True)
            if d.hash in missing
        ]
        if requests:
            self.stub.UploadChunks(iter(requests), timeout=60)
        return self.stub.CommitBlob(
            artifacts_pb2.CommitBlobRequest(blob_digest=digest_of(data), chunk_digests=digests),
            timeout=60,
        )


def error_of(call) -> grpc.RpcError:
    """Run ``call`` and return the ``RpcError`` it raises."""
    try:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, bytes | str):
            for _ in result:
                pass
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded")


def violations(error: grpc.RpcError) -> list:
    """The field and precondition violations in an error's details."""
    status = rpc_status.from_call(error)
    out = []
    for detail in status.details if status else []:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.PreconditionFailure):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                out.extend(
                    message.field_violations
                    if kind is error_details_pb2.BadRequest
                    else message.violations
                )
    return out
