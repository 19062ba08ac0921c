"""Routes of the OCI distribution pull API (``/v2/``), read-only.

Each route authenticates, asks :class:`OciRegistry` and shapes the answer; errors use the
distribution-spec body ``{"errors": [{"code", "message", "detail"}]}``. Pushes answer 405
``UNSUPPORTED``: models are pushed with ``mreg push``, where deduplication happens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.common.auth import Identity, Role
from services.common.errors import PermissionDenied, RegistryError, Unauthenticated
from services.common.http import oci_error
from services.common.http_auth import CHALLENGE, HttpAuth
from services.gateway import oci_manifests as oci
from services.gateway.oci_registry import OciError, OciRegistry

logger = logging.getLogger(__name__)

_STATUS = {
    "NAME_INVALID": 400,
    "DIGEST_INVALID": 400,
    "PAGINATION_NUMBER_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "NAME_UNKNOWN": 404,
    "MANIFEST_UNKNOWN": 404,
    "BLOB_UNKNOWN": 404,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
}
_READS = ("GET", "HEAD")
_PUSHES = ("POST", "PUT", "PATCH", "DELETE")
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}


def error_response(code: str, message: str, status: int | None = None) -> JSONResponse:
    """A distribution-spec error body with the status its code takes."""
    headers = dict(API_VERSION)
    if code == "UNAUTHORIZED":
        headers["WWW-Authenticate"] = CHALLENGE
    return oci_error(code, message, status or _STATUS.get(code, 500), headers)


def _unsupported(request: Request) -> Response:
    return error_response(
        "UNSUPPORTED",
        f"{request.method} {request.url.path}: this registry is read-only over OCI; "
        "push models with 'mreg push'",
    )


Handler = Callable[[Request, Identity], Response]


def _page_params(request: Request) -> tuple[int | None, str]:
    """``n`` (None: everything) and ``last`` of a listing."""
    n_text = request.query_params.get("n")
    if n_text is not None and not n_text.isdigit():
        raise OciError(
            "PAGINATION_NUMBER_INVALID", f"n must be a non-negative integer, got {n_text!r}"
        )
    return (int(n_text) if n_text is not None else None), request.query_params.get("last", "")


def _endpoint(
    auth: HttpAuth, handler: Handler, unknown: str = "NAME_UNKNOWN"
) -> Callable[[Request], Response]:
    """Authenticate, run ``handler`` and map every failure to an OCI error body.

    The spec's codes name no server failure, so a backend that cannot answer gives a 503
    (500 for a bug) with ``unknown``, the "not known" code of the endpoint, and a message
    saying what failed.
    """

    def endpoint(request: Request) -> Response:
        if request.method in _PUSHES:
            return _unsupported(request)
        try:
            return handler(request, auth.identify(request.headers))
        except OciError as error:
            return error_response(error.code, error.message)
        except Unauthenticated as error:
            return error_response("UNAUTHORIZED", error.message)
        except PermissionDenied as error:
            return error_response("DENIED", error.message)
        except RegistryError as error:
            logger.warning("OCI %s %s failed: %s", request.method, request.url.path, error)
            return error_response(unknown, f"the registry cannot answer now: {error.message}", 503)
        except Exception:
            logger.exception("OCI %s %s failed", request.method, request.url.path)
            return error_response(unknown, "internal error; the registry logged it", 500)

    return endpoint


def oci_routes(registry: OciRegistry, auth: HttpAuth) -> list[BaseRoute]:
    """The ``/v2/`` routes (to mount at the application's root)."""

    def base(request: Request, identity: Identity) -> Response:
        return JSONResponse({}, headers=API_VERSION)

    def manifest(request: Request, identity: Identity) -> Response:
        model = registry.check(identity, request.path_params["name"])
        artifact = registry.manifest(identity, model, request.path_params["reference"])
        return Response(
            artifact.manifest,
            media_type=oci.MANIFEST_MEDIA_TYPE,
            headers={**API_VERSION, "Docker-Content-Digest": artifact.digest},
        )

    def blob(request: Request, identity: Identity) -> Response:
        model = registry.check(identity, request.path_params["name"])
        answer = registry.blob(identity, model, request.path_params["reference"])
        headers = {**API_VERSION, "Docker-Content-Digest": answer.digest}
        if answer.content is not None:
            return Response(answer.content, media_type=oci.CONFIG_MEDIA_TYPE, headers=headers)
        return RedirectResponse(answer.location, status_code=307, headers=headers)

    def tags(request: Request, identity: Identity) -> Response:
        model = registry.check(identity, request.path_params["name"])
        n, last = _page_params(request)
        page, more = oci.page_of_tags(registry.tags(identity, model), n, last)
        headers = dict(API_VERSION)
        if more and page:
            link = f"/v2/{model}/tags/list?n={n}&last={quote(page[-1])}"
            headers["Link"] = f'<{link}>; rel="next"'
        body = json.dumps({"name": model, "tags": page}).encode()
        return Response(body, media_type="application/json", headers=headers)

    def catalog(request: Request, identity: Identity) -> Response:
        if not identity.has(Role.READER):
            raise OciError("DENIED", f"{identity.principal} may not list: it needs the reader role")
        n, last = _page_params(request)
        page, more = oci.page_of_tags(registry.repositories(identity), n, last)
        headers = dict(API_VERSION)
        if more and page:
            headers["Link"] = f'</v2/_catalog?n={n}&last={quote(page[-1])}>; rel="next"'
        body = json.dumps({"repositories": page}).encode()
        return Response(body, media_type="application/json", headers=headers)

    def unknown(request: Request, identity: Identity) -> Response:
        return error_response("NAME_UNKNOWN", f"no OCI endpoint at {request.url.path}", 404)

    methods = [*_READS, *_PUSHES]
    return [
        Route("/v2/", _endpoint(auth, base), methods=methods),
        Route("/v2/_catalog", _endpoint(auth, catalog), methods=methods),
        Route(
            "/v2/{name:path}/manifests/{reference}",
            _endpoint(auth, manifest, "MANIFEST_UNKNOWN"),
            methods=methods,
        ),
        Route(
            "/v2/{name:path}/blobs/{reference}",
            _endpoint(auth, blob, "BLOB_UNKNOWN"),
            methods=methods,
        ),
        Route("/v2/{name:path}/tags/list", _endpoint(auth, tags), methods=methods),
        Route("/v2/{rest:path}", _endpoint(auth, unknown), methods=methods),
    ]
