"""Text renderings of lineage graphs: an indented tree for the terminal, and Graphviz dot."""

from __future__ import annotations

from collections import defaultdict

from modelregistry.v1 import resources_pb2

_EDGE: dict[int, str] = {
    resources_pb2.LINEAGE_EDGE_TYPE_DERIVED_FROM: "derived_from",
    resources_pb2.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM: "fine_tuned_from",
    resources_pb2.LINEAGE_EDGE_TYPE_TRAINED_ON: "trained_on",
    resources_pb2.LINEAGE_EDGE_TYPE_EVALUATED_ON: "evaluated_on",
    resources_pb2.LINEAGE_EDGE_TYPE_PRODUCED_BY: "produced_by",
}
_KIND: dict[int, str] = {
    resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION: "model",
    resources_pb2.LINEAGE_NODE_TYPE_DATASET: "dataset",
    resources_pb2.LINEAGE_NODE_TYPE_EXPERIMENT: "experiment",
    resources_pb2.LINEAGE_NODE_TYPE_RUN: "run",
}


def edge_name(edge_type: int) -> str:
    """``LINEAGE_EDGE_TYPE_TRAINED_ON`` -> ``trained_on``."""
    return _EDGE.get(edge_type, "related_to")


def _label(node: resources_pb2.LineageNode) -> str:
    return f"{_KIND.get(node.type, 'node')} {node.key}"


def tree(
    root: resources_pb2.LineageNode,
    edges: list[resources_pb2.LineageEdge],
    upstream: bool = True,
) -> str:
    """An indented tree from ``root``, following edges upstream (or downstream)."""
    children: dict[str, list[tuple[str, resources_pb2.LineageNode]]] = defaultdict(list)
    for edge in edges:
        start, end = (edge.subject, edge.object) if upstream else (edge.object, edge.subject)
        children[start.key].append((edge_name(edge.type), end))
    lines = [_label(root)]

    def walk(key: str, prefix: str, seen: frozenset[str]) -> None:
        branches = sorted(children.get(key, []), key=lambda b: (b[0], b[1].key))
        for i, (relation, node) in enumerate(branches):
            last = i == len(branches) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{relation} {_label(node)}")
            if node.key not in seen:
                walk(node.key, prefix + ("    " if last else "│   "), seen | {node.key})

    walk(root.key, "", frozenset({root.key}))
    return "\n".join(lines)


def dot(nodes: list[resources_pb2.LineageNode], edges: list[resources_pb2.LineageEdge]) -> str:
    """Graphviz dot of the subgraph; edges point from subject to the upstream object."""
    shapes = {"model": "box", "dataset": "cylinder", "experiment": "folder", "run": "ellipse"}

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = ["digraph lineage {", "  rankdir=BT;"]
    for node in nodes:
        shape = shapes.get(_KIND.get(node.type, "node"), "ellipse")
        out.append(f"  {quote(node.key)} [label={quote(_label(node))}, shape={shape}];")
    for edge in edges:
        out.append(
            f"  {quote(edge.subject.key)} -> {quote(edge.object.key)} "
            f"[label={quote(edge_name(edge.type))}];"
        )
    out.append("}")
    return "\n".join(out)
