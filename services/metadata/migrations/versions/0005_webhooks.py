"""Webhooks and their deliveries.

``webhooks`` holds the subscriptions (URL, filters, signing secret). ``webhook_deliveries``
holds one row per event and matching webhook, written in the event's own transaction (so
creation is exactly once and in commit order), keyed by (webhook, outbox sequence), with
its state (pending, delivered, parked), attempts, when the next one is due and the lease of
the worker sending it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create webhooks and webhook_deliveries."""
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.String(2048), nullable=False),
        sa.Column("model_prefix", sa.String(128), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("create_time", TIME, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column(
            "webhook_id",
            sa.String(32),
            sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("create_time", TIME, nullable=False),
        sa.Column("deliver_time", TIME, nullable=True),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_state", "webhook_deliveries", ["webhook_id", "status", "sequence"]
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
