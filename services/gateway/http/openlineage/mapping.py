"""How an OpenLineage run event becomes lineage edges: the documented convention.

Nodes (``docs/openlineage.md`` says the same to users):

* a dataset is ``{namespace}/{name}``, with ``@{datasetVersion}`` appended when it carries
  the spec's ``version`` dataset facet (the registry's ``name@version`` keys);
* a dataset whose namespace is :data:`MODEL_NAMESPACE` names a model version: its name
  is the version's resource name ``models/{model}/versions/{version}``, which must exist;
* the run is ``{job.namespace}/{job.name}/{run.runId}``.

Edges, from an event whose type records lineage (:data:`RECORDING`): every output
``PRODUCED_BY`` the run; an output model version ``TRAINED_ON`` each input dataset; any
other output ``DERIVED_FROM`` each input (a dataset built from datasets, a model distilled
from a model). An input that is also an output (a table updated in place) gets no edge to
itself. Pure functions: no I/O, testable without servers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from modelregistry.v1 import resources_pb2
from services.common.errors import InvalidArgument
from services.common.validation import parse_version_name
from services.gateway.http.openlineage.events import Dataset, EventType, RunEvent

#: The dataset namespace whose names are model versions of this registry.
MODEL_NAMESPACE = "modelregistry"
#: Event types whose inputs and outputs are recorded: a finished run, and a running one
#: (a streaming job reports its lineage while it runs). START, ABORT, FAIL and OTHER are
#: accepted and checked but record nothing.
RECORDING = frozenset({EventType.COMPLETE, EventType.RUNNING})
#: Most edges one event may ask for (outputs x (inputs + 1)).
MAX_EDGES = 10_000
MAX_KEY_CHARS = 512
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")

DATASET = resources_pb2.LINEAGE_NODE_TYPE_DATASET
MODEL_VERSION = resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION
RUN = resources_pb2.LINEAGE_NODE_TYPE_RUN
PRODUCED_BY = resources_pb2.LINEAGE_EDGE_TYPE_PRODUCED_BY
TRAINED_ON = resources_pb2.LINEAGE_EDGE_TYPE_TRAINED_ON
DERIVED_FROM = resources_pb2.LINEAGE_EDGE_TYPE_DERIVED_FROM


@dataclass(frozen=True)
class Node:
    """A lineage node, with the event field it came from (for error messages)."""

    type: resources_pb2.LineageNodeType
    key: str
    #: Where in the event, for messages; not part of the node's identity.
    source: str = field(compare=False)

    def proto(self) -> resources_pb2.LineageNode:
        return resources_pb2.LineageNode(type=self.type, key=self.key)


@dataclass(frozen=True)
class Edge:
    """``subject <type> object``."""

    subject: Node
    type: resources_pb2.LineageEdgeType
    object: Node

    def proto(self) -> resources_pb2.LineageEdge:
        return resources_pb2.LineageEdge(
            subject=self.subject.proto(),
            type=self.type,
            object=self.object.proto(),
        )


@dataclass(frozen=True)
class Plan:
    """What an event records: its edges, and the model versions that must exist first."""

    event_type: EventType | None
    edges: tuple[Edge, ...]

    @property
    def versions(self) -> tuple[Node, ...]:
        """Each model-version node of the edges once, in event order."""
        seen: dict[str, Node] = {}
        for edge in self.edges:
            for node in (edge.subject, edge.object):
                if node.type == MODEL_VERSION:
                    seen.setdefault(node.key, node)
        return tuple(seen.values())


def _key(key: str, source: str) -> str:
    if len(key) > MAX_KEY_CHARS or not _PRINTABLE.fullmatch(key):
        raise InvalidArgument.field(
            source,
            f"the lineage key {key[:80]!r} must be 1-{MAX_KEY_CHARS} printable characters "
            f"(it has {len(key)})",
        )
    return key


def dataset_node(dataset: Dataset, where: str) -> Node:
    """The node an input or output names (``where`` is ``inputs[0]`` or ``outputs[1]``)."""
    source = f"{where}.name"
    if dataset.namespace == MODEL_NAMESPACE:
        model, version = parse_version_name(dataset.name, source)
        return Node(MODEL_VERSION, f"models/{model}/versions/{version}", source)
    key = f"{dataset.namespace}/{dataset.name}"
    dataset_version = dataset.dataset_version()
    if dataset_version is not None:
        key += f"@{dataset_version}"
    return Node(DATASET, _key(key, source), source)


def run_node(event: RunEvent) -> Node:
    key = f"{event.job.namespace}/{event.job.name}/{event.run.runId}"
    return Node(RUN, _key(key, "job.name"), "run.runId")


def _nodes(datasets: Sequence[Dataset], prefix: str) -> list[Node]:
    return [dataset_node(d, f"{prefix}[{i}]") for i, d in enumerate(datasets)]


def plan(event: RunEvent) -> Plan:
    """The edges ``event`` records (none unless its type is in :data:`RECORDING`); every
    name is checked whatever the type, so a bad one is refused on START as on COMPLETE."""
    run = run_node(event)
    inputs, outputs = _nodes(event.inputs, "inputs"), _nodes(event.outputs, "outputs")
    if event.eventType not in RECORDING:
        return Plan(event.eventType, ())
    if len(outputs) * (len(inputs) + 1) > MAX_EDGES:
        raise InvalidArgument.field(
            "outputs",
            f"{len(outputs)} outputs x {len(inputs)} inputs would record more than "
            f"{MAX_EDGES} edges; split the event",
        )
    edges: dict[Edge, None] = {}  # an ordered set: a dataset listed twice, one edge
    for output in outputs:
        for edge in [Edge(output, PRODUCED_BY, run), *(_from_input(output, i) for i in inputs)]:
            if edge.subject != edge.object:
                edges.setdefault(edge)
    return Plan(event.eventType, tuple(edges))


def _from_input(output: Node, source: Node) -> Edge:
    trained = output.type == MODEL_VERSION and source.type == DATASET
    return Edge(output, TRAINED_ON if trained else DERIVED_FROM, source)
