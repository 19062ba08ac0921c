import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from modelregistry.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
    target_stage: _resources_pb2.Stage
    state: PromotionState
    requested_by: str
    reason: str
    required_approvals: int
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    status_message: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., model_version: _Optional[str] = ..., target_stage: _Optional[_Union[_resources_pb2.Stage, str]] = ..., state: _Optional[_Union[PromotionState, str]] = ..., requested_by: _Optional[str] = ..., reason: _Optional[str] = ..., required_approvals: _Optional[int] = ..., approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., status_message: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

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
