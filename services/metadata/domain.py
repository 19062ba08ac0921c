"""Domain objects of the metadata service: plain dataclasses, free of ORM and protobuf.

The store returns these; the service works on them; the servicer turns them into protos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# The vocabulary shared with the other services (mirrors of the proto enums), re-exported
# so the metadata service names its domain from one module.
from services.common.vocabulary import TRANSITIONS as TRANSITIONS
from services.common.vocabulary import (
    EdgeType,
    EvaluationType,
    NodeKind,
    Stage,
    State,
)


class Direction(StrEnum):
    """Which way a lineage query walks: up to ancestors, down to descendants, or both."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"


@dataclass
class Model:
    """A registered model."""

    name: str
    description: str = ""
    owner: str = ""
    team: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    archived: bool = False
    latest_version: str = ""
    created_by: str = ""
    create_time: datetime | None = None
    updated_by: str = ""
    update_time: datetime | None = None
    revision: int = 1
    #: Internal row id (the store's key for writes); never shown to clients.
    row_id: int = field(default=0, compare=False)


@dataclass
class ModelVersion:
    """A version of a model and everything known about it."""

    model: str
    version: str
    state: State = State.PENDING
    stage: Stage = Stage.DEVELOPMENT
    artifact_hash: str = ""
    artifact_size: int = 0
    artifact_is_tree: bool = False
    format: str = ""
    framework: str = ""
    framework_version: str = ""
    parameter_count: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    hyperparameters: dict[str, str] = field(default_factory=dict)
    input_schema: str = ""
    output_schema: str = ""
    training_dataset: str = ""
    experiment_id: str = ""
    run_id: str = ""
    git_commit: str = ""
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created_by: str = ""
    create_time: datetime | None = None
    updated_by: str = ""
    update_time: datetime | None = None
    revision: int = 1
    aliases: list[str] = field(default_factory=list)
    failure_reason: str = ""
    #: Internal row id (keyset pagination); never shown to clients.
    row_id: int = field(default=0, compare=False)

    @property
    def name(self) -> str:
        """Resource name ``models/{model}/versions/{version}``."""
        return f"models/{self.model}/versions/{self.version}"


@dataclass
class Alias:
    """A movable name of one version, unique per model."""

    model: str
    alias: str
    version: str
    updated_by: str = ""
    update_time: datetime | None = None


@dataclass
class StageTransition:
    """One recorded stage change: who, when, why."""

    model: str
    version: str
    from_stage: Stage
    to_stage: Stage
    actor: str
    reason: str
    time: datetime


@dataclass
class Evaluation:
    """One evaluation of a version on a dataset."""

    model: str
    version: str
    dataset_name: str
    dataset_version: str
    type: EvaluationType
    metrics: dict[str, float]
    evaluator: str = ""
    comment: str = ""
    id: int = 0
    created_by: str = ""
    create_time: datetime | None = None


@dataclass(frozen=True)
class NodeRef:
    """A lineage node: its kind and key (a version name, ``dataset@version``, or an id)."""

    kind: NodeKind
    key: str


@dataclass
class LineageEdge:
    """``subject <type> object``; the object is upstream of the subject."""

    subject: NodeRef
    type: EdgeType
    object: NodeRef
    created_by: str = ""
    create_time: datetime | None = None


@dataclass
class LineageGraph:
    """A subgraph returned by a lineage query: nodes with their distance, and edges."""

    nodes: list[tuple[NodeRef, int]]
    edges: list[LineageEdge]


@dataclass
class ImpactedVersion:
    """A model version downstream of a node, with its stage and distance."""

    model: str
    version: str
    stage: Stage
    state: State
    depth: int


@dataclass
class AuditEntry:
    """One change: who did what to which resource, with the state before and after."""

    id: int
    time: datetime
    actor: str
    action: str
    resource: str
    before: dict | None
    after: dict | None


@dataclass
class Event:
    """One outbox event, in commit order by ``sequence``."""

    sequence: int
    type: str
    model: str
    resource: str
    actor: str
    time: datetime
    attributes: dict[str, str]


@dataclass
class Page:
    """A page of results and the token of the next one (empty on the last page)."""

    items: list
    next_page_token: str = ""
