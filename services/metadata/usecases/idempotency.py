"""Request ids of creates: a repeat with the same content returns the first result; the
same id with other content is the caller's mistake (INVALID_ARGUMENT)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.common.errors import InvalidArgument
from services.common.validation import validate_request_id


def check_request_id(request_id: str) -> str:
    """The request id, validated when set (empty means no idempotency)."""
    return validate_request_id(request_id) if request_id else ""


def content_hash(document: dict[str, Any]) -> str:
    """A stable SHA-256 of a request's content (JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def check_same_request(
    request_id: str, stored_hash: str | None, request_hash: str, created: str, what: str
) -> None:
    """Refuse a request id reused for a request with different content."""
    if stored_hash != request_hash:
        raise InvalidArgument.field(
            "request_id",
            f"request id {request_id!r} was already used for a different request (it created "
            f"{created!r}); use a new request id for a new {what}",
        )
