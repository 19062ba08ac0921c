"""Registry events as CloudEvents 1.0, in one place.

Every outbox event (``modelregistry.v1.Event``) maps to one CloudEvent in structured JSON
mode (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md):

* ``specversion``: ``"1.0"``
* ``id``: the outbox sequence, as a string (unique per source, the resume cursor)
* ``source``: the gateway's configured source (``MREG_CLOUDEVENTS_SOURCE``), by default
  ``mreg://<host name>``
* ``type``: from :data:`CLOUDEVENT_TYPES`, for example ``stage.changed`` ->
  ``io.modelregistry.version.stage_changed``, ``promotion.completed`` ->
  ``io.modelregistry.version.promoted``
* ``subject``: the resource name the event is about (``models/fraud/versions/3``)
* ``time``: the commit time, RFC 3339 in UTC
* ``datacontenttype``: ``application/json``; ``data``: the event's proto3 JSON mapping

The same mapping is used by the HTTP event stream (``?format=cloudevents``) and webhook
deliveries; docs/events.md documents it for gRPC ``WatchEvents`` consumers.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from google.protobuf import json_format

from modelregistry.v1 import resources_pb2

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"

#: Our event kinds (``Event.type``) and the CloudEvent ``type`` each is sent as.
CLOUDEVENT_TYPES: dict[str, str] = {
    "version.created": "io.modelregistry.version.created",
    "version.ready": "io.modelregistry.version.ready",
    "version.failed": "io.modelregistry.version.failed",
    "version.updated": "io.modelregistry.version.updated",
    "version.deleted": "io.modelregistry.version.deleted",
    "stage.changed": "io.modelregistry.version.stage_changed",
    "alias.set": "io.modelregistry.alias.set",
    "alias.deleted": "io.modelregistry.alias.deleted",
    "evaluation.created": "io.modelregistry.evaluation.created",
    "lineage.edge_created": "io.modelregistry.lineage.edge_created",
    "lineage.edge_deleted": "io.modelregistry.lineage.edge_deleted",
    "model.updated": "io.modelregistry.model.updated",
    "model.deleted": "io.modelregistry.model.deleted",
    "promotion.requested": "io.modelregistry.promotion.requested",
    "promotion.approved": "io.modelregistry.promotion.approved",
    "promotion.rejected": "io.modelregistry.promotion.rejected",
    "promotion.withdrawn": "io.modelregistry.promotion.withdrawn",
    "promotion.completed": "io.modelregistry.version.promoted",
    "promotion.failed": "io.modelregistry.promotion.failed",
    "deployment.reported": "io.modelregistry.deployment.reported",
}

#: The event kinds a webhook may filter on.
EVENT_TYPES = frozenset(CLOUDEVENT_TYPES)


def default_source() -> str:
    """``mreg://<host name>``: the source when none is configured."""
    return f"mreg://{socket.gethostname()}"


def cloudevent_type(kind: str) -> str:
    """The CloudEvent ``type`` of one of our event kinds (unknown kinds keep a prefix)."""
    return CLOUDEVENT_TYPES.get(kind) or f"io.modelregistry.{kind}"


def to_cloudevent(event: resources_pb2.Event, source: str) -> dict[str, Any]:
    """The CloudEvent (structured mode, as a JSON-ready dict) of one outbox event."""
    return {
        "specversion": SPEC_VERSION,
        "id": str(event.sequence),
        "source": source,
        "type": cloudevent_type(event.type),
        "subject": event.resource,
        "time": event.time.ToJsonString(),
        "datacontenttype": "application/json",
        "data": json_format.MessageToDict(event),
    }


def cloudevent_json(event: resources_pb2.Event, source: str) -> bytes:
    """The CloudEvent of ``event`` as compact UTF-8 JSON, keys sorted: the body webhooks
    receive, byte for byte the same on every attempt from any gateway (map order in the
    proto is not)."""
    body = json.dumps(to_cloudevent(event, source), separators=(",", ":"), sort_keys=True)
    return body.encode()
