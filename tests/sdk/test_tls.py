"""The SDK and the CLI over TLS and mutual TLS, and the refusal to send a token in plaintext
off this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mreg.cli import main
from mreg.client import Client
from mreg.connection import CLIENT_ENV, Transport, is_loopback
from mreg.errors import (
    ClientConfigError,
    InsecureTransportError,
    NotFoundError,
    UnavailableError,
)
from services.common.settings import Settings
from tests.conftest import free_port
from tests.tlsregistry import TlsRegistry, serve_tls

#: A non-loopback address, only ever used as a string: nothing connects to it.
REMOTE = "10.255.255.1:50051"
REFUSAL = (
    "refusing to send the bearer token to {address} in plaintext: anyone on the network "
    "could read it. Use TLS (--tls or an https:// address, with --ca-file if the registry's "
    "certificate is from a private CA; MREG_TLS=1 and MREG_CA_FILE in the environment), or "
    "reach the registry over loopback"
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*CLIENT_ENV, "MREG_TOKEN", "MREG_GATEWAY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tls_only(tmp_path: Path):
    with serve_tls(tmp_path, mutual=False) as registry:
        yield registry


@pytest.fixture
def mutual(tmp_path: Path):
    with serve_tls(tmp_path, mutual=True) as registry:
        yield registry


def _model(tmp_path: Path) -> Path:
    path = tmp_path / "model.bin"
    path.write_bytes(os.urandom(300_000))
    return path


def _round_trip(client: Client, tmp_path: Path, model: str) -> None:
    source = _model(tmp_path)
    pushed = client.push(source, model=model, version="1.0.0", use_cache=False)
    pulled = client.pull(f"{model}:1.0.0", tmp_path / "out")
    assert pulled.version.name == pushed.version.name
    assert pulled.paths[0].read_bytes() == source.read_bytes()


def test_the_sdk_pushes_and_pulls_over_tls_with_a_ca_file(tls_only: TlsRegistry, tmp_path) -> None:
    with Client(tls_only.gateway, ca_file=tls_only.pki.ca, token="t0ken") as client:
        assert client.transport.tls
        _round_trip(client, tmp_path, "secure")
        # The artifact service the gateway names is reached with the same settings.
        assert client.server_info().artifact_service_address == tls_only.artifacts


def test_https_and_tls_use_the_system_roots(
    tls_only: TlsRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_only.pki.ca))  # the "system" bundle
    for client in (Client(f"https://{tls_only.gateway}"), Client(tls_only.gateway, tls=True)):
        with client, pytest.raises(NotFoundError, match="'models/absent' does not exist"):
            client.get_model("absent")


def test_a_server_certificate_from_an_unknown_ca_is_refused(
    tls_only: TlsRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    client = Client(tls_only.gateway, tls=True, timeout=1)
    with client, pytest.raises(UnavailableError) as info:
        client.get_model("absent")
    message = info.value.message
    assert message.startswith(f"cannot reach the registry at {tls_only.gateway}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert message.endswith(
        "; the TLS handshake failed: give the CA that signed the registry's certificate "
        "with --ca-file (MREG_CA_FILE), and --cert/--key if it requires client certificates"
    )


def test_plaintext_to_a_tls_port_suggests_tls(tls_only: TlsRegistry) -> None:
    with Client(tls_only.gateway, timeout=1) as client, pytest.raises(UnavailableError) as info:
        client.get_model("absent")
    assert info.value.message.endswith(
        "; if the registry requires TLS, use --tls (MREG_TLS=1) or an https:// address"
    )


def test_mutual_tls_needs_the_client_certificate(mutual: TlsRegistry, tmp_path: Path) -> None:
    pki = mutual.pki
    with Client(
        mutual.gateway, ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key
    ) as client:
        _round_trip(client, tmp_path, "mutual")
    client = Client(mutual.gateway, ca_file=pki.ca, timeout=1)
    with client, pytest.raises(UnavailableError) as info:
        client.get_model("mutual")
    assert info.value.message.endswith(
        "; the registry closed the TLS connection: if it requires client certificates, "
        "give --cert and --key (MREG_CERT_FILE, MREG_KEY_FILE)"
    )


def test_the_cli_over_mutual_tls_with_flags_and_with_the_environment(
    mutual: TlsRegistry, tmp_path: Path, monkeypatch, capsys
) -> None:
    pki = mutual.pki
    flags = ["--gateway", mutual.gateway, "--ca-file", str(pki.ca)]
    flags += ["--cert", str(pki.client_cert), "--key", str(pki.client_key), "--json"]
    source = _model(tmp_path)
    assert main(["push", str(source), "--model", "cli-tls", "--version", "1.0.0", *flags]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "models/cli-tls/versions/1.0.0"
    assert main(["pull", "cli-tls:1.0.0", str(tmp_path / "out"), *flags]) == 0
    assert json.loads(capsys.readouterr().out)["bytes_total"] == source.stat().st_size
    monkeypatch.setenv("MREG_GATEWAY", f"https://{mutual.gateway}")
    monkeypatch.setenv("MREG_CA_FILE", str(pki.ca))
    monkeypatch.setenv("MREG_CERT_FILE", str(pki.client_cert))
    monkeypatch.setenv("MREG_KEY_FILE", str(pki.client_key))
    assert main(["ls", "cli-tls", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["model_versions"]
    assert [v["name"] for v in listed] == ["models/cli-tls/versions/1.0.0"]


def test_a_token_is_never_sent_in_plaintext_off_this_machine(capsys) -> None:
    with pytest.raises(InsecureTransportError) as info:
        Client(REMOTE, token="secret")
    assert info.value.message == REFUSAL.format(address=REMOTE)
    assert main(["show", "m:1.0.0", "--gateway", REMOTE, "--token", "secret"]) == 1
    assert capsys.readouterr().err == f"mreg show: {REFUSAL.format(address=REMOTE)}\n"
    assert main(["ls", "m", "--gateway", f"http://{REMOTE}", "--token", "s", "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error == {"code": "FAILED_PRECONDITION", "message": REFUSAL.format(address=REMOTE)}
    # Over TLS, or without a token, the client may be built (channels connect lazily).
    Client(REMOTE, token="secret", tls=True).close()
    Client(REMOTE).close()
    Client("localhost:50051", token="secret").close()


def test_a_token_is_not_sent_to_a_plaintext_artifact_service_off_this_machine(
    start_server, tmp_path: Path
) -> None:
    from services.gateway.app import build_bindings

    settings = Settings(
        data_dir=tmp_path,
        metadata_address=f"127.0.0.1:{free_port()}",
        artifacts_address=f"127.0.0.1:{free_port()}",
        artifacts_public_address="10.255.255.1:50052",
        resolve_cache_poll_seconds=0,
    )
    gateway = start_server(*build_bindings(settings))
    with Client(gateway, token="secret") as client:
        assert client.server_info().artifact_service_address == "10.255.255.1:50052"
        with pytest.raises(InsecureTransportError) as info:
            _ = client.artifacts
    assert info.value.message == REFUSAL.format(address="10.255.255.1:50052")


def test_bad_tls_options_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    cases = {
        (("cert_file", "c.pem"),): "a client certificate and its key go together: give both "
        "--cert and --key (cert_file and key_file, or MREG_CERT_FILE and MREG_KEY_FILE)",
        (("tls", True),): "http://127.0.0.1:1 asks for plaintext, but TLS options are set "
        "(--tls, --ca-file, --cert, --key or their MREG_ variables); use https://",
    }
    for options, message in cases.items():
        address = "http://127.0.0.1:1" if dict(options).get("tls") else "127.0.0.1:1"
        with pytest.raises(ClientConfigError) as info:
            Client(address, **dict(options))
        assert info.value.message == message
    with pytest.raises(ClientConfigError) as info:
        Client("127.0.0.1:1", ca_file=tmp_path / "missing.pem")
    assert info.value.message == (
        f"cannot read the CA file {tmp_path / 'missing.pem'}: No such file or directory"
    )
    with pytest.raises(ClientConfigError) as info:
        Client("grpcs://host:1")
    assert info.value.message == (
        "unsupported scheme in 'grpcs://host:1': use host:port, https://host:port (TLS) or "
        "http://host:port (plaintext)"
    )
    with pytest.raises(ClientConfigError) as info:
        Transport.resolve("h:1", env={"MREG_TLS": "maybe"})
    assert info.value.message == "MREG_TLS='maybe' is not a boolean; use 1 or 0"


def test_addresses_resolve_to_a_transport() -> None:
    assert Transport.resolve("https://registry.example.com", env={}) == (
        "registry.example.com:443",
        Transport(tls=True),
    )
    assert Transport.resolve("h:1", env={"MREG_TLS": "1"})[1].tls
    assert Transport.resolve("h:1", env={"MREG_CA_FILE": "ca.pem"})[1] == Transport(
        tls=True, ca_file=Path("ca.pem")
    )
    assert not Transport.resolve("http://h:1", env={})[1].tls
    loopback = ["127.0.0.1:1", "127.8.0.1:1", "localhost:1", "[::1]:1", "::1", "unix:/tmp/s"]
    assert all(is_loopback(a) for a in loopback)
    assert not any(is_loopback(a) for a in (REMOTE, "example.com:1", "[2001:db8::1]:1"))


def test_the_client_environment_does_not_clash_with_the_services_settings() -> None:
    fields = set(Settings.model_fields)
    assert [n for n in CLIENT_ENV if n.removeprefix("MREG_").lower() in fields] == []
