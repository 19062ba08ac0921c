"""One way to run an ASGI app (Starlette) on uvicorn beside a service's gRPC server.

The server runs in a thread of its own with its own event loop, so a process can keep its
gRPC server as it is and add HTTP routes: :func:`start_http` binds (``host:0`` picks a free
port), starts serving and returns a handle whose ``stop`` lets in-flight requests finish.
An app with long-lived responses (server-sent events) lists in ``app.state.before_stop``
what ends them: ``stop`` calls those first, so they do not hold the shutdown for its grace.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from services.common.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class RunningHttp:
    """A started HTTP server: its bound address and the means to stop it."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int
    scheme: str = "http"
    #: Called first by ``stop``: what ends the app's long-lived responses.
    before_stop: list[Callable[[], None]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """``host:port`` the server listens on."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port`` (``https`` with TLS) of the server."""
        return f"{self.scheme}://{self.address}"

    def stop(self, grace: float | None = 5.0) -> None:
        """End long-lived responses, stop accepting, let in-flight requests finish within
        ``grace``, then close them."""
        for end in self.before_stop:
            end()
        # uvicorn types it as whole seconds; it goes to asyncio.wait_for, which takes a float
        self.server.config.timeout_graceful_shutdown = grace or 0.01  # type: ignore[assignment]
        self.server.should_exit = True
        self.thread.join((grace or 0) + 5)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(5)


def oci_error(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in the OCI distribution-spec format: ``{"errors": [{code, message, detail}]}``."""
    body = {"errors": [{"code": code, "message": message, "detail": {}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _bind(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it, a response written as headers then body
    # waits for the client's delayed ACK (40 ms) on every request of a kept-alive connection.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, int(port)))
    except (OSError, ValueError) as error:
        sock.close()
        raise OSError(f"cannot listen on {address} (HTTP): {error}") from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _tls_options(settings: Settings | None) -> dict[str, object]:
    """uvicorn's TLS options from the same settings as the gRPC ports (none: plain HTTP)."""
    if settings is None or settings.tls_cert_file is None:
        return {}
    options: dict[str, object] = {
        "ssl_certfile": str(settings.tls_cert_file),
        "ssl_keyfile": str(settings.tls_key_file) if settings.tls_key_file else None,
    }
    if settings.tls_client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.tls_client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options


def start_http(
    app: ASGIApp, address: str, *, name: str = "http", settings: Settings | None = None
) -> RunningHttp:
    """Bind ``address`` and serve ``app`` on it in a background thread; returns when ready.

    With ``settings`` naming a TLS certificate, the port serves HTTPS (and requires client
    certificates when a client CA is set), like the gRPC ports. Raises :class:`OSError`
    when the address is taken or invalid.
    """
    sock = _bind(address)
    host, port = sock.getsockname()[:2]
    tls = _tls_options(settings)
    config = uvicorn.Config(
        app,
        log_config=None,  # the process configured logging already
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        server_header=False,
        **tls,  # type: ignore[arg-type]  # uvicorn's ssl_* keywords, typed here as str values
    )
    server = uvicorn.Server(config)
    ready = threading.Event()

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def serve() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
            ready.set()
            await task

        try:
            loop.run_until_complete(serve())
        except Exception:
            logger.exception("%s server stopped with an error", name)
        finally:
            ready.set()
            sock.close()
            loop.close()

    thread = threading.Thread(target=run, name=f"{name}-server", daemon=True)
    thread.start()
    ready.wait(30)
    if not server.started:
        raise OSError(f"{name} server did not start on {address}")
    scheme = "https" if tls else "http"
    logger.info("%s listening on %s://%s:%d", name, scheme, host, port)
    before_stop = list(getattr(getattr(app, "state", None), "before_stop", []))
    return RunningHttp(server, thread, host, port, scheme, before_stop)
