"""Typed wrappers of the gateway's webhook RPCs, mixed into :class:`mreg.Client`.

Webhooks are admin-only. A webhook's secret (``whsec_...``) is returned once, by
:meth:`WebhookOperations.create_webhook`; keep it to verify the ``webhook-signature``
header of each delivery (any Standard Webhooks library does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from modelregistry.v1 import registry_pb2, resources_pb2

DELIVERY_STATES = ["pending", "delivered", "parked"]


def webhook_name(webhook: str) -> str:
    """``webhooks/{id}`` from a name or a bare id."""
    return webhook if webhook.startswith("webhooks/") else f"webhooks/{webhook}"


class WebhookOperations:
    """Webhook calls; needs ``_unary`` from Client."""

    _unary: Callable[..., Any]

    def create_webhook(
        self, url: str, event_types: Sequence[str] = (), model_prefix: str = ""
    ) -> resources_pb2.Webhook:
        """Subscribe ``url`` to events (of these types, of models starting with the
        prefix); the answer carries the signing secret, this once."""
        request = registry_pb2.CreateWebhookRequest(
            webhook=resources_pb2.Webhook(
                url=url, event_types=list(event_types), model_prefix=model_prefix
            )
        )
        return self._unary("CreateWebhook", request).webhook

    def webhooks(self) -> list[resources_pb2.Webhook]:
        """Every webhook, oldest first (no secrets)."""
        return list(self._unary("ListWebhooks", registry_pb2.ListWebhooksRequest()).webhooks)

    def delete_webhook(self, webhook: str) -> None:
        """Remove a webhook and its deliveries."""
        self._unary("DeleteWebhook", registry_pb2.DeleteWebhookRequest(name=webhook_name(webhook)))

    def webhook_deliveries(
        self, webhook: str, state: str = "", limit: int = 50
    ) -> list[resources_pb2.WebhookDelivery]:
        """A webhook's newest deliveries, optionally only ``pending``, ``delivered`` or
        ``parked`` ones."""
        request = registry_pb2.ListWebhookDeliveriesRequest(
            parent=webhook_name(webhook), page_size=min(max(limit, 1), 1000)
        )
        if state:
            request.state = resources_pb2.WebhookDeliveryState.Value(
                f"WEBHOOK_DELIVERY_STATE_{state.upper()}"
            )
        return list(self._unary("ListWebhookDeliveries", request).deliveries)

    def redeliver(self, delivery: str) -> resources_pb2.WebhookDelivery:
        """Send a delivery again (a parked one, or one delivered before)."""
        request = registry_pb2.RedeliverWebhookDeliveryRequest(name=delivery)
        return self._unary("RedeliverWebhookDelivery", request).delivery
