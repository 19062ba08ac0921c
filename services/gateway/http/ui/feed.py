"""The live events feed of the web UI: the gateway's event hub, fanned out to browsers.

:class:`EventFeed` is one listener of the gateway's :class:`~services.gateway.watch.EventHub`
(its one outbox reader), so a thousand open pages cost no outbox reads of their own. Each
open page is a subscriber with a bounded queue on the HTTP server's event loop: a page
that falls more than ``MAX_QUEUED_BATCHES`` batches behind is ended, and the browser's
EventSource reconnects with ``Last-Event-ID`` and catches up from the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from modelregistry.v1 import resources_pb2
from services.gateway.watch import EventHub

#: Batches a subscriber may have waiting before it is ended as too slow.
MAX_QUEUED_BATCHES = 256
#: Most seconds a stream stays silent.
HEARTBEAT_SECONDS = 15.0

#: Reads the outbox after a cursor for an identity: ``(after) -> events`` (at most a page).
CatchUp = Callable[[int], Sequence[resources_pb2.Event]]


@dataclass(eq=False)
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class FeedEnded(Exception):
    """The feed stopped (the gateway stops) or this subscriber fell too far behind."""


class EventFeed:
    """Follows the hub on its reader thread and hands each batch to every open page."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._closed = False
        hub.subscribe(self)

    # -- the hub's reader thread -------------------------------------------------
    def on_events(self, events: Sequence[resources_pb2.Event]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        batch = list(events)
        for subscriber in subscribers:
            with contextlib.suppress(RuntimeError):  # its loop closed while stopping
                subscriber.loop.call_soon_threadsafe(self._offer, subscriber, batch)

    def on_outbox(self, readable: bool) -> None:
        """Nothing to do: the hub retries, and the feed resumes where it was."""

    def stop(self) -> None:
        """End every open page's stream, and refuse new ones (the server stops)."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            with contextlib.suppress(RuntimeError):
                subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, None)

    @staticmethod
    def _offer(subscriber: _Subscriber, batch: list[resources_pb2.Event]) -> None:
        if subscriber.queue.qsize() >= MAX_QUEUED_BATCHES:
            subscriber.queue.put_nowait(None)  # too slow: end it; the browser resumes
        else:
            subscriber.queue.put_nowait(batch)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    # -- the HTTP server's event loop --------------------------------------------
    async def follow(
        self,
        after: int,
        catch_up: CatchUp,
        admits: Callable[[resources_pb2.Event], bool],
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> AsyncIterator[resources_pb2.Event | None]:
        """Every admitted event after ``after``: first from the outbox, then live; None
        after ``heartbeat`` seconds without one (so proxies keep the stream open).

        Subscribes before catching up, so an event committed meanwhile arrives by one way
        or the other; sequences already sent are skipped. Ends with :class:`FeedEnded`.
        """
        subscriber = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                raise FeedEnded("this gateway is stopping; reconnect to resume")
            self._subscribers.add(subscriber)
        self.hub.start()
        try:
            cursor = after
            while True:  # catch up, a page at a time
                page = await asyncio.to_thread(catch_up, cursor)
                for event in page:
                    if event.sequence > cursor:
                        cursor = event.sequence
                        if admits(event):
                            yield event
                if not page:
                    break
            while True:
                try:
                    batch = await asyncio.wait_for(subscriber.queue.get(), heartbeat)
                except TimeoutError:
                    yield None
                    continue
                if batch is None:
                    raise FeedEnded("the event feed ended; reconnect to resume")
                for event in batch:
                    if event.sequence > cursor:
                        cursor = event.sequence
                        if admits(event):
                            yield event
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)
