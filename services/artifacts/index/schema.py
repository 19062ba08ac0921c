"""SQLAlchemy 2 models of the artifact index (the tables the migrations create)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Double, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Holders compare byte by byte, so a model prefix is one range of the index.
HOLDER = String(512).with_variant(String(512, collation="C"), "postgresql")


class Base(DeclarativeBase):
    """Base of the index's models."""


class PinRow(Base):
    """A holder's pin on a blob (migration ``0001_pins``)."""

    __tablename__ = "pins"
    __table_args__ = (Index("ix_pins_holder", "holder", "blob_hash"),)

    blob_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(HOLDER, primary_key=True)
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PinCountRow(Base):
    """How many holders pin a blob, kept with every pin and unpin (migration ``0001_pins``)."""

    __tablename__ = "pin_counts"

    blob_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    pin_count: Mapped[int] = mapped_column(BigInteger)


class IndexIdentityRow(Base):
    """The index's id (one row, ``name = 'self'``), also kept in the backend it serves."""

    __tablename__ = "index_identity"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    index_id: Mapped[str] = mapped_column(String(64))


class ChunkRow(Base):
    """A chunk the store holds, its size at rest and its last use, epoch seconds
    (migration ``0002_chunks``)."""

    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_last_used", "last_used"),)

    chunk_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    stored_size: Mapped[int] = mapped_column(BigInteger)
    last_used: Mapped[float] = mapped_column(Double)


class IndexMarkRow(Base):
    """One-time work done on the index, and when (migration ``0002_chunks``)."""

    __tablename__ = "index_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    done: Mapped[float] = mapped_column(Double)
