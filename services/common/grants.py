"""Short-lived signed grants to read one blob, like a presigned object-storage URL.

The gateway checks who may read a blob, then redirects the client to the artifact service's
HTTP endpoint with a grant in the query string: clients (skopeo, oras, Go's HTTP client) drop
the ``Authorization`` header when a redirect leads to another host or port, so the URL itself
must carry the permission. A grant is ``<payload>.<mac>``: the payload (base64url JSON) names
the blob's SHA-256, the principal and an expiry; the mac is HMAC-SHA256 over it with a secret
both services hold (``MREG_BLOB_GRANT_SECRET``, or the service token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from services.common.errors import PermissionDenied, Unauthenticated
from services.common.settings import Settings

#: How long a redirect stays valid: long enough to start a download, short if leaked.
GRANT_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class Grant:
    """What a verified grant allows: reading ``sha256`` until ``expires``, for ``principal``."""

    sha256: str
    principal: str
    expires: float


def grant_secret(settings: Settings) -> bytes:
    """The signing secret: the dedicated setting, else the service token (empty: no grants)."""
    secret = settings.blob_grant_secret.get_secret_value() or (
        settings.service_token.get_secret_value()
    )
    return secret.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def sign(
    secret: bytes, sha256: str, principal: str, ttl: float = GRANT_TTL_SECONDS, now: float = 0.0
) -> str:
    """A grant to read blob ``sha256`` for ``ttl`` seconds."""
    expires = int((now or time.time()) + ttl)
    record = {"d": sha256, "e": expires, "p": principal}
    payload = _b64(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify(secret: bytes, grant: str, sha256: str, now: float = 0.0) -> Grant:
    """The grant's terms if it is genuine, unexpired and for ``sha256``; raises otherwise."""
    payload, _, mac = grant.partition(".")
    if not payload or not mac or not hmac.compare_digest(_mac(secret, payload), mac):
        raise Unauthenticated(
            "the blob grant is malformed or not signed by this registry; ask the registry's "
            "/v2/ endpoint for the blob again",
            reason="GRANT_INVALID",
        )
    try:
        record = json.loads(_unb64(payload))
        terms = Grant(str(record["d"]), str(record["p"]), float(record["e"]))
    except (ValueError, KeyError, TypeError):
        raise Unauthenticated("the blob grant is malformed", reason="GRANT_INVALID") from None
    if terms.expires < (now or time.time()):
        raise Unauthenticated(
            "the blob grant has expired; ask the registry's /v2/ endpoint for the blob again",
            reason="GRANT_EXPIRED",
        )
    if terms.sha256 != sha256:
        raise PermissionDenied(
            f"the blob grant is for sha256:{terms.sha256}, not sha256:{sha256}",
            reason="GRANT_OTHER_BLOB",
        )
    return terms
