"""Search with AIP-160 filters, ordering and keyset page tokens; comparison by metrics."""

from __future__ import annotations

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of


@pytest.fixture
def populated(client: Client) -> Client:
    """Three models with versions of various metrics, tags and stages."""
    for model, auc, team, framework in [
        ("fraud", 0.95, "risk", "pytorch"),
        ("fraud", 0.91, "risk", "pytorch"),
        ("fraud", 0.85, "risk", "sklearn"),
        ("churn", 0.88, "growth", "xgboost"),
        ("churn", 0.93, "growth", "xgboost"),
        ("spam", 0.97, "trust", "pytorch"),
    ]:
        client.create(
            model=model,
            ready=True,
            metrics={"auc": auc},
            tags={"team": team},
            framework=framework,
            params={"depth": "6"},
        )
    client.create(model="spam", ready=True, framework="pytorch")  # no metrics
    staged = client.create(model="churn", ready=True, metrics={"auc": 0.99})
    client.TransitionModelVersionStage(
        metadata_pb2.TransitionModelVersionStageRequest(
            name=staged.name, stage=resources_pb2.STAGE_STAGING
        )
    )
    return client


def search(client: Client, filter_: str = "", order_by: str = "", **kwargs) -> list[str]:
    response = client.SearchModelVersions(
        metadata_pb2.SearchModelVersionsRequest(filter=filter_, order_by=order_by, **kwargs)
    )
    return [f"{v.model}:{v.version}" for v in response.model_versions]


def test_metric_filter_with_ordering(populated: Client) -> None:
    assert search(populated, "metrics.auc > 0.9", "metrics.auc desc") == [
        "churn:1.0.2",
        "spam:1.0.0",
        "fraud:1.0.0",
        "churn:1.0.1",
        "fraud:1.0.1",
    ]


def test_and_or_not_and_parentheses(populated: Client) -> None:
    got = search(
        populated,
        '(tags.team = "risk" OR tags.team = "trust") AND NOT framework = "sklearn"',
        "name, version",
    )
    assert got == ["fraud:1.0.0", "fraud:1.0.1", "spam:1.0.0"]


def test_stage_state_and_name_filters(populated: Client) -> None:
    assert search(populated, 'stage = "staging"') == ["churn:1.0.2"]
    assert search(populated, "stage = STAGE_STAGING AND state = READY") == ["churn:1.0.2"]
    assert search(populated, 'name = "spam"', "version desc") == ["spam:1.0.1", "spam:1.0.0"]
    assert search(populated, 'params.depth = "6" AND version >= "1.0.2"') == ["fraud:1.0.2"]


def test_missing_values_sort_last_ascending(populated: Client) -> None:
    got = search(populated, 'name = "spam"', "metrics.auc")
    assert got == ["spam:1.0.0", "spam:1.0.1"]


def test_create_time_filter(populated: Client) -> None:
    assert len(search(populated, 'create_time > "2000-01-01T00:00:00Z"')) == 8
    assert search(populated, 'create_time < "2000-01-01T00:00:00Z"') == []


def test_pages_follow_the_order_and_are_stable_under_inserts(populated: Client) -> None:
    request = metadata_pb2.SearchModelVersionsRequest(
        filter="metrics.auc > 0", order_by="metrics.auc desc", page_size=3
    )
    first = populated.SearchModelVersions(request)
    populated.create(model="spam", ready=True, metrics={"auc": 0.999})  # sorts before the cursor
    request.page_token = first.next_page_token
    second = populated.SearchModelVersions(request)
    request.page_token = second.next_page_token
    third = populated.SearchModelVersions(request)
    seen = [v.metrics["auc"] for p in (first, second, third) for v in p.model_versions]
    assert seen == [0.99, 0.97, 0.95, 0.93, 0.91, 0.88, 0.85]
    assert third.next_page_token == ""


def test_archived_versions_are_hidden_unless_asked(populated: Client) -> None:
    v = populated.create(model="gone", ready=True)
    populated.TransitionModelVersionStage(
        metadata_pb2.TransitionModelVersionStageRequest(
            name=v.name, stage=resources_pb2.STAGE_ARCHIVED
        )
    )
    assert search(populated, 'name = "gone"') == []
    assert search(populated, 'name = "gone"', show_archived=True) == ["gone:1.0.0"]


def test_sql_metacharacters_in_filter_values_are_data(populated: Client) -> None:
    assert search(populated, "tags.team = \"x' OR '1'='1\"") == []
    assert search(populated, 'name = "fraud; DROP TABLE model_versions; --"') == []
    assert len(search(populated)) == 8


def test_compare_returns_table_and_best_per_metric(client: Client) -> None:
    a = client.create(ready=True, metrics={"auc": 0.9, "loss": 0.3})
    b = client.create(ready=True, metrics={"auc": 0.8, "loss": 0.2, "f1": 0.5})
    result = client.CompareModelVersions(
        metadata_pb2.CompareModelVersionsRequest(names=[a.name, b.name], lower_is_better=["loss"])
    )
    assert list(result.metrics) == ["auc", "f1", "loss"]
    assert [(r.model_version, dict(r.metrics)) for r in result.rows] == [
        (a.name, {"auc": 0.9, "loss": 0.3}),
        (b.name, {"auc": 0.8, "loss": 0.2, "f1": 0.5}),
    ]
    assert [(x.metric, x.model_version, x.lower_is_better) for x in result.best] == [
        ("auc", a.name, False),
        ("f1", b.name, False),
        ("loss", b.name, True),
    ]


def test_compare_needs_two_versions(client: Client) -> None:
    v = client.create()
    code, message = status_of(
        lambda: client.CompareModelVersions(
            metadata_pb2.CompareModelVersionsRequest(names=[v.name])
        )
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "names: compare 2 to 100 versions, got 1",
    )
