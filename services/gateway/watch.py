"""The gateway's one outbox reader, and ``WatchEvents`` for thousands of watchers.

One :class:`EventHub` thread reads the metadata service's event outbox (``ListEvents``)
every ``poll_seconds``. Each batch goes first to the hub's listeners on that thread (the
resolve cache), then to the event loop, where it joins a ring of the newest events that
every watcher shares. A watcher pulls from the ring by its own cursor and sends one event
at a time, so a burst of any size reaches a watcher that reads, in full and in order. A
watcher that opens with a cursor the ring covers costs no outbox read; one whose next events
are not in the ring (it resumed from an old cursor, or fell behind) reads them from the
outbox with its own paged reads, then joins the ring. New events wake the watchers a batch
per turn of the event loop, so the calls served beside thousands of watchers stay prompt.

A watcher's cursor is the last event gRPC finished writing to it (or that its filters
passed over). It is dropped as too slow only when it is more than ``queue_size`` events
behind the newest one *and* a write to it has not finished for ``write_timeout`` seconds:
its client stopped reading and its HTTP/2 window is full. The drop is RESOURCE_EXHAUSTED
naming the event being written as the resume cursor (the status travels behind that event,
so a client that sees the status has that event). When the gateway stops, every watcher
is ended with UNAVAILABLE naming its cursor, valid on any gateway. If the outbox cannot be
read, the hub retries from where it was: watchers miss nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from prometheus_client import Counter, Gauge

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import registry_pb2, resources_pb2
from services.common.errors import InvalidArgument, OutOfRange, RegistryError, Unavailable
from services.gateway.peers import Peers

logger = logging.getLogger(__name__)

PAGE = 500
#: Initial metadata a ``WatchEvents`` call gets once its request is accepted (after the
#: checks that can refuse it), before any event.
WATCH_ACCEPTED = "x-mreg-watch-accepted"
#: Newest events the hub keeps for its watchers (trimmed back to this at twice as many).
RING_EVENTS = 2000
#: Watchers woken per turn of the event loop when events arrive: a fan-out to thousands of
#: watchers is spread over many turns, so the calls served beside them (resolve,
#: registration) wait a few milliseconds for the loop, not the whole fan-out.
WAKE_BATCH = 64

WATCHERS = Gauge("mreg_gateway_watchers", "Open WatchEvents streams")
WATCHERS_DROPPED = Counter(
    "mreg_gateway_watchers_dropped_total", "WatchEvents streams dropped as slow consumers"
)


class EventListener(Protocol):
    """Something that follows every outbox event on the hub's reader thread."""

    def on_events(self, events: Sequence[resources_pb2.Event]) -> None: ...

    def on_outbox(self, readable: bool) -> None: ...

    def stop(self) -> None:
        """The hub stops reading: nothing will be followed from now on."""


@dataclass(eq=False)
class Watcher:
    """One open ``WatchEvents`` stream: its filters and how far it got."""

    types: frozenset[str]
    model: str
    prefix: str
    context: Any = None
    #: Every event up to here was written to the stream or passed over by its filters.
    cursor: int = 0
    #: The event being written, and since when (None: no write in progress).
    sending: int = 0
    writing_since: float | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False
    closed: bool = False
    abort_task: Any = None

    def admits(self, event: resources_pb2.Event) -> bool:
        return (
            (not self.types or event.type in self.types)
            and (not self.model or event.model == self.model)
            and event.model.startswith(self.prefix)
        )


