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

class PromotionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMOTION_STATE_UNSPECIFIED: _ClassVar[PromotionState]
    PROMOTION_STATE_PENDING_APPROVAL: _ClassVar[PromotionState]
    PROMOTION_STATE_APPROVED: _ClassVar[PromotionState]
    PROMOTION_STATE_COMPLETED: _ClassVar[PromotionState]
    PROMOTION_STATE_REJECTED: _ClassVar[PromotionState]
    PROMOTION_STATE_WITHDRAWN: _ClassVar[PromotionState]
    PROMOTION_STATE_FAILED: _ClassVar[PromotionState]

class ApprovalDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_DECISION_UNSPECIFIED: _ClassVar[ApprovalDecision]
    APPROVAL_DECISION_APPROVE: _ClassVar[ApprovalDecision]
    APPROVAL_DECISION_REJECT: _ClassVar[ApprovalDecision]

class DeploymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOYMENT_STATUS_UNSPECIFIED: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_DEPLOYING: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_SERVING: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_DEGRADED: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_FAILED: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_RETIRED: _ClassVar[DeploymentStatus]

class VersionBump(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_BUMP_UNSPECIFIED: _ClassVar[VersionBump]
    VERSION_BUMP_MAJOR: _ClassVar[VersionBump]
    VERSION_BUMP_MINOR: _ClassVar[VersionBump]
    VERSION_BUMP_PATCH: _ClassVar[VersionBump]

class LineageDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINEAGE_DIRECTION_UNSPECIFIED: _ClassVar[LineageDirection]
    LINEAGE_DIRECTION_UP: _ClassVar[LineageDirection]
    LINEAGE_DIRECTION_DOWN: _ClassVar[LineageDirection]
    LINEAGE_DIRECTION_BOTH: _ClassVar[LineageDirection]

class WebhookDeliveryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_DELIVERY_STATE_UNSPECIFIED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_PENDING: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_DELIVERED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_PARKED: _ClassVar[WebhookDeliveryState]
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
PROMOTION_STATE_UNSPECIFIED: PromotionState
PROMOTION_STATE_PENDING_APPROVAL: PromotionState
PROMOTION_STATE_APPROVED: PromotionState
PROMOTION_STATE_COMPLETED: PromotionState
PROMOTION_STATE_REJECTED: PromotionState
PROMOTION_STATE_WITHDRAWN: PromotionState
PROMOTION_STATE_FAILED: PromotionState
APPROVAL_DECISION_UNSPECIFIED: ApprovalDecision
APPROVAL_DECISION_APPROVE: ApprovalDecision
APPROVAL_DECISION_REJECT: ApprovalDecision
DEPLOYMENT_STATUS_UNSPECIFIED: DeploymentStatus
DEPLOYMENT_STATUS_DEPLOYING: DeploymentStatus
DEPLOYMENT_STATUS_SERVING: DeploymentStatus
DEPLOYMENT_STATUS_DEGRADED: DeploymentStatus
DEPLOYMENT_STATUS_FAILED: DeploymentStatus
DEPLOYMENT_STATUS_RETIRED: DeploymentStatus
VERSION_BUMP_UNSPECIFIED: VersionBump
VERSION_BUMP_MAJOR: VersionBump
VERSION_BUMP_MINOR: VersionBump
VERSION_BUMP_PATCH: VersionBump
LINEAGE_DIRECTION_UNSPECIFIED: LineageDirection
LINEAGE_DIRECTION_UP: LineageDirection
LINEAGE_DIRECTION_DOWN: LineageDirection
LINEAGE_DIRECTION_BOTH: LineageDirection
WEBHOOK_DELIVERY_STATE_UNSPECIFIED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_PENDING: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_DELIVERED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_PARKED: WebhookDeliveryState

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

class Approval(_message.Message):
    __slots__ = ("principal", "decision", "comment", "time")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    principal: str
    decision: ApprovalDecision
    comment: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, principal: _Optional[str] = ..., decision: _Optional[_Union[ApprovalDecision, str]] = ..., comment: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Promotion(_message.Message):
    __slots__ = ("name", "model_version", "target_stage", "state", "requested_by", "reason", "required_approvals", "approvals", "status_message", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_STAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    model_version: str
    target_stage: Stage
    state: PromotionState
    requested_by: str
    reason: str
    required_approvals: int
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    status_message: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., model_version: _Optional[str] = ..., target_stage: _Optional[_Union[Stage, str]] = ..., state: _Optional[_Union[PromotionState, str]] = ..., requested_by: _Optional[str] = ..., reason: _Optional[str] = ..., required_approvals: _Optional[int] = ..., approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., status_message: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("name", "model_version", "environment", "endpoint", "status", "health", "reported_by", "update_time", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    REPORTED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    model_version: str
    environment: str
    endpoint: str
    status: DeploymentStatus
    health: str
    reported_by: str
    update_time: _timestamp_pb2.Timestamp
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., model_version: _Optional[str] = ..., environment: _Optional[str] = ..., endpoint: _Optional[str] = ..., status: _Optional[_Union[DeploymentStatus, str]] = ..., health: _Optional[str] = ..., reported_by: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LineageLink(_message.Message):
    __slots__ = ("type", "object")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    type: LineageEdgeType
    object: LineageNode
    def __init__(self, type: _Optional[_Union[LineageEdgeType, str]] = ..., object: _Optional[_Union[LineageNode, _Mapping]] = ...) -> None: ...

class ImpactedVersion(_message.Message):
    __slots__ = ("model_version", "stage", "state", "depth")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    stage: Stage
    state: VersionState
    depth: int
    def __init__(self, model_version: _Optional[str] = ..., stage: _Optional[_Union[Stage, str]] = ..., state: _Optional[_Union[VersionState, str]] = ..., depth: _Optional[int] = ...) -> None: ...

class ComparedVersion(_message.Message):
    __slots__ = ("model_version", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, model_version: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class MetricBest(_message.Message):
    __slots__ = ("metric", "model_version", "value", "lower_is_better")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LOWER_IS_BETTER_FIELD_NUMBER: _ClassVar[int]
    metric: str
    model_version: str
    value: float
    lower_is_better: bool
    def __init__(self, metric: _Optional[str] = ..., model_version: _Optional[str] = ..., value: _Optional[float] = ..., lower_is_better: _Optional[bool] = ...) -> None: ...

class Webhook(_message.Message):
    __slots__ = ("name", "url", "event_types", "model_prefix", "create_time", "created_by", "secret")
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    MODEL_PREFIX_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    name: str
    url: str
    event_types: _containers.RepeatedScalarFieldContainer[str]
    model_prefix: str
    create_time: _timestamp_pb2.Timestamp
    created_by: str
    secret: str
    def __init__(self, name: _Optional[str] = ..., url: _Optional[str] = ..., event_types: _Optional[_Iterable[str]] = ..., model_prefix: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class WebhookDelivery(_message.Message):
    __slots__ = ("name", "id", "event_sequence", "event_type", "event_resource", "state", "attempts", "next_attempt_time", "last_status_code", "last_error", "create_time", "deliver_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    event_sequence: int
    event_type: str
    event_resource: str
    state: WebhookDeliveryState
    attempts: int
    next_attempt_time: _timestamp_pb2.Timestamp
    last_status_code: int
    last_error: str
    create_time: _timestamp_pb2.Timestamp
    deliver_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., event_sequence: _Optional[int] = ..., event_type: _Optional[str] = ..., event_resource: _Optional[str] = ..., state: _Optional[_Union[WebhookDeliveryState, str]] = ..., attempts: _Optional[int] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_status_code: _Optional[int] = ..., last_error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
