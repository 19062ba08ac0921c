"""With a service token configured, only callers holding it reach the metadata service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from pydantic import SecretStr

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from services.common.server import build_server, insecure_channel
from services.common.settings import Settings
from services.metadata.app import AuthMisconfigured, build_bindings, build_interceptors
from tests.conftest import free_port
from tests.metadata.conftest import status_of

ROOT = Path(__file__).resolve().parents[2]


def test_service_token_is_required_and_principal_is_recorded(migrated_url: str) -> None:
    settings = Settings(database_url=migrated_url, service_token=SecretStr("s3cret"))
    running = build_server(
        "127.0.0.1:0", build_bindings(settings), interceptors=build_interceptors(settings)
    )
    running.start()
    try:
        with insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = metadata_pb2_grpc.MetadataServiceStub(channel)
            request = metadata_pb2.CreateModelVersionRequest(parent="models/fraud")
            code, _ = status_of(lambda: stub.CreateModelVersion(request, timeout=10))
            assert code == grpc.StatusCode.UNAUTHENTICATED
            headers = (("authorization", "Bearer s3cret"), ("x-mreg-principal", "carol"))
            created = stub.CreateModelVersion(request, metadata=headers, timeout=10)
            assert created.model_version.created_by == "carol"
    finally:
        running.stop(grace=None)


MISSING_SERVICE_TOKEN = (
    "the metadata service will not start: MREG_AUTH_TOKENS_FILE is set ({path}), so the "
    "registry requires authentication, but MREG_SERVICE_TOKEN is not set, so the metadata "
    "service would answer any caller; set MREG_SERVICE_TOKEN to the secret the gateway also uses"
)


def test_builders_refuse_a_tokens_file_without_a_service_token(
    migrated_url: str, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    settings = Settings(database_url=migrated_url, auth_tokens_file=tokens)
    for build in (build_bindings, build_interceptors):
        with pytest.raises(AuthMisconfigured) as info:
            build(settings)
        assert str(info.value) == MISSING_SERVICE_TOKEN.format(path=tokens)


def test_process_with_a_tokens_file_but_no_service_token_exits_naming_the_setting(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}:{ROOT / 'clients/python'}",
        "MREG_DATA_DIR": str(tmp_path),
        "MREG_METADATA_LISTEN": f"127.0.0.1:{free_port()}",
        "MREG_AUTH_TOKENS_FILE": str(tmp_path / "tokens.json"),
    }
    env.pop("MREG_SERVICE_TOKEN", None)
    run = [sys.executable, "-m", "services.metadata"]
    migrated = subprocess.run([*run, "migrate"], env=env, capture_output=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    served = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert served.returncode == 2
    assert MISSING_SERVICE_TOKEN.format(path=tmp_path / "tokens.json") in served.stderr
    assert "listening" not in served.stderr
