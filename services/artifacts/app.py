"""Assembly of the artifact service from settings, served on ``grpc.aio``."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc
from services.artifacts.aio_servicer import AsyncArtifactServicer
from services.artifacts.backends import open_backend
from services.artifacts.index.chunks import ChunkIndex
from services.artifacts.index.database import open_index
from services.artifacts.index.identity import bind
from services.artifacts.index.legacy import import_legacy_pins
from services.artifacts.index.pins import PinIndex
from services.artifacts.limits import StreamLimiter
from services.artifacts.probe import BackendProbe
from services.artifacts.service import ArtifactService
from services.common.server import AioRunningServer, ServiceBinding, build_aio_server
from services.common.settings import Settings

SERVICE_NAME = artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"].full_name


def build_service(settings: Settings) -> ArtifactService:
    """The artifact service's use cases over the backend and the index ``settings`` name.

    The index is migrated first and checked to be the store's own
    (:class:`~services.artifacts.index.identity.IndexMismatch` otherwise), then pin objects
    older code left in the backend are imported into it
    (:mod:`services.artifacts.index.legacy`), and once per index the chunks stored before
    the index held chunks (:meth:`~services.artifacts.index.chunks.ChunkIndex.import_backend`).
    """
    backend = open_backend(settings)
    index = open_index(settings.resolved_artifacts_database_url)
    try:
        bind(backend, index)
    except BaseException:
        index.dispose()
        backend.close()
        raise
    import_legacy_pins(backend, PinIndex(index))
    ChunkIndex(index).import_backend(backend)
    return ArtifactService(
        backend,
        index,
        default_scrub_rate=settings.scrub_max_mb_per_second,
        compact=settings.compact,
        compact_delay_seconds=settings.compact_delay_seconds,
        compact_max_mb_per_second=settings.compact_max_mb_per_second,
    )


def bindings_for(
    service: ArtifactService, settings: Settings | None = None
) -> list[ServiceBinding]:
    """The ``ArtifactService`` binding of a service (for an aio server: its streams are
    coroutines), with the stream limit and idle timeout of ``settings``."""
    settings = settings or Settings()
    servicer = AsyncArtifactServicer(
        service,
        ThreadPoolExecutor(settings.max_workers, thread_name_prefix="artifacts-rpc"),
        limiter=StreamLimiter(settings.max_streams_per_principal),
        idle_timeout=settings.upload_idle_timeout_seconds,
        # Half the grace to take what clients still send, the rest to store it.
        drain_seconds=settings.shutdown_grace_seconds / 2,
    )
    return [
        ServiceBinding(
            SERVICE_NAME,
            artifacts_pb2_grpc.add_ArtifactServiceServicer_to_server,
            servicer,
            aio=True,
        )
    ]


def build_server(
    address: str,
    service: ArtifactService,
    settings: Settings,
    *,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> AioRunningServer:
    """The artifact service's aio server on ``address`` (not started).

    Its health follows the probe (every ``backend_probe_seconds``) of a backend write and
    an index query; the probe
    stops when the server stops. On stop, open uploads are drained first (they store what
    they received and end with UNAVAILABLE naming their offset), within the shutdown grace.
    """
    bindings = bindings_for(service, settings)
    running = build_aio_server(
        address,
        bindings,
        max_workers=settings.max_workers,
        interceptors=interceptors,
        credentials=credentials,
    )
    servicer: AsyncArtifactServicer = bindings[0].servicer
    grace = settings.shutdown_grace_seconds
    running.on_stopping.append(lambda: running.loop.run(servicer.refuse_new(), timeout=10))
    running.on_stop.append(lambda: running.loop.run(servicer.drain(grace), timeout=grace + 10))
    if settings.backend_probe_seconds > 0:
        probe = BackendProbe(
            service.backend,
            settings.backend_probe_seconds,
            running.set_serving,
            index=service.index,
        )
        probe.start()
        running.on_stop.insert(0, probe.stop)
    return running


def build_bindings(settings: Settings) -> list[ServiceBinding]:
    """The artifact service binding over the backend ``settings`` name."""
    return bindings_for(build_service(settings), settings)
