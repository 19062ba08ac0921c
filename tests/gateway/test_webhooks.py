"""Webhook deliveries end to end: public RPCs on the gateway, the delivery worker, a real
HTTP receiver on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import grpc
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2
from services.common.auth import Role
from services.common.server import insecure_channel
from services.common.settings import Settings
from services.gateway.deliveries import DeliveryPolicy, DeliveryWorker
from services.gateway.peers import Peers
from services.metadata.app import build_bindings as metadata_bindings
from tests.conftest import free_port
from tests.gateway.conftest import Stack
from tests.gateway.receiver import Receiver, wait_until

R = resources_pb2
FAST = DeliveryPolicy(
    timeout=1.0,
    lease_seconds=30,
    concurrency=4,
    poll_seconds=0.05,
    initial_backoff=0.05,
    max_backoff=0.2,
    max_age=3600,
    allow_private_targets=True,
    source="mreg://test",
)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(*script: object, port: int = 0) -> Receiver:
        made.append(Receiver(port, list(script)))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def workers(stack: Stack) -> Iterator[Callable[..., DeliveryWorker]]:
    started: list[DeliveryWorker] = []

    def start(policy: DeliveryPolicy = FAST, peers: Peers | None = None) -> DeliveryWorker:
        worker = DeliveryWorker(peers or stack.gateway_service.peers, policy)  # type: ignore[attr-defined]
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def registry(stack: Stack, gateway):
    stack.gateway_service.allow_private_targets = True  # type: ignore[attr-defined]
    return gateway


def create_hook(gateway, url: str, *types: str, prefix: str = "") -> R.Webhook:
    return gateway.CreateWebhook(
        registry_pb2.CreateWebhookRequest(
            webhook=R.Webhook(url=url, event_types=types, model_prefix=prefix)
        ),
        timeout=10,
    ).webhook


def commit(metadata, model: str = "fraud", n: int = 1) -> list[int]:
    """Create ``n`` versions (one version.created event each); their sequences."""
    for _ in range(n):
        metadata.CreateModelVersion(
            metadata_pb2.CreateModelVersionRequest(parent=f"models/{model}"), timeout=10
        )
    events = metadata.ListEvents(metadata_pb2.ListEventsRequest(limit=1000), timeout=10).events
    return [e.sequence for e in events][-n:]


def deliveries(gateway, webhook: R.Webhook) -> list[R.WebhookDelivery]:
    return list(
        gateway.ListWebhookDeliveries(
            registry_pb2.ListWebhookDeliveriesRequest(parent=webhook.name), timeout=10
        ).deliveries
    )


def settled(gateway, webhook: R.Webhook, count: int) -> list[R.WebhookDelivery]:
    """Wait until ``count`` deliveries are no longer pending; oldest first."""

    def done():
        found = deliveries(gateway, webhook)
        finished = [d for d in found if d.state != R.WEBHOOK_DELIVERY_STATE_PENDING]
        return list(reversed(found)) if len(finished) == count == len(found) else None

    return wait_until(done, what=f"{count} settled deliveries")


def test_a_500_is_retried_and_the_delivery_signed_and_delivered_once(
    registry, metadata, workers, receivers
) -> None:
    receiver = receivers(500)
    webhook = create_hook(registry, receiver.url)
    (sequence,) = commit(metadata)
    workers()
    (delivery,) = settled(registry, webhook, 1)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        R.WEBHOOK_DELIVERY_STATE_DELIVERED,
        2,
        200,
    )
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.id
    assert first.body == second.body
    # The Standard Webhooks reference implementation accepts the signature and timestamp.
    event = Verifier(webhook.secret).verify(second.body, second.headers)
    assert event == {
        "specversion": "1.0",
        "id": str(sequence),
        "source": "mreg://test",
        "type": "io.modelregistry.version.created",
        "subject": "models/fraud/versions/1.0.0",
        "time": event["time"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }
    assert event["data"]["sequence"] == str(sequence)
    assert event["data"]["type"] == "version.created"
    assert second.headers["content-type"] == "application/cloudevents+json"
    with pytest.raises(Exception, match="No matching signature"):
        Verifier("whsec_" + "A" * 43 + "=").verify(second.body, second.headers)


@pytest.mark.parametrize("failure", ["hang", "close", "drip"])
def test_a_receiver_that_times_out_or_drops_the_connection_gets_it_again(
    failure: str, registry, metadata, workers, receivers
) -> None:
    receiver = receivers(failure)
    webhook = create_hook(registry, receiver.url)
    commit(metadata)
    workers()
    (delivery,) = settled(registry, webhook, 1)
    assert delivery.state == R.WEBHOOK_DELIVERY_STATE_DELIVERED
    assert len(receiver.requests) == 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.id}


def test_a_receiver_down_then_up_gets_every_event_in_order_once(
    registry, metadata, workers, receivers
) -> None:
    port = free_port()
    webhook = create_hook(registry, f"http://127.0.0.1:{port}/hook")
    sequences = commit(metadata, n=5)
    workers()
    # Refused while down: the first delivery is retried, the others wait behind it.
    wait_until(
        lambda: (found := deliveries(registry, webhook)) and found[-1].attempts >= 3,
        what="three refused attempts",
    )
    found = deliveries(registry, webhook)
    assert "ConnectError" in found[-1].last_error
    assert [d.attempts for d in found[:-1]] == [0, 0, 0, 0]
    receiver = receivers(port=port)
    settled(registry, webhook, 5)
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert ids == [str(s) for s in sequences]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 5


def test_filters_pick_the_events_a_webhook_gets(registry, metadata, workers, receivers) -> None:
    receiver = receivers()
    webhook = create_hook(registry, receiver.url, "version.ready", prefix="fr")
    commit(metadata, "fraud")
    metadata.CreateModelVersion(
        metadata_pb2.CreateModelVersionRequest(parent="models/fraud", ready=True), timeout=10
    )
    metadata.CreateModelVersion(
        metadata_pb2.CreateModelVersionRequest(parent="models/churn", ready=True), timeout=10
    )
    workers()
    (delivery,) = settled(registry, webhook, 1)
    assert (delivery.event_type, delivery.event_resource) == (
        "version.ready",
        "models/fraud/versions/1.0.1",
    )


def test_too_old_is_parked_later_events_still_flow_and_redelivery_sends_it(
    registry, metadata, workers, receivers
) -> None:
    receiver = receivers(500)
    webhook = create_hook(registry, receiver.url)
    commit(metadata, n=2)
    worker = workers(DeliveryPolicy(**{**FAST.__dict__, "max_age": 0.001}))
    first, second = settled(registry, webhook, 2)
    assert (first.state, first.last_status_code, first.last_error) == (
        R.WEBHOOK_DELIVERY_STATE_PARKED,
        500,
        "HTTP 500",
    )
    assert second.state == R.WEBHOOK_DELIVERY_STATE_DELIVERED
    parked = registry.ListWebhookDeliveries(
        registry_pb2.ListWebhookDeliveriesRequest(
            parent=webhook.name, state=R.WEBHOOK_DELIVERY_STATE_PARKED
        ),
        timeout=10,
    ).deliveries
    assert [d.name for d in parked] == [first.name]
    redone = registry.RedeliverWebhookDelivery(
        registry_pb2.RedeliverWebhookDeliveryRequest(name=first.name), timeout=10
    ).delivery
    assert (redone.state, redone.attempts) == (R.WEBHOOK_DELIVERY_STATE_PENDING, 0)
    worker.wake()
    again, _ = settled(registry, webhook, 2)
    assert again.state == R.WEBHOOK_DELIVERY_STATE_DELIVERED
    assert [r.headers["webhook-id"] for r in receiver.requests] == [
        first.id,
        second.id,
        first.id,
    ]


def test_two_gateways_on_one_database_deliver_each_event_once_in_order(
    stack: Stack, registry, metadata, workers, receivers, start_server
) -> None:
    receiver = receivers()
    hooks = [create_hook(registry, receiver.url) for _ in range(3)]
    # A second metadata server on the same database, and a worker behind each.
    other = start_server(*metadata_bindings(Settings(database_url=stack.settings.database_url)))
    workers(DeliveryPolicy(**{**FAST.__dict__, "concurrency": 2}))
    workers(
        DeliveryPolicy(**{**FAST.__dict__, "concurrency": 2}),
        peers=Peers(stack.address("artifacts"), other),
    )
    sequences = commit(metadata, n=10)
    receiver.wait_for(lambda got: len(got) >= 30)
    for webhook in hooks:
        settled(registry, webhook, 10)
    seen = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(seen) == len(set(seen)) == 30
    for webhook in hooks:
        prefix = webhook.name.split("/")[1] + "_"
        mine = [int(i.removeprefix(prefix)) for i in seen if i.startswith(prefix)]
        assert mine == sequences


def test_targets_are_checked_unless_private_targets_are_allowed(
    stack: Stack, gateway, metadata
) -> None:
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(grpc.RpcError) as info:
            create_hook(gateway, url)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        host = url.split("/")[2].split(":")[0]
        assert info.value.details().startswith(f"webhook.url: host {host!r} resolves to {host}")
    with pytest.raises(grpc.RpcError) as info:
        create_hook(gateway, "ftp://example.com/x")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == ("webhook.url: a webhook URL must be http or https, not 'ftp'")
    stack.gateway_service.allow_private_targets = True  # type: ignore[attr-defined]
    created = create_hook(gateway, "http://127.0.0.1:9/hook")
    assert created.secret.startswith("whsec_")
    listed = gateway.ListWebhooks(registry_pb2.ListWebhooksRequest(), timeout=10).webhooks
    assert [(w.name, w.secret) for w in listed] == [(created.name, "")]
    gateway.DeleteWebhook(registry_pb2.DeleteWebhookRequest(name=created.name), timeout=10)
    assert not gateway.ListWebhooks(registry_pb2.ListWebhooksRequest(), timeout=10).webhooks


def test_webhooks_are_for_admins(stack: Stack) -> None:
    stack.restart_gateway(auth=True)
    with insecure_channel(stack.address("gateway")) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        writer = stack.token("wendy", Role.WRITER)
        with pytest.raises(grpc.RpcError) as info:
            stub.ListWebhooks(registry_pb2.ListWebhooksRequest(), metadata=writer, timeout=10)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        admin = stack.token("ada", Role.ADMIN)
        assert not stub.ListWebhooks(
            registry_pb2.ListWebhooksRequest(), metadata=admin, timeout=10
        ).webhooks
        assert stack.tokens is not None
        scoped, _ = stack.tokens.create("sam", [Role.ADMIN], model_prefix="fr")
        scoped_call = (("authorization", f"Bearer {scoped}"),)

        def create(prefix: str) -> R.Webhook:
            return stub.CreateWebhook(
                registry_pb2.CreateWebhookRequest(
                    webhook=R.Webhook(url="http://93.184.215.14/hook", model_prefix=prefix)
                ),
                metadata=scoped_call,
                timeout=10,
            ).webhook

        with pytest.raises(grpc.RpcError) as info:
            create("")
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "a webhook it creates needs a model_prefix starting with that" in (
            info.value.details()
        )
        assert create("fraud").model_prefix == "fraud"


def test_a_worker_that_refuses_private_targets_sends_nothing_there(
    registry, metadata, workers, receivers
) -> None:
    receiver = receivers()
    webhook = create_hook(registry, receiver.url)  # created while private targets were allowed
    commit(metadata)
    workers(DeliveryPolicy(**{**FAST.__dict__, "allow_private_targets": False}))

    def refused():
        (delivery,) = deliveries(registry, webhook)
        return delivery if delivery.attempts >= 2 else None

    delivery = wait_until(refused, what="two refused attempts")
    assert delivery.state == R.WEBHOOK_DELIVERY_STATE_PENDING
    assert delivery.last_error.startswith("url: host '127.0.0.1' resolves to 127.0.0.1")
    assert receiver.requests == []


def test_deliveries_resume_once_the_metadata_service_is_back(
    stack: Stack, registry, metadata, workers, receivers
) -> None:
    receiver = receivers()
    webhook = create_hook(registry, receiver.url)
    sequences = commit(metadata, n=2)
    stack.stop("metadata")
    workers()  # its claims fail and back off
    stack.start("metadata")
    receiver.wait_for(lambda got: len(got) == 2)
    assert [json.loads(r.body)["id"] for r in receiver.requests] == [str(s) for s in sequences]
    assert {r.headers["webhook-id"].split("_")[0] for r in receiver.requests} == {
        webhook.name.split("/")[1]
    }
