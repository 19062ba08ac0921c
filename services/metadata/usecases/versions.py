"""Use cases on models and versions: create (numbered in the transaction), read, resolve,
registration state, updates with ``update_mask`` and etag, listing."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from services.common.validation import (
    model_name,
    parse_version_name,
    validate_model_id,
    validate_request_id,
    version_name,
)
from services.metadata import checks, semver
from services.metadata.domain import EdgeType, ModelVersion, NodeRef, Stage, State
from services.metadata.pagetoken import PageTokens
from services.metadata.store import versions as store
from services.metadata.store.db import Conflict, Database
from services.metadata.store.mapping import snapshot
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase
from services.metadata.usecases.lineage import LineageUseCases, validate_node

logger = logging.getLogger(__name__)

#: Fields of a version that UpdateModelVersion may change.
UPDATABLE = (
    "description",
    "tags",
    "metrics",
    "params",
    "hyperparameters",
    "input_schema",
    "output_schema",
)
_MAX_ATTEMPTS = 8
_SHORT_FIELDS = {
    "format": 64,
    "framework": 128,
    "framework_version": 128,
    "training_dataset": 512,
    "experiment_id": 256,
    "run_id": 256,
    "git_commit": 256,
}


def validate_fields(spec: ModelVersion, prefix: str = "model_version") -> ModelVersion:
    """Check the user-settable fields of a version; returns it with maps normalized."""
    for name, limit in _SHORT_FIELDS.items():
        checks.text(getattr(spec, name), f"{prefix}.{name}", limit)
    checks.text(spec.description, f"{prefix}.description", checks.MAX_DESCRIPTION_BYTES)
    checks.text(spec.input_schema, f"{prefix}.input_schema", checks.MAX_SCHEMA_BYTES)
    checks.text(spec.output_schema, f"{prefix}.output_schema", checks.MAX_SCHEMA_BYTES)
    if spec.parameter_count < 0:
        raise InvalidArgument.field(
            f"{prefix}.parameter_count", f"must not be negative, got {spec.parameter_count}"
        )
    return replace(
        spec,
        metrics=checks.metric_map(spec.metrics, f"{prefix}.metrics"),
        params=checks.string_map(spec.params, f"{prefix}.params"),
        hyperparameters=checks.string_map(spec.hyperparameters, f"{prefix}.hyperparameters"),
        tags=checks.string_map(spec.tags, f"{prefix}.tags"),
    )


class VersionUseCases(UseCaseBase):
    """Create, read, resolve and update versions."""

    def __init__(self, db: Database, tokens: PageTokens, lineage: LineageUseCases) -> None:
        super().__init__(db, tokens)
        #: Records the lineage edges a version is registered with, in the same transaction.
        self.lineage = lineage

    def create_version(
        self,
        model: str,
        spec: ModelVersion,
        *,
        bump: semver.Bump | None,
        request_id: str,
        ready: bool,
        actor: str,
        lineage: Sequence[tuple[EdgeType, NodeRef]] = (),
    ) -> ModelVersion:
        """Create a version, numbered inside the transaction; idempotent by ``request_id``."""
        validate_model_id(model, "parent")
        if request_id:
            validate_request_id(request_id)
        explicit = semver.parse(spec.version, "model_version.version") if spec.version else None
        spec = validate_fields(spec)
        lineage = [
            (t, validate_node(n, f"lineage[{i}].object")) for i, (t, n) in enumerate(lineage)
        ]
        request_hash = _request_hash(model, spec, bump, ready, lineage)
        for attempt in range(_MAX_ATTEMPTS):
            try:
                return self._create_once(
                    model,
                    spec,
                    explicit,
                    bump,
                    request_id,
                    request_hash,
                    ready,
                    actor,
                    lineage,
                    look_up_request=attempt > 0 or explicit is not None,
                )
            except Conflict as error:
                # A repeated request id (looked up on the next attempt), a concurrent first
                # create of the model, or the same request id racing on another model.
                logger.info("create on %s collided (attempt %d): %s", model, attempt + 1, error)
        raise AlreadyExists(
            f"could not allocate a version of {model_name(model)!r} after {_MAX_ATTEMPTS} "
            "attempts; retry the request",
            reason="VERSION_CONFLICT",
        )

    def _create_once(
        self,
        model: str,
        spec: ModelVersion,
        explicit: semver.SemVer | None,
        bump: semver.Bump | None,
        request_id: str,
        request_hash: str,
        ready: bool,
        actor: str,
        lineage: Sequence[tuple[EdgeType, NodeRef]],
        *,
        look_up_request: bool,
    ) -> ModelVersion:
        """One attempt in one transaction. The first attempt of a bumped create skips the
        request-id lookup: the unique index on ``request_id`` catches a repeat, and the
        retry looks it up."""
        now = self.now()
        with self.db.write() as tx:
            model_id = store.lock_or_create_model(tx, model, actor, now)
            if request_id and look_up_request:
                earlier = store.by_request_id(tx, request_id)
                if earlier is not None:
                    return _same_request(earlier, request_id, request_hash)
            if explicit is not None:
                number = explicit
                if store.version_exists(tx, model_id, str(number)):
                    name = version_name(model, str(number))
                    raise AlreadyExists(
                        f"version {name!r} already exists; omit the version to have the next "
                        "one chosen",
                        metadata={"version": name},
                    )
            else:
                highest = store.highest_version(tx, model_id)
                number = semver.next_version(semver.parse(highest) if highest else None, bump)
            values = _row_values(spec, str(number), model_id, ready, actor, now)
            values.update(request_id=request_id or None, request_hash=request_hash)
            created = store.new_version(tx, model, values, now)
            change = Change(actor, now)
            self.lineage.link_new_version(tx, created.row_id, created, lineage, change)
            change.audit("version.create", created.name, None, snapshot(created))
            change.event(
                "version.created",
                model,
                created.name,
                version=created.version,
                state=created.state.value,
                stage=created.stage.value,
            )
            if ready:
                change.event("version.ready", model, created.name, version=created.version)
            flush_change(tx, change)
            return created

    def set_state(
        self,
        name: str,
        state: State,
        *,
        failure_reason: str,
        fmt: str,
        parameter_count: int,
        actor: str,
    ) -> ModelVersion:
        """Finish a registration: PENDING -> READY or FAILED (repeating it changes nothing)."""
        model, version = parse_version_name(name)
        if state not in (State.READY, State.FAILED):
            raise InvalidArgument.field(
                "state", "the target state must be VERSION_STATE_READY or VERSION_STATE_FAILED"
            )
        checks.text(failure_reason, "failure_reason", checks.MAX_DESCRIPTION_BYTES)
        checks.text(fmt, "format", 64)
        now = self.now()
        with self.db.write() as tx:
            before = self.locked_version(tx, model, version)
            if before.state is state:
                return before
            if before.state is not State.PENDING:
                raise FailedPrecondition(
                    f"version {name!r} is {before.state.value.upper()}; only a PENDING version "
                    f"can become {state.value.upper()}",
                    reason="NOT_PENDING",
                    metadata={"version": name, "state": before.state.value},
                )
            if state is State.READY:
                finished = replace(
                    before,
                    format=fmt or before.format,
                    parameter_count=parameter_count or before.parameter_count,
                )
            else:
                finished = replace(before, failure_reason=failure_reason)
            after = replace(
                finished,
                state=state,
                updated_by=actor,
                update_time=now,
                revision=before.revision + 1,
            )
            store.save_version(tx, after)
            change = Change(actor, now)
            change.audit(f"version.{state.value}", name, snapshot(before), snapshot(after))
            attrs = {"version": version}
            if state is State.FAILED:
                attrs["failure_reason"] = failure_reason
            change.event(f"version.{state.value}", model, name, **attrs)
            flush_change(tx, change)
            return after

    def update_version(
        self, name: str, spec: ModelVersion, paths: list[str], etag_value: str, actor: str
    ) -> ModelVersion:
        """Change the fields in ``paths``; ABORTED when ``etag_value`` is set and stale."""
        model, version = parse_version_name(name, "model_version.name")
        if not paths:
            raise InvalidArgument.field(
                "update_mask", f"name the fields to change; updatable: {', '.join(UPDATABLE)}"
            )
        for path in paths:
            if path not in UPDATABLE:
                raise InvalidArgument.field(
                    "update_mask",
                    f"field {path!r} cannot be updated; updatable: {', '.join(UPDATABLE)}",
                )
        spec = validate_fields(spec)
        now = self.now()
        with self.db.write() as tx:
            before = self.locked_version(tx, model, version)
            self.check_etag(etag_value, before.revision, name)
            after = replace(
                before,
                **{path: getattr(spec, path) for path in paths},
                updated_by=actor,
                update_time=now,
                revision=before.revision + 1,
            )
            store.save_version(
                tx, after, properties=bool({"metrics", "params", "tags"} & set(paths))
            )
            change = Change(actor, now)
            change.audit("version.update", name, snapshot(before), snapshot(after))
            change.event("version.updated", model, name, version=version, fields=",".join(paths))
            flush_change(tx, change)
            return after


def _request_hash(
    model: str,
    spec: ModelVersion,
    bump: semver.Bump | None,
    ready: bool,
    lineage: Sequence[tuple[EdgeType, NodeRef]],
) -> str:
    doc = {
        "model": model,
        "spec": snapshot(spec),
        "bump": bump.value if bump else "",
        "r": ready,
        "lineage": [[t.value, n.kind.value, n.key] for t, n in lineage],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _same_request(
    earlier: tuple[ModelVersion, str], request_id: str, request_hash: str
) -> ModelVersion:
    version, stored_hash = earlier
    if stored_hash != request_hash:
        raise InvalidArgument.field(
            "request_id",
            f"request id {request_id!r} was already used for a different request (it created "
            f"{version.name!r}); use a new request id for a new version",
        )
    return version


def _row_values(
    spec: ModelVersion, version: str, model_id: int, ready: bool, actor: str, now: Any
) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "version": version,
        "sort_key": semver.parse(version).sort_key(),
        "state": (State.READY if ready else State.PENDING).value,
        "stage": Stage.DEVELOPMENT.value,
        "artifact_hash": spec.artifact_hash,
        "artifact_size": spec.artifact_size,
        "artifact_is_tree": spec.artifact_is_tree,
        "format": spec.format,
        "framework": spec.framework,
        "framework_version": spec.framework_version,
        "parameter_count": spec.parameter_count,
        "metrics": spec.metrics,
        "params": spec.params,
        "hyperparameters": spec.hyperparameters,
        "input_schema": spec.input_schema,
        "output_schema": spec.output_schema,
        "training_dataset": spec.training_dataset,
        "experiment_id": spec.experiment_id,
        "run_id": spec.run_id,
        "git_commit": spec.git_commit,
        "description": spec.description,
        "tags": spec.tags,
        "created_by": actor,
        "create_time": now,
        "updated_by": actor,
        "update_time": now,
        "revision": 1,
        "failure_reason": "",
    }
