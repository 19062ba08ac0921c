"""Who may call which ``RegistryService`` method, and which model a request is about."""

from __future__ import annotations

from typing import Any

from services.common.auth import Role

_SERVICE = "/modelregistry.v1.RegistryService/"

#: The role each method needs. New methods must be added here: unlisted ones are open.
METHOD_ROLES: dict[str, Role] = {
    _SERVICE + "GetServerInfo": Role.READER,
    _SERVICE + "RegisterModelVersion": Role.WRITER,
    _SERVICE + "ResolveModelVersion": Role.READER,
    _SERVICE + "GetModelVersion": Role.READER,
    _SERVICE + "ListModelVersions": Role.READER,
    _SERVICE + "GetModel": Role.READER,
}


def model_of(request: Any) -> str | None:
    """The model id a request names in ``parent``, ``name`` or ``reference``, if any."""
    for field in ("parent", "name"):
        value = getattr(request, field, "")
        if isinstance(value, str) and value.startswith("models/"):
            return value.split("/")[1]
    reference = getattr(request, "reference", "")
    if isinstance(reference, str) and reference:
        for separator in ("@", ":"):
            reference = reference.split(separator, 1)[0]
        return reference
    return None
