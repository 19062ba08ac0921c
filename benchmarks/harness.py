"""Small helpers shared by every benchmark: timing, summaries, throughput, CPU and memory.

Benchmarks print exactly one JSON document to stdout (:func:`emit`); everything else goes
through :mod:`logging` to stderr, so the output can be piped straight into ``jq`` or a file.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import psutil

logger = logging.getLogger(__name__)

MB = 1_000_000
"""Bytes in a megabyte as used for every MB/s figure (SI, not MiB)."""


def emit(result: dict[str, Any]) -> None:
    """Print one benchmark result to stdout as an indented JSON document with sorted keys."""
    print(json.dumps(result, indent=2, sort_keys=True), flush=True)


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; wall seconds of each run."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: Sequence[float]) -> dict[str, float | int]:
    """Minimum, median, maximum and count of a non-empty list of samples."""
    if not samples:
        raise ValueError("summary of no samples")
    return {
        "min": min(samples),
        "median": statistics.median(samples),
        "max": max(samples),
        "n": len(samples),
    }


def mb_per_s(nbytes: int, seconds: float) -> float:
    """Throughput in MB/s (10^6 bytes per second); infinite when ``seconds`` is not positive."""
    if seconds <= 0:
        return float("inf")
    return nbytes / MB / seconds


def cpu_seconds() -> float:
    """User plus system CPU seconds consumed so far by this process (all threads)."""
    try:
        import resource  # Unix only; microsecond resolution, unlike os.times() ticks.
    except ImportError:  # pragma: no cover - Windows
        times = os.times()
        return times.user + times.system
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size in bytes of ``pid`` (this process by default)."""
    return int(psutil.Process(pid).memory_info().rss)


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, Any]:
    """Versions and machine facts worth recording next to every figure."""
    import grpc  # Imported here so the harness stays usable without grpc installed.

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "grpcio": grpc.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


class PeakRss:
    """Samples the RSS of a process in a background thread while the ``with`` block runs.

    After the block, ``start_bytes``, ``peak_bytes``, ``end_bytes`` and ``growth_bytes``
    (peak minus start) are set. Sampling is periodic, so a spike shorter than ``interval``
    can be missed; the figure is a lower bound on the true peak.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.005) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.interval = interval
        self.start_bytes = 0
        self.peak_bytes = 0
        self.end_bytes = 0
        self._process = psutil.Process(self.pid)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def growth_bytes(self) -> int:
        """How far the RSS rose above its value at the start of the block."""
        return max(0, self.peak_bytes - self.start_bytes)

    def _sample(self) -> int | None:
        try:
            rss = int(self._process.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        self.peak_bytes = max(self.peak_bytes, rss)
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self._sample() is None:
                logger.debug("process %d gone; RSS sampling stops", self.pid)
                return

    def __enter__(self) -> PeakRss:
        self.start_bytes = self._sample() or 0
        self.peak_bytes = self.start_bytes
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.end_bytes = self._sample() or self.end_bytes

    def as_dict(self) -> dict[str, int]:
        """The figures as a JSON-ready dict."""
        return {
            "start_bytes": self.start_bytes,
            "peak_bytes": self.peak_bytes,
            "end_bytes": self.end_bytes,
            "growth_bytes": self.growth_bytes,
        }
