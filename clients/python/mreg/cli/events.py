"""``mreg events``: the registry's event stream, listed or followed."""

from __future__ import annotations

import json

import click

from mreg.cli.failures import command
from mreg.cli.options import Connection, registry_options
from mreg.cli.output import to_dict

#: Every event type the registry emits, as `Event.type` in protos/modelregistry/v1/resources.proto
#: lists them (a test keeps the two the same).
EVENT_TYPES = [
    "version.created",
    "version.ready",
    "version.failed",
    "version.updated",
    "version.deleted",
    "stage.changed",
    "alias.set",
    "alias.deleted",
    "evaluation.created",
    "lineage.edge_created",
    "lineage.edge_deleted",
    "model.updated",
    "model.deleted",
    "promotion.requested",
    "promotion.approved",
    "promotion.rejected",
    "promotion.withdrawn",
    "promotion.completed",
    "promotion.failed",
    "deployment.reported",
]


@command(
    "events",
    fields={"after_sequence": "--after", "model": "--model", "types": "--type"},
    help="Print registry events. In order, one a line; --follow keeps watching until Ctrl-C.",
)
@click.option(
    "--after", type=int, default=0, show_default=True, help="Start after this sequence number."
)
@click.option("--model", default="", help="Only events about this model.")
@click.option(
    "--type",
    "types",
    type=click.Choice(EVENT_TYPES),
    multiple=True,
    metavar="TYPE",
    help="Only events of this type (repeatable): " + ", ".join(EVENT_TYPES) + ".",
)
@click.option("--follow", is_flag=True, help="Wait for new events; Ctrl-C ends.")
@registry_options
def events(conn: Connection, after: int, model: str, types: tuple[str, ...], follow: bool):
    from mreg.interrupt import until_interrupted

    with conn.client() as c:
        seen = []
        stream = c.events(after, model=model, types=list(types), follow=follow)
        for event in until_interrupted(stream) if follow else stream:
            if conn.as_json and not follow:
                seen.append(to_dict(event))
                continue
            if conn.as_json:
                print(json.dumps(to_dict(event)), flush=True)
            else:
                attributes = " ".join(f"{k}={v}" for k, v in sorted(event.attributes.items()))
                print(f"{event.sequence}  {event.type}  {event.resource}  {attributes}", flush=True)
    if conn.as_json and not follow:
        print(json.dumps({"events": seen}, indent=2))
    return 0


def register(group: click.Group) -> None:
    """Add ``events`` to ``group``."""
    group.add_command(events)
