"""A chunk write that fails mid-upload never leaves a gap in the upload's session.

Chunks of one stream are stored a few at a time; when one fails (ENOSPC here), chunks
after it may still succeed. The session must keep only the unbroken prefix before the
failed chunk, so that QueryUpload's offset is where the client's bytes really stop and the
resume from it produces the right blob.

The backend is a real local store wrapped to fail the write of the second chunk, once; that
failure waits until the third chunk is stored, so the later success is certain. (Before the
fix this upload was committed with the second chunk missing, or lost its first chunk.)
"""

from __future__ import annotations

import errno
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest

from modelregistry.v1 import artifacts_pb2
from mreg.chunkids import BLAKE3, hash_chunk
from mreg.chunking import new_chunker
from services.artifacts.app import bindings_for
from services.artifacts.backends.base import Data
from services.artifacts.backends.local import LocalBackend
from services.artifacts.index.database import open_index
from services.artifacts.service import ArtifactService
from services.artifacts.store import chunk_key
from tests.artifacts.helpers import Client, digest_of, random_bytes

MIB = 1024 * 1024


class FailOnePut(LocalBackend):
    """A local backend whose write of ``fail_key`` raises ENOSPC once ``after_key`` exists."""

    def __init__(self, root: Path, fail_key: str, after_key: str) -> None:
        super().__init__(root)
        self.fail_key, self.after_key = fail_key, after_key
        self.after_stored = threading.Event()
        self.failed = False

    def put(self, key: str, parts: Sequence[Data]) -> None:
        if key == self.fail_key and not self.failed:
            assert self.after_stored.wait(10), "the chunk after the failing one was not stored"
            self.failed = True
            raise OSError(errno.ENOSPC, "No space left on device")
        super().put(key, parts)
        if key == self.after_key:
            self.after_stored.set()


def _chunks(data: bytes) -> list[bytes]:
    view = memoryview(data)
    return [bytes(view[c.offset : c.offset + c.length]) for c in new_chunker().cut_buf(view)]


def test_a_failed_chunk_write_leaves_no_gap_and_the_upload_resumes(
    tmp_path: Path, start_server
) -> None:
    data = random_bytes(24 * MIB, seed=5)
    chunks = _chunks(data)
    assert len(chunks) >= 4
    ids = [hash_chunk(c, BLAKE3) for c in chunks]  # the server names what it cuts by BLAKE3
    keys = [chunk_key(chunk_id) for chunk_id in ids]
    backend = FailOnePut(tmp_path / "store", fail_key=keys[1], after_key=keys[2])
    service = ArtifactService(
        backend, open_index(f"sqlite:///{tmp_path / 'index.db'}"), compact=False
    )
    client = Client(start_server(*bindings_for(service)))
    upload_id = "gap-upload-01"

    with pytest.raises(grpc.RpcError) as full:
        client.upload(data, upload_id=upload_id, expected=digest_of(data))
    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, full.value.details()
    assert backend.failed

    status = client.stub.QueryUpload(artifacts_pb2.QueryUploadRequest(upload_id=upload_id))
    assert status.committed_size == len(chunks[0])  # the unbroken prefix: the first chunk
    session = service.records.get_session(upload_id, "anonymous")
    assert session is not None
    assert [chunk_id for chunk_id, _ in session.chunks] == ids[:1]

    offset = status.committed_size
    resumed = client.upload(
        data[offset:], upload_id=upload_id, offset=offset, expected=digest_of(data)
    )
    assert resumed.complete
    assert resumed.blob.digest.hash == hashlib.sha256(data).hexdigest()
    assert client.read(digest_of(data)) == data
    client.close()
    service.close()
