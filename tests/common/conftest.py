"""Fixtures of the common tests: a toy service on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from services.common.server import (
    ServiceBinding,
    build_aio_server,
    build_server,
    insecure_channel,
)
from tests.common.echo import SERVICE, add, behaviours


@pytest.fixture(params=["sync", "aio"])
def channel(request: pytest.FixtureRequest) -> Iterator[grpc.Channel]:
    """A channel to a server running the echo service, sync or ``grpc.aio`` (same behaviour)."""
    build = build_server if request.param == "sync" else build_aio_server
    running = build("127.0.0.1:0", [ServiceBinding(SERVICE, add, behaviours())])
    running.start()
    channel = insecure_channel(f"127.0.0.1:{running.port}")
    yield channel
    channel.close()
    running.stop(None)
