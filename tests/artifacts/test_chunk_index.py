"""The chunk index: presence is one query, not a request per chunk, and it stays honest.

Which chunks the store holds is answered by the index database
(:mod:`services.artifacts.index.chunks`): a re-push of unchanged content asks the backend
nothing about its chunks (on S3 that was a CopyObject per chunk, twice), a chunk found gone
on read is forgotten so the next push sends it again, and ``fsck`` mends what a crash or a
deletion behind the service's back left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import grpc
from sqlalchemy import delete

from modelregistry.v1 import artifacts_pb2
from mreg.chunkids import BLAKE3, hash_chunk
from mreg.compression import Codec
from services.artifacts.index.chunks import CHUNKS, MARKS
from services.artifacts.store import CHUNK_PREFIX, Records, chunk_key, pack_chunk
from tests.artifacts.helpers import Client, chunk_digest_of, digest_of, error_of, random_bytes

MIB = 1024 * 1024


def _chunks_of(service, data: bytes) -> list[str]:
    manifest = Records(service.backend).get_manifest(digest_of(data).hash)
    assert manifest is not None
    return [sha for sha, _ in manifest.chunks]


def _missing(client: Client, service, shas: list[str]) -> set[str]:
    digests = [chunk_digest_of(sha, 1) for sha in shas]
    found = client.stub.FindMissingChunks(artifacts_pb2.FindMissingChunksRequest(digests=digests))
    return {d.hash for d in found.missing_digests}


def test_a_repush_of_unchanged_content_asks_the_backend_nothing_about_chunks(
    served, monkeypatch
) -> None:
    service, client = served
    service.compactor.stop()  # it reads chunks in the background; the push must not
    data = random_bytes(6 * MIB, seed=81)
    client.push_dedup(data)
    asked: list[tuple[str, str]] = []

    def recording(name: str, method: Callable) -> Callable:
        def call(keys, *args, **kwargs):
            named = [keys] if isinstance(keys, str) else list(keys)
            asked.extend((name, key) for key in named if key.startswith(CHUNK_PREFIX))
            return method(keys, *args, **kwargs)

        return call

    for name in ("get", "put", "stat", "touch", "delete", "list"):
        monkeypatch.setattr(service.backend, name, recording(name, getattr(service.backend, name)))
    again = client.push_dedup(data)
    assert again.blob.digest == digest_of(data)
    assert asked == []


def test_a_chunk_deleted_behind_the_services_back_is_sent_again_by_the_next_push(served) -> None:
    service, client = served
    data = random_bytes(6 * MIB, seed=82)
    client.push_dedup(data)
    victim = _chunks_of(service, data)[1]
    service.backend.delete([chunk_key(victim)])

    error = error_of(lambda: client.read(digest_of(data)))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert f"chunk {victim}" in error.details() and "missing from storage" in error.details()
    assert _missing(client, service, _chunks_of(service, data)) == {victim}

    client.push_dedup(data)
    assert client.read(digest_of(data)) == data


def test_fsck_records_orphan_chunks_and_forgets_vanished_ones(local_served, local_settings) -> None:
    service, client = local_served
    service.chunks.index.import_backend(service.backend)  # as every start does: done once
    data = random_bytes(4 * MIB, seed=83)
    client.push_dedup(data)
    vanished = _chunks_of(service, data)[0]
    service.backend.delete([chunk_key(vanished)])
    # A process killed between writing a chunk and recording it leaves this behind.
    orphan_bytes = os.urandom(4096)
    orphan = hash_chunk(orphan_bytes, BLAKE3)
    service.backend.put(chunk_key(orphan), pack_chunk(orphan, Codec.IDENTITY, orphan_bytes))
    assert service.chunks.index.sizes([orphan]) == {}

    out = subprocess.run(
        [sys.executable, "-m", "services.artifacts", "fsck"],
        env={**os.environ, "MREG_DATA_DIR": str(local_settings.data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout) == {"added": 1, "dropped": 1}
    assert set(service.chunks.index.sizes([orphan, vanished])) == {orphan}
    assert _missing(client, service, [vanished, orphan]) == {vanished}

    # The orphan is now an ordinary unreferenced chunk: collected once it is old (the blob,
    # pinned, keeps its chunks).
    client.stub.PinBlob(
        artifacts_pb2.PinBlobRequest(digest=digest_of(data), holder="models/m/versions/1")
    )
    report = service.collect_garbage(0)
    assert (report.blobs_removed, report.chunks_removed) == (0, 1)
    assert service.backend.stat([chunk_key(orphan)]) == [None]
    client.push_dedup(data)
    assert client.read(digest_of(data)) == data


def test_chunks_stored_before_the_index_held_them_are_imported_once(local_served) -> None:
    service, client = local_served
    client.push_dedup(random_bytes(4 * MIB, seed=84))
    stored = {info.key for info in service.backend.list(CHUNK_PREFIX)}
    with service.index.write() as conn:  # the state an index upgraded to 0002 starts in
        conn.execute(delete(CHUNKS))
        conn.execute(delete(MARKS))
    index = service.chunks.index
    assert index.import_backend(service.backend) == len(stored)
    assert index.count() == len(stored)
    with service.index.write() as conn:
        conn.execute(delete(CHUNKS))
    assert index.import_backend(service.backend) == 0  # once: the mark says it is done
    assert index.count() == 0


def test_two_garbage_collections_at_once_remove_each_chunk_once_and_keep_the_live(
    served,
) -> None:
    service, client = served
    kept, dropped = random_bytes(4 * MIB, seed=85), random_bytes(4 * MIB, seed=86)
    client.push_dedup(kept)
    client.push_dedup(dropped)
    client.stub.PinBlob(
        artifacts_pb2.PinBlobRequest(digest=digest_of(kept), holder="models/k/versions/1")
    )
    garbage = set(_chunks_of(service, dropped)) - set(_chunks_of(service, kept))
    time.sleep(1.1)  # S3 modification times have one-second resolution
    barrier = threading.Barrier(2)
    reports: list = []

    def collect() -> None:
        barrier.wait()
        reports.append(service.collect_garbage(grace_seconds=1.0))

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(reports) == 2
    assert sum(r.chunks_removed for r in reports) == len(garbage)  # each once, by one of them
    assert service.chunks.index.sizes(garbage) == {}
    assert client.read(digest_of(kept)) == kept
    assert _missing(client, service, sorted(garbage)) == garbage
