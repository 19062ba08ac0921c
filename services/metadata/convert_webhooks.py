"""Conversions between webhook protos and domain objects."""

from __future__ import annotations

from datetime import UTC

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from services.metadata.convert import event_to_proto, timestamp
from services.metadata.domain_webhooks import Claimed, Delivery, DeliveryState, Outcome, Webhook

_STATES = {
    s: resources_pb2.WebhookDeliveryState.Value(f"WEBHOOK_DELIVERY_STATE_{s.name}")
    for s in DeliveryState
}
_STATES_BACK = {v: k for k, v in _STATES.items()}


def state_from_proto(value: int) -> DeliveryState | None:
    """``WEBHOOK_DELIVERY_STATE_PARKED`` -> ``DeliveryState.PARKED``; None for unspecified."""
    return _STATES_BACK.get(value)


def webhook_to_proto(w: Webhook) -> resources_pb2.Webhook:
    """A webhook as its proto (the secret only when the object carries it)."""
    return resources_pb2.Webhook(
        name=w.name,
        url=w.url,
        event_types=list(w.event_types),
        model_prefix=w.model_prefix,
        create_time=timestamp(w.create_time),
        created_by=w.created_by,
        secret=w.secret,
    )


def delivery_to_proto(d: Delivery) -> resources_pb2.WebhookDelivery:
    """A delivery as its proto."""
    return resources_pb2.WebhookDelivery(
        name=d.name,
        id=d.id,
        event_sequence=d.sequence,
        event_type=d.event_type,
        event_resource=d.event_resource,
        state=_STATES[d.state],
        attempts=d.attempts,
        next_attempt_time=timestamp(d.next_attempt_time),
        last_status_code=d.last_status,
        last_error=d.last_error,
        create_time=timestamp(d.create_time),
        deliver_time=timestamp(d.deliver_time),
    )


def claimed_to_proto(c: Claimed) -> metadata_pb2.ClaimedWebhookDelivery:
    """A leased delivery with its URL, secret and event."""
    return metadata_pb2.ClaimedWebhookDelivery(
        delivery=delivery_to_proto(c.delivery),
        url=c.url,
        secret=c.secret,
        event=event_to_proto(c.event),
    )


def outcome_from_proto(r: metadata_pb2.RecordWebhookDeliveryAttemptRequest) -> Outcome:
    """An attempt's outcome as the worker reported it."""
    return Outcome(
        name=r.name,
        state=state_from_proto(r.state),
        next_attempt=(
            r.next_attempt_time.ToDatetime(UTC) if r.HasField("next_attempt_time") else None
        ),
        status_code=r.status_code,
        error=r.error,
    )
