"""Conversions between protobuf messages and domain objects (the servicer's only logic)."""

from __future__ import annotations

import json
from datetime import datetime

from google.protobuf import timestamp_pb2

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from services.common.errors import InvalidArgument
from services.common.validation import validate_digest
from services.common.vocabulary import ProtoEnum, from_proto, to_proto
from services.metadata import semver
from services.metadata.domain import (
    Alias,
    AuditEntry,
    Direction,
    EdgeType,
    Evaluation,
    EvaluationType,
    Event,
    ImpactedVersion,
    LineageEdge,
    LineageGraph,
    Model,
    ModelVersion,
    NodeKind,
    NodeRef,
    Stage,
    StageTransition,
    State,
)
from services.metadata.usecases.base import etag

_BUMPS: dict[int, semver.Bump] = {
    resources_pb2.VERSION_BUMP_MAJOR: semver.Bump.MAJOR,
    resources_pb2.VERSION_BUMP_MINOR: semver.Bump.MINOR,
    resources_pb2.VERSION_BUMP_PATCH: semver.Bump.PATCH,
}


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf timestamp, or None."""
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def bump(value: int) -> semver.Bump | None:
    """The domain bump of a ``VersionBump``; None for unspecified."""
    return _BUMPS.get(value)


def stage_to_proto(stage: Stage) -> ProtoEnum:
    """``Stage.PRODUCTION`` -> ``STAGE_PRODUCTION``."""
    return to_proto(stage)


def stage_from_proto(value: int, field: str = "stage") -> Stage:
    """``STAGE_PRODUCTION`` -> ``Stage.PRODUCTION``; INVALID_ARGUMENT for unspecified/unknown."""
    stage = from_proto(Stage, value)
    if stage is None:
        raise InvalidArgument.field(field, f"a stage is required, got {value}")
    return stage


def state_to_proto(state: State) -> ProtoEnum:
    """Domain state -> ``VersionState``."""
    return to_proto(state)


def state_from_proto(value: int) -> State | None:
    """``VersionState`` -> domain state; None for unspecified or unknown."""
    return from_proto(State, value)


def version_spec(msg: resources_pb2.ModelVersion, field: str = "model_version") -> ModelVersion:
    """The user-settable fields of a version from its proto (validated later by the service)."""
    if msg.HasField("artifact_digest") and (
        msg.artifact_digest.hash or msg.artifact_digest.size_bytes
    ):
        validate_digest(msg.artifact_digest, f"{field}.artifact_digest")
    return ModelVersion(
        model=msg.model,
        version=msg.version,
        artifact_hash=msg.artifact_digest.hash,
        artifact_size=msg.artifact_digest.size_bytes,
        artifact_is_tree=msg.artifact_is_tree,
        format=msg.format,
        framework=msg.framework,
        framework_version=msg.framework_version,
        parameter_count=msg.parameter_count,
        metrics=dict(msg.metrics),
        params=dict(msg.params),
        hyperparameters=dict(msg.hyperparameters),
        input_schema=msg.input_schema,
        output_schema=msg.output_schema,
        training_dataset=msg.training_dataset,
        experiment_id=msg.experiment_id,
        run_id=msg.run_id,
        git_commit=msg.git_commit,
        description=msg.description,
        tags=dict(msg.tags),
    )


def version_to_proto(v: ModelVersion) -> resources_pb2.ModelVersion:
    """A domain version as its proto."""
    return resources_pb2.ModelVersion(
        name=v.name,
        model=v.model,
        version=v.version,
        state=state_to_proto(v.state),
        stage=stage_to_proto(v.stage),
        artifact_digest=resources_pb2.Digest(hash=v.artifact_hash, size_bytes=v.artifact_size)
        if v.artifact_hash
        else None,
        artifact_is_tree=v.artifact_is_tree,
        format=v.format,
        framework=v.framework,
        framework_version=v.framework_version,
        parameter_count=v.parameter_count,
        metrics=v.metrics,
        params=v.params,
        hyperparameters=v.hyperparameters,
        input_schema=v.input_schema,
        output_schema=v.output_schema,
        training_dataset=v.training_dataset,
        experiment_id=v.experiment_id,
        run_id=v.run_id,
        git_commit=v.git_commit,
        description=v.description,
        tags=v.tags,
        created_by=v.created_by,
        create_time=timestamp(v.create_time),
        updated_by=v.updated_by,
        update_time=timestamp(v.update_time),
        etag=etag(v.revision),
        aliases=v.aliases,
        failure_reason=v.failure_reason,
    )


def model_to_proto(m: Model) -> resources_pb2.Model:
    """A domain model as its proto."""
    return resources_pb2.Model(
        name=f"models/{m.name}",
        description=m.description,
        owner=m.owner,
        team=m.team,
        tags=m.tags,
        create_time=timestamp(m.create_time),
        update_time=timestamp(m.update_time),
        latest_version=m.latest_version,
        archived=m.archived,
        etag=etag(m.revision),
    )


def alias_to_proto(a: Alias) -> resources_pb2.ModelAlias:
    """A domain alias as its proto."""
    return resources_pb2.ModelAlias(
        name=f"models/{a.model}/aliases/{a.alias}",
        alias=a.alias,
        model_version=f"models/{a.model}/versions/{a.version}",
        updated_by=a.updated_by,
        update_time=timestamp(a.update_time),
    )


def transition_to_proto(t: StageTransition) -> resources_pb2.StageTransition:
    """A domain stage transition as its proto."""
    return resources_pb2.StageTransition(
        model_version=f"models/{t.model}/versions/{t.version}",
        from_stage=stage_to_proto(t.from_stage),
        to_stage=stage_to_proto(t.to_stage),
        actor=t.actor,
        reason=t.reason,
        time=timestamp(t.time),
    )


def evaluation_type_from_proto(value: int, *, required: bool) -> EvaluationType | None:
    """``EVALUATION_TYPE_TEST`` -> ``EvaluationType.TEST``; None when unspecified."""
    kind = from_proto(EvaluationType, value)
    if kind is None and required:
        raise InvalidArgument.field(
            "evaluation.type", "an evaluation type (validation, test or production) is required"
        )
    return kind


def evaluation_from_proto(msg: resources_pb2.Evaluation) -> Evaluation:
    """The settable fields of an evaluation."""
    return Evaluation(
        model="",
        version="",
        dataset_name=msg.dataset_name,
        dataset_version=msg.dataset_version,
        # required=True raises INVALID_ARGUMENT rather than answer None
        type=evaluation_type_from_proto(msg.type, required=True),  # type: ignore[arg-type]
        metrics=dict(msg.metrics),
        evaluator=msg.evaluator,
        comment=msg.comment,
    )


def evaluation_to_proto(e: Evaluation) -> resources_pb2.Evaluation:
    """A domain evaluation as its proto."""
    return resources_pb2.Evaluation(
        name=f"models/{e.model}/versions/{e.version}/evaluations/{e.id}",
        model_version=f"models/{e.model}/versions/{e.version}",
        dataset_name=e.dataset_name,
        dataset_version=e.dataset_version,
        type=to_proto(e.type),
        metrics=e.metrics,
        evaluator=e.evaluator,
        comment=e.comment,
        created_by=e.created_by,
        create_time=timestamp(e.create_time),
    )


def node_from_proto(msg: resources_pb2.LineageNode, field: str) -> NodeRef:
    """A node reference; INVALID_ARGUMENT for an unspecified type."""
    kind = from_proto(NodeKind, msg.type)
    if kind is None:
        raise InvalidArgument.field(
            f"{field}.type", "a node type (model_version, dataset, experiment or run) is required"
        )
    return NodeRef(kind, msg.key)


def node_to_proto(ref: NodeRef, depth: int = 0) -> resources_pb2.LineageNode:
    """A node reference as its proto."""
    return resources_pb2.LineageNode(
        type=to_proto(ref.kind),
        key=ref.key,
        depth=depth,
    )


def edge_type_from_proto(value: int, field: str) -> EdgeType:
    """An edge type; INVALID_ARGUMENT for unspecified."""
    kind = from_proto(EdgeType, value)
    if kind is None:
        allowed = ", ".join(e.value for e in EdgeType)
        raise InvalidArgument.field(field, f"an edge type is required: one of {allowed}")
    return kind


def edge_from_proto(msg: resources_pb2.LineageEdge, field: str = "edge") -> LineageEdge:
    """A lineage edge from its proto."""
    return LineageEdge(
        node_from_proto(msg.subject, f"{field}.subject"),
        edge_type_from_proto(msg.type, f"{field}.type"),
        node_from_proto(msg.object, f"{field}.object"),
    )


def edge_to_proto(e: LineageEdge) -> resources_pb2.LineageEdge:
    """A lineage edge as its proto."""
    return resources_pb2.LineageEdge(
        subject=node_to_proto(e.subject),
        type=to_proto(e.type),
        object=node_to_proto(e.object),
        created_by=e.created_by,
        create_time=timestamp(e.create_time),
    )


def direction_from_proto(value: int) -> Direction:
    """A lineage direction; unspecified means up."""
    directions: dict[int, Direction] = {
        resources_pb2.LINEAGE_DIRECTION_DOWN: Direction.DOWN,
        resources_pb2.LINEAGE_DIRECTION_BOTH: Direction.BOTH,
    }
    return directions.get(value, Direction.UP)


def audit_to_proto(a: AuditEntry) -> resources_pb2.AuditEntry:
    """An audit entry as its proto (states as JSON text)."""
    return resources_pb2.AuditEntry(
        id=a.id,
        time=timestamp(a.time),
        actor=a.actor,
        action=a.action,
        resource=a.resource,
        before_json=json.dumps(a.before, sort_keys=True) if a.before is not None else "",
        after_json=json.dumps(a.after, sort_keys=True) if a.after is not None else "",
    )


def event_to_proto(e: Event) -> resources_pb2.Event:
    """An outbox event as its proto."""
    return resources_pb2.Event(
        sequence=e.sequence,
        type=e.type,
        model=e.model,
        resource=e.resource,
        actor=e.actor,
        time=timestamp(e.time),
        attributes=e.attributes,
    )


def impacted_to_proto(v: ImpactedVersion) -> resources_pb2.ImpactedVersion:
    """An impacted version as its proto."""
    return resources_pb2.ImpactedVersion(
        model_version=f"models/{v.model}/versions/{v.version}",
        stage=stage_to_proto(v.stage),
        state=state_to_proto(v.state),
        depth=v.depth,
    )


def model_from_proto(msg: resources_pb2.Model) -> Model:
    """The settable fields of a model; ``name`` stays the resource name, checked later."""
    return Model(
        name=msg.name,
        description=msg.description,
        owner=msg.owner,
        team=msg.team,
        tags=dict(msg.tags),
        archived=msg.archived,
    )


_EDGE_TYPE_VALUES = {t: to_proto(t) for t in EdgeType}
_NODE_TYPE_VALUES = {k: to_proto(k) for k in NodeKind}


def graph_to_proto(graph: LineageGraph) -> metadata_pb2.GetLineageResponse:
    """A lineage subgraph as its response, filled in place (no nested message copies)."""
    response = metadata_pb2.GetLineageResponse()
    for ref, depth in graph.nodes:
        node = response.nodes.add()
        node.type, node.key, node.depth = _NODE_TYPE_VALUES[ref.kind], ref.key, depth
    seconds: dict[datetime | None, tuple[int, int]] = {}
    for e in graph.edges:
        edge = response.edges.add()
        edge.subject.type, edge.subject.key = _NODE_TYPE_VALUES[e.subject.kind], e.subject.key
        edge.object.type, edge.object.key = _NODE_TYPE_VALUES[e.object.kind], e.object.key
        edge.type, edge.created_by = _EDGE_TYPE_VALUES[e.type], e.created_by
        if e.create_time is not None:
            if e.create_time not in seconds:
                ts = timestamp(e.create_time)
                seconds[e.create_time] = (ts.seconds, ts.nanos) if ts else (0, 0)
            edge.create_time.seconds, edge.create_time.nanos = seconds[e.create_time]
    return response
