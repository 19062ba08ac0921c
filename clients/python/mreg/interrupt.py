"""Long waits that a Ctrl-C always ends.

A ``KeyboardInterrupt`` raised while Python runs a finalizer (a gRPC call object being
collected cancels itself) is printed as "Exception ignored" and lost, so a command blocked
in a transfer or a stream could miss a Ctrl-C and run on to the end. Under
:func:`catch_sigint` a Ctrl-C also sets a flag that outlives a swallowed exception; the
CLI's long waits poll :func:`check`, which raises ``KeyboardInterrupt`` again.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

#: How often a long wait looks at the flag, in seconds.
POLL_SECONDS = 0.1

_interrupted = threading.Event()


def _on_sigint(_signum: int, _frame: object) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


@contextmanager
def catch_sigint() -> Iterator[None]:
    """Within the block, a Ctrl-C raises ``KeyboardInterrupt`` and is remembered.

    A process started with SIGINT ignored (a background job of a script) keeps ignoring it.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return
    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted.clear()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came (even one whose exception was lost)."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


def until_interrupted(items: Iterable[T]) -> Iterator[T]:
    """``items``, produced on a daemon thread while this thread waits, polling :func:`check`.

    Errors raised while producing are raised here, in order after the items before them.
    """
    stop = threading.Event()
    out: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=64)

    def offer(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                out.put(entry, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((False, item)):
                    return
            offer((True, None))
        except BaseException as error:  # handed to the consumer, which raises it
            offer((True, error))

    threading.Thread(target=produce, name="stream", daemon=True).start()
    try:
        while True:
            check()
            try:
                done, value = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if done:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]  # an item of ``items``
    finally:
        stop.set()
