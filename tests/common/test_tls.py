"""Every port can serve TLS; mutual TLS refuses clients without a certificate."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from services.common.server import ServiceBinding, create_server, open_channel
from services.common.settings import Settings
from services.common.tls import channel_credentials, server_credentials
from tests.common.echo import SERVICE, add, behaviours, call
from tests.tlsutil import make_pki


def _serve(settings: Settings) -> tuple[grpc.Server, str]:
    server, port = create_server(
        "127.0.0.1:0",
        [ServiceBinding(SERVICE, add, behaviours())],
        credentials=server_credentials(settings),
    )
    server.start()
    return server, f"127.0.0.1:{port}"


def test_tls_server_answers_a_client_that_trusts_its_ca(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server, address = _serve(Settings(tls_cert_file=pki.server_cert, tls_key_file=pki.server_key))
    try:
        with open_channel(address, channel_credentials(Settings(tls_ca_file=pki.ca))) as channel:
            assert call(channel, b"over tls") == b"over tls"
        with open_channel(address, None) as plaintext:
            with pytest.raises(grpc.RpcError) as info:
                call(plaintext, b"plaintext")
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(None)


def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server, address = _serve(
        Settings(
            tls_cert_file=pki.server_cert,
            tls_key_file=pki.server_key,
            tls_client_ca_file=pki.ca,
        )
    )
    try:
        with_cert = Settings(
            tls_ca_file=pki.ca,
            tls_client_cert_file=pki.client_cert,
            tls_client_key_file=pki.client_key,
        )
        with open_channel(address, channel_credentials(with_cert)) as channel:
            assert call(channel, b"mtls") == b"mtls"
        without = Settings(tls_ca_file=pki.ca)
        with open_channel(address, channel_credentials(without)) as channel:
            with pytest.raises(grpc.RpcError) as info:
                call(channel, b"no cert")
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(None)


def test_half_configured_tls_is_refused_with_the_setting_names(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with pytest.raises(ValueError, match="MREG_TLS_CERT_FILE and MREG_TLS_KEY_FILE"):
        server_credentials(Settings(tls_cert_file=pki.server_cert))
    with pytest.raises(ValueError, match="MREG_TLS_CLIENT_CERT_FILE and MREG_TLS_CLIENT_KEY_FILE"):
        channel_credentials(Settings(tls_ca_file=pki.ca, tls_client_cert_file=pki.client_cert))
    with pytest.raises(OSError, match="cannot read TLS key"):
        server_credentials(
            Settings(tls_cert_file=pki.server_cert, tls_key_file=tmp_path / "missing.key")
        )
