"""Pins and garbage collection: unpinned old blobs go, pinned ones and in-flight uploads stay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import grpc
from google.protobuf import duration_pb2
from sqlalchemy import update

from modelregistry.v1 import artifacts_pb2
from services.artifacts import uploads
from services.artifacts.index.chunks import CHUNKS
from services.artifacts.service import ArtifactService
from services.artifacts.store import CHUNK_PREFIX
from tests.artifacts.helpers import MESSAGE, Client, digest_of, error_of, random_bytes


def _gc(client: Client, grace: float, dry_run: bool = False):
    period = duration_pb2.Duration()
    period.FromNanoseconds(int(grace * 1e9))
    return client.stub.CollectGarbage(
        artifacts_pb2.CollectGarbageRequest(grace_period=period, dry_run=dry_run)
    )


def _age(service: ArtifactService, seconds: float) -> None:
    """Make every stored object, and every chunk's last use in the index, ``seconds`` old."""
    past = time.time() - seconds
    for dirpath, _dirs, files in os.walk(service.backend.root):
        for name in files:
            os.utime(os.path.join(dirpath, name), (past, past))
    with service.index.write() as conn:
        conn.execute(update(CHUNKS).values(last_used=past))


def test_gc_removes_unpinned_old_blobs_and_keeps_pinned_ones(served) -> None:
    _service, client = served
    kept, dropped = random_bytes(2 * 1024 * 1024, seed=31), random_bytes(2 * 1024 * 1024, seed=32)
    client.upload(kept)
    client.upload(dropped)
    client.stub.PinBlob(
        artifacts_pb2.PinBlobRequest(digest=digest_of(kept), holder="models/a/versions/1")
    )
    time.sleep(1.2)  # S3 times have one-second resolution
    dry = _gc(client, grace=1.0, dry_run=True)
    assert dry.blobs_removed == 1 and dry.chunks_removed >= 1
    assert client.read(digest_of(dropped)) == dropped  # a dry run removes nothing
    report = _gc(client, grace=1.0)
    assert (report.blobs_removed, report.chunks_removed) == (dry.blobs_removed, dry.chunks_removed)
    assert report.bytes_freed > 0
    assert client.read(digest_of(kept)) == kept
    error = error_of(
        lambda: client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(dropped)))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert _gc(client, grace=1.0).chunks_removed == 0


def test_young_blobs_survive_gc(client: Client) -> None:
    data = random_bytes(1024 * 1024, seed=33)
    client.upload(data)
    assert _gc(client, grace=3600).blobs_removed == 0
    assert client.read(digest_of(data)) == data


def test_pinned_tree_keeps_its_files(local_served) -> None:
    service, client = local_served
    weights = random_bytes(1024 * 1024, seed=34)
    client.upload(weights)
    tree = client.stub.CommitTree(
        artifacts_pb2.CommitTreeRequest(
            entries=[artifacts_pb2.TreeEntry(path="w.bin", digest=digest_of(weights), mode=0o644)]
        )
    ).tree
    client.stub.PinBlob(
        artifacts_pb2.PinBlobRequest(digest=tree.digest, holder="models/t/versions/1")
    )
    _age(service, 7200)
    assert _gc(client, grace=3600).blobs_removed == 0
    assert client.read(digest_of(weights)) == weights


def test_negative_grace_period_is_invalid(client: Client) -> None:
    error = error_of(lambda: _gc(client, grace=-1))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "grace_period: the grace period must not be negative, got -1.0 s"


def test_gc_during_a_concurrent_upload_loses_no_chunk_it_needs(local_served, monkeypatch) -> None:
    service, client = local_served
    monkeypatch.setattr(uploads, "CHECKPOINT_SECONDS", 0.2)
    old = random_bytes(12 * 1024 * 1024, seed=35)
    client.upload(old)  # never pinned: garbage once old
    _age(service, 7200)
    # The new upload re-uses the old blob's chunks (same first 12 MiB) and adds more.
    new = old + random_bytes(6 * 1024 * 1024, seed=36)
    upload_id = uuid.uuid4().hex

    def slow() -> Iterator[artifacts_pb2.UploadBlobRequest]:
        yield artifacts_pb2.UploadBlobRequest(
            header=artifacts_pb2.UploadHeader(upload_id=upload_id, write_offset=0)
        )
        for start in range(0, len(new), MESSAGE):
            yield artifacts_pb2.UploadBlobRequest(data=new[start : start + MESSAGE])
            time.sleep(0.15)  # the upload outlives the grace period several times
        yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

    result: list = []
    thread = threading.Thread(target=lambda: result.append(client.stub.UploadBlob(slow())))
    thread.start()
    removed = 0
    while thread.is_alive():
        removed += service.collect_garbage(grace_seconds=0.5).blobs_removed
        time.sleep(0.05)
    thread.join()
    assert removed == 1  # the old, unpinned blob went
    assert result and result[0].complete
    assert client.read(digest_of(new)) == new
    client.stub.PinBlob(artifacts_pb2.PinBlobRequest(digest=digest_of(new), holder="h"))
    _age(service, 7200)
    service.collect_garbage(grace_seconds=0.5)
    assert client.read(digest_of(new)) == new


def test_gc_command_prints_a_json_report(local_served, local_settings) -> None:
    service, client = local_served
    client.upload(random_bytes(1024 * 1024, seed=37))
    _age(service, 7200)
    before = len(list(service.backend.list(CHUNK_PREFIX)))
    out = subprocess.run(
        [sys.executable, "-m", "services.artifacts", "gc", "--grace-seconds", "60", "--dry-run"],
        env={**os.environ, "MREG_DATA_DIR": str(local_settings.data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["blobs_removed"] == 1 and report["dry_run"] is True
    assert report["chunks_removed"] == before
    assert len(list(service.backend.list(CHUNK_PREFIX))) == before


def test_gc_drops_membership_records_of_removed_trees_only(local_served) -> None:
    from services.artifacts.store import MEMBER_PREFIX

    service, client = local_served
    trees = []
    for seed in (35, 36):
        data = random_bytes(64 * 1024, seed=seed)
        client.upload(data)
        entry = artifacts_pb2.TreeEntry(path="w.bin", digest=digest_of(data), mode=0o644)
        trees.append(client.stub.CommitTree(artifacts_pb2.CommitTreeRequest(entries=[entry])).tree)
    kept, dropped = trees
    client.stub.PinBlob(
        artifacts_pb2.PinBlobRequest(digest=kept.digest, holder="models/t/versions/1")
    )

    def members() -> set[str]:
        return {info.key.rsplit("/", 1)[-1] for info in service.backend.list(MEMBER_PREFIX)}

    assert members() == {kept.digest.hash, dropped.digest.hash}
    _age(service, 7200)
    assert _gc(client, grace=3600).blobs_removed == 2  # the unpinned tree and its file
    assert members() == {kept.digest.hash}
