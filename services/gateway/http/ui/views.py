"""How the web UI shows registry things: names, sizes, times, stages, links, lineage trees.

Plain functions over protos, registered as Jinja2 filters and globals by ``templates``
so the templates stay free of logic beyond loops and conditions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from google.protobuf.timestamp_pb2 import Timestamp

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2

_STAGES = {
    v.number: v.name.removeprefix("STAGE_").lower() for v in resources_pb2.Stage.DESCRIPTOR.values
}
_STATES = {
    v.number: v.name.removeprefix("VERSION_STATE_").lower()
    for v in resources_pb2.VersionState.DESCRIPTOR.values
}
_PROMOTION_STATES = {
    v.number: v.name.removeprefix("PROMOTION_STATE_").lower().replace("_", " ")
    for v in resources_pb2.PromotionState.DESCRIPTOR.values
}
_EVALUATION_TYPES = {
    v.number: v.name.removeprefix("EVALUATION_TYPE_").lower()
    for v in resources_pb2.EvaluationType.DESCRIPTOR.values
}
_EDGE_TYPES = {
    v.number: v.name.removeprefix("LINEAGE_EDGE_TYPE_").lower()
    for v in resources_pb2.LineageEdgeType.DESCRIPTOR.values
}
_NODE_TYPES = {
    v.number: v.name.removeprefix("LINEAGE_NODE_TYPE_").lower()
    for v in resources_pb2.LineageNodeType.DESCRIPTOR.values
}
NODE_TYPE_OF = {name: number for number, name in _NODE_TYPES.items() if number}
_DEPLOYMENT_STATUSES = {
    v.number: v.name.removeprefix("DEPLOYMENT_STATUS_").lower()
    for v in resources_pb2.DeploymentStatus.DESCRIPTOR.values
}
_DECISIONS = {
    v.number: v.name.removeprefix("APPROVAL_DECISION_").lower()
    for v in resources_pb2.ApprovalDecision.DESCRIPTOR.values
}
VERSION = resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION


def stage(value: int) -> str:
    return _STAGES.get(value, "unspecified")


def state(value: int) -> str:
    return _STATES.get(value, "unspecified")


def promotion_state(value: int) -> str:
    return _PROMOTION_STATES.get(value, "unspecified")


def evaluation_type(value: int) -> str:
    return _EVALUATION_TYPES.get(value, "unspecified")


def edge_type(value: int) -> str:
    return _EDGE_TYPES.get(value, "unspecified").replace("_", " ")


def node_type(value: int) -> str:
    return _NODE_TYPES.get(value, "unspecified").replace("_", " ")


def deployment_status(value: int) -> str:
    return _DEPLOYMENT_STATUSES.get(value, "unspecified")


def decision(value: int) -> str:
    return _DECISIONS.get(value, "unspecified")


def size(n: int) -> str:
    """Bytes for people: ``512 B``, ``3.0 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def when(stamp: Timestamp) -> str:
    """A timestamp as ``2026-12-03 14:51:07 UTC``; empty when unset."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(stamp: Timestamp) -> str:
    """A timestamp for ``<time datetime>``."""
    return stamp.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ") if stamp.seconds else ""


def number(value: float) -> str:
    """A metric value: up to 6 significant digits."""
    return f"{value:.6g}"


def inspection_summary(inspection) -> str:
    """``2 tensors, 1,024 parameters, BF16/F32`` from what inspection found."""
    parts = []
    if inspection.tensor_count:
        parts.append(f"{inspection.tensor_count:,} tensors")
    if inspection.parameter_count:
        parts.append(f"{inspection.parameter_count:,} parameters")
    if inspection.dtypes:
        parts.append("/".join(inspection.dtypes))
    return ", ".join(parts)


def version_url(name: str) -> str:
    """``models/m/versions/1.0.0`` -> ``/models/m/versions/1.0.0`` (each part quoted)."""
    return "/" + "/".join(quote(part, safe="") for part in name.split("/"))


def event_url(resource: str) -> str:
    """The page of what an event is about: the version's, else the model's (or none)."""
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "models":
        return ""
    if len(parts) >= 4 and parts[2] == "versions":
        return version_url("/".join(parts[:4]))
    return f"/models/{quote(parts[1], safe='')}"


def short_version(name: str) -> str:
    """``models/m/versions/1.0.0`` -> ``m:1.0.0``."""
    parts = name.split("/")
    return f"{parts[1]}:{parts[3]}" if len(parts) == 4 else name


def node_url(node: resources_pb2.LineageNode) -> str:
    """A version's page for version nodes, the lineage page of any other node."""
    if node.type == VERSION:
        return version_url(node.key)
    return "/lineage?" + urlencode({"type": _NODE_TYPES.get(node.type, ""), "key": node.key})


