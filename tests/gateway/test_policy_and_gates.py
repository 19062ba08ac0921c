"""Promotion policy files and the gates they define, without servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.gateway.gates import Candidate, CodeFile, EvaluationFact, check_gates
from services.gateway.policy import (
    TRANSITIONS,
    MetricThreshold,
    PolicyError,
    StagePolicy,
    load_policy,
    parse_policy,
)

POLICY = """\
default:
  stages:
    production:
      required_evaluations:
        - {type: test, dataset: holdout}
      metrics: ["auc >= 0.90"]
      no_regression: [auc]
      max_size_bytes: 1000
      verify_integrity: true
      approvals: 1
      previous_production: staging
models:
  fraud-detector:
    transitions:
      staging: [production, archived]
    stages:
      production: {approvals: 2, auto_approve_principals: [release-bot]}
"""


def test_model_section_overrides_the_default_stage_by_stage() -> None:
    policy = parse_policy(POLICY)
    fraud = policy.for_model("fraud-detector").for_stage("production")
    other = policy.for_model("churn").for_stage("production")
    assert (fraud.approvals, other.approvals) == (2, 1)
    assert fraud.metrics == other.metrics == (MetricThreshold("auc", ">=", 0.9),)
    assert fraud.auto_approve_principals == {"release-bot"}
    assert fraud.previous_production == "staging"
    assert policy.for_model("fraud-detector").allowed_targets("staging") == {
        "production",
        "archived",
    }
    assert policy.for_model("churn").allowed_targets("staging") == TRANSITIONS["staging"]


def test_toml_policy_files_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[default.stages.production]\nmetrics = ["auc > 0.5"]\napprovals = 3\n')
    stage = load_policy(path).for_model("m").for_stage("production")
    assert (stage.approvals, stage.metrics[0].op) == (3, ">")


def test_no_policy_file_means_no_gates() -> None:
    assert load_policy(None).for_model("m").for_stage("production") == StagePolicy()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "default:\n  stages:\n    production:\n      metrics: ['auc >> 1']\n",
            "policy, line 4, column 17: default.stages.production.metrics: 'auc >> 1' is not "
            "a threshold like 'auc >= 0.90'",
        ),
        (
            "default:\n  stages:\n    prod:\n      approvals: 1\n",
            "policy, line 4, column 7: unknown key 'prod' in default.stages",
        ),
        (
            "default:\n  stages:\n    production:\n      approvals: -1\n",
            "policy, line 4, column 18: default.stages.production.approvals must be a whole "
            "number >= 0, got -1",
        ),
        (
            "default:\n  transitions:\n    archived: [production]\n",
            "policy, line 3, column 16: archived -> production is not a transition the "
            "registry allows",
        ),
        ("default: [\n", "policy, line 2, column 1:"),
    ],
)
def test_malformed_policy_names_the_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert str(info.value).startswith(message)


STAGE_NAMES = "'development', 'staging', 'production', 'archived' or 'deprecated'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # an unknown field, with the fields the section has
            "default:\n  stages:\n    production:\n      approvals: 1\n      aproovals: 2\n",
            "policy, line 5, column 18: unknown key 'aproovals' in default.stages.production; "
            "expected one of ['approvals', 'auto_approve_principals', 'forbid_code_execution', ",
        ),
        (  # a wrong type: 1 is not true
            "default:\n  stages:\n    production:\n      verify_integrity: 1\n",
            "policy, line 4, column 25: default.stages.production.verify_integrity must be "
            "true or false, got 1",
        ),
        (  # a bad stage name as a transition's target: the list entry's line and column
            "default:\n  transitions:\n    staging: [production, prod]\n",
            f"policy, line 3, column 27: default.transitions.staging: unknown value 'prod'; "
            f"expected {STAGE_NAMES}",
        ),
        (  # a bad stage name as a key of a model's section
            "models:\n  fraud:\n    stages:\n      prod: {approvals: 1}\n",
            "policy, line 4, column 13: unknown key 'prod' in models.fraud.stages; expected "
            "one of ['development', 'staging', 'production', 'archived', 'deprecated']",
        ),
        (  # a bad evaluation type
            "default:\n  stages:\n    production:\n"
            "      required_evaluations: [{type: tset, dataset: x}]\n",
            "policy, line 4, column 37: default.stages.production.required_evaluations.type: "
            "unknown value 'tset'; expected 'validation', 'test' or 'production'",
        ),
        (  # a missing field: the entry's position
            "default:\n  stages:\n    production:\n      required_evaluations:\n"
            "        - {type: test}\n",
            "policy, line 5, column 11: default.stages.production.required_evaluations.dataset "
            "is required",
        ),
        (  # an empty section is not an empty mapping
            "default:\n",
            "policy, line 1, column 9: default must be a mapping, got None",
        ),
        (  # an empty list entry is not the metric named 'None'
            "default:\n  stages:\n    production:\n      no_regression: [auc, ~]\n",
            "policy, line 4, column 28: default.stages.production.no_regression must be a "
            "string, got None",
        ),
    ],
)
def test_bad_policy_files_name_the_line_and_the_field(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert str(info.value).startswith(message)


def test_bad_toml_policy_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[default.stages.production]\napprovals = "2"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == (
        f"{path}: default.stages.production.approvals must be a whole number >= 0, got '2'"
    )


def test_unreadable_policy_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")


STAGE = parse_policy(POLICY).for_model("churn").for_stage("production")


def _verify_ok() -> None:
    return None


def test_a_candidate_meeting_every_gate_passes() -> None:
    candidate = Candidate("models/m/versions/2.0.0", 500, {"auc": 0.95})
    evaluations = [EvaluationFact("test", "holdout", "3", {"auc": 0.95})]
    production = Candidate("models/m/versions/1.0.0", 400, {"auc": 0.93})
    assert check_gates(STAGE, candidate, evaluations, production, _verify_ok) == []


def test_every_failed_gate_is_listed_with_why() -> None:
    candidate = Candidate("models/m/versions/2.0.0", 5000, {"auc": 0.85})
    production = Candidate("models/m/versions/1.0.0", 400, {"auc": 0.93})
    failures = check_gates(STAGE, candidate, [], production, _verify_ok)
    assert [(f.gate, f.subject) for f in failures] == [
        ("REQUIRED_EVALUATION", "holdout@*"),
        ("METRIC_THRESHOLD", "auc"),
        ("NO_REGRESSION", "auc"),
        ("MAX_SIZE", "models/m/versions/2.0.0"),
    ]
    assert failures[1].description == "auc is 0.85; the gate requires auc >= 0.9"
    assert failures[2].description == (
        "auc is 0.85, below 0.93 of models/m/versions/1.0.0 in production"
    )


def test_a_gate_on_a_metric_the_version_lacks_fails_and_says_so() -> None:
    failures = check_gates(
        StagePolicy(metrics=(MetricThreshold("f1", ">=", 0.5),)),
        Candidate("v", 1, {"auc": 1.0}),
        [],
        None,
        _verify_ok,
    )
    assert failures[0].description == "v has no metric 'f1'; the gate requires f1 >= 0.5"


def test_evaluation_metrics_count_when_the_version_has_none() -> None:
    stage = StagePolicy(metrics=(MetricThreshold("auc", ">=", 0.9),))
    evaluations = [
        EvaluationFact("test", "holdout", "1", {"auc": 0.8}),
        EvaluationFact("test", "holdout", "2", {"auc": 0.92}),
    ]
    assert check_gates(stage, Candidate("v", 1), evaluations, None, _verify_ok) == []


def test_integrity_is_checked_last_and_its_problem_reported() -> None:
    calls = []

    def corrupt() -> str:
        calls.append(1)
        return "chunk 3 does not match its digest"

    stage = StagePolicy(verify_integrity=True)
    failures = check_gates(stage, Candidate("v", 1), [], None, corrupt)
    assert failures[0].gate == "INTEGRITY"
    assert failures[0].description == "chunk 3 does not match its digest"
    failing = StagePolicy(verify_integrity=True, max_size_bytes=1)
    check_gates(failing, Candidate("v", 2), [], None, corrupt)
    assert calls == [1]


def test_the_code_execution_gate_asks_for_files_only_when_the_policy_forbids_them() -> None:
    asked: list[int] = []

    def code_files() -> list[CodeFile]:
        asked.append(1)
        return [CodeFile("model.pt", "pytorch"), CodeFile("opt.pkl", "pickle")]

    def verified() -> None:
        return None

    assert check_gates(StagePolicy(), Candidate("v", 1), [], None, verified, code_files) == []
    assert asked == []
    stage = parse_policy(
        "default:\n  stages:\n    production:\n      forbid_code_execution: true\n"
    ).default.for_stage("production")
    failures = check_gates(stage, Candidate("v", 1), [], None, verified, code_files)
    assert [(f.gate, f.subject) for f in failures] == [
        ("CODE_EXECUTION", "model.pt"),
        ("CODE_EXECUTION", "opt.pkl"),
    ]
    assert failures[0].description.startswith("model.pt is pytorch and can run code when loaded")
