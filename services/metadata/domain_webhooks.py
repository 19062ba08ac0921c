"""Domain objects of webhooks: subscriptions and the delivery of each event to each one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.metadata.domain import Event


class DeliveryState(StrEnum):
    """Where one delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"


@dataclass(frozen=True)
class Webhook:
    """A subscription of a URL to the events that pass its filters."""

    id: str
    url: str
    event_types: tuple[str, ...]
    model_prefix: str
    created_by: str
    create_time: datetime
    #: Only set when the webhook was just created (and for the delivery worker).
    secret: str = ""

    @property
    def name(self) -> str:
        return f"webhooks/{self.id}"


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to one webhook."""

    webhook_id: str
    sequence: int
    event_type: str
    event_resource: str
    state: DeliveryState
    attempts: int
    next_attempt_time: datetime
    last_status: int
    last_error: str
    create_time: datetime
    deliver_time: datetime | None

    @property
    def name(self) -> str:
        return f"webhooks/{self.webhook_id}/deliveries/{self.sequence}"

    @property
    def id(self) -> str:
        """The ``webhook-id`` header: the same on every attempt."""
        return f"{self.webhook_id}_{self.sequence}"


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to a worker, with what it needs to send it."""

    delivery: Delivery
    url: str
    secret: str
    event: Event


@dataclass(frozen=True)
class Outcome:
    """What one attempt ended in, as the worker reports it (``name`` of the delivery)."""

    name: str
    state: DeliveryState | None
    next_attempt: datetime | None
    status_code: int
    error: str
