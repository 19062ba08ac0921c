"""Which URLs a webhook may target (issue 17 item 4).

Only ``http`` and ``https``, and only hosts whose every resolved address is public: no
loopback, private (RFC 1918, unique local), link-local (which includes the cloud metadata
address 169.254.169.254), unspecified, multicast or reserved addresses, so a webhook cannot
be used to reach the services beside the registry. ``MREG_WEBHOOKS_ALLOW_PRIVATE_TARGETS``
lifts the address rule (tests, and installations whose receivers are internal). The
delivery worker checks again before each attempt, so a name that later resolves inward is
refused then too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

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
