"""A token limited to a model-name prefix sees and touches only those models, even in
answers that mix models (search, listings, impact, compare, events)."""

from __future__ import annotations

import grpc
import pytest

from modelregistry.v1 import metadata_pb2, registry_pb2, resources_pb2
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
        gateway.SearchModelVersions, metadata_pb2.SearchModelVersionsRequest(), scoped
    ).model_versions
    assert [v.model for v in found] == ["team-a-model"]
    models = call(gateway.ListModels, metadata_pb2.ListModelsRequest(), scoped).models
    assert [m.name for m in models] == ["models/team-a-model"]
    impacted = call(
        gateway.AnalyzeImpact,
        metadata_pb2.AnalyzeImpactRequest(
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
            metadata_pb2.CompareModelVersionsRequest(
                names=["models/team-a-model/versions/1.0.0", "models/team-b-model/versions/1.0.0"]
            ),
            scoped,
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert info.value.details() == (
        "team-a-ci's token is limited to models starting with 'team-a-' and cannot touch "
        "models/team-b-model/versions/1.0.0"
    )


def test_events_of_other_models_are_not_streamed(gateway, scoped) -> None:
    events = [
        r.event
        for r in gateway.WatchEvents(
            registry_pb2.WatchEventsRequest(stop_when_caught_up=True), timeout=10, metadata=scoped
        )
    ]
    assert events
    assert {e.model for e in events} == {"team-a-model"}
