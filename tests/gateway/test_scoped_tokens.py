"""A token limited to a model-name prefix sees and touches only those models, even in
answers that mix models (search, listings, impact, compare, events)."""

from __future__ import annotations

import grpc
import pytest

from modelregistry.v1 import registry_pb2, resources_pb2
from services.common.auth import Role
from tests.gateway.conftest import register_request, upload


def call(method, request, metadata):
    return method(request, timeout=30, metadata=metadata, wait_for_ready=True)


@pytest.fixture
def scoped(stack, gateway, artifacts):
    stack.restart_gateway(auth=True)
    admin = stack.token("root", Role.ADMIN)
    limited, _ = stack.tokens.create("team-a-ci", [Role.READER], model_prefix="team-a-")
    for model in ("team-a-model", "team-b-model"):
        call(
            gateway.RegisterModelVersion,
            register_request(
                model, upload(artifacts, model.encode()), "1.0.0", training_dataset="shared@1"
            ),
            admin,
        )
    return (("authorization", f"Bearer {limited}"),)


def test_search_and_listings_show_only_the_prefix(gateway, scoped) -> None:
    found = call(
        gateway.SearchModelVersions, registry_pb2.SearchModelVersionsRequest(), scoped
    ).model_versions
    assert [v.model for v in found] == ["team-a-model"]
    models = call(gateway.ListModels, registry_pb2.ListModelsRequest(), scoped).models
    assert [m.name for m in models] == ["models/team-a-model"]
    impacted = call(
        gateway.AnalyzeImpact,
        registry_pb2.AnalyzeImpactRequest(
            node=resources_pb2.LineageNode(
                type=resources_pb2.LINEAGE_NODE_TYPE_DATASET, key="shared@1"
            )
        ),
        scoped,
    ).versions
    assert [v.model_version for v in impacted] == ["models/team-a-model/versions/1.0.0"]


