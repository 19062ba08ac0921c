"""OpenLineage in: events from the real ``openlineage-python`` client, posted by its
HttpTransport to a live gateway's HTTP port, read back with GetLineage and AnalyzeImpact."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport

from tests.http.conftest import Registry
from tests.http.status import reasons, violations

PRODUCER = "https://github.com/example/pipelines/train"
DATASET, VERSION, RUN = (
    "LINEAGE_NODE_TYPE_DATASET",
    "LINEAGE_NODE_TYPE_MODEL_VERSION",
    "LINEAGE_NODE_TYPE_RUN",
)


def _transport(registry: Registry, who: str | None = "writer", **config) -> HttpTransport:
    settings: dict = {"url": registry.url, "retry": {"total": 0}, **config}
    if who:
        settings["auth"] = {"type": "api_key", "apiKey": registry.tokens[who]}
    return HttpTransport(HttpConfig.from_dict(settings))


def _register(registry: Registry, model: str, version: str) -> str:
    digest = registry.upload(os.urandom(1024))
    body = {"modelVersion": {"version": version, "artifactDigest": digest}}
    with registry.http("writer") as http:
        answer = http.post(f"/v1/models/{model}/versions", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["modelVersion"]["name"]


def _event(
    state: RunState,
    inputs: list[InputDataset],
    outputs: list[OutputDataset],
    run_id: str | None = None,
    job: str = "train.fit",
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime="2026-12-04T18:00:00.000Z",
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace="airflow", name=job),
        producer=PRODUCER,
        inputs=inputs,
        outputs=outputs,
    )


def _dataset(cls, namespace: str, name: str, version: str | None = None):
    facets = {}
    if version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=version
        )
    return cls(namespace=namespace, name=name, facets=facets)


def _lineage(registry: Registry, type_: str, key: str, direction: str = "UP") -> httpx.Response:
    params = {"node.type": type_, "node.key": key, "direction": f"LINEAGE_DIRECTION_{direction}"}
    with registry.http("reader") as http:
        return http.get("/v1/lineage", params=params)


def _edges(registry: Registry, type_: str, key: str, direction: str = "UP") -> set[tuple]:
    answer = _lineage(registry, type_, key, direction)
    assert answer.status_code == 200, answer.text
    return {
        (e["subject"]["key"], e["type"].removeprefix("LINEAGE_EDGE_TYPE_"), e["object"]["key"])
        for e in answer.json().get("edges", [])
    }


def test_a_training_run_from_the_client_lands_in_the_lineage_graph(registry: Registry) -> None:
    version = _register(registry, "churn", "1.0.0")
    client = OpenLineageClient(transport=_transport(registry))
    run_id = str(uuid.uuid4())
    features = _dataset(InputDataset, "s3://lake", "features/churn", version="7")
    model = _dataset(OutputDataset, "modelregistry", version)
    report = _dataset(OutputDataset, "s3://lake", "reports/churn-train")

    client.emit(_event(RunState.START, [features], [model, report], run_id))
    client.emit(_event(RunState.COMPLETE, [features], [model, report], run_id))

    run = f"airflow/train.fit/{run_id}"
    assert _edges(registry, VERSION, version) == {
        (version, "TRAINED_ON", "s3://lake/features/churn@7"),
        (version, "PRODUCED_BY", run),
    }
    assert _edges(registry, DATASET, "s3://lake/reports/churn-train") == {
        ("s3://lake/reports/churn-train", "DERIVED_FROM", "s3://lake/features/churn@7"),
        ("s3://lake/reports/churn-train", "PRODUCED_BY", run),
    }
    with registry.http("reader") as http:
        impact = http.get(
            "/v1/lineage:analyzeImpact",
            params={"node.type": DATASET, "node.key": "s3://lake/features/churn@7"},
        )
    assert impact.status_code == 200, impact.text
    assert [v["modelVersion"] for v in impact.json()["versions"]] == [version]


def test_lineage_through_an_etl_job_reaches_the_model_gzip_compressed(
    registry: Registry,
) -> None:
    """Spark cleans raw data into a table (gzip, as ``compression: gzip`` sends it); a
    training run reads the table: the raw data's impact includes the model."""
    version = _register(registry, "fraud", "2.0.0")
    client = OpenLineageClient(transport=_transport(registry, compression="gzip"))
    raw = "postgres://db:5432/payments.public.raw"
    client.emit(
        _event(
            RunState.COMPLETE,
            [_dataset(InputDataset, "postgres://db:5432", "payments.public.raw")],
            [_dataset(OutputDataset, "spark", "clean_payments")],
            job="etl.clean",
        )
    )
    client.emit(
        _event(
            RunState.COMPLETE,
            [_dataset(InputDataset, "spark", "clean_payments")],
            [_dataset(OutputDataset, "modelregistry", version)],
        )
    )
    edges = _edges(registry, DATASET, raw, "DOWN")
    assert ("spark/clean_payments", "DERIVED_FROM", raw) in edges
    assert (version, "TRAINED_ON", "spark/clean_payments") in edges


