"""Webhooks and their deliveries: the SQL.

Deliveries are created in the transaction that writes the events (:func:`deliveries_from`
on SQLite; the PostgreSQL flush in :mod:`outbox` does the same inside its one statement),
so every committed event gets exactly one delivery per matching webhook, in commit order.

A worker claims deliveries with a lease (:func:`claim`): only the oldest pending delivery
of each webhook is claimable, when it is due and its lease (if any) has ended, so a
webhook's events go out one at a time in sequence order, whichever gateway sends them. On
PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
skip each other's rows; SQLite serializes writers (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CursorResult,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from services.common.database import table_of
from services.metadata.domain import Event
from services.metadata.domain_webhooks import Claimed, Delivery, DeliveryState, Webhook
from services.metadata.store.mapping import utc
from services.metadata.store.schema import EventRow, WebhookDeliveryRow, WebhookRow

_HOOKS = table_of(WebhookRow)
_DELIVERIES = table_of(WebhookDeliveryRow)
_EVENTS = table_of(EventRow)
_PENDING = DeliveryState.PENDING.value


def encode_types(types: list[str] | tuple[str, ...]) -> str:
    """``["a", "b"]`` -> ``",a,b,"``; no types -> ``""`` (every type)."""
    return "," + ",".join(sorted(set(types))) + "," if types else ""


def matches(hooks: Any, event_type: Any, event_model: Any) -> Any:
    """The SQL condition that an event passes a webhook's filters (either backend)."""
    return and_(
        or_(
            hooks.c.event_types == "",
            hooks.c.event_types.like(literal("%,") + event_type + literal(",%")),
        ),
        func.substr(event_model, 1, func.length(hooks.c.model_prefix)) == hooks.c.model_prefix,
    )


def deliveries_from(session: Session, first: int, last: int) -> None:
    """Create the deliveries of events ``first..last`` (just written, same transaction)."""
    e = _EVENTS
    chosen = (
        select(
            _HOOKS.c.id,
            e.c.sequence,
            literal(_PENDING),
            literal(0),
            e.c.time,
            literal(0),
            literal(""),
            e.c.time,
        )
        .select_from(e.join(_HOOKS, matches(_HOOKS, e.c.type, e.c.model)))
        .where(e.c.sequence.between(first, last))
    )
    columns = [
        "webhook_id",
        "sequence",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "create_time",
    ]
    session.execute(insert(_DELIVERIES).from_select(columns, chosen))


def _webhook(row: Any, secret: bool = False) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        event_types=tuple(t for t in row.event_types.split(",") if t),
        model_prefix=row.model_prefix,
        created_by=row.created_by,
        create_time=utc(row.create_time),
        secret=row.secret if secret else "",
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        webhook_id=row.webhook_id,
        sequence=row.sequence,
        event_type=row.type or "",
        event_resource=row.resource or "",
        state=DeliveryState(row.status),
        attempts=row.attempts,
        next_attempt_time=utc(row.next_attempt_at),
        last_status=row.last_status,
        last_error=row.last_error,
        create_time=utc(row.create_time),
        deliver_time=utc(row.deliver_time),
    )


def create_webhook(session: Session, webhook: Webhook) -> None:
    """Insert a webhook."""
    session.execute(
        insert(_HOOKS).values(
            id=webhook.id,
            url=webhook.url,
            event_types=encode_types(webhook.event_types),
            model_prefix=webhook.model_prefix,
            secret=webhook.secret,
            created_by=webhook.created_by,
            create_time=webhook.create_time,
        )
    )


def list_webhooks(session: Session) -> list[Webhook]:
    """Every webhook, oldest first, without secrets."""
    rows = session.execute(select(_HOOKS).order_by(_HOOKS.c.create_time, _HOOKS.c.id))
    return [_webhook(r) for r in rows]


def webhook_exists(session: Session, webhook_id: str) -> bool:
    """Whether the webhook exists."""
    found = session.execute(select(_HOOKS.c.id).where(_HOOKS.c.id == webhook_id)).first()
    return found is not None


def delete_webhook(session: Session, webhook_id: str) -> bool:
    """Delete a webhook and its deliveries; False when there was none."""
    session.execute(delete(_DELIVERIES).where(_DELIVERIES.c.webhook_id == webhook_id))
    return _changed(session.execute(delete(_HOOKS).where(_HOOKS.c.id == webhook_id)))


def _with_event() -> Any:
    d, e = _DELIVERIES, _EVENTS
    return select(d, e.c.type, e.c.resource).select_from(
        d.outerjoin(e, e.c.sequence == d.c.sequence)
    )


