import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from modelregistry.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Compressor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPRESSOR_UNSPECIFIED: _ClassVar[Compressor]
    COMPRESSOR_IDENTITY: _ClassVar[Compressor]
    COMPRESSOR_ZSTD: _ClassVar[Compressor]
    COMPRESSOR_BYTEGROUP2_ZSTD: _ClassVar[Compressor]
    COMPRESSOR_BYTEGROUP4_ZSTD: _ClassVar[Compressor]
COMPRESSOR_UNSPECIFIED: Compressor
COMPRESSOR_IDENTITY: Compressor
COMPRESSOR_ZSTD: Compressor
COMPRESSOR_BYTEGROUP2_ZSTD: Compressor
COMPRESSOR_BYTEGROUP4_ZSTD: Compressor

class FindMissingChunksRequest(_message.Message):
    __slots__ = ("digests",)
    DIGESTS_FIELD_NUMBER: _ClassVar[int]
    digests: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Digest]
    def __init__(self, digests: _Optional[_Iterable[_Union[_resources_pb2.Digest, _Mapping]]] = ...) -> None: ...

class FindMissingChunksResponse(_message.Message):
    __slots__ = ("missing_digests",)
    MISSING_DIGESTS_FIELD_NUMBER: _ClassVar[int]
    missing_digests: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Digest]
    def __init__(self, missing_digests: _Optional[_Iterable[_Union[_resources_pb2.Digest, _Mapping]]] = ...) -> None: ...

