"""Rows to domain objects, and domain objects to the JSON snapshots the audit log keeps."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, overload

from services.metadata.domain import Model, ModelVersion, Stage, State


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def model_from_row(row: Any) -> Model:
    """A :class:`Model` from a ``models`` row or ORM object."""
    return Model(
        name=row.name,
        description=row.description,
        owner=row.owner,
        team=row.team,
        tags=dict(row.tags or {}),
        archived=bool(row.archived),
        latest_version=row.latest_version,
        created_by=row.created_by,
        create_time=utc(row.create_time),
        updated_by=row.updated_by,
        update_time=utc(row.update_time),
        revision=row.revision,
        row_id=row.id,
    )


def version_from_row(row: Any, model: str, aliases: str | list[str] | None = None) -> ModelVersion:
    """A :class:`ModelVersion` from a ``model_versions`` row or ORM object.

    ``aliases`` is a list or the comma-joined string a ``string_agg`` subquery returns.
    """
    if isinstance(aliases, str):
        alias_list = sorted(aliases.split(",")) if aliases else []
    else:
        alias_list = sorted(aliases or [])
    return ModelVersion(
        model=model,
        version=row.version,
        state=State(row.state),
        stage=Stage(row.stage),
        artifact_hash=row.artifact_hash,
        artifact_size=row.artifact_size,
        artifact_is_tree=bool(row.artifact_is_tree),
        format=row.format,
        framework=row.framework,
        framework_version=row.framework_version,
        parameter_count=row.parameter_count,
        metrics=dict(row.metrics or {}),
        params=dict(row.params or {}),
        hyperparameters=dict(row.hyperparameters or {}),
        input_schema=row.input_schema,
        output_schema=row.output_schema,
        training_dataset=row.training_dataset,
        experiment_id=row.experiment_id,
        run_id=row.run_id,
        git_commit=row.git_commit,
        description=row.description,
        tags=dict(row.tags or {}),
        created_by=row.created_by,
        create_time=utc(row.create_time),
        updated_by=row.updated_by,
        update_time=utc(row.update_time),
        revision=row.revision,
        aliases=alias_list,
        failure_reason=row.failure_reason,
        row_id=row.id,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value):
        return snapshot(value)
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a domain dataclass, for the audit log (internal ids left out)."""
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj) if f.name != "row_id"}
