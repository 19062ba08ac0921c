"""SQLAlchemy 2 typed models: the current shape of the metadata schema.

Migrations (``services/metadata/migrations``) never import these classes; they spell out
each step, so a migration stays what it was when written. ``tests/metadata`` checks that
the migrated schema and these models agree.

Maps (metrics, params, tags) are stored twice: as JSON on the version, which is what reads
return, and one row per entry in ``version_properties``, which is what search filters and
orders on with ordinary B-tree indexes (``(kind, key, num_value)``) on both PostgreSQL and
SQLite. A GIN index on JSONB answers containment (``tags @> ...``) but not the range
comparisons and ordering that ``metrics.auc > 0.9 ORDER BY metrics.auc`` needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: JSON on SQLite, JSONB on PostgreSQL.
Json = JSON().with_variant(JSONB(), "postgresql")
Time = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base of the metadata schema."""


class ModelRow(Base):
    """A registered model."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(256), default="")
    team: Mapped[str] = mapped_column(String(256), default="")
    tags: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    latest_version: Mapped[str] = mapped_column(String(128), default="")
    created_by: Mapped[str] = mapped_column(String(256))
    create_time: Mapped[datetime] = mapped_column(Time)
    updated_by: Mapped[str] = mapped_column(String(256))
    update_time: Mapped[datetime] = mapped_column(Time)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class VersionRow(Base):
    """A model version."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
        Index("ix_model_versions_model_sort", "model_id", "sort_key"),
        Index("ix_model_versions_create_time", "create_time", "id"),
        Index(
            "uq_model_versions_one_production",
            "model_id",
            unique=True,
            sqlite_where=text("stage = 'production'"),
            postgresql_where=text("stage = 'production'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(128))
    sort_key: Mapped[bytes] = mapped_column(LargeBinary(256))
    state: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), index=True)
    artifact_hash: Mapped[str] = mapped_column(String(64), default="")
    artifact_size: Mapped[int] = mapped_column(BigInteger, default=0)
    artifact_is_tree: Mapped[bool] = mapped_column(Boolean, default=False)
    format: Mapped[str] = mapped_column(String(64), default="")
    framework: Mapped[str] = mapped_column(String(128), default="")
    framework_version: Mapped[str] = mapped_column(String(128), default="")
    parameter_count: Mapped[int] = mapped_column(BigInteger, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    input_schema: Mapped[str] = mapped_column(Text, default="")
    output_schema: Mapped[str] = mapped_column(Text, default="")
    training_dataset: Mapped[str] = mapped_column(String(512), default="")
    experiment_id: Mapped[str] = mapped_column(String(256), default="")
    run_id: Mapped[str] = mapped_column(String(256), default="")
    git_commit: Mapped[str] = mapped_column(String(256), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_by: Mapped[str] = mapped_column(String(256))
    create_time: Mapped[datetime] = mapped_column(Time)
    updated_by: Mapped[str] = mapped_column(String(256))
    update_time: Mapped[datetime] = mapped_column(Time)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64), default="")


class PropertyRow(Base):
    """One entry of a version's metrics (``m``), params (``p``) or tags (``t``), for search."""

    __tablename__ = "version_properties"
    __table_args__ = (
        Index("ix_version_properties_num", "kind", "key", "num_value"),
        Index("ix_version_properties_text", "kind", "key", "text_value"),
    )

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    num_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    text_value: Mapped[str | None] = mapped_column(String(1024), nullable=True)


class CounterRow(Base):
    """Named counters; ``events`` allocates outbox sequences, ``lineage`` serializes edges."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class SecretRow(Base):
    """Per-installation secrets (the page-token signing key), written by the first migration."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class EventRow(Base):
    """The event outbox, in commit order by ``sequence``."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_model_sequence", "model", "sequence"),)

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    resource: Mapped[str] = mapped_column(String(512))
    actor: Mapped[str] = mapped_column(String(256))
    time: Mapped[datetime] = mapped_column(Time)
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class AuditRow(Base):
    """The audit log: every change with who, what and the state before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resource", "resource", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(Time)
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(512))
    before: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


