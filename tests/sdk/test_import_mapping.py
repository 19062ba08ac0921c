"""The rules by which MLflow's names and values become this registry's (README, "Moving
from MLflow"), checked against the registry's own patterns."""

from __future__ import annotations

import math

import pytest

from mreg.importers import mapping
from mreg.importers.plan import PATHS, remaining
from services.common.validation import MODEL_ID_PATTERN
from services.metadata.checks import ALIAS_PATTERN, KEY_PATTERN


def test_the_patterns_are_the_registrys_own() -> None:
    assert mapping.MODEL_ID.pattern == MODEL_ID_PATTERN
    assert mapping.ALIAS.pattern == ALIAS_PATTERN
    assert mapping.KEY.pattern == KEY_PATTERN


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("fraud-detector", "fraud-detector"),
        ("Fraud Detector", "fraud-detector"),
        ("churn_model", "churn_model"),
        ("team/Recs  v2", "team-recs-v2"),
        ("Modèle Crédit", "modele-credit"),
        ("..hidden..name", "hidden.name"),
        ("-x-", "x"),
        ("a" * 200, "a" * 128),
    ],
)
def test_model_names_become_model_ids(name: str, model_id: str) -> None:
    assert mapping.model_id(name) == model_id


@pytest.mark.parametrize("name", ["???", "模型", "---", ""])
def test_a_name_without_letters_or_digits_is_refused_with_the_flag_to_use(name: str) -> None:
    with pytest.raises(mapping.MappingError) as info:
        mapping.model_id(name)
    assert str(info.value) == (
        f"MLflow model {name!r} has no letters or digits to make a model id of; "
        f"give it one with --rename '{name}=NEW-ID'"
    )


def test_a_renamed_id_must_be_a_model_id() -> None:
    assert mapping.check_model_id("risk.fraud-2") == "risk.fraud-2"
    for bad in ("Fraud", "a..b", "-a", ""):
        with pytest.raises(mapping.MappingError, match="is not a model id"):
            mapping.check_model_id(bad)


def test_versions_and_stages() -> None:
    assert [mapping.semver(n) for n in (1, "2", 17)] == ["1.0.0", "2.0.0", "17.0.0"]
    with pytest.raises(mapping.MappingError):
        mapping.semver(0)
    assert [mapping.stage(s) for s in ("None", None, "Staging", "Production", "Archived")] == [
        "development",
        "development",
        "staging",
        "production",
        "archived",
    ]


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("champion", "champion"),
        ("Challenger", "challenger"),
        ("Prod Candidate", "prod-candidate"),
        ("production", "mlflow-production"),
        ("Staging", "mlflow-staging"),
        ("2024-best", "mlflow-2024-best"),
        ("x" * 80, "x" * 63),
    ],
)
def test_aliases(name: str, alias: str) -> None:
    assert mapping.alias(name) == alias


def test_keys_and_maps_note_every_change() -> None:
    notes: list[str] = []
    params = {"val loss": "1", "ok.key/x-y": "2", "-lead": "3", "long": "é" * 600}
    assert mapping.string_map(params, "param", notes) == {
        "_-lead": "3",
        "long": "é" * 512,
        "ok.key/x-y": "2",
        "val_loss": "1",
    }
    assert notes == [
        "long cut from 1200 to 1024 bytes",
        "param '-lead' renamed '_-lead'",
        "param 'val loss' renamed 'val_loss'",
    ]
    notes = []
    metrics = {"a b": 1.0, "a_b": 2.0, "nan": math.nan, "inf": math.inf}
    assert mapping.metric_map(metrics, "metric", notes) == {"a_b": 2.0}
    assert notes == [
        "metric 'nan' left out: nan is not a finite number",
        "metric 'inf' left out: inf is not a finite number",
        "metric 'a b' left out: another key already became 'a_b'",
    ]
    notes = []
    many = {f"k{i:03}": str(i) for i in range(300)}
    assert len(mapping.string_map(many, "tag", notes)) == 256
    assert notes == ["tag: 44 entries over 256 left out"]


def test_stages_are_reached_from_where_a_version_is() -> None:
    production = PATHS["production"]
    assert remaining(production, "development") == ["staging", "production"]
    assert remaining(production, "staging") == ["production"]  # an import stopped halfway
    assert remaining(production, "production") == []
    assert remaining(production, "archived") == []  # set here by other means: left alone
    assert remaining(PATHS["archived"], "development") == ["archived"]
    assert remaining(PATHS["development"], "development") == []
