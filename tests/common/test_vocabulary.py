"""The shared vocabulary: mirrors of the proto enums, the transition table, the version."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from enum import StrEnum
from importlib import metadata
from pathlib import Path

import pytest

import mreg
from modelregistry.v1 import resources_pb2
from services.common import vocabulary
from services.common.vocabulary import (
    EdgeType,
    EvaluationType,
    NodeKind,
    Stage,
    State,
    check_mirror,
    from_proto,
    name_of,
    to_proto,
)
from services.gateway import policy
from services.metadata import domain


@pytest.mark.parametrize("mirror", [Stage, State, EvaluationType, NodeKind, EdgeType])
def test_every_value_round_trips_through_its_proto_enum(mirror: type[StrEnum]) -> None:
    assert [from_proto(mirror, to_proto(m)) for m in mirror] == list(mirror)
    assert from_proto(mirror, 0) is None and from_proto(mirror, 99) is None


def test_proto_numbers_and_names() -> None:
    assert to_proto(Stage.PRODUCTION) == resources_pb2.STAGE_PRODUCTION
    assert name_of(EdgeType, resources_pb2.LINEAGE_EDGE_TYPE_TRAINED_ON) == "trained_on"
    assert name_of(Stage, resources_pb2.STAGE_UNSPECIFIED) == "unspecified"


def test_a_mirror_that_drifted_from_its_proto_enum_is_refused() -> None:
    class Short(StrEnum):
        DEVELOPMENT = "development"
        STAGING = "staging"

    with pytest.raises(ImportError, match=r"Short \['DEVELOPMENT', 'STAGING'\] does not match"):
        check_mirror(Short, resources_pb2.Stage, "STAGE_")


def test_one_transition_table_and_one_stage_enum() -> None:
    assert domain.TRANSITIONS is vocabulary.TRANSITIONS and domain.Stage is Stage
    assert {s: frozenset(t) for s, t in vocabulary.TRANSITIONS.items()} == policy.TRANSITIONS


def test_the_version_is_the_package_metadata() -> None:
    assert metadata.version("modelregistry") == vocabulary.VERSION


def test_the_sdk_reports_the_same_version() -> None:
    assert mreg.__version__ == vocabulary.VERSION


ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_a_release_carries_the_one_version() -> None:
    # The version is written where packaging reads it (the two pyproject files, the Node
    # client's package.json, the server's pin on its client); a release bump that misses one
    # fails here rather than shipping a server pinned to another client.
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    client = tomllib.loads((ROOT / "clients/python/pyproject.toml").read_text())["project"]
    node = json.loads((ROOT / "clients/node/package.json").read_text())
    pins = [
        match.group(1)
        for requirement in itertools.chain(
            server["dependencies"], *server["optional-dependencies"].values()
        )
        if (match := re.fullmatch(r"modelregistry-client(?:\[\w+\])?==(\S+)", requirement))
    ]
    assert pins, "the server pins its client"
    assert {server["version"], client["version"], node["version"], *pins} == {vocabulary.VERSION}
