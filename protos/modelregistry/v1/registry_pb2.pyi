from modelregistry.v1 import governance_pb2 as _governance_pb2
from modelregistry.v1 import metadata_pb2 as _metadata_pb2
from modelregistry.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerInfoResponse(_message.Message):
    __slots__ = ("artifact_service_address", "max_message_bytes", "preferred_message_bytes", "max_chunk_bytes", "average_chunk_bytes", "server_version", "chunk_digest_algorithms")
    ARTIFACT_SERVICE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_DIGEST_ALGORITHMS_FIELD_NUMBER: _ClassVar[int]
    artifact_service_address: str
    max_message_bytes: int
    preferred_message_bytes: int
    max_chunk_bytes: int
    average_chunk_bytes: int
    server_version: str
    chunk_digest_algorithms: _containers.RepeatedScalarFieldContainer[_resources_pb2.DigestAlgorithm]
    def __init__(self, artifact_service_address: _Optional[str] = ..., max_message_bytes: _Optional[int] = ..., preferred_message_bytes: _Optional[int] = ..., max_chunk_bytes: _Optional[int] = ..., average_chunk_bytes: _Optional[int] = ..., server_version: _Optional[str] = ..., chunk_digest_algorithms: _Optional[_Iterable[_Union[_resources_pb2.DigestAlgorithm, str]]] = ...) -> None: ...

class RegisterModelVersionRequest(_message.Message):
    __slots__ = ("parent", "model_version", "bump", "request_id", "lineage")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUMP_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    model_version: _resources_pb2.ModelVersion
    bump: _metadata_pb2.VersionBump
    request_id: str
    lineage: _containers.RepeatedCompositeFieldContainer[_metadata_pb2.LineageLink]
    def __init__(self, parent: _Optional[str] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., bump: _Optional[_Union[_metadata_pb2.VersionBump, str]] = ..., request_id: _Optional[str] = ..., lineage: _Optional[_Iterable[_Union[_metadata_pb2.LineageLink, _Mapping]]] = ...) -> None: ...

class RegisterModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("after_sequence", "types", "model", "stop_when_caught_up")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STOP_WHEN_CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    types: _containers.RepeatedScalarFieldContainer[str]
    model: str
    stop_when_caught_up: bool
    def __init__(self, after_sequence: _Optional[int] = ..., types: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., stop_when_caught_up: _Optional[bool] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _resources_pb2.Event
    def __init__(self, event: _Optional[_Union[_resources_pb2.Event, _Mapping]] = ...) -> None: ...

class PromoteModelVersionRequest(_message.Message):
    __slots__ = ("name", "target_stage", "reason", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_stage: _resources_pb2.Stage
    reason: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., target_stage: _Optional[_Union[_resources_pb2.Stage, str]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PromoteModelVersionResponse(_message.Message):
    __slots__ = ("promotion", "model_version", "previous_production")
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    promotion: _governance_pb2.Promotion
    model_version: _resources_pb2.ModelVersion
    previous_production: _resources_pb2.ModelVersion
    def __init__(self, promotion: _Optional[_Union[_governance_pb2.Promotion, _Mapping]] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., previous_production: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class ApprovePromotionRequest(_message.Message):
    __slots__ = ("name", "comment", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    comment: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ApprovePromotionResponse(_message.Message):
    __slots__ = ("promotion", "model_version", "previous_production")
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    promotion: _governance_pb2.Promotion
    model_version: _resources_pb2.ModelVersion
    previous_production: _resources_pb2.ModelVersion
    def __init__(self, promotion: _Optional[_Union[_governance_pb2.Promotion, _Mapping]] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., previous_production: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class RejectPromotionRequest(_message.Message):
    __slots__ = ("name", "comment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    comment: str
    def __init__(self, name: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class RejectPromotionResponse(_message.Message):
    __slots__ = ("promotion",)
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    promotion: _governance_pb2.Promotion
    def __init__(self, promotion: _Optional[_Union[_governance_pb2.Promotion, _Mapping]] = ...) -> None: ...

class WithdrawPromotionRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawPromotionResponse(_message.Message):
    __slots__ = ("promotion",)
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    promotion: _governance_pb2.Promotion
    def __init__(self, promotion: _Optional[_Union[_governance_pb2.Promotion, _Mapping]] = ...) -> None: ...

class RollbackProductionRequest(_message.Message):
    __slots__ = ("parent", "reason", "override")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    reason: str
    override: bool
    def __init__(self, parent: _Optional[str] = ..., reason: _Optional[str] = ..., override: _Optional[bool] = ...) -> None: ...

class RollbackProductionResponse(_message.Message):
    __slots__ = ("promotion", "model_version", "previous_production")
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    promotion: _governance_pb2.Promotion
    model_version: _resources_pb2.ModelVersion
    previous_production: _resources_pb2.ModelVersion
    def __init__(self, promotion: _Optional[_Union[_governance_pb2.Promotion, _Mapping]] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., previous_production: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class GetModelReportRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelReportResponse(_message.Message):
    __slots__ = ("model_version", "evaluations", "lineage_nodes", "lineage_edges", "transitions", "promotions", "deployments")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_NODES_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_EDGES_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    evaluations: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Evaluation]
    lineage_nodes: _containers.RepeatedCompositeFieldContainer[_resources_pb2.LineageNode]
    lineage_edges: _containers.RepeatedCompositeFieldContainer[_resources_pb2.LineageEdge]
    transitions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.StageTransition]
    promotions: _containers.RepeatedCompositeFieldContainer[_governance_pb2.Promotion]
    deployments: _containers.RepeatedCompositeFieldContainer[_governance_pb2.Deployment]
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., evaluations: _Optional[_Iterable[_Union[_resources_pb2.Evaluation, _Mapping]]] = ..., lineage_nodes: _Optional[_Iterable[_Union[_resources_pb2.LineageNode, _Mapping]]] = ..., lineage_edges: _Optional[_Iterable[_Union[_resources_pb2.LineageEdge, _Mapping]]] = ..., transitions: _Optional[_Iterable[_Union[_resources_pb2.StageTransition, _Mapping]]] = ..., promotions: _Optional[_Iterable[_Union[_governance_pb2.Promotion, _Mapping]]] = ..., deployments: _Optional[_Iterable[_Union[_governance_pb2.Deployment, _Mapping]]] = ...) -> None: ...
