"""The small storage interface every backend implements.

Keys are ``/``-separated relative names (``chunks/ab/ab12...``). Writes are atomic: a reader
sees either no object or the whole object, never a partial one, even after a crash. Objects are
immutable once written except that writing the same key again replaces it atomically (the
service only does so with identical content or for its own small state objects).
"""

from __future__ import annotations

import abc
import builtins
import errno
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from services.common.errors import ResourceExhausted, Unavailable, add_translator

Data = bytes | memoryview

#: The ``errno`` values that mean the storage has no room: the disk is full or a quota is hit.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
NO_SPACE_MESSAGE = "no space left in the storage backend"


class StorageFull(ResourceExhausted):
    """The backend refused a write for lack of space (disk full, quota reached).

    Nothing half-written is visible: a backend writes an object whole or not at all.
    """

    default_reason = "STORAGE_FULL"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            f"{NO_SPACE_MESSAGE}; retry once space is freed (an upload resumes from its "
            "committed offset)",
            metadata={"detail": detail} if detail else None,
        )


def storage_full(error: BaseException) -> StorageFull | None:
    """The :class:`StorageFull` an ``OSError`` stands for (ENOSPC, EDQUOT), else None."""
    if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
        return StorageFull(errno.errorcode.get(error.errno or 0, ""))
    return None


# A stray ENOSPC from any file write of the service answers RESOURCE_EXHAUSTED too.
add_translator(OSError, storage_full)


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object: its key, size at rest in bytes and last-modified time (Unix seconds)."""

    key: str
    size: int
    mtime: float


class ObjectNotFound(KeyError):
    """No object is stored under the key."""


UNREACHABLE_MESSAGE = "storage backend unreachable"


class BackendUnavailable(Unavailable):
    """The backend cannot be reached or refuses service for now (connection refused or timed
    out, bucket missing, a 5xx); the backend's own retries are spent. Nothing was written.
    """

    default_reason = "STORAGE_UNAVAILABLE"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"{UNREACHABLE_MESSAGE}: {detail}; retry later (an upload resumes from its "
            "committed offset)",
            metadata={"detail": detail},
        )


class Backend(abc.ABC):
    """Put, get, stat (presence), touch, delete and list objects by key."""

    @abc.abstractmethod
    def put(self, key: str, parts: Sequence[Data]) -> None:
        """Store the concatenation of ``parts`` under ``key``, atomically."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; raises :class:`ObjectNotFound`."""

    @abc.abstractmethod
    def stat(self, keys: Sequence[str]) -> list[ObjectInfo | None]:
        """For each key, its :class:`ObjectInfo`, or ``None`` when absent."""

    @abc.abstractmethod
    def touch(self, keys: Sequence[str]) -> list[bool]:
        """Set each object's modification time to now; ``False`` for keys that are absent.

        Garbage collection spares objects touched within its grace period, so a client that
        was told an object exists can still rely on it for that long.
        """

    @abc.abstractmethod
    def delete(self, keys: Iterable[str]) -> None:
        """Remove objects; absent keys are ignored."""

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (which ends with ``/``)."""

    def find_missing(self, keys: Sequence[str]) -> builtins.list[str]:  # list: the method
        """The keys with no object, in the given order."""
        return [key for key, info in zip(keys, self.stat(keys), strict=True) if info is None]

    def check_writable(self, key: str) -> None:
        """Write and delete a small object under ``key``; raises when that fails.

        The health probe calls it; a backend makes it fail fast (no long retries), so health
        follows the storage within seconds.
        """
        self.put(key, [b"probe"])
        self.delete([key])

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads."""
