"""Options and value types that several ``mreg`` commands share."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click


class KeyValue(click.ParamType):
    """``KEY=VALUE``, the value cast (``float`` for metrics); converts to a ``(key, value)``."""

    def __init__(self, cast: Callable[[str], Any] = str) -> None:
        self.cast = cast
        self.name = "KEY=NUMBER" if cast is float else "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, tuple):
            return value
        key, sep, raw = str(value).partition("=")
        if not sep or not key:
            self.fail(f"expected {self.name}, got {value!r}", param, ctx)
        try:
            return key, self.cast(raw)
        except ValueError:
            self.fail(f"{key}: {raw!r} is not a number", param, ctx)


def as_dict(pairs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """Repeated ``KEY=VALUE`` options as a dict (a later key wins)."""
    return dict(pairs)


def json_option(f: Callable) -> Callable:
    """``--json``: print one JSON document instead of lines for a person."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
    )(f)


@dataclass(frozen=True)
class Connection:
    """How to reach the registry, from the flags (the SDK falls back to the environment)."""

    gateway: str | None
    token: str | None
    timeout: float
    tls: bool
    ca_file: str | None
    cert: str | None
    key: str | None
    as_json: bool

    def client(self):
        """A :class:`mreg.Client` with these settings."""
        from mreg.client import Client

        return Client(
            self.gateway,
            token=self.token,
            timeout=self.timeout,
            tls=True if self.tls else None,
            ca_file=self.ca_file,
            cert_file=self.cert,
            key_file=self.key,
        )


_CONNECTION_OPTIONS = [
    click.option(
        "--gateway",
        metavar="HOST:PORT",
        help="Gateway address; default $MREG_GATEWAY or 127.0.0.1:50051. "
        "An https:// address turns TLS on.",
    ),
    click.option("--token", help="Bearer token; default $MREG_TOKEN."),
    click.option(
        "--timeout",
        type=float,
        default=30.0,
        show_default=True,
        help="Seconds per call, retries included.",
    ),
    click.option(
        "--tls",
        is_flag=True,
        help="Use TLS, verified against the system's roots; default $MREG_TLS.",
    ),
    click.option(
        "--ca-file",
        metavar="PEM",
        help="CA bundle that verifies the registry (turns TLS on); default $MREG_CA_FILE.",
    ),
    click.option(
        "--cert",
        metavar="PEM",
        help="Client certificate for mutual TLS, with --key; default $MREG_CERT_FILE.",
    ),
    click.option("--key", metavar="PEM", help="Private key of --cert; default $MREG_KEY_FILE."),
]


def registry_options(f: Callable) -> Callable:
    """Add the connection options and ``--json``; ``f`` receives them as ``conn``."""

    @functools.wraps(f)
    def wrapper(
        *args: Any,
        gateway: str | None,
        token: str | None,
        timeout: float,
        tls: bool,
        ca_file: str | None,
        cert: str | None,
        key: str | None,
        as_json: bool,
        **kwargs: Any,
    ) -> Any:
        conn = Connection(gateway, token, timeout, tls, ca_file, cert, key, as_json)
        return f(*args, conn=conn, **kwargs)

    decorated: Any = wrapper  # each click option returns the command it decorates
    for option in reversed([json_option, *_CONNECTION_OPTIONS]):
        decorated = option(decorated)
    return decorated
