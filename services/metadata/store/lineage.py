"""The lineage graph: nodes, edges, and walks done in the database with recursive CTEs.

The same SQLAlchemy ``WITH RECURSIVE`` runs on PostgreSQL and SQLite. A walk carries
``(node, depth, edge)`` rows and stops at ``max_depth``; ``UNION`` (not ``UNION ALL``)
drops repeats, so diamonds in the graph cost rows per distinct edge, not per path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, cast, delete, literal, null, select
from sqlalchemy.orm import Session, aliased

from services.metadata.domain import (
    Direction,
    EdgeType,
    ImpactedVersion,
    LineageEdge,
    LineageGraph,
    NodeKind,
    NodeRef,
    Stage,
    State,
)
from services.metadata.store.db import insert_ignore
from services.metadata.store.mapping import utc
from services.metadata.store.schema import EdgeRow, ModelRow, NodeRow, VersionRow


def find_node(session: Session, ref: NodeRef) -> int | None:
    """The id of a node, or None."""
    stmt = select(NodeRow.id).where(NodeRow.kind == ref.kind.value, NodeRow.key == ref.key)
    return session.execute(stmt).scalar_one_or_none()


def ensure_node(session: Session, ref: NodeRef, version_id: int | None = None) -> int:
    """The id of a node, created on first use."""
    found = find_node(session, ref)
    if found is not None:
        return found
    insert_ignore(
        session,
        NodeRow,
        {"kind": ref.kind.value, "key": ref.key, "version_id": version_id},
        ["kind", "key"],
    )
    found = find_node(session, ref)
    assert found is not None
    return found


def find_edge(session: Session, subject: int, type_: EdgeType, obj: int) -> EdgeRow | None:
    """One edge, or None."""
    stmt = select(EdgeRow).where(
        EdgeRow.subject_id == subject, EdgeRow.object_id == obj, EdgeRow.type == type_.value
    )
    return session.execute(stmt).scalar_one_or_none()


def add_edge(
    session: Session, subject: int, type_: EdgeType, obj: int, actor: str, now: datetime
) -> None:
    """Insert an edge (the caller checked for cycles)."""
    insert_ignore(
        session,
        EdgeRow,
        {
            "subject_id": subject,
            "object_id": obj,
            "type": type_.value,
            "created_by": actor,
            "create_time": now,
        },
        ["subject_id", "object_id", "type"],
    )


def remove_edge(session: Session, edge: EdgeRow) -> None:
    """Delete an edge."""
    session.execute(delete(EdgeRow).where(EdgeRow.id == edge.id))


def is_upstream(session: Session, candidate: int, of: int) -> bool:
    """Whether ``candidate`` is ``of`` or one of its ancestors (walking object-wards)."""
    walk = select(cast(literal(of), Integer).label("node_id")).cte("up", recursive=True)
    step = select(EdgeRow.object_id).join(walk, EdgeRow.subject_id == walk.c.node_id)
    walk = walk.union(step)
    stmt = select(walk.c.node_id).where(walk.c.node_id == candidate).limit(1)
    return session.execute(stmt).first() is not None


def _walk(start: int, up: bool, max_depth: int, types: Sequence[EdgeType]):
    """The recursive CTE of ``(node_id, depth, edge_id)`` rows reachable from ``start``."""
    base = select(
        cast(literal(start), Integer).label("node_id"),
        cast(literal(0), Integer).label("depth"),
        cast(null(), Integer).label("edge_id"),
    )
    walk = base.cte("walk", recursive=True)
    src, dst = (
        (EdgeRow.subject_id, EdgeRow.object_id) if up else (EdgeRow.object_id, EdgeRow.subject_id)
    )
    step = (
        select(dst, walk.c.depth + 1, EdgeRow.id)
        .join(walk, src == walk.c.node_id)
        .where(walk.c.depth < max_depth)
    )
    if types:
        step = step.where(EdgeRow.type.in_([t.value for t in types]))
    return walk.union(step)


def walk(
    session: Session,
    start: int,
    direction: Direction,
    max_depth: int,
    types: Sequence[EdgeType],
) -> LineageGraph:
    """Nodes (with their least depth) and followed edges reachable from ``start``."""
    depths: dict[int, int] = {}
    edge_ids: set[int] = set()
    refs: dict[int, NodeRef] = {}
    for up in _directions(direction):
        cte = _walk(start, up, max_depth, types)
        stmt = select(cte.c.node_id, cte.c.depth, cte.c.edge_id, NodeRow.kind, NodeRow.key).join(
            NodeRow, NodeRow.id == cte.c.node_id
        )
        for node_id, depth, edge_id, kind, key in session.execute(stmt):
            if node_id not in depths or depth < depths[node_id]:
                depths[node_id] = depth
            refs[node_id] = NodeRef(NodeKind(kind), key)
            if edge_id is not None:
                edge_ids.add(edge_id)
    edges = _edges(session, sorted(edge_ids))
    nodes = sorted(((refs[i], d) for i, d in depths.items()), key=lambda x: (x[1], x[0].key))
    return LineageGraph(nodes, edges)


def _directions(direction: Direction) -> list[bool]:
    return {Direction.UP: [True], Direction.DOWN: [False], Direction.BOTH: [True, False]}[direction]


def _edges(session: Session, ids: list[int]) -> list[LineageEdge]:
    subject, obj = aliased(NodeRow), aliased(NodeRow)
    out: list[LineageEdge] = []
    for start in range(0, len(ids), 5000):
        stmt = (
            select(EdgeRow, subject.kind, subject.key, obj.kind, obj.key)
            .join(subject, subject.id == EdgeRow.subject_id)
            .join(obj, obj.id == EdgeRow.object_id)
            .where(EdgeRow.id.in_(ids[start : start + 5000]))
            .order_by(EdgeRow.id)
        )
        for edge, sk, skey, ok, okey in session.execute(stmt):
            out.append(
                LineageEdge(
                    NodeRef(NodeKind(sk), skey),
                    EdgeType(edge.type),
                    NodeRef(NodeKind(ok), okey),
                    edge.created_by,
                    utc(edge.create_time),
                )
            )
    return out


def impact(
    session: Session,
    start: int,
    max_depth: int,
    types: Sequence[EdgeType],
    stages: Sequence[Stage],
) -> list[ImpactedVersion]:
    """Existing model versions downstream of ``start`` with stage, state and least depth."""
    cte = _walk(start, False, max_depth, types)
    stmt = (
        select(ModelRow.name, VersionRow.version, VersionRow.stage, VersionRow.state, cte.c.depth)
        .select_from(cte)
        .join(NodeRow, NodeRow.id == cte.c.node_id)
        .join(VersionRow, VersionRow.id == NodeRow.version_id)
        .join(ModelRow, ModelRow.id == VersionRow.model_id)
        .where(cte.c.depth > 0)
    )
    if stages:
        stmt = stmt.where(VersionRow.stage.in_([s.value for s in stages]))
    best: dict[tuple[str, str], ImpactedVersion] = {}
    for model, version, stage, state, depth in session.execute(stmt):
        key = (model, version)
        if key not in best or depth < best[key].depth:
            best[key] = ImpactedVersion(model, version, Stage(stage), State(state), depth)
    return sorted(best.values(), key=lambda v: (v.depth, v.model, v.version))
