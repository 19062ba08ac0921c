import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DigestAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIGEST_ALGORITHM_UNSPECIFIED: _ClassVar[DigestAlgorithm]
    DIGEST_ALGORITHM_SHA256: _ClassVar[DigestAlgorithm]
    DIGEST_ALGORITHM_BLAKE3: _ClassVar[DigestAlgorithm]

class VersionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_STATE_UNSPECIFIED: _ClassVar[VersionState]
    VERSION_STATE_PENDING: _ClassVar[VersionState]
    VERSION_STATE_READY: _ClassVar[VersionState]
    VERSION_STATE_FAILED: _ClassVar[VersionState]

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_DEVELOPMENT: _ClassVar[Stage]
    STAGE_STAGING: _ClassVar[Stage]
    STAGE_PRODUCTION: _ClassVar[Stage]
    STAGE_ARCHIVED: _ClassVar[Stage]
    STAGE_DEPRECATED: _ClassVar[Stage]

class EvaluationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVALUATION_TYPE_UNSPECIFIED: _ClassVar[EvaluationType]
    EVALUATION_TYPE_VALIDATION: _ClassVar[EvaluationType]
    EVALUATION_TYPE_TEST: _ClassVar[EvaluationType]
    EVALUATION_TYPE_PRODUCTION: _ClassVar[EvaluationType]

class LineageNodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINEAGE_NODE_TYPE_UNSPECIFIED: _ClassVar[LineageNodeType]
    LINEAGE_NODE_TYPE_MODEL_VERSION: _ClassVar[LineageNodeType]
    LINEAGE_NODE_TYPE_DATASET: _ClassVar[LineageNodeType]
    LINEAGE_NODE_TYPE_EXPERIMENT: _ClassVar[LineageNodeType]
    LINEAGE_NODE_TYPE_RUN: _ClassVar[LineageNodeType]

class LineageEdgeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINEAGE_EDGE_TYPE_UNSPECIFIED: _ClassVar[LineageEdgeType]
    LINEAGE_EDGE_TYPE_DERIVED_FROM: _ClassVar[LineageEdgeType]
    LINEAGE_EDGE_TYPE_FINE_TUNED_FROM: _ClassVar[LineageEdgeType]
    LINEAGE_EDGE_TYPE_TRAINED_ON: _ClassVar[LineageEdgeType]
    LINEAGE_EDGE_TYPE_EVALUATED_ON: _ClassVar[LineageEdgeType]
    LINEAGE_EDGE_TYPE_PRODUCED_BY: _ClassVar[LineageEdgeType]
DIGEST_ALGORITHM_UNSPECIFIED: DigestAlgorithm
DIGEST_ALGORITHM_SHA256: DigestAlgorithm
DIGEST_ALGORITHM_BLAKE3: DigestAlgorithm
VERSION_STATE_UNSPECIFIED: VersionState
VERSION_STATE_PENDING: VersionState
VERSION_STATE_READY: VersionState
VERSION_STATE_FAILED: VersionState
STAGE_UNSPECIFIED: Stage
STAGE_DEVELOPMENT: Stage
STAGE_STAGING: Stage
STAGE_PRODUCTION: Stage
STAGE_ARCHIVED: Stage
STAGE_DEPRECATED: Stage
EVALUATION_TYPE_UNSPECIFIED: EvaluationType
EVALUATION_TYPE_VALIDATION: EvaluationType
EVALUATION_TYPE_TEST: EvaluationType
EVALUATION_TYPE_PRODUCTION: EvaluationType
LINEAGE_NODE_TYPE_UNSPECIFIED: LineageNodeType
LINEAGE_NODE_TYPE_MODEL_VERSION: LineageNodeType
LINEAGE_NODE_TYPE_DATASET: LineageNodeType
LINEAGE_NODE_TYPE_EXPERIMENT: LineageNodeType
LINEAGE_NODE_TYPE_RUN: LineageNodeType
LINEAGE_EDGE_TYPE_UNSPECIFIED: LineageEdgeType
LINEAGE_EDGE_TYPE_DERIVED_FROM: LineageEdgeType
LINEAGE_EDGE_TYPE_FINE_TUNED_FROM: LineageEdgeType
LINEAGE_EDGE_TYPE_TRAINED_ON: LineageEdgeType
LINEAGE_EDGE_TYPE_EVALUATED_ON: LineageEdgeType
LINEAGE_EDGE_TYPE_PRODUCED_BY: LineageEdgeType

