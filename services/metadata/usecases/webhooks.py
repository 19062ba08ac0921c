"""Webhook use cases: subscriptions, their deliveries, and the delivery workers' leases.

A standalone class composed with the :class:`Database` (one managed transaction per use
case); the SQL is in :mod:`services.metadata.store.webhooks`.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence

from services.common.cloudevents import EVENT_TYPES
from services.common.errors import InvalidArgument, NotFound
from services.metadata import checks
from services.metadata.domain import Page
from services.metadata.domain_webhooks import (
    Claimed,
    Delivery,
    DeliveryState,
    Outcome,
    Webhook,
)
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import webhooks as store
from services.metadata.usecases.base import UseCaseBase

_ID = re.compile(r"[0-9a-f]{32}")
_PREFIX = re.compile(r"[A-Za-z0-9._-]*")
MAX_URL = 2048
MAX_LEASE_SECONDS = 3600
MAX_CLAIM = 1000


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: ``whsec_`` + base64 of 32 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def parse_webhook_name(name: str, field: str = "name") -> str:
    """``webhooks/{id}`` -> the id; INVALID_ARGUMENT otherwise."""
    parts = name.split("/")
    if len(parts) != 2 or parts[0] != "webhooks" or not _ID.fullmatch(parts[1]):
        raise InvalidArgument.field(
            field, f"{name!r} is not a webhook name (webhooks/ and 32 hex digits)"
        )
    return parts[1]


def parse_delivery_name(name: str, field: str = "name") -> tuple[str, int]:
    """``webhooks/{id}/deliveries/{sequence}`` -> (id, sequence); INVALID_ARGUMENT otherwise."""
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != "deliveries" or not parts[3].isdigit():
        raise InvalidArgument.field(
            field, f"{name!r} is not a delivery name (webhooks/{{id}}/deliveries/{{sequence}})"
        )
    return parse_webhook_name("/".join(parts[:2]), field), int(parts[3])


class WebhookUseCases(UseCaseBase):
    """Create, list and delete webhooks; list, redeliver, claim and record deliveries."""

    def create(self, url: str, event_types: list[str], model_prefix: str, actor: str) -> Webhook:
        """Record a webhook with a new id and secret (the target was checked by the gateway)."""
        if not url:
            raise InvalidArgument.field("webhook.url", "a webhook needs a url")
        checks.text(url, "webhook.url", MAX_URL)
        for i, kind in enumerate(event_types):
            if kind not in EVENT_TYPES:
                raise InvalidArgument.field(
                    f"webhook.event_types[{i}]",
                    f"unknown event type {kind!r}; one of {', '.join(sorted(EVENT_TYPES))}",
                )
        if len(model_prefix) > 128 or not _PREFIX.fullmatch(model_prefix):
            raise InvalidArgument.field(
                "webhook.model_prefix",
                f"{model_prefix!r} is not a model id prefix (up to 128 of [A-Za-z0-9._-])",
            )
        webhook = Webhook(
            id=secrets.token_hex(16),
            url=url,
            event_types=tuple(sorted(set(event_types))),
            model_prefix=model_prefix,
            created_by=actor,
            create_time=self.now(),
            secret=new_secret(),
        )
        with self.db.write() as session:
            store.create_webhook(session, webhook)
        return webhook

    def list_webhooks(self) -> list[Webhook]:
        """Every webhook, oldest first, without secrets."""
        with self.db.read() as session:
            return store.list_webhooks(session)

    def delete(self, name: str) -> None:
        """Delete a webhook and its deliveries."""
        webhook_id = parse_webhook_name(name)
        with self.db.write() as session:
            if not store.delete_webhook(session, webhook_id):
                raise _webhook_not_found(name)

    def deliveries(
        self, parent: str, state: DeliveryState | None, page_size: int, page_token: str
    ) -> Page:
        """A webhook's deliveries, newest first."""
        webhook_id = parse_webhook_name(parent, "parent")
        size = effective_size(page_size)
        query = {"op": "ListWebhookDeliveries", "parent": parent, "state": str(state or "")}
        before = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as session:
            if not store.webhook_exists(session, webhook_id):
                raise _webhook_not_found(parent)
            found = store.list_deliveries(session, webhook_id, state, before, size + 1)
        token = self.tokens.encode(query, [found[size - 1].sequence]) if len(found) > size else ""
        return Page(found[:size], token)

    def redeliver(self, name: str) -> Delivery:
        """Make a delivery pending and due now, with its attempts reset."""
        webhook_id, sequence = parse_delivery_name(name)
        with self.db.write() as session:
            if not store.redeliver(session, webhook_id, sequence, self.now()):
                raise NotFound(f"delivery {name!r} does not exist", metadata={"delivery": name})
            found = store.get_delivery(session, webhook_id, sequence)
        assert found is not None
        return found

    def claim(
        self,
        owner: str,
        lease_seconds: int,
        limit: int,
        outcomes: Sequence[Outcome] = (),
    ) -> tuple[list[Claimed], int]:
        """Record ``outcomes`` of the owner's earlier attempts, then lease due deliveries
        to it (each webhook's oldest pending one), in one transaction; the claimed
        deliveries and how many outcomes were recorded."""
        _check_owner(owner)
        if not 1 <= lease_seconds <= MAX_LEASE_SECONDS:
            raise InvalidArgument.field(
                "lease_seconds",
                f"a lease lasts 1 to {MAX_LEASE_SECONDS} seconds, got {lease_seconds}",
            )
        if not 0 <= limit <= MAX_CLAIM:
            raise InvalidArgument.field("limit", f"claim 0 to {MAX_CLAIM}, got {limit}")
        if len(outcomes) > MAX_CLAIM:
            raise InvalidArgument.field(
                "outcomes", f"at most {MAX_CLAIM} outcomes at once, got {len(outcomes)}"
            )
        checked = [_checked(o, f"outcomes[{i}].") for i, o in enumerate(outcomes)]
        now = self.now()
        if not checked:
            # Idle gateways poll: without work, no write transaction (on SQLite, no lock).
            with self.db.read() as session:
                if not limit or not store.any_due(session, now):
                    return [], 0
        with self.db.write() as session:
            recorded = sum(store.record(session, *o, owner=owner, now=now) for o in checked)
            claimed = store.claim(session, owner, lease_seconds, limit, now) if limit else []
        return claimed, recorded

    def record(self, owner: str, outcome: Outcome) -> bool:
        """Record one attempt's outcome; False when ``owner`` lost the lease."""
        _check_owner(owner)
        checked = _checked(outcome, "")
        with self.db.write() as session:
            return store.record(session, *checked, owner=owner, now=self.now())


def _check_owner(owner: str) -> None:
    if not owner:
        raise InvalidArgument.field("owner", "a claim needs an owner")
    checks.text(owner, "owner", 64)


def _checked(o: Outcome, prefix: str) -> tuple:
    """(webhook id, sequence, state, next attempt, status, error) of a valid outcome."""
    webhook_id, sequence = parse_delivery_name(o.name, f"{prefix}name")
    if o.state is None:
        raise InvalidArgument.field(f"{prefix}state", "say what the attempt ended in")
    if o.state is DeliveryState.PENDING and o.next_attempt is None:
        raise InvalidArgument.field(f"{prefix}next_attempt_time", "a retry needs its time")
    return webhook_id, sequence, o.state, o.next_attempt, o.status_code, o.error[:2000]


def _webhook_not_found(name: str) -> NotFound:
    return NotFound(f"webhook {name!r} does not exist", metadata={"webhook": name})
