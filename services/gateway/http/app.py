"""Assembly of the gateway's HTTP application: the OCI pull API, HTTP/JSON and the web UI.

``build_app`` takes extra routes so more can be mounted on the same listener without
touching the OCI routes; HTTP/JSON (``/v1/``) comes next, the web UI's routes (``/``,
``/models/...``) last.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from services.common.auth import TokenStore
from services.common.grants import grant_secret
from services.common.http import RunningHttp, start_http
from services.common.http_auth import HttpAuth
from services.common.settings import Settings
from services.gateway.http.json_api import build_json_api
from services.gateway.http.oci import oci_routes
from services.gateway.http.openlineage import OpenLineageApi
from services.gateway.http.ui import build_ui
from services.gateway.oci_registry import OciRegistry
from services.gateway.policy import load_policy
from services.gateway.promotions import Promotions
from services.gateway.service import Gateway

logger = logging.getLogger(__name__)


def build_app(
    registry: OciRegistry, auth: HttpAuth, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The ASGI app: ``/v2/`` (OCI) first, then ``extra_routes``."""
    return Starlette(routes=[*oci_routes(registry, auth), *extra_routes])


def loopback_target(listen: str) -> str:
    """Where this process reaches its own plaintext gRPC port ``listen`` (a wildcard host
    becomes the loopback address); with TLS, use a private socket instead
    (services/common/local_socket.py)."""
    host, _, port = listen.rpartition(":")
    if host in ("", "0.0.0.0"):
        return f"127.0.0.1:{port}"
    if host in ("[::]", "::"):
        return f"[::1]:{port}"
    return listen


def build_http_app(
    settings: Settings,
    gateway: Gateway,
    extra_routes: Sequence[BaseRoute] = (),
    *,
    grpc_target: str,
) -> Starlette:
    """The gateway's HTTP app over the peers of ``gateway``, with auth as configured:
    OCI, then ``extra_routes``, then OpenLineage in (``/api/v1/lineage``) and HTTP/JSON
    (``/v1/``), both calling the gateway's own gRPC server in plaintext at ``grpc_target``
    (its private ``unix:`` socket, or its loopback port when that has no TLS), then the web
    UI (approvals under the policy file's rules)."""
    store = TokenStore(settings.auth_tokens_file) if settings.auth_tokens_file else None
    registry = OciRegistry(
        gateway.peers, settings.resolved_artifacts_http_url, grant_secret(settings)
    )
    promotions = Promotions(gateway.peers, load_policy(settings.policy_file))
    ui = build_ui(gateway, promotions, store)
    auth = HttpAuth(store)
    json_api = build_json_api(grpc_target, cloudevents_source=settings.cloudevents_source)
    lineage = OpenLineageApi(grpc_target, auth)
    routes = [*extra_routes, *lineage.routes(), *json_api.routes(), *ui.routes()]
    app = build_app(registry, auth, routes)
    app.state.before_stop = [json_api.close, ui.close]  # see services.common.http
    return app


def start_gateway_http(
    settings: Settings, gateway: Gateway, grpc_target: str
) -> RunningHttp | None:
    """Serve the gateway's HTTP app on ``settings.gateway_http_listen`` (None: HTTP off),
    its HTTP/JSON calling the gateway's gRPC server at ``grpc_target``."""
    if not settings.gateway_http_listen:
        return None
    logger.info("HTTP/JSON calls the gateway's gRPC server at %s", grpc_target)
    return start_http(
        build_http_app(settings, gateway, grpc_target=grpc_target),
        settings.gateway_http_listen,
        name="gateway http",
        settings=settings,
    )
