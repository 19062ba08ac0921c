"""Pins in the index: ``pins(blob_hash, holder, create_time)``, primary key (blob, holder).

Each question is one indexed statement, whatever the number of holders: pinning is an
insert that ignores a present row, unpinning a delete, each in one transaction with the
blob's row of ``pin_counts`` (so a count is one row; a prefix-limited count is a range of
the primary key), a page of holders is a keyset range (``holder > after``, ordered,
limited), and "does a version within model prefix P pin one of these blobs" is a range of
the primary key per blob, ``holder >= 'models/P' AND holder < upper(P)``: holders compare
byte by byte (see :mod:`.schema`), so that range is exactly the holders that start with
``models/P`` (no LIKE, so no pattern characters to escape, and no case folding, which
SQLite's LIKE does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from services.artifacts.index.database import IndexDatabase
from services.artifacts.index.schema import PinCountRow, PinRow
from services.common.database import table_of

PINS = table_of(PinRow)
COUNTS = table_of(PinCountRow)
#: Most holders an answer lists (``BlobInfo.pins``, a scrub report's ``pinned_by``); the
#: count says how many there are, ``ListBlobPins`` pages through them all.
PINS_LISTED = 100
HOLDER_PREFIX = "models/"


def prefix_range(model_prefix: str) -> tuple[str, str] | None:
    """The ``[low, high)`` range of the holders that are versions of models whose names
    start with ``model_prefix``; None when no holder can be (a prefix with ``/``: model
    names have none, so the rule of :func:`services.artifacts.visibility.holder_in_prefix`
    matches nothing)."""
    if "/" in model_prefix:
        return None
    low = HOLDER_PREFIX + model_prefix
    return low, low[:-1] + chr(ord(low[-1]) + 1)


def _within(model_prefix: str) -> ColumnElement[bool]:
    if not model_prefix:
        return true()
    bounds = prefix_range(model_prefix)
    if bounds is None:
        return literal(False)
    return and_(PINS.c.holder >= bounds[0], PINS.c.holder < bounds[1])


class PinIndex:
    """Pins of blobs by holders, in the index database."""

    def __init__(self, db: IndexDatabase) -> None:
        self.db = db
        self._dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite

    def add(self, pins: Iterable[tuple[str, str]]) -> None:
        """Record each ``(blob, holder)`` pin (idempotent), in one transaction."""
        rows = [{"blob_hash": sha, "holder": h, "create_time": _now()} for sha, h in pins]
        if not rows:
            return
        insert = (
            self._dialect.insert(PINS)
            .on_conflict_do_nothing(index_elements=["blob_hash", "holder"])
            .returning(PINS.c.blob_hash)
        )
        with self.db.write() as conn:
            added = Counter(conn.execute(insert, rows).scalars())
            self._bump(conn, added)

    def _bump(self, conn: Connection, by: Counter[str]) -> None:
        """Add ``by[sha]`` to each blob's count (in sorted order: no lock cycles)."""
        if not by:
            return
        stmt = self._dialect.insert(COUNTS)
        stmt = stmt.on_conflict_do_update(
            index_elements=["blob_hash"],
            set_={"pin_count": COUNTS.c.pin_count + stmt.excluded.pin_count},
        )
        conn.execute(stmt, [{"blob_hash": sha, "pin_count": by[sha]} for sha in sorted(by)])

    def remove(self, sha: str, holder: str) -> bool:
        """Remove a pin; ``True`` when it existed."""
        stmt = delete(PINS).where(PINS.c.blob_hash == sha, PINS.c.holder == holder)
        with self.db.write() as conn:
            if conn.execute(stmt).rowcount == 0:
                return False
            conn.execute(
                update(COUNTS)
                .where(COUNTS.c.blob_hash == sha)
                .values(pin_count=COUNTS.c.pin_count - 1)
            )
            conn.execute(delete(COUNTS).where(COUNTS.c.blob_hash == sha, COUNTS.c.pin_count <= 0))
            return True

    def count(self, sha: str, model_prefix: str = "") -> int:
        """How many holders pin ``sha`` (only versions within ``model_prefix``, if given)."""
        with self.db.read() as conn:
            return self._count(conn, sha, model_prefix)

    @staticmethod
    def _count(conn: Connection, sha: str, model_prefix: str) -> int:
        if model_prefix:
            stmt = select(func.count()).where(PINS.c.blob_hash == sha, _within(model_prefix))
            return int(conn.execute(stmt).scalar_one())
        stored = select(COUNTS.c.pin_count).where(COUNTS.c.blob_hash == sha)
        return int(conn.execute(stored).scalar_one_or_none() or 0)

    def holders(
        self, sha: str, *, limit: int, after: str = "", model_prefix: str = ""
    ) -> list[str]:
        """At most ``limit`` holders of ``sha`` after ``after``, in byte order."""
        stmt = (
            select(PINS.c.holder)
            .where(PINS.c.blob_hash == sha, PINS.c.holder > after, _within(model_prefix))
            .order_by(PINS.c.holder)
            .limit(limit)
        )
        with self.db.read() as conn:
            return list(conn.execute(stmt).scalars())

    def view(self, sha: str, *, limit: int, model_prefix: str = "") -> tuple[list[str], int]:
        """The first ``limit`` holders of ``sha`` and how many there are, on one connection."""
        first = (
            select(PINS.c.holder)
            .where(PINS.c.blob_hash == sha, _within(model_prefix))
            .order_by(PINS.c.holder)
            .limit(limit)
        )
        with self.db.read() as conn:
            holders = list(conn.execute(first).scalars())
            if len(holders) < limit:
                return holders, len(holders)
            return holders, self._count(conn, sha, model_prefix)

    def any_within(self, shas: list[str], model_prefix: str) -> bool:
        """Whether a version within ``model_prefix`` pins any of ``shas``."""
        if not shas:
            return False
        stmt = (
            select(PINS.c.blob_hash)
            .where(PINS.c.blob_hash.in_(shas), _within(model_prefix))
            .limit(1)
        )
        with self.db.read() as conn:
            return conn.execute(stmt).first() is not None

    def pinned(self, shas: Iterable[str] | None = None) -> set[str]:
        """The blobs with at least one pin (of ``shas``, or all of them)."""
        stmt = select(PINS.c.blob_hash).distinct()
        if shas is not None:
            stmt = stmt.where(PINS.c.blob_hash.in_(list(shas)))
        with self.db.read() as conn:
            return set(conn.execute(stmt).scalars())


def _now() -> datetime:
    return datetime.now(UTC)