def node_label(node: resources_pb2.LineageNode) -> str:
    return short_version(node.key) if node.type == VERSION else node.key


def query(base: str, **params: object) -> str:
    """``base`` with the non-empty ``params`` as its query string."""
    kept = {k: v for k, v in params.items() if v not in ("", None, False)}
    return f"{base}?{urlencode(kept, doseq=True)}" if kept else base


@dataclass
class Branch:
    """One node of a lineage tree: how it relates to its parent, and its own branches."""

    node: resources_pb2.LineageNode
    relation: str
    children: list[Branch] = field(default_factory=list)


def lineage_trees(
    start: resources_pb2.LineageNode, edges: Iterable[resources_pb2.LineageEdge]
) -> tuple[list[Branch], list[Branch]]:
    """Upstream (what ``start`` came from) and downstream (what came from it) as trees.

    A node reached along two paths appears under both: the graph is a DAG, not a tree.
    """
    up: dict[tuple[int, str], list[resources_pb2.LineageEdge]] = {}
    down: dict[tuple[int, str], list[resources_pb2.LineageEdge]] = {}
    for edge in edges:
        up.setdefault((edge.subject.type, edge.subject.key), []).append(edge)
        down.setdefault((edge.object.type, edge.object.key), []).append(edge)

    def grow(node: resources_pb2.LineageNode, upstream: bool, seen: frozenset) -> list[Branch]:
        key = (node.type, node.key)
        branches = []
        for edge in (up if upstream else down).get(key, []):
            other = edge.object if upstream else edge.subject
            other_key = (other.type, other.key)
            if other_key in seen:
                continue
            children = grow(other, upstream, seen | {other_key})
            branches.append(Branch(other, edge_type(edge.type), children))
        return branches

    origin = frozenset({(start.type, start.key)})
    return grow(start, True, origin), grow(start, False, origin)


def evaluation_rows(
    names: list[str], evaluations: dict[str, list[resources_pb2.Evaluation]]
) -> list[tuple[str, dict[str, str]]]:
    """Rows ``(dataset type metric, {version: value})`` of the evaluations of ``names``;
    a version evaluated more than once on the same dataset and type shows its newest."""
    rows: dict[str, dict[str, str]] = {}
    for name in names:
        newest_first = sorted(
            evaluations.get(name, []), key=lambda e: e.create_time.ToNanoseconds(), reverse=True
        )
        for evaluation in newest_first:
            dataset = f"{evaluation.dataset_name}@{evaluation.dataset_version}".rstrip("@")
            for metric, value in sorted(evaluation.metrics.items()):
                label = f"{dataset} ({evaluation_type(evaluation.type)}) {metric}"
                rows.setdefault(label, {}).setdefault(name, number(value))
    return sorted(rows.items())


def best_of(table: metadata_pb2.CompareModelVersionsResponse) -> dict[str, str]:
    """The best version per compared metric."""
    return {b.metric: b.model_version for b in table.best}


FILTERS = {
    "stage": stage,
    "state": state,
    "promotion_state": promotion_state,
    "evaluation_type": evaluation_type,
    "edge_type": edge_type,
    "node_type": node_type,
    "deployment_status": deployment_status,
    "decision": decision,
    "size": size,
    "when": when,
    "iso": iso,
    "number": number,
    "version_url": version_url,
    "event_url": event_url,
    "inspection_summary": inspection_summary,
    "short_version": short_version,
    "node_url": node_url,
    "node_label": node_label,
}
