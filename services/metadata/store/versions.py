"""Queries on models and versions; every function returns domain objects or plain values."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Connection,
    LargeBinary,
    bindparam,
    delete,
    desc,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from services.common.database import table_of
from services.metadata.domain import Model, ModelVersion, Stage, State
from services.metadata.store.db import insert_ignore
from services.metadata.store.mapping import model_from_row, version_from_row
from services.metadata.store.schema import AliasRow, ModelRow, PropertyRow, VersionRow

_VERSION_COLUMNS = [c for c in table_of(VersionRow).c]
_STATEMENTS: dict[tuple[str, str], Any] = {}
_INSERT_PROPERTY = insert(table_of(PropertyRow))


def cached(session: Session | Connection, key: str, build: Callable[[str], Any]) -> Any:
    """A statement built once per dialect; hot paths bind parameters instead of rebuilding."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = bind.dialect.name
    stmt = _STATEMENTS.get((dialect, key))
    if stmt is None:
        stmt = _STATEMENTS[(dialect, key)] = build(dialect)
    return stmt


def _version_select(dialect: str) -> Any:
    other = aliased(AliasRow)
    agg = func.string_agg if dialect == "postgresql" else func.group_concat
    aliases = (
        select(agg(other.alias, ","))
        .where(other.version_id == VersionRow.id)
        .correlate(VersionRow)
        .scalar_subquery()
    )
    return select(
        *_VERSION_COLUMNS, ModelRow.name.label("model_name"), aliases.label("alias_list")
    ).join(ModelRow, ModelRow.id == VersionRow.model_id)


def version_select(session: Session) -> Any:
    """``SELECT`` of version columns, the model name and the version's aliases (one query)."""
    return cached(session, "version_select", _version_select)


def to_versions(rows: Any) -> list[ModelVersion]:
    """Domain versions from rows of :func:`version_select`."""
    return [version_from_row(r, r.model_name, r.alias_list) for r in rows]


def get_model(session: Session, name: str) -> Model | None:
    """The model called ``name``, or None."""
    row = session.execute(select(ModelRow).where(ModelRow.name == name)).scalar_one_or_none()
    return model_from_row(row) if row else None


def _model_row(session: Session, name: str, *, lock: bool = False) -> ModelRow | None:
    """The ORM row of a model, locked ``FOR UPDATE`` when ``lock`` (for writes)."""
    stmt = select(ModelRow).where(ModelRow.name == name)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def lock_model(session: Session, name: str) -> Model | None:
    """The model called ``name``, its row locked ``FOR UPDATE`` until commit; None if absent."""
    row = _model_row(session, name, lock=True)
    return model_from_row(row) if row else None


def find_model_id(session: Session, name: str) -> int | None:
    """The row id of the model called ``name``, or None."""
    return session.execute(select(ModelRow.id).where(ModelRow.name == name)).scalar_one_or_none()


#: The fields of a model that change after it is created.
_MODEL_MUTABLE = ("description", "owner", "team", "tags", "archived", "updated_by", "update_time")


def save_model(session: Session, model: Model) -> None:
    """Write back a model locked by :func:`lock_model` (its mutable fields and revision)."""
    row = session.get(ModelRow, model.row_id)  # in the session since it was locked
    assert row is not None, f"model {model.name!r} was not locked in this transaction"
    for name in _MODEL_MUTABLE:
        setattr(row, name, getattr(model, name))
    row.revision = model.revision
    session.flush()


def lock_or_create_model(session: Session, name: str, actor: str, now: datetime) -> int:
    """The id of the model, created on first use, its row locked until commit.

    The lock serializes version creation per model, so version numbers decided under it
    never collide; the unique constraint on ``(model_id, version)`` is the backstop.
    """
    found = lock_model_id(session, name)
    if found is not None:
        return found
    insert_ignore(
        session,
        ModelRow,
        {
            "name": name,
            "description": "",
            "owner": "",
            "team": "",
            "tags": {},
            "archived": False,
            "latest_version": "",
            "created_by": actor,
            "create_time": now,
            "updated_by": actor,
            "update_time": now,
            "revision": 1,
        },
        ["name"],
    )
    found = lock_model_id(session, name)
    assert found is not None
    return found


