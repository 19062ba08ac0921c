"""A Ctrl-C ends a long wait at once, even when it lands where Python would swallow it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from mreg.interrupt import catch_sigint, check, until_interrupted


class _SlowFinalizer:
    """Like a gRPC call object, whose finalizer cancels the call: work in ``__del__``.

    A ``KeyboardInterrupt`` raised while it runs is printed as "Exception ignored" and lost.
    """

    def __del__(self) -> None:
        time.sleep(0.05)


def _busy_in_finalizers(seconds: float, poll: bool = False) -> Iterator[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _SlowFinalizer()  # collected at once: the finalizer runs on this thread
        if poll:
            check()
    yield "after the wait"


def _interrupt_in(seconds: float) -> None:
    threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT)).start()


#: The swallowed KeyboardInterrupt is reported by pytest as unraisable: that is the point.
LOST = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@LOST
def test_a_ctrl_c_lost_in_a_finalizer_is_raised_again_by_the_next_check() -> None:
    before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    with catch_sigint(), pytest.raises(KeyboardInterrupt):
        _interrupt_in(0.3)
        list(_busy_in_finalizers(3.0, poll=True))
    assert time.monotonic() - started < 1.5
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with catch_sigint():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


@LOST
def test_a_stream_on_its_own_thread_leaves_the_ctrl_c_to_the_waiting_thread() -> None:
    started = time.monotonic()
    with catch_sigint(), pytest.raises(KeyboardInterrupt):
        _interrupt_in(0.3)
        list(until_interrupted(_busy_in_finalizers(3.0)))
    assert time.monotonic() - started < 1.5


def test_items_and_errors_arrive_in_order() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("the stream broke")

    seen: list[int] = []
    with pytest.raises(ValueError, match="the stream broke"):
        for item in until_interrupted(produce()):
            seen.append(item)
    assert seen == [1, 2]
    assert list(until_interrupted(iter(range(200)))) == list(range(200))
