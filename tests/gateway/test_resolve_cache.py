"""The gateway's resolve cache never serves an answer the outbox says is stale."""

from __future__ import annotations

import time

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import registry_pb2
from services.gateway.cache import ResolveCache
from tests.gateway.conftest import record_outbox_readers, register_request, upload


@pytest.fixture
def cache(stack):
    # The gateway's cache follows the gateway's one outbox reader, the event hub.
    gateway = stack.gateway_service
    assert isinstance(gateway.cache, ResolveCache)
    gateway.hub.poll_seconds = 0.05
    gateway.hub.start()
    deadline = time.monotonic() + 5
    while not gateway.cache._healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    yield gateway.cache
    gateway.cache.stop()


def _resolve(gateway, reference: str) -> str:
    request = registry_pb2.ResolveModelVersionRequest(reference=reference)
    return gateway.ResolveModelVersion(request, timeout=5).model_version.name


def _two_versions(gateway, artifacts) -> tuple[str, str]:
    one = gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"1"), "1.0.0"))
    two = gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"2"), "1.0.1"))
    return one.model_version.name, two.model_version.name


def test_answers_are_cached_and_dropped_on_this_gateways_writes(gateway, artifacts, cache):
    one, two = _two_versions(gateway, artifacts)
    gateway.SetAlias(registry_pb2.SetAliasRequest(model_version=one, alias="champion"))
    assert _resolve(gateway, "m@champion") == one
    assert cache.get("m@champion") is not None
    gateway.SetAlias(registry_pb2.SetAliasRequest(model_version=two, alias="champion"))
    assert cache.get("m@champion") is None
    assert _resolve(gateway, "m@champion") == two


def test_changes_made_elsewhere_invalidate_within_the_poll_interval(
    gateway, artifacts, metadata, cache
):
    one, two = _two_versions(gateway, artifacts)
    gateway.SetAlias(registry_pb2.SetAliasRequest(model_version=one, alias="champion"))
    assert _resolve(gateway, "m@champion") == one
    # Another gateway moves the alias: this one learns of it from the outbox.
    metadata.SetAlias(metadata_pb2.SetAliasRequest(model_version=two, alias="champion"))
    deadline = time.monotonic() + 2
    while _resolve(gateway, "m@champion") != two:
        assert time.monotonic() < deadline, "stale answer served after the outbox said so"
        time.sleep(0.02)


def test_latest_follows_a_new_registration_at_once(gateway, artifacts, cache):
    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"1"), "1.0.0"))
    assert _resolve(gateway, "m") == "models/m/versions/1.0.0"
    gateway.RegisterModelVersion(register_request("m", upload(artifacts, b"2"), "1.1.0"))
    assert _resolve(gateway, "m") == "models/m/versions/1.1.0"


def test_without_the_outbox_the_cache_serves_nothing(stack, gateway, artifacts, cache):
    one, _ = _two_versions(gateway, artifacts)
    assert _resolve(gateway, "m:1.0.0") == one
    stack.stop("metadata")
    deadline = time.monotonic() + 5
    while cache._healthy:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(grpc.RpcError) as info:
        _resolve(gateway, "m:1.0.0")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_an_answer_read_after_an_event_is_not_dropped_by_that_event(
    stack, gateway, artifacts, cache
):
    hub = stack.gateway_service.hub
    one, two = _two_versions(gateway, artifacts)
    gateway.SetAlias(registry_pb2.SetAliasRequest(model_version=one, alias="champion"))
    assert _resolve(gateway, "m@champion") == one
    hub.poll_once()  # reads the SetAlias event, committed before the answer was read
    assert cache.get("m@champion") is not None
    # An event committed after the answer was read does drop it.
    metadata_stub = hub.peers.metadata
    metadata_stub.call(
        "SetAlias", registry_pb2.SetAliasRequest(model_version=two, alias="champion")
    )
    hub.poll_once()
    assert cache.get("m@champion") is None


def test_the_cache_and_the_watchers_follow_one_outbox_reader(
    stack, gateway, artifacts, metadata, cache, monkeypatch
):
    readers = record_outbox_readers(stack, monkeypatch)
    one, two = _two_versions(gateway, artifacts)
    gateway.SetAlias(registry_pb2.SetAliasRequest(model_version=one, alias="champion"))
    assert _resolve(gateway, "m@champion") == one
    request = registry_pb2.WatchEventsRequest(types=["alias.set"])
    watchers = [gateway.WatchEvents(request, timeout=30) for _ in range(5)]
    try:
        alias = "models/m/aliases/champion"
        for watcher in watchers:  # each caught up from the outbox with its own read
            assert next(watcher).event.resource == alias
        readers.clear()
        # Another gateway moves the alias: the cache and every watcher learn it.
        metadata.SetAlias(metadata_pb2.SetAliasRequest(model_version=two, alias="champion"))
        for watcher in watchers:
            assert next(watcher).event.attributes["previous_version"]
        deadline = time.monotonic() + 5
        while cache.get("m@champion") is not None:
            assert time.monotonic() < deadline, "the cache never heard of the change"
            time.sleep(0.02)
        assert readers and set(readers) == {"event-hub"}
    finally:
        for watcher in watchers:
            watcher.cancel()
