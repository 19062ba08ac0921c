"""Who may call which ``RegistryService`` method, and which model a request is about."""

from __future__ import annotations

from typing import Any

from modelregistry.v1 import registry_pb2
from services.common.auth import Role
from services.common.validation import reference_model

_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"]
SERVICE_NAME = _SERVICE.full_name
_WRITES = {
    "RegisterModelVersion",
    "UpdateModelVersion",
    "SetAlias",
    "DeleteAlias",
    "CreateEvaluation",
    "CreateLineageEdge",
    "PromoteModelVersion",
    "WithdrawPromotion",
    "RollbackProduction",
    "ReportDeployment",
}
_APPROVALS = {"ApprovePromotion", "RejectPromotion"}


def _role(method: str) -> Role:
    if method in _APPROVALS:
        return Role.APPROVER
    return Role.WRITER if method in _WRITES else Role.READER


#: The role each method needs: approvals need approver, writes writer, the rest reader.
#: (A rollback with ``override`` also needs admin; the promotion engine checks that.)
METHOD_ROLES: dict[str, Role] = {
    f"/{_SERVICE.full_name}/{m.name}": _role(m.name) for m in _SERVICE.methods
}


def model_of(request: Any) -> str | None:
    """The model id a request is about, from its resource-name or reference fields."""
    for field in ("parent", "name", "model_version"):
        value = getattr(request, field, "")
        if isinstance(value, str) and value.startswith("models/"):
            return value.split("/")[1]
    model = getattr(request, "model", "")
    if isinstance(model, str) and model:
        return model
    reference = getattr(request, "reference", "")
    if isinstance(reference, str) and reference:
        return reference_model(reference)
    return None


def _model_of_name(name: str) -> str:
    return name.split("/")[1] if name.startswith("models/") else name


def scope_response(method: str, request: Any, response: Any, prefix: str) -> Any:
    """Drop what a model-prefix-limited token may not see from cross-model answers.

    Single-model requests are checked before the call (``model_of``); these answers mix
    models, so they are filtered after it. Pages may then hold fewer items than asked.
    """
    if not prefix:
        return response
    if method == "SearchModelVersions":
        kept = [v for v in response.model_versions if v.model.startswith(prefix)]
        del response.model_versions[:]
        response.model_versions.extend(kept)
    elif method == "ListModels":
        kept = [m for m in response.models if _model_of_name(m.name).startswith(prefix)]
        del response.models[:]
        response.models.extend(kept)
    elif method == "AnalyzeImpact":
        kept = [v for v in response.versions if _model_of_name(v.model_version).startswith(prefix)]
        del response.versions[:]
        response.versions.extend(kept)
    return response


def out_of_scope(method: str, request: Any, prefix: str) -> list[str]:
    """Models named by a multi-model request that lie outside the token's prefix."""
    if not prefix or method != "CompareModelVersions":
        return []
    return [n for n in request.names if not _model_of_name(n).startswith(prefix)]
