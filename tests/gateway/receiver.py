"""A real HTTP webhook receiver on loopback whose answers a test scripts.

Each request is recorded when it arrives (before it is answered), then answered by the
next scripted behaviour, or 200 once the script is used up: an int is that status,
``"hang"`` holds the request without answering until the receiver closes (the sender's
timeout fires first), ``"close"`` drops the connection without an answer, ``"drip"``
sends a 200 answer one byte every 0.2 s (each read is quick, the whole answer is not).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A threaded HTTP server on 127.0.0.1 recording every POST."""

    def __init__(self, port: int = 0, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[Received] = []
        self._changed = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._changed:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    action = receiver.script.pop(0) if receiver.script else 200
                    receiver._changed.notify_all()
                if action == "hang":
                    receiver._release.wait(60)
                    self.close_connection = True
                    return
                if action == "close":
                    self.close_connection = True
                    return
                if action == "drip":
                    self.close_connection = True
                    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                    try:
                        for byte in answer:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            if receiver._release.wait(0.2):
                                return
                    except OSError:
                        pass  # the sender gave up and closed the connection
                    return
                self.send_response(int(action))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 20) -> None:
        """Block until ``condition(requests)`` holds; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver got {len(self.requests)} requests")
                self._changed.wait(left)

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    """Poll ``condition`` (a cheap read) until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)
