"""The OpenLineage convention without servers: which nodes and edges an event asks for."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import InvalidArgument
from services.gateway.http.openlineage.events import parse_event
from services.gateway.http.openlineage.mapping import (
    DATASET,
    DERIVED_FROM,
    MAX_EDGES,
    MODEL_VERSION,
    PRODUCED_BY,
    RUN,
    TRAINED_ON,
    plan,
)

RUN_ID = "0190a2b4-5e6f-7a8b-9c0d-112233445566"
RUN_KEY = f"airflow/train.fit/{RUN_ID}"


def _event(event_type: str = "COMPLETE", inputs=(), outputs=(), **extra) -> dict:
    return {
        "eventType": event_type,
        "eventTime": "2026-12-04T18:00:00Z",
        "run": {"runId": RUN_ID, "facets": {"nominalTime": {"nominalStartTime": "x"}}},
        "job": {"namespace": "airflow", "name": "train.fit"},
        "inputs": list(inputs),
        "outputs": list(outputs),
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        **extra,
    }


def _ds(namespace: str, name: str, version: str | None = None) -> dict:
    facets = {"version": {"datasetVersion": version}} if version else {}
    return {"namespace": namespace, "name": name, "facets": facets}


def _edges(body: dict) -> list[tuple[int, str, int, int, str]]:
    return [
        (e.subject.type, e.subject.key, e.type, e.object.type, e.object.key)
        for e in plan(parse_event(body)).edges
    ]


def test_a_model_output_is_trained_on_each_input_dataset_and_produced_by_the_run() -> None:
    body = _event(
        inputs=[_ds("s3://lake", "features", "7"), _ds("s3://lake", "labels")],
        outputs=[_ds("modelregistry", "models/churn/versions/1.0.0")],
    )
    model = "models/churn/versions/1.0.0"
    assert _edges(body) == [
        (MODEL_VERSION, model, PRODUCED_BY, RUN, RUN_KEY),
        (MODEL_VERSION, model, TRAINED_ON, DATASET, "s3://lake/features@7"),
        (MODEL_VERSION, model, TRAINED_ON, DATASET, "s3://lake/labels"),
    ]
    assert [n.key for n in plan(parse_event(body)).versions] == [model]


def test_a_dataset_output_is_derived_from_inputs_and_a_model_from_a_model() -> None:
    body = _event(
        inputs=[_ds("modelregistry", "models/big/versions/3"), _ds("hive", "db.t")],
        outputs=[_ds("modelregistry", "models/small/versions/1"), _ds("hive", "db.scores")],
    )
    edges = {(e[1], e[2], e[4]) for e in _edges(body)}
    assert ("models/small/versions/1", DERIVED_FROM, "models/big/versions/3") in edges
    assert ("models/small/versions/1", TRAINED_ON, "hive/db.t") in edges
    assert ("hive/db.scores", DERIVED_FROM, "models/big/versions/3") in edges
    assert ("hive/db.scores", DERIVED_FROM, "hive/db.t") in edges
    assert ("hive/db.scores", PRODUCED_BY, RUN_KEY) in edges
    assert len(edges) == 6


def test_a_table_updated_in_place_and_a_dataset_listed_twice_give_one_edge_each() -> None:
    body = _event(
        inputs=[_ds("hive", "db.t"), _ds("hive", "db.t"), _ds("hive", "db.u")],
        outputs=[_ds("hive", "db.t")],
    )
    assert _edges(body) == [
        (DATASET, "hive/db.t", PRODUCED_BY, RUN, RUN_KEY),
        (DATASET, "hive/db.t", DERIVED_FROM, DATASET, "hive/db.u"),
    ]


@pytest.mark.parametrize("event_type", ["START", "ABORT", "FAIL", "OTHER", None])
def test_only_complete_and_running_events_record_edges(event_type: str | None) -> None:
    body = _event(event_type, [_ds("a", "in")], [_ds("a", "out")])  # type: ignore[arg-type]
    assert _edges(body) == []
    assert _edges({**body, "eventType": "RUNNING"}) != []


def test_names_are_checked_on_every_event_type() -> None:
    body = _event("START", outputs=[_ds("modelregistry", "churn:1.0.0")])
    with pytest.raises(InvalidArgument) as raised:
        plan(parse_event(body))
    assert raised.value.field_violations[0].field == "outputs[0].name"


def test_a_key_over_512_characters_is_refused_naming_the_field() -> None:
    body = _event(inputs=[_ds("n" * 300, "x" * 300)])
    with pytest.raises(InvalidArgument) as raised:
        plan(parse_event(body))
    assert raised.value.field_violations[0].field == "inputs[0].name"
    assert "1-512 printable characters (it has 601)" in raised.value.message


def test_a_control_character_in_a_name_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        plan(parse_event(_event(outputs=[_ds("s3://b", "a\nb")])))
    assert raised.value.field_violations[0].field == "outputs[0].name"


def test_an_event_asking_for_too_many_edges_is_refused() -> None:
    side = int(MAX_EDGES**0.5) + 1
    body = _event(
        inputs=[_ds("a", f"in{i}") for i in range(side)],
        outputs=[_ds("a", f"out{i}") for i in range(side)],
    )
    with pytest.raises(InvalidArgument) as raised:
        plan(parse_event(body))
    assert raised.value.field_violations[0].field == "outputs"


def test_every_bad_field_is_listed_the_first_in_the_message() -> None:
    body = _event("DONE", inputs=[{"name": "x"}])
    del body["producer"]
    with pytest.raises(InvalidArgument) as raised:
        parse_event(body)
    fields = [v.field for v in raised.value.field_violations]
    assert fields == ["eventType", "inputs[0].namespace", "producer"]
    assert raised.value.message.startswith("malformed OpenLineage run event: eventType: ")
    assert raised.value.message.endswith("(and 2 more)")


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
_JSON = st.recursive(
    _SCALARS | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_PATHS = [
    ("eventType",),
    ("eventTime",),
    ("run",),
    ("run", "runId"),
    ("run", "facets"),
    ("job",),
    ("job", "namespace"),
    ("job", "name"),
    ("inputs",),
    ("inputs", 0),
    ("inputs", 0, "name"),
    ("inputs", 0, "facets"),
    ("inputs", 0, "facets", "version"),
    ("outputs", 0, "namespace"),
    ("outputs", 0, "name"),
    ("producer",),
    ("schemaURL",),
]


def _replace(body: dict, path: tuple, value: object) -> None:
    """Set ``path`` (an int: the first element of a list) to ``value``, when it is there."""
    target: object = body
    for step in path[:-1]:
        if isinstance(step, int):
            if not isinstance(target, list) or not target:
                return
            target = target[0]
        else:
            if not isinstance(target, dict) or step not in target:
                return
            target = target[step]
    if isinstance(path[-1], int) and isinstance(target, list) and target:
        target[0] = value
    elif isinstance(path[-1], str) and isinstance(target, dict):
        target[path[-1]] = value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PATHS), _JSON), min_size=1, max_size=4))
def test_any_mangled_event_is_planned_or_refused_naming_a_field(changes) -> None:
    body = _event(
        inputs=[_ds("s3://lake", "in", "1")],
        outputs=[_ds("modelregistry", "models/m/versions/1")],
    )
    for path, value in changes:
        _replace(body, path, value)
    try:
        plan(parse_event(body))
    except InvalidArgument as error:
        assert error.field_violations, error.message
        assert all(v.field for v in error.field_violations)