def highest_version(session: Session, model_id: int) -> str | None:
    """The model's highest version by semver precedence, in any state, or None."""
    stmt = cached(
        session,
        "highest_version",
        lambda d: (
            select(VersionRow.version)
            .where(VersionRow.model_id == bindparam("model_id"))
            .order_by(desc(VersionRow.sort_key), desc(VersionRow.id))
            .limit(1)
        ),
    )
    return session.connection().execute(stmt, {"model_id": model_id}).scalar_one_or_none()


def version_exists(session: Session, model_id: int, version: str) -> bool:
    """Whether the model has this exact version string."""
    stmt = select(VersionRow.id).where(
        VersionRow.model_id == model_id, VersionRow.version == version
    )
    return session.execute(stmt).first() is not None


def by_request_id(session: Session, request_id: str) -> tuple[ModelVersion, str] | None:
    """The version a request id created and the hash of that request's content."""
    stmt = cached(
        session,
        "by_request_id",
        lambda d: _version_select(d).where(VersionRow.request_id == bindparam("request_id")),
    )
    row = session.connection().execute(stmt, {"request_id": request_id}).first()
    if row is None:
        return None
    return version_from_row(row, row.model_name, row.alias_list), row.request_hash


def lock_model_id(session: Session, name: str) -> int | None:
    """The id of a model, its row locked ``FOR UPDATE`` until commit; None if absent."""
    stmt = cached(
        session,
        "lock_model_id",
        lambda d: select(ModelRow.id).where(ModelRow.name == bindparam("name")).with_for_update(),
    )
    return session.connection().execute(stmt, {"name": name}).scalar_one_or_none()


def new_version(
    session: Session, model: str, values: dict[str, Any], now: datetime
) -> ModelVersion:
    """Insert a new version, its searchable properties, and record it as the model's latest.

    The hot path of registration: on PostgreSQL one statement (data-modifying CTEs), on
    SQLite three. Raises IntegrityError on a duplicate version or request id.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        params = {k: json.dumps(v) if k in _JSON_COLUMNS else v for k, v in values.items()}
        params.update(
            props=json.dumps(_property_rows(0, values)),
            b_now=now,
        )
        version_id = conn.execute(_pg_create(), params).scalar_one()
    else:
        table = table_of(VersionRow)
        stmt = cached(session, "insert_version", lambda d: insert(table).returning(table.c.id))
        version_id = conn.execute(stmt, values).scalar_one()
        entries = _property_rows(version_id, values)
        if entries:
            conn.execute(_INSERT_PROPERTY, entries)
        set_latest(session, values["model_id"], values["version"], now)
    return version_from_row(SimpleNamespace(id=version_id, **values), model, [])


_JSON_COLUMNS = {"metrics", "params", "hyperparameters", "tags"}
_PG_CREATE: list[Any] = []


def _pg_create() -> Any:
    """``INSERT`` version, ``INSERT`` its properties and ``UPDATE`` the model, one statement."""
    if not _PG_CREATE:
        columns = [c.name for c in table_of(VersionRow).c if c.name != "id"]
        placeholders = [f"CAST(:{c} AS jsonb)" if c in _JSON_COLUMNS else f":{c}" for c in columns]
        _PG_CREATE.append(
            text(
                f"""
                WITH v AS (
                    INSERT INTO model_versions ({", ".join(columns)})
                    VALUES ({", ".join(placeholders)})
                    RETURNING id
                ), p AS (
                    INSERT INTO version_properties (version_id, kind, key, num_value, text_value)
                    SELECT v.id, x.kind, x.key, x.num_value, x.text_value
                    FROM v, jsonb_to_recordset(CAST(:props AS jsonb)) AS x(
                        version_id int, kind text, key text, num_value float8, text_value text
                    )
                ), m AS (
                    UPDATE models SET latest_version = :version, update_time = :b_now
                    WHERE id = :model_id
                )
                SELECT id FROM v
                """
            ).bindparams(bindparam("sort_key", type_=LargeBinary))
        )
    return _PG_CREATE[0]


def set_latest(session: Session, model_id: int, version: str, now: datetime) -> None:
    """Record the model's most recently created version."""
    table = table_of(ModelRow)
    stmt = cached(
        session,
        "set_latest",
        lambda d: (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(latest_version=bindparam("b_version"), update_time=bindparam("b_time"))
        ),
    )
    session.connection().execute(stmt, {"b_id": model_id, "b_version": version, "b_time": now})


