"""A private Unix domain socket through which a process calls its own gRPC server.

A process that serves HTTP in front of its own gRPC port (the gateway's HTTP/JSON) must
not dial that port over TCP: with TLS on, the certificate names the public host rather
than 127.0.0.1, mutual TLS wants a client certificate the process may not hold, the CA
it trusts for its peers may not be the one that signed its own certificate, and a
``host:0`` listen address names no port at all. The server also listens, in plaintext,
on a socket in a directory only this user may enter (0700, made by ``mkdtemp``): no other
user can connect, and the calls still pass every interceptor (authentication, roles),
since they reach the same server.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

#: Longest path of a Unix domain socket (``sun_path`` is 108 bytes, with the final NUL).
MAX_SOCKET_PATH = 107


class PrivateSocket:
    """A fresh 0700 directory holding ``grpc.sock``; :meth:`remove` deletes both."""

    def __init__(self, name: str) -> None:
        directory = Path(tempfile.mkdtemp(prefix=f"mreg-{name}-"))
        path = directory / "grpc.sock"
        if len(str(path)) > MAX_SOCKET_PATH:
            shutil.rmtree(directory, ignore_errors=True)
            directory = Path(tempfile.mkdtemp(prefix=f"mreg-{name}-", dir="/tmp"))
            path = directory / "grpc.sock"
        self.directory = directory
        self.path = path

    @property
    def address(self) -> str:
        """The address a gRPC server listens on and a channel dials: ``unix:<path>``."""
        return f"unix:{self.path}"

    def remove(self) -> None:
        """Delete the socket and its directory (after the server stopped); idempotent."""
        shutil.rmtree(self.directory, ignore_errors=True)
