"""Queries on promotions, their approvals, and deployments; they return domain objects."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.metadata.domain import Stage
from services.metadata.domain_governance import (
    OPEN_STATES,
    Approval,
    Decision,
    Deployment,
    DeploymentStatus,
    Promotion,
    PromotionState,
)
from services.metadata.store.mapping import utc
from services.metadata.store.schema import (
    ApprovalRow,
    DeploymentRow,
    ModelRow,
    PromotionRow,
    VersionRow,
)
from services.metadata.store.stages import version_of_id

# ------------------------------------------------------------------------- promotions


def get_promotion(
    session: Session, model: str, promotion_id: int, *, lock: bool = False
) -> Promotion | None:
    """One promotion of ``model`` with its approvals, its row locked until commit when
    ``lock`` (for :func:`save_promotion`); None if absent."""
    stmt = (
        select(PromotionRow, VersionRow.version)
        .join(ModelRow, ModelRow.id == PromotionRow.model_id)
        .join(VersionRow, VersionRow.id == PromotionRow.version_id)
        .where(ModelRow.name == model, PromotionRow.id == promotion_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=PromotionRow)
    found = session.execute(stmt).one_or_none()
    return to_promotion(session, found[0], model, found[1]) if found else None


def save_promotion(session: Session, promotion: Promotion) -> Promotion:
    """Write back a promotion locked by :func:`get_promotion` (state, status message, time,
    revision); returns it as stored, with its approvals."""
    row = session.get(PromotionRow, promotion.id)  # in the session since it was locked
    assert row is not None, f"promotion {promotion.name!r} was not locked in this transaction"
    assert promotion.update_time is not None, "a promotion written back has its update time"
    row.state, row.status_message = promotion.state.value, promotion.status_message
    row.update_time, row.revision = promotion.update_time, promotion.revision
    session.flush()
    return to_promotion(session, row, promotion.model, promotion.version)


def promotion_by_request_id(
    session: Session, request_id: str
) -> tuple[Promotion, str | None] | None:
    """The promotion created with ``request_id`` and its request hash, if any."""
    stmt = (
        select(PromotionRow, VersionRow.version, ModelRow.name)
        .join(ModelRow, ModelRow.id == PromotionRow.model_id)
        .join(VersionRow, VersionRow.id == PromotionRow.version_id)
        .where(PromotionRow.request_id == request_id)
    )
    found = session.execute(stmt).one_or_none()
    if found is None:
        return None
    row, version, model = found
    return to_promotion(session, row, model, version), row.request_hash


def open_promotion(
    session: Session, model_id: int, target: Stage
) -> tuple[int, PromotionState, str] | None:
    """The model's open promotion to ``target``: its id, state and version string; or None."""
    stmt = (
        select(PromotionRow, VersionRow.version)
        .join(VersionRow, VersionRow.id == PromotionRow.version_id)
        .where(
            PromotionRow.model_id == model_id,
            PromotionRow.target_stage == target.value,
            PromotionRow.state.in_([s.value for s in OPEN_STATES]),
        )
    )
    found = session.execute(stmt).first()
    return (found[0].id, PromotionState(found[0].state), found[1]) if found else None


def insert_promotion(
    session: Session,
    model: str,
    version: str,
    *,
    model_id: int,
    version_id: int,
    target: Stage,
    state: PromotionState,
    requested_by: str,
    reason: str,
    required_approvals: int,
    now: datetime,
    request_id: str = "",
    request_hash: str = "",
) -> Promotion:
    """Record a new promotion of ``model``'s ``version``; returns it with its id assigned."""
    row = PromotionRow(
        request_id=request_id or None,
        request_hash=request_hash or None,
        model_id=model_id,
        version_id=version_id,
        target_stage=target.value,
        state=state.value,
        requested_by=requested_by,
        reason=reason,
        required_approvals=required_approvals,
        status_message="",
        create_time=now,
        update_time=now,
        revision=1,
    )
    session.add(row)
    session.flush()
    return _promotion(row, model, version, [])


def decision_of(session: Session, promotion_id: int, principal: str) -> Approval | None:
    """The decision ``principal`` made on a promotion, or None."""
    stmt = select(ApprovalRow).where(
        ApprovalRow.promotion_id == promotion_id, ApprovalRow.principal == principal
    )
    row = session.execute(stmt).scalar_one_or_none()
    return _approval(row) if row else None


def add_decision(
    session: Session,
    promotion_id: int,
    principal: str,
    decision: Decision,
    comment: str,
    now: datetime,
    request_id: str = "",
    request_hash: str = "",
) -> None:
    """Record one principal's decision (the unique key refuses a second one)."""
    session.add(
        ApprovalRow(
            promotion_id=promotion_id,
            principal=principal,
            decision=decision.value,
            comment=comment,
            time=now,
            request_id=request_id or None,
            request_hash=request_hash or None,
        )
    )
    session.flush()


def decision_by_request_id(session: Session, request_id: str) -> tuple[int, str | None] | None:
    """The promotion id and request hash of the decision recorded with ``request_id``."""
    stmt = select(ApprovalRow).where(ApprovalRow.request_id == request_id)
    row = session.execute(stmt).scalar_one_or_none()
    return (row.promotion_id, row.request_hash) if row else None


