"""Typed settings, read from ``MREG_``-prefixed environment variables.

Every process reads its configuration here and nowhere else. Each field's
environment variable is its upper-cased name with the prefix, for example
``database_url`` is ``MREG_DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.vocabulary import (
    ARTIFACTS_HTTP_PORT,
    ARTIFACTS_PORT,
    GATEWAY_HTTP_PORT,
    GATEWAY_PORT,
    METADATA_PORT,
)

#: Largest gRPC message any service sends or accepts (docs/ARCHITECTURE.md section 6.6).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Size of the data messages bulk transfers use.
PREFERRED_MESSAGE_BYTES = 1024 * 1024


class Settings(BaseSettings):
    """Configuration of the registry's processes."""

    model_config = SettingsConfigDict(env_prefix="MREG_", extra="ignore", frozen=True)

    log_level: str = Field("INFO", description="Root log level: DEBUG, INFO, WARNING, ERROR.")
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")

    data_dir: Path = Field(
        Path("mreg-data"), description="Directory for embedded defaults (SQLite file, local blobs)."
    )

    gateway_listen: str = Field(f"127.0.0.1:{GATEWAY_PORT}", description="Gateway listen address.")
    artifacts_listen: str = Field(
        f"127.0.0.1:{ARTIFACTS_PORT}", description="Artifact service listen address."
    )
    metadata_listen: str = Field(
        f"127.0.0.1:{METADATA_PORT}", description="Metadata service listen address."
    )

    artifacts_address: str = Field(
        f"127.0.0.1:{ARTIFACTS_PORT}", description="Where the gateway reaches the artifact service."
    )
    artifacts_public_address: str = Field(
        "",
        description="Artifact service address the gateway gives clients; "
        "defaults to artifacts_address.",
    )
    metadata_address: str = Field(
        f"127.0.0.1:{METADATA_PORT}", description="Where the gateway reaches the metadata service."
    )

    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the metadata database; "
        "defaults to SQLite at {data_dir}/metadata.db.",
    )

    artifacts_database_url: str = Field(
        "",
        description="SQLAlchemy URL of the artifact service's index database (pins); "
        "defaults to SQLite at {data_dir}/artifacts-index.db. PostgreSQL in production, "
        "shared by every artifact service instance.",
    )

    storage_backend: Literal["local", "s3"] = Field("local", description="Blob storage backend.")
    storage_path: Path | None = Field(
        None, description="Root of the local backend; defaults to {data_dir}/artifacts."
    )
    s3_bucket: str = Field("", description="S3 bucket of the s3 backend.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket.")
    s3_endpoint_url: str = Field("", description="S3 endpoint URL (MinIO, moto); empty for AWS.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    scrub_max_mb_per_second: float = Field(
        50.0,
        ge=0,
        description="Rate limit of a storage scrub in MB/s (10^6 bytes/s) read; 0: unbounded.",
    )
    compact: bool = Field(
        True,
        description="Compress chunks stored raw in the background, after uploads (zstd, "
        "byte-grouped for numbers) where it saves at least 5%.",
    )
    compact_delay_seconds: float = Field(
        2.0,
        ge=0,
        description="Seconds uploads must be quiet before the compactor starts on a blob.",
    )
    compact_max_mb_per_second: float = Field(
        0.0, ge=0, description="Rate limit of the compactor in MB/s of raw bytes; 0: unbounded."
    )

    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus /metrics endpoint; 0 disables it."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the metrics endpoint binds.")

    auth_tokens_file: Path | None = Field(
        None,
        description="Tokens file (hashed bearer tokens, `mreg token create`); enables auth "
        "on the gateway and the artifact service.",
    )
    service_token: SecretStr = Field(
        SecretStr(""),
        description="Shared secret the services present to each other; the metadata "
        "service accepts only callers holding it.",
    )

    gateway_http_listen: str = Field(
        f"127.0.0.1:{GATEWAY_HTTP_PORT}",
        description="Gateway HTTP listen address (OCI distribution pull API under /v2/); "
        "empty turns HTTP off.",
    )
    artifacts_http_listen: str = Field(
        f"127.0.0.1:{ARTIFACTS_HTTP_PORT}",
        description="Artifact service HTTP listen address (blob downloads the gateway "
        "redirects OCI clients to); empty turns HTTP off.",
    )
    artifacts_http_public_url: str = Field(
        "",
        description="Base URL of the artifact service's HTTP endpoint as clients reach it, "
        "e.g. http://artifacts.example:8081; defaults to http://{artifacts_http_listen}.",
    )
    blob_grant_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret the gateway signs blob download grants with and the artifact "
        "service checks them with; defaults to the service token.",
    )

    tls_cert_file: Path | None = Field(None, description="PEM certificate; enables TLS on ports.")
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    tls_client_ca_file: Path | None = Field(
        None, description="PEM CA of client certificates; when set, servers require mutual TLS."
    )
    tls_ca_file: Path | None = Field(
        None, description="PEM CA bundle used to verify the services this one calls (TLS on)."
    )
    tls_client_cert_file: Path | None = Field(
        None, description="PEM client certificate presented to peers that require mutual TLS."
    )
    tls_client_key_file: Path | None = Field(
        None, description="PEM private key of tls_client_cert_file."
    )

    policy_file: Path | None = Field(
        None,
        description="Promotion policy (YAML, or TOML by its .toml suffix); none: no gates "
        "and no approvals, only the stage transition table.",
    )
    reconcile_pending_after_seconds: float = Field(
        60.0, gt=0, description="Age after which the gateway settles a PENDING registration."
    )
    reconcile_interval_seconds: float = Field(
        15.0, gt=0, description="How often the gateway looks for stale PENDING registrations."
    )

    resolve_cache_poll_seconds: float = Field(
        0.1,
        ge=0,
        description="Most time between the gateway's reads of the event outbox (one reader "
        "keeps the resolve cache correct and feeds every watcher); 0 turns the cache off.",
    )

    otel_exporter: Literal["", "console", "otlp"] = Field(
        "", description="OpenTelemetry span exporter; empty turns tracing off."
    )
    otel_endpoint: str = Field(
        "", description="OTLP/gRPC collector endpoint, e.g. http://otel-collector:4317."
    )

    max_workers: int = Field(32, ge=1, description="Threads serving RPCs per service.")
    watch_queue_events: int = Field(
        1000,
        ge=1,
        description="Events a WatchEvents stream may fall behind (newest event minus the "
        "last one written to it) before the gateway may drop it as a slow consumer.",
    )
    watch_write_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long one write to a WatchEvents stream may wait for its client "
        "(HTTP/2 flow control) before a stream that is also MREG_WATCH_QUEUE_EVENTS behind "
        "is dropped (RESOURCE_EXHAUSTED naming its resume cursor).",
    )
    cloudevents_source: str = Field(
        "",
        description="The CloudEvents `source` of this registry's events (SSE with "
        "?format=cloudevents, webhook deliveries); empty: mreg://<host name>.",
    )
    webhooks_allow_private_targets: bool = Field(
        False,
        description="Let webhooks target loopback, private and link-local addresses "
        "(refused by default, so a webhook cannot reach internal services).",
    )
    webhooks_enabled: bool = Field(True, description="Run the gateway's webhook delivery worker.")
    webhooks_poll_seconds: float = Field(
        0.2, gt=0, description="Most time between the delivery worker's claims when idle."
    )
    webhooks_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=60,
        description="Bound on one delivery attempt (connect, send, answer).",
    )
    webhooks_lease_seconds: int = Field(
        60,
        ge=1,
        le=3600,
        description="How long a claimed delivery is leased to one gateway; a gateway that "
        "dies leaves its deliveries to others once the lease ends. Must exceed the timeout.",
    )
    webhooks_concurrency: int = Field(
        32, ge=1, le=1000, description="Deliveries one gateway sends at once (one per webhook)."
    )
    webhooks_initial_backoff_seconds: float = Field(
        1.0, gt=0, description="Wait before the first retry; doubled each attempt, with jitter."
    )
    webhooks_max_backoff_seconds: float = Field(
        600.0, gt=0, description="Longest wait between two attempts."
    )
    webhooks_max_age_seconds: float = Field(
        86400.0,
        gt=0,
        description="A delivery still failing this long after its event is parked "
        "(visible in `mreg webhook deliveries`, redeliverable by hand).",
    )
    max_streams_per_principal: int = Field(
        256,
        ge=1,
        description="Upload and read streams one principal may have open at once on the "
        "artifact service; past it a new stream answers RESOURCE_EXHAUSTED.",
    )
    upload_idle_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Seconds an upload stream may send nothing before the artifact service "
        "ends it (ABORTED); the upload resumes from its committed offset.",
    )
    backend_probe_seconds: float = Field(
        5.0,
        ge=0,
        description="How often the artifact service writes a probe object to its storage "
        "backend; health is NOT_SERVING while the write fails. 0 turns the probe off.",
    )
    grpc_keepalive_seconds: float = Field(
        30.0,
        ge=1,
        description="Keepalive ping interval of every gRPC channel; servers accept pings "
        "twice as often, so connections between the services are never dropped for pinging.",
    )
    shutdown_grace_seconds: float = Field(
        10.0, ge=0, description="Seconds in-flight RPCs get to finish on SIGTERM."
    )

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        if self.webhooks_lease_seconds <= self.webhooks_timeout_seconds:
            raise ValueError(
                f"MREG_WEBHOOKS_LEASE_SECONDS ({self.webhooks_lease_seconds}) must exceed "
                f"MREG_WEBHOOKS_TIMEOUT_SECONDS ({self.webhooks_timeout_seconds:g}): a lease "
                "that ends during an attempt lets another gateway send the same delivery"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The metadata database URL, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'metadata.db').resolve()}"

    @property
    def resolved_artifacts_database_url(self) -> str:
        """The artifact index URL, with the embedded SQLite default filled in."""
        if self.artifacts_database_url:
            return self.artifacts_database_url
        return f"sqlite:///{(self.data_dir / 'artifacts-index.db').resolve()}"

    @property
    def resolved_storage_path(self) -> Path:
        """Root directory of the local storage backend."""
        return self.storage_path or self.data_dir / "artifacts"

    @property
    def resolved_artifacts_http_url(self) -> str:
        """Base URL the gateway redirects OCI blob requests to."""
        return (self.artifacts_http_public_url or f"http://{self.artifacts_http_listen}").rstrip(
            "/"
        )

    @property
    def resolved_artifacts_public_address(self) -> str:
        """The artifact service address clients are told to use."""
        return self.artifacts_public_address or self.artifacts_address


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword arguments override it."""
    # any field by keyword, checked by pydantic at run time (mypy sees them as object)
    return Settings(**overrides)  # type: ignore[arg-type]
