"""Who may call which ``ArtifactService`` method."""

from __future__ import annotations

from modelregistry.v1 import artifacts_pb2
from services.common.auth import Role, every_method

_SERVICE = artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"]
_WRITES = {"UploadChunks", "CommitBlob", "UploadBlob", "CommitTree"}
_SERVICE_ONLY = {"PinBlob", "UnpinBlob"}
_ADMIN = {"CollectGarbage", "ScrubStorage"}


def _role(method: str) -> Role:
    if method in _WRITES:
        return Role.WRITER
    if method in _SERVICE_ONLY:
        return Role.SERVICE
    if method in _ADMIN:
        return Role.ADMIN
    return Role.READER


#: The role each method needs: reads need reader, uploads writer, pins are for the
#: registry's own services (the gateway pins what versions use), GC and scrub need admin.
METHOD_ROLES: dict[str, Role] = {
    name: _role(name.rsplit("/", 1)[-1]) for name in every_method(_SERVICE, Role.READER)
}