def test_compare_across_the_prefix_is_denied(gateway, scoped) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(
            gateway.CompareModelVersions,
            registry_pb2.CompareModelVersionsRequest(
                names=["models/team-a-model/versions/1.0.0", "models/team-b-model/versions/1.0.0"]
            ),
            scoped,
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert info.value.details() == (
        "team-a-ci's token is limited to models starting with 'team-a-' and cannot touch "
        "models/team-b-model/versions/1.0.0"
    )


def test_an_edge_to_another_prefixs_version_is_denied(stack, gateway, scoped) -> None:
    writer, _ = stack.tokens.create("team-a-writer", [Role.WRITER], model_prefix="team-a-")
    mine, theirs = "models/team-a-model/versions/1.0.0", "models/team-b-model/versions/1.0.0"
    for subject, obj in ((mine, theirs), (theirs, mine)):
        with pytest.raises(grpc.RpcError) as info:
            call(
                gateway.CreateLineageEdge,
                registry_pb2.CreateLineageEdgeRequest(
                    edge=resources_pb2.LineageEdge(
                        subject=_version_node(subject),
                        type=resources_pb2.LINEAGE_EDGE_TYPE_DERIVED_FROM,
                        object=_version_node(obj),
                    )
                ),
                (("authorization", f"Bearer {writer}"),),
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert info.value.details() == (
            "team-a-writer's token is limited to models starting with 'team-a-' and cannot "
            f"touch {theirs}"
        )
    dataset = resources_pb2.LineageNode(type=resources_pb2.LINEAGE_NODE_TYPE_DATASET, key="d@2")
    created = call(
        gateway.CreateLineageEdge,
        registry_pb2.CreateLineageEdgeRequest(
            edge=resources_pb2.LineageEdge(
                subject=_version_node(mine),
                type=resources_pb2.LINEAGE_EDGE_TYPE_TRAINED_ON,
                object=dataset,
            )
        ),
        (("authorization", f"Bearer {writer}"),),
    )
    assert created.edge.subject.key == mine


def test_events_of_other_models_are_not_streamed(gateway, scoped) -> None:
    events = [
        r.event
        for r in gateway.WatchEvents(
            registry_pb2.WatchEventsRequest(stop_when_caught_up=True), timeout=10, metadata=scoped
        )
    ]
    assert events
    assert {e.model for e in events} == {"team-a-model"}


TEAM_B_VERSION = "models/team-b-model/versions/1.0.0"


def _out_of_scope(model: str) -> str:
    return (
        f"team-a-ci's token is limited to models starting with 'team-a-' and cannot touch '{model}'"
    )


def _version_node(name: str) -> resources_pb2.LineageNode:
    return resources_pb2.LineageNode(type=resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION, key=name)


@pytest.fixture
def fine_tuned(stack, gateway, artifacts, scoped):
    """team-a-child:1.0.0, fine-tuned from team-b-model:1.0.0 (registered by an admin)."""
    request = register_request("team-a-child", upload(artifacts, b"child"), "1.0.0")
    request.lineage.append(
        resources_pb2.LineageLink(
            type=resources_pb2.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM,
            object=_version_node(TEAM_B_VERSION),
        )
    )
    call(gateway.RegisterModelVersion, request, stack.token("root2", Role.ADMIN))
    return scoped


def test_the_audit_log_shows_only_the_prefix(gateway, artifacts, scoped) -> None:
    team_b_digest = upload(artifacts, b"team-b-model").hash
    everything = call(gateway.ListAuditLog, registry_pb2.ListAuditLogRequest(), scoped).entries
    assert everything
    assert {e.resource.split("/")[1] for e in everything} == {"team-a-model"}
    assert not any(team_b_digest in e.after_json + e.before_json for e in everything)
    with pytest.raises(grpc.RpcError) as info:
        call(
            gateway.ListAuditLog,
            registry_pb2.ListAuditLogRequest(resource="models/team-b-model"),
            scoped,
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert info.value.details() == _out_of_scope("team-b-model")


def test_lineage_and_impact_of_another_prefixs_version_are_denied(gateway, scoped) -> None:
    for method, request in (
        (gateway.GetLineage, registry_pb2.GetLineageRequest(node=_version_node(TEAM_B_VERSION))),
        (
            gateway.AnalyzeImpact,
            registry_pb2.AnalyzeImpactRequest(node=_version_node(TEAM_B_VERSION)),
        ),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call(method, request, scoped)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert info.value.details() == _out_of_scope("team-b-model")


def test_lineage_of_a_shared_dataset_shows_only_the_prefixs_versions(gateway, scoped) -> None:
    dataset = resources_pb2.LineageNode(
        type=resources_pb2.LINEAGE_NODE_TYPE_DATASET, key="shared@1"
    )
    lineage = call(
        gateway.GetLineage,
        registry_pb2.GetLineageRequest(
            node=dataset, direction=resources_pb2.LINEAGE_DIRECTION_BOTH
        ),
        scoped,
    )
    versions = {
        n.key for n in lineage.nodes if n.type == resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION
    }
    assert versions == {"models/team-a-model/versions/1.0.0"}
    assert {e.subject.key for e in lineage.edges} == {"models/team-a-model/versions/1.0.0"}


def test_a_model_report_leaves_out_the_other_prefixs_parent(gateway, fine_tuned) -> None:
    name = "models/team-a-child/versions/1.0.0"
    report = call(gateway.GetModelReport, registry_pb2.GetModelReportRequest(name=name), fine_tuned)
    assert report.model_version.name == name
    assert [n.key for n in report.lineage_nodes] == [name]
    assert list(report.lineage_edges) == []


def test_watching_another_prefixs_model_is_denied(gateway, scoped) -> None:
    with pytest.raises(grpc.RpcError) as info:
        list(
            gateway.WatchEvents(
                registry_pb2.WatchEventsRequest(model="team-b-model", stop_when_caught_up=True),
                timeout=10,
                metadata=scoped,
            )
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert info.value.details() == _out_of_scope("team-b-model")
