"""The small storage interface every backend implements.

Keys are ``/``-separated relative names (``chunks/ab/ab12...``). Writes are atomic: a reader
sees either no object or the whole object, never a partial one, even after a crash. Objects are
immutable once written except that writing the same key again replaces it atomically (the
service only does so with identical content or for its own small state objects).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

Data = bytes | memoryview


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object: its key, size at rest in bytes and last-modified time (Unix seconds)."""

    key: str
    size: int
    mtime: float


class ObjectNotFound(KeyError):
    """No object is stored under the key."""


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

    def find_missing(self, keys: Sequence[str]) -> list[str]:
        """The keys with no object, in the given order."""
        return [key for key, info in zip(keys, self.stat(keys), strict=True) if info is None]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads."""
