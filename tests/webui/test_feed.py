"""The live events stream over plain HTTP: resume with Last-Event-ID, end on shutdown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mreg.client import Client


@pytest.fixture
def open_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An embedded registry without auth (loopback), with two pushed versions."""
    from services.embedded import build_embedded

    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    registry = build_embedded(
        tmp_path / "data", gateway_port=0, artifacts_port=0, metadata_port=0, http_port=0
    )
    for server in registry.servers:
        server.start()
    registry.start_http()
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"weights")
    with Client(registry.address(registry.gateway), timeout=30) as client:
        client.push(weights, model="m", version="1.0.0")
        client.push(weights, model="m", version="1.1.0")
    try:
        yield registry
    finally:
        registry.stop_http()
        for server in reversed(registry.servers):
            server.stop(grace=None)


def _events(response: httpx.Response, count: int) -> list[dict]:
    found: list[dict] = []
    event_id = ""
    for line in response.iter_lines():
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            found.append({"id": event_id, **json.loads(line[6:])})
            if len(found) == count:
                return found
    return found


def test_the_stream_resumes_after_last_event_id(open_registry) -> None:
    url = f"{open_registry.http.url}/events/stream"
    with httpx.stream("GET", url, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        everything = _events(response, 4)  # created and ready of each version
    assert [e["type"] for e in everything] == ["version.created", "version.ready"] * 2
    assert everything[3]["url"] == "/models/m/versions/1.1.0"
    resume_after = everything[1]["id"]
    with httpx.stream("GET", url, headers={"Last-Event-ID": resume_after}, timeout=30) as again:
        resumed = _events(again, 2)
    assert [e["id"] for e in resumed] == [e["id"] for e in everything[2:]]


def test_a_bad_cursor_is_refused(open_registry) -> None:
    answer = httpx.get(f"{open_registry.http.url}/events/stream?after=-1", timeout=30)
    assert answer.status_code == 400
    assert answer.text == "after: must be a non-negative integer, got '-1'"


def test_an_open_stream_ends_cleanly_when_the_server_stops(open_registry) -> None:
    ended: list[str] = []
    reading = threading.Event()

    def follow() -> None:
        try:
            with httpx.stream("GET", f"{open_registry.http.url}/events/stream", timeout=60) as r:
                for _ in r.iter_lines():
                    reading.set()
            ended.append("complete")
        except httpx.HTTPError as error:
            ended.append(f"cut: {error!r}")

    reader = threading.Thread(target=follow)
    reader.start()
    assert reading.wait(10)
    started = time.monotonic()
    open_registry.http.stop(grace=30)
    took = time.monotonic() - started
    reader.join(10)
    assert ended == ["complete"]  # the response ended; it was not cut at the grace's end
    assert took < 10, f"stop waited {took:.1f} s for the open stream"
    open_registry.http = None
