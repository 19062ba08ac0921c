"""Settles registrations a gateway left PENDING (it died, or a peer was unreachable).

Every ``interval`` seconds the reconciler looks for versions PENDING for longer than
``pending_timeout`` and finishes them (artifact present and of the right size: pinned
and READY) or fails them (FAILED, unpinned). So no version stays PENDING much longer
than ``pending_timeout + interval``, whatever happened to the gateway that reserved it.
Several gateways may run it at once: every step is idempotent.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from services.common.errors import RegistryError
from services.gateway.service import Gateway

logger = logging.getLogger(__name__)

#: Principal recorded for what the reconciler does.
RECONCILER = "system:reconciler"


class Reconciler:
    """Finishes or fails stale PENDING versions, once or on a background thread."""

    def __init__(self, gateway: Gateway, pending_timeout: float, interval: float) -> None:
        self.gateway = gateway
        self.pending_timeout = pending_timeout
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        """Settle every stale PENDING version now; returns how many ended in each state."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.pending_timeout)
        query = f'state = "pending" AND create_time < "{cutoff.isoformat().replace("+00:00", "Z")}"'
        counts = {"ready": 0, "failed": 0, "pending": 0}
        token = ""
        while True:
            page = self.gateway.peers.metadata.call(
                "SearchModelVersions",
                metadata_pb2.SearchModelVersionsRequest(
                    filter=query, order_by="create_time", page_size=100, page_token=token
                ),
            )
            for version in page.model_versions:
                counts[self._settle(version)] += 1
            token = page.next_page_token
            if not token:
                break
        if any(counts.values()):
            logger.info("reconciled stale registrations: %s", counts)
        return counts

    def _settle(self, version) -> str:
        try:
            settled = self.gateway.complete(version, RECONCILER)
        except RegistryError as error:
            if error.reason in ("ARTIFACT_MISSING", "ARTIFACT_SIZE_MISMATCH"):
                return "failed"
            logger.warning("could not settle %s yet: %s", version.name, error.message)
            return "pending"
        return "ready" if settled.state == resources_pb2.VERSION_STATE_READY else "pending"

    def start(self) -> None:
        """Run :meth:`run_once` every ``interval`` seconds on a daemon thread."""

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.run_once()
                except Exception:
                    logger.exception("reconciler pass failed")

        self._thread = threading.Thread(target=loop, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
