"""Promotion policy: allowed transitions, gates per target stage, approvals.

A policy file (YAML, or TOML when its name ends in ``.toml``) has a ``default`` section
and optional per-model sections under ``models``; a model's section overrides the
default stage by stage::

    default:
      transitions:                 # optional: narrows the registry's transition table
        staging: [production, development, archived]
      stages:
        production:
          required_evaluations:
            - {type: test, dataset: holdout}
          metrics: ["auc >= 0.90", "latency_ms < 50"]
          no_regression: [auc]     # not worse than the current production version
          max_size_bytes: 10000000000
          verify_integrity: true   # re-read and verify the blob before promoting
          approvals: 1             # distinct approvers other than the requester
          auto_approve_principals: [release-bot]
          previous_production: archived   # or staging
    models:
      fraud-detector:
        stages:
          production: {approvals: 2}

A malformed file is refused with the line (and column) that is wrong.
"""

from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

#: The registry's stage transition table (docs/ARCHITECTURE.md section 4.1).
TRANSITIONS: dict[str, frozenset[str]] = {
    "development": frozenset({"staging", "archived"}),
    "staging": frozenset({"production", "development", "archived"}),
    "production": frozenset({"staging", "deprecated", "archived"}),
    "archived": frozenset({"development"}),
    "deprecated": frozenset({"archived"}),
}
STAGES = tuple(TRANSITIONS)
EVALUATION_TYPES = ("validation", "test", "production")

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_THRESHOLD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.\-/]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class MetricThreshold:
    """``metric op value``, for example ``auc >= 0.9``."""

    metric: str
    op: str
    value: float

    def holds(self, actual: float) -> bool:
        """Whether ``actual`` satisfies the threshold."""
        return _COMPARATORS[self.op](actual, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class RequiredEvaluation:
    """An evaluation of ``type`` on ``dataset`` (any version, unless one is named)."""

    type: str
    dataset: str
    dataset_version: str = ""

    def __str__(self) -> str:
        version = f"@{self.dataset_version}" if self.dataset_version else ""
        return f"{self.type} evaluation on {self.dataset}{version}"


@dataclass(frozen=True)
class StagePolicy:
    """What promoting into one stage requires."""

    required_evaluations: tuple[RequiredEvaluation, ...] = ()
    metrics: tuple[MetricThreshold, ...] = ()
    no_regression: tuple[str, ...] = ()
    max_size_bytes: int = 0
    verify_integrity: bool = False
    approvals: int = 0
    auto_approve_principals: frozenset[str] = frozenset()
    previous_production: str = "archived"


@dataclass(frozen=True)
class ModelPolicy:
    """The policy that applies to one model."""

    transitions: Mapping[str, frozenset[str]] = field(default_factory=lambda: TRANSITIONS)
    stages: Mapping[str, StagePolicy] = field(default_factory=dict)

    def allowed_targets(self, stage: str) -> frozenset[str]:
        """Stages a version in ``stage`` may move to."""
        return self.transitions.get(stage, frozenset())

    def for_stage(self, stage: str) -> StagePolicy:
        """Requirements for entering ``stage``."""
        return self.stages.get(stage, StagePolicy())


@dataclass(frozen=True)
class Policy:
    """The default policy and per-model overrides."""

    default: ModelPolicy = field(default_factory=ModelPolicy)
    models: Mapping[str, ModelPolicy] = field(default_factory=dict)

    def for_model(self, model: str) -> ModelPolicy:
        """The policy of ``model``: its own section over the default."""
        return self.models.get(model, self.default)


# --------------------------------------------------------------------------- loading


class _Located:
    """A YAML value with the line and column it came from (1-based)."""

    def __init__(self, value: Any, line: int, column: int) -> None:
        self.value, self.line, self.column = value, line, column


def _compose(node: yaml.Node) -> Any:
    mark = node.start_mark
    if isinstance(node, yaml.MappingNode):
        value: Any = {}
        for key_node, value_node in node.value:
            value[key_node.value] = _compose(value_node)
    elif isinstance(node, yaml.SequenceNode):
        value = [_compose(item) for item in node.value]
    else:
        value = yaml.safe_load(yaml.serialize(node))
    return _Located(value, mark.line + 1, mark.column + 1)


def _plain(located: Any) -> Any:
    return _wrap(located, 0, 0)


def _wrap(value: Any, line: int, column: int) -> _Located:
    if isinstance(value, _Located):
        return value
    if isinstance(value, dict):
        value = {k: _wrap(v, line, column) for k, v in value.items()}
    elif isinstance(value, list):
        value = [_wrap(v, line, column) for v in value]
    return _Located(value, line, column)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, at: _Located, message: str) -> PolicyError:
        where = f"{self.source}, line {at.line}, column {at.column}" if at.line else self.source
        return PolicyError(f"{where}: {message}")

    def mapping(self, node: _Located, what: str, keys: set[str]) -> dict[str, _Located]:
        if not isinstance(node.value, dict):
            raise self.fail(node, f"{what} must be a mapping")
        for key, value in node.value.items():
            if key not in keys:
                raise self.fail(
                    value, f"unknown key {key!r} in {what}; expected one of {sorted(keys)}"
                )
        return node.value

    def sequence(self, node: _Located, what: str) -> list[_Located]:
        if not isinstance(node.value, list):
            raise self.fail(node, f"{what} must be a list")
        return node.value

    def stage(self, node: _Located, what: str) -> str:
        if node.value not in TRANSITIONS:
            raise self.fail(node, f"{what}: unknown stage {node.value!r}; stages: {list(STAGES)}")
        return node.value

    def policy(self, root: _Located) -> Policy:
        top = self.mapping(root, "the policy", {"default", "models"})
        default = self.model(top["default"], "default") if "default" in top else ModelPolicy()
        models = {}
        if "models" in top:
            for name, section in self.mapping(
                top["models"], "models", set(top["models"].value or {})
            ).items():
                models[name] = self.model(section, f"models.{name}", base=default)
        return Policy(default, models)

    def model(self, node: _Located, what: str, base: ModelPolicy | None = None) -> ModelPolicy:
        section = self.mapping(node, what, {"transitions", "stages"})
        base = base or ModelPolicy()
        transitions = dict(base.transitions)
        if "transitions" in section:
            table = section["transitions"]
            for source, targets in self.mapping(
                table, f"{what}.transitions", set(TRANSITIONS)
            ).items():
                allowed = set()
                for target in self.sequence(targets, f"{what}.transitions.{source}"):
                    stage = self.stage(target, f"{what}.transitions.{source}")
                    if stage not in TRANSITIONS[source]:
                        raise self.fail(
                            target,
                            f"{source} -> {stage} is not a transition the registry allows; "
                            f"from {source}: {sorted(TRANSITIONS[source])}",
                        )
                    allowed.add(stage)
                transitions[source] = frozenset(allowed)
        stages = dict(base.stages)
        if "stages" in section:
            for stage, stage_node in self.mapping(
                section["stages"], f"{what}.stages", set(TRANSITIONS)
            ).items():
                stages[stage] = self.stage_policy(
                    stage_node, f"{what}.stages.{stage}", stages.get(stage, StagePolicy())
                )
        return ModelPolicy(transitions, stages)

    def stage_policy(self, node: _Located, what: str, base: StagePolicy) -> StagePolicy:
        keys = {f.name for f in StagePolicy.__dataclass_fields__.values()}
        section = self.mapping(node, what, keys)
        changes: dict[str, Any] = {}
        for key, value in section.items():
            changes[key] = getattr(self, f"_{key}")(value, f"{what}.{key}")
        return replace(base, **changes)

    def _required_evaluations(self, node: _Located, what: str) -> tuple[RequiredEvaluation, ...]:
        out = []
        for item in self.sequence(node, what):
            fields = self.mapping(item, what, {"type", "dataset", "dataset_version"})
            if "type" not in fields or "dataset" not in fields:
                raise self.fail(item, f"{what}: each entry needs 'type' and 'dataset'")
            kind = fields["type"]
            if kind.value not in EVALUATION_TYPES:
                raise self.fail(
                    kind,
                    f"{what}: unknown evaluation type {kind.value!r}; "
                    f"types: {list(EVALUATION_TYPES)}",
                )
            out.append(
                RequiredEvaluation(
                    kind.value,
                    str(fields["dataset"].value),
                    str(fields["dataset_version"].value) if "dataset_version" in fields else "",
                )
            )
        return tuple(out)

    def _metrics(self, node: _Located, what: str) -> tuple[MetricThreshold, ...]:
        out = []
        for item in self.sequence(node, what):
            match = _THRESHOLD.fullmatch(str(item.value))
            try:
                value = float(match[3]) if match else math.nan
            except ValueError:
                value = math.nan
            if not match or not math.isfinite(value):
                raise self.fail(
                    item, f"{what}: {item.value!r} is not a threshold like 'auc >= 0.90'"
                )
            out.append(MetricThreshold(match[1], match[2], value))
        return tuple(out)

    def _no_regression(self, node: _Located, what: str) -> tuple[str, ...]:
        return tuple(str(item.value) for item in self.sequence(node, what))

    def _max_size_bytes(self, node: _Located, what: str) -> int:
        return self._count(node, what)

    def _approvals(self, node: _Located, what: str) -> int:
        return self._count(node, what)

    def _count(self, node: _Located, what: str) -> int:
        if isinstance(node.value, bool) or not isinstance(node.value, int) or node.value < 0:
            raise self.fail(node, f"{what} must be a whole number >= 0, got {node.value!r}")
        return node.value

    def _verify_integrity(self, node: _Located, what: str) -> bool:
        if not isinstance(node.value, bool):
            raise self.fail(node, f"{what} must be true or false, got {node.value!r}")
        return node.value

    def _auto_approve_principals(self, node: _Located, what: str) -> frozenset[str]:
        return frozenset(str(item.value) for item in self.sequence(node, what))

    def _previous_production(self, node: _Located, what: str) -> str:
        if node.value not in ("staging", "archived"):
            raise self.fail(node, f"{what} must be 'staging' or 'archived', got {node.value!r}")
        return node.value


def parse_policy(text: str, source: str = "policy", toml: bool = False) -> Policy:
    """Parse policy text; :class:`PolicyError` names the line that is wrong."""
    parser = _Parser(source)
    if toml:
        try:
            root = _plain(tomllib.loads(text))
        except tomllib.TOMLDecodeError as error:
            raise PolicyError(f"{source}: {error}") from None
    else:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or str(error)
            raise PolicyError(f"{source}{where}: {problem}") from None
        if node is None:
            return Policy()
        root = _compose(node)
    return parser.policy(root)


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path``, or the permissive default (no gates) when ``path`` is None."""
    if path is None:
        return Policy()
    try:
        text = path.read_text()
    except OSError as error:
        raise PolicyError(f"cannot read policy file {path}: {error.strerror}") from None
    return parse_policy(text, str(path), toml=path.suffix == ".toml")
