"""Bearer-token authentication and role-based access, checked by a server interceptor.

Tokens look like ``mreg_<id>_<secret>``. The tokens file (JSON, ``MREG_AUTH_TOKENS_FILE``)
keeps, per token id, the principal, its roles, an optional model-name prefix, an expiry
and a revocation flag, and only the SHA-256 of the token: a leaked file grants nothing.
``mreg token create`` and ``mreg token revoke`` edit it.

Roles: ``reader`` reads; ``writer`` pushes and registers (and reads); ``approver``
approves and rejects promotions (and reads); ``admin`` may do everything, including GC,
purges and policy overrides. ``service`` is what one service presents to another.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import grpc

from services.common.errors import PermissionDenied, Unauthenticated
from services.common.interceptors import wrap_around
from services.common.observability import PRINCIPAL_HEADER, principal_var, reset
from services.common.settings import Settings


class Role(StrEnum):
    """What a principal may do."""

    READER = "reader"
    WRITER = "writer"
    APPROVER = "approver"
    ADMIN = "admin"
    SERVICE = "service"


#: Roles that include others: a writer can read, an admin can do anything.
_IMPLIES: dict[Role, frozenset[Role]] = {
    Role.READER: frozenset({Role.READER}),
    Role.WRITER: frozenset({Role.WRITER, Role.READER}),
    Role.APPROVER: frozenset({Role.APPROVER, Role.READER}),
    Role.ADMIN: frozenset(Role),
    Role.SERVICE: frozenset(Role),
}


@dataclass(frozen=True)
class Identity:
    """Who is calling, what they may do, and on which models."""

    principal: str
    roles: frozenset[Role]
    model_prefix: str = ""

    def has(self, role: Role) -> bool:
        """Whether any of the identity's roles includes ``role``."""
        return any(role in _IMPLIES[r] for r in self.roles)

    def may_touch(self, model: str) -> bool:
        """Whether the identity's model-name prefix (if any) admits ``model``."""
        return not self.model_prefix or model.startswith(self.model_prefix)


ANONYMOUS = Identity("anonymous", frozenset({Role.ADMIN}))
#: Sent by a service beside ``x-mreg-principal`` when it acts for a prefix-limited token,
#: so the artifact service applies that token's view of blobs (see artifacts.proto).
MODEL_PREFIX_HEADER = "x-mreg-model-prefix"
identity_var: contextvars.ContextVar[Identity] = contextvars.ContextVar(
    "identity", default=ANONYMOUS
)


def current_identity() -> Identity:
    """The identity of the RPC being handled (anonymous admin when auth is off)."""
    return identity_var.get()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class TokenRecord:
    """One token as stored: never the token itself, only its hash."""

    id: str
    principal: str
    roles: list[str]
    sha256: str
    model_prefix: str = ""
    created_at: float = field(default_factory=time.time)
    expires_at: float | None = None
    revoked: bool = False


