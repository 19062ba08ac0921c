"""Units without a server: semver precedence and bumps, filter parsing, schema agreement."""

from __future__ import annotations

import random

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from services.common.errors import InvalidArgument
from services.metadata import filters, semver
from services.metadata.app import migrate
from services.metadata.store.schema import Base

# semver.org section 11 example, in increasing precedence.
ORDERED = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.2.0",
    "1.10.0",
    "2.0.0-0",
    "2.0.0",
    "10.0.0",
]


def test_sort_key_orders_by_semver_precedence() -> None:
    shuffled = ORDERED[:]
    random.Random(4).shuffle(shuffled)
    assert sorted(shuffled, key=lambda v: semver.parse(v).sort_key()) == ORDERED


def test_build_metadata_is_kept_but_ignored_for_order() -> None:
    v = semver.parse("1.2.3+build.5")
    assert str(v) == "1.2.3+build.5"
    assert v.sort_key() == semver.parse("1.2.3").sort_key()


@pytest.mark.parametrize(
    ("start", "bump", "expected"),
    [
        ("1.2.3", semver.Bump.PATCH, "1.2.4"),
        ("1.2.3", semver.Bump.MINOR, "1.3.0"),
        ("1.2.3", semver.Bump.MAJOR, "2.0.0"),
        ("1.2.3-rc.1", semver.Bump.PATCH, "1.2.3"),
        ("1.3.0-rc.1", semver.Bump.MINOR, "1.3.0"),
        ("1.3.1-rc.1", semver.Bump.MINOR, "1.4.0"),
        ("2.0.0-rc.1", semver.Bump.MAJOR, "2.0.0"),
        ("2.1.0-rc.1", semver.Bump.MAJOR, "3.0.0"),
    ],
)
def test_bumps(start: str, bump: semver.Bump, expected: str) -> None:
    assert str(semver.next_version(semver.parse(start), bump)) == expected


def test_filter_precedence_and_binds_tighter_than_or() -> None:
    tree = filters.parse('a = 1 OR b = "x" AND NOT (c != y)')
    assert isinstance(tree, filters.BoolOp) and tree.op == "OR"
    right = tree.operands[1]
    assert isinstance(right, filters.BoolOp) and right.op == "AND"
    assert isinstance(right.operands[1], filters.Not)


def test_filter_error_carries_the_position() -> None:
    with pytest.raises(InvalidArgument) as info:
        filters.parse("a = 1 AND")
    assert (
        info.value.message
        == "filter: expected a field name, found the end at the end of 'a = 1 AND'"
    )
    assert info.value.metadata == {"position": "10"}


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    migrate(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_downgrade_removes_every_table(database_url: str) -> None:
    from alembic import command

    from services.metadata.app import _alembic_config

    migrate(database_url)
    command.downgrade(_alembic_config(database_url), "base")
    engine = create_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
