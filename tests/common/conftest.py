"""Fixtures of the common tests: a toy service on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from services.common.server import ServiceBinding, create_server, insecure_channel
from tests.common.echo import SERVICE, add, behaviours


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    """A channel to a server running the echo service."""
    server, port = create_server("127.0.0.1:0", [ServiceBinding(SERVICE, add, behaviours())])
    server.start()
    channel = insecure_channel(f"127.0.0.1:{port}")
    yield channel
    channel.close()
    server.stop(None)
