"""How the SDK reaches the registry: plaintext or TLS (mutual TLS optional), and when a
bearer token may be sent.

TLS is on with ``tls=True`` (``--tls``, ``MREG_TLS=1``), an ``https://host:port`` address,
or any of the CA, certificate or key files. Without a CA file the server is verified
against the system's roots. A token travels only over TLS or to a loopback address;
otherwise the client refuses before it connects.

The client's environment variables are distinct from the services' ``MREG_TLS_*``
settings (``services/common/settings.py``), so one shell can run both.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from mreg.errors import ClientConfigError, InsecureTransportError

#: Environment variables of the client's connection (flags and arguments win over them).
ENV_TLS = "MREG_TLS"
ENV_CA_FILE = "MREG_CA_FILE"
ENV_CERT_FILE = "MREG_CERT_FILE"
ENV_KEY_FILE = "MREG_KEY_FILE"
CLIENT_ENV = (ENV_TLS, ENV_CA_FILE, ENV_CERT_FILE, ENV_KEY_FILE)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    # A new client does not inherit the reconnect backoff of an older channel to the same
    # address (grpc's shared subchannel pool), so it connects to a restarted registry at once.
    ("grpc.use_local_subchannel_pool", 1),
]


def _env_flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ClientConfigError(f"{name}={env[name]!r} is not a boolean; use 1 or 0")


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` (or a ``unix:`` socket) names this machine, by its literal text.

    Names other than ``localhost`` are not resolved: DNS could say anything.
    """
    if address.startswith(("unix:", "unix-abstract:")):
        return True
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or "]" in address else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Transport:
    """Plaintext or TLS, with the files that go with it."""

    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def resolve(
        cls,
        address: str,
        *,
        tls: bool | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        cert_file: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[str, Transport]:
        """The ``host:port`` to dial and the transport, from arguments, then the environment.

        ``https://host[:port]`` turns TLS on (port 443 by default); ``http://host:port``
        asks for plaintext and conflicts with TLS options.
        """
        env = os.environ if env is None else env
        ca = ca_file or env.get(ENV_CA_FILE) or None
        cert = cert_file or env.get(ENV_CERT_FILE) or None
        key = key_file or env.get(ENV_KEY_FILE) or None
        wanted = _env_flag(env, ENV_TLS) if tls is None else tls
        scheme, sep, rest = address.partition("://")
        if sep:
            if scheme not in ("https", "http"):
                raise ClientConfigError(
                    f"unsupported scheme in {address!r}: use host:port, https://host:port "
                    "(TLS) or http://host:port (plaintext)"
                )
            address = rest.rstrip("/")
            if scheme == "https":
                wanted = True
                if not address.rsplit("]", 1)[-1].count(":"):
                    address += ":443"
            elif tls or ca or cert or key:
                raise ClientConfigError(
                    f"{scheme}://{address} asks for plaintext, but TLS options are set "
                    "(--tls, --ca-file, --cert, --key or their MREG_ variables); use https://"
                )
            else:
                wanted = False
        if bool(cert) != bool(key):
            raise ClientConfigError(
                "a client certificate and its key go together: give both --cert and --key "
                f"(cert_file and key_file, or {ENV_CERT_FILE} and {ENV_KEY_FILE})"
            )
        paths = [Path(p) if p else None for p in (ca, cert, key)]
        return address, cls(wanted or any(paths), *paths)

    def credentials(self) -> grpc.ChannelCredentials:
        """TLS credentials: the CA file or the system's roots, and the client certificate."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file, "CA file") if self.ca_file else _system_roots(),
            private_key=_read(self.key_file, "client key") if self.key_file else None,
            certificate_chain=_read(self.cert_file, "client certificate")
            if self.cert_file
            else None,
        )

    def open(self, address: str, *, sends_token: bool) -> grpc.Channel:
        """A channel to ``address``; refuses to carry a token in plaintext off this machine."""
        if sends_token and not self.tls and not is_loopback(address):
            raise InsecureTransportError(
                f"refusing to send the bearer token to {address} in plaintext: anyone on the "
                "network could read it. Use TLS (--tls or an https:// address, with --ca-file "
                "if the registry's certificate is from a private CA; MREG_TLS=1 and "
                "MREG_CA_FILE in the environment), or reach the registry over loopback"
            )
        if not self.tls:
            return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        return grpc.secure_channel(address, self.credentials(), options=CHANNEL_OPTIONS)

    def hint(self, message: str) -> str:
        """A suggestion for a connection failure, from the transport and grpc's message."""
        lowered = message.lower()
        if self.tls and ("handshake" in lowered or "certificate" in lowered or "ssl" in lowered):
            return (
                "; the TLS handshake failed: give the CA that signed the registry's "
                "certificate with --ca-file (MREG_CA_FILE), and --cert/--key if it requires "
                "client certificates"
            )
        closed = "socket closed" in lowered or "connection reset" in lowered
        if self.tls and closed and not self.cert_file:
            return (
                "; the registry closed the TLS connection: if it requires client "
                f"certificates, give --cert and --key ({ENV_CERT_FILE}, {ENV_KEY_FILE})"
            )
        if not self.tls and closed:
            return "; if the registry requires TLS, use --tls (MREG_TLS=1) or an https:// address"
        return ""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ClientConfigError(f"cannot read the {what} {path}: {error.strerror}") from None


def _system_roots() -> bytes | None:
    """The system's CA bundle (``SSL_CERT_FILE`` first), or None for grpc's own roots."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return _read(Path(candidate), "system CA bundle")
    return None
