"""Who is using the web UI, and the guard on its forms.

Sign-in: the user pastes a registry token (``mreg token create``) on ``/signin``; it is
checked against the tokens file and kept in the ``mreg_session`` cookie, HttpOnly (page
scripts cannot read it), SameSite=Strict (other sites' pages and links do not send it),
Secure when the port serves HTTPS. Every request verifies it again, so a revoked or
expired token signs the user out at once. Scripts may send ``Authorization`` instead.
Without a tokens file every visitor is the anonymous admin, as on the gRPC port.

CSRF: every POST form carries the value of the ``mreg_csrf`` cookie (random, HttpOnly,
SameSite=Strict) in a hidden field, and a POST whose field does not match it, or whose
``Origin`` names another site, is refused. Another site can neither read the cookie nor
make the browser send it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from services.common.auth import ANONYMOUS, Identity, TokenStore
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.http_auth import HttpAuth

SESSION_COOKIE = "mreg_session"
CSRF_COOKIE = "mreg_csrf"
CSRF_FIELD = "csrf"
#: How long the browser keeps the session cookie; the token's own expiry still applies.
SESSION_SECONDS = 12 * 3600


class Sessions:
    """Identities from cookies (or an ``Authorization`` header) and the CSRF guard."""

    def __init__(self, store: TokenStore | None) -> None:
        self.store = store
        self.http_auth = HttpAuth(store)

    @property
    def enabled(self) -> bool:
        """Whether users must sign in."""
        return self.store is not None

    def identity(self, request: Request) -> Identity | None:
        """The user's identity; None when not signed in; :class:`Unauthenticated` when the
        cookie's token is no longer valid (revoked, expired, unknown)."""
        if self.store is None:
            return ANONYMOUS
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            return self.store.verify(token)
        if request.headers.get("authorization"):
            return self.http_auth.identify(request.headers)
        return None

    def verify(self, token: str) -> Identity:
        """The identity of a token typed on the sign-in page."""
        if self.store is None:
            return ANONYMOUS
        if not token:
            raise Unauthenticated("paste a token to sign in", reason="TOKEN_MISSING")
        return self.store.verify(token)

    def sign_in(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")


def csrf_value(request: Request) -> tuple[str, bool]:
    """The request's CSRF value, and whether it is new (then the response sets it)."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if len(value) >= 32:
        return value, False
    return secrets.token_urlsafe(32), True


def set_csrf_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_csrf(request: Request, form: Mapping[str, object]) -> None:
    """PERMISSION_DENIED unless the form's CSRF field matches the cookie and the request
    comes from this site."""
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise PermissionDenied(
            f"this form was sent from another site ({origin}); open the page on this "
            "registry and send it from there",
            reason="CSRF_ORIGIN",
        )
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(cookie, sent):
        raise PermissionDenied(
            "this form has expired or was not sent from this registry's page; reload the "
            "page and send it again",
            reason="CSRF_MISMATCH",
        )
