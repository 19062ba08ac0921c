"""What ``show``, ``compare`` and ``push`` say about a version beyond its own fields: its
files with what inspection found, and the metrics of its evaluations by dataset and type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mreg.cli.output import to_dict

#: What ``show`` prints beside a file whose inspection says loading it can run code.
CODE_WARNING = "can run code when loaded (pickle-based); load it only if you trust its source"


@dataclass(frozen=True)
class FileFacts:
    """One file of a version and its blob's inspection."""

    path: str
    size_bytes: int
    inspection: Any  # artifacts_pb2.Inspection

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size_bytes": self.size_bytes,
            "inspection": to_dict(self.inspection),
        }

    def summary(self) -> str:
        """``safetensors  BF16  7.2B params`` and the code warning where it applies."""
        found = self.inspection
        words = [found.format or "-"]
        if found.dtypes:
            words.append(",".join(found.dtypes))
        if found.parameter_count:
            words.append(f"{_count(found.parameter_count)} params")
        for key in ("opset",):
            if key in found.details:
                words.append(f"{key} {found.details[key]}")
        if found.may_execute_code:
            words.append(f"! {CODE_WARNING}")
        return "  ".join(words)


def _count(n: int) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def version_files(client: Any, version: Any) -> list[FileFacts]:
    """Every file of ``version`` (a tree's files, or the one file) with its inspection."""
    from mreg.client import FILE_NAME_TAG

    if version.artifact_is_tree:
        entries = [(e.path, e.digest) for e in client.tree(version.artifact_digest)]
    else:
        entries = [(version.tags.get(FILE_NAME_TAG, ""), version.artifact_digest)]
    facts = []
    for path, digest in entries:
        blob = client.stat(digest)
        facts.append(FileFacts(path or f"sha256:{digest.hash}", digest.size_bytes, blob.inspection))
    return facts


def code_files(files: Iterable[FileFacts]) -> list[FileFacts]:
    """The files that can run code when loaded."""
    return [f for f in files if f.inspection.may_execute_code]


def evaluation_key(evaluation: Any, metric: str) -> str:
    """``auc [test holdout@3]``: a metric of an evaluation, by type and dataset."""
    from modelregistry.v1 import resources_pb2

    kind = resources_pb2.EvaluationType.Name(evaluation.type).removeprefix("EVALUATION_TYPE_")
    dataset = evaluation.dataset_name
    if evaluation.dataset_version:
        dataset += f"@{evaluation.dataset_version}"
    return f"{metric} [{kind.lower()} {dataset}]"


def evaluation_metrics(evaluations: Sequence[Any], only: Sequence[str] = ()) -> dict[str, float]:
    """Each evaluation metric by type and dataset; the newest evaluation wins (newest first)."""
    values: dict[str, float] = {}
    for evaluation in evaluations:
        for metric, value in evaluation.metrics.items():
            if not only or metric in only:
                values.setdefault(evaluation_key(evaluation, metric), value)
    return values


def best_of(rows: dict[str, dict[str, float]], lower_is_better: Sequence[str]) -> dict[str, str]:
    """For each column, the version with the best value (the first one on a tie)."""
    best: dict[str, tuple[str, float]] = {}
    for version, values in rows.items():
        for column, value in values.items():
            metric = column.split(" [", 1)[0]
            lower = metric in lower_is_better
            if column not in best or (
                value < best[column][1] if lower else value > best[column][1]
            ):
                best[column] = (version, value)
    return {column: version for column, (version, _) in best.items()}
