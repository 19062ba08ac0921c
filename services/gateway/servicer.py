"""Transport layer of the gateway: ``RegistryService`` RPCs to :class:`Gateway` calls."""

from __future__ import annotations

import grpc

from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from services.common.auth import Role, current_identity
from services.common.errors import PermissionDenied
from services.gateway.access import (
    METHOD_ROLES,
    SERVICE_NAME,
    model_of,
    out_of_scope,
    scope_response,
)
from services.gateway.contract import SAME_SHAPE, to_internal, to_public
from services.gateway.promotions import Promotions
from services.gateway.service import Gateway
from services.gateway.targets import check_target

#: Methods answered by the metadata service: the gateway checks the caller's role (see
#: access.py), converts the request (contract.py) and passes it on with the caller as
#: principal. ResolveModelVersion goes through the gateway's resolve cache instead.
#: CreateWebhook checks its target first (targets.py).
FORWARDED = tuple(m for m in SAME_SHAPE if m not in ("ResolveModelVersion", "CreateWebhook"))


def _principal() -> str:
    return current_identity().principal


class RegistryServicer(registry_pb2_grpc.RegistryServiceServicer):
    """Converts protos and delegates; forwarded methods go to the metadata service."""

    def __init__(self, gateway: Gateway, promotions: Promotions) -> None:
        self.gateway = gateway
        self.promotions = promotions

    def GetServerInfo(self, request, context):
        return self.gateway.server_info()

    def RegisterModelVersion(self, request, context):
        identity = current_identity()
        version = self.gateway.register(request, identity.principal, identity.model_prefix)
        return registry_pb2.RegisterModelVersionResponse(model_version=version)

    def ResolveModelVersion(self, request, context):
        return self.gateway.resolve(request, _principal())

    def PromoteModelVersion(self, request, context):
        response = self.promotions.promote(request, current_identity())
        self.gateway.changed(model_of(request))
        return response

    def ApprovePromotion(self, request, context):
        done = self.promotions.approve(request, current_identity())
        self.gateway.changed(model_of(request))
        return registry_pb2.ApprovePromotionResponse(
            promotion=done.promotion,
            model_version=done.model_version,
            previous_production=done.previous_production,
        )

    def RejectPromotion(self, request, context):
        promotion = self.promotions.reject(request, current_identity())
        return registry_pb2.RejectPromotionResponse(promotion=promotion)

    def WithdrawPromotion(self, request, context):
        promotion = self.promotions.withdraw(request, current_identity())
        return registry_pb2.WithdrawPromotionResponse(promotion=promotion)

    def RollbackProduction(self, request, context):
        done = self.promotions.rollback(request, current_identity())
        self.gateway.changed(model_of(request))
        return registry_pb2.RollbackProductionResponse(
            promotion=done.promotion,
            model_version=done.model_version,
            previous_production=done.previous_production,
        )

    def GetModelReport(self, request, context):
        identity = current_identity()
        report = self.promotions.report(request, identity)
        return scope_response("GetModelReport", request, report, identity.model_prefix)

    def CreateWebhook(self, request, context):
        identity = current_identity()
        if not request.webhook.model_prefix.startswith(identity.model_prefix):
            raise PermissionDenied(
                f"{identity.principal}'s token is limited to models starting with "
                f"{identity.model_prefix!r}: a webhook it creates needs a model_prefix "
                "starting with that",
                reason="MODEL_OUT_OF_SCOPE",
            )
        check_target(request.webhook.url, self.gateway.allow_private_targets)
        created = self.gateway.peers.metadata.call(
            "CreateWebhook", to_internal("CreateWebhook", request), principal=identity.principal
        )
        return to_public("CreateWebhook", created)

    async def WatchEvents(self, request, context: grpc.aio.ServicerContext):
        # Natively async (the gateway is served by grpc.aio): an open stream holds no thread.
        prefix = current_identity().model_prefix
        async for response in self.gateway.hub.watch(request, prefix, context):
            yield response


#: Forwarded methods that change a model: cached resolutions of it are dropped after them.
WRITES = frozenset(m for m, role in METHOD_ROLES.items() if role is not Role.READER)


def _forward(method: str):
    writes = f"/{SERVICE_NAME}/{method}" in WRITES

    def call(self: RegistryServicer, request, context):
        identity = current_identity()
        if outside := out_of_scope(method, request, identity.model_prefix):
            raise PermissionDenied(
                f"{identity.principal}'s token is limited to models starting with "
                f"{identity.model_prefix!r} and cannot touch {', '.join(outside)}",
                reason="MODEL_OUT_OF_SCOPE",
            )
        response = to_public(
            method,
            self.gateway.peers.metadata.call(
                method, to_internal(method, request), principal=identity.principal
            ),
        )
        if writes:
            self.gateway.changed(model_of(request))
        return scope_response(method, request, response, identity.model_prefix)

    call.__name__ = method
    call.__doc__ = f"Forward ``{method}`` to the metadata service."
    return call


for _method in FORWARDED:
    setattr(RegistryServicer, _method, _forward(_method))
