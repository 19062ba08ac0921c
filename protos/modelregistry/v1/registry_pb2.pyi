from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
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
    bump: _resources_pb2.VersionBump
    request_id: str
    lineage: _containers.RepeatedCompositeFieldContainer[_resources_pb2.LineageLink]
    def __init__(self, parent: _Optional[str] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., bump: _Optional[_Union[_resources_pb2.VersionBump, str]] = ..., request_id: _Optional[str] = ..., lineage: _Optional[_Iterable[_Union[_resources_pb2.LineageLink, _Mapping]]] = ...) -> None: ...

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
    promotion: _resources_pb2.Promotion
    model_version: _resources_pb2.ModelVersion
    previous_production: _resources_pb2.ModelVersion
    def __init__(self, promotion: _Optional[_Union[_resources_pb2.Promotion, _Mapping]] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., previous_production: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

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
    promotion: _resources_pb2.Promotion
    model_version: _resources_pb2.ModelVersion
    previous_production: _resources_pb2.ModelVersion
    def __init__(self, promotion: _Optional[_Union[_resources_pb2.Promotion, _Mapping]] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., previous_production: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

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
    promotion: _resources_pb2.Promotion
    def __init__(self, promotion: _Optional[_Union[_resources_pb2.Promotion, _Mapping]] = ...) -> None: ...

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
    promotion: _resources_pb2.Promotion
    def __init__(self, promotion: _Optional[_Union[_resources_pb2.Promotion, _Mapping]] = ...) -> None: ...

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
    promotion: _resources_pb2.Promotion
    model_version: _resources_pb2.ModelVersion
    previous_production: _resources_pb2.ModelVersion
    def __init__(self, promotion: _Optional[_Union[_resources_pb2.Promotion, _Mapping]] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., previous_production: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

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
    promotions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Promotion]
    deployments: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Deployment]
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., evaluations: _Optional[_Iterable[_Union[_resources_pb2.Evaluation, _Mapping]]] = ..., lineage_nodes: _Optional[_Iterable[_Union[_resources_pb2.LineageNode, _Mapping]]] = ..., lineage_edges: _Optional[_Iterable[_Union[_resources_pb2.LineageEdge, _Mapping]]] = ..., transitions: _Optional[_Iterable[_Union[_resources_pb2.StageTransition, _Mapping]]] = ..., promotions: _Optional[_Iterable[_Union[_resources_pb2.Promotion, _Mapping]]] = ..., deployments: _Optional[_Iterable[_Union[_resources_pb2.Deployment, _Mapping]]] = ...) -> None: ...

class GetModelVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "show_archived")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    show_archived: bool
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_archived: _Optional[bool] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("model_versions", "next_page_token")
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model_versions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ModelVersion]
    next_page_token: str
    def __init__(self, model_versions: _Optional[_Iterable[_Union[_resources_pb2.ModelVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "show_archived")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    show_archived: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_archived: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[_resources_pb2.Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateModelRequest(_message.Message):
    __slots__ = ("model", "update_mask")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ...) -> None: ...

class UpdateModelVersionRequest(_message.Message):
    __slots__ = ("model_version", "update_mask")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class SearchModelVersionsRequest(_message.Message):
    __slots__ = ("filter", "order_by", "page_size", "page_token", "show_archived")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    filter: str
    order_by: str
    page_size: int
    page_token: str
    show_archived: bool
    def __init__(self, filter: _Optional[str] = ..., order_by: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_archived: _Optional[bool] = ...) -> None: ...

class SearchModelVersionsResponse(_message.Message):
    __slots__ = ("model_versions", "next_page_token")
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model_versions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ModelVersion]
    next_page_token: str
    def __init__(self, model_versions: _Optional[_Iterable[_Union[_resources_pb2.ModelVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CompareModelVersionsRequest(_message.Message):
    __slots__ = ("names", "metrics", "lower_is_better")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    LOWER_IS_BETTER_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    lower_is_better: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ..., metrics: _Optional[_Iterable[str]] = ..., lower_is_better: _Optional[_Iterable[str]] = ...) -> None: ...

class CompareModelVersionsResponse(_message.Message):
    __slots__ = ("metrics", "rows", "best")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ComparedVersion]
    best: _containers.RepeatedCompositeFieldContainer[_resources_pb2.MetricBest]
    def __init__(self, metrics: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[_resources_pb2.ComparedVersion, _Mapping]]] = ..., best: _Optional[_Iterable[_Union[_resources_pb2.MetricBest, _Mapping]]] = ...) -> None: ...

class ListStageTransitionsRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStageTransitionsResponse(_message.Message):
    __slots__ = ("transitions", "next_page_token")
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transitions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.StageTransition]
    next_page_token: str
    def __init__(self, transitions: _Optional[_Iterable[_Union[_resources_pb2.StageTransition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SetAliasRequest(_message.Message):
    __slots__ = ("model_version", "alias")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    alias: str
    def __init__(self, model_version: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class SetAliasResponse(_message.Message):
    __slots__ = ("alias", "previous_model_version")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    alias: _resources_pb2.ModelAlias
    previous_model_version: str
    def __init__(self, alias: _Optional[_Union[_resources_pb2.ModelAlias, _Mapping]] = ..., previous_model_version: _Optional[str] = ...) -> None: ...

class DeleteAliasRequest(_message.Message):
    __slots__ = ("parent", "alias")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    alias: str
    def __init__(self, parent: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class DeleteAliasResponse(_message.Message):
    __slots__ = ("previous_model_version",)
    PREVIOUS_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    previous_model_version: str
    def __init__(self, previous_model_version: _Optional[str] = ...) -> None: ...

class ListAliasesRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListAliasesResponse(_message.Message):
    __slots__ = ("aliases",)
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    aliases: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ModelAlias]
    def __init__(self, aliases: _Optional[_Iterable[_Union[_resources_pb2.ModelAlias, _Mapping]]] = ...) -> None: ...

class CreateEvaluationRequest(_message.Message):
    __slots__ = ("parent", "evaluation", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    evaluation: _resources_pb2.Evaluation
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., evaluation: _Optional[_Union[_resources_pb2.Evaluation, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateEvaluationResponse(_message.Message):
    __slots__ = ("evaluation",)
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    evaluation: _resources_pb2.Evaluation
    def __init__(self, evaluation: _Optional[_Union[_resources_pb2.Evaluation, _Mapping]] = ...) -> None: ...

class ListEvaluationsRequest(_message.Message):
    __slots__ = ("parent", "dataset_name", "dataset_version", "type", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    dataset_name: str
    dataset_version: str
    type: _resources_pb2.EvaluationType
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., dataset_name: _Optional[str] = ..., dataset_version: _Optional[str] = ..., type: _Optional[_Union[_resources_pb2.EvaluationType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEvaluationsResponse(_message.Message):
    __slots__ = ("evaluations", "next_page_token")
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    evaluations: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Evaluation]
    next_page_token: str
    def __init__(self, evaluations: _Optional[_Iterable[_Union[_resources_pb2.Evaluation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateLineageEdgeRequest(_message.Message):
    __slots__ = ("edge",)
    EDGE_FIELD_NUMBER: _ClassVar[int]
    edge: _resources_pb2.LineageEdge
    def __init__(self, edge: _Optional[_Union[_resources_pb2.LineageEdge, _Mapping]] = ...) -> None: ...

class CreateLineageEdgeResponse(_message.Message):
    __slots__ = ("edge",)
    EDGE_FIELD_NUMBER: _ClassVar[int]
    edge: _resources_pb2.LineageEdge
    def __init__(self, edge: _Optional[_Union[_resources_pb2.LineageEdge, _Mapping]] = ...) -> None: ...

class GetLineageRequest(_message.Message):
    __slots__ = ("node", "direction", "max_depth", "edge_types")
    NODE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    EDGE_TYPES_FIELD_NUMBER: _ClassVar[int]
    node: _resources_pb2.LineageNode
    direction: _resources_pb2.LineageDirection
    max_depth: int
    edge_types: _containers.RepeatedScalarFieldContainer[_resources_pb2.LineageEdgeType]
    def __init__(self, node: _Optional[_Union[_resources_pb2.LineageNode, _Mapping]] = ..., direction: _Optional[_Union[_resources_pb2.LineageDirection, str]] = ..., max_depth: _Optional[int] = ..., edge_types: _Optional[_Iterable[_Union[_resources_pb2.LineageEdgeType, str]]] = ...) -> None: ...

class GetLineageResponse(_message.Message):
    __slots__ = ("nodes", "edges")
    NODES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[_resources_pb2.LineageNode]
    edges: _containers.RepeatedCompositeFieldContainer[_resources_pb2.LineageEdge]
    def __init__(self, nodes: _Optional[_Iterable[_Union[_resources_pb2.LineageNode, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[_resources_pb2.LineageEdge, _Mapping]]] = ...) -> None: ...

class AnalyzeImpactRequest(_message.Message):
    __slots__ = ("node", "max_depth", "edge_types", "stages")
    NODE_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    EDGE_TYPES_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    node: _resources_pb2.LineageNode
    max_depth: int
    edge_types: _containers.RepeatedScalarFieldContainer[_resources_pb2.LineageEdgeType]
    stages: _containers.RepeatedScalarFieldContainer[_resources_pb2.Stage]
    def __init__(self, node: _Optional[_Union[_resources_pb2.LineageNode, _Mapping]] = ..., max_depth: _Optional[int] = ..., edge_types: _Optional[_Iterable[_Union[_resources_pb2.LineageEdgeType, str]]] = ..., stages: _Optional[_Iterable[_Union[_resources_pb2.Stage, str]]] = ...) -> None: ...

class AnalyzeImpactResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ImpactedVersion]
    def __init__(self, versions: _Optional[_Iterable[_Union[_resources_pb2.ImpactedVersion, _Mapping]]] = ...) -> None: ...

class ListAuditLogRequest(_message.Message):
    __slots__ = ("resource", "page_size", "page_token")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resource: str
    page_size: int
    page_token: str
    def __init__(self, resource: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditLogResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_resources_pb2.AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[_resources_pb2.AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetPromotionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPromotionResponse(_message.Message):
    __slots__ = ("promotion",)
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    promotion: _resources_pb2.Promotion
    def __init__(self, promotion: _Optional[_Union[_resources_pb2.Promotion, _Mapping]] = ...) -> None: ...

class ListPromotionsRequest(_message.Message):
    __slots__ = ("parent", "state", "page_size", "page_token", "model_version", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: _resources_pb2.PromotionState
    page_size: int
    page_token: str
    model_version: str
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[_resources_pb2.PromotionState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., model_version: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListPromotionsResponse(_message.Message):
    __slots__ = ("promotions", "next_page_token")
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    promotions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Promotion]
    next_page_token: str
    def __init__(self, promotions: _Optional[_Iterable[_Union[_resources_pb2.Promotion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReportDeploymentRequest(_message.Message):
    __slots__ = ("model_version", "environment", "endpoint", "status", "health", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    environment: str
    endpoint: str
    status: _resources_pb2.DeploymentStatus
    health: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, model_version: _Optional[str] = ..., environment: _Optional[str] = ..., endpoint: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.DeploymentStatus, str]] = ..., health: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ReportDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: _resources_pb2.Deployment
    def __init__(self, deployment: _Optional[_Union[_resources_pb2.Deployment, _Mapping]] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListDeploymentsResponse(_message.Message):
    __slots__ = ("deployments",)
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Deployment]
    def __init__(self, deployments: _Optional[_Iterable[_Union[_resources_pb2.Deployment, _Mapping]]] = ...) -> None: ...

class ResolveModelVersionRequest(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class ResolveModelVersionResponse(_message.Message):
    __slots__ = ("model_version", "observed_event_sequence")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    observed_event_sequence: int
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., observed_event_sequence: _Optional[int] = ...) -> None: ...

class CreateWebhookRequest(_message.Message):
    __slots__ = ("webhook",)
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    webhook: _resources_pb2.Webhook
    def __init__(self, webhook: _Optional[_Union[_resources_pb2.Webhook, _Mapping]] = ...) -> None: ...

class CreateWebhookResponse(_message.Message):
    __slots__ = ("webhook",)
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    webhook: _resources_pb2.Webhook
    def __init__(self, webhook: _Optional[_Union[_resources_pb2.Webhook, _Mapping]] = ...) -> None: ...

class ListWebhooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWebhooksResponse(_message.Message):
    __slots__ = ("webhooks",)
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    webhooks: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Webhook]
    def __init__(self, webhooks: _Optional[_Iterable[_Union[_resources_pb2.Webhook, _Mapping]]] = ...) -> None: ...

class DeleteWebhookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteWebhookResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWebhookDeliveriesRequest(_message.Message):
    __slots__ = ("parent", "state", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: _resources_pb2.WebhookDeliveryState
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[_resources_pb2.WebhookDeliveryState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWebhookDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries", "next_page_token")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[_resources_pb2.WebhookDelivery]
    next_page_token: str
    def __init__(self, deliveries: _Optional[_Iterable[_Union[_resources_pb2.WebhookDelivery, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RedeliverWebhookDeliveryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RedeliverWebhookDeliveryResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: _resources_pb2.WebhookDelivery
    def __init__(self, delivery: _Optional[_Union[_resources_pb2.WebhookDelivery, _Mapping]] = ...) -> None: ...
