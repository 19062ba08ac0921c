"""Chunks: which chunks the store holds, their size at rest, and when each was last used.

One row per chunk id (``b3:`` and a BLAKE3 hex, or a SHA-256 hex), written after the chunk's
object, so a row always names an object that was written. ``FindMissingChunks`` and every
write that finds a chunk present update ``last_used`` in one statement per batch (instead of
touching each object in the backend), and garbage collection removes a row only while it is
still unused (``DELETE ... WHERE last_used < cutoff``), so a chunk a client was just told is
present is never collected. ``index_marks`` records one-time work done on the index (the
import of chunks stored before this table existed).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``chunks`` with its last-use index, and ``index_marks``."""
    op.create_table(
        "chunks",
        sa.Column("chunk_id", sa.String(80), primary_key=True),
        sa.Column("stored_size", sa.BigInteger, nullable=False),
        sa.Column("last_used", sa.Double, nullable=False),
    )
    op.create_index("ix_chunks_last_used", "chunks", ["last_used"])
    op.create_table(
        "index_marks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("done", sa.Double, nullable=False),
    )


def downgrade() -> None:
    """Drop ``index_marks`` and ``chunks``."""
    op.drop_table("index_marks")
    op.drop_index("ix_chunks_last_used", table_name="chunks")
    op.drop_table("chunks")
