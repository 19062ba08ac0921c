"""Opaque keyset page tokens (AIP-158), tied to their query and tamper-evident.

A token carries the sort key of the last row returned and a hash of the query that
produced it (everything but the page size and token), signed with HMAC-SHA256 under a
key kept in the database (``service_secrets``, written by the first migration), so every
instance of the service accepts every other's tokens. A token from another query, or one
with a changed byte, is refused with INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from services.common.errors import InvalidArgument

#: Page size when the request gives none, and the largest accepted (AIP-158).
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int, field: str = "page_size") -> int:
    """The effective page size; INVALID_ARGUMENT outside 0..1000 (0 means the default)."""
    if requested < 0 or requested > MAX_PAGE_SIZE:
        raise InvalidArgument.field(
            field,
            f"page size must be between 1 and {MAX_PAGE_SIZE} (0 for the default of "
            f"{DEFAULT_PAGE_SIZE}), got {requested}",
        )
    return requested or DEFAULT_PAGE_SIZE


class PageTokens:
    """Makes and checks page tokens with one signing key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @staticmethod
    def query_hash(query: dict[str, Any]) -> str:
        """A short hash of the query a token belongs to."""
        canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def encode(self, query: dict[str, Any], position: list[Any]) -> str:
        """The token for the page after ``position`` of ``query``."""
        body = json.dumps({"q": self.query_hash(query), "k": position}, separators=(",", ":"))
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + body.encode()).decode().rstrip("=")

    def decode(self, token: str, query: dict[str, Any], field: str = "page_token") -> list[Any]:
        """The position a token carries; INVALID_ARGUMENT if tampered or from another query."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        mac, body = raw[:16], raw[16:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(mac, expected):
            raise InvalidArgument.field(
                field, "invalid page token: it was not issued by this service or was altered"
            )
        doc = json.loads(body)
        if doc.get("q") != self.query_hash(query):
            raise InvalidArgument.field(
                field,
                "page token belongs to a different query: repeat the request with the same "
                "parent, filter and order_by as the one that returned it, or drop the token",
            )
        return list(doc["k"])
