"""Assembly of the artifact service from settings."""

from __future__ import annotations

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc
from services.artifacts.backends import open_backend
from services.artifacts.service import ArtifactService
from services.artifacts.servicer import ArtifactServicer
from services.common.server import ServiceBinding
from services.common.settings import Settings

SERVICE_NAME = artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"].full_name


def build_service(settings: Settings) -> ArtifactService:
    """The artifact service's use cases over the backend ``settings`` name."""
    return ArtifactService(
        open_backend(settings), default_scrub_rate=settings.scrub_max_mb_per_second
    )


def bindings_for(service: ArtifactService) -> list[ServiceBinding]:
    """The ``ArtifactService`` binding of a service."""
    return [
        ServiceBinding(
            SERVICE_NAME,
            artifacts_pb2_grpc.add_ArtifactServiceServicer_to_server,
            ArtifactServicer(service),
        )
    ]


def build_bindings(settings: Settings) -> list[ServiceBinding]:
    """The artifact service binding over the backend ``settings`` name."""
    return bindings_for(build_service(settings))
