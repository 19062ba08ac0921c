"""Remembers the digests of files already hashed, so pushing unchanged files skips hashing.

A file is known by its absolute path, size, modification time (ns) and inode; any change
to those means it is hashed again, and so does asking for chunk ids of another algorithm
(BLAKE3 ids carry a ``b3:`` tag, SHA-256 ids none, so entries of either kind stay apart).
The cache is a small SQLite file under ``$MREG_CACHE_DIR`` (default ``~/.cache/mreg``);
losing it only costs time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

from mreg.chunkids import SHA256, algorithm_of
from mreg.chunking import ChunkRef


def default_cache_path() -> Path:
    """``$MREG_CACHE_DIR/hashes.sqlite``, or ``~/.cache/mreg/hashes.sqlite``."""
    base = os.environ.get("MREG_CACHE_DIR") or Path.home() / ".cache" / "mreg"
    return Path(base) / "hashes.sqlite"


class HashCache:
    """(path, size, mtime, inode) -> (SHA-256 of the file, its chunks)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, inode INTEGER, sha256 TEXT, chunks TEXT)"
        )

    @staticmethod
    def _key(stat: os.stat_result) -> tuple[int, int, int]:
        return stat.st_size, stat.st_mtime_ns, stat.st_ino

    def get(
        self, path: Path, stat: os.stat_result, algorithm: str = SHA256
    ) -> tuple[str, list[ChunkRef]] | None:
        """The remembered digests of ``path`` if it has not changed since and its chunks were
        named by ``algorithm`` (ids of another algorithm do not count), else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns, inode, sha256, chunks FROM files WHERE path = ?",
                (str(path),),
            ).fetchone()
        if row is None or tuple(row[:3]) != self._key(stat):
            return None
        chunks = [ChunkRef(*c) for c in json.loads(row[4])]
        if any(algorithm_of(c.sha256) != algorithm for c in chunks):
            return None
        return row[3], chunks

    def put(self, path: Path, stat: os.stat_result, sha256: str, chunks: list[ChunkRef]) -> None:
        """Remember the digests of ``path`` as it is now."""
        encoded = json.dumps([(c.offset, c.length, c.sha256) for c in chunks])
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (str(path), *self._key(stat), sha256, encoded),
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()