def list_deliveries(
    session: Session,
    webhook_id: str,
    state: DeliveryState | None,
    before: int | None,
    limit: int,
) -> list[Delivery]:
    """A webhook's deliveries, newest first, optionally in one state, before a sequence."""
    d = _DELIVERIES
    stmt = _with_event().where(d.c.webhook_id == webhook_id)
    if state is not None:
        stmt = stmt.where(d.c.status == state.value)
    if before is not None:
        stmt = stmt.where(d.c.sequence < before)
    stmt = stmt.order_by(d.c.sequence.desc()).limit(limit)
    return [_delivery(r) for r in session.execute(stmt)]


def get_delivery(session: Session, webhook_id: str, sequence: int) -> Delivery | None:
    """One delivery, or None."""
    d = _DELIVERIES
    row = session.execute(
        _with_event().where(d.c.webhook_id == webhook_id, d.c.sequence == sequence)
    ).first()
    return _delivery(row) if row is not None else None


def redeliver(session: Session, webhook_id: str, sequence: int, now: datetime) -> bool:
    """Make a delivery pending and due now, attempts reset, lease dropped."""
    d = _DELIVERIES
    result = session.execute(
        update(d)
        .where(d.c.webhook_id == webhook_id, d.c.sequence == sequence)
        .values(
            status=_PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_owner=None,
            lease_until=None,
            last_error="",
        )
    )
    return _changed(result)


def any_due(session: Session, now: datetime) -> bool:
    """Whether some pending delivery is due (one index probe; lets an idle claim skip its
    write transaction)."""
    d = _DELIVERIES
    found = session.execute(
        select(d.c.sequence).where(d.c.status == _PENDING, d.c.next_attempt_at <= now).limit(1)
    ).first()
    return found is not None


def claim(
    session: Session, owner: str, lease_seconds: int, limit: int, now: datetime
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``owner``: each webhook's oldest pending one,
    when due and not leased (or its lease ended). Attempts count at the claim, so a worker
    that dies mid-attempt still used one."""
    d = _DELIVERIES
    heads = (
        select(d.c.webhook_id.label("webhook_id"), func.min(d.c.sequence).label("sequence"))
        .where(d.c.status == _PENDING)
        .group_by(d.c.webhook_id)
        .subquery("heads")
    )
    candidates = (
        select(d.c.webhook_id, d.c.sequence)
        .join(heads, and_(heads.c.webhook_id == d.c.webhook_id, heads.c.sequence == d.c.sequence))
        .where(
            d.c.status == _PENDING,
            d.c.next_attempt_at <= now,
            or_(d.c.lease_until.is_(None), d.c.lease_until < now),
        )
        .order_by(d.c.next_attempt_at, d.c.sequence)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=d, skip_locked=True)
    keys = [(r.webhook_id, r.sequence) for r in session.execute(candidates)]
    if not keys:
        return []
    session.execute(
        update(d)
        .where(d.c.webhook_id == bindparam("w"), d.c.sequence == bindparam("s"))
        .values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=d.c.attempts + 1,
        ),
        [{"w": w, "s": s} for w, s in keys],
    )
    e = _EVENTS
    rows = session.execute(
        select(
            d,
            e.c.type,
            e.c.model,
            e.c.resource,
            e.c.actor,
            e.c.time.label("event_time"),
            e.c.attributes,
            _HOOKS.c.url,
            _HOOKS.c.secret,
        )
        .select_from(d.join(e, e.c.sequence == d.c.sequence).join(_HOOKS))
        .where(tuple_(d.c.webhook_id, d.c.sequence).in_(keys))
        .order_by(d.c.sequence)
    )
    claimed = []
    for r in rows:
        event = Event(
            sequence=r.sequence,
            type=r.type,
            model=r.model,
            resource=r.resource,
            actor=r.actor,
            time=utc(r.event_time),
            attributes=dict(r.attributes or {}),
        )
        claimed.append(Claimed(_delivery(r), r.url, r.secret, event))
    return claimed


def record(
    session: Session,
    webhook_id: str,
    sequence: int,
    state: DeliveryState,
    next_attempt: datetime | None,
    status_code: int,
    error: str,
    *,
    owner: str,
    now: datetime,
) -> bool:
    """Record an attempt's outcome if ``owner`` still holds the lease; False otherwise."""
    d = _DELIVERIES
    values: dict[str, Any] = {
        "status": state.value,
        "lease_owner": None,
        "lease_until": None,
        "last_status": status_code,
        "last_error": error,
    }
    if state is DeliveryState.DELIVERED:
        values["deliver_time"] = now
    if state is DeliveryState.PENDING and next_attempt is not None:
        values["next_attempt_at"] = next_attempt
    result = session.execute(
        update(d)
        .where(d.c.webhook_id == webhook_id, d.c.sequence == sequence, d.c.lease_owner == owner)
        .values(**values)
    )
    return _changed(result)


def _changed(result: Any) -> bool:
    """Whether a DML statement touched a row."""
    assert isinstance(result, CursorResult)
    return result.rowcount > 0
