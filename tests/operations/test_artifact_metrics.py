"""The artifact service's Prometheus metrics follow what a push, a re-push, a pull and GC do."""

from __future__ import annotations

import os
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from prometheus_client import REGISTRY

from modelregistry.v1 import artifacts_pb2
from mreg.client import Client
from tests.gateway.conftest import upload


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_bytes_received_deduplicated_sent_and_collected(
    embedded_registry, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "m.bin"
    model.write_bytes(os.urandom(3 * 1024 * 1024))
    size = model.stat().st_size
    before = {
        "received": _value("mreg_artifact_bytes_received_total", path="chunks"),
        "dedup": _value("mreg_artifact_bytes_deduplicated_total"),
        "sent": _value("mreg_artifact_bytes_sent_total"),
        "raw": _value("mreg_artifact_committed_bytes_total", kind="raw"),
        "plain": _value("mreg_artifact_bytes_received_total", path="plain"),
        "gc_blobs": _value("mreg_artifact_gc_removed_total", kind="blobs"),
    }
    with Client(embedded_registry.address(embedded_registry.gateway)) as client:
        client.push(model, model="metered", use_cache=False)
        client.push(model, model="metered", use_cache=False)
        client.pull("metered:1.0.0", tmp_path / "out")
        upload(client.artifacts, b"never registered")
        client.artifacts.CollectGarbage(
            artifacts_pb2.CollectGarbageRequest(grace_period=Duration(seconds=0)), timeout=30
        )
    assert _value("mreg_artifact_bytes_received_total", path="chunks") - before["received"] == size
    assert _value("mreg_artifact_bytes_deduplicated_total") - before["dedup"] == size
    assert _value("mreg_artifact_bytes_sent_total") - before["sent"] == size  # random: kept raw
    assert _value("mreg_artifact_committed_bytes_total", kind="raw") - before["raw"] == 2 * size
    assert _value("mreg_artifact_bytes_received_total", path="plain") - before["plain"] == 16
    assert _value("mreg_artifact_gc_removed_total", kind="blobs") - before["gc_blobs"] == 1
    assert _value("mreg_artifact_upload_sessions_in_flight") == 0