class AliasRow(Base):
    """A movable alias of a version, unique per model."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias", name="uq_aliases_model_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    updated_by: Mapped[str] = mapped_column(String(256))
    update_time: Mapped[datetime] = mapped_column(Time)


class TransitionRow(Base):
    """One stage change of a version."""

    __tablename__ = "stage_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text, default="")
    time: Mapped[datetime] = mapped_column(Time)


class EvaluationRow(Base):
    """One evaluation of a version on a dataset."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_version_dataset", "version_id", "dataset_name", "eval_type"),
        Index("uq_evaluations_request_id", "request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    dataset_name: Mapped[str] = mapped_column(String(256))
    dataset_version: Mapped[str] = mapped_column(String(128), default="")
    eval_type: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    evaluator: Mapped[str] = mapped_column(String(256), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(256))
    create_time: Mapped[datetime] = mapped_column(Time)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class NodeRow(Base):
    """A lineage node; model-version nodes point at their version while it exists."""

    __tablename__ = "lineage_nodes"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_lineage_nodes_kind_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(512))
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True, index=True
    )


class EdgeRow(Base):
    """A lineage edge ``subject <type> object``; the object is upstream."""

    __tablename__ = "lineage_edges"
    __table_args__ = (
        UniqueConstraint("subject_id", "object_id", "type", name="uq_lineage_edges"),
        Index("ix_lineage_edges_object", "object_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(256))
    create_time: Mapped[datetime] = mapped_column(Time)


_OPEN_PROMOTION = text("state IN ('pending_approval', 'approved')")


class PromotionRow(Base):
    """A request to move a version to a stage; at most one open per model and stage."""

    __tablename__ = "promotions"
    __table_args__ = (
        Index("ix_promotions_model", "model_id", "id"),
        Index(
            "uq_promotions_one_open",
            "model_id",
            "target_stage",
            unique=True,
            sqlite_where=_OPEN_PROMOTION,
            postgresql_where=_OPEN_PROMOTION,
        ),
        Index("uq_promotions_request_id", "request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    target_stage: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24))
    requested_by: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text, default="")
    required_approvals: Mapped[int] = mapped_column(Integer)
    status_message: Mapped[str] = mapped_column(Text, default="")
    create_time: Mapped[datetime] = mapped_column(Time)
    update_time: Mapped[datetime] = mapped_column(Time)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ApprovalRow(Base):
    """One principal's decision on a promotion; one per principal."""

    __tablename__ = "promotion_approvals"
    __table_args__ = (
        UniqueConstraint("promotion_id", "principal", name="uq_promotion_approvals_principal"),
        Index("uq_promotion_approvals_request_id", "request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    principal: Mapped[str] = mapped_column(String(256))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    time: Mapped[datetime] = mapped_column(Time)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DeploymentRow(Base):
    """Which version of a model runs in one environment; one per model and environment."""

    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("model_id", "environment", name="uq_deployments_model_environment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    environment: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[str] = mapped_column(String(16))
    health: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    reported_by: Mapped[str] = mapped_column(String(256))
    update_time: Mapped[datetime] = mapped_column(Time)


class WebhookRow(Base):
    """A webhook. ``event_types`` is ``,a,b,`` (empty: every type), so a delivery's match is
    one ``LIKE`` on either backend."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[str] = mapped_column(String(2048), default="")
    model_prefix: Mapped[str] = mapped_column(String(128), default="")
    secret: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(256))
    create_time: Mapped[datetime] = mapped_column(Time)


class WebhookDeliveryRow(Base):
    """One event's delivery to one webhook, created in the event's transaction."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_state", "webhook_id", "status", "sequence"),
    )

    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Time)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(Time, nullable=True)
    last_status: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    create_time: Mapped[datetime] = mapped_column(Time)
    deliver_time: Mapped[datetime | None] = mapped_column(Time, nullable=True)
