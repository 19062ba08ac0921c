"""The one place where the public contract meets the internal one.

``RegistryService`` (package ``modelregistry.v1``) has its own request and response
messages; the metadata service (``modelregistry.metadata.v1``) has its own, so either can
change without the other. The RPCs the gateway forwards to the metadata service have, today,
the same shape on both sides (same field numbers, names and types, the resource types of
``resources.proto`` inside), so :func:`to_internal` and :func:`to_public` convert by a wire
round trip: serialize one, parse it as the other. ``tests/gateway/test_public_contract.py`` proves
the shapes still match; when one side diverges, that test fails, and the method gets an
explicit mapping here instead of the round trip.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import registry_pb2

M = TypeVar("M", bound=Message)

#: RegistryService methods answered by the metadata service method of the same name, with
#: requests and responses of the same shape.
SAME_SHAPE = (
    "GetModelVersion",
    "ResolveModelVersion",
    "ListModelVersions",
    "GetModel",
    "ListModels",
    "UpdateModel",
    "UpdateModelVersion",
    "SearchModelVersions",
    "CompareModelVersions",
    "ListStageTransitions",
    "SetAlias",
    "DeleteAlias",
    "ListAliases",
    "CreateEvaluation",
    "ListEvaluations",
    "CreateLineageEdge",
    "GetLineage",
    "AnalyzeImpact",
    "ListAuditLog",
    "GetPromotion",
    "ListPromotions",
    "ReportDeployment",
    "ListDeployments",
    "CreateWebhook",
    "ListWebhooks",
    "DeleteWebhook",
    "ListWebhookDeliveries",
    "RedeliverWebhookDelivery",
)


def _convert(message: Message, target: type[M]) -> M:
    # A wire round trip, valid only because the two shapes are identical (see the module
    # docstring and tests/gateway/test_public_contract.py). Fields the target does not know are
    # dropped rather than carried along as unknown fields, so nothing internal reaches a
    # public client, and nothing a client made up reaches the metadata service.
    converted = target.FromString(message.SerializeToString())
    converted.DiscardUnknownFields()
    return converted


def _same_shape(method: str) -> str:
    if method not in SAME_SHAPE:
        raise ValueError(f"{method} has no same-shape counterpart; map it explicitly")
    return method


def to_internal(method: str, request: Message) -> Any:
    """The metadata service's request for the public ``request`` of ``method``."""
    return _convert(request, getattr(metadata_pb2, f"{_same_shape(method)}Request"))


def to_public(method: str, response: Message) -> Any:
    """The public response of ``method`` for the metadata service's ``response``."""
    return _convert(response, getattr(registry_pb2, f"{_same_shape(method)}Response"))
