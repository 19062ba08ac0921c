"""A backend that counts, times and traces every operation of the backend it wraps.

Metrics live around the storage interface rather than in the servicers (as bb-storage
decorates its blob access), so work done outside an RPC is counted too: garbage
collection, scrubs, the compactor and ``python -m services.artifacts gc``. Every
operation is a span (``backend.get``...) when tracing is on; with no tracer provider the
spans are OpenTelemetry's no-op ones.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from prometheus_client import Counter, Histogram

from services.artifacts.backends.base import Backend, Data, ObjectInfo, ObjectNotFound

OPERATIONS = Counter(
    "mreg_artifact_backend_operations_total",
    "Storage backend operations by outcome (ok, not_found, error)",
    ["backend", "operation", "outcome"],
)
SECONDS = Histogram(
    "mreg_artifact_backend_operation_seconds",
    "Time a storage backend operation took",
    ["backend", "operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BYTES = Counter(
    "mreg_artifact_backend_bytes_total",
    "Bytes written to (put) and read from (get) the storage backend",
    ["backend", "direction"],
)
KEYS = Counter(
    "mreg_artifact_backend_keys_total",
    "Keys named by batched operations (stat, touch, delete) and objects listed",
    ["backend", "operation"],
)

_tracer = trace.get_tracer(__name__)


class MeteredBackend(Backend):
    """``inner`` with metrics and spans; other attributes (a local backend's ``root``)
    are the inner backend's."""

    def __init__(self, inner: Backend, name: str) -> None:
        self.inner = inner
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    @contextmanager
    def _measured(self, operation: str, **attributes: Any) -> Iterator[None]:
        started = time.perf_counter()
        outcome = "error"
        with _tracer.start_as_current_span(
            f"backend.{operation}", attributes={"backend": self.name, **attributes}
        ):
            try:
                yield
                outcome = "ok"
            except ObjectNotFound:
                outcome = "not_found"
                raise
            except GeneratorExit:  # a listing its reader stopped early
                outcome = "ok"
                raise
            finally:
                SECONDS.labels(self.name, operation).observe(time.perf_counter() - started)
                OPERATIONS.labels(self.name, operation, outcome).inc()

    def put(self, key: str, parts: Sequence[Data]) -> None:
        size = sum(len(part) for part in parts)
        with self._measured("put", key=key, bytes=size):
            self.inner.put(key, parts)
        BYTES.labels(self.name, "put").inc(size)

    def get(self, key: str) -> bytes:
        with self._measured("get", key=key):
            data = self.inner.get(key)
        BYTES.labels(self.name, "get").inc(len(data))
        return data

    def stat(self, keys: Sequence[str]) -> list[ObjectInfo | None]:
        KEYS.labels(self.name, "stat").inc(len(keys))
        with self._measured("stat", keys=len(keys)):
            return self.inner.stat(keys)

    def touch(self, keys: Sequence[str]) -> list[bool]:
        KEYS.labels(self.name, "touch").inc(len(keys))
        with self._measured("touch", keys=len(keys)):
            return self.inner.touch(keys)

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        KEYS.labels(self.name, "delete").inc(len(keys))
        with self._measured("delete", keys=len(keys)):
            self.inner.delete(keys)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """The inner listing, timed from the first object asked for to the last."""
        listed = KEYS.labels(self.name, "list")
        with self._measured("list", prefix=prefix):
            for info in self.inner.list(prefix):
                listed.inc()
                yield info

    def find_missing(self, keys: Sequence[str]) -> builtins.list[str]:  # list: the method
        KEYS.labels(self.name, "find_missing").inc(len(keys))
        with self._measured("find_missing", keys=len(keys)):
            return self.inner.find_missing(keys)

    def check_writable(self, key: str) -> None:
        with self._measured("check_writable"):
            self.inner.check_writable(key)

    def close(self) -> None:
        self.inner.close()
