"""TLS for every port: server credentials, and channel credentials for calls between services.

TLS is on when a certificate and key are configured. Setting a client CA turns on mutual
TLS: the server then refuses clients that present no certificate signed by that CA.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from services.common.settings import Settings


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise OSError(f"cannot read {what} {path}: {error.strerror}") from None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """Credentials for a server's port, or None when TLS is not configured."""
    if not settings.tls_cert_file and not settings.tls_key_file:
        return None
    if not (settings.tls_cert_file and settings.tls_key_file):
        raise ValueError("MREG_TLS_CERT_FILE and MREG_TLS_KEY_FILE must be set together")
    pair = (
        _read(settings.tls_key_file, "TLS key"),
        _read(settings.tls_cert_file, "TLS certificate"),
    )
    client_ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=_read(client_ca, "client CA") if client_ca else None,
        require_client_auth=client_ca is not None,
    )


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """Credentials for calling another service, or None for plaintext.

    TLS is used when a CA bundle is configured (``MREG_TLS_CA_FILE``); a client certificate
    and key are presented when configured, for peers that require mutual TLS.
    """
    if not settings.tls_ca_file:
        return None
    cert, key = settings.tls_client_cert_file, settings.tls_client_key_file
    if bool(cert) != bool(key):
        raise ValueError(
            "MREG_TLS_CLIENT_CERT_FILE and MREG_TLS_CLIENT_KEY_FILE must be set together"
        )
    return grpc.ssl_channel_credentials(
        root_certificates=_read(settings.tls_ca_file, "CA bundle"),
        private_key=_read(key, "client key") if key else None,
        certificate_chain=_read(cert, "client certificate") if cert else None,
    )
