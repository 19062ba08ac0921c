"""Local filesystem backend: one file per object, written to a temporary file, fsynced, renamed.

The key ``chunks/ab/ab12...`` is the file ``{root}/chunks/ab/ab12...``; the service shards its
keys by hash prefix so no directory grows huge. A crash leaves at most a ``.tmp-*`` file, which
is never listed and never read.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from services.artifacts.backends.base import (
    Backend,
    Data,
    ObjectInfo,
    ObjectNotFound,
    storage_full,
)

logger = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"


class LocalBackend(Backend):
    """Objects as files under ``root``."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid object key {key!r}")
        return self.root / key

    def put(self, key: str, parts: Sequence[Data]) -> None:
        try:
            self._put(key, parts)
        except OSError as error:
            if (full := storage_full(error)) is None:
                raise
            logger.warning("cannot write %s under %s: %s", key, self.root, error)
            raise full from None

    def _put(self, key: str, parts: Sequence[Data]) -> None:
        path = self._path(key)
        tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{uuid.uuid4().hex[:8]}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                for part in parts:
                    view = memoryview(part)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb", buffering=0) as handle:
                return handle.read()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def stat(self, keys: Sequence[str]) -> list[ObjectInfo | None]:
        out: list[ObjectInfo | None] = []
        for key in keys:
            try:
                st = os.stat(self._path(key))
            except FileNotFoundError:
                out.append(None)
                continue
            out.append(ObjectInfo(key, st.st_size, st.st_mtime))
        return out

    def touch(self, keys: Sequence[str]) -> list[bool]:
        now = time.time()
        out = []
        for key in keys:
            try:
                os.utime(self._path(key), (now, now))
                out.append(True)
            except FileNotFoundError:
                out.append(False)
        return out

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self.root / prefix
        if not base.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for name in filenames:
                if name.startswith(TMP_PREFIX):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                yield ObjectInfo(f"{rel}/{name}", st.st_size, st.st_mtime)
