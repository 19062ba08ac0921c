"""Models: update with ``update_mask`` and etag, list, archive, delete; version deletion."""

from __future__ import annotations

from services.common.errors import FailedPrecondition, InvalidArgument, PreconditionViolation
from services.common.validation import model_name, parse_model_name, parse_version_name
from services.metadata import checks
from services.metadata.domain import Model, Page, Stage
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import stages as stages_store
from services.metadata.store import versions as store
from services.metadata.store.mapping import model_from_row, snapshot
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
        with self.db.write() as session:
            row = self.locked_model(session, name)
            self.check_etag(etag_value, row.revision, model_name(name))
            before = model_from_row(row)
            for path in paths:
                setattr(row, path, tags if path == "tags" else getattr(model, path))
            row.updated_by, row.update_time, row.revision = actor, now, row.revision + 1
            after = model_from_row(row)
            change = Change(actor, now)
            change.audit("model.update", model_name(name), snapshot(before), snapshot(after))
            change.event("model.updated", name, model_name(name), fields=",".join(paths))
            flush_change(session, change)
            return after

    def list_models(self, page_size: int, page_token: str, show_archived: bool) -> Page:
        """Models by name, a page at a time."""
        size = effective_size(page_size)
        query = {"op": "ListModels", "archived": show_archived}
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as session:
            found = store.list_models(session, after, show_archived, size + 1)
        token = self.tokens.encode(query, [found[size - 1].name]) if len(found) > size else ""
        return Page(found[:size], token)

    def delete_model(self, name: str, etag_value: str, actor: str) -> None:
        """Delete a model and its versions; refused while aliased or in production."""
        model = parse_model_name(name)
        now = self.now()
        with self.db.write() as session:
            row = self.locked_model(session, model)
            self.check_etag(etag_value, row.revision, name)
            reasons = [
                ("ALIAS", f"alias {alias!r} points at version {version}")
                for alias, version in stages_store.aliases_on_model(session, row.id)
            ]
            production = stages_store.production_row(session, row.id)
            if production is not None:
                reasons.append(("PRODUCTION", f"version {production.version} is in production"))
            if reasons:
                raise _blocked(name, reasons)
            before = model_from_row(row)
            count = store.count_versions(session, row.id)
            store.delete_model(session, row.id)
            change = Change(actor, now)
            change.audit("model.delete", name, snapshot(before), None)
            change.event("model.deleted", model, name, versions=str(count))
            flush_change(session, change)

    def delete_version(self, name: str, etag_value: str, actor: str) -> None:
        """Delete a version; refused while an alias or the production stage points at it."""
        model, version = parse_version_name(name)
        now = self.now()
        with self.db.write() as session:
            self.locked_model(session, model)
            row = self.locked_version(session, model, version)
            self.check_etag(etag_value, row.revision, name)
            aliases = store.aliases_of(session, row.id)
            reasons = [("ALIAS", f"alias {a!r} points at it") for a in aliases]
            if row.stage == Stage.PRODUCTION.value:
                reasons.append(("PRODUCTION", "it is in production"))
            if reasons:
                raise _blocked(name, reasons)
            before = store.to_domain(session, row, model)
            store.delete_version(session, row.id)
            change = Change(actor, now)
            change.audit("version.delete", name, snapshot(before), None)
            change.event("version.deleted", model, name, version=version)
            flush_change(session, change)
