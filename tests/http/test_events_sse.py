"""WatchEvents over HTTP as server-sent events: a committed event arrives on an open
stream, and a reconnect with ``Last-Event-ID`` resumes after it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx

from tests.http.conftest import Registry


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """``(id, data)`` of each event of an SSE stream (comments and ``retry:`` skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                yield fields.get("id", ""), json.loads(fields["data"])
            fields = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")


def _register(registry: Registry, http: httpx.Client, model: str, version: str) -> None:
    digest = registry.upload(os.urandom(512))
    body = {"modelVersion": {"version": version, "artifactDigest": digest}}
    answer = http.post(f"/v1/models/{model}/versions", json=body)
    assert answer.status_code == 200, answer.text


def test_events_stream_live_and_resume_from_last_event_id(registry: Registry) -> None:
    params = {"model": "sse", "types": "version.ready"}
    with registry.http("writer") as http:
        with http.stream("GET", "/v1/events", params=params) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            _register(registry, http, "sse", "1.0.0")  # committed while the stream is open
            first_id, first = next(_events(stream.iter_lines()))
        assert first["resource"] == "models/sse/versions/1.0.0"
        assert first["type"] == "version.ready"
        assert first["model"] == "sse"
        assert first_id == first["sequence"]  # int64: a string in the JSON too
        _register(registry, http, "sse", "1.1.0")
        with http.stream(
            "GET", "/v1/events", params=params, headers={"Last-Event-ID": first_id}
        ) as resumed:
            assert resumed.status_code == 200
            next_id, following = next(_events(resumed.iter_lines()))
    assert following["resource"] == "models/sse/versions/1.1.0"
    assert int(next_id) > int(first_id)


def test_a_stream_that_cannot_start_answers_with_a_status(registry: Registry) -> None:
    with registry.http("reader") as http:
        bad_cursor = http.get("/v1/events", headers={"Last-Event-ID": "later"})
        beyond = http.get("/v1/events", params={"afterSequence": "999999999"})
    with registry.http(None) as anonymous:
        unauthenticated = anonymous.get("/v1/events")
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["message"] == "Last-Event-ID must be a sequence number, got 'later'"
    assert beyond.status_code == 400
    assert beyond.json()["code"] == 11  # OUT_OF_RANGE
    assert "is beyond the newest event" in beyond.json()["message"]
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == 'Bearer realm="model registry"'


def test_open_streams_hold_no_thread(registry: Registry) -> None:
    import contextlib
    import threading

    with registry.http("reader") as warm, warm.stream("GET", "/v1/events") as first:
        assert first.status_code == 200  # channels, pollers and pools exist from here on
        before = threading.active_count()
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(registry.http("reader")) for _ in range(20)]
            streams = [stack.enter_context(c.stream("GET", "/v1/events")) for c in clients]
            assert all(s.status_code == 200 for s in streams)
            during = threading.active_count()
    assert during - before <= 2, (before, during)


def test_events_stream_as_cloudevents(registry: Registry) -> None:
    params = {"model": "ce", "types": "version.ready", "format": "cloudevents"}
    with registry.http("writer") as http:
        with http.stream("GET", "/v1/events", params=params) as stream:
            assert stream.status_code == 200
            _register(registry, http, "ce", "1.0.0")
            event_id, event = next(_events(stream.iter_lines()))
        wrong = http.get("/v1/events", params={"format": "xml"})
    assert event == {
        "specversion": "1.0",
        "id": event_id,
        "source": event["source"],
        "type": "io.modelregistry.version.ready",
        "subject": "models/ce/versions/1.0.0",
        "time": event["data"]["time"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }
    assert event["source"].startswith("mreg://")
    assert event["data"]["sequence"] == event_id and event["data"]["model"] == "ce"
    assert wrong.status_code == 400
    assert wrong.json()["message"] == "format must be json or cloudevents, got 'xml'"
