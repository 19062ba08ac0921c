"""Assembly of the gateway process from settings."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from services.common.auth import auth_interceptors
from services.common.server import RunningServer, ServiceBinding
from services.common.settings import Settings
from services.common.tls import channel_credentials
from services.gateway.access import METHOD_ROLES, model_of
from services.gateway.cache import ResolveCache
from services.gateway.deliveries import DeliveryPolicy, DeliveryWorker
from services.gateway.peers import Peers
from services.gateway.policy import Policy, load_policy
from services.gateway.promotions import Promotions
from services.gateway.readiness import PeerHealth
from services.gateway.reconciler import Reconciler
from services.gateway.service import Gateway, ServerLimits
from services.gateway.servicer import RegistryServicer

SERVICE_NAME = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name


def build_gateway(settings: Settings) -> Gateway:
    """The gateway's use cases, connected to the peers named in ``settings``."""
    peers = Peers(
        settings.artifacts_address,
        settings.metadata_address,
        channel_credentials(settings),
        settings.service_token.get_secret_value(),
    )
    cache = ResolveCache() if settings.resolve_cache_poll_seconds else None
    gateway = Gateway(peers, ServerLimits(settings.resolved_artifacts_public_address), cache=cache)
    if cache is not None:
        gateway.hub.poll_seconds = min(
            gateway.hub.poll_seconds, settings.resolve_cache_poll_seconds
        )
    gateway.hub.queue_size = settings.watch_queue_events
    gateway.hub.write_timeout = settings.watch_write_timeout_seconds
    gateway.allow_private_targets = settings.webhooks_allow_private_targets
    return gateway


def bindings_for(gateway: Gateway, policy: Policy | None = None) -> list[ServiceBinding]:
    """The ``RegistryService`` binding of a gateway, with its promotion policy."""
    promotions = Promotions(gateway.peers, policy or Policy())
    return [
        ServiceBinding(
            SERVICE_NAME,
            registry_pb2_grpc.add_RegistryServiceServicer_to_server,
            RegistryServicer(gateway, promotions),
            aio=True,
        )
    ]


def build_bindings(settings: Settings) -> list[ServiceBinding]:
    """The gateway's servicer, connected to the peers named in ``settings``.

    Raises :class:`PolicyError` (naming the line) when the policy file is malformed.
    """
    policy = load_policy(settings.policy_file)
    return bindings_for(build_gateway(settings), policy)


def start_background(settings: Settings, gateway: Gateway) -> Callable[[], None]:
    """Start the reconciler, the webhook delivery worker and the outbox reader (which keeps
    the resolve cache correct and wakes the worker); returns what stops them."""
    reconciler = Reconciler(
        gateway, settings.reconcile_pending_after_seconds, settings.reconcile_interval_seconds
    )
    reconciler.start()
    worker = build_delivery_worker(settings, gateway) if settings.webhooks_enabled else None
    if worker is not None:
        gateway.hub.subscribe(worker)  # new events wake it before its next poll
        worker.start()
    if gateway.cache is not None:
        gateway.hub.start()

    def stop() -> None:
        reconciler.stop()
        if worker is not None:
            worker.stop()
        if gateway.cache is not None:
            gateway.cache.stop()

    return stop


def build_delivery_worker(settings: Settings, gateway: Gateway) -> DeliveryWorker:
    """The webhook delivery worker of a gateway, configured by the MREG_WEBHOOKS_* settings."""
    policy = DeliveryPolicy(
        timeout=settings.webhooks_timeout_seconds,
        lease_seconds=settings.webhooks_lease_seconds,
        concurrency=settings.webhooks_concurrency,
        poll_seconds=settings.webhooks_poll_seconds,
        initial_backoff=settings.webhooks_initial_backoff_seconds,
        max_backoff=settings.webhooks_max_backoff_seconds,
        max_age=settings.webhooks_max_age_seconds,
        allow_private_targets=settings.webhooks_allow_private_targets,
        source=settings.cloudevents_source,
    )
    return DeliveryWorker(gateway.peers, policy)


def build_interceptors(settings: Settings) -> list[grpc.ServerInterceptor]:
    """Authentication and roles, when configured."""
    return auth_interceptors(settings, METHOD_ROLES, model_of=model_of)


def attach_gateway(running: RunningServer, gateway: Gateway, interval: float = 1.0) -> None:
    """Make a built gateway server tell the truth and stop cleanly: NOT_SERVING until both
    peers answer (probed every ``interval`` s); on stop, watchers are told to reconnect
    (UNAVAILABLE naming their cursor) before the server drains its unary calls."""
    running.set_serving(False)
    health = PeerHealth(gateway.peers, running, interval)
    health.start()

    def stop_streams() -> None:
        health.stop()
        gateway.hub.close()
        gateway.hub.stop()

    running.on_stop.append(stop_streams)
