"""Fill a running MLflow server with registered models, as a team using MLflow would have.

Run with an MLflow server's own venv (``.venv-mlflow/bin/python`` for MLflow 3,
``.venv-mlflow2/bin/python`` for MLflow 2), not ours::

    python tests/mlflow/populate.py URL

It imports MLflow (slow: seconds), waits for the server's /health, prints ``READY`` and
the client's MLflow version (``READY 2.22.5``), then reads one JSON spec per line on stdin
and answers each with a line ``ANSWER {json}`` (MLflow prints lines of its own on stdout
too). A spec is a list of models ``{"name", "description", "tags", "versions": [...]}``,
each version ``{"files": {path: size}, "seed", "metrics", "params", "tags",
"description", "stage", "aliases", "dataset": {"name", "digest"}, "logged_model": bool,
"runs_uri": bool}``; file bytes come from ``content.file_bytes``. With ``"runs_uri"`` the
version's source is ``runs:/RUN/model`` (``MlflowClient.create_model_version`` keeps it
so), else the artifact URI itself. ``"logged_model"`` makes the version from an MLflow 3
logged model; MLflow 2 has none and logs that version's files as run artifacts. The
answer gives, per model and version, the run id, the experiment id and the source URI
MLflow recorded.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

import mlflow
import numpy
from content import file_bytes
from mlflow import MlflowClient

warnings.filterwarnings("ignore")

#: MLflow 3 makes versions from logged models; MLflow 2 only from run artifacts.
LOGGED_MODELS = int(mlflow.__version__.split(".")[0]) >= 3


def wait_for(url: str, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def log_version(client: MlflowClient, experiment_id: str, name: str, v: dict) -> dict:
    """One run and one version of ``name``: the files as run artifacts (MLflow 2 style) or,
    with ``"logged_model": true`` on MLflow 3, as a logged model the version is made from."""
    with mlflow.start_run(experiment_id=experiment_id) as run:
        for key, value in v.get("metrics", {}).items():
            mlflow.log_metric(key, value)
        if v.get("params"):
            mlflow.log_params(v["params"])
        if v.get("dataset"):
            data = mlflow.data.from_numpy(numpy.arange(8), **v["dataset"])
            mlflow.log_input(data, context="training")
        with tempfile.TemporaryDirectory() as tmp:
            for rel, size in v["files"].items():
                target = Path(tmp, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(file_bytes(v["seed"], rel, size))
            if v.get("logged_model") and LOGGED_MODELS:
                logged = mlflow.initialize_logged_model(name, source_run_id=run.info.run_id)
                client.log_model_artifacts(logged.model_id, tmp)
                mlflow.finalize_logged_model(logged.model_id, "READY")
                source, model_id = f"models:/{logged.model_id}", logged.model_id
            else:
                mlflow.log_artifacts(tmp, artifact_path="model")
                source, model_id = f"{run.info.artifact_uri}/model", None
                if v.get("runs_uri"):
                    source = f"runs:/{run.info.run_id}/model"
    created = client.create_model_version(
        name,
        source,
        run_id=run.info.run_id,
        tags=v.get("tags") or None,
        description=v.get("description"),
        **({"model_id": model_id} if model_id else {}),
    )
    if v.get("stage"):
        client.transition_model_version_stage(name, created.version, v["stage"])
    for alias in v.get("aliases", []):
        client.set_registered_model_alias(name, alias, created.version)
    return {
        "version": int(created.version),
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "source": source,
    }


def populate(client: MlflowClient, experiment_id: str, spec: list) -> dict:
    report: dict = {}
    for model in spec:
        name = model["name"]
        try:
            client.get_registered_model(name)
        except mlflow.exceptions.MlflowException:
            client.create_registered_model(
                name, tags=model.get("tags") or None, description=model.get("description")
            )
        report[name] = [log_version(client, experiment_id, name, v) for v in model["versions"]]
    return report


def main(url: str) -> None:
    wait_for(url)
    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    experiment = mlflow.set_experiment("import-tests")
    print("READY", mlflow.__version__, flush=True)
    for line in sys.stdin:
        report = populate(client, experiment.experiment_id, json.loads(line))
        print("ANSWER", json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
