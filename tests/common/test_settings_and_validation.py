"""Typed settings from MREG_ variables, and validation of shared identifiers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from modelregistry.v1 import resources_pb2
from services.common.errors import InvalidArgument
from services.common.settings import Settings, load_settings
from services.common.validation import (
    parse_model_name,
    parse_version_name,
    validate_digest,
    validate_model_id,
    validate_request_id,
)


def test_settings_read_mreg_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MREG_GATEWAY_LISTEN", "0.0.0.0:6000")
    monkeypatch.setenv("MREG_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("MREG_MAX_WORKERS", "4")
    monkeypatch.setenv("GATEWAY_LISTEN", "ignored-without-prefix")
    settings = load_settings()
    assert settings.gateway_listen == "0.0.0.0:6000"
    assert settings.storage_backend == "s3"
    assert settings.max_workers == 4


def test_settings_embedded_defaults_live_under_the_data_dir() -> None:
    settings = Settings(data_dir=Path("/srv/reg"))
    assert settings.resolved_database_url == "sqlite:////srv/reg/metadata.db"
    assert settings.resolved_storage_path == Path("/srv/reg/artifacts")
    assert settings.resolved_artifacts_public_address == settings.artifacts_address


def test_a_webhook_lease_must_outlast_an_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MREG_WEBHOOKS_LEASE_SECONDS", "10")
    monkeypatch.setenv("MREG_WEBHOOKS_TIMEOUT_SECONDS", "10")
    with pytest.raises(ValidationError, match=r"MREG_WEBHOOKS_LEASE_SECONDS \(10\) must exceed"):
        Settings()


def test_settings_reject_an_unknown_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MREG_STORAGE_BACKEND", "ftp")
    with pytest.raises(ValidationError, match="storage_backend"):
        load_settings()


@pytest.mark.parametrize("model_id", ["fraud-detector", "a", "bert.base_v2", "0" * 128])
def test_valid_model_ids_pass(model_id: str) -> None:
    assert validate_model_id(model_id) == model_id


@pytest.mark.parametrize(
    "model_id", ["", "Fraud", "-lead", "a/b", "a..b", "x" * 129, "white space", "a;drop"]
)
def test_invalid_model_ids_name_the_field(model_id: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_model_id(model_id, "parent")
    assert info.value.field_violations[0].field == "parent"
    assert info.value.message.startswith("parent: ")


def test_resource_names_parse_and_refuse_other_shapes() -> None:
    assert parse_model_name("models/fraud") == "fraud"
    assert parse_version_name("models/fraud/versions/1.2.0-rc.1") == ("fraud", "1.2.0-rc.1")
    with pytest.raises(InvalidArgument, match=re.escape("expected 'models/{model}', got 'fraud'")):
        parse_model_name("fraud")
    with pytest.raises(
        InvalidArgument, match=re.escape("expected 'models/{model}/versions/{version}'")
    ):
        parse_version_name("models/fraud/1.0.0")


def test_digests_must_be_lower_case_sha256_with_a_size() -> None:
    good = resources_pb2.Digest(hash="a" * 64, size_bytes=0)
    assert validate_digest(good) is good
    with pytest.raises(InvalidArgument, match=r"^digest.hash: a SHA-256 digest is required$"):
        validate_digest(resources_pb2.Digest())
    with pytest.raises(InvalidArgument, match="expected 64 lower-case hexadecimal"):
        validate_digest(resources_pb2.Digest(hash="A" * 64))
    with pytest.raises(InvalidArgument, match="size must not be negative, got -1"):
        validate_digest(resources_pb2.Digest(hash="a" * 64, size_bytes=-1))


def test_request_ids_are_bounded() -> None:
    assert validate_request_id("3f2b-uuid:1") == "3f2b-uuid:1"
    with pytest.raises(InvalidArgument, match=r"^request_id: invalid request id"):
        validate_request_id("x" * 129)
