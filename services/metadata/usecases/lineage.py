"""Lineage: record edges (refusing self-edges and cycles), walk the graph, analyse impact.

Edge writes serialize on the ``lineage`` counter row (a row lock held to commit), so two
concurrent edges can never close a cycle that each alone would not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.validation import parse_version_name
from services.metadata.domain import (
    Direction,
    EdgeType,
    ImpactedVersion,
    LineageEdge,
    LineageGraph,
    ModelVersion,
    NodeKind,
    NodeRef,
    Stage,
)
from services.metadata.store import lineage as store
from services.metadata.store.db import Tx, bump_counter
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase

#: Depth of a lineage query when none is given, and the deepest allowed.
DEFAULT_DEPTH = 10
MAX_DEPTH = 100
_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,512}")


def validate_node(ref: NodeRef, field: str) -> NodeRef:
    """Check a node's key for its kind; version keys are normalized resource names."""
    if ref.kind is NodeKind.MODEL_VERSION:
        model, version = parse_version_name(ref.key, f"{field}.key")
        return NodeRef(ref.kind, f"models/{model}/versions/{version}")
    if not _KEY.fullmatch(ref.key):
        raise InvalidArgument.field(
            f"{field}.key",
            f"invalid {ref.kind.value} key {ref.key[:80]!r}: use 1-512 printable characters"
            + (" (a dataset is 'name@version')" if ref.kind is NodeKind.DATASET else ""),
        )
    return ref


def depth(value: int, field: str = "max_depth") -> int:
    """The effective depth: 1-100, 0 for the default of 10."""
    if value < 0 or value > MAX_DEPTH:
        raise InvalidArgument.field(
            field, f"depth must be between 1 and {MAX_DEPTH} (0 for {DEFAULT_DEPTH}), got {value}"
        )
    return value or DEFAULT_DEPTH


def _describe(edge: LineageEdge) -> str:
    return f"{edge.subject.key} {edge.type.value} {edge.object.key}"


class LineageUseCases(UseCaseBase):
    """The lineage graph."""

    def _node_id(self, tx: Tx, ref: NodeRef, *, create: bool) -> int:
        """The node's id; version nodes need their version, others are created on demand."""
        if ref.kind is NodeKind.MODEL_VERSION:
            model, version = parse_version_name(ref.key)
            return store.ensure_node(tx, ref, self.version_id(tx, model, version))
        found = store.find_node(tx, ref) if not create else store.ensure_node(tx, ref)
        if found is None:
            raise NotFound(
                f"lineage node {ref.kind.value} {ref.key!r} does not exist",
                metadata={"kind": ref.kind.value, "key": ref.key},
            )
        return found

    def create_edge(self, edge: LineageEdge, actor: str) -> LineageEdge:
        """Record ``subject <type> object``; FAILED_PRECONDITION if it would close a cycle."""
        subject = validate_node(edge.subject, "edge.subject")
        obj = validate_node(edge.object, "edge.object")
        if subject == obj:
            raise InvalidArgument.field(
                "edge",
                f"subject and object are the same node ({subject.kind.value} {subject.key!r}); "
                "a node cannot be its own ancestor",
            )
        now = self.now()
        with self.db.write() as tx:
            bump_counter(tx, "lineage")
            s_id = self._node_id(tx, subject, create=True)
            o_id = self._node_id(tx, obj, create=True)
            recorded = LineageEdge(subject, edge.type, obj, actor, now)
            creator = store.edge_creator(tx, s_id, edge.type, o_id)
            if creator is not None:
                recorded.created_by, recorded.create_time = creator, now
                return recorded
            if store.is_upstream(tx, s_id, o_id):
                raise FailedPrecondition(
                    f"cannot record '{_describe(recorded)}': {subject.key!r} is already upstream "
                    f"of {obj.key!r}, so the edge would close a cycle",
                    reason="LINEAGE_CYCLE",
                    metadata={"subject": subject.key, "object": obj.key},
                )
            store.add_edge(tx, s_id, edge.type, o_id, actor, now)
            change = Change(actor, now)
            self._record_edge(change, recorded, "create")
            flush_change(tx, change)
            return recorded

    @staticmethod
    def _record_edge(change: Change, edge: LineageEdge, verb: str) -> None:
        doc = {"subject": edge.subject.key, "type": edge.type.value, "object": edge.object.key}
        resource = f"lineage/{edge.subject.kind.value}/{edge.subject.key}"
        model = ""
        if edge.subject.kind is NodeKind.MODEL_VERSION:
            model = edge.subject.key.split("/")[1]
        change.audit(
            f"lineage.edge_{verb}",
            resource,
            doc if verb == "delete" else None,
            doc if verb == "create" else None,
        )
        change.event(f"lineage.edge_{verb}d", model, resource, **doc)

    def delete_edge(self, edge: LineageEdge, actor: str) -> None:
        """Remove an edge; NOT_FOUND if it does not exist."""
        subject = validate_node(edge.subject, "edge.subject")
        obj = validate_node(edge.object, "edge.object")
        now = self.now()
        with self.db.write() as tx:
            bump_counter(tx, "lineage")
            s_id, o_id = store.find_node(tx, subject), store.find_node(tx, obj)
            removed = store.remove_edge(tx, s_id, edge.type, o_id) if s_id and o_id else False
            if not removed:
                raise NotFound(
                    f"lineage edge '{subject.key} {edge.type.value} {obj.key}' does not exist"
                )
            change = Change(actor, now)
            self._record_edge(change, LineageEdge(subject, edge.type, obj), "delete")
            flush_change(tx, change)

    def lineage(
        self, node: NodeRef, direction: Direction, max_depth: int, types: Sequence[EdgeType]
    ) -> LineageGraph:
        """The subgraph reachable from ``node``."""
        node = validate_node(node, "node")
        limit = depth(max_depth)
        with self.db.read() as tx:
            start = self._node_id(tx, node, create=False)
            return store.walk(tx, start, direction, limit, types)

    def impact(
        self,
        node: NodeRef,
        max_depth: int,
        types: Sequence[EdgeType],
        stages: Sequence[Stage],
    ) -> list[ImpactedVersion]:
        """Every existing model version downstream of ``node``, nearest first."""
        node = validate_node(node, "node")
        limit = depth(max_depth)
        with self.db.read() as tx:
            start = self._node_id(tx, node, create=False)
            return store.impact(tx, start, limit, types, stages)

    def link_new_version(
        self,
        tx: Tx,
        version_id: int,
        created: ModelVersion,
        links: Sequence[tuple[EdgeType, NodeRef]],
        change: Change,
    ) -> None:
        """Edges from a version being created: its declared links, dataset and run.

        The new node has no edges yet, so none of these can close a cycle.
        """
        edges = list(links)
        if created.training_dataset:
            edges.append((EdgeType.TRAINED_ON, NodeRef(NodeKind.DATASET, created.training_dataset)))
        if created.run_id:
            edges.append((EdgeType.PRODUCED_BY, NodeRef(NodeKind.RUN, created.run_id)))
        if not edges:
            return
        subject = NodeRef(NodeKind.MODEL_VERSION, created.name)
        s_id = store.ensure_node(tx, subject, version_id)
        for type_, obj in edges:
            if obj == subject:
                raise InvalidArgument.field("lineage", "a version cannot be its own ancestor")
            o_id = self._node_id(tx, obj, create=True)
            store.add_edge(tx, s_id, type_, o_id, change.actor, change.now)
            self._record_edge(change, LineageEdge(subject, type_, obj), "create")
