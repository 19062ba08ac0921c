"""With a service token configured, only callers holding it reach the metadata service."""

from __future__ import annotations

import grpc
from pydantic import SecretStr

from modelregistry.v1 import metadata_pb2, metadata_pb2_grpc
from services.common.server import build_server, insecure_channel
from services.common.settings import Settings
from services.metadata.app import build_bindings, build_interceptors
from tests.metadata.conftest import status_of


def test_service_token_is_required_and_principal_is_recorded(migrated_url: str) -> None:
    settings = Settings(database_url=migrated_url, service_token=SecretStr("s3cret"))
    running = build_server(
        "127.0.0.1:0", build_bindings(settings), interceptors=build_interceptors(settings)
    )
    running.server.start()
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
