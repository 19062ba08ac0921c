"""Models: update with ``update_mask`` and etag, list, archive, delete; version deletion."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.common.errors import FailedPrecondition, InvalidArgument, PreconditionViolation
from services.common.validation import model_name, parse_model_name, parse_version_name
from services.metadata import checks
from services.metadata.domain import Model, Page, Stage
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import stages as stages_store
from services.metadata.store import versions as store
from services.metadata.store.mapping import snapshot
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase

#: Fields of a model that UpdateModel may change.
MODEL_UPDATABLE = ("description", "owner", "team", "tags", "archived")


def _blocked(subject: str, reasons: list[tuple[str, str]]) -> FailedPrecondition:
    text = "; ".join(description for _, description in reasons)
    return FailedPrecondition(
        f"cannot delete {subject!r}: {text}",
        reason="IN_USE",
        precondition_violations=[PreconditionViolation(kind, subject, d) for kind, d in reasons],
    )


class ModelUseCases(UseCaseBase):
    """Models and deletion."""

    def update_model(self, model: Model, paths: list[str], etag_value: str, actor: str) -> Model:
        """Change the fields in ``paths``; ABORTED when ``etag_value`` is set and stale."""
        name = parse_model_name(model.name, "model.name")
        if not paths:
            raise InvalidArgument.field(
                "update_mask", f"name the fields to change; updatable: {', '.join(MODEL_UPDATABLE)}"
            )
        for path in paths:
            if path not in MODEL_UPDATABLE:
                raise InvalidArgument.field(
                    "update_mask",
                    f"field {path!r} cannot be updated; updatable: {', '.join(MODEL_UPDATABLE)}",
                )
        checks.text(model.description, "model.description", checks.MAX_DESCRIPTION_BYTES)
        checks.text(model.owner, "model.owner", 256)
        checks.text(model.team, "model.team", 256)
        tags = checks.string_map(model.tags, "model.tags")
        now = self.now()
        with self.db.write() as tx:
            before = self.locked_model(tx, name)
            self.check_etag(etag_value, before.revision, model_name(name))
            changes: dict[str, Any] = {
                path: tags if path == "tags" else getattr(model, path) for path in paths
            }
            after = replace(
                before, **changes, updated_by=actor, update_time=now, revision=before.revision + 1
            )
            store.save_model(tx, after)
            change = Change(actor, now)
            change.audit("model.update", model_name(name), snapshot(before), snapshot(after))
            change.event("model.updated", name, model_name(name), fields=",".join(paths))
            flush_change(tx, change)
            return after

    def list_models(self, page_size: int, page_token: str, show_archived: bool) -> Page:
        """Models by name, a page at a time."""
        size = effective_size(page_size)
        query = {"op": "ListModels", "archived": show_archived}
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as tx:
            found = store.list_models(tx, after, show_archived, size + 1)
        token = self.tokens.encode(query, [found[size - 1].name]) if len(found) > size else ""
        return Page(found[:size], token)

    def delete_model(self, name: str, etag_value: str, actor: str) -> None:
        """Delete a model and its versions; refused while aliased or in production."""
        model = parse_model_name(name)
        now = self.now()
        with self.db.write() as tx:
            before = self.locked_model(tx, model)
            self.check_etag(etag_value, before.revision, name)
            reasons = [
                ("ALIAS", f"alias {alias!r} points at version {version}")
                for alias, version in stages_store.aliases_on_model(tx, before.row_id)
            ]
            production = stages_store.production_version(tx, before.row_id, model)
            if production is not None:
                reasons.append(("PRODUCTION", f"version {production.version} is in production"))
            if reasons:
                raise _blocked(name, reasons)
            count = store.count_versions(tx, before.row_id)
            store.delete_model(tx, before.row_id)
            change = Change(actor, now)
            change.audit("model.delete", name, snapshot(before), None)
            change.event("model.deleted", model, name, versions=str(count))
            flush_change(tx, change)

    def delete_version(self, name: str, etag_value: str, actor: str) -> None:
        """Delete a version; refused while an alias or the production stage points at it."""
        model, version = parse_version_name(name)
        now = self.now()
        with self.db.write() as tx:
            self.locked_model(tx, model)
            before = self.locked_version(tx, model, version)
            self.check_etag(etag_value, before.revision, name)
            reasons = [("ALIAS", f"alias {a!r} points at it") for a in before.aliases]
            if before.stage is Stage.PRODUCTION:
                reasons.append(("PRODUCTION", "it is in production"))
            if reasons:
                raise _blocked(name, reasons)
            store.delete_version(tx, before.row_id)
            change = Change(actor, now)
            change.audit("version.delete", name, snapshot(before), None)
            change.event("version.deleted", model, name, version=version)
            flush_change(tx, change)
