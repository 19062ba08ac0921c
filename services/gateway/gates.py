"""Promotion gates: what a version must show before it enters a stage.

Gates are checked on plain facts (the candidate, its evaluations, the current production
version) so they can be tested without servers; the gateway gathers the facts. Every
failed gate is reported, not only the first, so a person sees all that is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from services.gateway.policy import StagePolicy


@dataclass(frozen=True)
class Candidate:
    """The version to promote, as the gates see it."""

    name: str
    size_bytes: int
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationFact:
    """One recorded evaluation of the candidate."""

    type: str
    dataset: str
    dataset_version: str
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeFile:
    """A file of the candidate that can run code when loaded (what inspection found)."""

    path: str
    format: str


@dataclass(frozen=True)
class GateFailure:
    """A gate that did not pass: its kind (``METRIC_THRESHOLD``...), subject and why."""

    gate: str
    subject: str
    description: str


def metric_value(
    metric: str, candidate: Candidate, evaluations: Sequence[EvaluationFact]
) -> float | None:
    """The candidate's value of ``metric``: its own metrics first, then its newest evaluation."""
    if metric in candidate.metrics:
        return candidate.metrics[metric]
    for evaluation in reversed(evaluations):
        if metric in evaluation.metrics:
            return evaluation.metrics[metric]
    return None


def check_gates(
    policy: StagePolicy,
    candidate: Candidate,
    evaluations: Sequence[EvaluationFact],
    production: Candidate | None,
    verify_integrity: Callable[[], str | None],
    code_files: Callable[[], Sequence[CodeFile]] = tuple,
) -> list[GateFailure]:
    """Every gate of ``policy`` that ``candidate`` fails; empty when it may proceed.

    ``evaluations`` are oldest first. ``verify_integrity`` re-reads the candidate's
    bytes and returns a description of what is wrong, or None when they verify; it
    is called only when the policy asks for it and the other gates passed (it reads
    the whole artifact). ``code_files`` lists the candidate's files that can run code
    when loaded; it is called only when the policy forbids them.
    """
    failures: list[GateFailure] = []
    for required in policy.required_evaluations:
        if not any(
            e.type == required.type
            and e.dataset == required.dataset
            and (not required.dataset_version or e.dataset_version == required.dataset_version)
            for e in evaluations
        ):
            failures.append(
                GateFailure(
                    "REQUIRED_EVALUATION",
                    f"{required.dataset}@{required.dataset_version or '*'}",
                    f"{candidate.name} has no {required}",
                )
            )
    for threshold in policy.metrics:
        value = metric_value(threshold.metric, candidate, evaluations)
        if value is None:
            failures.append(
                GateFailure(
                    "METRIC_THRESHOLD",
                    threshold.metric,
                    f"{candidate.name} has no metric {threshold.metric!r}; "
                    f"the gate requires {threshold}",
                )
            )
        elif not threshold.holds(value):
            failures.append(
                GateFailure(
                    "METRIC_THRESHOLD",
                    threshold.metric,
                    f"{threshold.metric} is {value:g}; the gate requires {threshold}",
                )
            )
    if production is not None:
        for metric in policy.no_regression:
            value = metric_value(metric, candidate, evaluations)
            baseline = production.metrics.get(metric)
            if baseline is None:
                continue
            if value is None:
                failures.append(
                    GateFailure(
                        "NO_REGRESSION",
                        metric,
                        f"{candidate.name} has no metric {metric!r} to compare with "
                        f"{production.name} ({baseline:g})",
                    )
                )
            elif value < baseline:
                failures.append(
                    GateFailure(
                        "NO_REGRESSION",
                        metric,
                        f"{metric} is {value:g}, below {baseline:g} of {production.name} "
                        "in production",
                    )
                )
    if policy.max_size_bytes and candidate.size_bytes > policy.max_size_bytes:
        failures.append(
            GateFailure(
                "MAX_SIZE",
                candidate.name,
                f"artifact is {candidate.size_bytes} bytes; the limit is {policy.max_size_bytes}",
            )
        )
    if policy.forbid_code_execution:
        for found in code_files():
            failures.append(
                GateFailure(
                    "CODE_EXECUTION",
                    found.path,
                    f"{found.path} is {found.format} and can run code when loaded; the "
                    "policy forbids such files in this stage (forbid_code_execution): "
                    "convert it to safetensors, GGUF or ONNX",
                )
            )
    if policy.verify_integrity and not failures:
        problem = verify_integrity()
        if problem is not None:
            failures.append(GateFailure("INTEGRITY", candidate.name, problem))
    return failures
