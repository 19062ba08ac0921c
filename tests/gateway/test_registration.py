"""Two-phase registration: idempotent, never half-registered, settled by the reconciler."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, resources_pb2
from services.gateway.reconciler import Reconciler
from tests.gateway.conftest import register_request, upload


def _pins(artifacts, digest) -> list[str]:
    request = artifacts_pb2.StatBlobRequest(digest=digest)
    return list(artifacts.StatBlob(request, timeout=10, wait_for_ready=True).blob.pins)


def _retry_while_unavailable(call, attempts: int = 50):
    """What a client does after UNAVAILABLE: try again (channels reconnect with backoff)."""
    for _ in range(attempts):
        try:
            return call()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            time.sleep(0.2)
    return call()


def _version(metadata, name: str) -> resources_pb2.ModelVersion:
    request = metadata_pb2.GetModelVersionRequest(name=name)
    return metadata.GetModelVersion(request, timeout=5).model_version


def test_registration_pins_the_artifact_with_the_version_name(gateway, artifacts) -> None:
    digest = upload(artifacts, b"weights")
    version = gateway.RegisterModelVersion(register_request("m", digest, "1.0.0")).model_version
    assert version.state == resources_pb2.VERSION_STATE_READY
    assert _pins(artifacts, digest) == ["models/m/versions/1.0.0"]


def test_a_retry_with_the_same_request_id_returns_the_same_version(gateway, artifacts) -> None:
    digest = upload(artifacts, b"weights")
    request = register_request("m", digest, request_id=str(uuid.uuid4()))
    first = gateway.RegisterModelVersion(request).model_version
    second = gateway.RegisterModelVersion(request).model_version
    assert first.name == second.name == "models/m/versions/1.0.0"
    assert first.state == second.state == resources_pb2.VERSION_STATE_READY


def test_a_request_id_reused_with_different_content_is_invalid(gateway, artifacts) -> None:
    request_id = str(uuid.uuid4())
    gateway.RegisterModelVersion(
        register_request("m", upload(artifacts, b"one"), request_id=request_id)
    )
    with pytest.raises(grpc.RpcError) as info:
        gateway.RegisterModelVersion(
            register_request("m", upload(artifacts, b"two"), request_id=request_id)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in info.value.details()


def test_artifact_service_down_leaves_the_version_pending_and_unpinned_until_retry(
    stack, gateway, artifacts, metadata
) -> None:
    digest = upload(artifacts, b"weights")
    request = register_request("m", digest, "1.0.0")
    stack.stop("artifacts")
    with pytest.raises(grpc.RpcError) as info:
        gateway.RegisterModelVersion(request, timeout=20)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "artifact service at" in info.value.details()
    assert _version(metadata, "models/m/versions/1.0.0").state == (
        resources_pb2.VERSION_STATE_PENDING
    )
    stack.start("artifacts")
    assert _pins(artifacts, digest) == []
    retried = _retry_while_unavailable(lambda: gateway.RegisterModelVersion(request, timeout=20))
    retried = retried.model_version
    assert retried.state == resources_pb2.VERSION_STATE_READY
    assert _pins(artifacts, digest) == ["models/m/versions/1.0.0"]


def test_metadata_service_down_answers_unavailable_and_pins_nothing(
    stack, gateway, artifacts
) -> None:
    digest = upload(artifacts, b"weights")
    stack.stop("metadata")
    with pytest.raises(grpc.RpcError) as info:
        gateway.RegisterModelVersion(register_request("m", digest, "1.0.0"), timeout=20)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "metadata service at" in info.value.details()
    assert _pins(artifacts, digest) == []


def _reserve(metadata, model: str, digest, version: str) -> str:
    """A PENDING version, as a gateway that died after reserving it would leave it."""
    return metadata.CreateModelVersion(
        metadata_pb2.CreateModelVersionRequest(
            parent=f"models/{model}",
            model_version=resources_pb2.ModelVersion(version=version, artifact_digest=digest),
            request_id=str(uuid.uuid4()),
        ),
        timeout=5,
    ).model_version.name


def test_reconciler_finishes_pending_versions_whose_artifact_exists(
    stack, artifacts, metadata
) -> None:
    digest = upload(artifacts, b"weights")
    name = _reserve(metadata, "m", digest, "1.0.0")
    missing = resources_pb2.Digest(hash="ab" * 32, size_bytes=3)
    failed_name = _reserve(metadata, "m", missing, "1.0.1")
    counts = Reconciler(stack.gateway_service, pending_timeout=0, interval=60).run_once()
    assert counts == {"ready": 1, "failed": 1, "pending": 0}
    assert _version(metadata, name).state == resources_pb2.VERSION_STATE_READY
    assert _pins(artifacts, digest) == [name]
    failed = _version(metadata, failed_name)
    assert failed.state == resources_pb2.VERSION_STATE_FAILED
    assert failed.failure_reason.startswith(f"cannot register sha256:{'ab' * 32}")


def test_reconciler_leaves_young_pending_versions_alone(stack, artifacts, metadata) -> None:
    name = _reserve(metadata, "m", upload(artifacts, b"w"), "1.0.0")
    counts = Reconciler(stack.gateway_service, pending_timeout=3600, interval=60).run_once()
    assert counts == {"ready": 0, "failed": 0, "pending": 0}
    assert _version(metadata, name).state == resources_pb2.VERSION_STATE_PENDING


@pytest.mark.parametrize("claims_tree", [True, False])
def test_a_version_claiming_the_wrong_kind_of_artifact_fails_unpinned(
    gateway, artifacts, metadata, claims_tree: bool
) -> None:
    """A file registered as a tree (or a tree as a file) would be pulled, gated and served
    over OCI as the wrong kind: registration refuses it."""
    digest = upload(artifacts, b"weights")
    if not claims_tree:  # register the tree holding that file, stated as a single file
        digest = artifacts.CommitTree(
            artifacts_pb2.CommitTreeRequest(
                entries=[artifacts_pb2.TreeEntry(path="model.bin", digest=digest, mode=0o644)]
            )
        ).tree.digest
    request = register_request("kinds", digest, "1.0.0", artifact_is_tree=claims_tree)
    with pytest.raises(grpc.RpcError) as info:
        gateway.RegisterModelVersion(request)
    found, stated = ("a file", "a tree") if claims_tree else ("a tree manifest", "a single file")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details() == (
        f"cannot register sha256:{digest.hash}: sha256:{digest.hash} is {found} but the "
        f"request states {stated}; set model_version.artifact_is_tree to "
        f"{str(not claims_tree).lower()}"
    )
    version = _version(metadata, "models/kinds/versions/1.0.0")
    assert version.state == resources_pb2.VERSION_STATE_FAILED
    assert _pins(artifacts, digest) == []
