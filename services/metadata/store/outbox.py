"""The audit log and the event outbox, written in the use case's own transaction.

Sequence allocation: events take their sequences from the ``events`` row of ``counters``
with ``UPDATE ... RETURNING``, as the last statements of the transaction. The row lock
that update takes is held until commit, so a transaction that gets sequence ``n`` has
committed (or rolled back, leaving a gap) before another gets ``n + 1``: a reader that asks
for ``sequence > after`` never misses a row that commits later with a smaller sequence.
The price is that writers serialize for the few statements between allocation and commit.
SQLite serializes writers anyway (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.orm import Session

from services.common.database import table_of
from services.metadata.domain import AuditEntry, Event
from services.metadata.store import webhooks
from services.metadata.store.db import bump_counter
from services.metadata.store.mapping import utc
from services.metadata.store.schema import AuditRow, EventRow

_INSERT_AUDIT = insert(table_of(AuditRow))
_INSERT_EVENT = insert(table_of(EventRow))


@dataclass
class Change:
    """What a use case changed: audit rows and events to write at the end of its transaction."""

    actor: str
    now: datetime
    audits: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def audit(self, action: str, resource: str, before: dict | None, after: dict | None) -> None:
        """Record one change of ``resource`` with its state before and after."""
        self.audits.append(
            {
                "time": self.now,
                "actor": self.actor,
                "action": action,
                "resource": resource,
                "before": before,
                "after": after,
            }
        )

    def event(self, type_: str, model: str, resource: str, **attributes: str) -> None:
        """Queue one outbox event."""
        self.events.append(
            {
                "type": type_,
                "model": model,
                "resource": resource,
                "actor": self.actor,
                "time": self.now,
                "attributes": {k: str(v) for k, v in attributes.items()},
            }
        )


def flush_change(session: Session, change: Change) -> None:
    """Write the audit rows, then allocate sequences and write the events (last, see above),
    with one webhook delivery per event and matching webhook (see store/webhooks.py).

    On PostgreSQL this is one statement (data-modifying CTEs over JSON arrays): one round
    trip instead of four, on every write.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql" and change.events:
        conn.execute(
            _PG_FLUSH,
            {
                "audits": json.dumps(change.audits, default=_iso),
                "events": json.dumps(
                    [{"i": i, **e} for i, e in enumerate(change.events)], default=_iso
                ),
                "n": len(change.events),
            },
        )
        return
    if change.audits:
        conn.execute(_INSERT_AUDIT, change.audits)
    if not change.events:
        return
    last = bump_counter(session, "events", len(change.events))
    first = last - len(change.events) + 1
    rows = [{"sequence": first + i, **e} for i, e in enumerate(change.events)]
    conn.execute(_INSERT_EVENT, rows)
    webhooks.deliveries_from(session, first, last)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


_PG_FLUSH = text(
    """
    WITH audit AS (
        INSERT INTO audit_log (time, actor, action, resource, before, after)
        SELECT a.time, a.actor, a.action, a.resource, a.before, a.after
        FROM jsonb_to_recordset(CAST(:audits AS jsonb)) AS a(
            time timestamptz, actor text, action text, resource text, before jsonb, after jsonb
        )
    ), seq AS (
        UPDATE counters SET value = value + :n WHERE name = 'events' RETURNING value
    ), ev AS (
        INSERT INTO events (sequence, type, model, resource, actor, time, attributes)
        SELECT seq.value - :n + 1 + e.i, e.type, e.model, e.resource, e.actor, e.time,
               e.attributes
        FROM seq, jsonb_to_recordset(CAST(:events AS jsonb)) AS e(
            i bigint, type text, model text, resource text, actor text, time timestamptz,
            attributes jsonb
        )
        RETURNING sequence, type, model, time
    )
    INSERT INTO webhook_deliveries (
        webhook_id, sequence, status, attempts, next_attempt_at, last_status, last_error,
        create_time
    )
    SELECT w.id, ev.sequence, 'pending', 0, ev.time, 0, '', ev.time
    FROM ev JOIN webhooks w
      ON (w.event_types = '' OR w.event_types LIKE '%,' || ev.type || ',%')
     AND substr(ev.model, 1, length(w.model_prefix)) = w.model_prefix
    """
)


def list_events(
    session: Session, after: int, limit: int, types: list[str], model: str
) -> list[Event]:
    """Events with ``sequence > after`` in order, optionally of some types or one model."""
    stmt = select(EventRow).where(EventRow.sequence > after)
    if types:
        stmt = stmt.where(EventRow.type.in_(types))
    if model:
        stmt = stmt.where(EventRow.model == model)
    stmt = stmt.order_by(EventRow.sequence).limit(limit)
    return [
        Event(
            sequence=r.sequence,
            type=r.type,
            model=r.model,
            resource=r.resource,
            actor=r.actor,
            time=utc(r.time),
            attributes=dict(r.attributes or {}),
        )
        for r in session.execute(stmt).scalars()
    ]


def latest_sequence(session: Session | Connection) -> int:
    """The sequence of the newest event, 0 when there is none."""
    return session.execute(select(func.max(EventRow.sequence))).scalar() or 0


def list_audit(
    session: Session, resource: str, after_id: int | None, limit: int, prefix: bool
) -> list[AuditEntry]:
    """Audit entries newest first for ``resource`` (or every resource under it)."""
    stmt = select(AuditRow)
    if resource:
        if prefix:
            escaped = resource.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(
                (AuditRow.resource == resource)
                | AuditRow.resource.like(escaped + "/%", escape="\\")
            )
        else:
            stmt = stmt.where(AuditRow.resource == resource)
    if after_id is not None:
        stmt = stmt.where(AuditRow.id < after_id)
    stmt = stmt.order_by(AuditRow.id.desc()).limit(limit)
    return [
        AuditEntry(
            id=r.id,
            time=utc(r.time),
            actor=r.actor,
            action=r.action,
            resource=r.resource,
            before=r.before,
            after=r.after,
        )
        for r in session.execute(stmt).scalars()
    ]
