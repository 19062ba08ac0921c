"""Who may call which ``RegistryService`` method, and which model a request is about."""

from __future__ import annotations

from typing import Any

from modelregistry.v1 import registry_pb2, resources_pb2
from services.common.auth import Role
from services.common.validation import reference_model

_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"]
SERVICE_NAME = _SERVICE.full_name
_WRITES = {
    "RegisterModelVersion",
    "UpdateModel",
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
#: Webhooks send every event of every model they match to a URL: admins only.
_ADMIN = {
    "CreateWebhook",
    "ListWebhooks",
    "DeleteWebhook",
    "ListWebhookDeliveries",
    "RedeliverWebhookDelivery",
}


def _role(method: str) -> Role:
    if method in _ADMIN:
        return Role.ADMIN
    if method in _APPROVALS:
        return Role.APPROVER
    return Role.WRITER if method in _WRITES else Role.READER


#: The role each method needs: webhooks need admin, approvals approver, writes writer, the
#: rest reader.
#: (A rollback with ``override`` also needs admin; the promotion engine checks that.)
METHOD_ROLES: dict[str, Role] = {
    f"/{_SERVICE.full_name}/{m.name}": _role(m.name) for m in _SERVICE.methods
}


def model_of(request: Any) -> str | None:
    """The model id a request is about, from its resource-name or reference fields.

    That includes the ``resource`` of ``ListAuditLog`` (a name prefix) and the start
    ``node`` of ``GetLineage`` and ``AnalyzeImpact`` when it is a model version.
    """
    for field in ("parent", "name", "model_version", "resource"):
        value = getattr(request, field, "")
        if isinstance(value, str) and value.startswith("models/"):
            return value.split("/")[1]
    for field in ("model", "model_version"):  # UpdateModel, UpdateModelVersion: a message
        value = getattr(request, field, None)
        name = getattr(value, "name", "")
        if isinstance(name, str) and name.startswith("models/"):
            return name.split("/")[1]
    node = getattr(request, "node", None)
    if isinstance(node, resources_pb2.LineageNode) and _is_version(node):
        return _model_of_name(node.key)
    model = getattr(request, "model", "")
    if isinstance(model, str) and model:
        return model
    reference = getattr(request, "reference", "")
    if isinstance(reference, str) and reference:
        return reference_model(reference)
    return None


def _model_of_name(name: str) -> str:
    return name.split("/")[1] if name.startswith("models/") else name


def _is_version(node: resources_pb2.LineageNode) -> bool:
    return node.type == resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION


def _in_prefix(name: str, prefix: str) -> bool:
    return name.startswith("models/") and _model_of_name(name).startswith(prefix)


def scope_lineage(
    start: resources_pb2.LineageNode, nodes: Any, edges: Any, prefix: str
) -> tuple[list, list]:
    """The part of a lineage graph a prefix-limited token sees.

    Versions of other models are dropped with their edges, and so is whatever was reached
    only through them: the answer is what is connected to ``start`` without passing
    through another prefix's version.
    """

    def key(node: resources_pb2.LineageNode) -> tuple[int, str]:
        return node.type, node.key

    def visible(node: resources_pb2.LineageNode) -> bool:
        return not _is_version(node) or _in_prefix(node.key, prefix)

    kept_edges = [e for e in edges if visible(e.subject) and visible(e.object)]
    neighbours: dict[tuple[int, str], set[tuple[int, str]]] = {}
    for edge in kept_edges:
        neighbours.setdefault(key(edge.subject), set()).add(key(edge.object))
        neighbours.setdefault(key(edge.object), set()).add(key(edge.subject))
    reached = {key(start)} if visible(start) else set()
    frontier = list(reached)
    while frontier:
        for other in neighbours.get(frontier.pop(), ()):
            if other not in reached:
                reached.add(other)
                frontier.append(other)
    return (
        [n for n in nodes if key(n) in reached],
        [e for e in kept_edges if key(e.subject) in reached],
    )


def _replace(field: Any, kept: list) -> None:
    del field[:]
    field.extend(kept)


def scope_response(method: str, request: Any, response: Any, prefix: str) -> Any:
    """Drop what a model-prefix-limited token may not see from cross-model answers.

    Single-model requests are checked before the call (``model_of``: PERMISSION_DENIED,
    since model names are addressable); these answers mix models, so they are filtered
    after it: search, listings, impact, the audit log (entries about models within the
    prefix only), lineage and a model report's lineage (see :func:`scope_lineage`).
    Pages may then hold fewer items than asked.
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
    elif method == "ListAuditLog":
        _replace(response.entries, [e for e in response.entries if _in_prefix(e.resource, prefix)])
    elif method == "GetLineage":
        nodes, edges = scope_lineage(request.node, response.nodes, response.edges, prefix)
        _replace(response.nodes, nodes)
        _replace(response.edges, edges)
    elif method == "GetModelReport":
        start = resources_pb2.LineageNode(
            type=resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION, key=response.model_version.name
        )
        nodes, edges = scope_lineage(start, response.lineage_nodes, response.lineage_edges, prefix)
        _replace(response.lineage_nodes, nodes)
        _replace(response.lineage_edges, edges)
    return response


def out_of_scope(method: str, request: Any, prefix: str) -> list[str]:
    """Versions named by a request about several (compare, or an edge between two) that
    lie outside the token's prefix."""
    if not prefix:
        return []
    if method == "CompareModelVersions":
        names = list(request.names)
    elif method == "CreateLineageEdge":
        ends = (request.edge.subject, request.edge.object)
        names = [node.key for node in ends if _is_version(node)]
    else:
        return []
    return [n for n in names if not _model_of_name(n).startswith(prefix)]