def _property_rows(version_id: int, values: Any) -> list[dict[str, Any]]:
    get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    rows: list[dict[str, Any]] = []
    for key, value in (get("metrics") or {}).items():
        rows.append({"kind": "m", "key": key, "num_value": value, "text_value": None})
    for kind, field in (("p", "params"), ("t", "tags")):
        for key, value in (get(field) or {}).items():
            rows.append({"kind": kind, "key": key, "num_value": None, "text_value": value})
    return [{"version_id": version_id, **r} for r in rows]


def write_properties(session: Session, row: VersionRow) -> None:
    """Replace the version's rows in ``version_properties`` from its maps."""
    session.execute(delete(PropertyRow).where(PropertyRow.version_id == row.id))
    entries = _property_rows(row.id, row)
    if entries:
        session.connection().execute(_INSERT_PROPERTY, entries)


def _version_row(
    session: Session, model: str, version: str, *, lock: bool = False
) -> VersionRow | None:
    """The ORM row of one version, locked ``FOR UPDATE`` when ``lock``."""
    stmt = (
        select(VersionRow)
        .join(ModelRow, ModelRow.id == VersionRow.model_id)
        .where(ModelRow.name == model, VersionRow.version == version)
    )
    if lock:
        stmt = stmt.with_for_update(of=VersionRow)
    return session.execute(stmt).scalar_one_or_none()


def lock_version(session: Session, model: str, version: str) -> ModelVersion | None:
    """One version with its aliases, its row locked ``FOR UPDATE`` until commit; or None."""
    row = _version_row(session, model, version, lock=True)
    return to_domain(session, row, model) if row else None


def find_version_id(session: Session, model: str, version: str) -> int | None:
    """The row id of one version, or None."""
    stmt = (
        select(VersionRow.id)
        .join(ModelRow, ModelRow.id == VersionRow.model_id)
        .where(ModelRow.name == model, VersionRow.version == version)
    )
    return session.execute(stmt).scalar_one_or_none()


#: The fields of a version that change after it is created (enums are stored by value).
_VERSION_MUTABLE = (
    "state",
    "stage",
    "format",
    "parameter_count",
    "failure_reason",
    "description",
    "tags",
    "metrics",
    "params",
    "hyperparameters",
    "input_schema",
    "output_schema",
    "updated_by",
    "update_time",
    "revision",
)


def save_version(session: Session, version: ModelVersion, *, properties: bool = False) -> None:
    """Write back a version locked by :func:`lock_version`; ``properties`` when its metrics,
    params or tags changed (the searchable copies are rewritten). Flushed at once, so a later
    write in the transaction (the next production version) sees it."""
    row = session.get(VersionRow, version.row_id)  # in the session since it was locked
    assert row is not None, f"version {version.name!r} was not locked in this transaction"
    for name in _VERSION_MUTABLE:
        value = getattr(version, name)
        setattr(row, name, value.value if isinstance(value, State | Stage) else value)
    session.flush()
    if properties:
        write_properties(session, row)


def aliases_of(session: Session, version_id: int) -> list[str]:
    """Aliases pointing at a version."""
    stmt = select(AliasRow.alias).where(AliasRow.version_id == version_id)
    return sorted(session.execute(stmt).scalars())


def to_domain(session: Session, row: VersionRow, model: str) -> ModelVersion:
    """The domain version of an ORM row, with its aliases."""
    return version_from_row(row, model, aliases_of(session, row.id))


Reader = Session | Connection


def _one(session: Reader, key: str, build: Callable[[str], Any], **params: Any) -> Any:
    conn = session if isinstance(session, Connection) else session.connection()
    found = to_versions(conn.execute(cached(session, key, build), params))
    return found[0] if found else None


