"""Plain uploads: resumable on any instance, refused at a wrong offset, never partly visible."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import grpc
import pytest

from modelregistry.v1 import artifacts_pb2
from services.artifacts.app import bindings_for
from services.artifacts.service import ArtifactService
from services.artifacts.store import CHUNK_PREFIX
from services.common.settings import Settings
from tests.artifacts.helpers import (
    MESSAGE,
    Client,
    digest_of,
    error_of,
    random_bytes,
    service_of,
)


@pytest.fixture
def two_instances(settings: Settings, start_server) -> Iterator[tuple[Client, Client]]:
    """Two service instances (separate objects, separate servers) over one store."""
    services = [service_of(settings) for _ in range(2)]
    clients = [Client(start_server(*bindings_for(s))) for s in services]
    yield clients[0], clients[1]
    for c in clients:
        c.close()


def _query(client: Client, upload_id: str) -> artifacts_pb2.QueryUploadResponse:
    return client.stub.QueryUpload(artifacts_pb2.QueryUploadRequest(upload_id=upload_id))


def _dropped_stream(data: bytes, upload_id: str) -> Iterator[artifacts_pb2.UploadBlobRequest]:
    """A stream whose client dies after sending ``data`` (no finish, no clean close)."""
    yield artifacts_pb2.UploadBlobRequest(
        header=artifacts_pb2.UploadHeader(upload_id=upload_id, write_offset=0)
    )
    for start in range(0, len(data), MESSAGE):
        yield artifacts_pb2.UploadBlobRequest(data=data[start : start + MESSAGE])
    time.sleep(0.3)
    raise ConnectionError("client died")


def _wait_committed(client: Client, upload_id: str, at_least: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            committed = _query(client, upload_id).committed_size
            if committed >= at_least:
                return committed
        except grpc.RpcError:
            pass
        time.sleep(0.05)
    raise AssertionError("the server never saved the dropped upload's progress")


def test_upload_dropped_mid_stream_resumes_on_another_instance(two_instances) -> None:
    first, second = two_instances
    data = random_bytes(9 * 1024 * 1024 + 5, seed=11)
    upload_id = uuid.uuid4().hex
    sent = 6 * 1024 * 1024
    error = error_of(lambda: first.stub.UploadBlob(_dropped_stream(data[:sent], upload_id)))
    assert error.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN)
    committed = _wait_committed(second, upload_id, sent)
    assert committed == sent  # everything received is kept
    # Nothing partial is visible.
    assert (
        error_of(
            lambda: second.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(data)))
        ).code()
        == grpc.StatusCode.NOT_FOUND
    )
    done = second.upload(data[committed:], upload_id=upload_id, offset=committed)
    assert done.complete
    assert done.blob.digest == digest_of(data)
    assert first.read(digest_of(data)) == data
    status = _query(first, upload_id)
    assert status.complete and status.blob.digest == digest_of(data)


def test_stream_closed_without_finish_reports_progress_then_finish_alone_completes(
    client: Client,
) -> None:
    data = random_bytes(3 * 1024 * 1024, seed=12)
    upload_id = uuid.uuid4().hex
    partial = client.upload(data[:2_000_000], upload_id=upload_id, finish=False)
    assert not partial.complete
    assert partial.committed_size == 2_000_000
    rest = client.upload(data[2_000_000:], upload_id=upload_id, offset=2_000_000, finish=False)
    assert rest.committed_size == len(data)
    done = client.upload(b"", upload_id=upload_id, offset=len(data), expected=digest_of(data))
    assert done.complete and done.blob.digest == digest_of(data)


def test_write_at_the_wrong_offset_names_the_expected_offset(client: Client) -> None:
    upload_id = uuid.uuid4().hex
    client.upload(b"x" * 8192, upload_id=upload_id, finish=False)
    error = error_of(lambda: client.upload(b"y", upload_id=upload_id, offset=4096))
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert error.details() == "attempted to write at offset 4096, expected 8192"


def test_resume_of_unknown_upload_is_not_found(client: Client) -> None:
    error = error_of(lambda: client.upload(b"y", upload_id="unknown-upload", offset=10))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == ("no upload has id 'unknown-upload'; a new upload starts at offset 0")
    query = error_of(lambda: _query(client, "unknown-upload"))
    assert query.code() == grpc.StatusCode.NOT_FOUND
    assert query.details() == "no upload has id 'unknown-upload'"


def test_finished_upload_cannot_be_written_again(client: Client) -> None:
    upload_id = uuid.uuid4().hex
    done = client.upload(b"content", upload_id=upload_id)
    error = error_of(lambda: client.upload(b"more", upload_id=upload_id, offset=7))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"upload {upload_id!r} already finished as blob {done.blob.digest.hash}; "
        "start a new upload with a new id"
    )


def test_malformed_upload_id_is_invalid(client: Client) -> None:
    error = error_of(lambda: client.upload(b"x", upload_id="bad id!"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        "header.upload_id: invalid upload id 'bad id!': use 8 to 64 characters of letters, "
        "digits, '_' and '-' (a UUID is a good choice)"
    )


def test_stream_must_start_with_a_header(client: Client) -> None:
    error = error_of(
        lambda: client.stub.UploadBlob(iter([artifacts_pb2.UploadBlobRequest(data=b"x")]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "header: the first message of an upload must be a header"


def test_finish_with_wrong_expected_digest_is_refused_and_can_be_retried(client: Client) -> None:
    upload_id = uuid.uuid4().hex
    wrong = digest_of(b"something else")
    error = error_of(lambda: client.upload(b"content", upload_id=upload_id, expected=wrong))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        f"finish.expected_digest: the uploaded bytes are {digest_of(b'content').hash}/7, "
        f"expected {wrong.hash}/14"
    )
    assert _query(client, upload_id).committed_size == 7
    done = client.upload(b"", upload_id=upload_id, offset=7, expected=digest_of(b"content"))
    assert done.blob.digest == digest_of(b"content")


def test_two_clients_uploading_the_same_content_both_succeed_and_it_is_stored_once(
    two_instances, served
) -> None:
    first, second = two_instances
    data = random_bytes(6 * 1024 * 1024, seed=13)
    results: list = [None, None]

    def run(i: int, client: Client) -> None:
        results[i] = client.upload(data)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.complete and r.blob.digest == digest_of(data) for r in results)
    assert first.read(digest_of(data)) == data
    # The dedup path sees every chunk present.
    pushed = second.push_dedup(data)
    assert pushed.blob.chunk_count == results[0].blob.chunk_count


def test_concurrent_identical_uploads_store_each_chunk_once(local_served, start_server) -> None:
    service, client = local_served
    other = Client(start_server(*bindings_for(ArtifactService(service.backend, service.index))))
    data = random_bytes(5 * 1024 * 1024, seed=14)
    threads = [threading.Thread(target=c.upload, args=(data,)) for c in (client, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chunks = list(service.backend.list(CHUNK_PREFIX))
    blob = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(data))).blob
    assert len(chunks) == blob.chunk_count
    other.close()


def test_a_session_written_before_sessions_had_owners_resumes_with_auth_off(served) -> None:
    from services.artifacts.store import UploadSession

    service, client = served
    legacy = UploadSession("legacy-upload-1").to_bytes().replace(b'"principal":"anonymous",', b"")
    service.backend.put("uploads/legacy-upload-1.json", [legacy])
    assert (_query(client, "legacy-upload-1").committed_size, b"principal" in legacy) == (0, False)
