"""The store's side of the use-case boundary: domain objects written back, Conflict for a
broken unique key, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.metadata.domain import Evaluation, EvaluationType, ModelVersion, Stage
from services.metadata.service import MetadataService
from services.metadata.store import evaluations as evaluations_store
from services.metadata.store import versions as versions_store
from services.metadata.store.db import Conflict


@pytest.fixture
def service(migrated_url: str) -> Iterator[MetadataService]:
    """The metadata use cases over a fresh, migrated database."""
    opened = MetadataService.open(migrated_url, pool_size=2)
    yield opened
    opened.db.dispose()


def _version(service: MetadataService) -> ModelVersion:
    return service.versions.create_version(
        "fraud",
        ModelVersion(model="fraud", version="", metrics={"auc": 0.9}),
        bump=None,
        request_id="",
        ready=True,
        actor="alice",
    )


def test_a_saved_version_is_what_the_store_reads_back(service: MetadataService) -> None:
    created = _version(service)
    now = datetime.now(UTC)
    with service.db.write() as tx:
        before = versions_store.lock_version(tx, "fraud", created.version)
        assert before is not None
        after = replace(
            before,
            stage=Stage.STAGING,
            description="tuned",
            tags={"team": "risk"},
            updated_by="bob",
            update_time=now,
            revision=before.revision + 1,
        )
        versions_store.save_version(tx, after, properties=True)
    with service.db.read() as tx:
        stored = versions_store.get_version(tx, "fraud", created.version)
    assert stored == after
    assert (stored.stage, stored.tags, stored.revision) == (Stage.STAGING, {"team": "risk"}, 2)
    found = service.search.search('tags.team = "risk"', "", 10, "", False).items
    assert [v.name for v in found] == [created.name]


def test_a_broken_unique_key_raises_conflict_and_keeps_nothing(service: MetadataService) -> None:
    version = _version(service)
    ev = Evaluation(
        model="fraud",
        version=version.version,
        dataset_name="holdout",
        dataset_version="1",
        type=EvaluationType.TEST,
        metrics={"auc": 0.91},
        created_by="alice",
        create_time=datetime.now(UTC),
    )
    with pytest.raises(Conflict), service.db.write() as tx:
        evaluations_store.insert(tx, version.row_id, ev, "req-1", "hash")
        evaluations_store.insert(tx, version.row_id, ev, "req-1", "hash")
    with service.db.read() as tx:
        assert evaluations_store.by_request_id(tx, "req-1") is None