class Digest(_message.Message):
    __slots__ = ("hash", "size_bytes", "algorithm")
    HASH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    hash: str
    size_bytes: int
    algorithm: DigestAlgorithm
    def __init__(self, hash: _Optional[str] = ..., size_bytes: _Optional[int] = ..., algorithm: _Optional[_Union[DigestAlgorithm, str]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("name", "description", "owner", "team", "tags", "create_time", "update_time", "latest_version", "archived", "etag")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    owner: str
    team: str
    tags: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    latest_version: str
    archived: bool
    etag: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_version: _Optional[str] = ..., archived: _Optional[bool] = ..., etag: _Optional[str] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("name", "model", "version", "state", "stage", "artifact_digest", "artifact_is_tree", "format", "framework", "framework_version", "parameter_count", "metrics", "params", "hyperparameters", "input_schema", "output_schema", "training_dataset", "experiment_id", "run_id", "git_commit", "description", "tags", "created_by", "create_time", "updated_by", "update_time", "etag", "aliases", "failure_reason")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HyperparametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_IS_TREE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATASET_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    GIT_COMMIT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    version: str
    state: VersionState
    stage: Stage
    artifact_digest: Digest
    artifact_is_tree: bool
    format: str
    framework: str
    framework_version: str
    parameter_count: int
    metrics: _containers.ScalarMap[str, float]
    params: _containers.ScalarMap[str, str]
    hyperparameters: _containers.ScalarMap[str, str]
    input_schema: str
    output_schema: str
    training_dataset: str
    experiment_id: str
    run_id: str
    git_commit: str
    description: str
    tags: _containers.ScalarMap[str, str]
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    updated_by: str
    update_time: _timestamp_pb2.Timestamp
    etag: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    failure_reason: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[_Union[VersionState, str]] = ..., stage: _Optional[_Union[Stage, str]] = ..., artifact_digest: _Optional[_Union[Digest, _Mapping]] = ..., artifact_is_tree: _Optional[bool] = ..., format: _Optional[str] = ..., framework: _Optional[str] = ..., framework_version: _Optional[str] = ..., parameter_count: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., params: _Optional[_Mapping[str, str]] = ..., hyperparameters: _Optional[_Mapping[str, str]] = ..., input_schema: _Optional[str] = ..., output_schema: _Optional[str] = ..., training_dataset: _Optional[str] = ..., experiment_id: _Optional[str] = ..., run_id: _Optional[str] = ..., git_commit: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., failure_reason: _Optional[str] = ...) -> None: ...

class ModelAlias(_message.Message):
    __slots__ = ("name", "alias", "model_version", "updated_by", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    alias: str
    model_version: str
    updated_by: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., alias: _Optional[str] = ..., model_version: _Optional[str] = ..., updated_by: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StageTransition(_message.Message):
    __slots__ = ("model_version", "from_stage", "to_stage", "actor", "reason", "time")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    FROM_STAGE_FIELD_NUMBER: _ClassVar[int]
    TO_STAGE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    from_stage: Stage
    to_stage: Stage
    actor: str
    reason: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, model_version: _Optional[str] = ..., from_stage: _Optional[_Union[Stage, str]] = ..., to_stage: _Optional[_Union[Stage, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("name", "model_version", "dataset_name", "dataset_version", "type", "metrics", "evaluator", "comment", "created_by", "create_time")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    EVALUATOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    model_version: str
    dataset_name: str
    dataset_version: str
    type: EvaluationType
    metrics: _containers.ScalarMap[str, float]
    evaluator: str
    comment: str
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., model_version: _Optional[str] = ..., dataset_name: _Optional[str] = ..., dataset_version: _Optional[str] = ..., type: _Optional[_Union[EvaluationType, str]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., evaluator: _Optional[str] = ..., comment: _Optional[str] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LineageNode(_message.Message):
    __slots__ = ("type", "key", "depth")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    type: LineageNodeType
    key: str
    depth: int
    def __init__(self, type: _Optional[_Union[LineageNodeType, str]] = ..., key: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class LineageEdge(_message.Message):
    __slots__ = ("subject", "type", "object", "created_by", "create_time")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    subject: LineageNode
    type: LineageEdgeType
    object: LineageNode
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, subject: _Optional[_Union[LineageNode, _Mapping]] = ..., type: _Optional[_Union[LineageEdgeType, str]] = ..., object: _Optional[_Union[LineageNode, _Mapping]] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "time", "actor", "action", "resource", "before_json", "after_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    BEFORE_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    id: int
    time: _timestamp_pb2.Timestamp
    actor: str
    action: str
    resource: str
    before_json: str
    after_json: str
    def __init__(self, id: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., before_json: _Optional[str] = ..., after_json: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("sequence", "type", "model", "resource", "actor", "time", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: str
    model: str
    resource: str
    actor: str
    time: _timestamp_pb2.Timestamp
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[str] = ..., model: _Optional[str] = ..., resource: _Optional[str] = ..., actor: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...
