"""The artifact service's HTTP endpoint: verified blob bytes for OCI clients.

``GET``/``HEAD /blobs/sha256:<hex>`` streams a blob from :meth:`ArtifactService.read_blob`,
every chunk verified on the way, with single ``Range`` requests (206; 416 past the end).
The gateway redirects OCI blob requests here with a signed grant in the query string
(``?grant=``, :mod:`services.common.grants`); with auth on, nothing is served without one.
A chunk found corrupt before the first byte gives a 500; after it, the connection is cut
short of its ``Content-Length``, so a client never takes wrong bytes for the blob.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from services.artifacts.service import ArtifactService
from services.common.auth import auth_configured
from services.common.errors import DataLoss, NotFound, PermissionDenied, Unauthenticated
from services.common.grants import grant_secret, verify
from services.common.http import RunningHttp, oci_error, start_http
from services.common.settings import Settings

logger = logging.getLogger(__name__)

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """``(start, end_exclusive)`` of a single byte range; None to send it all; ``"416"``
    when the range lies past the end. Malformed and multiple ranges are ignored (RFC 9110)."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or match[1] == match[2] == "":
        return None
    if match[1] == "":  # the last N bytes
        suffix = int(match[2])
        return (max(0, size - suffix), size) if suffix else "416"
    start = int(match[1])
    end = min(int(match[2]) + 1, size) if match[2] else size
    if match[2] and int(match[2]) < start:
        return None
    if start >= size:
        return "416"
    return start, end


def _first(pieces: Iterator) -> tuple[bytes, Iterator]:
    for piece in pieces:
        return bytes(piece.data), pieces
    return b"", pieces


def build_app(service: ArtifactService, secret: bytes, require_grant: bool) -> Starlette:
    """The ASGI app over ``service``; ``require_grant`` when auth is on."""

    async def blob(request: Request) -> Response:
        reference = request.path_params["reference"]
        match = _DIGEST.fullmatch(reference)
        if not match:
            return oci_error(
                "DIGEST_INVALID",
                f"{reference[:100]!r} is not a digest: expected 'sha256:<64 hex characters>'",
                400,
            )
        sha = match[1]
        grant = request.query_params.get("grant", "")
        if require_grant or grant:
            try:
                verify(secret, grant, sha)
            except Unauthenticated as error:
                return oci_error("UNAUTHORIZED", error.message, 401)
            except PermissionDenied as error:
                return oci_error("DENIED", error.message, 403)
        try:
            manifest = await run_in_threadpool(service.manifest, (sha, 0))
        except NotFound:
            return oci_error("BLOB_UNKNOWN", f"blob sha256:{sha} is not known", 404)
        size = manifest.size
        headers = {
            "Accept-Ranges": "bytes",
            "Docker-Content-Digest": f"sha256:{sha}",
            "Content-Type": "application/octet-stream",
        }
        span = parse_range(request.headers.get("range"), size)
        if span == "416":
            headers["Content-Range"] = f"bytes */{size}"
            # The spec has no code for ranges; SIZE_INVALID is the closest.
            return oci_error(
                "SIZE_INVALID",
                f"range {request.headers.get('range')!r} lies beyond the blob's {size} bytes",
                416,
                headers,
            )
        start, end = span if isinstance(span, tuple) else (0, size)
        status = 206 if isinstance(span, tuple) else 200
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        if request.method == "HEAD" or end == start:
            return Response(b"", status_code=status, headers=headers)
        try:
            pieces = service.read_blob((sha, 0), start, end - start)
            first, rest = await run_in_threadpool(_first, pieces)
        except DataLoss as error:
            logger.error("blob sha256:%s is corrupt: %s", sha, error.message)
            return oci_error("BLOB_UNKNOWN", f"blob sha256:{sha} is damaged: {error.message}", 500)

        def body() -> Iterator[bytes]:
            yield first
            try:
                for piece in rest:
                    yield bytes(piece.data)
            except DataLoss:
                logger.error("blob sha256:%s turned out corrupt mid-stream; cutting it", sha)
                raise

        return StreamingResponse(body(), status_code=status, headers=headers)

    return Starlette(routes=[Route("/blobs/{reference}", blob, methods=["GET", "HEAD"])])


def start_artifacts_http(settings: Settings, service: ArtifactService) -> RunningHttp | None:
    """Serve blobs on ``settings.artifacts_http_listen`` (None: HTTP off)."""
    if not settings.artifacts_http_listen:
        return None
    secret = grant_secret(settings)
    require = auth_configured(settings)
    if require and not secret:
        raise OSError(
            "artifacts HTTP: auth is on but there is no secret to check blob grants with; "
            "set MREG_SERVICE_TOKEN or MREG_BLOB_GRANT_SECRET (the gateway needs the same)"
        )
    app = build_app(service, secret, require)
    return start_http(app, settings.artifacts_http_listen, name="artifacts http", settings=settings)
