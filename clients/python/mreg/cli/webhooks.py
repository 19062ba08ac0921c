"""``mreg webhook``: create, list and delete webhooks; see and redeliver their deliveries.

Admin only. Deliveries are CloudEvents POSTed in commit order per webhook, signed the
Standard Webhooks way with the webhook's secret (printed once, by ``create``).
"""

from __future__ import annotations

from typing import Any

import click

from mreg.cli.events import EVENT_TYPES
from mreg.cli.failures import MregGroup
from mreg.cli.options import Connection, registry_options
from mreg.cli.output import emit, to_dict
from mreg.webhooks import DELIVERY_STATES


@click.group(
    "webhook",
    cls=MregGroup,
    help="Send registry events to URLs: create, list, delete, deliveries, redeliver.",
)
def webhook() -> None:
    pass


def _state(state: int) -> str:
    from modelregistry.v1 import resources_pb2

    name = resources_pb2.WebhookDeliveryState.Name(state)
    return name.removeprefix("WEBHOOK_DELIVERY_STATE_").lower()


def _webhook_line(w: Any) -> str:
    types = ",".join(w.event_types) or "every event"
    prefix = f" of models {w.model_prefix}*" if w.model_prefix else ""
    return f"{w.name}  {w.url}  ({types}{prefix})"


@webhook.command(
    "create",
    fields={"url": "URL", "event_types": "--event", "model_prefix": "--model"},
    help="Subscribe URL (http or https) to events. Prints the signing secret once: keep it "
    "to verify each delivery's webhook-signature header.",
)
@click.argument("url")
@click.option(
    "--event",
    "events",
    type=click.Choice(EVENT_TYPES),
    multiple=True,
    metavar="TYPE",
    help="Only events of this type (repeatable); default every type.",
)
@click.option("--model", "prefix", default="", help="Only events of models starting with this.")
@registry_options
def create(conn: Connection, url: str, events: tuple[str, ...], prefix: str) -> int:
    with conn.client() as c:
        created = c.create_webhook(url, events, prefix)
    return emit(
        conn.as_json,
        to_dict(created),
        lambda: f"{_webhook_line(created)}\nsecret: {created.secret} (shown once)",
    )


@webhook.command("list", help="List the webhooks, oldest first.")
@registry_options
def list_(conn: Connection) -> int:
    with conn.client() as c:
        found = c.webhooks()
    return emit(
        conn.as_json,
        {"webhooks": [to_dict(w) for w in found]},
        lambda: "\n".join(_webhook_line(w) for w in found) or "no webhooks",
    )


@webhook.command("delete", fields={"name": "WEBHOOK"}, help="Delete a webhook (webhooks/ID or ID).")
@click.argument("name")
@registry_options
def delete(conn: Connection, name: str) -> int:
    with conn.client() as c:
        c.delete_webhook(name)
    return emit(conn.as_json, {"deleted": name}, lambda: f"deleted {name}")


def _delivery_line(d: Any) -> str:
    line = (
        f"{d.name}  {d.event_type} {d.event_resource}  {_state(d.state)}, {d.attempts} attempt(s)"
    )
    if d.last_error:
        line += f"  last: {d.last_error}"
    return line


@webhook.command(
    "deliveries",
    fields={"parent": "WEBHOOK", "state": "--state"},
    help="A webhook's newest deliveries; --state parked shows what needs a redeliver.",
)
@click.argument("name")
@click.option("--state", type=click.Choice(DELIVERY_STATES), help="Only deliveries in this state.")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@registry_options
def deliveries(conn: Connection, name: str, state: str | None, limit: int) -> int:
    with conn.client() as c:
        found = c.webhook_deliveries(name, state or "", limit)
    return emit(
        conn.as_json,
        {"deliveries": [to_dict(d) for d in found]},
        lambda: "\n".join(_delivery_line(d) for d in found) or "no deliveries",
    )


@webhook.command(
    "redeliver",
    fields={"name": "DELIVERY"},
    help="Send a delivery again (webhooks/ID/deliveries/SEQUENCE), e.g. a parked one.",
)
@click.argument("name")
@registry_options
def redeliver(conn: Connection, name: str) -> int:
    with conn.client() as c:
        done = c.redeliver(name)
    return emit(conn.as_json, to_dict(done), lambda: _delivery_line(done))


def register(group: click.Group) -> None:
    """Add ``mreg webhook`` to ``group``."""
    group.add_command(webhook)