class UploadChunksRequest(_message.Message):
    __slots__ = ("digest", "compressor", "data")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    COMPRESSOR_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    compressor: Compressor
    data: bytes
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., compressor: _Optional[_Union[Compressor, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadChunksResponse(_message.Message):
    __slots__ = ("chunks_received", "chunks_stored", "wire_bytes")
    CHUNKS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_STORED_FIELD_NUMBER: _ClassVar[int]
    WIRE_BYTES_FIELD_NUMBER: _ClassVar[int]
    chunks_received: int
    chunks_stored: int
    wire_bytes: int
    def __init__(self, chunks_received: _Optional[int] = ..., chunks_stored: _Optional[int] = ..., wire_bytes: _Optional[int] = ...) -> None: ...

class CommitBlobRequest(_message.Message):
    __slots__ = ("blob_digest", "chunk_digests")
    BLOB_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CHUNK_DIGESTS_FIELD_NUMBER: _ClassVar[int]
    blob_digest: _resources_pb2.Digest
    chunk_digests: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Digest]
    def __init__(self, blob_digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., chunk_digests: _Optional[_Iterable[_Union[_resources_pb2.Digest, _Mapping]]] = ...) -> None: ...

class CommitBlobResponse(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: BlobInfo
    def __init__(self, blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class UploadBlobRequest(_message.Message):
    __slots__ = ("header", "data", "finish")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FINISH_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    data: bytes
    finish: UploadFinish
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., data: _Optional[bytes] = ..., finish: _Optional[_Union[UploadFinish, _Mapping]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("upload_id", "write_offset")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    WRITE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    write_offset: int
    def __init__(self, upload_id: _Optional[str] = ..., write_offset: _Optional[int] = ...) -> None: ...

class UploadFinish(_message.Message):
    __slots__ = ("expected_digest",)
    EXPECTED_DIGEST_FIELD_NUMBER: _ClassVar[int]
    expected_digest: _resources_pb2.Digest
    def __init__(self, expected_digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ...) -> None: ...

class UploadBlobResponse(_message.Message):
    __slots__ = ("upload_id", "committed_size", "complete", "blob")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_SIZE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    committed_size: int
    complete: bool
    blob: BlobInfo
    def __init__(self, upload_id: _Optional[str] = ..., committed_size: _Optional[int] = ..., complete: _Optional[bool] = ..., blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class QueryUploadRequest(_message.Message):
    __slots__ = ("upload_id",)
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    def __init__(self, upload_id: _Optional[str] = ...) -> None: ...

class QueryUploadResponse(_message.Message):
    __slots__ = ("upload_id", "committed_size", "complete", "blob")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_SIZE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    committed_size: int
    complete: bool
    blob: BlobInfo
    def __init__(self, upload_id: _Optional[str] = ..., committed_size: _Optional[int] = ..., complete: _Optional[bool] = ..., blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class ReadBlobRequest(_message.Message):
    __slots__ = ("digest", "offset", "limit", "accept_compressed")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_COMPRESSED_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    offset: int
    limit: int
    accept_compressed: bool
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., accept_compressed: _Optional[bool] = ...) -> None: ...

class ReadBlobResponse(_message.Message):
    __slots__ = ("offset", "data", "compressor", "uncompressed_size")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    COMPRESSOR_FIELD_NUMBER: _ClassVar[int]
    UNCOMPRESSED_SIZE_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    compressor: Compressor
    uncompressed_size: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ..., compressor: _Optional[_Union[Compressor, str]] = ..., uncompressed_size: _Optional[int] = ...) -> None: ...

class StatBlobRequest(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ...) -> None: ...

class StatBlobResponse(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: BlobInfo
    def __init__(self, blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class BlobInfo(_message.Message):
    __slots__ = ("digest", "chunk_count", "stored_bytes", "is_tree", "inspection", "create_time", "pins", "quarantined_chunks", "pin_count")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    STORED_BYTES_FIELD_NUMBER: _ClassVar[int]
    IS_TREE_FIELD_NUMBER: _ClassVar[int]
    INSPECTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PINS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    PIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    chunk_count: int
    stored_bytes: int
    is_tree: bool
    inspection: Inspection
    create_time: _timestamp_pb2.Timestamp
    pins: _containers.RepeatedScalarFieldContainer[str]
    quarantined_chunks: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Digest]
    pin_count: int
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., chunk_count: _Optional[int] = ..., stored_bytes: _Optional[int] = ..., is_tree: _Optional[bool] = ..., inspection: _Optional[_Union[Inspection, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pins: _Optional[_Iterable[str]] = ..., quarantined_chunks: _Optional[_Iterable[_Union[_resources_pb2.Digest, _Mapping]]] = ..., pin_count: _Optional[int] = ...) -> None: ...

class Inspection(_message.Message):
    __slots__ = ("format", "tensor_count", "parameter_count", "dtypes", "may_execute_code", "details")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TENSOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    DTYPES_FIELD_NUMBER: _ClassVar[int]
    MAY_EXECUTE_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    format: str
    tensor_count: int
    parameter_count: int
    dtypes: _containers.RepeatedScalarFieldContainer[str]
    may_execute_code: bool
    details: _containers.ScalarMap[str, str]
    def __init__(self, format: _Optional[str] = ..., tensor_count: _Optional[int] = ..., parameter_count: _Optional[int] = ..., dtypes: _Optional[_Iterable[str]] = ..., may_execute_code: _Optional[bool] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TreeEntry(_message.Message):
    __slots__ = ("path", "digest", "mode")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    path: str
    digest: _resources_pb2.Digest
    mode: int
    def __init__(self, path: _Optional[str] = ..., digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., mode: _Optional[int] = ...) -> None: ...

class CommitTreeRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TreeEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[TreeEntry, _Mapping]]] = ...) -> None: ...

class CommitTreeResponse(_message.Message):
    __slots__ = ("tree",)
    TREE_FIELD_NUMBER: _ClassVar[int]
    tree: BlobInfo
    def __init__(self, tree: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class GetTreeRequest(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ...) -> None: ...

class GetTreeResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TreeEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[TreeEntry, _Mapping]]] = ...) -> None: ...

class PinBlobRequest(_message.Message):
    __slots__ = ("digest", "holder")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    holder: str
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., holder: _Optional[str] = ...) -> None: ...

class PinBlobResponse(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: BlobInfo
    def __init__(self, blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class ListBlobPinsRequest(_message.Message):
    __slots__ = ("digest", "page_size", "page_token")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    page_size: int
    page_token: str
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBlobPinsResponse(_message.Message):
    __slots__ = ("holders", "next_page_token")
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    holders: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    def __init__(self, holders: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UnpinBlobRequest(_message.Message):
    __slots__ = ("digest", "holder")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    holder: str
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., holder: _Optional[str] = ...) -> None: ...

class UnpinBlobResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = ("grace_period", "dry_run")
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    grace_period: _duration_pb2.Duration
    dry_run: bool
    def __init__(self, grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class CollectGarbageResponse(_message.Message):
    __slots__ = ("blobs_removed", "chunks_removed", "bytes_freed")
    BLOBS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    BYTES_FREED_FIELD_NUMBER: _ClassVar[int]
    blobs_removed: int
    chunks_removed: int
    bytes_freed: int
    def __init__(self, blobs_removed: _Optional[int] = ..., chunks_removed: _Optional[int] = ..., bytes_freed: _Optional[int] = ...) -> None: ...

class ScrubStorageRequest(_message.Message):
    __slots__ = ("max_mb_per_second",)
    MAX_MB_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    max_mb_per_second: float
    def __init__(self, max_mb_per_second: _Optional[float] = ...) -> None: ...

class UnreadableBlob(_message.Message):
    __slots__ = ("digest", "is_tree", "quarantined_chunks", "pinned_by", "trees")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    IS_TREE_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    PINNED_BY_FIELD_NUMBER: _ClassVar[int]
    TREES_FIELD_NUMBER: _ClassVar[int]
    digest: _resources_pb2.Digest
    is_tree: bool
    quarantined_chunks: _containers.RepeatedScalarFieldContainer[str]
    pinned_by: _containers.RepeatedScalarFieldContainer[str]
    trees: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, digest: _Optional[_Union[_resources_pb2.Digest, _Mapping]] = ..., is_tree: _Optional[bool] = ..., quarantined_chunks: _Optional[_Iterable[str]] = ..., pinned_by: _Optional[_Iterable[str]] = ..., trees: _Optional[_Iterable[str]] = ...) -> None: ...

class ScrubStorageResponse(_message.Message):
    __slots__ = ("chunks_checked", "bytes_checked", "chunks_quarantined", "duration", "mb_per_second", "max_mb_per_second", "unreadable")
    CHUNKS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    BYTES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_QUARANTINED_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    MB_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    MAX_MB_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    UNREADABLE_FIELD_NUMBER: _ClassVar[int]
    chunks_checked: int
    bytes_checked: int
    chunks_quarantined: _containers.RepeatedScalarFieldContainer[str]
    duration: _duration_pb2.Duration
    mb_per_second: float
    max_mb_per_second: float
    unreadable: _containers.RepeatedCompositeFieldContainer[UnreadableBlob]
    def __init__(self, chunks_checked: _Optional[int] = ..., bytes_checked: _Optional[int] = ..., chunks_quarantined: _Optional[_Iterable[str]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., mb_per_second: _Optional[float] = ..., max_mb_per_second: _Optional[float] = ..., unreadable: _Optional[_Iterable[_Union[UnreadableBlob, _Mapping]]] = ...) -> None: ...
