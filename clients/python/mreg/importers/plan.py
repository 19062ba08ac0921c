"""``mreg import mlflow``'s use case: compare MLflow with the registry, then copy what is new.

:func:`make_plan` reads both sides and decides, per MLflow version, whether it is to be
imported, is here already (a version ``N.0.0`` tagged ``mlflow.version=N``), or clashes
with a version made here. :func:`apply_plan` imports in MLflow's order: per version,
download the artifacts, push them (dedup: only chunks the registry lacks are sent) and
register with a request id derived from the model and version, so a re-run after an
interruption neither duplicates nor loses a version; then the model's description and
tags, stages and aliases are brought in line. A failure of one version is recorded and
the others go on.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mreg.client import Client
from mreg.errors import MregError, NotFoundError
from mreg.importers import mapping
from mreg.importers.mlflow import MlflowSource, SourceError, SourceModel, SourceVersion
from mreg.operations import STAGES
from mreg.transfer import Progress

#: Promotions that take a new version (in ``development``) to each stage.
PATHS = {
    "development": [],
    "staging": ["staging"],
    "production": ["staging", "production"],
    "archived": ["archived"],
}
IMPORT, PRESENT, CONFLICT, SKIP = "import", "present", "conflict", "skip"


@dataclass
class VersionPlan:
    source: SourceVersion
    version: str
    action: str
    stage: str
    reason: str = ""


@dataclass
class ModelPlan:
    name: str
    model: str = ""
    error: str = ""
    exists: bool = False
    source: SourceModel | None = None
    versions: list[VersionPlan] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """What an import did; ``failures`` decide the exit status."""

    imported: list[str] = field(default_factory=list)
    present: int = 0
    stages: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes_total: int = 0
    bytes_sent: int = 0


def request_id(model: str, number: int) -> str:
    """The registration's idempotency key: the same for a re-run of the same version."""
    return "mlflow-" + hashlib.sha256(f"{model}\n{number}".encode()).hexdigest()[:40]


def make_plan(
    client: Client, source: MlflowSource, names: Sequence[str], renames: Mapping[str, str]
) -> list[ModelPlan]:
    """One plan per MLflow model named (all of them when ``names`` is empty)."""
    plans = [ModelPlan(name) for name in (names or source.model_names())]
    taken: dict[str, str] = {}
    for plan in plans:
        try:
            plan.model = renames.get(plan.name) or mapping.model_id(plan.name)
            plan.source = source.model(plan.name)
        except (mapping.MappingError, SourceError) as error:
            plan.error = str(error)
            continue
        if plan.model in taken:
            plan.error = (
                f"MLflow models {taken[plan.model]!r} and {plan.name!r} both become "
                f"{plan.model!r}; give one another id with --rename '{plan.name}=NEW-ID'"
            )
            continue
        taken[plan.model] = plan.name
        _plan_model(client, plan)
    return plans


def _plan_model(client: Client, plan: ModelPlan) -> None:
    assert plan.source is not None
    here = {}
    try:
        client.get_model(plan.model)
        plan.exists = True
        here = {v.version: v for v in client.list_versions(plan.model, archived=True)}
    except NotFoundError:
        pass
    for v in plan.source.versions:
        semver = mapping.semver(v.number)
        step = VersionPlan(v, semver, IMPORT, mapping.stage(v.stage))
        mine = here.get(semver)
        if v.status != "READY":
            step.action, step.reason = SKIP, f"MLflow says {v.status}"
        elif mine is not None and mine.tags.get(mapping.TAG_VERSION) == str(v.number):
            step.action = PRESENT
        elif mine is not None:
            step.action = CONFLICT
            step.reason = f"{plan.model}:{semver} exists here and was not imported from MLflow"
        plan.versions.append(step)
    for name, number in sorted(plan.source.aliases.items()):
        try:
            alias = mapping.alias(name)
        except mapping.MappingError as error:
            plan.notes.append(str(error))
            continue
        if alias in plan.aliases:
            plan.notes.append(f"alias {name!r} left out: another alias already became {alias!r}")
            continue
        if alias != name:
            plan.notes.append(f"alias {name!r} becomes {alias!r}")
        plan.aliases[alias] = mapping.semver(number)


def remaining(path: Sequence[str], current: str) -> list[str]:
    """The promotions of ``path`` still to make from ``current``: all of them from
    ``development``, the rest of the path from a stage on it (an import stopped between
    staging and production goes on from staging), none from anywhere else (a stage set
    here by other means is left alone)."""
    if current == "development":
        return list(path)
    return list(path[path.index(current) + 1 :]) if current in path else []


def _stage_name(stage: int) -> str:
    return next((name for name, value in STAGES.items() if value == stage), "")


ProgressFactory = Callable[[], Progress]


