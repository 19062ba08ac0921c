"""Promotion policy: allowed transitions, gates per target stage, approvals.

A policy file (YAML, or TOML when its name ends in ``.toml``) has a ``default`` section
and optional per-model sections under ``models``; a model's section overrides the
default stage by stage, and within a stage field by field::

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
          forbid_code_execution: true   # no file that can run code when loaded (pickle)
          approvals: 1             # distinct approvers other than the requester
          auto_approve_principals: [release-bot]
          previous_production: archived   # or staging
    models:
      fraud-detector:
        stages:
          production: {approvals: 2}

The file's shape is the pydantic models below (``_PolicyFile`` and its sections); a
malformed file is refused with the field path and, for YAML, the line and column that are
wrong (TOML parsers report no positions of values, so there only the path is named).
"""

from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)
from pydantic_core import ErrorDetails

from services.common.vocabulary import TRANSITIONS as _TABLE
from services.common.vocabulary import EvaluationType, Stage

#: The registry's stage transition table as sets (services.common.vocabulary.TRANSITIONS).
TRANSITIONS: dict[str, frozenset[str]] = {s.value: frozenset(t) for s, t in _TABLE.items()}
STAGES = tuple(TRANSITIONS)
EVALUATION_TYPES = tuple(t.value for t in EvaluationType)

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
    """A policy file that cannot be used; the message names the file, line and field."""


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
    forbid_code_execution: bool = False
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


# --------------------------------------------------------------------------- the file's shape


def _threshold(text: str) -> MetricThreshold:
    match = _THRESHOLD.fullmatch(text)
    try:
        value = float(match[3]) if match else math.nan
    except ValueError:
        value = math.nan
    if not match or not math.isfinite(value):
        raise ValueError(f"{text!r} is not a threshold like 'auc >= 0.90'")
    return MetricThreshold(match[1], match[2], value)


class _Section(BaseModel):
    # Names and labels may be written as numbers in YAML (dataset: 2024); counts and flags
    # are strict (no "1" for 1, no 1 for true).
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


Count = Annotated[StrictInt, Field(ge=0)]


class _RequiredEvaluationSection(_Section):
    type: EvaluationType
    dataset: str
    dataset_version: str = ""


class _StageSection(_Section):
    required_evaluations: tuple[_RequiredEvaluationSection, ...] = ()
    metrics: tuple[Annotated[str, AfterValidator(_threshold)], ...] = ()
    no_regression: tuple[str, ...] = ()
    max_size_bytes: Count = 0
    verify_integrity: StrictBool = False
    forbid_code_execution: StrictBool = False
    approvals: Count = 0
    auto_approve_principals: tuple[str, ...] = ()
    previous_production: Literal["staging", "archived"] = "archived"


class _ModelSection(_Section):
    transitions: dict[Stage, tuple[Stage, ...]] = {}
    stages: dict[Stage, _StageSection] = {}


class _PolicyFile(_Section):
    default: _ModelSection = _ModelSection()
    models: dict[str, _ModelSection] = {}


# --------------------------------------------------------------------------- positions

_Loc = tuple[str | int, ...]


def _walk(node: yaml.Node, path: _Loc, marks: dict[_Loc, tuple[int, int]]) -> Any:
    """Plain data of a YAML node; records each value's 1-based (line, column) by path."""
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        return {k.value: _walk(v, (*path, k.value), marks) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), marks) for i, item in enumerate(node.value)]
    return yaml.constructor.SafeConstructor().construct_object(node)