def test_a_replayed_event_records_no_duplicates_and_no_error(registry: Registry) -> None:
    version = _register(registry, "replay", "1.0.0")
    transport = _transport(registry)
    event = _event(
        RunState.COMPLETE,
        [_dataset(InputDataset, "s3://lake", "replay/train", version="1")],
        [_dataset(OutputDataset, "modelregistry", version)],
    )
    first, second = transport.emit(event), transport.emit(event)
    assert first.status_code == second.status_code == 200
    assert len(first.json()["edges"]) == len(second.json()["edges"]) == 2
    assert len(_lineage(registry, VERSION, version).json()["edges"]) == 2
    with registry.http("admin") as http:
        audit = http.get("/v1/auditLog", params={"resource": f"lineage/model_version/{version}"})
    assert audit.status_code == 200, audit.text
    assert len(audit.json()["entries"]) == 2  # each edge recorded once, not once per post


def test_an_output_naming_a_missing_version_is_404_and_records_nothing(
    registry: Registry,
) -> None:
    _register(registry, "present", "1.0.0")
    event = _event(
        RunState.COMPLETE,
        [_dataset(InputDataset, "s3://lake", "orphan/input")],
        [
            _dataset(OutputDataset, "s3://lake", "orphan/output"),
            _dataset(OutputDataset, "modelregistry", "models/present/versions/1.0.0"),
            _dataset(OutputDataset, "modelregistry", "models/present/versions/9.9.9"),
        ],
    )
    with pytest.raises(requests.HTTPError) as raised:
        _transport(registry).emit(event)
    answer = raised.value.response
    assert answer.status_code == 404
    assert answer.json()["message"] == (
        "outputs[2].name: model version 'models/present/versions/9.9.9' does not exist; "
        "register it before reporting lineage to it (nothing of this event was recorded)"
    )
    assert reasons(answer.json()) == ["MODEL_VERSION_NOT_FOUND"]
    for key in ("s3://lake/orphan/output", "s3://lake/orphan/input"):
        assert _lineage(registry, DATASET, key).status_code == 404
    assert _lineage(registry, VERSION, "models/present/versions/1.0.0").json().get("edges") is None


