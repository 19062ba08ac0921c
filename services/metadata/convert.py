"""Conversions between protobuf messages and domain objects (the servicer's only logic)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2

from modelregistry.v1 import metadata_pb2, resources_pb2
from services.common.errors import InvalidArgument
from services.common.validation import validate_digest
from services.metadata import semver
from services.metadata.domain import Model, ModelVersion, Stage, State
from services.metadata.usecases.base import etag

_BUMPS = {
    metadata_pb2.VERSION_BUMP_MAJOR: semver.Bump.MAJOR,
    metadata_pb2.VERSION_BUMP_MINOR: semver.Bump.MINOR,
    metadata_pb2.VERSION_BUMP_PATCH: semver.Bump.PATCH,
}
_STATES = {
    State.PENDING: resources_pb2.VERSION_STATE_PENDING,
    State.READY: resources_pb2.VERSION_STATE_READY,
    State.FAILED: resources_pb2.VERSION_STATE_FAILED,
}
_STATES_BACK = {v: k for k, v in _STATES.items()}


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf timestamp, or None."""
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def bump(value: int) -> semver.Bump | None:
    """The domain bump of a ``VersionBump``; None for unspecified."""
    return _BUMPS.get(value)  # type: ignore[call-overload]


def stage_to_proto(stage: Stage) -> int:
    """``Stage.PRODUCTION`` -> ``STAGE_PRODUCTION``."""
    return resources_pb2.Stage.Value(f"STAGE_{stage.name}")


def stage_from_proto(value: int, field: str = "stage") -> Stage:
    """``STAGE_PRODUCTION`` -> ``Stage.PRODUCTION``; INVALID_ARGUMENT for unspecified/unknown."""
    try:
        name = resources_pb2.Stage.Name(value)
    except ValueError:
        name = ""
    if not name or value == resources_pb2.STAGE_UNSPECIFIED:
        raise InvalidArgument.field(field, f"a stage is required, got {value}")
    return Stage[name.removeprefix("STAGE_")]


def state_to_proto(state: State) -> int:
    """Domain state -> ``VersionState``."""
    return _STATES[state]


def state_from_proto(value: int) -> State | None:
    """``VersionState`` -> domain state; None for unspecified or unknown."""
    return _STATES_BACK.get(value)  # type: ignore[call-overload]


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
        state=state_to_proto(v.state),  # type: ignore[arg-type]
        stage=stage_to_proto(v.stage),  # type: ignore[arg-type]
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
