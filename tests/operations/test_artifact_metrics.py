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


def test_backend_operations_are_counted_outside_rpcs_too(tmp_path: Path) -> None:
    """What ``python -m services.artifacts gc`` does, with no RPC, shows in the backend's
    metrics: they wrap the storage interface, not the servicer."""
    import pytest

    from services.artifacts.app import build_service
    from services.artifacts.backends import ObjectNotFound
    from services.common.settings import Settings

    def ops(operation: str, outcome: str = "ok") -> float:
        labels = {"backend": "local", "operation": operation, "outcome": outcome}
        return _value("mreg_artifact_backend_operations_total", **labels)

    service = build_service(Settings(data_dir=tmp_path))
    before = {
        "lists": ops("list"),
        "missing": ops("get", "not_found"),
        "put": _value("mreg_artifact_backend_bytes_total", backend="local", direction="put"),
        "get": _value("mreg_artifact_backend_bytes_total", backend="local", direction="get"),
    }
    service.backend.put("probe/object", [b"12345", b"678"])
    assert service.backend.get("probe/object") == b"12345678"
    with pytest.raises(ObjectNotFound):
        service.backend.get("probe/absent")
    service.collect_garbage(0)
    assert ops("list") > before["lists"]  # GC lists what it may collect
    assert ops("get", "not_found") - before["missing"] == 1
    assert (
        _value("mreg_artifact_backend_bytes_total", backend="local", direction="put")
        - before["put"]
        >= 8
    )
    assert (
        _value("mreg_artifact_backend_bytes_total", backend="local", direction="get")
        - before["get"]
        == 8
    )
    assert service.backend.root == tmp_path / "artifacts"  # the inner backend's attribute
    service.close()
