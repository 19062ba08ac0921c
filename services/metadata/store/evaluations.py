"""Queries on evaluations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.metadata.domain import Evaluation, EvaluationType
from services.metadata.store.mapping import utc
from services.metadata.store.schema import EvaluationRow, ModelRow, VersionRow


def insert(
    session: Session,
    version_id: int,
    ev: Evaluation,
    request_id: str = "",
    request_hash: str = "",
) -> Evaluation:
    """Record an evaluation; returns it with its id."""
    row = EvaluationRow(
        request_id=request_id or None,
        request_hash=request_hash or None,
        version_id=version_id,
        dataset_name=ev.dataset_name,
        dataset_version=ev.dataset_version,
        eval_type=ev.type.value,
        metrics=ev.metrics,
        evaluator=ev.evaluator,
        comment=ev.comment,
        created_by=ev.created_by,
        create_time=ev.create_time,
    )
    session.add(row)
    session.flush()
    return _to_domain(row, ev.model, ev.version)


def by_request_id(session: Session, request_id: str) -> tuple[Evaluation, str | None] | None:
    """The evaluation recorded with ``request_id`` and its request hash, if any."""
    stmt = (
        select(EvaluationRow, VersionRow.version, ModelRow.name)
        .join(VersionRow, VersionRow.id == EvaluationRow.version_id)
        .join(ModelRow, ModelRow.id == VersionRow.model_id)
        .where(EvaluationRow.request_id == request_id)
    )
    found = session.execute(stmt).one_or_none()
    if found is None:
        return None
    row, version, model = found
    return _to_domain(row, model, version), row.request_hash


def _to_domain(row: EvaluationRow, model: str, version: str) -> Evaluation:
    return Evaluation(
        model=model,
        version=version,
        dataset_name=row.dataset_name,
        dataset_version=row.dataset_version,
        type=EvaluationType(row.eval_type),
        metrics=dict(row.metrics or {}),
        evaluator=row.evaluator,
        comment=row.comment,
        id=row.id,
        created_by=row.created_by,
        create_time=utc(row.create_time),
    )


def list_for_version(
    session: Session,
    model: str,
    version: str,
    version_id: int,
    *,
    dataset_name: str,
    dataset_version: str,
    eval_type: EvaluationType | None,
    after_id: int | None,
    limit: int,
) -> list[Evaluation]:
    """A version's evaluations newest first, filtered by dataset and type when given."""
    stmt = select(EvaluationRow).where(EvaluationRow.version_id == version_id)
    if dataset_name:
        stmt = stmt.where(EvaluationRow.dataset_name == dataset_name)
    if dataset_version:
        stmt = stmt.where(EvaluationRow.dataset_version == dataset_version)
    if eval_type is not None:
        stmt = stmt.where(EvaluationRow.eval_type == eval_type.value)
    if after_id is not None:
        stmt = stmt.where(EvaluationRow.id < after_id)
    stmt = stmt.order_by(EvaluationRow.id.desc()).limit(limit)
    return [_to_domain(r, model, version) for r in session.execute(stmt).scalars()]
