"""The plain upload, read, stat and pin calls the gateway builds on, over both backends."""

from __future__ import annotations

import grpc

from modelregistry.v1 import artifacts_pb2
from tests.artifacts.helpers import Client, bf16_weights, digest_of, error_of, random_bytes


def test_plain_upload_then_read_returns_the_same_bytes(client: Client) -> None:
    data = random_bytes(3 * 1024 * 1024 + 17)
    response = client.upload(data)
    assert response.complete
    assert response.committed_size == len(data)
    assert response.blob.digest == digest_of(data)
    assert response.blob.chunk_count >= 1
    assert client.read(digest_of(data)) == data


def test_empty_blob_uploads_and_reads(client: Client) -> None:
    response = client.upload(b"")
    assert response.blob.digest == digest_of(b"")
    assert client.read(digest_of(b"")) == b""


def test_read_with_offset_and_limit_returns_that_range(client: Client) -> None:
    data = random_bytes(5 * 1024 * 1024, seed=2)
    client.upload(data)
    assert (
        client.read(digest_of(data), offset=1_000_000, limit=2_500_000) == data[1_000_000:3_500_000]
    )
    assert client.read(digest_of(data), offset=len(data)) == b""


def test_stat_describes_a_blob_and_its_pins(served) -> None:
    service, client = served
    data = bf16_weights(2 * 1024 * 1024)
    client.upload(data)
    assert service.compactor.wait_idle(60)
    digest = digest_of(data)
    client.stub.PinBlob(artifacts_pb2.PinBlobRequest(digest=digest, holder="models/m/versions/1"))
    client.stub.PinBlob(artifacts_pb2.PinBlobRequest(digest=digest, holder="models/m/versions/1"))
    blob = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest)).blob
    assert blob.digest == digest
    assert list(blob.pins) == ["models/m/versions/1"]
    assert blob.stored_bytes < len(data) * 0.75
    assert blob.inspection.format == "plain"
    removed = client.stub.UnpinBlob(
        artifacts_pb2.UnpinBlobRequest(digest=digest, holder="models/m/versions/1")
    )
    assert removed.removed
    again = client.stub.UnpinBlob(
        artifacts_pb2.UnpinBlobRequest(digest=digest, holder="models/m/versions/1")
    )
    assert not again.removed
    assert not client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest)).blob.pins


def test_stat_of_unknown_blob_is_not_found(client: Client) -> None:
    digest = digest_of(b"never stored")
    error = error_of(lambda: client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f"no blob has digest {digest.hash}"


def test_pin_of_unknown_blob_is_not_found(client: Client) -> None:
    digest = digest_of(b"never stored")
    error = error_of(
        lambda: client.stub.PinBlob(artifacts_pb2.PinBlobRequest(digest=digest, holder="x"))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
