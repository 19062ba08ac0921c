"""``modelregistry.v1.ArtifactService`` on ``grpc.aio``: streams cost no thread while idle.

Each stream is a coroutine on the server's event loop; every blocking step (hashing,
compression, backend I/O) runs on a bounded thread pool, one step at a time per stream, and
the next message is read only once the previous one is handled, so gRPC flow control holds
back a fast sender and a slow reader. An idle stream waits on the loop, holding no thread.

- Open upload and read streams are limited per principal (:mod:`services.artifacts.limits`).
- An upload stream that sends nothing for ``idle_timeout`` seconds is ended with ABORTED;
  what it sent is kept, and the upload resumes from its committed offset.
- On shutdown (:meth:`AsyncArtifactServicer.drain`, before the server stops) an upload
  stream takes the messages already on their way, stores what it received and ends with
  UNAVAILABLE naming its committed offset; new streams are refused with UNAVAILABLE.
- Unary methods are the synchronous servicer's: the aio server runs them on its own
  bounded thread pool (:mod:`services.common.aio`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from services.artifacts import metrics, uploads
from services.artifacts.limits import StreamLimiter
from services.artifacts.service import ArtifactService
from services.artifacts.servicer import (
    ArtifactServicer,
    chunks_response,
    incoming_chunk,
    upload_message,
    upload_response,
)
from services.common.auth import current_identity
from services.common.errors import Aborted, Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

IDLE_SETTING = "MREG_UPLOAD_IDLE_TIMEOUT_SECONDS"
#: Once the server stops, a stream still gets messages that arrive within this long (those
#: the client sent before the signal are already on their way); then it ends.
DRAIN_QUIET_SECONDS = 0.5


class StreamIdle(Exception):
    """The client sent nothing for the idle timeout."""


class ServerStopping(Exception):
    """The server is shutting down: the stream ends after the messages already sent."""


def stopping_error(what: str = "") -> Unavailable:
    """UNAVAILABLE for a stream the shutdown ends (``what``: how to resume) or refuses."""
    return Unavailable(
        "the artifact service is shutting down"
        + (what or "; retry on another instance or once it is back"),
        reason="SHUTTING_DOWN",
    )


async def run_blocking(executor: Executor, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on ``executor`` with this task's context variables.

    If the awaiting task is cancelled (the client went away), the step still runs to its
    end before the cancellation goes on, so a stream's steps never overlap.
    """
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(executor, contextvars.copy_context().run, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


class _Messages:
    """The requests of a client stream, converted, each awaited at most ``idle`` seconds."""

    def __init__(
        self,
        requests: AsyncIterator,
        convert: Callable[[Any], T],
        idle: float,
        stopping: asyncio.Event | None = None,
        drain_seconds: float = 5.0,
    ) -> None:
        self._requests = aiter(requests)
        self._convert = convert
        self.idle = idle
        self.stopping = stopping or asyncio.Event()
        self.drain_seconds = drain_seconds
        self._stopped_at: float | None = None

    async def next(self) -> Any:
        """The next message, or None at the end of the stream; raises :class:`StreamIdle`,
        or :class:`ServerStopping` once the server stops and no message came for
        ``DRAIN_QUIET_SECONDS`` (or ``drain_seconds`` passed since this stream saw the stop:
        a client that keeps sending cannot hold the shutdown past its grace)."""
        get = asyncio.ensure_future(anext(self._requests))
        try:
            if not self.stopping.is_set():
                stop = asyncio.ensure_future(self.stopping.wait())
                done, _ = await asyncio.wait(
                    {get, stop}, timeout=self.idle, return_when=asyncio.FIRST_COMPLETED
                )
                stop.cancel()
                if not done:
                    raise StreamIdle()
            if self.stopping.is_set():
                now = time.monotonic()
                self._stopped_at = self._stopped_at or now
                left = self._stopped_at + self.drain_seconds - now
                if left <= 0:
                    raise ServerStopping()
                if not get.done():
                    await asyncio.wait({get}, timeout=min(DRAIN_QUIET_SECONDS, left))
                    if not get.done():
                        raise ServerStopping()
            request = get.result()
        except StopAsyncIteration:
            return None
        finally:
            get.cancel()
        return self._convert(request)


def _seconds(value: float) -> str:
    return f"{value:g} s"


class AsyncArtifactServicer(ArtifactServicer):
    """The artifact service's streaming handlers as coroutines; unary ones stay sync."""

    def __init__(
        self,
        service: ArtifactService,
        executor: Executor,
        *,
        limiter: StreamLimiter,
        idle_timeout: float,
        drain_seconds: float = 5.0,
    ) -> None:
        super().__init__(service)
        self.executor = executor
        self.limiter = limiter
        self.idle_timeout = idle_timeout
        self.drain_seconds = drain_seconds
        self.stopping = asyncio.Event()
        self._uploads: set[asyncio.Task] = set()

    async def refuse_new(self) -> None:
        """From now on new streams are refused, and open uploads end once quiet (UNAVAILABLE)."""
        self.stopping.set()

    async def drain(self, timeout: float) -> None:
        """:meth:`refuse_new`; wait at most ``timeout`` seconds for open uploads to store what
        they got and end (UNAVAILABLE naming their offset)."""
        self.stopping.set()
        if self._uploads:
            await asyncio.wait(set(self._uploads), timeout=timeout)

    def _run(self, fn: Callable[..., T], *args: Any) -> Any:
        return run_blocking(self.executor, fn, *args)

    async def UploadBlob(self, request_iterator, context):
        if self.stopping.is_set():
            raise stopping_error()
        task = asyncio.current_task()
        self._uploads.add(task)
        try:
            return await self._upload_blob(request_iterator)
        finally:
            self._uploads.discard(task)

    async def _upload_blob(self, request_iterator):
        identity = current_identity()
        messages = _Messages(
            request_iterator, upload_message, self.idle_timeout, self.stopping, self.drain_seconds
        )
        with self.limiter.hold(identity.principal), metrics.UPLOADS_IN_FLIGHT.track_inprogress():
            try:
                first = await messages.next()
            except StreamIdle:
                raise self._idle("the upload stream sent no header") from None
            except ServerStopping:
                raise stopping_error() from None
            stream = await self._run(self.service.begin_upload, first, identity)
            try:
                status = await self._upload(stream, messages, identity)
            except StreamIdle:
                await self._run(stream.save_progress)
                size = stream.session.committed_size
                raise self._idle(
                    f"upload {stream.session.upload_id!r} sent nothing", offset=size
                ) from None
            except ServerStopping:
                await self._run(stream.save_progress)
                size = stream.session.committed_size
                raise Unavailable(
                    f"the artifact service is shutting down; upload "
                    f"{stream.session.upload_id!r} has its bytes up to offset {size} "
                    f"committed: resume with a header at write_offset {size} on another "
                    "instance or once it is back (QueryUpload shows it)",
                    reason="SHUTTING_DOWN",
                    metadata={"expected_offset": str(size)},
                ) from None
            except BaseException:  # an error, or the client went away (cancelled)
                await self._run(stream.save_progress)
                raise
            return upload_response(status)

    async def _upload(
        self, stream: uploads.UploadStream, messages: _Messages, identity
    ) -> uploads.UploadStatus:
        # One message is read ahead while the previous one is handled (no more: flow control
        # holds back a faster sender).
        ahead = asyncio.ensure_future(messages.next())
        try:
            while (message := await ahead) is not None:
                ahead = asyncio.ensure_future(messages.next())
                if isinstance(message, uploads.Data):
                    await self._run(stream.feed, message.data)
                elif isinstance(message, uploads.Finish):
                    if await ahead is not None:
                        raise uploads.finish_not_last()
                    status = await self._run(stream.finish, message.expected)
                    return await self._run(self.service.owned, status, identity)
                else:
                    raise uploads.header_not_first()
        finally:
            ahead.cancel()
        await self._run(stream.save_progress)  # the client half-closed without finishing
        return stream.status()

    def _idle(self, what: str, offset: int | None = None) -> Aborted:
        resume = (
            f"; its bytes up to offset {offset} are committed: resume with a header at "
            f"write_offset {offset} (QueryUpload shows it)"
            if offset is not None
            else ""
        )
        metadata = {"idle_seconds": f"{self.idle_timeout:g}", "setting": IDLE_SETTING}
        if offset is not None:
            metadata["expected_offset"] = str(offset)
        return Aborted(
            f"{what} for {_seconds(self.idle_timeout)} (the idle timeout, {IDLE_SETTING}) "
            f"and was ended{resume}",
            reason="STREAM_IDLE",
            metadata=metadata,
        )

    async def UploadChunks(self, request_iterator, context):
        if self.stopping.is_set():
            raise stopping_error()
        identity = current_identity()
        messages = _Messages(request_iterator, incoming_chunk, self.idle_timeout)
        with self.limiter.hold(identity.principal):
            upload = self.service.begin_chunk_upload(identity)
            try:
                while (chunk := await messages.next()) is not None:
                    await self._run(upload.add, chunk)
            except StreamIdle:
                await self._run(upload.finish)  # what was stored stays usable
                raise self._idle(
                    f"the chunk stream ({upload.received} chunks received and kept) sent nothing"
                ) from None
            except BaseException:
                await self._run(upload.cancel)
                raise
            return chunks_response(await self._run(upload.finish))

    async def ReadBlob(self, request, context):
        identity = current_identity()
        with self.limiter.hold(identity.principal):
            pieces = await self._run(super().ReadBlob, request, context)
            # The next piece is read while this one is sent (one ahead, no more).
            ahead = asyncio.ensure_future(self._run(next, pieces, None))
            try:
                while (piece := await ahead) is not None:
                    ahead = asyncio.ensure_future(self._run(next, pieces, None))
                    yield piece
            finally:
                if not ahead.done():
                    await asyncio.wait([ahead])
                await self._run(pieces.close)
