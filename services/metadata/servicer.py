"""gRPC servicer of ``modelregistry.v1.MetadataService``: protos in, domain calls, protos out.

Errors are raised as :mod:`services.common.errors` types; the shared interceptor maps them.
"""

from __future__ import annotations

import grpc

from modelregistry.v1 import metadata_pb2, metadata_pb2_grpc
from services.common.errors import InvalidArgument
from services.common.validation import parse_model_name
from services.metadata import checks
from services.metadata import convert as cv
from services.metadata.service import MetadataService

#: Request header carrying the acting principal (set by the gateway).
PRINCIPAL_HEADER = "x-mreg-principal"


def principal(context: grpc.ServicerContext) -> str:
    """The acting principal of a call, ``anonymous`` when the header is absent."""
    for key, value in context.invocation_metadata() or ():
        if key == PRINCIPAL_HEADER:
            return checks.principal(str(value))
    return "anonymous"


class MetadataServicer(metadata_pb2_grpc.MetadataServiceServicer):
    """Thin adapter from gRPC to :class:`MetadataService`."""

    def __init__(self, service: MetadataService) -> None:
        self.service = service

    def CreateModelVersion(self, request, context):
        """See the proto."""
        model = parse_model_name(request.parent, "parent")
        created = self.service.create_version(
            model,
            cv.version_spec(request.model_version),
            bump=cv.bump(request.bump),
            request_id=request.request_id,
            ready=request.ready,
            actor=principal(context),
        )
        return metadata_pb2.CreateModelVersionResponse(model_version=cv.version_to_proto(created))

    def GetModelVersion(self, request, context):
        """See the proto."""
        found = self.service.get_version(request.name)
        return metadata_pb2.GetModelVersionResponse(model_version=cv.version_to_proto(found))

    def ResolveModelVersion(self, request, context):
        """See the proto."""
        found = self.service.resolve(request.reference)
        return metadata_pb2.ResolveModelVersionResponse(model_version=cv.version_to_proto(found))

    def SetModelVersionState(self, request, context):
        """See the proto."""
        state = cv.state_from_proto(request.state)
        if state is None:
            raise InvalidArgument.field(
                "state", "the target state must be VERSION_STATE_READY or VERSION_STATE_FAILED"
            )
        changed = self.service.set_state(
            request.name,
            state,
            failure_reason=request.failure_reason,
            fmt=request.format,
            parameter_count=request.parameter_count,
            actor=principal(context),
        )
        return metadata_pb2.SetModelVersionStateResponse(model_version=cv.version_to_proto(changed))

    def UpdateModelVersion(self, request, context):
        """See the proto."""
        changed = self.service.update_version(
            request.model_version.name,
            cv.version_spec(request.model_version),
            list(request.update_mask.paths),
            request.model_version.etag,
            principal(context),
        )
        return metadata_pb2.UpdateModelVersionResponse(model_version=cv.version_to_proto(changed))

    def ListModelVersions(self, request, context):
        """See the proto."""
        page = self.service.list_versions(request.parent, request.page_size, request.page_token)
        return metadata_pb2.ListModelVersionsResponse(
            model_versions=[cv.version_to_proto(v) for v in page.items],
            next_page_token=page.next_page_token,
        )

    def GetModel(self, request, context):
        """See the proto."""
        found = self.service.get_model(request.name)
        return metadata_pb2.GetModelResponse(model=cv.model_to_proto(found))
