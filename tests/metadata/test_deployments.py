"""Deployments: one per model and environment, reported by serving infrastructure."""

from __future__ import annotations

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of

G = resources_pb2


def report(
    client: Client,
    name: str,
    environment: str = "prod-eu",
    status: int = G.DEPLOYMENT_STATUS_SERVING,
    principal: str = "k8s-operator",
    **kwargs,
) -> resources_pb2.Deployment:
    return client.ReportDeployment(
        metadata_pb2.ReportDeploymentRequest(
            model_version=name, environment=environment, status=status, **kwargs
        ),
        principal=principal,
    ).deployment


def deployments(client: Client, parent: str) -> list[tuple[str, str, int]]:
    found = client.ListDeployments(metadata_pb2.ListDeploymentsRequest(parent=parent)).deployments
    return [(d.environment, d.model_version, d.status) for d in found]


def deployment_events(client: Client) -> list[dict[str, str]]:
    found = client.ListEvents(
        metadata_pb2.ListEventsRequest(types=["deployment.reported"], model="fraud")
    ).events
    return [{"resource": e.resource, "actor": e.actor, **e.attributes} for e in found]


def test_report_creates_a_deployment_with_everything_reported(client: Client) -> None:
    v = client.create(ready=True)
    d = report(
        client,
        v.name,
        endpoint="https://fraud.prod-eu.internal/v1",
        health="p99 41ms",
        attributes={"replicas": "3"},
    )
    assert d.name == "models/fraud/deployments/prod-eu"
    assert (d.model_version, d.environment, d.endpoint, d.status, d.health) == (
        v.name,
        "prod-eu",
        "https://fraud.prod-eu.internal/v1",
        G.DEPLOYMENT_STATUS_SERVING,
        "p99 41ms",
    )
    assert dict(d.attributes) == {"replicas": "3"}
    assert d.reported_by == "k8s-operator" and d.update_time.seconds > 0
    assert deployment_events(client) == [
        {
            "resource": d.name,
            "actor": "k8s-operator",
            "version": "1.0.0",
            "environment": "prod-eu",
            "status": "serving",
            "endpoint": "https://fraud.prod-eu.internal/v1",
            "previous_version": "",
        }
    ]
    audit = client.ListAuditLog(metadata_pb2.ListAuditLogRequest(resource=d.name)).entries
    assert [(a.action, a.before_json) for a in audit] == [("deployment.report", "")]


def test_a_new_version_replaces_the_deployment_of_its_environment(client: Client) -> None:
    a, b = client.create(ready=True), client.create(ready=True)
    report(client, a.name, "prod-eu")
    report(client, a.name, "prod-us")
    report(client, b.name, "staging", status=G.DEPLOYMENT_STATUS_DEPLOYING)
    replaced = report(client, b.name, "prod-eu", attributes={"canary": "false"})
    assert replaced.model_version == b.name
    assert deployments(client, "models/fraud") == [
        ("prod-eu", b.name, G.DEPLOYMENT_STATUS_SERVING),
        ("prod-us", a.name, G.DEPLOYMENT_STATUS_SERVING),
        ("staging", b.name, G.DEPLOYMENT_STATUS_DEPLOYING),
    ]
    assert deployments(client, a.name) == [("prod-us", a.name, G.DEPLOYMENT_STATUS_SERVING)]
    assert [env for env, _, _ in deployments(client, b.name)] == ["prod-eu", "staging"]
    last = deployment_events(client)[-1]
    assert (last["version"], last["previous_version"]) == ("1.0.1", "1.0.0")


def test_a_heartbeat_that_changes_nothing_writes_no_event(client: Client) -> None:
    v = client.create(ready=True)
    first = report(client, v.name, health="ok")
    again = report(client, v.name, health="ok", principal="k8s-operator-2")
    assert again.reported_by == "k8s-operator-2"
    assert (again.update_time.seconds, again.update_time.nanos) >= (
        first.update_time.seconds,
        first.update_time.nanos,
    )
    assert len(deployment_events(client)) == 1
    degraded = report(client, v.name, status=G.DEPLOYMENT_STATUS_DEGRADED, health="5% errors")
    assert degraded.status == G.DEPLOYMENT_STATUS_DEGRADED
    assert [e["status"] for e in deployment_events(client)] == ["serving", "degraded"]


def test_report_of_a_version_that_is_not_ready_is_failed_precondition(client: Client) -> None:
    v = client.create()
    code, message = status_of(lambda: report(client, v.name))
    assert (code, message) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "cannot record 'models/fraud/versions/1.0.0' as deployed to 'prod-eu': it is PENDING, "
        "and only READY versions are deployed",
    )


def test_report_of_an_unknown_version_is_not_found(client: Client) -> None:
    client.create(ready=True)
    code, message = status_of(lambda: report(client, "models/fraud/versions/2.0.0"))
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "version 'models/fraud/versions/2.0.0' does not exist",
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"environment": "Prod EU"},
            "environment: invalid environment 'Prod EU': use 1-63 characters of lower-case "
            "letters, digits, '.', '_' and '-', starting with a letter or digit",
        ),
        (
            {"environment": ""},
            "environment: invalid environment '': use 1-63 characters of lower-case "
            "letters, digits, '.', '_' and '-', starting with a letter or digit",
        ),
        (
            {"status": G.DEPLOYMENT_STATUS_UNSPECIFIED},
            "status: a status is required: DEPLOYING, SERVING, DEGRADED, FAILED or RETIRED",
        ),
        (
            {"endpoint": "x" * 1025},
            "endpoint: 1025 bytes is over the limit of 1024 bytes (1 KiB)",
        ),
        (
            {"health": "x" * 4097},
            "health: 4097 bytes is over the limit of 4096 bytes (4 KiB)",
        ),
        (
            {"attributes": {"bad key": "1"}},
            "attributes['bad key']: invalid key 'bad key'",
        ),
    ],
)
def test_bad_report_is_invalid_argument(client: Client, kwargs: dict, expected: str) -> None:
    v = client.create(ready=True)
    code, message = status_of(lambda: report(client, v.name, **kwargs))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith(expected), message


def test_list_deployments_on_missing_or_malformed_parents(client: Client) -> None:
    client.create(ready=True)
    assert deployments(client, "models/fraud") == []
    code, message = status_of(lambda: deployments(client, "models/nope"))
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, "model 'models/nope' does not exist")
    code, message = status_of(lambda: deployments(client, "models/fraud/versions/3.0.0"))
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "version 'models/fraud/versions/3.0.0' does not exist",
    )
    code, message = status_of(lambda: deployments(client, "fraud"))
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "parent: expected 'models/{model}' or 'models/{model}/versions/{version}', got 'fraud'",
    )
