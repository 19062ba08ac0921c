"""A prefix-limited token sees only its own models' bytes; upload sessions belong to whoever
started them. The real registry with auth on, as ``mreg serve --tokens-file`` runs it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from services.common.auth import Role, TokenStore
from services.common.server import insecure_channel


@dataclass
class Registry:
    tokens: TokenStore
    gateway: registry_pb2_grpc.RegistryServiceStub
    artifacts: artifacts_pb2_grpc.ArtifactServiceStub

    def token(self, principal: str, role: Role, prefix: str = "") -> tuple[tuple[str, str], ...]:
        token, _ = self.tokens.create(principal, [role], model_prefix=prefix)
        return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def registry(tmp_path: Path):
    from services.embedded import build_embedded

    tokens = TokenStore(tmp_path / "tokens.json")
    embedded = build_embedded(
        tmp_path / "data",
        gateway_port=0,
        artifacts_port=0,
        metadata_port=0,
        tokens_file=tokens.path,
    )
    for server in embedded.servers:
        server.start()
    gateway = insecure_channel(embedded.address(embedded.gateway))
    artifacts = insecure_channel(embedded.address(embedded.artifacts))
    yield Registry(
        tokens,
        registry_pb2_grpc.RegistryServiceStub(gateway),
        artifacts_pb2_grpc.ArtifactServiceStub(artifacts),
    )
    gateway.close()
    artifacts.close()
    for server in reversed(embedded.servers):
        server.stop(grace=None)


def digest_of(data: bytes) -> resources_pb2.Digest:
    return resources_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def upload(stub, data: bytes, metadata, upload_id: str = "") -> artifacts_pb2.UploadBlobResponse:
    def requests():
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=upload_id or str(uuid.uuid4()))
        )
        yield artifacts_pb2.UploadBlobRequest(data=data)
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    return stub.UploadBlob(requests(), timeout=10, metadata=metadata)


def push_one_sha256_chunk(stub, data: bytes, metadata) -> artifacts_pb2.CommitBlobResponse:
    """The dedup path as a client older than BLAKE3 chunk ids takes it: a one-chunk file
    whose chunk is named by SHA-256, so its chunk digest is its blob digest."""
    digest = digest_of(data)
    chunk = artifacts_pb2.UploadChunksRequest(
        digest=digest, compressor=artifacts_pb2.COMPRESSOR_IDENTITY, data=data
    )
    stub.UploadChunks(iter([chunk]), timeout=10, metadata=metadata)
    request = artifacts_pb2.CommitBlobRequest(blob_digest=digest, chunk_digests=[digest])
    return stub.CommitBlob(request, timeout=10, metadata=metadata)


def commit_tree(stub, files: dict[str, bytes], metadata) -> resources_pb2.Digest:
    entries = [
        artifacts_pb2.TreeEntry(path=p, digest=digest_of(d), mode=0o644) for p, d in files.items()
    ]
    request = artifacts_pb2.CommitTreeRequest(entries=entries)
    return stub.CommitTree(request, timeout=10, metadata=metadata).tree.digest


def register(gateway, model: str, digest, metadata, *, is_tree: bool = False):
    request = registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}",
        model_version=resources_pb2.ModelVersion(artifact_digest=digest, artifact_is_tree=is_tree),
        request_id=str(uuid.uuid4()),
    )
    return gateway.RegisterModelVersion(request, timeout=10, metadata=metadata).model_version


def read(stub, digest, metadata) -> bytes:
    request = artifacts_pb2.ReadBlobRequest(digest=digest)
    return b"".join(r.data for r in stub.ReadBlob(request, timeout=10, metadata=metadata))


def error_of(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


SECRET_WEIGHTS = b"team b's secret weights " * 100
SECRET_CONFIG = b'{"hidden": 7}'
SECRET_SINGLE = b"a single secret file of team b " * 50
SECRET_NEW = b"a single secret file of team b, pushed by a new client " * 50


@pytest.fixture
def team_b(registry: Registry):
    """Team b's writer pushes a tree and a single file and registers both."""
    writer_b = registry.token("ci-b", Role.WRITER, "b-")
    upload(registry.artifacts, SECRET_WEIGHTS, writer_b)
    upload(registry.artifacts, SECRET_CONFIG, writer_b)
    push_one_sha256_chunk(registry.artifacts, SECRET_SINGLE, writer_b)
    upload(registry.artifacts, SECRET_NEW, writer_b)  # server-cut: a BLAKE3 chunk id
    tree = commit_tree(
        registry.artifacts, {"weights.bin": SECRET_WEIGHTS, "config.json": SECRET_CONFIG}, writer_b
    )
    register(registry.gateway, "b-secret", tree, writer_b, is_tree=True)
    register(registry.gateway, "b-single", digest_of(SECRET_SINGLE), writer_b)
    register(registry.gateway, "b-new", digest_of(SECRET_NEW), writer_b)
    return tree


