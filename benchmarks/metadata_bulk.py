"""Bulk setup for the metadata benchmark: 100k versions and a 100k-edge lineage graph,
written straight into PostgreSQL with ``COPY`` (minutes of RPCs saved; not what is measured).

The rows look like registered versions: a semantic version with its sort key, metrics
(``auc``, ``loss``) and tags (``team``) in the JSON columns and in ``version_properties``,
stages spread over the five stages with at most one production version per model.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from services.common.vocabulary import Stage
from services.metadata import semver

logger = logging.getLogger(__name__)

TEAMS = ("risk", "growth", "trust", "search", "ads")
#: Stages of the versions other than the one in production.
STAGES = tuple(s.value for s in Stage if s is not Stage.PRODUCTION)
_VERSION_COLUMNS = (
    "id, model_id, version, sort_key, state, stage, artifact_hash, artifact_size, "
    "artifact_is_tree, format, framework, framework_version, parameter_count, metrics, params, "
    "hyperparameters, input_schema, output_schema, training_dataset, experiment_id, run_id, "
    "git_commit, description, tags, created_by, create_time, updated_by, update_time, revision, "
    "failure_reason, request_id, request_hash"
)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _scalar(conn: psycopg.Connection, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def load_versions(url: str, models: int, per_model: int, seed: int = 7) -> int:
    """Insert ``models`` models with ``per_model`` READY versions each; returns the count."""
    rng = random.Random(seed)
    now = datetime.now(UTC) - timedelta(days=30)
    with psycopg.connect(_dsn(url)) as conn:
        base_model = _scalar(conn, "SELECT coalesce(max(id), 0) FROM models")
        base_version = _scalar(conn, "SELECT coalesce(max(id), 0) FROM model_versions")
        with conn.cursor() as cur:
            with cur.copy(
                "COPY models (id, name, description, owner, team, tags, archived, latest_version,"
                " created_by, create_time, updated_by, update_time, revision) FROM STDIN"
            ) as copy:
                for m in range(models):
                    copy.write_row(
                        (
                            base_model + m + 1,
                            f"bulk-{m:05d}",
                            "",
                            "owner",
                            TEAMS[m % 5],
                            "{}",
                            False,
                            f"1.{per_model - 1}.0",
                            "loader",
                            now,
                            "loader",
                            now,
                            1,
                        )
                    )
            rows = []
            vid = base_version
            for m in range(models):
                production = rng.randrange(per_model)
                for i in range(per_model):
                    vid += 1
                    stage = Stage.PRODUCTION.value if i == production else rng.choice(STAGES)
                    auc, loss = round(rng.random(), 6), round(rng.random(), 6)
                    rows.append((vid, base_model + m + 1, f"1.{i}.0", stage, auc, loss, m, i))
            with cur.copy(f"COPY model_versions ({_VERSION_COLUMNS}) FROM STDIN") as copy:
                for vid, model_id, version, stage, auc, loss, m, i in rows:
                    metrics = {"auc": auc, "loss": loss}
                    tags = {"team": TEAMS[m % 5], "seed": str(i % 10)}
                    created = now + timedelta(seconds=vid)
                    copy.write_row(
                        (
                            vid,
                            model_id,
                            version,
                            semver.parse(version).sort_key(),
                            "ready",
                            stage,
                            "a" * 64,
                            1000,
                            False,
                            "safetensors",
                            "pytorch",
                            "2.4",
                            1000,
                            json.dumps(metrics),
                            "{}",
                            "{}",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            json.dumps(tags),
                            "loader",
                            created,
                            "loader",
                            created,
                            1,
                            "",
                            None,
                            "",
                        )
                    )
            with cur.copy(
                "COPY version_properties (version_id, kind, key, num_value, text_value) FROM STDIN"
            ) as copy:
                for vid, _model_id, _version, _stage, auc, loss, m, i in rows:
                    copy.write_row((vid, "m", "auc", auc, None))
                    copy.write_row((vid, "m", "loss", loss, None))
                    copy.write_row((vid, "t", "team", None, TEAMS[m % 5]))
                    copy.write_row((vid, "t", "seed", None, str(i % 10)))
        for table, column in (("models", "id"), ("model_versions", "id")):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"(SELECT max({column}) FROM {table}))"
            )
        conn.execute("ANALYZE")
    return models * per_model


def load_lineage(url: str, nodes: int, parents: int, window: int, seed: int = 11) -> int:
    """A random DAG: node ``i`` derives from ``parents`` distinct nodes among the ``window``
    before it; returns the number of edges."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    edges = 0
    with psycopg.connect(_dsn(url)) as conn, conn.cursor() as cur:
        base = _scalar(conn, "SELECT coalesce(max(id), 0) FROM lineage_nodes")
        with cur.copy("COPY lineage_nodes (id, kind, key, version_id) FROM STDIN") as copy:
            for i in range(nodes):
                copy.write_row((base + i + 1, "dataset", f"graph-{i}@1", None))
        with cur.copy(
            "COPY lineage_edges (subject_id, object_id, type, created_by, create_time) FROM STDIN"
        ) as copy:
            for i in range(1, nodes):
                lo = max(0, i - window)
                for j in rng.sample(range(lo, i), min(parents, i - lo)):
                    copy.write_row((base + i + 1, base + j + 1, "derived_from", "loader", now))
                    edges += 1
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('lineage_nodes', 'id'), "
            "(SELECT max(id) FROM lineage_nodes))"
        )
        conn.commit()
        conn.execute("ANALYZE lineage_nodes")
        conn.execute("ANALYZE lineage_edges")
    return edges
