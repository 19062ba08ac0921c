"""HTTP/JSON for every ``RegistryService`` RPC, from its ``google.api.http`` annotations.

:mod:`.rules` reads the bindings from the descriptors, :mod:`.transcode` turns a request
into the RPC's message, :mod:`.api` serves the routes (dispatching over gRPC to the
gateway itself) and :mod:`.openapi` describes them, with :mod:`.proto_docs`'s comments.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import grpc

from modelregistry.v1 import registry_pb2
from services.gateway.http.json_api.api import MAX_BODY_BYTES, JsonApi

SERVICE = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"]
#: The OpenAPI description, beside registry.proto in the ``modelregistry.v1`` package.
OPENAPI_FILE = "openapi.json"

__all__ = [
    "MAX_BODY_BYTES",
    "OPENAPI_FILE",
    "SERVICE",
    "JsonApi",
    "build_json_api",
    "registry_openapi",
]


@functools.cache
def registry_openapi() -> dict[str, Any]:
    """The OpenAPI description of ``RegistryService``'s HTTP bindings: the document
    ``scripts/gen_openapi.py`` built from the protos and their comments at build time
    (the generated descriptors carry no comments), shipped with ``modelregistry.v1``."""
    document = resources.files(registry_pb2.__package__).joinpath(OPENAPI_FILE)
    return json.loads(document.read_text(encoding="utf-8"))


def build_json_api(
    target: str,
    credentials: grpc.ChannelCredentials | None = None,
    cloudevents_source: str = "",
) -> JsonApi:
    """The ``/v1/`` routes, calling the gateway's gRPC port at ``target``."""
    return JsonApi(SERVICE, target, registry_openapi, credentials, cloudevents_source)
