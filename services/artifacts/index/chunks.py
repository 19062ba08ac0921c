"""Chunks in the index: ``chunks(chunk_id, stored_size, last_used)``, one row per stored chunk.

The index, not the bucket, answers "which of these chunks are stored": ``FindMissingChunks``
is one ``UPDATE ... RETURNING`` per batch of ids (the rows found are the chunks present, and
their ``last_used`` becomes now, which is what keeps them from garbage collection), where it
used to be one request per chunk to the backend (a CopyObject onto itself on S3).

The rules that keep the index honest:

- a row is written only after its chunk's object (:meth:`ChunkIndex.record`), so a crash in
  between leaves an object without a row (found by ``python -m services.artifacts fsck``,
  then collected like any unused chunk), never a row without an object;
- a read that finds the object gone or corrupt drops the row (:meth:`ChunkIndex.forget`), so
  the next push sends the chunk again;
- garbage collection removes a row only while it is unused (:meth:`ChunkIndex.remove_unused`
  is ``DELETE ... WHERE last_used < cutoff``), so a chunk a client has just been told is
  present keeps its row, and a chunk whose row is gone reads as missing to every client.

Chunks stored before this table existed are imported once (:meth:`ChunkIndex.import_backend`)
when the service starts, with their objects' modification times as their last use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.artifacts.backends.base import Backend
from services.artifacts.index.database import IndexDatabase
from services.artifacts.index.schema import ChunkRow, IndexMarkRow
from services.artifacts.store import CHUNK_PREFIX, chunk_hash_of
from services.common.database import table_of

logger = logging.getLogger(__name__)

CHUNKS = table_of(ChunkRow)
MARKS = table_of(IndexMarkRow)
#: Ids per statement (well under SQLite's limit on bound parameters).
BATCH = 500
#: The mark of the one-time import of chunks stored before the index held them.
IMPORTED = "chunks-imported"


def _batches(items: Sequence[str], size: int = BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ChunkIndex:
    """Which chunks the store holds, their sizes at rest and their last use."""

    def __init__(self, db: IndexDatabase) -> None:
        self.db = db
        self._dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite

    def use(self, ids: Iterable[str]) -> dict[str, int]:
        """Of ``ids``, the chunks stored, each with its size at rest; their last use
        becomes now (so garbage collection spares them for its grace period)."""
        distinct = sorted(set(ids))  # one lock order for concurrent callers
        found: dict[str, int] = {}
        if not distinct:
            return found
        now = time.time()
        with self.db.write() as conn:
            for batch in _batches(distinct):
                stmt = (
                    update(CHUNKS)
                    .where(CHUNKS.c.chunk_id.in_(batch))
                    .values(last_used=now)
                    .returning(CHUNKS.c.chunk_id, CHUNKS.c.stored_size)
                )
                found.update((chunk_id, size) for chunk_id, size in conn.execute(stmt))
        return found

    def stored_size(self, chunk_id: str) -> int | None:
        """The size at rest of a stored chunk; None when the index does not hold it."""
        stmt = select(CHUNKS.c.stored_size).where(CHUNKS.c.chunk_id == chunk_id)
        with self.db.read() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    def sizes(self, ids: Iterable[str]) -> dict[str, int]:
        """Of ``ids``, the chunks stored, each with its size at rest (a read)."""
        distinct = sorted(set(ids))
        found: dict[str, int] = {}
        with self.db.read() as conn:
            for batch in _batches(distinct):
                stmt = select(CHUNKS.c.chunk_id, CHUNKS.c.stored_size).where(
                    CHUNKS.c.chunk_id.in_(batch)
                )
                found.update((chunk_id, size) for chunk_id, size in conn.execute(stmt))
        return found

    def record(self, chunks: Sequence[tuple[str, int]]) -> None:
        """Record chunks just written, as ``(id, stored_size)``; a present row takes the new
        size and last use (a chunk written again after its row was dropped)."""
        now = time.time()
        self._upsert([(chunk_id, size, now) for chunk_id, size in chunks])

    def _upsert(self, rows: Sequence[tuple[str, int, float]]) -> None:
        if not rows:
            return
        stmt = self._dialect.insert(CHUNKS)
        stmt = stmt.on_conflict_do_update(
            index_elements=["chunk_id"],
            set_={"stored_size": stmt.excluded.stored_size, "last_used": stmt.excluded.last_used},
        )
        values = [
            {"chunk_id": chunk_id, "stored_size": size, "last_used": when}
            for chunk_id, size, when in sorted(rows)
        ]
        with self.db.write() as conn:
            for start in range(0, len(values), BATCH):
                conn.execute(stmt, values[start : start + BATCH])

    def resize(self, chunk_id: str, stored_size: int) -> None:
        """A chunk was rewritten in another encoding (the compactor): its new size at rest."""
        stmt = update(CHUNKS).where(CHUNKS.c.chunk_id == chunk_id).values(stored_size=stored_size)
        with self.db.write() as conn:
            conn.execute(stmt)

    def forget(self, ids: Iterable[str]) -> None:
        """Drop the rows of chunks found gone or corrupt: they read as missing from now on."""
        distinct = sorted(set(ids))
        with self.db.write() as conn:
            for batch in _batches(distinct):
                conn.execute(delete(CHUNKS).where(CHUNKS.c.chunk_id.in_(batch)))

    def unused_since(self, cutoff: float, *, page: int = 10_000) -> Iterator[tuple[str, int]]:
        """Every chunk not used since ``cutoff``, as ``(id, stored_size)``, in id order
        (read a page at a time, so the index is never held in memory whole)."""
        after = ""
        while True:
            stmt = (
                select(CHUNKS.c.chunk_id, CHUNKS.c.stored_size)
                .where(CHUNKS.c.last_used < cutoff, CHUNKS.c.chunk_id > after)
                .order_by(CHUNKS.c.chunk_id)
                .limit(page)
            )
            with self.db.read() as conn:
                rows = [(chunk_id, size) for chunk_id, size in conn.execute(stmt)]
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1][0]

    def remove_unused(self, chunk_id: str, cutoff: float) -> bool:
        """Drop a chunk's row if it is still unused since ``cutoff``; True when dropped (the
        caller may then delete the object: no client is told it is present any more)."""
        stmt = delete(CHUNKS).where(CHUNKS.c.chunk_id == chunk_id, CHUNKS.c.last_used < cutoff)
        with self.db.write() as conn:
            return conn.execute(stmt).rowcount > 0

    def count(self) -> int:
        """How many chunks the index holds."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(CHUNKS)).scalar_one())

    def import_backend(self, backend: Backend) -> int:
        """Once per index: record every chunk object the backend holds (with its
        modification time as its last use); how many rows were added. Later calls are one
        indexed read."""
        with self.db.read() as conn:
            if conn.execute(select(MARKS.c.name).where(MARKS.c.name == IMPORTED)).first():
                return 0
        added = self.reconcile(backend).added
        stmt = self._dialect.insert(MARKS).on_conflict_do_nothing(index_elements=["name"])
        with self.db.write() as conn:
            conn.execute(stmt, [{"name": IMPORTED, "done": time.time()}])
        if added:
            logger.info("recorded %d chunk(s) stored before the index held chunks", added)
        return added

    def reconcile(self, backend: Backend) -> Reconciled:
        """Make the index agree with the backend's chunk objects: rows for objects without
        one (a crash between the object and its row), and no rows for objects gone (deleted
        behind the service's back). Rows used since the listing began are kept (a write
        under way); an object found without a row gets one with its modification time as
        its last use, so garbage collection takes it once it is old and unreferenced."""
        started = time.time()
        listed = {chunk_hash_of(info.key): info for info in backend.list(CHUNK_PREFIX)}
        known: set[str] = set()
        gone: list[str] = []
        after = ""
        while True:
            stmt = (
                select(CHUNKS.c.chunk_id, CHUNKS.c.last_used)
                .where(CHUNKS.c.chunk_id > after)
                .order_by(CHUNKS.c.chunk_id)
                .limit(10_000)
            )
            with self.db.read() as conn:
                rows = list(conn.execute(stmt))
            for chunk_id, last_used in rows:
                known.add(chunk_id)
                if chunk_id not in listed and last_used < started:
                    gone.append(chunk_id)
            if len(rows) < 10_000:
                break
            after = rows[-1][0]
        orphans = [
            (chunk_id, info.size, min(info.mtime, started))
            for chunk_id, info in listed.items()
            if chunk_id not in known
        ]
        self._upsert(orphans)
        self.forget(gone)
        return Reconciled(added=len(orphans), dropped=len(gone))


@dataclass(frozen=True)
class Reconciled:
    """What :meth:`ChunkIndex.reconcile` changed: rows added for objects, rows dropped."""

    added: int
    dropped: int
