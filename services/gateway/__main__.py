"""``python -m services.gateway``: run the gateway on ``MREG_GATEWAY_LISTEN``."""

from __future__ import annotations

from services.common.runner import run_service
from services.common.settings import load_settings
from services.gateway.app import build_bindings, build_interceptors


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    settings = load_settings()
    run_service(
        "gateway",
        settings,
        settings.gateway_listen,
        build_bindings,
        make_interceptors=build_interceptors,
    )


if __name__ == "__main__":
    main()
