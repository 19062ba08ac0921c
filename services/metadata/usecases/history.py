"""The audit log and the event outbox, read side."""

from __future__ import annotations

from services.common.errors import InvalidArgument
from services.metadata import checks
from services.metadata.domain import Event, Page
from services.metadata.pagetoken import MAX_PAGE_SIZE
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import outbox as store
from services.metadata.usecases.base import UseCaseBase

DEFAULT_EVENTS = 100


class HistoryUseCases(UseCaseBase):
    """Read the audit log and the outbox."""

    def audit_log(self, resource: str, page_size: int, page_token: str) -> Page:
        """Changes of ``resource`` and everything under it, newest first."""
        checks.text(resource, "resource", 512)
        size = effective_size(page_size)
        query = {"op": "ListAuditLog", "resource": resource}
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as tx:
            found = store.list_audit(tx, resource, after, size + 1, prefix=True)
        token = self.tokens.encode(query, [found[size - 1].id]) if len(found) > size else ""
        return Page(found[:size], token)

    def events(
        self, after: int, limit: int, types: list[str], model: str
    ) -> tuple[list[Event], int, int]:
        """Events after the cursor in sequence order, the cursor to resume from, and the
        newest sequence in the outbox."""
        if after < 0:
            raise InvalidArgument.field("after_sequence", f"must not be negative, got {after}")
        if limit < 0 or limit > MAX_PAGE_SIZE:
            raise InvalidArgument.field(
                "limit",
                f"limit must be between 1 and {MAX_PAGE_SIZE} (0 for "
                f"{DEFAULT_EVENTS}), got {limit}",
            )
        with self.db.read() as tx:
            found = store.list_events(tx, after, limit or DEFAULT_EVENTS, types, model)
            latest = store.latest_sequence(tx)
        return found, (found[-1].sequence if found else after), latest
