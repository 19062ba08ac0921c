"""Evaluations, and the lineage graph: edges, cycle refusal, walks and impact analysis."""

from __future__ import annotations

import grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of

R = resources_pb2
MV, DS, RUN = (
    R.LINEAGE_NODE_TYPE_MODEL_VERSION,
    R.LINEAGE_NODE_TYPE_DATASET,
    R.LINEAGE_NODE_TYPE_RUN,
)


def evaluate(client: Client, parent: str, dataset: str, version: str, type_: int, **metrics):
    return client.CreateEvaluation(
        metadata_pb2.CreateEvaluationRequest(
            parent=parent,
            evaluation=R.Evaluation(
                dataset_name=dataset,
                dataset_version=version,
                type=type_,
                metrics=metrics,
                evaluator="ci",
                comment="nightly",
            ),
        )
    ).evaluation


def test_evaluations_are_recorded_and_filtered_by_dataset_and_type(client: Client) -> None:
    v = client.create(ready=True)
    first = evaluate(client, v.name, "holdout", "3", R.EVALUATION_TYPE_TEST, auc=0.91)
    evaluate(client, v.name, "holdout", "4", R.EVALUATION_TYPE_VALIDATION, auc=0.92)
    evaluate(client, v.name, "live", "", R.EVALUATION_TYPE_PRODUCTION, auc=0.89)
    assert first.name.startswith(f"{v.name}/evaluations/")
    assert (first.created_by, first.evaluator, first.comment) == ("alice", "ci", "nightly")

    def listed(**kwargs) -> list[str]:
        request = metadata_pb2.ListEvaluationsRequest(parent=v.name, **kwargs)
        return [
            f"{e.dataset_name}@{e.dataset_version}"
            for e in client.ListEvaluations(request).evaluations
        ]

    assert listed() == ["live@", "holdout@4", "holdout@3"]
    assert listed(dataset_name="holdout") == ["holdout@4", "holdout@3"]
    assert listed(dataset_name="holdout", dataset_version="3") == ["holdout@3"]
    assert listed(type=R.EVALUATION_TYPE_PRODUCTION) == ["live@"]
    page = client.ListEvaluations(metadata_pb2.ListEvaluationsRequest(parent=v.name, page_size=2))
    rest = client.ListEvaluations(
        metadata_pb2.ListEvaluationsRequest(
            parent=v.name, page_size=2, page_token=page.next_page_token
        )
    )
    assert [e.dataset_name for e in rest.evaluations] == ["holdout"]


def test_evaluation_without_type_is_invalid_argument(client: Client) -> None:
    v = client.create(ready=True)
    code, message = status_of(
        lambda: evaluate(client, v.name, "holdout", "3", R.EVALUATION_TYPE_UNSPECIFIED)
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "evaluation.type: an evaluation type (validation, test or production) is required",
    )


def node(type_: int, key: str) -> R.LineageNode:
    return R.LineageNode(type=type_, key=key)


def edge(client: Client, subject: R.LineageNode, type_: int, obj: R.LineageNode):
    return client.CreateLineageEdge(
        metadata_pb2.CreateLineageEdgeRequest(
            edge=R.LineageEdge(subject=subject, type=type_, object=obj)
        )
    ).edge


def test_registration_records_dataset_run_and_parent_edges(client: Client) -> None:
    base = client.create(model="base", ready=True, training_dataset="web@1")
    tuned = client.CreateModelVersion(
        metadata_pb2.CreateModelVersionRequest(
            parent="models/tuned",
            model_version=R.ModelVersion(training_dataset="support@2", run_id="run-7"),
            lineage=[
                resources_pb2.LineageLink(
                    type=R.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM, object=node(MV, base.name)
                )
            ],
            ready=True,
        )
    ).model_version
    graph = client.GetLineage(metadata_pb2.GetLineageRequest(node=node(MV, tuned.name)))
    assert [(n.key, n.depth) for n in graph.nodes] == [
        (tuned.name, 0),
        (base.name, 1),
        ("run-7", 1),
        ("support@2", 1),
        ("web@1", 2),
    ]
    assert len(graph.edges) == 4


