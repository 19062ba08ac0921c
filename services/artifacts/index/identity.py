"""Binding a store to its index, so pins are never looked for in the wrong database.

Pins live only in the index. A store opened with another index (a different
``MREG_ARTIFACTS_DATABASE_URL``, or the SQLite default under another ``MREG_DATA_DIR``) would
see no pins, and its garbage collection would remove every pinned blob. So the index keeps
an id (``index_identity``) and the backend the same id (``index/identity.json``); the first
start writes both (a store from before the index, or a new one), every later start checks
them and refuses a mismatch (:class:`IndexMismatch`), naming the setting that fixes it.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.engine import make_url

from services.artifacts.backends.base import Backend, ObjectNotFound
from services.artifacts.index.database import IndexDatabase
from services.artifacts.index.schema import IndexIdentityRow
from services.common.database import table_of

MARKER_KEY = "index/identity.json"
IDENTITY = table_of(IndexIdentityRow)


class IndexMismatch(RuntimeError):
    """The store was bound to another index than the one configured."""


def _index_id(db: IndexDatabase) -> str | None:
    with db.read() as conn:
        return conn.execute(
            select(IDENTITY.c.index_id).where(IDENTITY.c.name == "self")
        ).scalar_one_or_none()


def _claim(db: IndexDatabase) -> str:
    """This index's id, created if it has none (the first of racing instances wins)."""
    dialect = db.engine.dialect.name
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with db.write() as conn:
        conn.execute(
            insert(IDENTITY)
            .values(name="self", index_id=uuid.uuid4().hex)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    claimed = _index_id(db)
    assert claimed is not None
    return claimed


def bind(backend: Backend, db: IndexDatabase) -> str:
    """Check (or, the first time, record) that ``backend``'s index is ``db``; its id."""
    try:
        marker: str | None = json.loads(backend.get(MARKER_KEY))["index_id"]
    except ObjectNotFound:
        marker = None
    mine = _index_id(db)
    if marker is not None and marker != mine:
        where = make_url(db.url).render_as_string(hide_password=True)
        raise IndexMismatch(
            f"the artifact store was last served with artifact index {marker}, but {where} "
            f"is {'index ' + mine if mine else 'a new, empty index'}: the store's pins are in "
            "the other one, and serving or collecting garbage with this one would lose them; "
            "set MREG_ARTIFACTS_DATABASE_URL (or, for the SQLite default, MREG_DATA_DIR) to "
            "the store's index"
        )
    if marker is None:
        mine = _claim(db)
        backend.put(MARKER_KEY, [json.dumps({"index_id": mine}).encode()])
    assert mine is not None
    return mine
