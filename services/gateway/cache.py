"""A resolve cache in the gateway, kept correct by the metadata service's event outbox.

Serving infrastructure resolves ``name@production`` often; answering from memory saves a
hop to the metadata service and a database query. Entries are dropped per model:

* at once, when this gateway forwards a change of that model (read your own writes);
* within one poll of the gateway's outbox reader (the :class:`~services.gateway.watch.EventHub`
  that also feeds every watcher), when any change of that model shows up in the event
  outbox (changes made through other gateways), unless the answer was read after that
  event was committed: the metadata service stamps each answer with the newest outbox
  sequence committed before the read, so event N drops only answers stamped below N.

If the outbox cannot be read, the cache stops answering (every resolve goes to the
metadata service) until it can again, so it never serves what it cannot vouch for.
A per-model generation counter keeps a resolve that raced with an invalidation from
storing its possibly stale answer.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from modelregistry.v1 import resources_pb2

logger = logging.getLogger(__name__)


class ResolveCache:
    """reference -> resolve response, invalidated per model."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, Any, int]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._model_events: dict[str, int] = {}  # newest outbox sequence naming each model
        self._healthy = False

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

    def _set_healthy(self, healthy: bool, stopping: bool = False) -> None:
        with self._lock:
            if healthy == self._healthy:
                return
            self._healthy = healthy
            if not healthy:
                self._entries.clear()
        if healthy:
            logger.info("resolve cache serving")
        elif stopping:
            logger.info("resolve cache off: the gateway is stopping")
        else:
            logger.warning("resolve cache off: the event outbox cannot be read")

    # -- the event hub's listener (called on its reader thread) ---------------------
    def on_events(self, events: Sequence[resources_pb2.Event]) -> None:
        """New outbox events: invalidate the models they name."""
        for event in events:
            if event.model:  # events without a model (dataset lineage) change no answer
                self._event(event.model, event.sequence)

    def on_outbox(self, readable: bool) -> None:
        """Whether the outbox could be read (the cache answers only while it can)."""
        self._set_healthy(readable)

    def stop(self) -> None:
        """Stop answering (the gateway is stopping)."""
        self._set_healthy(False, stopping=True)
