"""Request ids of evaluations, promotions and their approvals, so a retried create records
nothing twice.

``request_id`` (unique when set) and ``request_hash`` (the SHA-256 of the request's
content) on ``evaluations``, ``promotions`` and ``promotion_approvals``, as
``model_versions`` has had since 0001: a repeat with the same id and content returns the
first result; the same id with other content is refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("evaluations", "promotions", "promotion_approvals")


def upgrade() -> None:
    """Add the columns and their unique indexes."""
    for table in TABLES:
        op.add_column(table, sa.Column("request_id", sa.String(128), nullable=True))
        op.add_column(table, sa.Column("request_hash", sa.String(64), nullable=True))
        op.create_index(f"uq_{table}_request_id", table, ["request_id"], unique=True)


def downgrade() -> None:
    """Drop them."""
    for table in TABLES:
        op.drop_index(f"uq_{table}_request_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_hash")
            batch.drop_column("request_id")
