"""How fast the web UI renders its pages over a model with 10,000 versions (PostgreSQL).

The embedded registry (``mreg serve``'s three services and HTTP port, in this process) on
a fresh PostgreSQL database, bulk-loaded with ``COPY`` (``benchmarks.metadata_bulk``):
``--versions`` READY versions of one model (``bulk-00000``) with metrics and tags. An
HTTP client fetches each page ``--repeats`` times after a warm-up and reports wall
seconds (``min``/``median``/``max``); the ceiling is ``/signin`` in the same run, a
rendered template with no registry call, so ``ratio_to_ceiling`` is what the registry
reads and the bigger templates add. Target: every page < 1 s.

Run: ``python -m benchmarks.webui [--versions 10000] [--repeats 20] [-v]``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import harness
from benchmarks.metadata_bulk import load_versions

logger = logging.getLogger("benchmarks.webui")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MODEL = "bulk-00000"
TARGET_SECONDS = 1.0


def pages(versions: int) -> dict[str, str]:
    """The pages measured, by name."""
    middle = f"1.{versions // 2}.0"
    return {
        "models": "/",
        "search_metric_filter_sorted": "/?q=metrics.auc+%3E+0.5&sort=metrics.auc+desc",
        "model": f"/models/{MODEL}",
        "model_200_per_page": f"/models/{MODEL}?size=200",
        "model_filtered_sorted": f"/models/{MODEL}?q=tags.seed+%3D+%223%22&sort=metrics.loss",
        "version": f"/models/{MODEL}/versions/{middle}",
        "compare": f"/compare?v=models/{MODEL}/versions/1.1.0&v=models/{MODEL}/versions/{middle}",
    }


def measure(url: str, versions: int, repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=60) as client:

        def fetch(path: str) -> None:
            answer = client.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")

        ceiling = harness.summary(harness.timed(lambda: fetch("/signin"), repeats, warmup=3))
        results["ceiling_signin_seconds"] = ceiling
        for name, path in pages(versions).items():
            samples = harness.timed(functools.partial(fetch, path), repeats, warmup=2)
            figure = harness.summary(samples)
            results[name] = {
                "path": path,
                "seconds": figure,
                "ratio_to_ceiling": figure["median"] / ceiling["median"],
                "meets_target": figure["max"] < TARGET_SECONDS,
            }
            logger.info("%s: median %.3f s, max %.3f s", name, figure["median"], figure["max"])
        # A later page of the model's versions (keyset pagination: as fast as the first).
        per_page = min(200, max(1, versions // 2))
        first = client.get(f"/models/{MODEL}?size={per_page}").text
        token = first.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        samples = harness.timed(lambda: fetch(token), repeats, warmup=1)
        figure = harness.summary(samples)
        results["model_second_page"] = {
            "seconds": figure,
            "ratio_to_ceiling": figure["median"] / ceiling["median"],
            "meets_target": figure["max"] < TARGET_SECONDS,
        }
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    from services.embedded import build_embedded

    admin = make_url(args.postgres_url)
    name = f"mreg_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    registry = None
    previous = os.environ.get("MREG_DATABASE_URL")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MREG_DATABASE_URL"] = url  # read by the embedded registry's settings
            registry = build_embedded(
                Path(tmp), gateway_port=0, artifacts_port=0, metadata_port=0, http_port=0
            )
            loaded = load_versions(url, models=1, per_model=args.versions)
            logger.info("loaded %d versions", loaded)
            for server in registry.servers:
                server.start()
            registry.start_http()
            assert registry.http is not None
            results = measure(registry.http.url, args.versions, args.repeats)
    finally:
        if previous is None:
            os.environ.pop("MREG_DATABASE_URL", None)
        else:
            os.environ["MREG_DATABASE_URL"] = previous
        if registry is not None:
            registry.stop_http()
            for server in reversed(registry.servers):
                server.stop(grace=None)
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
    return {
        "benchmark": "webui",
        "parameters": {
            "versions": args.versions,
            "repeats": args.repeats,
            "database": "postgresql",
        },
        "target_seconds": TARGET_SECONDS,
        "pages": results,
        "environment": harness.environment(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("MREG_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    harness.emit(run(args))


if __name__ == "__main__":
    main()
