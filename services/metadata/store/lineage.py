"""The lineage graph: nodes, edges, and walks done in the database with recursive CTEs.

The same SQLAlchemy ``WITH RECURSIVE`` runs on PostgreSQL and SQLite. A walk carries
``(node, depth, edge)`` rows and stops at ``max_depth``; ``UNION`` (not ``UNION ALL``)
drops repeats, so diamonds in the graph cost rows per distinct edge, not per path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, cast, delete, literal, null, select
from sqlalchemy.orm import Session

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


def _edge_row(session: Session, subject: int, type_: EdgeType, obj: int) -> EdgeRow | None:
    stmt = select(EdgeRow).where(
        EdgeRow.subject_id == subject, EdgeRow.object_id == obj, EdgeRow.type == type_.value
    )
    return session.execute(stmt).scalar_one_or_none()


def edge_creator(session: Session, subject: int, type_: EdgeType, obj: int) -> str | None:
    """Who recorded the edge, or None if there is no such edge."""
    row = _edge_row(session, subject, type_, obj)
    return row.created_by if row else None


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


def remove_edge(session: Session, subject: int, type_: EdgeType, obj: int) -> bool:
    """Delete an edge; False if there was none."""
    row = _edge_row(session, subject, type_, obj)
    if row is None:
        return False
    session.execute(delete(EdgeRow).where(EdgeRow.id == row.id))
    return True


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


_KINDS = {k.value: k for k in NodeKind}
_EDGE_TYPES = {t.value: t for t in EdgeType}


def walk(
    session: Session,
    start: int,
    direction: Direction,
    max_depth: int,
    types: Sequence[EdgeType],
) -> LineageGraph:
    """Nodes (with their least depth) and followed edges reachable from ``start``.

    One query per direction returns each visited node with the edge that reached it; the
    edges' endpoints are visited nodes, so no second query is needed.
    """
    depths: dict[int, int] = {}
    refs: dict[int, NodeRef] = {}
    edges: dict[int, tuple[int, str, int, str, datetime]] = {}
    for up in _directions(direction):
        cte = _walk(start, up, max_depth, types)
        stmt = (
            select(
                cte.c.node_id,
                cte.c.depth,
                cte.c.edge_id,
                NodeRow.kind,
                NodeRow.key,
                EdgeRow.subject_id,
                EdgeRow.type,
                EdgeRow.object_id,
                EdgeRow.created_by,
                EdgeRow.create_time,
            )
            .join(NodeRow, NodeRow.id == cte.c.node_id)
            .join(EdgeRow, EdgeRow.id == cte.c.edge_id, isouter=True)
        )
        for row in session.connection().execute(stmt).all():
            node_id, depth = row[0], row[1]
            if node_id not in refs:
                refs[node_id] = NodeRef(_KINDS[row[3]], row[4])
            if depth < depths.get(node_id, depth + 1):
                depths[node_id] = depth
            if row[2] is not None and row[2] not in edges:
                edges[row[2]] = (row[5], row[6], row[7], row[8], row[9])
    out_edges = [
        LineageEdge(refs[s_id], _EDGE_TYPES[type_], refs[o_id], by, utc(at))
        for _, (s_id, type_, o_id, by, at) in sorted(edges.items())
    ]
    nodes = sorted(((refs[i], d) for i, d in depths.items()), key=lambda x: (x[1], x[0].key))
    return LineageGraph(nodes, out_edges)


def _directions(direction: Direction) -> list[bool]:
    return {Direction.UP: [True], Direction.DOWN: [False], Direction.BOTH: [True, False]}[direction]


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
