"""Fixtures of the metadata tests: a migrated database and a real server over gRPC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from modelregistry.v1 import resources_pb2
from services.common.server import insecure_channel
from services.common.settings import Settings
from services.metadata.app import build_bindings, migrate


class Client:
    """A MetadataService stub that sends a principal and raises RpcError as usual."""

    def __init__(self, address: str) -> None:
        self.channel = insecure_channel(address)
        self.stub = metadata_pb2_grpc.MetadataServiceStub(self.channel)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        rpc = getattr(self.stub, method)

        def call(request: Any, principal: str = "alice", **kwargs: Any) -> Any:
            metadata = (("x-mreg-principal", principal),) if principal else None
            return rpc(request, metadata=metadata, timeout=30, **kwargs)

        return call

    def create(self, model: str = "fraud", principal: str = "alice", **kwargs: Any):
        """Create a version; keyword arguments go into ModelVersion unless request-level."""
        request_fields = {k: kwargs.pop(k) for k in ("bump", "request_id", "ready") if k in kwargs}
        return self.CreateModelVersion(
            metadata_pb2.CreateModelVersionRequest(
                parent=f"models/{model}",
                model_version=resources_pb2.ModelVersion(**kwargs),
                **request_fields,
            ),
            principal=principal,
        ).model_version


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """An empty database migrated to the newest schema."""
    migrate(database_url)
    return database_url


@pytest.fixture
def client(migrated_url: str, start_server) -> Iterator[Client]:
    """A client of a metadata server over a fresh, migrated database."""
    address = start_server(*build_bindings(Settings(database_url=migrated_url)))
    c = Client(address)
    yield c
    c.channel.close()


def status_of(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    """The code and message of the RpcError ``call`` raises."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()
