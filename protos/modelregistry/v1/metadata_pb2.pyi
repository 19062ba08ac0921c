from google.protobuf import field_mask_pb2 as _field_mask_pb2
from modelregistry.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VersionBump(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_BUMP_UNSPECIFIED: _ClassVar[VersionBump]
    VERSION_BUMP_MAJOR: _ClassVar[VersionBump]
    VERSION_BUMP_MINOR: _ClassVar[VersionBump]
    VERSION_BUMP_PATCH: _ClassVar[VersionBump]
VERSION_BUMP_UNSPECIFIED: VersionBump
VERSION_BUMP_MAJOR: VersionBump
VERSION_BUMP_MINOR: VersionBump
VERSION_BUMP_PATCH: VersionBump

class CreateModelVersionRequest(_message.Message):
    __slots__ = ("parent", "model_version", "bump", "request_id", "ready")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUMP_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    model_version: _resources_pb2.ModelVersion
    bump: VersionBump
    request_id: str
    ready: bool
    def __init__(self, parent: _Optional[str] = ..., model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ..., bump: _Optional[_Union[VersionBump, str]] = ..., request_id: _Optional[str] = ..., ready: _Optional[bool] = ...) -> None: ...

class CreateModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

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

class ResolveModelVersionRequest(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class ResolveModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class SetModelVersionStateRequest(_message.Message):
    __slots__ = ("name", "state", "failure_reason", "format", "parameter_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: _resources_pb2.VersionState
    failure_reason: str
    format: str
    parameter_count: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[_resources_pb2.VersionState, str]] = ..., failure_reason: _Optional[str] = ..., format: _Optional[str] = ..., parameter_count: _Optional[int] = ...) -> None: ...

class SetModelVersionStateResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _resources_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_resources_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

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

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

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
