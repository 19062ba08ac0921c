"""Which URLs a webhook may target (issue 17 item 4).

Only ``http`` and ``https``, and only hosts whose every resolved address is public: no
loopback, private (RFC 1918, unique local), link-local (which includes the cloud metadata
address 169.254.169.254), unspecified, multicast or reserved addresses, so a webhook cannot
be used to reach the services beside the registry. ``MREG_WEBHOOKS_ALLOW_PRIVATE_TARGETS``
lifts the address rule (tests, and installations whose receivers are internal). The
delivery worker checks again before each attempt, and its connections go only to addresses
checked at connect time (:func:`checked_transport`), so a name that later resolves inward
is refused then too.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from services.common.errors import InvalidArgument, PermissionDenied

Resolver = Callable[[str], list[str]]


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def forbidden(address: str) -> bool:
    """Whether a webhook may not target ``address`` (unless private targets are allowed)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


def check_target(
    url: str, allow_private: bool, field: str = "webhook.url", resolver: Resolver = resolve
) -> None:
    """INVALID_ARGUMENT for a URL that is not http(s) or does not resolve; PERMISSION_DENIED
    for one whose host resolves to a forbidden address."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError as error:
        raise InvalidArgument.field(field, f"{url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument.field(
            field, f"a webhook URL must be http or https, not {parts.scheme or 'schemeless'!r}"
        )
    host = parts.hostname
    if not host:
        raise InvalidArgument.field(field, f"{url!r} has no host")
    if allow_private:
        return
    try:
        addresses = resolver(host)
    except OSError as error:
        raise InvalidArgument.field(field, f"host {host!r} does not resolve: {error}") from None
    refused = [a for a in addresses if forbidden(a)]
    if refused:
        raise PermissionDenied(
            f"{field}: host {host!r} resolves to {', '.join(refused)}, a loopback, private "
            "or link-local address; webhooks may only target public addresses (set "
            "MREG_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true to allow internal receivers)",
            reason="WEBHOOK_TARGET_FORBIDDEN",
        )


_deadline = threading.local()


@contextmanager
def total_deadline(seconds: float) -> Iterator[None]:
    """Bound everything a request on this thread does through a checked transport
    (connect, TLS, send, reading the answer) to ``seconds`` in total: httpx's own timeouts
    bound each phase, so a receiver dripping its answer a byte at a time would not end."""
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = None


def _left(timeout: float | None) -> float | None:
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the attempt ran out of time")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write stops at the thread's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to addresses that pass the check, resolved at connect time: the
    address checked is the address connected to, so a name that re-resolves inward
    between the check and the connection (DNS rebinding) is refused too. Its connections
    keep the thread's :func:`total_deadline`."""

    def __init__(self, resolver: Resolver, refuse: Callable[[str], bool]) -> None:
        self.resolver = resolver
        self.refuse = refuse

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.resolver(host)
        except OSError as error:
            raise httpcore.ConnectError(f"host {host!r} does not resolve: {error}") from None
        refused = [a for a in addresses if self.refuse(a)]
        if refused or not addresses:
            raise httpcore.ConnectError(
                f"host {host!r} resolves to {', '.join(refused) or 'nothing'}: not a public "
                "address, refused"
            )
        last: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(
                    address, port, _left(timeout), local_address, socket_options
                )
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last


def checked_transport(
    limits: httpx.Limits, resolver: Resolver = resolve, refuse: Callable[[str], bool] = forbidden
) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes to a checked address. (httpx has no
    public hook for the network backend; its transport's connection pool is replaced.)"""
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_CheckedBackend(resolver, refuse),
    )
    return transport
