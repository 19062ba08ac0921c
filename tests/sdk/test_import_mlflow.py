"""``mreg import mlflow`` against a real ``mlflow server`` (MLflow's venv, SQLite, served
artifacts) filled through MLflow's client, into a real registry over loopback gRPC. The
tests that take ``mlflow_server`` run against MLflow 3 and MLflow 2, one server each."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelregistry.v1 import registry_pb2, resources_pb2
from mreg.client import Client
from mreg.errors import NotFoundError
from tests.conftest import free_port
from tests.mlflow.content import file_bytes
from tests.sdk.mlflow_server import MlflowServer, start_mlflow

FRAUD = {
    "name": "Fraud Detector",
    "description": "scores card transactions",
    "tags": {"team": "risk", "cost center": "7"},
    "versions": [
        {
            "files": {"MLmodel": 120, "weights/model.bin": 300_000},
            "seed": "fd1",
            "metrics": {"auc": 0.91, "val loss": 0.3},
            "params": {"lr": "0.01", "depth": "6"},
            "tags": {"owner": "ana"},
            "description": "first cut",
        },
        # The same files as version 1: the import sends none of their bytes again.
        {
            "files": {"MLmodel": 120, "weights/model.bin": 300_000},
            "seed": "fd1",
            "stage": "Staging",
        },
        {
            "files": {"MLmodel": 120, "weights/model.bin": 300_000},
            "seed": "fd3",
            "metrics": {"auc": 0.95},
            "stage": "Production",
            "aliases": ["champion"],
        },
        # Registered from runs:/RUN/model, which MLflow keeps as the source (2.x habit).
        {"files": {"model.bin": 1000}, "seed": "fd4", "stage": "Archived", "runs_uri": True},
    ],
}
CHURN = {
    "name": "churn_model",
    "versions": [
        {"files": {"model.pkl": 5000}, "seed": "c1", "aliases": ["Challenger"]},
        {
            "files": {"model.pkl": 5000},
            "seed": "c2",
            "stage": "Production",
            "dataset": {"name": "customers", "digest": "d41d8c"},
            # MLflow 3: the version is made from a logged model; MLflow 2: from run artifacts.
            "logged_model": True,
        },
    ],
}
UNNAMEABLE = {"name": "???", "versions": [{"files": {"m.bin": 64}, "seed": "q1"}]}
BROKEN = {
    "name": "broken",
    "versions": [{"files": {"m.bin": 2000}, "seed": f"b{i}"} for i in (1, 2, 3)],
}
GROWING = {"name": "growing", "versions": [{"files": {"m.bin": 3000}, "seed": "g1"}]}
INTERRUPTED = {
    "name": "interrupted",
    "versions": [{"files": {"m.bin": 3 * 1024 * 1024}, "seed": f"i{i}"} for i in range(4)],
}


@pytest.fixture(scope="module", params=[3, 2], ids=["mlflow3", "mlflow2"])
def mlflow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[MlflowServer, dict]]:
    """An MLflow server of each major version, started once for the tests that use it."""
    major = request.param
    server = start_mlflow(tmp_path_factory.mktemp(f"mlflow{major}"), major)
    try:
        runs = server.populate([FRAUD, CHURN, UNNAMEABLE, BROKEN, GROWING, INTERRUPTED])
        # Version 2 of "broken" loses its files in MLflow's artifact store.
        lost = runs["broken"][1]
        shutil.rmtree(server.artifact_dir(lost["experiment_id"], lost["run_id"]))
        yield server, runs
    finally:
        server.stop()


POLICY = """
default:
  stages:
    production:
      required_evaluations:
        - {type: test, dataset: holdout}
