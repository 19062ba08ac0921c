"""Engines, managed transactions and the few places where PostgreSQL and SQLite differ.

One managed transaction per use case: :meth:`Database.write` commits on success and rolls
back on any exception. On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so two
writers never both read and then fail to upgrade their lock; reads use a plain ``BEGIN``.
Foreign keys are switched on and the journal is WAL, with a busy timeout, so threads of
one process and several processes can share the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from services.common.database import make_engine, table_of
from services.common.errors import RegistryError, Unavailable, add_translator
from services.metadata.store.schema import CounterRow, SecretRow

logger = logging.getLogger(__name__)

_COUNTERS = table_of(CounterRow)
_BUMP = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + bindparam("by"))
    .returning(_COUNTERS.c.value)
)


def _database_unavailable(error: BaseException) -> RegistryError | None:
    """A lost or refused database connection is UNAVAILABLE: retrying (with the same
    request id) is safe, and the pool reconnects. Other database errors stay INTERNAL."""
    assert isinstance(error, DBAPIError)
    if error.connection_invalidated or isinstance(error, OperationalError):
        return Unavailable(
            "the metadata database is unavailable (connection lost or refused); retry",
            reason="DATABASE_UNAVAILABLE",
        )
    return None


add_translator(DBAPIError, _database_unavailable)

#: One transaction, as :meth:`Database.write` and :meth:`Database.read` hand it out. The use
#: cases treat it as opaque: they only pass it to the functions of ``store/``.
Tx: TypeAlias = Session


class Conflict(Exception):
    """A write broke a unique key or a foreign key: a concurrent duplicate (the same request
    id, the same version number) or a row deleted meanwhile. The transaction is rolled back;
    the use case decides whether to retry it."""


class Database:
    """An engine and managed transactions over it."""

    def __init__(self, url: str, *, pool_size: int = 16) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        # PostgreSQL reads run in autocommit: no BEGIN/ROLLBACK round trips around them.
        self._read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction: committed on success, rolled back on error; a broken unique
        or foreign key, in the block or at commit, raises :class:`Conflict`."""
        try:
            with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
                yield session
        except IntegrityError as error:
            raise Conflict(str(error)) from error

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A session for reads; the transaction ends (rolls back) when the block ends."""
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain connection for single-statement Core reads (the hottest paths)."""
        with self._read_engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def insert_ignore(session: Session, table: Any, values: dict[str, Any], keys: list[str]) -> None:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` on either backend."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    session.execute(stmt)


def bump_counter(session: Session, name: str, by: int = 1) -> int:
    """Add ``by`` to a counter and return its new value, holding its row lock until commit.

    The row lock is the serialization point: the ``events`` counter hands out outbox
    sequences in commit order, because a second transaction cannot take the next value
    before the first one, which holds the lock, has committed or rolled back.
    """
    return int(session.connection().execute(_BUMP, {"counter": name, "by": by}).scalar_one())


def secret(session: Session, name: str) -> str:
    """A secret the migrations created (the page-token signing key), hex-encoded."""
    return session.execute(select(SecretRow.value).where(SecretRow.name == name)).scalar_one()
