"""Only the registry's own services may call the metadata service."""

from __future__ import annotations

from modelregistry.metadata.v1 import metadata_pb2
from services.common.auth import Role, every_method

#: Every method needs the service credential: the gateway is the metadata service's only
#: client, and it names the principal it acts for in the ``x-mreg-principal`` header.
METHOD_ROLES: dict[str, Role] = every_method(
    metadata_pb2.DESCRIPTOR.services_by_name["MetadataService"], Role.SERVICE
)
