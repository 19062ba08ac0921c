"""A periodic write probe of the storage backend, which drives the service's health.

Reads keep working on a full disk, but every upload fails; a health check that says
SERVING then sends clients to an instance that cannot take their bytes. The probe writes a
small object every ``MREG_BACKEND_PROBE_SECONDS`` (and deletes it); while that write fails
(disk full, bucket unreachable) the service reports NOT_SERVING, and SERVING again as soon
as a write succeeds. The index database is probed too (one ``SELECT 1``): without it no pin
can be read or written, so registration and prefix-limited reads fail.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from services.artifacts.backends.base import Backend
from services.artifacts.index.database import IndexDatabase

logger = logging.getLogger(__name__)

PROBE_PREFIX = "health/"


def probe_key() -> str:
    """This process's probe object (one per instance, so instances never collide)."""
    return f"{PROBE_PREFIX}probe-{socket.gethostname()}-{os.getpid()}"


def probe_once(backend: Backend, key: str) -> str:
    """Write and delete the probe object; ``""`` when that worked, else what failed."""
    try:
        backend.check_writable(key)
    except Exception as error:  # any failure to write means: do not send uploads here
        return f"{type(error).__name__}: {error}"
    return ""


class BackendProbe:
    """Probes ``backend`` every ``interval`` seconds on a thread of its own.

    ``on_change(serving)`` is called with the first result and then on every change. The
    probe thread only waits and does small writes, so it never competes with RPCs.
    """

    def __init__(
        self,
        backend: Backend,
        interval: float,
        on_change: Callable[[bool], None],
        *,
        index: IndexDatabase | None = None,
    ) -> None:
        self.backend = backend
        self.index = index
        self.interval = interval
        self.on_change = on_change
        self.key = probe_key()
        self.serving: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Probe once now; report a change. Returns whether writes work."""
        problem = probe_once(self.backend, self.key)
        if not problem and self.index is not None:
            problem = self.index.problem()
        serving = not problem
        if serving != self.serving:
            if serving and self.serving is None:
                logger.info("storage backend and index take writes: SERVING")
            elif serving:
                logger.info("storage backend and index work again: SERVING")
            else:
                logger.error("storage backend or index failing (%s): NOT_SERVING", problem)
            self.serving = serving
            self.on_change(serving)
        return serving

    def start(self) -> None:
        """Probe once now, then every ``interval`` seconds until :meth:`stop`."""
        self.check()
        self._thread = threading.Thread(target=self._run, name="backend-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:
                logger.exception("backend probe failed")

    def stop(self) -> None:
        """Stop probing (waits for a probe under way)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
