"""Fill a running MLflow server with registered models, as a team using MLflow would have.

Run with MLflow's own venv (``.venv-mlflow/bin/python``), not ours::

    python tests/mlflow/populate.py URL SPEC.json

SPEC is a JSON list of models: ``{"name", "description", "tags", "versions": [...]}``,
each version ``{"files": {path: size}, "seed", "metrics", "params", "tags",
"description", "stage", "aliases"}``. Files are written with bytes derived from ``seed``,
so a test can rebuild them and compare. Prints one JSON document: per model, per version,
the run id, the experiment id and the source URI MLflow recorded.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

import mlflow
from mlflow import MlflowClient

warnings.filterwarnings("ignore")


def file_bytes(seed: str, path: str, size: int) -> bytes:
    """Deterministic bytes for one file (the test computes the same)."""
    import hashlib

    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}/{path}/{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def main(url: str, spec_path: str) -> None:
    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    spec = json.loads(Path(spec_path).read_text())
    experiment = mlflow.set_experiment("import-tests")
    report: dict = {}
    for model in spec:
        name = model["name"]
        try:
            client.get_registered_model(name)
        except mlflow.exceptions.MlflowException:
            client.create_registered_model(
                name, tags=model.get("tags") or None, description=model.get("description")
            )
        versions = report.setdefault(name, [])
        for v in model["versions"]:
            with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
                for key, value in v.get("metrics", {}).items():
                    mlflow.log_metric(key, value)
                if v.get("params"):
                    mlflow.log_params(v["params"])
                with tempfile.TemporaryDirectory() as tmp:
                    for rel, size in v["files"].items():
                        target = Path(tmp, "model", rel)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(file_bytes(v["seed"], rel, size))
                    mlflow.log_artifacts(str(Path(tmp, "model")), artifact_path="model")
            source = f"{run.info.artifact_uri}/model"
            created = client.create_model_version(
                name,
                source,
                run_id=run.info.run_id,
                tags=v.get("tags") or None,
                description=v.get("description"),
            )
            if v.get("stage"):
                client.transition_model_version_stage(name, created.version, v["stage"])
            for alias in v.get("aliases", []):
                client.set_registered_model_alias(name, alias, created.version)
            versions.append(
                {
                    "version": int(created.version),
                    "run_id": run.info.run_id,
                    "experiment_id": run.info.experiment_id,
                    "source": source,
                }
            )
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
