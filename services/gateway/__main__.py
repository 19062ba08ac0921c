"""``python -m services.gateway``: run the gateway on ``MREG_GATEWAY_LISTEN``."""

from __future__ import annotations

from services.common.runner import prepare_process, run_service
from services.common.settings import load_settings
from services.gateway.app import bindings_for, build_gateway, build_interceptors, start_background
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
    stop_background = start_background(settings, gateway)
    run_service(
        "gateway",
        settings,
        settings.gateway_listen,
        lambda _settings: bindings_for(gateway, policy),
        on_stop=stop_background,
        make_interceptors=build_interceptors,
    )


if __name__ == "__main__":
    main()
