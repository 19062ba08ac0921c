"""Several instances over one PostgreSQL and one S3 endpoint: stateless, deduplicated, exclusive.

Two gateways and two artifact services (each its own server) share a metadata service on
PostgreSQL, an artifact index on PostgreSQL and a bucket on moto's S3 server; a client
spreads its calls over them.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import boto3
import grpc
import pytest

from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from mreg.chunking import iter_file_chunks
from mreg.client import Client
from services.artifacts.store import CHUNK_PREFIX
from services.common.server import insecure_channel
from services.common.settings import Settings


@pytest.fixture
def cluster(postgres_database_factory, s3_endpoint, s3_bucket, tmp_path: Path, start_server):
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    database = postgres_database_factory()
    migrate(database)
    base = Settings(
        data_dir=tmp_path,
        database_url=database,
        artifacts_database_url=postgres_database_factory(),
        storage_backend="s3",
        s3_bucket=s3_bucket,
        s3_endpoint_url=s3_endpoint,
    )
    metadata = start_server(*metadata_bindings(base))
    artifacts = [start_server(*artifact_bindings(base)) for _ in range(2)]
    gateways = [
        start_server(
            *gateway_bindings(
                base.model_copy(
                    update={
                        "metadata_address": metadata,
                        "artifacts_address": artifacts[i],
                        "artifacts_public_address": artifacts[i],
                    }
                )
            )
        )
        for i in range(2)
    ]
    return gateways, artifacts


def test_concurrent_pushes_of_one_model_through_both_instances_store_content_once(
    cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, s3_bucket: str
) -> None:
    gateways, _ = cluster
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(6 * 1024 * 1024))
    results, errors = [], []

    def push(gateway: str, cache: str) -> None:
        monkeypatch.setenv("MREG_CACHE_DIR", cache)
        try:
            with Client(gateway) as client:
                results.append(client.push(model, model="shared", use_cache=False))
        except Exception as error:
            errors.append(error)

    threads = [
        threading.Thread(target=push, args=(gateways[i % 2], str(tmp_path / f"c{i}")))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = sorted(r.version.version for r in results)
    assert versions == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    assert len({r.version.artifact_digest.hash for r in results}) == 1
    chunk_objects = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1"
    ).list_objects_v2(Bucket=s3_bucket, Prefix=CHUNK_PREFIX)["KeyCount"]
    assert chunk_objects == len({c.sha256 for c in iter_file_chunks(model)})
    with Client(gateways[1]) as client:
        info = client.artifacts.StatBlob(
            artifacts_pb2.StatBlobRequest(digest=results[0].version.artifact_digest), timeout=10
        ).blob
    assert sorted(info.pins) == [f"models/shared/versions/{v}" for v in versions]


def test_an_upload_begun_on_one_instance_resumes_on_the_other(cluster) -> None:
    _, artifacts = cluster
    data = os.urandom(12 * 1024 * 1024)
    upload_id = str(uuid.uuid4())
    first = artifacts_pb2_grpc.ArtifactServiceStub(insecure_channel(artifacts[0]))
    second = artifacts_pb2_grpc.ArtifactServiceStub(insecure_channel(artifacts[1]))

    def stream(offset: int, end: int, finish: bool):
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=upload_id, write_offset=offset)
        )
        for start in range(offset, end, 1024 * 1024):
            yield artifacts_pb2.UploadBlobRequest(data=data[start : min(end, start + 1024 * 1024)])
        if finish:
            yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    partial = first.UploadBlob(stream(0, 8 * 1024 * 1024, finish=False), timeout=30)
    assert not partial.complete
    committed = second.QueryUpload(
        artifacts_pb2.QueryUploadRequest(upload_id=upload_id), timeout=10
    ).committed_size
    assert 0 < committed <= 8 * 1024 * 1024
    done = second.UploadBlob(stream(committed, len(data), finish=True), timeout=30)
    assert done.complete
    read = b"".join(
        piece.data
        for piece in first.ReadBlob(
            artifacts_pb2.ReadBlobRequest(digest=done.blob.digest), timeout=30
        )
    )
    assert read == data


def test_promotions_through_both_gateways_leave_one_version_in_production(
    cluster, tmp_path: Path
) -> None:
    gateways, _ = cluster
    names = []
    for i in range(4):
        path = tmp_path / f"m{i}.bin"
        path.write_bytes(f"weights {i}".encode())
        with Client(gateways[i % 2]) as client:
            name = client.push(path, model="race", version=f"1.{i}.0", use_cache=False).version.name
            client.promote(name, "staging")
        names.append(name)
    stubs = [registry_pb2_grpc.RegistryServiceStub(insecure_channel(g)) for g in gateways]
    barrier = threading.Barrier(len(names))
    codes = []

    def promote(i: int) -> None:
        barrier.wait()
        try:
            stubs[i % 2].PromoteModelVersion(
                registry_pb2.PromoteModelVersionRequest(
                    name=names[i], target_stage=resources_pb2.STAGE_PRODUCTION
                ),
                timeout=30,
            )
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert grpc.StatusCode.OK in codes
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.ABORTED}
    found = (
        stubs[0]
        .SearchModelVersions(
            registry_pb2.SearchModelVersionsRequest(
                filter='name = "race" AND stage = "production"'
            ),
            timeout=10,
        )
        .model_versions
    )
    assert len(found) == 1


def test_events_are_seen_once_per_consumer_cursor_across_gateways(cluster, tmp_path: Path) -> None:
    gateways, _ = cluster
    path = tmp_path / "m.bin"
    path.write_bytes(b"weights")
    with Client(gateways[0]) as client:
        for i in range(3):
            client.push(path, model="evented", version=f"1.0.{i}", use_cache=False)
    seen = []
    cursor = 0
    for gateway in (gateways[0], gateways[1], gateways[0]):
        with Client(gateway) as client:
            for event in client.events(cursor, model="evented"):
                seen.append(event.sequence)
                cursor = event.sequence
                if len(seen) % 2 == 0:
                    break
    with Client(gateways[1]) as client:
        seen.extend(e.sequence for e in client.events(cursor, model="evented"))
    assert len(seen) == len(set(seen)) == 6
    assert seen == sorted(seen)
