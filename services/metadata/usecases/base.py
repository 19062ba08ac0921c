"""What every use case shares: the database, page tokens, the clock, common lookups."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.errors import Aborted, NotFound
from services.common.validation import model_name, version_name
from services.metadata.domain import Model, ModelVersion
from services.metadata.pagetoken import PageTokens
from services.metadata.store import versions as store
from services.metadata.store.db import Database, Tx


def etag(revision: int) -> str:
    """The etag of a resource at ``revision``."""
    return f"r{revision}"


class UseCaseBase:
    """State shared by the use-case objects: the database and the page-token key."""

    def __init__(self, db: Database, tokens: PageTokens) -> None:
        self.db = db
        self.tokens = tokens

    @staticmethod
    def now() -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)

    @staticmethod
    def check_etag(given: str, revision: int, resource: str) -> None:
        """ABORTED when ``given`` is set and is not the current etag."""
        if given and given != etag(revision):
            raise Aborted(
                f"etag {given!r} of {resource} is stale (current is {etag(revision)!r}): "
                "read it again and retry the change",
                reason="ETAG_MISMATCH",
                metadata={"resource": resource, "etag": etag(revision)},
            )

    @staticmethod
    def locked_model(tx: Tx, model: str) -> Model:
        """The model, its row locked until commit; NOT_FOUND if absent."""
        found = store.lock_model(tx, model)
        if found is None:
            raise model_not_found(model)
        return found

    @staticmethod
    def locked_version(tx: Tx, model: str, version: str) -> ModelVersion:
        """The version, its row locked until commit; NOT_FOUND if absent."""
        found = store.lock_version(tx, model, version)
        if found is None:
            raise version_not_found(model, version)
        return found

    @staticmethod
    def version_id(tx: Tx, model: str, version: str) -> int:
        """The store's id of a version (not locked); NOT_FOUND if absent."""
        found = store.find_version_id(tx, model, version)
        if found is None:
            raise version_not_found(model, version)
        return found

    @staticmethod
    def model_id(tx: Tx, model: str) -> int:
        """The store's id of a model (not locked); NOT_FOUND if absent."""
        found = store.find_model_id(tx, model)
        if found is None:
            raise model_not_found(model)
        return found


def model_not_found(model: str) -> NotFound:
    """NOT_FOUND for a model."""
    return NotFound(f"model {model_name(model)!r} does not exist", metadata={"model": model})


def version_not_found(model: str, version: str) -> NotFound:
    """NOT_FOUND for a version."""
    name = version_name(model, version)
    return NotFound(f"version {name!r} does not exist", metadata={"version": name})