class EventHub:
    """The gateway's one outbox reader, its listeners and its watchers."""

    def __init__(
        self,
        peers: Peers,
        poll_seconds: float = 0.1,
        queue_size: int = 1000,
        write_timeout: float = 10.0,
    ) -> None:
        self.peers = peers
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self.write_timeout = write_timeout
        self.cursor = 0  # reader side: the newest sequence read
        self.newest = 0  # event loop side: the ring holds every event in (_floor, newest]
        self._floor = 0
        self._ring_open = False  # the ring holds (_floor, newest] once a batch arrived
        self._ring: list[resources_pb2.Event] = []
        self._sequences: list[int] = []
        self._listeners: list[EventListener] = []
        self._watchers: set[Watcher] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._started = False
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._read_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def subscribe(self, listener: EventListener) -> None:
        """Hand every event read from now on to ``listener`` (before any watcher sees it)."""
        self._listeners.append(listener)

    # -- reader thread -------------------------------------------------------------
    def _read(self) -> list[resources_pb2.Event]:
        events: list[resources_pb2.Event] = []
        while True:
            page = self.peers.metadata.call(
                "ListEvents",
                metadata_pb2.ListEventsRequest(after_sequence=self.cursor, limit=PAGE),
                timeout=5,
            )
            events.extend(page.events)
            self.cursor = max(self.cursor, page.next_after_sequence)
            if len(page.events) < PAGE:
                return events

    def poll_once(self) -> None:
        """Read every event committed since the last read; listeners, then watchers get it."""
        with self._read_lock:
            after = self.cursor
            try:
                if not self._started:
                    after = self.cursor = self.peers.metadata.call(
                        "ListEvents", metadata_pb2.ListEventsRequest(limit=1), timeout=5
                    ).latest_sequence
                    self._started = True
                events = self._read()
            except RegistryError as error:
                logger.warning("event hub cannot read the outbox: %s", error.message)
                for listener in self._listeners:
                    listener.on_outbox(False)
                return
            for listener in self._listeners:
                if events:
                    listener.on_events(events)
                listener.on_outbox(True)
            self._ready.set()
            if self._loop is not None and (events or self._watchers):
                with contextlib.suppress(RuntimeError):  # the loop closed while stopping
                    self._loop.call_soon_threadsafe(self._dispatch, events, after, self.cursor)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        """Start reading the outbox (once; from its newest event on)."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="event-hub", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for listener in self._listeners:
            listener.stop()

    # -- event loop ----------------------------------------------------------------
    def _dispatch(self, events: list[resources_pb2.Event], after: int, newest: int) -> None:
        if after != self.newest:  # the first batch this loop sees: the ring starts here
            self._ring, self._sequences, self._floor = [], [], after
            self._ring_open = True
        self._ring.extend(events)
        self._sequences.extend(e.sequence for e in events)
        self.newest = max(self.newest, newest)
        if len(self._ring) > 2 * RING_EVENTS:
            cut = len(self._ring) - RING_EVENTS
            self._floor = self._sequences[cut - 1]
            del self._ring[:cut], self._sequences[:cut]
        if events:
            self._wake(list(self._watchers), 0)
        self._sweep()

    def _wake(self, watchers: list[Watcher], start: int) -> None:
        """Wake ``WAKE_BATCH`` of ``watchers`` now and the rest on later turns of the loop."""
        end = start + WAKE_BATCH
        for watcher in watchers[start:end]:
            watcher.wake.set()
        if end < len(watchers) and self._loop is not None:
            self._loop.call_soon(self._wake, watchers, end)

    def _covers(self, cursor: int) -> bool:
        """Whether the ring holds every event after ``cursor`` that the hub has read."""
        return self._ring_open and self._floor <= cursor <= self.newest

    def _after(self, cursor: int) -> list[resources_pb2.Event] | None:
        """Up to a page of ring events after ``cursor``; None when the ring lost some."""
        if cursor >= self.newest:
            return []
        if cursor < self._floor:
            return None
        start = bisect.bisect_right(self._sequences, cursor)
        return self._ring[start : start + PAGE]

    def _sweep(self) -> None:
        """Drop every watcher that is too far behind and whose write does not finish."""
        now = time.monotonic()
        for watcher in list(self._watchers):
            since = watcher.writing_since
            if (
                since is not None
                and now - since >= self.write_timeout
                and self.newest - watcher.cursor > self.queue_size
            ):
                self._drop(watcher, now - since)

    def _drop(self, watcher: Watcher, waited: float) -> None:
        watcher.dropped = True
        self._forget(watcher)
        WATCHERS_DROPPED.inc()
        lag = self.newest - watcher.cursor
        message = (
            f"this watcher fell {lag} events behind (more than MREG_WATCH_QUEUE_EVENTS="
            f"{self.queue_size}) and a write to it waited {waited:.1f} s (more than "
            f"MREG_WATCH_WRITE_TIMEOUT_SECONDS={self.write_timeout:g}); it was dropped: read "
            f"faster and resume with after_sequence={watcher.sending}"
        )
        logger.warning("slow consumer %s dropped: %s", watcher.context.peer(), message)
        # Its handler is blocked in that write, so the status is sent from here; it leaves
        # behind the event being written, once the client reads (or with the call's end).
        watcher.abort_task = asyncio.ensure_future(self._abort(watcher.context, message))

    @staticmethod
    async def _abort(context: Any, message: str) -> None:
        with contextlib.suppress(Exception):  # AbortError is how abort returns
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, message)

    def _forget(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.discard(watcher)
            WATCHERS.dec()

    def close(self) -> None:
        """End every watcher with UNAVAILABLE (thread-safe); new watchers are refused."""
        self._closing = True
        if self._loop is None:
            return

        async def end_all() -> None:
            for watcher in self._watchers:
                watcher.closed = True
                watcher.wake.set()

        with contextlib.suppress(RuntimeError, TimeoutError):
            asyncio.run_coroutine_threadsafe(end_all(), self._loop).result(timeout=5)

    async def _page(
        self, watcher: Watcher, request: registry_pb2.WatchEventsRequest
    ) -> metadata_pb2.ListEventsResponse:
        after = watcher.cursor
        return await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: self.peers.metadata.call(
                "ListEvents",
                metadata_pb2.ListEventsRequest(
                    after_sequence=after, limit=PAGE, types=request.types, model=request.model
                ),
            ),
        )

    async def watch(
        self, request: registry_pb2.WatchEventsRequest, prefix: str, context: Any
    ) -> AsyncIterator[registry_pb2.WatchEventsResponse]:
        """Events after the request's cursor, then new ones as they commit."""
        if request.after_sequence < 0:
            raise InvalidArgument.field(
                "after_sequence", f"must not be negative, got {request.after_sequence}"
            )
        if self._closing:
            raise _unavailable(request.after_sequence)
        self._loop = asyncio.get_running_loop()
        self.start()
        if not await self._loop.run_in_executor(None, self._ready.wait, 10):
            raise _unavailable(request.after_sequence, "cannot read the event outbox")
        watcher = Watcher(frozenset(request.types), request.model, prefix, context=context)
        watcher.cursor = request.after_sequence
        self._watchers.add(watcher)
        WATCHERS.inc()
        # A cursor the ring covers is served from it: thousands of watchers opening at once
        # cost no outbox reads. Any other cursor (or a one-shot read) starts from the outbox,
        # which also tells whether the cursor lies beyond the newest event.
        first = request.stop_when_caught_up or not self._covers(watcher.cursor)
        try:
            if not first:
                await _accepted(context)
            while True:
                if watcher.closed:
                    raise _unavailable(watcher.cursor)
                caught_up = False
                events = (
                    None if first or request.stop_when_caught_up else self._after(watcher.cursor)
                )
                if events is None:  # from the outbox: new, resumed from afar, or one-shot
                    page = await self._page(watcher, request)
                    if first and watcher.cursor > page.latest_sequence:
                        raise OutOfRange(
                            f"after_sequence {watcher.cursor} is beyond the newest event "
                            f"({page.latest_sequence}); resume from a sequence this registry "
                            "gave you",
                            metadata={"latest_sequence": str(page.latest_sequence)},
                        )
                    if first:
                        await _accepted(context)
                    first = False
                    events, end = list(page.events), page.next_after_sequence
                    if len(page.events) < PAGE:
                        caught_up, end = True, max(end, page.latest_sequence)
                elif not events:
                    watcher.wake.clear()
                    await watcher.wake.wait()
                    continue
                else:  # the ring's newest page ends at the newest sequence read
                    end = events[-1].sequence if len(events) == PAGE else self.newest
                for event in events:
                    if event.sequence <= watcher.cursor:
                        continue
                    if watcher.admits(event):
                        watcher.sending, watcher.writing_since = event.sequence, time.monotonic()
                        yield registry_pb2.WatchEventsResponse(event=event)
                        watcher.writing_since = None
                        if watcher.dropped:
                            return  # its status is on the way (see _drop)
                    watcher.cursor = event.sequence
                watcher.cursor = max(watcher.cursor, end)
                if caught_up and request.stop_when_caught_up:
                    return
        finally:
            self._forget(watcher)


async def _accepted(context: Any) -> None:
    """Tell the caller its watch is accepted (``WATCH_ACCEPTED`` initial metadata), so a
    proxy such as the HTTP/JSON API knows no request error is coming."""
    if context is not None:
        await context.send_initial_metadata(((WATCH_ACCEPTED, "1"),))


def _unavailable(cursor: int, why: str = "is shutting down") -> RegistryError:
    return Unavailable(
        f"this gateway {why}; reconnect to any gateway and resume with after_sequence={cursor}",
        metadata={"after_sequence": str(cursor)},
    )
