"""A resolve cache in the gateway, kept correct by the metadata service's event outbox.

Serving infrastructure resolves ``name@production`` often; answering from memory saves a
hop to the metadata service and a database query. Entries are dropped per model:

* at once, when this gateway forwards a change of that model (read your own writes);
* within ``poll_seconds``, when any change of that model shows up in the event outbox
  (changes made through other gateways), unless the answer was read after that event
  was committed: the metadata service stamps each answer with the newest outbox sequence
  committed before the read, so event N drops only answers stamped below N.

If the outbox cannot be read, the cache stops answering (every resolve goes to the
metadata service) until it can again, so it never serves what it cannot vouch for.
A per-model generation counter keeps a resolve that raced with an invalidation from
storing its possibly stale answer.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from modelregistry.v1 import metadata_pb2
from services.common.errors import RegistryError
from services.gateway.peers import Peers

logger = logging.getLogger(__name__)


class ResolveCache:
    """reference -> resolve response, invalidated per model."""

    def __init__(self, peers: Peers, poll_seconds: float = 0.1, max_entries: int = 10_000) -> None:
        self.peers = peers
        self.poll_seconds = poll_seconds
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, Any, int]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._model_events: dict[str, int] = {}  # newest outbox sequence naming each model
        self._healthy = False
        self._cursor = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def generation(self, model: str) -> int:
        """The model's generation; pass it to :meth:`put` to detect a racing invalidation."""
        with self._lock:
            return self._generations.get(model, 0)

    def get(self, reference: str) -> Any | None:
        """The cached answer for ``reference``, or None (always None while unhealthy)."""
        with self._lock:
            if not self._healthy:
                return None
            hit = self._entries.get(reference)
            if hit is None:
                return None
            self._entries.move_to_end(reference)
            return hit[1]

    def put(self, reference: str, model: str, response: Any, generation: int) -> None:
        """Remember an answer, unless the model changed since ``generation`` was read or an
        event about it newer than the answer's ``observed_event_sequence`` was seen."""
        observed = response.observed_event_sequence
        with self._lock:
            if (
                not self._healthy
                or self._generations.get(model, 0) != generation
                or observed < self._model_events.get(model, 0)
            ):
                return
            self._entries[reference] = (model, response, observed)
            self._entries.move_to_end(reference)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, model: str) -> None:
        """Forget every answer about ``model``."""
        with self._lock:
            self._generations[model] = self._generations.get(model, 0) + 1
            for reference in [r for r, (m, _, _) in self._entries.items() if m == model]:
                del self._entries[reference]

    def _event(self, model: str, sequence: int) -> None:
        """Event ``sequence`` changed ``model``: drop the answers read before it."""
        with self._lock:
            self._model_events[model] = max(self._model_events.get(model, 0), sequence)
            stale = [
                r for r, (m, _, seen) in self._entries.items() if m == model and seen < sequence
            ]
            for reference in stale:
                del self._entries[reference]

    def _set_healthy(self, healthy: bool) -> None:
        with self._lock:
            if healthy == self._healthy:
                return
            self._healthy = healthy
            if not healthy:
                self._entries.clear()
        logger.log(
            logging.INFO if healthy else logging.WARNING,
            "resolve cache %s",
            "serving" if healthy else "off: the event outbox cannot be read",
        )

    def poll_once(self) -> None:
        """Read new events and invalidate the models they name."""
        try:
            if not self._healthy and self._cursor == 0:
                # Nothing is cached yet, so only events from now on matter.
                page = self.peers.metadata.call(
                    "ListEvents", metadata_pb2.ListEventsRequest(limit=1), timeout=5
                )
                self._cursor = page.latest_sequence
            while True:
                page = self.peers.metadata.call(
                    "ListEvents",
                    metadata_pb2.ListEventsRequest(after_sequence=self._cursor, limit=1000),
                    timeout=5,
                )
                for event in page.events:
                    if event.model:  # events without a model (dataset lineage) change no answer
                        self._event(event.model, event.sequence)
                self._cursor = max(self._cursor, page.next_after_sequence)
                if len(page.events) < 1000:
                    break
        except RegistryError:
            self._set_healthy(False)
            return
        self._set_healthy(True)

    def start(self) -> None:
        """Poll the outbox on a daemon thread (the cache serves once the first poll is done)."""

        def loop() -> None:
            while True:
                self.poll_once()
                if self._stop.wait(self.poll_seconds):
                    return

        self._thread = threading.Thread(target=loop, name="resolve-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling; the cache then answers nothing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._set_healthy(False)
