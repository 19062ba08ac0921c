"""The HTTP listener beside the gRPC servers: binds, serves, TLS like the gRPC ports, and
lets an in-flight request finish when it stops."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.common.http import start_http
from services.common.settings import Settings
from tests.tlsutil import make_pki


def _app(release: threading.Event | None = None, entered: threading.Event | None = None):
    def hello(_request):
        if entered is not None:
            entered.set()
        if release is not None:
            release.wait(10)
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


def test_serves_on_a_free_port_and_stops() -> None:
    running = start_http(_app(), "127.0.0.1:0")
    assert running.url == f"http://127.0.0.1:{running.port}"
    assert httpx.get(running.url).text == "hello"
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.url, timeout=2)


def test_a_taken_port_says_which() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"cannot listen on 127\.0\.0\.1:{port} \(HTTP\)"):
            start_http(_app(), f"127.0.0.1:{port}")


def test_an_in_flight_request_finishes_when_the_server_stops() -> None:
    release, entered = threading.Event(), threading.Event()
    running = start_http(_app(release, entered), "127.0.0.1:0")
    answers: list[httpx.Response] = []
    request = threading.Thread(target=lambda: answers.append(httpx.get(running.url, timeout=10)))
    request.start()
    assert entered.wait(10)
    stopping = threading.Thread(target=running.stop, kwargs={"grace": 5})
    stopping.start()
    release.set()
    request.join(10)
    stopping.join(15)
    assert [a.text for a in answers] == ["hello"]
    assert not running.thread.is_alive()


def test_tls_settings_make_it_https(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    settings = Settings(tls_cert_file=pki.server_cert, tls_key_file=pki.server_key)
    running = start_http(_app(), "127.0.0.1:0", settings=settings)
    try:
        assert running.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(pki.ca))
        assert httpx.get(running.url, verify=context).text == "hello"
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://{running.address}/", timeout=5)
    finally:
        running.stop()


def test_accepted_connections_have_nagle_off() -> None:
    # Otherwise a response written as headers then body waits for the client's delayed ACK
    # (40 ms) on every request after the first on a kept-alive connection.
    from services.common.http import _bind

    listener = _bind("127.0.0.1:0")
    with listener, socket.create_connection(listener.getsockname()[:2]) as _client:
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
