"""An open event stream ends whole when the HTTP listener stops, telling the client to
reconnect (a registry of its own: the listener does not come back)."""

from __future__ import annotations

import json
import threading

from tests.http.conftest import Registry


def test_stopping_ends_open_streams_with_an_unavailable_event(registry: Registry) -> None:
    lines: list[str] = []
    opened = threading.Event()

    def read() -> None:
        with registry.http("reader") as http, http.stream("GET", "/v1/events") as stream:
            assert stream.status_code == 200
            opened.set()
            lines.extend(stream.iter_lines())  # raises if the body is cut short

    reader = threading.Thread(target=read)
    reader.start()
    assert opened.wait(30)
    registry.stop_http()
    reader.join(30)
    assert not reader.is_alive()
    assert lines[-3] == "event: error"
    status = json.loads(lines[-2].removeprefix("data: "))
    assert status == {
        "code": 14,
        "message": "this gateway is shutting down; reconnect to any gateway and resume "
        "with Last-Event-ID",
    }
