"""``python -m services.gateway``: run the gateway on ``MREG_GATEWAY_LISTEN``, and its HTTP
listener (OCI pull API, HTTP/JSON, web UI) on ``MREG_GATEWAY_HTTP_LISTEN``; either may
name port 0 (a free port, logged)."""

from __future__ import annotations

from services.common.auth import check_bind_is_safe
from services.common.local_socket import PrivateSocket
from services.common.runner import prepare_process, run_service
from services.common.settings import load_settings
from services.gateway.app import (
    attach_gateway,
    bindings_for,
    build_gateway,
    build_interceptors,
    start_background,
)
from services.gateway.http.app import start_gateway_http
from services.gateway.policy import PolicyError, load_policy


def main() -> None:
    """Serve until SIGTERM or SIGINT, settling stale registrations in the background."""
    settings = load_settings()
    prepare_process("gateway", settings)  # before channels exist, so tracing sees them
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as error:
        raise SystemExit(f"gateway: cannot start: {error}") from None
    gateway = build_gateway(settings)
    check_bind_is_safe("gateway", settings.gateway_listen, settings, False)  # before HTTP binds
    if settings.gateway_http_listen:
        check_bind_is_safe("gateway http", settings.gateway_http_listen, settings, False)
    # HTTP/JSON reaches the gRPC server through a private socket, never its TCP port.
    local = PrivateSocket("gateway")
    try:
        http = start_gateway_http(settings, gateway, local.address)
        stop_background = start_background(settings, gateway)

        def stop() -> None:
            if http is not None:
                http.stop(settings.shutdown_grace_seconds)
            stop_background()

        run_service(
            "gateway",
            settings,
            settings.gateway_listen,
            lambda _settings: bindings_for(gateway, policy),
            on_stop=stop,
            make_interceptors=build_interceptors,
            on_built=lambda running: attach_gateway(running, gateway),
            local_address=local.address,
        )
    finally:
        local.remove()


if __name__ == "__main__":
    main()