class TokenStore:
    """The tokens file: created, revoked and verified here; re-read when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}
        self._mtime: float | None = None

    def _load(self) -> dict[str, TokenRecord]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if mtime != self._mtime:
            document = json.loads(self.path.read_text())
            self._records = {r["id"]: TokenRecord(**r) for r in document.get("tokens", [])}
            self._mtime = mtime
        return self._records

    def _save(self, records: dict[str, TokenRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"tokens": [asdict(r) for r in records.values()]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens.")
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def create(
        self,
        principal: str,
        roles: list[Role],
        *,
        model_prefix: str = "",
        ttl_seconds: float | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token (returned once, never stored) and its record."""
        if not principal:
            raise ValueError("a principal is required")
        if not roles:
            raise ValueError("at least one role is required")
        token_id = secrets.token_hex(6)
        token = f"mreg_{token_id}_{secrets.token_urlsafe(32)}"
        record = TokenRecord(
            id=token_id,
            principal=principal,
            roles=[Role(r).value for r in roles],
            sha256=_hash(token),
            model_prefix=model_prefix,
            expires_at=time.time() + ttl_seconds if ttl_seconds else None,
        )
        with self._lock:
            records = dict(self._load())
            records[token_id] = record
            self._save(records)
        return token, record

    def revoke(self, token_id: str) -> TokenRecord:
        """Mark a token revoked; KeyError if there is no such token."""
        with self._lock:
            records = dict(self._load())
            record = records[token_id]
            record.revoked = True
            self._save(records)
        return record

    def list(self) -> list[TokenRecord]:
        """Every token record."""
        with self._lock:
            return list(self._load().values())

    def verify(self, token: str) -> Identity:
        """The identity a token stands for; :class:`Unauthenticated` saying why not."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "mreg" or not parts[1] or not parts[2]:
            raise Unauthenticated(
                "malformed bearer token: expected 'mreg_<id>_<secret>'", reason="TOKEN_MALFORMED"
            )
        with self._lock:
            record = self._load().get(parts[1])
        if record is None or not hmac.compare_digest(record.sha256, _hash(token)):
            raise Unauthenticated("unknown bearer token", reason="TOKEN_UNKNOWN")
        if record.revoked:
            raise Unauthenticated(f"token {record.id} was revoked", reason="TOKEN_REVOKED")
        if record.expires_at is not None and record.expires_at < time.time():
            raise Unauthenticated(f"token {record.id} has expired", reason="TOKEN_EXPIRED")
        return Identity(
            record.principal, frozenset(Role(r) for r in record.roles), record.model_prefix
        )


def bearer_token(metadata: Mapping[str, str]) -> str | None:
    """The token of an ``authorization: Bearer <token>`` header, if any."""
    value = metadata.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "authorization header must be 'Bearer <token>'", reason="TOKEN_MALFORMED"
        )
    return token.strip()


#: Finds the model a request is about, for model-prefix checks; None when not model-scoped.
ModelOf = Callable[[Any], str | None]


class AuthInterceptor(grpc.ServerInterceptor):
    """Checks the bearer token and the role each method needs, then records the identity.

    ``roles`` maps full method names (``/pkg.Service/Method``) to the role they need;
    methods not listed (health, reflection) are open. ``service_token_sha256``, when set,
    admits other services of the registry, which act for the principal they name in the
    ``x-mreg-principal`` header (and within the model prefix of ``x-mreg-model-prefix``).
    """

    def __init__(
        self,
        store: TokenStore | None,
        roles: Mapping[str, Role],
        *,
        service_token_sha256: str = "",
        model_of: ModelOf | None = None,
        services_only: bool = False,
    ) -> None:
        self.store = store
        self.roles = dict(roles)
        self.service_token_sha256 = service_token_sha256
        self.model_of = model_of
        self.services_only = services_only

    def identify(self, metadata: Mapping[str, str]) -> Identity:
        """The caller's identity from its headers; :class:`Unauthenticated` if none."""
        token = bearer_token(metadata)
        if token is None:
            raise Unauthenticated(
                "this registry requires a bearer token: send 'authorization: Bearer <token>' "
                "(mreg token create makes one)",
                reason="TOKEN_MISSING",
            )
        if self.service_token_sha256 and hmac.compare_digest(
            self.service_token_sha256, _hash(token)
        ):
            return Identity(
                metadata.get(PRINCIPAL_HEADER) or "anonymous",
                frozenset({Role.SERVICE}),
                metadata.get(MODEL_PREFIX_HEADER, ""),
            )
        if self.services_only or self.store is None:
            raise Unauthenticated(
                "only the registry's own services may call this service", reason="NOT_A_SERVICE"
            )
        return self.store.verify(token)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        needed = self.roles.get(details.method)
        if handler is None or needed is None:
            return handler
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        method = details.method.rsplit("/", 1)[-1]

        def admit(request: Any) -> tuple[contextvars.Token, contextvars.Token]:
            identity = self.identify(metadata)
            model = self.model_of(request) if self.model_of and request is not None else None
            authorize(identity, needed, method, model)
            return identity_var.set(identity), principal_var.set(identity.principal)

        def release(tokens: tuple[contextvars.Token, contextvars.Token], *_: object) -> None:
            reset(identity_var, tokens[0])
            reset(principal_var, tokens[1])

        return wrap_around(handler, admit, release)


def authorize(identity: Identity, needed: Role, method: str, model: str | None) -> None:
    """PERMISSION_DENIED unless ``identity`` has the role ``method`` needs and its model
    prefix admits ``model`` (None: the call is about no one model)."""
    if not identity.has(needed):
        raise PermissionDenied(
            f"{identity.principal} may not call {method}: it needs the {needed.value} role",
            reason="ROLE_REQUIRED",
            metadata={"role": needed.value},
        )
    if model is not None and not identity.may_touch(model):
        raise PermissionDenied(
            f"{identity.principal}'s token is limited to models starting with "
            f"{identity.model_prefix!r} and cannot touch {model!r}",
            reason="MODEL_OUT_OF_SCOPE",
        )


def is_loopback(address: str) -> bool:
    """Whether a listen address (``host:port``) is reachable only from this machine."""
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def auth_configured(settings: Settings, services_only: bool = False) -> bool:
    """Whether callers must authenticate on a service with these settings."""
    service_token = settings.service_token.get_secret_value()
    return bool(service_token) if services_only else settings.auth_tokens_file is not None


def check_bind_is_safe(service: str, listen: str, settings: Settings, services_only: bool) -> None:
    """Refuse to serve a non-loopback address without authentication."""
    if is_loopback(listen) or auth_configured(settings, services_only):
        return
    needed = "MREG_SERVICE_TOKEN" if services_only else "MREG_AUTH_TOKENS_FILE"
    raise SystemExit(
        f"{service}: refusing to listen on {listen} without authentication; set {needed} "
        "(or listen on 127.0.0.1)"
    )


def auth_interceptors(
    settings: Settings,
    roles: Mapping[str, Role],
    *,
    model_of: ModelOf | None = None,
    services_only: bool = False,
) -> list[grpc.ServerInterceptor]:
    """The auth interceptor for a service, or none when auth is not configured."""
    if not auth_configured(settings, services_only):
        return []
    service_token = settings.service_token.get_secret_value()
    store = TokenStore(settings.auth_tokens_file) if settings.auth_tokens_file else None
    return [
        AuthInterceptor(
            store,
            roles,
            service_token_sha256=_hash(service_token) if service_token else "",
            model_of=model_of,
            services_only=services_only,
        )
    ]


def every_method(service: Any, role: Role) -> dict[str, Role]:
    """``role`` for every method of a service descriptor (``pb2.DESCRIPTOR.services_by_name``)."""
    return {f"/{service.full_name}/{m.name}": role for m in service.methods}
