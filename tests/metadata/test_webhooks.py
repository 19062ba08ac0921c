"""Webhooks in the metadata service: deliveries created with their events, leases, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import timestamp_pb2

from modelregistry.metadata.v1 import metadata_pb2 as M
from modelregistry.v1 import resources_pb2 as R
from services.metadata.store import webhooks as store
from services.metadata.store.db import Database
from tests.metadata.conftest import Client, status_of

PENDING = R.WEBHOOK_DELIVERY_STATE_PENDING
DELIVERED = R.WEBHOOK_DELIVERY_STATE_DELIVERED
PARKED = R.WEBHOOK_DELIVERY_STATE_PARKED


def hook(client: Client, types: tuple[str, ...] = (), prefix: str = "") -> R.Webhook:
    return client.CreateWebhook(
        M.CreateWebhookRequest(
            webhook=R.Webhook(
                url="http://receiver.example/hook", event_types=types, model_prefix=prefix
            )
        )
    ).webhook


def claim(client: Client, owner: str = "g1", lease: int = 60, limit: int = 100):
    return client.ClaimWebhookDeliveries(
        M.ClaimWebhookDeliveriesRequest(owner=owner, lease_seconds=lease, limit=limit)
    ).deliveries


def record(client: Client, name: str, state: int, owner: str = "g1", **kw) -> bool:
    return client.RecordWebhookDeliveryAttempt(
        M.RecordWebhookDeliveryAttemptRequest(name=name, owner=owner, state=state, **kw)
    ).recorded


def deliveries(client: Client, webhook: R.Webhook, state: int = 0, **kw):
    return client.ListWebhookDeliveries(
        M.ListWebhookDeliveriesRequest(parent=webhook.name, state=state, **kw)
    )


def test_a_webhook_gets_its_secret_once_and_lists_without_it(client: Client) -> None:
    created = hook(client, ("version.created",), "fr")
    assert created.name.startswith("webhooks/") and created.secret.startswith("whsec_")
    assert created.created_by == "alice"
    listed = client.ListWebhooks(M.ListWebhooksRequest()).webhooks
    assert [(w.name, w.secret, list(w.event_types), w.model_prefix) for w in listed] == [
        (created.name, "", ["version.created"], "fr")
    ]
    client.DeleteWebhook(M.DeleteWebhookRequest(name=created.name))
    assert client.ListWebhooks(M.ListWebhooksRequest()).webhooks == []
    code, message = status_of(
        lambda: client.DeleteWebhook(M.DeleteWebhookRequest(name=created.name))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert message == f"webhook {created.name!r} does not exist"


def test_bad_webhooks_are_refused_with_the_field(client: Client) -> None:
    def create(**fields):
        return lambda: client.CreateWebhook(M.CreateWebhookRequest(webhook=R.Webhook(**fields)))

    code, message = status_of(create(url="http://x.example", event_types=["version.promoted"]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("webhook.event_types[0]: unknown event type 'version.promoted'")
    code, message = status_of(create(url=""))
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "webhook.url: a webhook needs a url",
    )
    code, message = status_of(create(url="http://x.example", model_prefix="a b"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message.startswith("webhook.model_prefix")
    code, message = status_of(
        lambda: client.DeleteWebhook(M.DeleteWebhookRequest(name="webhooks/nope"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message.startswith("name: 'webhooks/nope'")


def test_each_matching_event_gets_one_delivery_from_its_own_transaction(client: Client) -> None:
    every = hook(client)
    created_only = hook(client, ("version.created",))
    other_models = hook(client, prefix="zzz")
    client.create("fraud")
    client.create("fraud", ready=True)
    events = client.ListEvents(M.ListEventsRequest()).events
    assert [e.type for e in events] == ["version.created", "version.created", "version.ready"]
    got = deliveries(client, every).deliveries
    assert [d.event_sequence for d in got] == [e.sequence for e in reversed(events)]
    assert {d.state for d in got} == {PENDING}
    assert got[0].id == f"{every.name.split('/')[1]}_{got[0].event_sequence}"
    assert got[0].event_type == "version.ready"
    assert got[0].event_resource == events[-1].resource
    only = deliveries(client, created_only).deliveries
    assert [d.event_type for d in only] == ["version.created", "version.created"]
    assert deliveries(client, other_models).deliveries == []


def test_only_the_oldest_pending_delivery_of_a_webhook_is_claimed(client: Client) -> None:
    first_hook = hook(client)
    client.create("fraud")
    client.create("fraud")
    second_hook = hook(client)
    client.create("fraud")
    got = claim(client)
    # The first webhook's oldest event and the second's only one; never two of one webhook.
    assert [(c.delivery.name.split("/")[1], c.delivery.event_sequence) for c in got] == [
        (first_hook.name.split("/")[1], 1),
        (second_hook.name.split("/")[1], 3),
    ]
    assert got[0].url == "http://receiver.example/hook" and got[0].secret == first_hook.secret
    assert got[0].event.sequence == 1 and got[0].event.type == "version.created"
    assert got[0].delivery.attempts == 1
    assert claim(client, owner="g2") == []  # leased
    assert record(client, got[0].delivery.name, DELIVERED)
    again = claim(client, owner="g2")
    assert [c.delivery.event_sequence for c in again] == [2]
    assert not record(client, again[0].delivery.name, DELIVERED, owner="g1")  # not its lease
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    assert record(
        client, again[0].delivery.name, PENDING, owner="g2", next_attempt_time=later, error="500"
    )
    assert claim(client, owner="g3") == []  # not due; the head blocks the rest of its webhook
    listed = deliveries(client, first_hook, state=DELIVERED).deliveries
    assert [(d.event_sequence, d.state) for d in listed] == [(1, DELIVERED)]
    assert listed[0].HasField("deliver_time")


def test_a_parked_delivery_no_longer_blocks_and_redelivery_makes_it_the_head(
    client: Client,
) -> None:
    webhook = hook(client)
    client.create("fraud")
    client.create("fraud")
    (head,) = claim(client)
    assert record(client, head.delivery.name, PARKED, status_code=500, error="HTTP 500")
    (next_one,) = claim(client)
    assert next_one.delivery.event_sequence == 2
    parked = deliveries(client, webhook, state=PARKED).deliveries
    assert [(d.event_sequence, d.last_status_code, d.last_error) for d in parked] == [
        (1, 500, "HTTP 500")
    ]
    redone = client.RedeliverWebhookDelivery(
        M.RedeliverWebhookDeliveryRequest(name=head.delivery.name)
    ).delivery
    assert (redone.state, redone.attempts) == (PENDING, 0)
    # The redelivered one is the oldest pending again; the lease on 2 dropped nothing.
    assert record(client, next_one.delivery.name, DELIVERED)
    assert [c.delivery.event_sequence for c in claim(client)] == [1]
    missing = webhook.name + "/deliveries/99"
    code, message = status_of(
        lambda: client.RedeliverWebhookDelivery(M.RedeliverWebhookDeliveryRequest(name=missing))
    )
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, f"delivery {missing!r} does not exist")


def test_deliveries_page_newest_first(client: Client) -> None:
    webhook = hook(client)
    for _ in range(5):
        client.create("fraud")
    first = deliveries(client, webhook, page_size=2)
    second = deliveries(client, webhook, page_size=2, page_token=first.next_page_token)
    third = deliveries(client, webhook, page_size=2, page_token=second.next_page_token)
    assert [d.event_sequence for p in (first, second, third) for d in p.deliveries] == [
        5,
        4,
        3,
        2,
        1,
    ]
    assert third.next_page_token == ""


def test_an_expired_lease_is_claimed_again(client: Client, migrated_url: str) -> None:
    hook(client)
    client.create("fraud")
    (held,) = claim(client, owner="dead", lease=30)
    db = Database(migrated_url)
    try:
        with db.write() as session:
            assert (
                store.claim(session, "g2", 30, 10, datetime.now(UTC) + timedelta(seconds=10)) == []
            )
        with db.write() as session:
            later = datetime.now(UTC) + timedelta(seconds=31)
            (again,) = store.claim(session, "g2", 30, 10, later)
        assert (again.delivery.sequence, again.delivery.attempts) == (1, 2)
    finally:
        db.dispose()
    assert not record(client, held.delivery.name, DELIVERED, owner="dead")
    assert record(client, held.delivery.name, DELIVERED, owner="g2")


def test_claims_are_checked(client: Client) -> None:
    code, message = status_of(lambda: claim(client, owner=""))
    assert (code, message) == (grpc.StatusCode.INVALID_ARGUMENT, "owner: a claim needs an owner")
    code, message = status_of(lambda: claim(client, lease=0))
    assert message == "lease_seconds: a lease lasts 1 to 3600 seconds, got 0"
    code, message = status_of(lambda: claim(client, limit=-1))
    assert message == "limit: claim 0 to 1000, got -1"
    bad = M.RecordWebhookDeliveryAttemptRequest(name="webhooks/x", state=DELIVERED)
    code, message = status_of(
        lambda: client.ClaimWebhookDeliveries(
            M.ClaimWebhookDeliveriesRequest(owner="g1", lease_seconds=5, outcomes=[bad])
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("outcomes[0].name: 'webhooks/x' is not a delivery name")


def test_outcomes_recorded_with_the_claim_free_the_next_delivery_at_once(client: Client) -> None:
    hook(client)
    client.create("fraud")
    client.create("fraud")
    (first,) = claim(client)
    answer = client.ClaimWebhookDeliveries(
        M.ClaimWebhookDeliveriesRequest(
            owner="g1",
            lease_seconds=60,
            limit=10,
            outcomes=[
                M.RecordWebhookDeliveryAttemptRequest(name=first.delivery.name, state=DELIVERED),
                # Not this owner's lease any more once recorded: not counted.
                M.RecordWebhookDeliveryAttemptRequest(name=first.delivery.name, state=DELIVERED),
            ],
        )
    )
    assert answer.recorded == 1
    assert [c.delivery.event_sequence for c in answer.deliveries] == [2]