"""


@pytest.fixture
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """The embedded registry, with the promotion policy a test names by ``policy``."""
    from services.embedded import build_embedded
    from services.gateway.app import start_background

    policy = getattr(request, "param", None)
    policy_file = None
    if policy:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(policy)
    embedded = build_embedded(
        tmp_path / "mreg-data",
        gateway_port=0,
        artifacts_port=0,
        metadata_port=0,
        policy_file=policy_file,
    )
    for server in embedded.servers:
        server.start()
    stop_background = start_background(embedded.settings, embedded.gateway_service)
    yield embedded
    stop_background()
    for server in reversed(embedded.servers):
        server.stop(grace=None)


@pytest.fixture
def mreg(registry, tmp_path: Path):
    gateway = registry.address(registry.gateway)
    env = {**os.environ, "MREG_GATEWAY": gateway, "MREG_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "mreg.cli", *args],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )

    run.env = env  # type: ignore[attr-defined]
    run.gateway = gateway  # type: ignore[attr-defined]
    with Client(gateway) as client:
        run.client = client  # type: ignore[attr-defined]
        yield run


def import_json(mreg, url: str, *args: str) -> tuple[int, dict, str]:
    result = mreg("import", "mlflow", "--tracking-uri", url, "--json", *args)
    return result.returncode, json.loads(result.stdout), result.stderr


def model_names(client: Client) -> list[str]:
    response = client._unary("ListModels", registry_pb2.ListModelsRequest(page_size=100))
    return [m.name for m in response.models]


def check_files(client: Client, reference: str, spec: dict, dest: Path) -> None:
    pulled = client.pull(reference, dest)
    got = {p.relative_to(dest).as_posix(): p.read_bytes() for p in pulled.paths}
    want = {rel: file_bytes(spec["seed"], rel, size) for rel, size in spec["files"].items()}
    assert got == want


def test_import_copies_models_versions_runs_stages_aliases_files_and_lineage(
    mlflow_server, mreg, tmp_path: Path
) -> None:
    server, runs = mlflow_server
    code, doc, stderr = import_json(
        mreg, server.url, "--model", "Fraud Detector", "--model", "churn_model"
    )
    assert code == 0, stderr
    summary = doc["summary"]
    assert summary["imported"] == [f"fraud-detector:{n}.0.0" for n in (1, 2, 3, 4)] + [
        "churn_model:1.0.0",
        "churn_model:2.0.0",
    ]
    assert summary["failures"] == []
    assert sorted(summary["stages_set"]) == [
        "churn_model:2.0.0 -> production",
        "fraud-detector:2.0.0 -> staging",
        "fraud-detector:3.0.0 -> production",
        "fraud-detector:4.0.0 -> archived",
    ]
    assert sorted(summary["aliases_set"]) == [
        "churn_model@challenger -> 1.0.0",
        "fraud-detector@champion -> 3.0.0",
    ]
    # Version 2 has version 1's files: only versions 1, 3, 4 and churn's bytes travel.
    once = 120 + 300_000
    assert summary["bytes_total"] == 3 * once + 1000 + 2 * 5000
    assert summary["bytes_sent"] <= 2 * once + 1000 + 2 * 5000 + 4096  # + tree manifests
    assert doc["mlflow_version"] == server.version

    client = mreg.client
    model = client.get_model("fraud-detector")
    assert model.description == "scores card transactions"
    assert dict(model.tags) == {"team": "risk", "cost_center": "7", "mlflow.name": "Fraud Detector"}
    first = client.get_version("fraud-detector", "1.0.0")
    fd_runs = runs["Fraud Detector"]
    assert dict(first.metrics) == {"auc": 0.91, "val_loss": 0.3}
    assert dict(first.params) == {"lr": "0.01", "depth": "6"}
    assert first.description == "first cut"
    assert first.run_id == fd_runs[0]["run_id"]
    assert first.experiment_id == fd_runs[0]["experiment_id"]
    assert dict(first.tags) == {
        "owner": "ana",
        "mlflow.version": "1",
        "mlflow.stage": "None",
        "mlflow.source": fd_runs[0]["source"],
    }
    stages = {
        v.version: resources_pb2.Stage.Name(v.stage)
        for v in client.list_versions("fraud-detector", archived=True)
    }
    assert stages == {
        "1.0.0": "STAGE_DEVELOPMENT",
        "2.0.0": "STAGE_STAGING",
        "3.0.0": "STAGE_PRODUCTION",
        "4.0.0": "STAGE_ARCHIVED",
    }
    assert client.resolve("fraud-detector@champion").version == "3.0.0"
    assert client.resolve("churn_model@challenger").version == "1.0.0"
    assert client.resolve("churn_model@production").version == "2.0.0"

    for number in (1, 3, 4):
        reference = f"fraud-detector:{number}.0.0"
        check_files(client, reference, FRAUD["versions"][number - 1], tmp_path / reference)
    fourth = client.get_version("fraud-detector", "4.0.0").tags["mlflow.source"]
    assert fourth == f"runs:/{fd_runs[3]['run_id']}/model"
    check_files(client, "churn_model:2.0.0", CHURN["versions"][1], tmp_path / "churn")

    churn = client.get_version("churn_model", "2.0.0")
    source = runs["churn_model"][1]["source"]
    assert churn.tags["mlflow.source"] == source
    if server.major >= 3:  # made from a logged model
        logged = source.removeprefix("models:/")
        assert logged.startswith("m-")
        assert churn.tags["mlflow.logged_model_id"] == logged
    else:  # made from run artifacts, as every MLflow 2 version
        assert source.startswith("mlflow-artifacts:/")
        assert "mlflow.logged_model_id" not in churn.tags
    assert churn.training_dataset == "customers@d41d8c"
    graph = client.lineage("churn_model:2.0.0", direction="up", depth=1)
    upstream = {(resources_pb2.LineageNodeType.Name(n.type), n.key) for n in graph.nodes}
    assert ("LINEAGE_NODE_TYPE_DATASET", "customers@d41d8c") in upstream
    assert ("LINEAGE_NODE_TYPE_RUN", runs["churn_model"][1]["run_id"]) in upstream

    graph = client.lineage("fraud-detector:3.0.0", direction="up", depth=1)
    upstream = {(resources_pb2.LineageNodeType.Name(n.type), n.key) for n in graph.nodes}
    assert ("LINEAGE_NODE_TYPE_RUN", fd_runs[2]["run_id"]) in upstream
    assert ("LINEAGE_NODE_TYPE_EXPERIMENT", fd_runs[2]["experiment_id"]) in upstream

    # Running it again finds everything here and changes nothing.
    code, doc, stderr = import_json(
        mreg, server.url, "--model", "Fraud Detector", "--model", "churn_model"
    )
    assert code == 0, stderr
    again = doc["summary"]
    assert (again["imported"], again["already_present"]) == ([], 6)
    assert (again["stages_set"], again["aliases_set"], again["bytes_sent"]) == ([], [], 0)
    assert len(client.list_versions("fraud-detector", archived=True)) == 4


def test_dry_run_shows_the_plan_and_changes_nothing(mlflow_server, mreg) -> None:
    server, _ = mlflow_server
    result = mreg("import", "mlflow", "--tracking-uri", server.url, "--model", "Fraud Detector",
                  "--dry-run")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("1 model(s), 4 version(s) to import, 0 already here, 0 not importable")
    assert lines[1] == "fraud-detector (MLflow 'Fraud Detector', new model)"
    assert lines[4].split() == ["3", "->", "3.0.0", "import", "production", "aliases", "champion"]
    code, doc, _ = import_json(mreg, server.url, "--model", "Fraud Detector", "--dry-run")
    assert code == 0
    assert [v["action"] for v in doc["models"][0]["versions"]] == ["import"] * 4
    assert "summary" not in doc
    assert model_names(mreg.client) == []


def test_an_unreachable_tracking_uri_fails_in_one_line(mreg) -> None:
    port = free_port()
    started = time.monotonic()
    result = mreg("import", "mlflow", "--tracking-uri", f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"mreg import mlflow: cannot reach MLflow at http://127.0.0.1:{port}: Connection refused\n"
    )
    assert time.monotonic() - started < 30  # no minutes of MLflow's retries


def test_a_tracking_uri_that_is_not_mlflow_fails_in_one_line(mreg, tmp_path: Path) -> None:
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{web.server_address[1]}"
    try:
        result = mreg("import", "mlflow", "--tracking-uri", url)
    finally:
        web.shutdown()
    assert result.returncode == 1
    assert result.stderr == (
        f"mreg import mlflow: {url} is not an MLflow tracking server: its model registry API "
        "answered HTTP 404, not MLflow's JSON\n"
    )
    for bad, message in (
        ("ftp://mlflow:5000", "expected the http(s):// URL of an MLflow server, got 'ftp://mlflow:5000'"),
        ("mlflow:5000", "expected the http(s):// URL of an MLflow server, got 'mlflow:5000'"),
    ):  # fmt: skip
        result = mreg("import", "mlflow", "--tracking-uri", bad)
        assert (result.returncode, result.stderr) == (
            1,
            f"mreg import mlflow: --tracking-uri: {message}\n",
        )


def test_a_version_whose_files_are_gone_is_reported_and_the_others_are_imported(
    mlflow_server, mreg
) -> None:
    server, runs = mlflow_server
    code, doc, stderr = import_json(mreg, server.url, "--model", "broken")
    assert code == 1
    assert doc["summary"]["imported"] == ["broken:1.0.0", "broken:3.0.0"]
    lost = runs["broken"][1]
    # MLflow 3's artifact proxy answers 404; MLflow 2's answers 500, and the import then
    # finds the path missing from its parent's listing.
    why = "answered 404" if server.major >= 3 else "has nothing at that path"
    assert doc["summary"]["failures"] == [
        f"broken:2.0.0: MLflow has no files for 'broken' version 2 ({lost['source']}): "
        f"its artifact store {why}"
    ]
    assert stderr == f"mreg import mlflow: {doc['summary']['failures'][0]}\n"
    versions = sorted(v.version for v in mreg.client.list_versions("broken"))
    assert versions == ["1.0.0", "3.0.0"]


def test_a_name_with_no_model_id_is_refused_until_renamed(mlflow_server, mreg) -> None:
    server, _ = mlflow_server
    code, doc, stderr = import_json(mreg, server.url, "--model", "???")
    assert code == 1
    assert stderr == (
        "mreg import mlflow: ???: MLflow model '???' has no letters or digits to make a model "
        "id of; give it one with --rename '???=NEW-ID'\n"
    )
    assert model_names(mreg.client) == []
    code, doc, stderr = import_json(mreg, server.url, "--model", "???", "--rename", "???=qq")
    assert code == 0, stderr
    assert doc["summary"]["imported"] == ["qq:1.0.0"]
    assert mreg.client.get_model("qq").tags["mlflow.name"] == "???"
    result = mreg("import", "mlflow", "--tracking-uri", server.url, "--rename", "???=Q Q")
    assert result.returncode == 2
    assert result.stderr.startswith("mreg import mlflow: --rename: 'Q Q' is not a model id: ")
    result = mreg("import", "mlflow", "--tracking-uri", server.url, "--model", "absent")
    assert result.returncode == 1
    assert result.stderr.endswith(
        f"absent: MLflow at {server.url} has no registered model 'absent'\n"
    )


def test_a_rerun_imports_only_what_mlflow_gained(mlflow_server, mreg) -> None:
    server, _ = mlflow_server
    code, doc, stderr = import_json(mreg, server.url, "--model", "growing")
    assert (code, doc["summary"]["imported"]) == (0, ["growing:1.0.0"]), stderr
    server.populate(
        [{"name": "growing", "versions": [
            {"files": {"m.bin": 3000}, "seed": "g2", "stage": "Production", "aliases": ["best"]},
        ]}]
    )  # fmt: skip
    code, doc, stderr = import_json(mreg, server.url, "--model", "growing")
    assert code == 0, stderr
    summary = doc["summary"]
    assert (summary["imported"], summary["already_present"]) == (["growing:2.0.0"], 1)
    assert summary["stages_set"] == ["growing:2.0.0 -> production"]
    assert summary["aliases_set"] == ["growing@best -> 2.0.0"]
    assert [v.version for v in mreg.client.list_versions("growing")] == ["2.0.0", "1.0.0"]


def test_an_interrupted_import_run_again_finishes_without_duplicates(mlflow_server, mreg) -> None:
    server, _ = mlflow_server
    command = [sys.executable, "-m", "mreg.cli", "import", "mlflow", "--tracking-uri", server.url,
               "--model", "interrupted", "--max-rate", "3", "--json"]  # fmt: skip
    proc = subprocess.Popen(
        command, env=mreg.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if mreg.client.list_versions("interrupted"):
                break
        except NotFoundError:
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the import ended before it could be interrupted"
    proc.kill()  # SIGKILL: no clean-up of any kind
    proc.wait()
    first = [v.version for v in mreg.client.list_versions("interrupted")]
    assert 1 <= len(first) < 4

    code, doc, stderr = import_json(mreg, server.url, "--model", "interrupted")
    assert code == 0, stderr
    summary = doc["summary"]
    assert summary["already_present"] == len(first)
    assert len(summary["imported"]) == 4 - len(first)
    versions = mreg.client.list_versions("interrupted")
    assert sorted(v.version for v in versions) == ["1.0.0", "2.0.0", "3.0.0", "4.0.0"]
    assert {resources_pb2.VersionState.Name(v.state) for v in versions} == {"VERSION_STATE_READY"}
    assert sorted(v.tags["mlflow.version"] for v in versions) == ["1", "2", "3", "4"]


@pytest.mark.parametrize("registry", [POLICY], indirect=True)
def test_a_stage_the_policy_refuses_is_a_failure_and_a_rerun_goes_on_from_there(
    mlflow_server, mreg
) -> None:
    server, _ = mlflow_server
    code, doc, stderr = import_json(mreg, server.url, "--model", "churn_model")
    assert code == 1
    summary = doc["summary"]
    assert summary["imported"] == ["churn_model:1.0.0", "churn_model:2.0.0"]
    [failure] = summary["failures"]
    assert failure.startswith("churn_model:2.0.0: ")
    assert "holdout" in failure
    assert stderr == f"mreg import mlflow: {failure}\n"
    version = mreg.client.get_version("churn_model", "2.0.0")
    assert resources_pb2.Stage.Name(version.stage) == "STAGE_STAGING"

    mreg.client.evaluate(
        "churn_model:2.0.0", dataset="holdout@1", metrics={"auc": 0.9}, type="test"
    )
    code, doc, stderr = import_json(mreg, server.url, "--model", "churn_model")
    assert code == 0, stderr
    assert doc["summary"]["stages_set"] == ["churn_model:2.0.0 -> production"]
    assert mreg.client.resolve("churn_model@production").version == "2.0.0"


def test_a_version_made_here_with_the_same_number_is_a_clash_left_alone(
    mlflow_server, mreg, tmp_path: Path
) -> None:
    server, _ = mlflow_server
    mine = tmp_path / "mine.bin"
    mine.write_bytes(b"pushed here, not in MLflow")
    mreg.client.push(mine, model="churn_model", version="1.0.0")
    code, doc, stderr = import_json(mreg, server.url, "--model", "churn_model")
    assert code == 1
    assert doc["summary"]["imported"] == ["churn_model:2.0.0"]
    assert doc["summary"]["failures"] == [
        "churn_model:1.0.0 (MLflow version 1): churn_model:1.0.0 exists here and was not "
        "imported from MLflow"
    ]
    assert stderr == f"mreg import mlflow: {doc['summary']['failures'][0]}\n"
    assert mreg.client.pull("churn_model:1.0.0", tmp_path / "out").paths[0].read_bytes() == (
        b"pushed here, not in MLflow"
    )
    # The alias MLflow puts on version 1 is not moved to a version that is not MLflow's.
    assert [a.alias for a in mreg.client.aliases("churn_model")] == []
