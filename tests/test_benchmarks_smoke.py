"""Smoke test of the benchmark harness and the raw gRPC ceiling at a tiny size (no timing)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from benchmarks import grpc_ceiling, harness

MIB = 1024 * 1024


def _assert_summary(value: object, n: int) -> None:
    assert isinstance(value, dict)
    assert set(value) == {"min", "median", "max", "n"}
    assert value["n"] == n
    assert value["min"] <= value["median"] <= value["max"]


def test_measure_ceiling_structure_and_byte_counts() -> None:
    result = grpc_ceiling.measure_ceiling(total_bytes=8 * MIB, message_bytes=MIB, repeats=1)

    for key in ("upload", "download"):
        _assert_summary(result[f"{key}_mb_s"], 1)
        _assert_summary(result[f"{key}_seconds"], 1)
        _assert_summary(result[f"{key}_cpu_seconds"], 1)
        assert result[f"{key}_mb_s"]["median"] > 0
    assert result["bytes_per_run"] == 8 * MIB
    assert result["parameters"]["total_bytes"] == 8 * MIB
    assert result["parameters"]["message_bytes"] == MIB
    assert result["parameters"]["repeats"] == 1
    json.dumps(result)  # JSON-ready as it stands.


def test_ragged_last_message_is_counted_exactly() -> None:
    total = 3 * MIB + 12345
    result = grpc_ceiling.measure_ceiling(total_bytes=total, message_bytes=MIB, repeats=1, warmup=0)
    assert result["bytes_per_run"] == total


def _one_message_short(total_bytes: int, payload: bytes) -> Iterator[bytes]:
    messages = list(grpc_ceiling._chunks(total_bytes, payload))
    yield from messages[:-1]


@pytest.mark.parametrize("seam", ["_upload_messages", "_download_messages"])
def test_short_transfer_raises(monkeypatch: pytest.MonkeyPatch, seam: str) -> None:
    monkeypatch.setattr(grpc_ceiling, seam, _one_message_short)
    with pytest.raises(grpc_ceiling.ByteCountMismatch):
        grpc_ceiling.measure_ceiling(total_bytes=4 * MIB, message_bytes=MIB, repeats=1, warmup=0)


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        grpc_ceiling.measure_ceiling(total_bytes=MIB, message_bytes=32 * MIB, repeats=1)
    with pytest.raises(ValueError):
        grpc_ceiling.measure_ceiling(total_bytes=MIB, message_bytes=MIB, repeats=0)


def test_harness_helpers(capsys: pytest.CaptureFixture[str]) -> None:
    assert harness.summary([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0, "n": 3}
    assert harness.mb_per_s(2_000_000, 2.0) == pytest.approx(1.0)
    calls: list[int] = []
    samples = harness.timed(lambda: calls.append(1), repeats=2, warmup=1)
    assert len(samples) == 2 and len(calls) == 3
    assert harness.cpu_seconds() > 0
    assert harness.rss_bytes() > 0
    assert 0 < harness.free_port() < 65536
    with harness.PeakRss(interval=0.001) as peak:
        block = bytearray(32 * MIB)
        block[::4096] = b"\x01" * len(block[::4096])  # Touch every page.
        del block
    assert peak.peak_bytes >= peak.start_bytes > 0
    assert set(peak.as_dict()) == {"start_bytes", "peak_bytes", "end_bytes", "growth_bytes"}
    harness.emit({"b": 1, "a": 2})
    assert json.loads(capsys.readouterr().out) == {"a": 2, "b": 1}


def test_scrub_benchmark_reports_rates_and_keeps_its_limit() -> None:
    from benchmarks import scrub

    result = scrub.run(size_mib=2, repeats=1, limit_mb_s=20.0)
    assert result["bytes_at_rest"] > 0
    assert result["scrub_mb_s"]["n"] == 1
    assert 0 < result["bounded_scrub"]["measured_mb_s"] <= 20.1
    json.dumps(result)


def test_webhooks_benchmark_delivers_everything_once() -> None:
    from benchmarks import webhooks

    result = webhooks.run(webhooks=3, events=2, burst=3)
    assert result["latency_seconds"]["n"] == 6
    assert result["throughput"]["deliveries"] == 9
    assert result["throughput"]["deliveries_per_second"] > 0
    assert result["duplicates"] == 0
    json.dumps(result)
