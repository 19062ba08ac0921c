"""Read use cases on models and versions: get, resolve a reference, list."""

from __future__ import annotations

from services.common.errors import InvalidArgument, NotFound
from services.common.validation import (
    model_name,
    parse_model_name,
    parse_version_name,
    validate_model_id,
)
from services.metadata import checks, semver
from services.metadata.domain import Model, ModelVersion, Page, Stage
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import versions as store
from services.metadata.store.outbox import latest_sequence
from services.metadata.usecases.base import UseCaseBase, model_not_found, version_not_found


def parse_reference(reference: str) -> tuple[str, str, str]:
    """``name``, ``name:version``, ``name@alias|stage`` -> (model, kind, value).

    ``kind`` is ``latest``, ``version``, ``stage`` or ``alias``. A ``models/`` prefix is
    accepted.
    """
    ref = reference.removeprefix("models/")
    if "@" in ref:
        model, tag = ref.split("@", 1)
        validate_model_id(model, "reference")
        if tag in {s.value for s in Stage}:
            return model, "stage", tag
        checks.alias(tag, "reference")
        return model, "alias", tag
    if ":" in ref:
        model, version = ref.split(":", 1)
        validate_model_id(model, "reference")
        semver.parse(version, "reference")
        return model, "version", version
    if not ref:
        raise InvalidArgument.field(
            "reference",
            "a reference is required: 'name', 'name:1.2.0', 'name@alias' or 'name@production'",
        )
    validate_model_id(ref, "reference")
    return ref, "latest", ""


class ReadUseCases(UseCaseBase):
    """Get, resolve and list versions and models."""

    def get_version(self, name: str) -> ModelVersion:
        """One version by resource name."""
        model, version = parse_version_name(name)
        semver.parse(version, "name")
        with self.db.connect() as conn:
            found = store.get_version(conn, model, version)
        if found is None:
            raise version_not_found(model, version)
        return found

    def resolve(self, reference: str) -> tuple[ModelVersion, int]:
        """``name`` / ``name:version`` / ``name@alias`` / ``name@stage`` -> the version, and
        the newest outbox sequence committed before it was read (read first, so every event
        up to it is reflected in the answer)."""
        model, kind, value = parse_reference(reference)
        with self.db.connect() as conn:
            observed = latest_sequence(conn)
            if kind == "version":
                found = store.get_version(conn, model, value)
            elif kind == "alias":
                found = store.by_alias(conn, model, value)
            elif kind == "stage":
                found = store.in_stage(conn, model, Stage(value))
            else:
                found = store.latest_ready(conn, model)
            if found is None and not store.model_exists(conn, model):
                raise model_not_found(model)
        if found is not None:
            return found, observed
        if kind == "version":
            raise version_not_found(model, value)
        if kind == "alias":
            raise NotFound(
                f"model {model_name(model)!r} has no alias {value!r}",
                metadata={"model": model, "alias": value},
            )
        if kind == "stage":
            raise NotFound(
                f"model {model_name(model)!r} has no READY version in stage {value!r}",
                metadata={"model": model, "stage": value},
            )
        raise NotFound(
            f"model {model_name(model)!r} has no READY version", metadata={"model": model}
        )

    def list_versions(
        self, parent: str, page_size: int, page_token: str, show_archived: bool = False
    ) -> Page:
        """A model's versions newest first, a page at a time."""
        model = parse_model_name(parent, "parent")
        size = effective_size(page_size)
        query = {"op": "ListModelVersions", "parent": parent, "archived": show_archived}
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as tx:
            items = store.list_versions(
                tx,
                self.model_id(tx, model),
                after_id=after,
                limit=size + 1,
                show_archived=show_archived,
            )
        token = ""
        if len(items) > size:
            items = items[:size]
            token = self.tokens.encode(query, [items[-1].row_id])
        return Page(items, token)

    def get_model(self, name: str) -> Model:
        """One registered model."""
        model = parse_model_name(name)
        with self.db.read() as tx:
            found = store.get_model(tx, model)
        if found is None:
            raise model_not_found(model)
        return found
