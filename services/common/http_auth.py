"""Who is calling over HTTP: bearer tokens, or basic auth with the token as the password.

What docker, skopeo, oras and curl send. The same tokens file and roles as gRPC
(:mod:`services.common.auth`); without a tokens file every caller is the anonymous admin,
as on the gRPC ports (which then listen on loopback only).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from services.common.auth import ANONYMOUS, Identity, TokenStore
from services.common.errors import Unauthenticated

#: The challenge of a 401: clients answer it with basic auth (user name free, token as
#: password), which every OCI client supports without a separate token service.
CHALLENGE = 'Basic realm="model registry", charset="UTF-8"'


def _missing() -> Unauthenticated:
    return Unauthenticated(
        "this registry requires a token: log in with the token as the password "
        "(skopeo --creds user:TOKEN, oras login) or send 'Authorization: Bearer TOKEN'",
        reason="TOKEN_MISSING",
    )


class HttpAuth:
    """Maps an ``Authorization`` header to an :class:`Identity`."""

    def __init__(self, store: TokenStore | None) -> None:
        self.store = store

    @property
    def enabled(self) -> bool:
        """Whether callers must present a token."""
        return self.store is not None

    def identify(self, headers: Mapping[str, str]) -> Identity:
        """The caller's identity; :class:`Unauthenticated` saying why there is none."""
        if self.store is None:
            return ANONYMOUS
        value = headers.get("authorization")
        if not value:
            raise _missing()
        scheme, _, credentials = value.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return self.store.verify(credentials)
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            _, colon, password = decoded.partition(":")
            if colon and password:
                return self.store.verify(password)
            if colon:  # what clients send when they have no credentials for this host
                raise _missing()
            raise Unauthenticated(
                "basic credentials must be base64 of 'user:TOKEN'", reason="TOKEN_MALFORMED"
            )
        raise Unauthenticated(
            "authorization header must be 'Bearer TOKEN' or 'Basic base64(user:TOKEN)'",
            reason="TOKEN_MALFORMED",
        )
