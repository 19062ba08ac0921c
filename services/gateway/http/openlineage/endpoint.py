"""``POST /api/v1/lineage``: OpenLineage run events in, lineage edges out.

The path is the one the ``openlineage-python`` HTTP transport (and Marquez, and the Java
client Spark uses) posts to by default, so pointing a producer's ``url`` at the gateway's
HTTP port is the whole setup. The caller presents the same bearer token as for the JSON
API and needs the writer role; the edges are recorded by ``CreateLineageEdge`` on the
gateway's own gRPC port over loopback (as the JSON API does), so token scopes, audit and
events are those of any other edge.

Order of checks: who (401, 403), the body (413, 415, 400 for JSON), the event (400 naming
the field), every model version it names (404: nothing is recorded), then the edges. An
edge that would close a cycle is skipped and listed in the answer's ``skipped``; an edge
recorded before is recorded again as a no-op, so a replayed event changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from services.common.auth import Role
from services.common.errors import NotFound, PermissionDenied, RegistryError
from services.common.http_auth import HttpAuth
from services.gateway.http.json_api.api import (
    CALL_TIMEOUT_SECONDS,
    MAX_BODY_BYTES,
    read_limited,
    require_json,
    too_large,
)
from services.gateway.http.json_api.status import (
    HTTP_STATUS,
    HttpJsonError,
    from_rpc_error,
    rpc_error_response,
    status_response,
)
from services.gateway.http.json_api.transcode import parse_body, to_json
from services.gateway.http.openlineage.events import parse_event
from services.gateway.http.openlineage.mapping import Edge, Plan, plan

logger = logging.getLogger(__name__)

#: Where OpenLineage clients post run events by default.
LINEAGE_PATH = "/api/v1/lineage"
_FORWARDED = ("authorization", "x-request-id")
_OTHER_METHODS = ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class OpenLineageApi:
    """Receives run events and records their lineage through ``target``'s gRPC port."""

    def __init__(self, target: str, auth: HttpAuth) -> None:
        self.target = target  # the gateway's own gRPC server, in plaintext (see .http.app)
        self.auth = auth
        self._stub: registry_pb2_grpc.RegistryServiceStub | None = None
        self._channel: grpc.aio.Channel | None = None

    def routes(self) -> list[BaseRoute]:
        """``POST`` takes an event; any other method is 405 with a Status body."""
        return [
            Route(LINEAGE_PATH, self.receive, methods=["POST"]),
            Route(LINEAGE_PATH, _post_only, methods=_OTHER_METHODS),
        ]

    async def receive(self, request: Request) -> Response:
        try:
            identity = self.auth.identify(request.headers)
            if not identity.has(Role.WRITER):
                raise PermissionDenied(
                    f"{identity.principal} may not record lineage: "
                    "OpenLineage events need a token with the writer role",
                    reason="ROLE_REQUIRED",
                    metadata={"role": Role.WRITER.value},
                )
            event = parse_event(parse_body(await _body(request)))
            wanted = plan(event)
            metadata = [(k, request.headers[k]) for k in _FORWARDED if k in request.headers]
            await self._check_versions(wanted, metadata)
            recorded, skipped = await self._record(wanted, metadata)
        except RegistryError as error:
            return status_response(error.to_status_proto(), HTTP_STATUS[error.code])
        except HttpJsonError as error:
            return error.response()
        except grpc.aio.AioRpcError as error:
            return rpc_error_response(error)
        except Exception:
            logger.exception("OpenLineage event failed")
            return HttpJsonError(
                grpc.StatusCode.INTERNAL,
                f"internal error in POST {LINEAGE_PATH}; the gateway's log has the details",
                reason="INTERNAL",
            ).response()
        return JSONResponse(
            {
                "eventType": wanted.event_type.value if wanted.event_type else None,
                "edges": recorded,
                "skipped": skipped,
            }
        )

    def _registry(self) -> registry_pb2_grpc.RegistryServiceStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self.target)
            self._stub = registry_pb2_grpc.RegistryServiceStub(self._channel)
        return self._stub

    async def _check_versions(self, wanted: Plan, metadata: list[tuple[str, str]]) -> None:
        """NOT_FOUND naming the field when a model version the event names does not exist:
        before any edge, so a refused event records nothing."""
        calls = [
            self._registry().GetModelVersion(
                registry_pb2.GetModelVersionRequest(name=node.key),
                metadata=metadata,
                timeout=CALL_TIMEOUT_SECONDS,
            )
            for node in wanted.versions
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for node, result in zip(wanted.versions, results, strict=True):
            if isinstance(result, grpc.aio.AioRpcError):
                if result.code() == grpc.StatusCode.NOT_FOUND:
                    raise NotFound(
                        f"{node.source}: model version {node.key!r} does not exist; register "
                        "it before reporting lineage to it (nothing of this event was recorded)",
                        reason="MODEL_VERSION_NOT_FOUND",
                        metadata={"field": node.source, "name": node.key},
                    )
                raise result
            if isinstance(result, BaseException):
                raise result

    async def _record(
        self, wanted: Plan, metadata: list[tuple[str, str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Each edge in turn (they serialize on the lineage lock anyway)."""
        recorded: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        for edge in wanted.edges:
            try:
                response = await self._registry().CreateLineageEdge(
                    registry_pb2.CreateLineageEdgeRequest(edge=edge.proto()),
                    metadata=metadata,
                    timeout=CALL_TIMEOUT_SECONDS,
                )
            except grpc.aio.AioRpcError as error:
                status = from_rpc_error(error)
                if _reason(status) != "LINEAGE_CYCLE":
                    raise
                logger.warning("OpenLineage edge skipped: %s", status.message)
                skipped.append({"edge": to_json(edge.proto()), "reason": status.message})
                continue
            recorded.append(to_json(response.edge))
        return recorded, skipped


async def _body(request: Request) -> bytes:
    """The body, gunzipped when sent with ``Content-Encoding: gzip`` (as the client's
    ``compression: gzip`` does), at most :data:`MAX_BODY_BYTES` either way."""
    raw = await read_limited(request)
    require_json(request)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding != "gzip":
        raise HttpJsonError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Content-Encoding {encoding[:40]!r} is not supported; send gzip or none",
            reason="UNSUPPORTED_CONTENT_ENCODING",
            http_status=415,
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as error:
        raise HttpJsonError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the gzip body is corrupt: {error}",
            reason="MALFORMED_GZIP",
        ) from None
    if len(data) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise too_large()
    if not inflater.eof:
        raise HttpJsonError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the gzip body is truncated",
            reason="MALFORMED_GZIP",
        )
    return data


async def _post_only(request: Request) -> Response:
    return HttpJsonError(
        grpc.StatusCode.UNIMPLEMENTED,
        f"{request.method} is not allowed on {LINEAGE_PATH}; POST an OpenLineage run event",
        reason="METHOD_NOT_ALLOWED",
        http_status=405,
        headers={"Allow": "POST"},
    ).response()


def _reason(status: status_pb2.Status) -> str:
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


__all__ = ["LINEAGE_PATH", "Edge", "OpenLineageApi"]
