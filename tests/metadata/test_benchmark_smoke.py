"""The metadata load benchmark runs end to end at a tiny size (structure, not timing)."""

from __future__ import annotations

import argparse
import json

from sqlalchemy.engine import URL

from benchmarks import metadata_load


def test_metadata_load_benchmark_runs_at_tiny_size(
    postgres_admin_url: URL, postgres_database_factory: object
) -> None:
    """``postgres_database_factory`` skips the test when PostgreSQL is unreachable."""
    args = argparse.Namespace(
        postgres_url=postgres_admin_url.render_as_string(hide_password=False),
        clients=2,
        server_workers=4,
        servers=1,
        models=2,
        seconds=0.3,
        versions=2000,
        edges=2000,
        repeats=3,
        verbose=False,
    )
    result = metadata_load.run(args)
    for phase in ("ceiling", "create_version", "resolve_alias"):
        assert result[phase]["ops"] > 0
        assert result[phase]["p50_ms"] <= result[phase]["p99_ms"]
    assert result["bulk_load_versions"]["rows"] == 2000
    assert result["search"]["metric_filter_order_by_metric"]["rows_per_page"] == 50
    assert result["lineage"]["edges"] > 1500
    json.dumps(result)
