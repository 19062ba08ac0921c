"""``WatchEvents`` for thousands of watchers: one outbox reader per gateway, fanned out.

One :class:`EventHub` thread reads the metadata service's event outbox (``ListEvents``)
every ``poll_seconds`` and hands each new batch to the event loop, where every watcher gets
the events its filters admit through its own bounded queue. A watcher first subscribes,
then catches up from its cursor with its own paged reads, then serves the queued events it
has not sent yet, so nothing falls between the two. A watcher whose queue fills (it does
not read) is ended with RESOURCE_EXHAUSTED naming its resume cursor; when the gateway
stops, every watcher is ended with UNAVAILABLE naming its cursor, valid on any gateway.
If the outbox cannot be read, the hub retries from where it was: watchers miss nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from modelregistry.v1 import metadata_pb2, registry_pb2, resources_pb2
from services.common.errors import InvalidArgument, OutOfRange, RegistryError, Unavailable
from services.common.interceptors import AbortLater
from services.gateway.peers import Peers

logger = logging.getLogger(__name__)

PAGE = 500
_CLOSED = object()


@dataclass(eq=False)
class Watcher:
    """One open ``WatchEvents`` stream: its filters, its queue and how far it got."""

    types: frozenset[str]
    model: str
    prefix: str
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue())
    context: Any = None
    cursor: int = 0
    overflowed: bool = False
    drop_task: Any = None

    def admits(self, event: resources_pb2.Event) -> bool:
        return (
            (not self.types or event.type in self.types)
            and (not self.model or event.model == self.model)
            and event.model.startswith(self.prefix)
        )


class EventHub:
    """The gateway's one outbox reader and its watchers."""

    def __init__(self, peers: Peers, poll_seconds: float = 0.1, queue_size: int = 1000) -> None:
        self.peers = peers
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self.cursor = 0
        self._watchers: set[Watcher] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def watchers(self) -> int:
        return len(self._watchers)

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

    def _run(self) -> None:
        started = False
        while not self._stop.is_set():
            try:
                if not started:
                    self.cursor = self.peers.metadata.call(
                        "ListEvents", metadata_pb2.ListEventsRequest(limit=1), timeout=5
                    ).latest_sequence
                    started = True
                    self._ready.set()
                events = self._read()
                if events and self._loop is not None:
                    self._loop.call_soon_threadsafe(self._dispatch, events)
            except RegistryError as error:
                logger.warning("event hub cannot read the outbox: %s", error.message)
            except RuntimeError:  # the loop closed while stopping
                return
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

    # -- event loop ----------------------------------------------------------------
    def _dispatch(self, events: list[resources_pb2.Event]) -> None:
        for watcher in list(self._watchers):
            for event in events:
                if watcher.overflowed or not watcher.admits(event):
                    continue
                if watcher.queue.qsize() >= self.queue_size:
                    watcher.overflowed = True
                    watcher.queue = asyncio.Queue()  # free what it never read
                    watcher.queue.put_nowait(_CLOSED)
                    # It may be blocked sending (flow control), so end the call from here.
                    watcher.drop_task = asyncio.ensure_future(self._drop(watcher))
                    break
                watcher.queue.put_nowait(event)

    def _dropped_message(self, watcher: Watcher) -> str:
        return (
            f"this watcher fell {self.queue_size} events behind and was dropped; read "
            f"faster and resume with after_sequence={watcher.cursor}"
        )

    async def _drop(self, watcher: Watcher) -> None:
        with contextlib.suppress(Exception):  # AbortError is how abort returns
            await watcher.context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, self._dropped_message(watcher)
            )

    def close(self) -> None:
        """End every watcher with UNAVAILABLE (thread-safe); new watchers are refused."""
        self._closing = True
        if self._loop is None:
            return

        def end_all() -> None:
            for watcher in self._watchers:
                watcher.queue.put_nowait(_CLOSED)

        with contextlib.suppress(RuntimeError, TimeoutError):
            asyncio.run_coroutine_threadsafe(_call(end_all), self._loop).result(timeout=5)

    async def _catch_up(
        self, watcher: Watcher, request: registry_pb2.WatchEventsRequest
    ) -> AsyncIterator[resources_pb2.Event]:
        loop = asyncio.get_running_loop()
        first = True
        while True:
            page = await loop.run_in_executor(
                None,
                lambda: self.peers.metadata.call(
                    "ListEvents",
                    metadata_pb2.ListEventsRequest(
                        after_sequence=watcher.cursor,
                        limit=PAGE,
                        types=request.types,
                        model=request.model,
                    ),
                ),
            )
            if first and watcher.cursor > page.latest_sequence:
                raise OutOfRange(
                    f"after_sequence {watcher.cursor} is beyond the newest event "
                    f"({page.latest_sequence}); resume from a sequence this registry gave you",
                    metadata={"latest_sequence": str(page.latest_sequence)},
                )
            first = False
            for event in page.events:
                if watcher.admits(event):
                    yield event
                    # Resumed: the consumer took it (a drop names the last event it took).
                    watcher.cursor = max(watcher.cursor, event.sequence)
            watcher.cursor = max(watcher.cursor, page.next_after_sequence)
            if len(page.events) < PAGE:
                # Everything up to the newest event was read; the hub sends what follows.
                watcher.cursor = max(watcher.cursor, page.latest_sequence)
                if watcher.cursor >= self.cursor:
                    return

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
        try:
            async for event in self._catch_up(watcher, request):
                yield registry_pb2.WatchEventsResponse(event=event)
            if request.stop_when_caught_up:
                return
            while True:
                event = await watcher.queue.get()
                if event is _CLOSED:
                    if watcher.overflowed:
                        raise AbortLater(
                            grpc.StatusCode.RESOURCE_EXHAUSTED, self._dropped_message(watcher)
                        ).record(context)
                    raise _unavailable(watcher.cursor)
                if event.sequence <= watcher.cursor:
                    continue
                yield registry_pb2.WatchEventsResponse(event=event)
                watcher.cursor = event.sequence
        finally:
            self._watchers.discard(watcher)


def _unavailable(cursor: int, why: str = "is shutting down") -> RegistryError:
    return Unavailable(
        f"this gateway {why}; reconnect to any gateway and resume with after_sequence={cursor}",
        metadata={"after_sequence": str(cursor)},
    )


async def _call(function: Callable[[], None]) -> None:
    function()