def _valid_json() -> dict:
    event = _event(
        RunState.COMPLETE,
        [_dataset(InputDataset, "s3://lake", "bad/input")],
        [_dataset(OutputDataset, "s3://lake", "bad/output")],
    )
    return json.loads(Serde.to_json(event))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda e: e.update(eventType="DONE"),
            "eventType",
            "must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER, got 'DONE'",
        ),
        (lambda e: e["run"].update(runId="run-42"), "run.runId", "must be a UUID, got 'run-42'"),
        (lambda e: e["job"].pop("name"), "job.name", "is required"),
        (lambda e: e.pop("eventTime"), "eventTime", "is required"),
        (lambda e: e["inputs"][0].pop("namespace"), "inputs[0].namespace", "is required"),
        (
            lambda e: e["outputs"].append({"namespace": "modelregistry", "name": "churn"}),
            "outputs[1].name",
            "expected 'models/{model}/versions/{version}', got 'churn'",
        ),
        (
            lambda e: e["outputs"][0].update(name="x" * 600),
            "outputs[0].name",
            "String should have at most 400 characters",
        ),
    ],
    ids=["event-type", "run-id", "job-name", "event-time", "input-namespace", "version", "long"],
)
def test_a_malformed_event_is_400_naming_the_field(
    registry: Registry, change, field: str, message: str
) -> None:
    event = _valid_json()
    change(event)
    with registry.http("writer") as http:
        answer = http.post("/api/v1/lineage", json=event)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 3
    assert violations(answer.json())[0] == field
    assert f"{field}: {message}" in answer.json()["message"]
    assert _lineage(registry, DATASET, "s3://lake/bad/output").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"[1, 2]", "event"), (b'{"eventType": ', None)],
    ids=["not-an-object", "not-json"],
)
def test_a_body_that_is_no_event_is_400(registry: Registry, body: bytes, field) -> None:
    with registry.http("writer") as http:
        answer = http.post(
            "/api/v1/lineage", content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 400, answer.text
    if field:
        assert violations(answer.json()) == [field]
    else:
        assert reasons(answer.json()) == ["MALFORMED_JSON"]


def test_a_start_event_is_accepted_and_records_nothing(registry: Registry) -> None:
    event = _event(
        RunState.START,
        [_dataset(InputDataset, "s3://lake", "start/input")],
        [_dataset(OutputDataset, "s3://lake", "start/output")],
    )
    answer = _transport(registry).emit(event)
    assert answer.json() == {"eventType": "START", "edges": [], "skipped": []}
    assert _lineage(registry, DATASET, "s3://lake/start/output").status_code == 404


def test_without_a_token_it_is_401_and_a_reader_is_403(registry: Registry) -> None:
    event = _event(RunState.COMPLETE, [], [_dataset(OutputDataset, "s3://lake", "auth/output")])
    with pytest.raises(requests.HTTPError) as anonymous:
        _transport(registry, who=None).emit(event)
    assert anonymous.value.response.status_code == 401
    assert anonymous.value.response.headers["WWW-Authenticate"].startswith("Bearer")
    assert reasons(anonymous.value.response.json()) == ["TOKEN_MISSING"]
    with pytest.raises(requests.HTTPError) as reader:
        _transport(registry, who="reader").emit(event)
    assert reader.value.response.status_code == 403
    assert "writer role" in reader.value.response.json()["message"]
    assert reasons(reader.value.response.json()) == ["ROLE_REQUIRED"]
    assert _lineage(registry, DATASET, "s3://lake/auth/output").status_code == 404


def test_an_edge_that_would_close_a_cycle_is_skipped_and_listed(registry: Registry) -> None:
    transport = _transport(registry)
    a, b = ("s3://lake", "cycle/a"), ("s3://lake", "cycle/b")
    transport.emit(
        _event(RunState.COMPLETE, [_dataset(InputDataset, *a)], [_dataset(OutputDataset, *b)])
    )
    answer = transport.emit(
        _event(RunState.COMPLETE, [_dataset(InputDataset, *b)], [_dataset(OutputDataset, *a)])
    )
    body = answer.json()
    assert [e["type"] for e in body["edges"]] == ["LINEAGE_EDGE_TYPE_PRODUCED_BY"]
    assert [s["edge"]["object"]["key"] for s in body["skipped"]] == ["s3://lake/cycle/b"]
    assert "would close a cycle" in body["skipped"][0]["reason"]


def test_a_body_over_the_limit_plain_or_once_inflated_is_413_and_corrupt_gzip_400(
    registry: Registry,
) -> None:
    from services.gateway.http.json_api import MAX_BODY_BYTES

    bomb = gzip.compress(b" " * (MAX_BODY_BYTES + 1))
    valid = gzip.compress(json.dumps(_valid_json()).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with registry.http("writer") as http:
        inflated = http.post("/api/v1/lineage", content=bomb, headers=headers)
        truncated = http.post("/api/v1/lineage", content=valid[:-12], headers=headers)
        garbage = http.post("/api/v1/lineage", content=b"not gzip", headers=headers)
        brotli = http.post(
            "/api/v1/lineage", content=valid, headers={**headers, "Content-Encoding": "br"}
        )
        plain = http.post(
            "/api/v1/lineage",
            content=b" " * (MAX_BODY_BYTES + 1),
            headers={"Content-Type": "application/json"},
        )
    assert len(bomb) < 100_000
    for refused in (inflated, plain):
        assert refused.status_code == 413
        assert refused.json()["message"] == "the request body is over the limit of 16 MiB"
    for corrupt in (truncated, garbage):
        assert corrupt.status_code == 400
        assert reasons(corrupt.json()) == ["MALFORMED_GZIP"]
    assert brotli.status_code == 415
    assert reasons(brotli.json()) == ["UNSUPPORTED_CONTENT_ENCODING"]


def test_another_method_is_405_with_a_status_body(registry: Registry) -> None:
    with registry.http("writer") as http:
        answer = http.get("/api/v1/lineage")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert reasons(answer.json()) == ["METHOD_NOT_ALLOWED"]


def test_a_prefix_limited_token_cannot_attach_lineage_to_another_teams_version(
    registry: Registry,
) -> None:
    other = _register(registry, "team-b-model", "1.0.0")
    event = _event(
        RunState.COMPLETE,
        [_dataset(InputDataset, "s3://lake", "scoped/input")],
        [_dataset(OutputDataset, "modelregistry", other)],
    )
    with pytest.raises(requests.HTTPError) as raised:
        _transport(registry, who="team-a").emit(event)
    assert raised.value.response.status_code == 403
    assert "team-a-" in raised.value.response.json()["message"]
    assert _lineage(registry, DATASET, "s3://lake/scoped/input").status_code == 404


def test_the_client_configured_by_environment_variables_reaches_the_registry(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What docs/openlineage.md tells dbt-ol and plain Python users to set."""
    monkeypatch.setenv("OPENLINEAGE_URL", registry.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", registry.tokens["writer"])
    monkeypatch.delenv("OPENLINEAGE_CONFIG", raising=False)
    monkeypatch.delenv("OPENLINEAGE_DISABLED", raising=False)
    OpenLineageClient().emit(
        _event(
            RunState.COMPLETE,
            [_dataset(InputDataset, "bigquery", "proj.ds.events")],
            [_dataset(OutputDataset, "bigquery", "proj.ds.sessions")],
            job="dbt.sessions",
        )
    )
    edges = _edges(registry, DATASET, "bigquery/proj.ds.sessions")
    assert ("bigquery/proj.ds.sessions", "DERIVED_FROM", "bigquery/proj.ds.events") in edges


def test_the_same_event_posted_concurrently_records_each_edge_once(registry: Registry) -> None:
    version = _register(registry, "concurrent", "1.0.0")
    event = _valid_json()
    event["outputs"] = [{"namespace": "modelregistry", "name": version}]
    event["inputs"] = [{"namespace": "s3://lake", "name": "concurrent/train"}]

    def post(_: int) -> int:
        with registry.http("writer") as http:
            return http.post("/api/v1/lineage", json=event).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(post, range(8))) == [200] * 8
    assert len(_lineage(registry, VERSION, version).json()["edges"]) == 2
    with registry.http("admin") as http:
        audit = http.get("/v1/auditLog", params={"resource": f"lineage/model_version/{version}"})
    assert len(audit.json()["entries"]) == 2