@dataclass
class Importer:
    """Carries a plan out against ``client``; ``say`` prints a line of progress."""

    client: Client
    source: MlflowSource
    progress: ProgressFactory = Progress
    say: Callable[[str], None] = lambda _line: None
    streams: int = 4
    max_mb_per_s: float = 0.0
    summary: Summary = field(default_factory=Summary)

    def apply(self, plans: Sequence[ModelPlan]) -> Summary:
        for plan in plans:
            if plan.error:
                self.summary.failures.append(f"{plan.name}: {plan.error}")
                continue
            self.summary.notes += [f"{plan.model}: {n}" for n in plan.notes]
            self._model(plan)
        return self.summary

    def _fail(self, what: str, message: str) -> None:
        self.summary.failures.append(f"{what}: {message}")

    def _model(self, plan: ModelPlan) -> None:
        for step in plan.versions:
            name = f"{plan.model}:{step.version}"
            if step.action == PRESENT:
                self.summary.present += 1
            elif step.action in (CONFLICT, SKIP):
                self._fail(f"{name} (MLflow version {step.source.number})", step.reason)
            elif self._import(plan, step):
                step.action = PRESENT
        done = [s for s in plan.versions if s.action == PRESENT]
        if not done:
            return
        self._model_fields(plan)
        for step in done:
            self._stage(plan, step)
        versions = {s.version for s in done}
        current = {a.alias: a.model_version for a in self.client.aliases(plan.model)}
        for alias, version in plan.aliases.items():
            target = f"models/{plan.model}/versions/{version}"
            if version not in versions or current.get(alias) == target:
                continue
            if self._guard(f"{plan.model}@{alias}", self.client.set_alias, target, alias):
                self.summary.aliases.append(f"{plan.model}@{alias} -> {version}")

    def _import(self, plan: ModelPlan, step: VersionPlan) -> bool:
        v = step.source
        name = f"{plan.model}:{step.version}"
        notes: list[str] = list(v.notes)
        tags = mapping.string_map(v.tags, "tag", notes)
        tags[mapping.TAG_VERSION] = str(v.number)
        tags[mapping.TAG_STAGE] = v.stage
        tags[mapping.TAG_SOURCE] = mapping.text_value(v.source, 1024, "source", notes)
        if v.logged_model_id:
            tags[mapping.TAG_LOGGED_MODEL] = v.logged_model_id
        self.say(f"importing {name} (MLflow {plan.name!r} version {v.number})")
        with tempfile.TemporaryDirectory(prefix="mreg-mlflow-") as tmp:
            try:
                path = self.source.download(plan.name, v, Path(tmp))
            except SourceError as error:
                self._fail(name, str(error))
                return False
            progress = self.progress()
            try:
                result = self.client.push(
                    path,
                    model=plan.model,
                    version=step.version,
                    metrics=mapping.metric_map(v.metrics, "metric", notes),
                    params=mapping.string_map(v.params, "param", notes),
                    tags=tags,
                    datasets=v.datasets,
                    experiment=v.experiment_id,
                    run=v.run_id,
                    description=mapping.text_value(
                        v.description, mapping.MAX_DESCRIPTION_BYTES, "description", notes
                    ),
                    request_id=request_id(plan.model, v.number),
                    streams=self.streams,
                    use_cache=False,
                    progress=progress,
                    max_mb_per_s=self.max_mb_per_s,
                )
            except MregError as error:
                self._fail(name, error.message)
                return False
            finally:
                close = getattr(progress, "close", None)
                if close:
                    close()
        self.summary.imported.append(name)
        self.summary.bytes_total += result.stats.bytes_total
        self.summary.bytes_sent += result.stats.bytes_sent
        self.summary.notes += [f"{name}: {n}" for n in notes]
        return True

    def _model_fields(self, plan: ModelPlan) -> None:
        assert plan.source is not None
        notes: list[str] = []
        model = self.client.get_model(plan.model)
        tags = {**model.tags, **mapping.string_map(plan.source.tags, "model tag", notes)}
        tags[mapping.TAG_NAME] = mapping.text_value(plan.name, 1024, "name", notes)
        description = mapping.text_value(
            plan.source.description, mapping.MAX_DESCRIPTION_BYTES, "description", notes
        )
        self.summary.notes += [f"{plan.model}: {n}" for n in notes]
        if dict(model.tags) != tags or (description and model.description != description):
            self._guard(
                plan.model,
                self.client.update_model,
                plan.model,
                description=description or model.description,
                tags=tags,
            )

    def _stage(self, plan: ModelPlan, step: VersionPlan) -> None:
        reference = f"{plan.model}:{step.version}"
        version = self.client.get_version(plan.model, step.version)
        steps = remaining(PATHS[step.stage], _stage_name(version.stage))
        if not steps:
            return
        pending = self.client.promotions(plan.model, state="pending_approval")
        if any(p.model_version == version.name for p in pending):
            self.summary.notes.append(f"{reference}: a promotion waits for approval")
            return
        reason = f"imported from MLflow (stage {step.source.stage})"
        for target in steps:
            done = self._guard(reference, self.client.promote, reference, target, reason)
            if done is None:
                return
            if not done.HasField("model_version"):
                self.summary.notes.append(f"{reference}: promotion to {target} waits for approval")
                return
        self.summary.stages.append(f"{reference} -> {step.stage}")

    def _guard(self, what: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MregError as error:
            self._fail(what, error.message)
            return None
