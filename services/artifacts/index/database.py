"""The index database: its schema migrations, engine and transactions.

Every statement runs in :meth:`IndexDatabase.write` or :meth:`IndexDatabase.read`; a lost or
refused connection there becomes UNAVAILABLE (``INDEX_UNAVAILABLE``), and a write
transaction that fails is rolled back whole, so nothing is half-written. The service
migrates the index when it starts (:func:`open_index`); ``python -m services.artifacts
migrate`` does the same on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from services.common.database import SchemaMigrations, make_engine
from services.common.errors import Unavailable

logger = logging.getLogger(__name__)

SCHEMA = SchemaMigrations(
    Path(__file__).resolve().parent.parent / "migrations",
    name="artifact index",
    command="python -m services.artifacts migrate",
    setting="MREG_ARTIFACTS_DATABASE_URL",
    version_table="artifacts_alembic_version",
    hint="the artifact service also migrates it when it starts",
)


def unavailable() -> Unavailable:
    """The UNAVAILABLE answered while the index cannot be reached (the cause is logged)."""
    return Unavailable(
        "the artifact index database is unavailable (connection lost or refused); retry",
        reason="INDEX_UNAVAILABLE",
    )


class IndexDatabase:
    """An engine over the index and managed transactions on it."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        self._read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a transaction: committed on success, rolled back on error."""
        try:
            with self._write_engine.begin() as conn:
                yield conn
        except DBAPIError as error:
            raise self._translate(error) from error

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (autocommit on PostgreSQL: no BEGIN round trips)."""
        try:
            with self._read_engine.connect() as conn:
                yield conn
        except DBAPIError as error:
            raise self._translate(error) from error

    @staticmethod
    def _translate(error: DBAPIError) -> Exception:
        if error.connection_invalidated or isinstance(error, OperationalError):
            logger.warning("artifact index unavailable: %s", error.orig or error)
            return unavailable()
        return error

    def problem(self) -> str:
        """``""`` when the index answers a query, else what failed (for health)."""
        try:
            with self.read() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as error:
            return f"artifact index: {error}"
        return ""

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def open_index(url: str) -> IndexDatabase:
    """The index at ``url``, migrated to the newest schema first."""
    SCHEMA.upgrade(url)
    return IndexDatabase(url)