class _Errors:
    """Turns a path in the file into a message with its position."""

    def __init__(self, source: str, marks: dict[_Loc, tuple[int, int]]) -> None:
        self.source, self.marks = source, marks

    def at(self, path: _Loc, message: str) -> PolicyError:
        """A PolicyError at ``path`` (or its nearest ancestor that has a position)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.marks:
                line, column = self.marks[path[:end]]
                return PolicyError(f"{self.source}, line {line}, column {column}: {message}")
        return PolicyError(f"{self.source}: {message}")

    def from_pydantic(self, error: ErrorDetails) -> PolicyError:
        loc = tuple(error["loc"])
        kind, got = error["type"], error.get("input")
        if loc and loc[-1] == "[key]":  # a mapping key not allowed, e.g. a stage name
            loc = loc[:-1]
            kind = "extra_forbidden"
        what = _dotted(loc) or "the policy"
        if kind == "extra_forbidden":
            parent = _dotted(loc[:-1]) or "the policy"
            return self.at(
                loc,
                f"unknown key {loc[-1]!r} in {parent}; expected one of {_expected(loc[:-1])}",
            )
        ctx = error.get("ctx", {})
        messages = {
            "value_error": f"{what}: {ctx.get('error')}",
            "int_type": f"{what} must be a whole number >= 0, got {got!r}",
            "greater_than_equal": f"{what} must be a whole number >= 0, got {got!r}",
            "bool_type": f"{what} must be true or false, got {got!r}",
            "string_type": f"{what} must be a string, got {got!r}",
            "model_type": f"{what} must be a mapping, got {got!r}",
            "dict_type": f"{what} must be a mapping, got {got!r}",
            "tuple_type": f"{what} must be a list, got {got!r}",
            "missing": f"{what} is required",
            "enum": f"{what}: unknown value {got!r}; expected {ctx.get('expected')}",
            "literal_error": f"{what} must be {ctx.get('expected')}, got {got!r}",
        }
        return self.at(loc, messages.get(kind, f"{what}: {error['msg']}"))


def _dotted(loc: _Loc) -> str:
    """``('default', 'stages', 'production', 'metrics', 0)`` -> ``default.stages...metrics``;
    the line names the list entry."""
    return ".".join(str(part) for part in loc if not isinstance(part, int))


def _expected(loc: _Loc) -> list[str]:
    """The keys allowed in the section at ``loc``: a model's fields or an enum's values."""
    kind: Any = _PolicyFile
    for part in loc:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            kind = kind.model_fields[str(part)].annotation
        elif get_origin(kind) in (dict, tuple):
            kind = get_args(kind)[-1 if get_origin(kind) is dict else 0]
        while get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
    if get_origin(kind) is dict:
        key = get_args(kind)[0]
        return [m.value for m in key] if isinstance(key, type) and issubclass(key, Stage) else []
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return sorted(kind.model_fields)
    return []


# --------------------------------------------------------------------------- loading


def _model_policy(
    section: _ModelSection, path: _Loc, base: ModelPolicy, errors: _Errors
) -> ModelPolicy:
    transitions = dict(base.transitions)
    for source, targets in section.transitions.items():
        for index, target in enumerate(targets):
            if target not in TRANSITIONS[source]:
                raise errors.at(
                    (*path, "transitions", source.value, index),
                    f"{source} -> {target} is not a transition the registry allows; "
                    f"from {source}: {sorted(TRANSITIONS[source])}",
                )
        transitions[source.value] = frozenset(t.value for t in targets)
    stages = dict(base.stages)
    for stage, given in section.stages.items():
        changes: dict[str, Any] = {name: getattr(given, name) for name in given.model_fields_set}
        if "required_evaluations" in changes:
            changes["required_evaluations"] = tuple(
                RequiredEvaluation(e.type.value, e.dataset, e.dataset_version)
                for e in given.required_evaluations
            )
        if "auto_approve_principals" in changes:
            changes["auto_approve_principals"] = frozenset(given.auto_approve_principals)
        stages[stage.value] = replace(stages.get(stage.value, StagePolicy()), **changes)
    return ModelPolicy(transitions, stages)


def _build(data: Any, errors: _Errors) -> Policy:
    try:
        parsed = _PolicyFile.model_validate(data)
    except ValidationError as error:
        raise errors.from_pydantic(error.errors()[0]) from None
    default = _model_policy(parsed.default, ("default",), ModelPolicy(), errors)
    models = {
        name: _model_policy(section, ("models", name), default, errors)
        for name, section in parsed.models.items()
    }
    return Policy(default, models)


def parse_policy(text: str, source: str = "policy", toml: bool = False) -> Policy:
    """Parse policy text; :class:`PolicyError` names the line and field that are wrong."""
    marks: dict[_Loc, tuple[int, int]] = {}
    if toml:
        try:
            data: Any = tomllib.loads(text)
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
        data = _walk(node, (), marks)
    return _build(data, _Errors(source, marks))


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path``, or the permissive default (no gates) when ``path`` is None."""
    if path is None:
        return Policy()
    try:
        text = path.read_text()
    except OSError as error:
        raise PolicyError(f"cannot read policy file {path}: {error.strerror}") from None
    return parse_policy(text, str(path), toml=path.suffix == ".toml")
