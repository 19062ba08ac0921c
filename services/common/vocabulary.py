"""The registry's domain vocabulary, spelled once for every service.

Stages, version states, evaluation types and lineage node and edge kinds are enums of
``modelregistry.v1`` (protos/modelregistry/v1/resources.proto). Each is mirrored here as a
``StrEnum`` whose member names are the proto value names without their prefix and whose
values are how users write them (``STAGE_PRODUCTION`` -> ``Stage.PRODUCTION`` ->
``"production"``). The mirrors are written out so that type checkers see their members; at
import this module compares each with its proto enum and refuses to load when a value was
added to or removed from one side only, so the proto stays the single source.

The stage transition table, the version string (from the installed package's metadata) and
the default ports live here too.
"""

from __future__ import annotations

from enum import StrEnum
from importlib import metadata
from typing import Any, TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from modelregistry.v1 import resources_pb2
from mreg.client import FILE_NAME_TAG as _CLIENT_FILE_NAME_TAG


class Stage(StrEnum):
    """Promotion stage of a version (``Stage``); the value is how users write it."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    DEPRECATED = "deprecated"


class State(StrEnum):
    """Lifecycle state of a version's registration (``VersionState``)."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class EvaluationType(StrEnum):
    """What an evaluation measured against (``EvaluationType``)."""

    VALIDATION = "validation"
    TEST = "test"
    PRODUCTION = "production"


class NodeKind(StrEnum):
    """Kinds of lineage nodes (``LineageNodeType``)."""

    MODEL_VERSION = "model_version"
    DATASET = "dataset"
    EXPERIMENT = "experiment"
    RUN = "run"


class EdgeType(StrEnum):
    """Kinds of lineage edges (``LineageEdgeType``): ``subject <type> object``; the object is
    upstream."""

    DERIVED_FROM = "derived_from"
    FINE_TUNED_FROM = "fine_tuned_from"
    TRAINED_ON = "trained_on"
    EVALUATED_ON = "evaluated_on"
    PRODUCED_BY = "produced_by"


#: Each mirror, its proto enum and the prefix of the proto's value names.
_PROTO: dict[type[StrEnum], tuple[EnumTypeWrapper, str]] = {
    Stage: (resources_pb2.Stage, "STAGE_"),
    State: (resources_pb2.VersionState, "VERSION_STATE_"),
    EvaluationType: (resources_pb2.EvaluationType, "EVALUATION_TYPE_"),
    NodeKind: (resources_pb2.LineageNodeType, "LINEAGE_NODE_TYPE_"),
    EdgeType: (resources_pb2.LineageEdgeType, "LINEAGE_EDGE_TYPE_"),
}


def check_mirror(mirror: type[StrEnum], enum: EnumTypeWrapper, prefix: str) -> None:
    """ImportError unless ``mirror`` has exactly the proto enum's values (but unspecified), in
    its order, each valued by its lowercase name."""
    names = [v.name.removeprefix(prefix) for v in enum.DESCRIPTOR.values if v.number]
    if names != [m.name for m in mirror] or any(m.value != m.name.lower() for m in mirror):
        raise ImportError(
            f"services.common.vocabulary.{mirror.__name__} {[m.name for m in mirror]} does not "
            f"match the proto enum {enum.DESCRIPTOR.full_name} {names}"
        )


for _mirror, (_enum, _prefix) in _PROTO.items():
    check_mirror(_mirror, _enum, _prefix)

E = TypeVar("E", bound=StrEnum)


#: A proto enum's number as a message field takes it. The generated stubs type an enum field
#: as its enum class only (an ``int`` subclass at runtime), while protobuf takes any ``int``:
#: numbers computed at run time pass as this.
ProtoEnum = Any


def to_proto(member: StrEnum) -> ProtoEnum:
    """``Stage.PRODUCTION`` -> ``STAGE_PRODUCTION`` (the proto enum's number)."""
    enum, prefix = _PROTO[type(member)]
    return enum.Value(prefix + member.name)


def from_proto(mirror: type[E], value: int) -> E | None:
    """``STAGE_PRODUCTION`` -> ``Stage.PRODUCTION``; None for unspecified or unknown numbers."""
    enum, prefix = _PROTO[mirror]
    try:
        name = enum.Name(value)
    except ValueError:
        return None
    return None if value == 0 else mirror[name.removeprefix(prefix)]


def name_of(mirror: type[StrEnum], value: int, unknown: str = "unspecified") -> str:
    """``STAGE_PRODUCTION`` -> ``"production"``; ``unknown`` for unspecified or unknown."""
    member = from_proto(mirror, value)
    return unknown if member is None else member.value


#: docs/ARCHITECTURE.md section 4.1: the only stage transitions allowed, in the order messages
#: list them. A promotion policy may narrow this table, never widen it.
TRANSITIONS: dict[Stage, tuple[Stage, ...]] = {
    Stage.DEVELOPMENT: (Stage.STAGING, Stage.ARCHIVED),
    Stage.STAGING: (Stage.PRODUCTION, Stage.DEVELOPMENT, Stage.ARCHIVED),
    Stage.PRODUCTION: (Stage.STAGING, Stage.DEPRECATED, Stage.ARCHIVED),
    Stage.ARCHIVED: (Stage.DEVELOPMENT,),
    Stage.DEPRECATED: (Stage.ARCHIVED,),
}


def _version() -> str:
    try:
        return metadata.version("modelregistry")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


#: The registry's version, from the installed package's metadata (pyproject.toml).
VERSION = _version()

#: Default ports of the three gRPC services and the two HTTP endpoints.
GATEWAY_PORT = 50051
ARTIFACTS_PORT = 50052
METADATA_PORT = 50053
GATEWAY_HTTP_PORT = 8080
ARTIFACTS_HTTP_PORT = 8081

#: Version tag where ``mreg push`` records a single file's name (``mreg pull`` and the
#: gateway's OCI manifests and code-execution gate read it): the client's, the one source.
FILE_NAME_TAG = _CLIENT_FILE_NAME_TAG
