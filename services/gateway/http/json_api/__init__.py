"""HTTP/JSON for every ``RegistryService`` RPC, from its ``google.api.http`` annotations.

:mod:`.rules` reads the bindings from the descriptors, :mod:`.transcode` turns a request
into the RPC's message, :mod:`.api` serves the routes (dispatching over loopback gRPC to
the gateway itself) and :mod:`.openapi` describes them.
"""

from __future__ import annotations

import functools
from typing import Any

import grpc

from modelregistry.v1 import registry_pb2
from services.gateway.http.json_api.api import MAX_BODY_BYTES, JsonApi
from services.gateway.http.json_api.openapi import build_openapi

SERVICE = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"]

__all__ = ["MAX_BODY_BYTES", "SERVICE", "JsonApi", "build_json_api", "registry_openapi"]


@functools.cache
def registry_openapi() -> dict[str, Any]:
    """The OpenAPI description of ``RegistryService``'s HTTP bindings."""
    return build_openapi(SERVICE)


def build_json_api(
    target: str,
    credentials: grpc.ChannelCredentials | None = None,
    cloudevents_source: str = "",
) -> JsonApi:
    """The ``/v1/`` routes, calling the gateway's gRPC port at ``target``."""
    return JsonApi(SERVICE, target, registry_openapi, credentials, cloudevents_source)
