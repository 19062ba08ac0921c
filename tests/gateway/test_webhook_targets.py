"""Webhook targets (which addresses are refused) and Standard Webhooks signatures, as units."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from services.common.errors import InvalidArgument, PermissionDenied
from services.gateway import signing
from services.gateway.targets import check_target, checked_transport, forbidden
from tests.gateway.receiver import Receiver


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "224.0.0.1",
    ],
)
def test_inward_addresses_are_forbidden(address: str) -> None:
    assert forbidden(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden(address)


def test_every_resolved_address_is_checked() -> None:
    def resolver(host: str) -> list[str]:
        return ["93.184.215.14", "10.0.0.7"]

    with pytest.raises(PermissionDenied) as info:
        check_target("https://mixed.example/x", False, resolver=resolver)
    assert info.value.message.startswith(
        "webhook.url: host 'mixed.example' resolves to 10.0.0.7, a loopback, private or "
        "link-local address"
    )
    check_target("https://mixed.example/x", True, resolver=resolver)  # allowed by setting
    check_target("https://public.example/x", False, resolver=lambda host: ["93.184.215.14"])


def test_urls_that_are_not_http_are_refused() -> None:
    for url, message in [
        ("file:///etc/passwd", "a webhook URL must be http or https, not 'file'"),
        ("receiver.example/hook", "a webhook URL must be http or https, not 'schemeless'"),
        ("http:///hook", "'http:///hook' has no host"),
        ("http://host:99999/", "'http://host:99999/' is not a URL: Port out of range 0-65535"),
    ]:
        with pytest.raises(InvalidArgument) as info:
            check_target(url, True)
        assert info.value.message == f"webhook.url: {message}"


def test_a_host_that_does_not_resolve_is_refused() -> None:
    def resolver(host: str) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(InvalidArgument) as info:
        check_target("http://nowhere.invalid/", False, resolver=resolver)
    assert info.value.message == (
        "webhook.url: host 'nowhere.invalid' does not resolve: Name or service not known"
    )


def test_signatures_follow_standard_webhooks() -> None:
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"specversion":"1.0"}'
    headers = signing.headers(secret, "abc_7", 1_700_000_000, body)
    expected = hmac.new(key, b"abc_7.1700000000." + body, hashlib.sha256).digest()
    assert headers == {
        "webhook-id": "abc_7",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + base64.b64encode(expected).decode(),
    }
    # The reference implementation refuses the old timestamp (replay), accepts a fresh one.
    with pytest.raises(Exception, match="too old"):
        Verifier(secret).verify(body, headers)
    fresh = signing.headers(secret, "abc_7", int(time.time()), body)
    assert Verifier(secret).verify(body, fresh) == {"specversion": "1.0"}


def test_connections_go_only_to_addresses_checked_at_connect_time() -> None:
    """The name is resolved again when connecting and the address checked is the one
    connected to: a name that re-resolves to a forbidden address (DNS rebinding) is
    refused at connect time, whatever the check before it said."""
    receiver = Receiver()
    url = f"http://receiver.test:{receiver.port}/hook"
    limits = httpx.Limits(max_connections=1)

    def resolver(host: str) -> list[str]:
        assert host == "receiver.test"
        return ["127.0.0.1"]

    try:
        allowed = httpx.Client(transport=checked_transport(limits, resolver, lambda a: False))
        with allowed:
            assert allowed.post(url, content=b"{}").status_code == 200
        assert [r.body for r in receiver.requests] == [b"{}"]
        refused = httpx.Client(transport=checked_transport(limits, resolver))
        with refused, pytest.raises(httpx.ConnectError, match=r"resolves to 127\.0\.0\.1"):
            refused.post(url, content=b"{}")
        assert len(receiver.requests) == 1
    finally:
        receiver.close()
