"""Transport layer of the gateway: ``RegistryService`` RPCs to :class:`Gateway` calls."""

from __future__ import annotations

import grpc

from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from services.common.auth import current_identity
from services.gateway.service import Gateway


def _principal(context: grpc.ServicerContext) -> str:
    return current_identity().principal


class RegistryServicer(registry_pb2_grpc.RegistryServiceServicer):
    """Converts protos and delegates; reads are forwarded to the metadata service."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def GetServerInfo(self, request, context):
        return self.gateway.server_info()

    def RegisterModelVersion(self, request, context):
        version = self.gateway.register(request, _principal(context))
        return registry_pb2.RegisterModelVersionResponse(model_version=version)

    def ResolveModelVersion(self, request, context):
        return self._read("ResolveModelVersion", request)

    def GetModelVersion(self, request, context):
        return self._read("GetModelVersion", request)

    def ListModelVersions(self, request, context):
        return self._read("ListModelVersions", request)

    def GetModel(self, request, context):
        return self._read("GetModel", request)

    def _read(self, method: str, request: object) -> object:
        return self.gateway.peers.metadata.call(
            method, request, principal=current_identity().principal
        )
