"""Governance: promotion requests with their approvals, and deployments.

``promotions`` holds requests to move a version to a stage; a partial unique index keeps
at most one open (pending_approval or approved) promotion per model and target stage.
``promotion_approvals`` holds one decision per principal and promotion (unique key).
``deployments`` holds the version each model runs in each environment (unique key).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
OPEN = sa.text("state IN ('pending_approval', 'approved')")


def upgrade() -> None:
    """Create promotions, promotion_approvals and deployments."""
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("target_stage", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("required_approvals", sa.Integer, nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.Column("create_time", TIME, nullable=False),
        sa.Column("update_time", TIME, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_index("ix_promotions_model", "promotions", ["model_id", "id"])
    op.create_index("ix_promotions_version_id", "promotions", ["version_id"])
    op.create_index(
        "uq_promotions_one_open",
        "promotions",
        ["model_id", "target_stage"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_table(
        "promotion_approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "promotion_id",
            sa.Integer,
            sa.ForeignKey("promotions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.UniqueConstraint("promotion_id", "principal", name="uq_promotion_approvals_principal"),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("health", sa.Text, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("reported_by", sa.String(256), nullable=False),
        sa.Column("update_time", TIME, nullable=False),
        sa.UniqueConstraint("model_id", "environment", name="uq_deployments_model_environment"),
    )
    op.create_index("ix_deployments_version_id", "deployments", ["version_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("deployments")
    op.drop_table("promotion_approvals")
    op.drop_table("promotions")
