"""Initial schema: models, versions, aliases, stages, evaluations, lineage, audit, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
PRODUCTION = sa.text("stage = 'production'")


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("create_time", TIME, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.Column("update_time", TIME, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    """Create every table, the counters and the page-token signing key."""
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("team", sa.String(256), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("latest_version", sa.String(128), nullable=False),
        *_audit_columns(),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("sort_key", sa.LargeBinary(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("artifact_hash", sa.String(64), nullable=False),
        sa.Column("artifact_size", sa.BigInteger, nullable=False),
        sa.Column("artifact_is_tree", sa.Boolean, nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("framework", sa.String(128), nullable=False),
        sa.Column("framework_version", sa.String(128), nullable=False),
        sa.Column("parameter_count", sa.BigInteger, nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("hyperparameters", JSON, nullable=False),
        sa.Column("input_schema", sa.Text, nullable=False),
        sa.Column("output_schema", sa.Text, nullable=False),
        sa.Column("training_dataset", sa.String(512), nullable=False),
        sa.Column("experiment_id", sa.String(256), nullable=False),
        sa.Column("run_id", sa.String(256), nullable=False),
        sa.Column("git_commit", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", JSON, nullable=False),
        *_audit_columns(),
        sa.Column("failure_reason", sa.Text, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True, unique=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
    )
    op.create_index("ix_model_versions_model_sort", "model_versions", ["model_id", "sort_key"])
    op.create_index("ix_model_versions_create_time", "model_versions", ["create_time", "id"])
    op.create_index("ix_model_versions_stage", "model_versions", ["stage"])
    op.create_index(
        "uq_model_versions_one_production",
        "model_versions",
        ["model_id"],
        unique=True,
        sqlite_where=PRODUCTION,
        postgresql_where=PRODUCTION,
    )
    op.create_table(
        "version_properties",
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("num_value", sa.Float, nullable=True),
        sa.Column("text_value", sa.String(1024), nullable=True),
    )
    op.create_index("ix_version_properties_num", "version_properties", ["kind", "key", "num_value"])
    op.create_index(
        "ix_version_properties_text", "version_properties", ["kind", "key", "text_value"]
    )
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "events", "value": 0}, {"name": "lineage", "value": 0}])
    service_secrets = op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.bulk_insert(service_secrets, [{"name": "page_token_key", "value": secrets.token_hex(32)}])
    op.create_table(
        "events",
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("resource", sa.String(512), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
    )
    op.create_index("ix_events_model_sequence", "events", ["model", "sequence"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("time", TIME, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(512), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
    )
    op.create_index("ix_audit_log_resource", "audit_log", ["resource", "id"])
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.Column("update_time", TIME, nullable=False),
        sa.UniqueConstraint("model_id", "alias", name="uq_aliases_model_alias"),
    )
    op.create_index("ix_aliases_version_id", "aliases", ["version_id"])
    op.create_table(
        "stage_transitions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_stage", sa.String(16), nullable=False),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("time", TIME, nullable=False),
    )
    op.create_index("ix_stage_transitions_version_id", "stage_transitions", ["version_id"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dataset_name", sa.String(256), nullable=False),
        sa.Column("dataset_version", sa.String(128), nullable=False),
        sa.Column("eval_type", sa.String(16), nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("evaluator", sa.String(256), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("create_time", TIME, nullable=False),
    )
    op.create_index(
        "ix_evaluations_version_dataset",
        "evaluations",
        ["version_id", "dataset_name", "eval_type"],
    )
    op.create_table(
        "lineage_nodes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.UniqueConstraint("kind", "key", name="uq_lineage_nodes_kind_key"),
    )
    op.create_index("ix_lineage_nodes_version_id", "lineage_nodes", ["version_id"])
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subject_id",
            sa.Integer,
            sa.ForeignKey("lineage_nodes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "object_id",
            sa.Integer,
            sa.ForeignKey("lineage_nodes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("create_time", TIME, nullable=False),
        sa.UniqueConstraint("subject_id", "object_id", "type", name="uq_lineage_edges"),
    )
    op.create_index("ix_lineage_edges_object", "lineage_edges", ["object_id"])


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "lineage_edges",
        "lineage_nodes",
        "evaluations",
        "stage_transitions",
        "aliases",
        "audit_log",
        "events",
        "service_secrets",
        "counters",
        "version_properties",
        "model_versions",
        "models",
    ):
        op.drop_table(table)
