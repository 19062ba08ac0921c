"""Stage transitions (the table of docs/ARCHITECTURE.md section 4.1) and aliases."""

from __future__ import annotations

from dataclasses import replace

from services.common.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from services.common.validation import (
    model_name,
    parse_model_name,
    parse_version_name,
    version_name,
)
from services.metadata import checks
from services.metadata.domain import (
    TRANSITIONS,
    Alias,
    ModelVersion,
    Page,
    Stage,
    StageTransition,
    State,
)
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import stages as store
from services.metadata.store import versions as versions_store
from services.metadata.store.db import Tx
from services.metadata.store.mapping import snapshot
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase


def _expected_production(value: str, model: str) -> str:
    """The normalized ``expected_production_version``: empty, ``none`` or a version name."""
    if value in ("", "none"):
        return value
    other, version = parse_version_name(value, "expected_production_version")
    if other != model:
        raise InvalidArgument.field(
            "expected_production_version",
            f"{value!r} is a version of another model than {model_name(model)!r}",
        )
    return version_name(model, version)


def _allowed(stage: Stage) -> str:
    return ", ".join(s.value for s in TRANSITIONS[stage])


class StageUseCases(UseCaseBase):
    """Move versions between stages; set, move and delete aliases."""

    def transition(
        self,
        name: str,
        target: Stage,
        *,
        reason: str,
        etag_value: str,
        previous_production_stage: Stage | None,
        actor: str,
        expected_production: str = "",
    ) -> tuple[ModelVersion, StageTransition, ModelVersion | None]:
        """Move a READY version to ``target``; production is handed over atomically.

        ``expected_production`` (a version name of the model, or ``none``), when set, must
        be what is in production when the transition commits, else ABORTED.
        """
        model, version = parse_version_name(name)
        expected = _expected_production(expected_production, model)
        checks.text(reason, "reason", checks.MAX_DESCRIPTION_BYTES)
        demote_to = previous_production_stage or Stage.ARCHIVED
        if demote_to not in TRANSITIONS[Stage.PRODUCTION]:
            raise InvalidArgument.field(
                "previous_production_stage",
                f"a version leaving production can move to {_allowed(Stage.PRODUCTION)}, "
                f"not {demote_to.value}",
            )
        now = self.now()
        with self.db.write() as tx:
            owner = self.locked_model(tx, model)
            subject = self.locked_version(tx, model, version)
            self.check_etag(etag_value, subject.revision, name)
            production = None
            if expected or target is Stage.PRODUCTION:
                production = store.production_version(tx, owner.row_id, model)
            if expected:
                actual = version_name(model, production.version) if production else "none"
                if actual != expected:
                    raise Aborted(
                        f"production of {model_name(model)!r} changed: expected {expected!r} "
                        f"but {actual!r} is in production; check the gates again and retry",
                        reason="PRODUCTION_CHANGED",
                        metadata={"expected": expected, "actual": actual},
                    )
            current = subject.stage
            if target not in TRANSITIONS[current]:
                raise FailedPrecondition(
                    f"cannot move {name!r} from {current.value} to {target.value}: allowed "
                    f"targets from {current.value} are {_allowed(current)}",
                    reason="TRANSITION_NOT_ALLOWED",
                    precondition_violations=[
                        PreconditionViolation(
                            "TRANSITION_NOT_ALLOWED",
                            name,
                            f"{current.value} -> {target.value}; allowed: {_allowed(current)}",
                        )
                    ],
                )
            if subject.state is not State.READY:
                state = subject.state.value
                raise FailedPrecondition(
                    f"cannot move {name!r} to {target.value}: it is {state.upper()}, and "
                    "only READY versions change stage",
                    reason="NOT_READY",
                    precondition_violations=[
                        PreconditionViolation("NOT_READY", name, f"state is {state}")
                    ],
                )
            change = Change(actor, now)
            previous = None
            if (
                target is Stage.PRODUCTION
                and production is not None
                and production.row_id != subject.row_id
            ):
                previous = self._move(
                    tx, production, demote_to, f"replaced by {version}: {reason}", change
                )
            moved = self._move(tx, subject, target, reason, change)
            transition = StageTransition(model, version, current, target, actor, reason, now)
            flush_change(tx, change)
            return moved, transition, previous

    @staticmethod
    def _move(
        tx: Tx, before: ModelVersion, target: Stage, reason: str, change: Change
    ) -> ModelVersion:
        """Change one version's stage and record the transition, audit and event."""
        after = replace(
            before,
            stage=target,
            updated_by=change.actor,
            update_time=change.now,
            revision=before.revision + 1,
        )
        versions_store.save_version(tx, after)
        store.add_transition(
            tx, after.row_id, before.stage, target, change.actor, reason, change.now
        )
        change.audit("version.stage", after.name, snapshot(before), snapshot(after))
        change.event(
            "stage.changed",
            after.model,
            after.name,
            version=after.version,
            from_stage=before.stage.value,
            to_stage=target.value,
            reason=reason,
        )
        return after

    def list_transitions(self, name: str, page_size: int, page_token: str) -> Page:
        """A version's stage changes, newest first."""
        model, version = parse_version_name(name)
        size = effective_size(page_size)
        query = {"op": "ListStageTransitions", "name": name}
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as tx:
            version_id = self.version_id(tx, model, version)
            found = store.list_transitions(tx, model, version, version_id, after, size + 1)
        token = self.tokens.encode(query, [found[size - 1][0]]) if len(found) > size else ""
        return Page([t for _, t in found[:size]], token)

    def set_alias(self, version_name_: str, alias: str, actor: str) -> tuple[Alias, str]:
        """Point ``alias`` at a version; returns it and the version it pointed at before."""
        model, version = parse_version_name(version_name_, "model_version")
        checks.alias(alias)
        now = self.now()
        with self.db.write() as tx:
            owner = self.locked_model(tx, model)
            subject = self.locked_version(tx, model, version)
            previous = store.set_alias(tx, owner.row_id, alias, subject.row_id, actor, now)
            result = Alias(model, alias, version, actor, now)
            resource = f"{model_name(model)}/aliases/{alias}"
            change = Change(actor, now)
            change.audit(
                "alias.set",
                resource,
                {"alias": alias, "version": previous} if previous else None,
                snapshot(result),
            )
            change.event(
                "alias.set",
                model,
                resource,
                alias=alias,
                version=version,
                previous_version=previous,
            )
            flush_change(tx, change)
        return result, previous

    def delete_alias(self, parent: str, alias: str, actor: str) -> str:
        """Remove an alias; returns the version it pointed at."""
        model = parse_model_name(parent, "parent")
        checks.alias(alias)
        now = self.now()
        with self.db.write() as tx:
            owner = self.locked_model(tx, model)
            previous = store.delete_alias(tx, owner.row_id, alias)
            if previous is None:
                raise NotFound(
                    f"model {model_name(model)!r} has no alias {alias!r}",
                    metadata={"model": model, "alias": alias},
                )
            resource = f"{model_name(model)}/aliases/{alias}"
            change = Change(actor, now)
            change.audit("alias.delete", resource, {"alias": alias, "version": previous}, None)
            change.event("alias.deleted", model, resource, alias=alias, previous_version=previous)
            flush_change(tx, change)
        return previous

    def list_aliases(self, parent: str) -> list[Alias]:
        """A model's aliases by name."""
        model = parse_model_name(parent, "parent")
        with self.db.read() as tx:
            self.model_id(tx, model)
            return store.list_aliases(tx, model)
