"""Assembly of the metadata service: schema migration, the schema check, service bindings."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
from alembic.config import Config

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from services.common.auth import auth_interceptors
from services.common.database import SchemaMigrations
from services.common.database import SchemaOutOfDate as SchemaOutOfDate  # re-exported
from services.common.server import ServiceBinding
from services.common.settings import Settings
from services.metadata.access import METHOD_ROLES
from services.metadata.service import MetadataService
from services.metadata.servicer import MetadataServicer

logger = logging.getLogger(__name__)

SERVICE_NAME = metadata_pb2.DESCRIPTOR.services_by_name["MetadataService"].full_name
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE_COMMAND = "python -m services.metadata migrate"


class AuthMisconfigured(RuntimeError):
    """Authentication is configured, but not in a way this service can enforce."""


def check_auth_settings(settings: Settings) -> None:
    """Refuse (:class:`AuthMisconfigured`) a tokens file without a service token.

    The metadata service admits only callers holding ``MREG_SERVICE_TOKEN``; with a tokens
    file but no service token it would admit everyone, so it never starts that way.
    """
    if settings.auth_tokens_file is not None and not settings.service_token.get_secret_value():
        raise AuthMisconfigured(
            f"the metadata service will not start: MREG_AUTH_TOKENS_FILE is set "
            f"({settings.auth_tokens_file}), so the registry requires authentication, but "
            "MREG_SERVICE_TOKEN is not set, so the metadata service would answer any caller; "
            "set MREG_SERVICE_TOKEN to the secret the gateway also uses"
        )


SCHEMA = SchemaMigrations(
    MIGRATIONS,
    name="metadata",
    command=MIGRATE_COMMAND,
    setting="MREG_DATABASE_URL",
    hint="`mreg serve` migrates its embedded SQLite itself",
)


def _alembic_config(database_url: str) -> Config:
    return SCHEMA.config(database_url)


def head_revision() -> str:
    """The newest migration revision."""
    return SCHEMA.head()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None for an empty (or absent SQLite) database."""
    return SCHEMA.current(database_url)


def migrate(database_url: str) -> None:
    """Upgrade the schema to the newest revision (creating it in an empty database)."""
    SCHEMA.upgrade(database_url)


def check_schema(database_url: str) -> None:
    """Raise :class:`SchemaOutOfDate`, naming the command that fixes it, unless up to date."""
    SCHEMA.check(database_url)


def build_service(database_url: str) -> MetadataService:
    """The use cases over a database whose schema is checked first."""
    check_schema(database_url)
    return MetadataService.open(database_url)


def build_interceptors(settings: Settings) -> list[grpc.ServerInterceptor]:
    """Service-token authentication when configured: only the registry's services call here.

    Refuses (:class:`AuthMisconfigured`) a tokens file without a service token.
    """
    check_auth_settings(settings)
    return auth_interceptors(settings, METHOD_ROLES, services_only=True)


def build_bindings(settings: Settings) -> list[ServiceBinding]:
    """The metadata servicer over ``settings.resolved_database_url``.

    Refuses to start (:class:`SchemaOutOfDate`) on a database that is not migrated, and
    (:class:`AuthMisconfigured`) with a tokens file but no service token.
    """
    check_auth_settings(settings)
    service = build_service(settings.resolved_database_url)
    return [
        ServiceBinding(
            SERVICE_NAME,
            metadata_pb2_grpc.add_MetadataServiceServicer_to_server,
            MetadataServicer(service),
        )
    ]
