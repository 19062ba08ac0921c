"""SQL databases of the registry's services: engines and Alembic schema migrations.

The metadata service and the artifact service's index each own a database (PostgreSQL in
production, SQLite embedded). Both make their engines here, so SQLite gets the same pragmas
everywhere (WAL, foreign keys, busy timeout, ``BEGIN`` emitted by us so that write
transactions can be ``BEGIN IMMEDIATE``), and both migrate through :class:`SchemaMigrations`:
one folder of Alembic revisions each, a version table each (so the two could even share one
database), an upgrade that holds a lock so instances starting together migrate once, and a
check that refuses an out-of-date schema naming the command that fixes it.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event, pool, text

logger = logging.getLogger(__name__)

_SQLITE_BUSY_MS = 30_000


def make_engine(url: str, *, pool_size: int = 16) -> Engine:
    """An engine for ``url`` with the per-backend settings the services rely on.

    On SQLite, ``engine.execution_options(sqlite_begin="IMMEDIATE")`` makes a write engine.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # No pre-ping: it costs a round trip per checkout. A connection broken by a database
    # restart fails one request with UNAVAILABLE, which clients retry; SQLAlchemy then
    # drops the pool's stale connections.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


class SchemaOutOfDate(RuntimeError):
    """The database schema is not at the revision this code needs."""


@dataclass(frozen=True)
class SchemaMigrations:
    """One service's Alembic migrations: ``location`` holds ``env.py`` and ``versions/``.

    ``name`` names the database in messages ("metadata"), ``command`` is what migrates it,
    ``setting`` the environment variable naming it, ``hint`` a last word for the message.
    """

    location: Path
    name: str
    command: str
    setting: str
    version_table: str = "alembic_version"
    hint: str = ""

    def config(self, database_url: str) -> Config:
        """The Alembic configuration for ``database_url``."""
        config = Config()
        config.set_main_option("script_location", str(self.location))
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
        config.set_main_option("version_table", self.version_table)
        return config

    def head(self) -> str:
        """The newest revision."""
        head = ScriptDirectory.from_config(self.config("sqlite://")).get_current_head()
        assert head is not None
        return head

    def current(self, database_url: str) -> str | None:
        """The revision the database is at; None for an empty (or absent SQLite) database."""
        if (
            database_url.startswith("sqlite:///")
            and not Path(database_url.removeprefix("sqlite:///")).exists()
        ):
            return None
        engine = create_engine(database_url, poolclass=pool.NullPool)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(
                    conn, opts={"version_table": self.version_table}
                )
                return context.get_current_revision()
        finally:
            engine.dispose()

    def upgrade(self, database_url: str) -> None:
        """Upgrade the schema to the newest revision (creating it in an empty database).

        The whole upgrade is one transaction that first takes a lock (an advisory lock on
        PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so instances that start together
        migrate one after the other and the later ones find nothing left to do.
        """
        if database_url.startswith("sqlite:///"):
            Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(database_url, pool_size=1)
        if engine.dialect.name == "sqlite":
            engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    key = zlib.crc32(self.version_table.encode())
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
                config = self.config(database_url)
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        finally:
            engine.dispose()
        logger.info("%s schema at revision %s", self.name, self.head())

    def check(self, database_url: str) -> None:
        """Raise :class:`SchemaOutOfDate`, naming the command that fixes it, unless current."""
        current, head = self.current(database_url), self.head()
        if current != head:
            hint = f" ({self.hint})" if self.hint else ""
            raise SchemaOutOfDate(
                f"the {self.name} database is at schema revision {current or '(empty)'} but "
                f"this server needs {head}: run `{self.command}` with {self.setting} set to "
                f"the same database{hint}"
            )


def table_of(row: type[Any]) -> Table:
    """The ``Table`` of a mapped class, for Core statements (declarative classes type their
    ``__table__`` as any ``FromClause``)."""
    table = row.__table__
    assert isinstance(table, Table), f"{row.__name__} is not mapped to a table"
    return table