def test_a_token_for_prefix_a_guessing_another_prefixs_digests_gets_not_found(
    registry: Registry, team_b
) -> None:
    reader_a = registry.token("reader-a", Role.READER, "a-")
    for digest in (digest_of(SECRET_WEIGHTS), digest_of(SECRET_SINGLE), team_b):
        for call in (
            lambda d=digest: read(registry.artifacts, d, reader_a),
            lambda d=digest: registry.artifacts.StatBlob(
                artifacts_pb2.StatBlobRequest(digest=d), timeout=10, metadata=reader_a
            ),
        ):
            error = error_of(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND
            assert error.details() == f"no blob has digest {digest.hash}"
    error = error_of(
        lambda: registry.artifacts.GetTree(
            artifacts_pb2.GetTreeRequest(digest=team_b), timeout=10, metadata=reader_a
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f"no blob has digest {team_b.hash}"
    # Exactly what a digest nobody stored answers: the guess confirms nothing.
    absent = digest_of(b"never stored")
    error = error_of(lambda: read(registry.artifacts, absent, reader_a))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        f"no blob has digest {absent.hash}",
    )


def test_unlimited_tokens_and_team_b_read_team_bs_files(registry: Registry, team_b) -> None:
    for metadata in (
        registry.token("auditor", Role.READER),
        registry.token("reader-b", Role.READER, "b-"),
    ):
        assert read(registry.artifacts, digest_of(SECRET_WEIGHTS), metadata) == SECRET_WEIGHTS
        assert read(registry.artifacts, digest_of(SECRET_SINGLE), metadata) == SECRET_SINGLE
        entries = registry.artifacts.GetTree(
            artifacts_pb2.GetTreeRequest(digest=team_b), timeout=10, metadata=metadata
        ).entries
        assert sorted(e.path for e in entries) == ["config.json", "weights.bin"]


def test_an_upload_is_readable_by_its_uploader_before_registration_and_by_the_prefix_after(
    registry: Registry,
) -> None:
    writer_a = registry.token("ci-a", Role.WRITER, "a-")
    reader_a = registry.token("reader-a", Role.READER, "a-")
    data = b"team a's new weights " * 64
    digest = upload(registry.artifacts, data, writer_a).blob.digest
    assert read(registry.artifacts, digest, writer_a) == data
    error = error_of(lambda: read(registry.artifacts, digest, reader_a))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        f"no blob has digest {digest.hash}",
    )
    tree = commit_tree(registry.artifacts, {"w.bin": data}, writer_a)
    register(registry.gateway, "a-model", tree, writer_a, is_tree=True)
    assert read(registry.artifacts, digest, reader_a) == data
    entries = registry.artifacts.GetTree(
        artifacts_pb2.GetTreeRequest(digest=tree), timeout=10, metadata=reader_a
    ).entries
    assert [e.path for e in entries] == ["w.bin"]


def test_a_prefix_writer_cannot_take_another_prefixs_blob_into_its_own_models(
    registry: Registry, team_b
) -> None:
    writer_a = registry.token("ci-a", Role.WRITER, "a-")
    secret = digest_of(SECRET_SINGLE)
    error = error_of(
        lambda: commit_tree(registry.artifacts, {"stolen.bin": SECRET_SINGLE}, writer_a)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        "1 file(s) of the tree name blobs the server does not hold: "
        f"stolen.bin ({secret.hash}/{secret.size_bytes})"
    )
    error = error_of(lambda: register(registry.gateway, "a-stolen", secret, writer_a))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"cannot register sha256:{secret.hash}: no blob has digest {secret.hash}; "
        "upload it to the artifact service first"
    )
    # Committing by digest alone proves nothing: the claimed chunk is not stored.
    error = error_of(
        lambda: registry.artifacts.CommitBlob(
            artifacts_pb2.CommitBlobRequest(blob_digest=secret, chunk_digests=[secret]),
            timeout=10,
            metadata=writer_a,
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"1 chunk(s) are missing: {secret.hash}; upload them with UploadChunks first"
    )
    error = error_of(lambda: read(registry.artifacts, secret, writer_a))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_one_chunk_file_of_another_prefix_is_missing_until_its_bytes_are_sent(
    registry: Registry, team_b
) -> None:
    # A small file pushed with a SHA-256 chunk id (older clients) is one chunk whose digest
    # is the file's: the dedup path must not confirm it exists to a prefix that does not
    # see it, only to one that sends the bytes.
    secret = digest_of(SECRET_SINGLE)
    unlimited = registry.token("auditor", Role.READER)
    writer_a = registry.token("ci-a", Role.WRITER, "a-")
    request = artifacts_pb2.FindMissingChunksRequest(digests=[secret])
    present = registry.artifacts.FindMissingChunks(request, timeout=10, metadata=unlimited)
    assert list(present.missing_digests) == []
    hidden = registry.artifacts.FindMissingChunks(request, timeout=10, metadata=writer_a)
    assert list(hidden.missing_digests) == [secret]
    sent = registry.artifacts.UploadChunks(
        iter(
            [
                artifacts_pb2.UploadChunksRequest(
                    digest=secret,
                    compressor=artifacts_pb2.COMPRESSOR_IDENTITY,
                    data=SECRET_SINGLE,
                )
            ]
        ),
        timeout=10,
        metadata=writer_a,
    )
    assert (sent.chunks_received, sent.chunks_stored) == (1, 0)
    committed = registry.artifacts.CommitBlob(
        artifacts_pb2.CommitBlobRequest(blob_digest=secret, chunk_digests=[secret]),
        timeout=10,
        metadata=writer_a,
    )
    assert committed.blob.digest == secret
    assert read(registry.artifacts, secret, writer_a) == SECRET_SINGLE
    # Its pins are team b's versions: names the token may not learn.
    assert list(committed.blob.pins) == []
    stat = registry.artifacts.StatBlob(
        artifacts_pb2.StatBlobRequest(digest=secret), timeout=10, metadata=writer_a
    ).blob
    assert list(stat.pins) == []
    stat = registry.artifacts.StatBlob(
        artifacts_pb2.StatBlobRequest(digest=secret), timeout=10, metadata=unlimited
    ).blob
    assert list(stat.pins) == ["models/b-single/versions/1.0.0"]


def test_a_one_chunk_file_named_by_blake3_is_not_confirmed_by_its_blob_digest(
    registry: Registry, team_b
) -> None:
    # Its chunk is stored under its BLAKE3 id, which only a holder of the bytes can compute:
    # asking for the file's SHA-256 as a chunk finds nothing, for any caller.
    secret = digest_of(SECRET_NEW)
    request = artifacts_pb2.FindMissingChunksRequest(digests=[secret])
    for token in (
        registry.token("auditor", Role.READER),
        registry.token("ci-a", Role.WRITER, "a-"),
    ):
        found = registry.artifacts.FindMissingChunks(request, timeout=10, metadata=token)
        assert list(found.missing_digests) == [secret]
    # Without the bytes, committing it by its digest is refused, as for any absent chunk.
    error = error_of(
        lambda: registry.artifacts.CommitBlob(
            artifacts_pb2.CommitBlobRequest(blob_digest=secret, chunk_digests=[secret]),
            timeout=10,
            metadata=registry.token("ci-a", Role.WRITER, "a-"),
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_uploading_the_same_bytes_proves_possession_and_grants_a_read(
    registry: Registry, team_b
) -> None:
    writer_a = registry.token("ci-a", Role.WRITER, "a-")
    assert upload(registry.artifacts, SECRET_WEIGHTS, writer_a).blob.digest == digest_of(
        SECRET_WEIGHTS
    )
    assert read(registry.artifacts, digest_of(SECRET_WEIGHTS), writer_a) == SECRET_WEIGHTS


def _start(stub, upload_id: str, data: bytes, metadata, offset: int = 0):
    def requests():
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=upload_id, write_offset=offset)
        )
        yield artifacts_pb2.UploadBlobRequest(data=data)

    return stub.UploadBlob(requests(), timeout=10, metadata=metadata)


def test_upload_sessions_belong_to_the_principal_that_started_them(registry: Registry) -> None:
    owner = registry.token("ci-owner", Role.WRITER)
    upload_id = "session-of-the-owner-1"
    data = b"x" * 3_000_000  # beyond one chunk, so some bytes are committed
    started = _start(registry.artifacts, upload_id, data, owner)
    assert started.committed_size > 0
    for other in (
        registry.token("ci-other", Role.WRITER),
        registry.token("reader", Role.READER),
        registry.token("ci-a", Role.WRITER, "a-"),
        registry.token("root", Role.ADMIN),
    ):
        error = error_of(
            lambda m=other: registry.artifacts.QueryUpload(
                artifacts_pb2.QueryUploadRequest(upload_id=upload_id), timeout=10, metadata=m
            )
        )
        assert (error.code(), error.details()) == (
            grpc.StatusCode.NOT_FOUND,
            f"no upload has id '{upload_id}'",
        )
    intruder = registry.token("ci-intruder", Role.WRITER)
    error = error_of(
        lambda: _start(registry.artifacts, upload_id, b"mine", intruder, started.committed_size)
    )
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        f"no upload has id '{upload_id}'; a new upload starts at offset 0",
    )
    # The same id from another principal is another upload; the owner's is untouched.
    theirs = upload(registry.artifacts, b"intruder's bytes", intruder, upload_id)
    assert theirs.blob.digest == digest_of(b"intruder's bytes")
    status = registry.artifacts.QueryUpload(
        artifacts_pb2.QueryUploadRequest(upload_id=upload_id), timeout=10, metadata=owner
    )
    assert (status.committed_size, status.complete) == (started.committed_size, False)
    rest = data[started.committed_size :]

    def finish():
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(
                upload_id=upload_id, write_offset=started.committed_size
            )
        )
        yield artifacts_pb2.UploadBlobRequest(data=rest)
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    done = registry.artifacts.UploadBlob(finish(), timeout=10, metadata=owner)
    assert done.blob.digest == digest_of(data)


