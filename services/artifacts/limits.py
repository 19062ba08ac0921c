"""Limits that keep one client from starving the others: open streams per principal.

Every upload and read stream of the artifact service holds a slot of its principal for its
whole life; past ``MREG_MAX_STREAMS_PER_PRINCIPAL`` a new stream is refused at once with
RESOURCE_EXHAUSTED, so a client that opens streams and stalls them cannot take the service.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from services.common.errors import ResourceExhausted

LIMIT_SETTING = "MREG_MAX_STREAMS_PER_PRINCIPAL"


class StreamLimiter:
    """Counts open streams per principal; :meth:`hold` takes a slot or refuses."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the stream limit must be at least 1, got {limit}")
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def open_streams(self, principal: str) -> int:
        """How many streams ``principal`` has open now."""
        with self._lock:
            return self._open.get(principal, 0)

    def acquire(self, principal: str) -> None:
        """Take a slot of ``principal``; RESOURCE_EXHAUSTED when all are taken."""
        with self._lock:
            count = self._open.get(principal, 0)
            if count >= self.limit:
                raise ResourceExhausted(
                    f"{principal} already has {count} streams open on the artifact service, "
                    f"the limit per principal ({self.limit}); finish or cancel some, or raise "
                    f"{LIMIT_SETTING}",
                    reason="TOO_MANY_STREAMS",
                    metadata={"limit": str(self.limit), "setting": LIMIT_SETTING},
                )
            self._open[principal] = count + 1

    def release(self, principal: str) -> None:
        """Give back a slot taken by :meth:`acquire`."""
        with self._lock:
            count = self._open.get(principal, 0) - 1
            if count > 0:
                self._open[principal] = count
            else:
                self._open.pop(principal, None)

    @contextmanager
    def hold(self, principal: str) -> Iterator[None]:
        """A slot of ``principal`` for the duration of the ``with`` block."""
        self.acquire(principal)
        try:
            yield
        finally:
            self.release(principal)