def model_exists(conn: Connection, name: str) -> bool:
    """Whether a model of that name exists."""
    stmt = cached(
        conn, "model_exists", lambda d: select(ModelRow.id).where(ModelRow.name == bindparam("n"))
    )
    return conn.execute(stmt, {"n": name}).first() is not None


def get_version(session: Reader, model: str, version: str) -> ModelVersion | None:
    """One version by model and version string."""
    return _one(
        session,
        "get_version",
        lambda d: _version_select(d).where(
            ModelRow.name == bindparam("model"), VersionRow.version == bindparam("version")
        ),
        model=model,
        version=version,
    )


def _highest_ready(d: str, with_stage: bool) -> Any:
    stmt = _version_select(d).where(
        ModelRow.name == bindparam("model"), VersionRow.state == State.READY.value
    )
    if with_stage:
        stmt = stmt.where(VersionRow.stage == bindparam("stage"))
    return stmt.order_by(desc(VersionRow.sort_key), desc(VersionRow.id)).limit(1)


def latest_ready(session: Reader, model: str) -> ModelVersion | None:
    """The model's highest READY version by semver precedence."""
    return _one(session, "latest_ready", lambda d: _highest_ready(d, False), model=model)


def in_stage(session: Reader, model: str, stage: Stage) -> ModelVersion | None:
    """The model's highest READY version in ``stage`` (production holds at most one)."""
    return _one(
        session, "in_stage", lambda d: _highest_ready(d, True), model=model, stage=stage.value
    )


def _by_alias(dialect: str) -> Any:
    # The alias is found first through its unique (model_id, alias) index, in an InitPlan,
    # then the version by primary key: the plan does not depend on table statistics.
    alias, owner = aliased(AliasRow), aliased(ModelRow)
    target = (
        select(alias.version_id)
        .join(owner, owner.id == alias.model_id)
        .where(owner.name == bindparam("model"), alias.alias == bindparam("alias"))
        .scalar_subquery()
    )
    return _version_select(dialect).where(VersionRow.id == target)


def by_alias(session: Reader, model: str, alias: str) -> ModelVersion | None:
    """The version an alias points at: one query over unique indexes."""
    return _one(
        session,
        "by_alias",
        _by_alias,
        model=model,
        alias=alias,
    )


def list_versions(
    session: Session, model_id: int, *, after_id: int | None, limit: int, show_archived: bool
) -> list[ModelVersion]:
    """A model's versions newest first, after the keyset ``after_id``."""
    stmt = version_select(session).where(VersionRow.model_id == model_id)
    if after_id is not None:
        stmt = stmt.where(VersionRow.id < after_id)
    if not show_archived:
        stmt = stmt.where(VersionRow.stage != Stage.ARCHIVED.value)
    stmt = stmt.order_by(desc(VersionRow.id)).limit(limit)
    return to_versions(session.execute(stmt))


def count_versions(session: Session, model_id: int) -> int:
    """How many versions a model has."""
    stmt = select(func.count()).select_from(VersionRow).where(VersionRow.model_id == model_id)
    return int(session.execute(stmt).scalar_one())


def list_models(
    session: Session, after: str | None, show_archived: bool, limit: int
) -> list[Model]:
    """Up to ``limit`` models by name, after ``after``; archived ones only if asked."""
    stmt = select(ModelRow)
    if after is not None:
        stmt = stmt.where(ModelRow.name > after)
    if not show_archived:
        stmt = stmt.where(ModelRow.archived.is_(False))
    stmt = stmt.order_by(ModelRow.name).limit(limit)
    return [model_from_row(r) for r in session.execute(stmt).scalars()]


def delete_model(session: Session, model_id: int) -> None:
    """Delete a model and its versions."""
    session.execute(delete(VersionRow).where(VersionRow.model_id == model_id))
    session.execute(delete(ModelRow).where(ModelRow.id == model_id))


def delete_version(session: Session, version_id: int) -> None:
    """Delete one version."""
    session.execute(delete(VersionRow).where(VersionRow.id == version_id))
