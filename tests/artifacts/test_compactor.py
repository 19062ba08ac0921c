"""Compression at rest, off the request path: the compactor and the ``compact`` sweep."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from modelregistry.v1 import artifacts_pb2
from mreg.compression import Codec
from services.artifacts import metrics
from services.artifacts.app import bindings_for
from services.artifacts.service import ArtifactService
from services.artifacts.store import CHUNK_PREFIX, chunk_hash_of, unpack_chunk
from services.common.settings import Settings
from tests.artifacts.helpers import Client, bf16_weights, digest_of, random_bytes, service_of
from tests.artifacts.processes import ROOT, _env, wait_serving
from tests.conftest import free_port


def _codecs(service: ArtifactService) -> list[int]:
    return [
        unpack_chunk(service.backend.get(info.key))[0]
        for info in service.backend.list(CHUNK_PREFIX)
    ]


def test_pushed_chunks_are_stored_raw_then_compressed_in_the_background(served) -> None:
    service, client = served
    data = bf16_weights(6 * 1024 * 1024, seed=31)
    before = metrics.COMPACTED_CHUNKS._value.get()
    client.push_dedup(data)
    assert service.compactor.wait_idle(60)
    codecs = _codecs(service)
    assert codecs and set(codecs) == {Codec.BYTEGROUP2_ZSTD}
    assert metrics.COMPACTED_CHUNKS._value.get() - before == len(codecs)
    assert client.read(digest_of(data)) == data
    stat = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(data))).blob
    assert stat.stored_bytes < 0.75 * len(data)


def test_incompressible_chunks_stay_raw(served) -> None:
    service, client = served
    data = random_bytes(3 * 1024 * 1024, seed=32)
    client.upload(data)
    assert service.compactor.wait_idle(60)
    assert set(_codecs(service)) == {Codec.IDENTITY}
    assert client.read(digest_of(data)) == data


def test_compaction_waits_for_quiet_and_a_sweep_catches_up(
    local_settings: Settings, start_server
) -> None:
    service = service_of(local_settings, compact_delay_seconds=3600)
    client = Client(start_server(*bindings_for(service)))
    try:
        data = bf16_weights(3 * 1024 * 1024, seed=33)
        client.upload(data)
        assert not service.compactor.wait_idle(0)  # queued, waiting for quiet
        assert set(_codecs(service)) == {Codec.IDENTITY}
        report = service.compact_all()
        assert report.chunks_compressed == len(_codecs(service)) > 0
        assert set(_codecs(service)) == {Codec.BYTEGROUP2_ZSTD}
        assert client.read(digest_of(data)) == data
        stat = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(data))).blob
        assert stat.stored_bytes == report.stored_bytes
    finally:
        client.close()
        service.close()


def test_a_corrupt_raw_chunk_is_quarantined_not_compressed(local_served) -> None:
    service, client = local_served
    data = bf16_weights(1024 * 1024, seed=34)
    service.compactor.stop()  # compact by hand below
    client.upload(data)
    victim, *others = list(service.backend.list(CHUNK_PREFIX))
    path = service.backend.root / victim.key
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    report = service.compact_all()
    assert report.chunks_compressed == len(others)
    assert [i.key for i in service.backend.list(CHUNK_PREFIX)] == [o.key for o in others]
    assert service.quarantine.record(chunk_hash_of(victim.key)) is not None


def test_a_compactor_killed_mid_way_leaves_every_chunk_readable(tmp_path: Path) -> None:
    """SIGKILL while the compactor rewrites chunks: each chunk is raw or compressed, never
    half-written; the blob reads back whole, and ``compact`` finishes the job."""
    port = free_port()
    env = _env(
        MREG_ARTIFACTS_LISTEN=f"127.0.0.1:{port}",
        MREG_DATA_DIR=str(tmp_path),
        MREG_COMPACT_DELAY_SECONDS="0",
        MREG_COMPACT_MAX_MB_PER_SECOND="8",  # about 1 chunk in 8 per second: killed mid-way
    )
    proc = subprocess.Popen([sys.executable, "-m", "services.artifacts"], env=env)
    data = bf16_weights(16 * 1024 * 1024, seed=35)
    try:
        wait_serving(f"127.0.0.1:{port}")
        client = Client(f"127.0.0.1:{port}")
        client.push_dedup(data)
        client.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    settings = Settings(data_dir=tmp_path, storage_backend="local")
    service = service_of(settings, compact=False)
    try:
        codecs = _codecs(service)
        assert Codec.IDENTITY in codecs  # the rate limit stopped it part-way
        reader = service.read_blob((digest_of(data).hash, len(data)), 0, 0)
        assert b"".join(bytes(p.data) for p in reader) == data
    finally:
        service.close()
    done = subprocess.run(
        [sys.executable, "-m", "services.artifacts", "compact"],
        env=_env(MREG_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["chunks_compressed"] == codecs.count(Codec.IDENTITY)
    assert report["stored_bytes"] < report["raw_bytes"]
    service = service_of(settings, compact=False)
    try:
        assert set(_codecs(service)) == {Codec.BYTEGROUP2_ZSTD}
        reader = service.read_blob((digest_of(data).hash, len(data)), 0, 0)
        assert b"".join(bytes(p.data) for p in reader) == data
    finally:
        service.close()
