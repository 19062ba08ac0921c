"""Queries on stage transitions and aliases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.metadata.domain import Alias, ModelVersion, Stage, StageTransition
from services.metadata.store.mapping import utc
from services.metadata.store.schema import AliasRow, ModelRow, TransitionRow, VersionRow
from services.metadata.store.versions import to_domain


def production_version(session: Session, model_id: int, model: str) -> ModelVersion | None:
    """The model's version in production, its row locked until commit, or None."""
    stmt = (
        select(VersionRow)
        .where(VersionRow.model_id == model_id, VersionRow.stage == Stage.PRODUCTION.value)
        .with_for_update()
    )
    row = session.execute(stmt).scalar_one_or_none()
    return to_domain(session, row, model) if row else None


def add_transition(
    session: Session,
    version_id: int,
    before: Stage,
    after: Stage,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    """Record one stage change."""
    session.add(
        TransitionRow(
            version_id=version_id,
            from_stage=before.value,
            to_stage=after.value,
            actor=actor,
            reason=reason,
            time=now,
        )
    )


def list_transitions(
    session: Session, model: str, version: str, version_id: int, after_id: int | None, limit: int
) -> list[tuple[int, StageTransition]]:
    """A version's transitions newest first, with their ids for keyset paging."""
    stmt = select(TransitionRow).where(TransitionRow.version_id == version_id)
    if after_id is not None:
        stmt = stmt.where(TransitionRow.id < after_id)
    stmt = stmt.order_by(TransitionRow.id.desc()).limit(limit)
    return [
        (
            r.id,
            StageTransition(
                model=model,
                version=version,
                from_stage=Stage(r.from_stage),
                to_stage=Stage(r.to_stage),
                actor=r.actor,
                reason=r.reason,
                time=utc(r.time),
            ),
        )
        for r in session.execute(stmt).scalars()
    ]


def _alias_row(session: Session, model_id: int, alias: str) -> AliasRow | None:
    """One alias row, locked for update."""
    stmt = (
        select(AliasRow)
        .where(AliasRow.model_id == model_id, AliasRow.alias == alias)
        .with_for_update()
    )
    return session.execute(stmt).scalar_one_or_none()


def version_of_id(session: Session, version_id: int) -> str:
    """The version string of a version row id."""
    stmt = select(VersionRow.version).where(VersionRow.id == version_id)
    return session.execute(stmt).scalar_one()


def list_aliases(session: Session, model: str) -> list[Alias]:
    """A model's aliases by name."""
    stmt = (
        select(AliasRow, VersionRow.version)
        .join(VersionRow, VersionRow.id == AliasRow.version_id)
        .join(ModelRow, ModelRow.id == AliasRow.model_id)
        .where(ModelRow.name == model)
        .order_by(AliasRow.alias)
    )
    return [
        Alias(model, row.alias, version, row.updated_by, utc(row.update_time))
        for row, version in session.execute(stmt)
    ]


def aliases_on_model(session: Session, model_id: int) -> list[tuple[str, str]]:
    """(alias, version) pairs of a model."""
    stmt = (
        select(AliasRow.alias, VersionRow.version)
        .join(VersionRow, VersionRow.id == AliasRow.version_id)
        .where(AliasRow.model_id == model_id)
        .order_by(AliasRow.alias)
    )
    return [(a, v) for a, v in session.execute(stmt)]


def delete_alias(session: Session, model_id: int, alias: str) -> str | None:
    """Remove one alias; the version it pointed at, or None if the model has no such alias."""
    row = _alias_row(session, model_id, alias)
    if row is None:
        return None
    previous = version_of_id(session, row.version_id)
    session.execute(delete(AliasRow).where(AliasRow.id == row.id))
    return previous


def set_alias(
    session: Session, model_id: int, alias: str, version_id: int, actor: str, now: datetime
) -> str:
    """Point a model's alias at a version, creating it on first use; the version it pointed
    at before, or "" if it is new."""
    row = _alias_row(session, model_id, alias)
    if row is None:
        session.add(
            AliasRow(
                model_id=model_id,
                alias=alias,
                version_id=version_id,
                updated_by=actor,
                update_time=now,
            )
        )
        return ""
    previous = version_of_id(session, row.version_id)
    row.version_id, row.updated_by, row.update_time = version_id, actor, now
    return previous
