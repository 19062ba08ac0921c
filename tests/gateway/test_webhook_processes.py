"""A gateway process killed (SIGKILL) in the middle of a webhook delivery: once its lease
ends, the restarted gateway sends the delivery again with the same ``webhook-id``."""

from __future__ import annotations

from pathlib import Path

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2
from services.common.server import insecure_channel
from tests.gateway.receiver import Receiver, wait_until
from tests.gateway.test_process_failures import Processes

GATEWAY_ENV = {
    "MREG_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    "MREG_WEBHOOKS_LEASE_SECONDS": "2",
    "MREG_WEBHOOKS_TIMEOUT_SECONDS": "1",
    "MREG_WEBHOOKS_POLL_SECONDS": "0.05",
}


def test_a_gateway_killed_mid_delivery_delivers_again_with_the_same_id(tmp_path: Path) -> None:
    receiver = Receiver(script=["hang"])  # the first attempt never gets an answer
    processes = Processes(tmp_path / "data", 3600, gateway_env=GATEWAY_ENV)
    try:
        with (
            insecure_channel(processes.address("gateway")) as gateway_channel,
            insecure_channel(processes.address("metadata")) as metadata_channel,
        ):
            gateway = registry_pb2_grpc.RegistryServiceStub(gateway_channel)
            metadata = metadata_pb2_grpc.MetadataServiceStub(metadata_channel)
            webhook = gateway.CreateWebhook(
                registry_pb2.CreateWebhookRequest(webhook=resources_pb2.Webhook(url=receiver.url)),
                timeout=10,
            ).webhook
            metadata.CreateModelVersion(
                metadata_pb2.CreateModelVersionRequest(parent="models/fraud"), timeout=10
            )
            receiver.wait_for(lambda got: len(got) == 1)
            processes.kill("gateway")
            processes.start("gateway")
            receiver.wait_for(lambda got: len(got) == 2)

            def delivered():
                found = gateway.ListWebhookDeliveries(
                    registry_pb2.ListWebhookDeliveriesRequest(parent=webhook.name),
                    timeout=10,
                    wait_for_ready=True,
                ).deliveries
                state = resources_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED
                return found if found and found[0].state == state else None

            (delivery,) = wait_until(delivered, what="the delivery recorded")
        first, second = receiver.requests
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.id
        assert first.body == second.body
        assert delivery.attempts == 2
    finally:
        processes.stop_all()
        receiver.close()
