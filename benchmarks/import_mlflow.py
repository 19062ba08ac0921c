"""``mreg import mlflow`` of one model with 20 versions of a 64 MiB file.

A real ``mlflow server`` (from .venv-mlflow, as the tests start it: SQLite, artifacts
served) is filled through MLflow's client with ``--versions`` versions of one
``--size-mib`` file (the same bytes in each, as when a model is registered again from
unchanged weights; ``--distinct`` gives each its own), then ``mreg import mlflow`` copies
them into ``mreg serve`` (embedded defaults). In the same run, one fresh ``mreg push`` of
that file is the reference: ``ratio_to_fresh_pushes`` is the import's wall time over
``versions`` times that push. Prints one JSON document.

    python -m benchmarks.import_mlflow [--versions 20] [--size-mib 64] [--distinct]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import MB, emit, environment
from benchmarks.servers import start_embedded
from tests.mlflow.content import file_bytes
from tests.sdk.mlflow_server import start_mlflow

logger = logging.getLogger(__name__)


def _cli(args: list[str], env: dict[str, str]) -> tuple[dict, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mreg.cli", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"mreg {args[0]} failed: {result.stderr.strip()}")
    return json.loads(result.stdout), seconds


def run(versions: int, size_mib: int, distinct: bool) -> dict:
    size = size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        root = Path(tmp)
        mlflow = start_mlflow(root)
        registry, gateway = start_embedded(root / "mreg")
        try:
            spec = [
                {
                    "name": "bench",
                    "versions": [
                        {"files": {"model.bin": size}, "seed": f"v{i}" if distinct else "v"}
                        for i in range(versions)
                    ],
                }
            ]
            started = time.perf_counter()
            mlflow.populate(spec)
            populate_seconds = time.perf_counter() - started
            logger.info("MLflow filled in %.1f s", populate_seconds)
            env = {**os.environ, "MREG_GATEWAY": gateway, "MREG_CACHE_DIR": str(root / "cache")}
            reference = root / "reference" / "model.bin"
            reference.parent.mkdir()
            reference.write_bytes(file_bytes("reference", "model.bin", size))
            push, push_seconds = _cli(["push", str(reference), "--model", "reference"], env)
            doc, import_seconds = _cli(
                ["import", "mlflow", "--tracking-uri", mlflow.url, "--model", "bench"], env
            )
            again, rerun_seconds = _cli(
                ["import", "mlflow", "--tracking-uri", mlflow.url, "--model", "bench"], env
            )
        finally:
            registry.terminate()
            registry.wait()
            mlflow.stop()
    summary = doc["summary"]
    return {
        "benchmark": "import_mlflow",
        "parameters": {"versions": versions, "size_mib": size_mib, "distinct": distinct},
        "mlflow_version": doc["mlflow_version"],
        "versions_imported": len(summary["imported"]),
        "import_seconds": round(import_seconds, 3),
        "seconds_per_version": round(import_seconds / versions, 3),
        "bytes_total": summary["bytes_total"],
        "bytes_sent": summary["bytes_sent"],
        "sent_ratio": round(summary["bytes_sent"] / summary["bytes_total"], 4),
        "fresh_push_seconds": round(push_seconds, 3),
        "fresh_push_bytes_sent": push["bytes_sent"],
        "ratio_to_fresh_pushes": round(import_seconds / (versions * push_seconds), 3),
        "import_mb_s": round(summary["bytes_total"] / MB / import_seconds, 1),
        "rerun_seconds": round(rerun_seconds, 3),
        "rerun_imported": len(again["summary"]["imported"]),
        "mlflow_populate_seconds": round(populate_seconds, 1),
        "environment": environment(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--distinct", action="store_true", help="Different bytes per version.")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    emit(run(args.versions, args.size_mib, args.distinct))


if __name__ == "__main__":
    main()
