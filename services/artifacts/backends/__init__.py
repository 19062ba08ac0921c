"""Storage backends of the artifact service and the factory that picks one from settings."""

from __future__ import annotations

from services.artifacts.backends.base import Backend, ObjectInfo, ObjectNotFound
from services.common.settings import Settings

__all__ = ["Backend", "ObjectInfo", "ObjectNotFound", "open_backend"]


def open_backend(settings: Settings) -> Backend:
    """The backend ``settings.storage_backend`` names, ``local`` or ``s3``, counted, timed
    and traced (:class:`~services.artifacts.backends.metered.MeteredBackend`)."""
    from services.artifacts.backends.metered import MeteredBackend

    if settings.storage_backend == "s3":
        from services.artifacts.backends.s3 import S3Backend

        s3 = S3Backend(
            settings.s3_bucket,
            settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
        )
        return MeteredBackend(s3, "s3")
    from services.artifacts.backends.local import LocalBackend

    return MeteredBackend(LocalBackend(settings.resolved_storage_path), "local")