def test_a_prefix_writer_cannot_update_another_prefixs_model_or_version(
    registry: Registry, team_b
) -> None:
    from google.protobuf import field_mask_pb2

    writer_a = registry.token("ci-a", Role.WRITER, "a-")
    version = registry.gateway.ListModelVersions(
        registry_pb2.ListModelVersionsRequest(parent="models/b-single"),
        timeout=10,
        metadata=registry.token("reader-b", Role.READER, "b-"),
    ).model_versions[0]
    calls = {
        "b-secret": lambda: registry.gateway.UpdateModel(
            registry_pb2.UpdateModelRequest(
                model=resources_pb2.Model(name="models/b-secret", description="taken"),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            ),
            timeout=10,
            metadata=writer_a,
        ),
        "b-single": lambda: registry.gateway.UpdateModelVersion(
            registry_pb2.UpdateModelVersionRequest(
                model_version=resources_pb2.ModelVersion(name=version.name, description="taken"),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            ),
            timeout=10,
            metadata=writer_a,
        ),
    }
    for model, call in calls.items():
        error = error_of(call)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error.details() == (
            f"ci-a's token is limited to models starting with 'a-' and cannot touch {model!r}"
        )
    writer_b = registry.token("ci-b", Role.WRITER, "b-")
    updated = registry.gateway.UpdateModel(
        registry_pb2.UpdateModelRequest(
            model=resources_pb2.Model(name="models/b-secret", description="team b's model"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        timeout=10,
        metadata=writer_b,
    ).model
    assert updated.description == "team b's model"
