"""Pins: which holder (a version's resource name) keeps which blob alive, and how many.

One row per (blob, holder), the primary key, so pinning twice is one row and the pins of a
blob are one index range; ``create_time`` for people. ``holder`` is compared byte by byte
(``COLLATE "C"`` on PostgreSQL; SQLite compares bytes anyway), so the holders within a model
prefix are one range of the primary key (``blob_hash = ? AND holder >= ? AND holder < ?``)
and of ``ix_pins_holder``. ``pin_counts`` keeps each blob's number of pins, updated in the
transaction that adds or removes one, so ``BlobInfo.pin_count`` is one row, not a count
over every holder. ``index_identity`` holds one id, also written to the backend, so a store
is never served (or garbage-collected) with an index that is not its own.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HOLDER = sa.String(512).with_variant(sa.String(512, collation="C"), "postgresql")


def upgrade() -> None:
    """Create ``pins`` with its holder index, ``pin_counts`` and ``index_identity``."""
    op.create_table(
        "pins",
        sa.Column("blob_hash", sa.String(64), nullable=False),
        sa.Column("holder", HOLDER, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blob_hash", "holder", name="pk_pins"),
    )
    op.create_index("ix_pins_holder", "pins", ["holder", "blob_hash"])
    op.create_table(
        "index_identity",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("index_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "pin_counts",
        sa.Column("blob_hash", sa.String(64), primary_key=True),
        sa.Column("pin_count", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop ``index_identity``, ``pin_counts`` and ``pins``."""
    op.drop_table("index_identity")
    op.drop_table("pin_counts")
    op.drop_index("ix_pins_holder", table_name="pins")
    op.drop_table("pins")
