"""Assembly of the gateway's HTTP application: the OCI pull API, HTTP/JSON and the web UI.

``build_app`` takes extra routes so more can be mounted on the same listener without
touching the OCI routes; HTTP/JSON (``/v1/``) comes next, the web UI's routes (``/``,
``/models/...``) last.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from services.common.auth import TokenStore
from services.common.grants import grant_secret
from services.common.http import RunningHttp, start_http
from services.common.http_auth import HttpAuth
from services.common.settings import Settings
from services.common.tls import channel_credentials
from services.gateway.http.json_api import build_json_api
from services.gateway.http.oci import oci_routes
from services.gateway.http.ui import build_ui
from services.gateway.oci_registry import OciRegistry
from services.gateway.policy import load_policy
from services.gateway.promotions import Promotions
from services.gateway.service import Gateway


def build_app(
    registry: OciRegistry, auth: HttpAuth, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The ASGI app: ``/v2/`` (OCI) first, then ``extra_routes``."""
    return Starlette(routes=[*oci_routes(registry, auth), *extra_routes])


def loopback_target(listen: str) -> str:
    """Where this process reaches its own gRPC port ``listen`` (a wildcard host becomes
    the loopback address)."""
    host, _, port = listen.rpartition(":")
    if host in ("", "0.0.0.0"):
        return f"127.0.0.1:{port}"
    if host in ("[::]", "::"):
        return f"[::1]:{port}"
    return listen


def build_http_app(
    settings: Settings, gateway: Gateway, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The gateway's HTTP app over the peers of ``gateway``, with auth as configured:
    OCI, then ``extra_routes``, then HTTP/JSON (``/v1/``, calling the gateway's gRPC
    port ``settings.gateway_listen``), then the web UI (approvals under the policy file's
    rules)."""
    store = TokenStore(settings.auth_tokens_file) if settings.auth_tokens_file else None
    registry = OciRegistry(
        gateway.peers, settings.resolved_artifacts_http_url, grant_secret(settings)
    )
    promotions = Promotions(gateway.peers, load_policy(settings.policy_file))
    ui = build_ui(gateway, promotions, store)
    json_api = build_json_api(
        loopback_target(settings.gateway_listen),
        channel_credentials(settings),
        settings.cloudevents_source,
    )
    routes = [*extra_routes, *json_api.routes(), *ui.routes()]
    app = build_app(registry, HttpAuth(store), routes)
    app.state.before_stop = [json_api.close, ui.close]  # see services.common.http
    return app


def start_gateway_http(settings: Settings, gateway: Gateway) -> RunningHttp | None:
    """Serve the gateway's HTTP app on ``settings.gateway_http_listen`` (None: HTTP off)."""
    if not settings.gateway_http_listen:
        return None
    return start_http(
        build_http_app(settings, gateway),
        settings.gateway_http_listen,
        name="gateway http",
        settings=settings,
    )