def count_approvals(session: Session, promotion_id: int) -> int:
    """Distinct principals that approved a promotion."""
    stmt = select(func.count(func.distinct(ApprovalRow.principal))).where(
        ApprovalRow.promotion_id == promotion_id, ApprovalRow.decision == Decision.APPROVE.value
    )
    return int(session.execute(stmt).scalar_one())


def _approval(row: ApprovalRow) -> Approval:
    return Approval(
        principal=row.principal,
        decision=Decision(row.decision),
        comment=row.comment,
        time=utc(row.time),
    )


def _approvals(session: Session, promotion_ids: list[int]) -> dict[int, list[Approval]]:
    """Decisions per promotion, oldest first."""
    out: dict[int, list[Approval]] = defaultdict(list)
    if not promotion_ids:
        return out
    stmt = (
        select(ApprovalRow)
        .where(ApprovalRow.promotion_id.in_(promotion_ids))
        .order_by(ApprovalRow.promotion_id, ApprovalRow.id)
    )
    for row in session.execute(stmt).scalars():
        out[row.promotion_id].append(_approval(row))
    return out


def _promotion(row: PromotionRow, model: str, version: str, approvals: list[Approval]) -> Promotion:
    return Promotion(
        id=row.id,
        model=model,
        version=version,
        target_stage=Stage(row.target_stage),
        state=PromotionState(row.state),
        requested_by=row.requested_by,
        reason=row.reason,
        required_approvals=row.required_approvals,
        approvals=approvals,
        status_message=row.status_message,
        create_time=utc(row.create_time),
        update_time=utc(row.update_time),
        revision=row.revision,
    )


def to_promotion(session: Session, row: PromotionRow, model: str, version: str) -> Promotion:
    """A promotion row as a domain object with its approvals."""
    return _promotion(row, model, version, _approvals(session, [row.id])[row.id])


def list_promotions(
    session: Session,
    model_id: int,
    model: str,
    *,
    state: PromotionState | None,
    version_id: int | None,
    after_id: int | None,
    limit: int,
    request_id: str = "",
) -> list[Promotion]:
    """A model's promotions newest first (keyset on id), with their approvals."""
    stmt = (
        select(PromotionRow, VersionRow.version)
        .join(VersionRow, VersionRow.id == PromotionRow.version_id)
        .where(PromotionRow.model_id == model_id)
    )
    if state is not None:
        stmt = stmt.where(PromotionRow.state == state.value)
    if version_id is not None:
        stmt = stmt.where(PromotionRow.version_id == version_id)
    if request_id:
        stmt = stmt.where(PromotionRow.request_id == request_id)
    if after_id is not None:
        stmt = stmt.where(PromotionRow.id < after_id)
    rows = session.execute(stmt.order_by(PromotionRow.id.desc()).limit(limit)).all()
    approvals = _approvals(session, [row.id for row, _ in rows])
    return [_promotion(row, model, version, approvals[row.id]) for row, version in rows]


# ------------------------------------------------------------------------ deployments


def to_deployment(row: DeploymentRow, model: str, version: str) -> Deployment:
    """A deployment row as a domain object."""
    return Deployment(
        model=model,
        environment=row.environment,
        version=version,
        endpoint=row.endpoint,
        status=DeploymentStatus(row.status),
        health=row.health,
        attributes=dict(row.attributes or {}),
        reported_by=row.reported_by,
        update_time=utc(row.update_time),
    )


def list_deployments(
    session: Session, model_id: int, model: str, version_id: int | None = None
) -> list[Deployment]:
    """A model's deployments (optionally only those of one version) by environment."""
    stmt = (
        select(DeploymentRow, VersionRow.version)
        .join(VersionRow, VersionRow.id == DeploymentRow.version_id)
        .where(DeploymentRow.model_id == model_id)
    )
    if version_id is not None:
        stmt = stmt.where(DeploymentRow.version_id == version_id)
    stmt = stmt.order_by(DeploymentRow.environment)
    return [to_deployment(row, model, version) for row, version in session.execute(stmt)]


def put_deployment(
    session: Session, model_id: int, version_id: int, deployment: Deployment
) -> Deployment | None:
    """Create or replace a model's deployment in ``deployment.environment`` (written under
    the model's row lock); returns the one it replaced, or None if it is the first."""
    stmt = select(DeploymentRow).where(
        DeploymentRow.model_id == model_id, DeploymentRow.environment == deployment.environment
    )
    row = session.execute(stmt).scalar_one_or_none()
    before = None
    if row is None:
        row = DeploymentRow(model_id=model_id, environment=deployment.environment)
        session.add(row)
    else:
        before = to_deployment(row, deployment.model, version_of_id(session, row.version_id))
    assert deployment.update_time is not None, "a reported deployment has its report time"
    row.version_id, row.endpoint = version_id, deployment.endpoint
    row.status, row.health = deployment.status.value, deployment.health
    row.attributes = dict(deployment.attributes)
    row.reported_by, row.update_time = deployment.reported_by, deployment.update_time
    session.flush()
    return before
