"""WatchEvents: every change in commit order, resumable by cursor, delivered promptly."""

from __future__ import annotations

import queue
import threading
import time

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import registry_pb2
from tests.gateway.conftest import record_outbox_readers, register_request, upload


def _watch(gateway, after: int = 0, **filters) -> tuple[queue.Queue, grpc.Future]:
    """A watcher on its own thread: its events, then the error that ended it, if any."""
    events: queue.Queue = queue.Queue()
    call = gateway.WatchEvents(
        registry_pb2.WatchEventsRequest(after_sequence=after, **filters), timeout=60
    )

    def pump() -> None:
        try:
            for response in call:
                events.put(response.event)
        except grpc.RpcError as error:
            events.put(error)

    threading.Thread(target=pump, daemon=True).start()
    return events, call


def _take(events: queue.Queue, n: int, timeout: float = 5.0) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        item = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(item, grpc.RpcError):  # ended early: say how, not just "Empty"
            raise AssertionError(f"the watcher ended: {item.code()}: {item.details()}")
        out.append(item)
    return out


def test_a_watcher_sees_registrations_and_resumes_without_gaps_or_repeats(
    gateway, artifacts
) -> None:
    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"a"), "1.0.0"))
    events, call = _watch(gateway)
    first = _take(events, 2)
    assert [e.type for e in first] == ["version.created", "version.ready"]
    call.cancel()

    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"b"), "1.0.1"))
    resumed, call = _watch(gateway, after=first[-1].sequence)
    second = _take(resumed, 2)
    assert [e.type for e in second] == ["version.created", "version.ready"]
    assert second[0].sequence > first[-1].sequence
    assert {e.resource for e in second} == {"models/m/versions/1.0.1"}
    with pytest.raises(queue.Empty):
        resumed.get(timeout=0.5)
    call.cancel()


def test_a_change_reaches_a_watching_client_within_a_second(gateway, artifacts) -> None:
    version = gateway.RegisterModelVersion(
        register_request("m", upload(artifacts, b"a"), "1.0.0")
    ).model_version
    events, call = _watch(gateway, types=["alias.set"], model="m")
    time.sleep(0.3)
    started = time.monotonic()
    gateway.SetAlias(registry_pb2.SetAliasRequest(model_version=version.name, alias="champion"))
    event = _take(events, 1, timeout=2.0)[0]
    elapsed = time.monotonic() - started
    call.cancel()
    assert event.type == "alias.set"
    assert event.attributes["alias"] == "champion"
    assert elapsed < 1.0


def test_a_negative_cursor_is_invalid(gateway) -> None:
    call = gateway.WatchEvents(registry_pb2.WatchEventsRequest(after_sequence=-1), timeout=5)
    with pytest.raises(grpc.RpcError) as info:
        next(call)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "after_sequence: must not be negative, got -1"


def test_a_cursor_from_the_future_is_out_of_range(gateway, artifacts) -> None:
    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"a"), "1.0.0"))
    call = gateway.WatchEvents(registry_pb2.WatchEventsRequest(after_sequence=10**9), timeout=5)
    with pytest.raises(grpc.RpcError) as info:
        next(call)
    assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert info.value.details().startswith("after_sequence 1000000000 is beyond the newest event")


def test_a_burst_larger_than_the_lag_bound_reaches_a_reading_watcher_in_full(
    stack, gateway, artifacts, metadata
) -> None:
    hub = stack.gateway_service.hub
    hub.queue_size = 10
    version = gateway.RegisterModelVersion(
        register_request("m", upload(artifacts, b"a"), "1.0.0")
    ).model_version
    events, call = _watch(gateway, types=["alias.set"])
    metadata.SetAlias(metadata_pb2.SetAliasRequest(model_version=version.name, alias="warm"))
    assert _take(events, 1)[0].attributes["alias"] == "warm"  # caught up: served by the hub
    with hub._read_lock:  # the hub reads nothing meanwhile: the burst is one outbox batch
        for i in range(50):
            metadata.SetAlias(
                metadata_pb2.SetAliasRequest(model_version=version.name, alias=f"a{i}")
            )
    received = _take(events, 50, timeout=10)
    assert [e.attributes["alias"] for e in received] == [f"a{i}" for i in range(50)]
    sequences = [e.sequence for e in received]
    assert sequences == sorted(set(sequences))  # no repeat
    outbox = [
        r.event.sequence
        for r in gateway.WatchEvents(
            registry_pb2.WatchEventsRequest(types=["alias.set"], stop_when_caught_up=True),
            timeout=10,
        )
    ]
    assert sequences == outbox[1:]  # no gap
    assert call.running()  # not dropped
    with pytest.raises(queue.Empty):
        events.get(timeout=0.3)
    call.cancel()


def test_watchers_opening_at_a_cursor_the_ring_holds_read_nothing_from_the_outbox(
    stack, gateway, artifacts, monkeypatch
) -> None:
    hub = stack.gateway_service.hub
    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"a"), "1.0.0"))
    events, call = _watch(gateway)  # from the start: its own outbox read; the hub starts
    latest = _take(events, 2)[-1].sequence
    deadline = time.monotonic() + 5
    while not hub._covers(latest):
        assert time.monotonic() < deadline, "the hub's ring never reached the newest event"
        time.sleep(0.02)
    readers = record_outbox_readers(stack, monkeypatch)
    opened = [_watch(gateway, after=latest) for _ in range(20)]
    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"b"), "1.0.1"))
    for watcher_events, _ in opened:
        assert [e.type for e in _take(watcher_events, 2)] == ["version.created", "version.ready"]
    assert set(readers) == {"event-hub"}, readers  # only the hub's polls, none per watcher
    for _, watcher in [*opened, (events, call)]:
        watcher.cancel()