def test_cycle_is_failed_precondition_and_self_edge_invalid_argument(client: Client) -> None:
    a = client.create(model="a", ready=True)
    b = client.create(model="b", ready=True)
    c = client.create(model="c", ready=True)
    edge(client, node(MV, b.name), R.LINEAGE_EDGE_TYPE_DERIVED_FROM, node(MV, a.name))
    edge(client, node(MV, c.name), R.LINEAGE_EDGE_TYPE_DERIVED_FROM, node(MV, b.name))
    code, message = status_of(
        lambda: edge(client, node(MV, a.name), R.LINEAGE_EDGE_TYPE_DERIVED_FROM, node(MV, c.name))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message == (
        "cannot record 'models/a/versions/1.0.0 derived_from models/c/versions/1.0.0': "
        "'models/a/versions/1.0.0' is already upstream of 'models/c/versions/1.0.0', so the "
        "edge would close a cycle"
    )
    code, message = status_of(
        lambda: edge(client, node(DS, "x@1"), R.LINEAGE_EDGE_TYPE_DERIVED_FROM, node(DS, "x@1"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == (
        "edge: subject and object are the same node (dataset 'x@1'); a node cannot be its own "
        "ancestor"
    )


def test_edge_to_a_missing_version_is_not_found(client: Client) -> None:
    code, message = status_of(
        lambda: edge(
            client,
            node(MV, "models/x/versions/1.0.0"),
            R.LINEAGE_EDGE_TYPE_TRAINED_ON,
            node(DS, "d@1"),
        )
    )
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "version 'models/x/versions/1.0.0' does not exist",
    )


def test_lineage_walks_down_both_with_depth_and_edge_type_filters(client: Client) -> None:
    base = client.create(model="base", ready=True, training_dataset="web@1")
    mid = client.create(model="mid", ready=True)
    leaf = client.create(model="leaf", ready=True)
    edge(client, node(MV, mid.name), R.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM, node(MV, base.name))
    edge(client, node(MV, leaf.name), R.LINEAGE_EDGE_TYPE_DERIVED_FROM, node(MV, mid.name))

    def keys(start, **kwargs) -> list[tuple[str, int]]:
        request = metadata_pb2.GetLineageRequest(node=start, **kwargs)
        return [(n.key, n.depth) for n in client.GetLineage(request).nodes]

    down = resources_pb2.LINEAGE_DIRECTION_DOWN
    assert keys(node(DS, "web@1"), direction=down) == [
        ("web@1", 0),
        (base.name, 1),
        (mid.name, 2),
        (leaf.name, 3),
    ]
    assert keys(node(DS, "web@1"), direction=down, max_depth=2) == [
        ("web@1", 0),
        (base.name, 1),
        (mid.name, 2),
    ]
    only = [R.LINEAGE_EDGE_TYPE_TRAINED_ON, R.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM]
    assert keys(node(DS, "web@1"), direction=down, edge_types=only) == [
        ("web@1", 0),
        (base.name, 1),
        (mid.name, 2),
    ]
    both = resources_pb2.LINEAGE_DIRECTION_BOTH
    assert keys(node(MV, mid.name), direction=both, max_depth=1) == [
        (mid.name, 0),
        (base.name, 1),
        (leaf.name, 1),
    ]


def test_impact_lists_downstream_versions_with_stage(client: Client) -> None:
    trained = client.create(model="fraud", ready=True, training_dataset="tx@3")
    tuned = client.create(model="fraud-small", ready=True)
    client.create(model="other", ready=True, training_dataset="tx@4")
    edge(client, node(MV, tuned.name), R.LINEAGE_EDGE_TYPE_DERIVED_FROM, node(MV, trained.name))
    for stage in (R.STAGE_STAGING, R.STAGE_PRODUCTION):
        client.TransitionModelVersionStage(
            metadata_pb2.TransitionModelVersionStageRequest(name=tuned.name, stage=stage)
        )
    impact = client.AnalyzeImpact(metadata_pb2.AnalyzeImpactRequest(node=node(DS, "tx@3")))
    assert [(v.model_version, v.stage, v.depth) for v in impact.versions] == [
        (trained.name, R.STAGE_DEVELOPMENT, 1),
        (tuned.name, R.STAGE_PRODUCTION, 2),
    ]
    production = client.AnalyzeImpact(
        metadata_pb2.AnalyzeImpactRequest(node=node(DS, "tx@3"), stages=[R.STAGE_PRODUCTION])
    )
    assert [v.model_version for v in production.versions] == [tuned.name]


def test_lineage_of_unknown_node_is_not_found(client: Client) -> None:
    code, message = status_of(
        lambda: client.GetLineage(metadata_pb2.GetLineageRequest(node=node(DS, "nope@1")))
    )
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "lineage node dataset 'nope@1' does not exist",
    )


def test_lineage_depth_out_of_range_is_invalid_argument(client: Client) -> None:
    code, message = status_of(
        lambda: client.GetLineage(
            metadata_pb2.GetLineageRequest(node=node(DS, "d@1"), max_depth=101)
        )
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "max_depth: depth must be between 1 and 100 (0 for 10), got 101",
    )


def test_delete_edge(client: Client) -> None:
    v = client.create(ready=True, training_dataset="d@1")
    client.DeleteLineageEdge(
        metadata_pb2.DeleteLineageEdgeRequest(
            edge=R.LineageEdge(
                subject=node(MV, v.name),
                type=R.LINEAGE_EDGE_TYPE_TRAINED_ON,
                object=node(DS, "d@1"),
            )
        )
    )
    graph = client.GetLineage(metadata_pb2.GetLineageRequest(node=node(MV, v.name)))
    assert [n.key for n in graph.nodes] == [v.name]
