"""``mreg.Client``: the registry from Python, for training jobs, serving sidecars and people."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import grpc

from modelregistry.v1 import (
    artifacts_pb2_grpc,
    metadata_pb2,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from mreg.errors import UnavailableError
from mreg.retry import call_with_retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_GATEWAY = "127.0.0.1:50051"
_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
]
_BUMPS = {
    None: metadata_pb2.VERSION_BUMP_UNSPECIFIED,
    "major": metadata_pb2.VERSION_BUMP_MAJOR,
    "breaking": metadata_pb2.VERSION_BUMP_MAJOR,
    "minor": metadata_pb2.VERSION_BUMP_MINOR,
    "feature": metadata_pb2.VERSION_BUMP_MINOR,
    "patch": metadata_pb2.VERSION_BUMP_PATCH,
}


class Client:
    """A connection to a registry's gateway (and, for bytes, its artifact service).

    ``token`` (or ``$MREG_TOKEN``) is sent as a bearer token when the registry needs one.
    Every call takes ``timeout`` seconds at most, retrying transient failures
    (UNAVAILABLE, ABORTED) with backoff inside that bound. Failures raise
    :class:`mreg.errors.MregError` subclasses that keep the server's message and details.
    """

    def __init__(
        self, gateway: str | None = None, *, token: str | None = None, timeout: float = 60.0
    ) -> None:
        self.gateway_address = gateway or os.environ.get("MREG_GATEWAY", DEFAULT_GATEWAY)
        self.timeout = timeout
        token = token or os.environ.get("MREG_TOKEN", "")
        #: Headers sent with every call: the bearer token, when there is one.
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        self._channel = grpc.insecure_channel(self.gateway_address, options=_CHANNEL_OPTIONS)
        self.registry = registry_pb2_grpc.RegistryServiceStub(self._channel)
        self._artifacts_channel: grpc.Channel | None = None
        self._artifacts: artifacts_pb2_grpc.ArtifactServiceStub | None = None
        self._server_info: registry_pb2.GetServerInfoResponse | None = None

    # ------------------------------------------------------------------ plumbing

    def _call(self, fn: Callable[[float], T], timeout: float | None = None) -> T:
        try:
            return call_with_retry(fn, deadline=timeout or self.timeout)
        except UnavailableError as error:
            error.message = f"cannot reach the registry at {self.gateway_address}: {error}"
            raise

    def _unary(self, method: str, request: Any, timeout: float | None = None) -> Any:
        rpc = getattr(self.registry, method)
        return self._call(lambda left: rpc(request, timeout=left, metadata=self.metadata), timeout)

    def server_info(self) -> registry_pb2.GetServerInfoResponse:
        """Where bytes go and the limits to use (asked once, then remembered)."""
        if self._server_info is None:
            self._server_info = self._unary("GetServerInfo", registry_pb2.GetServerInfoRequest())
        return self._server_info

    @property
    def artifacts(self) -> artifacts_pb2_grpc.ArtifactServiceStub:
        """A stub of the artifact service the gateway names."""
        if self._artifacts is None:
            address = self.server_info().artifact_service_address
            self._artifacts_channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
            self._artifacts = artifacts_pb2_grpc.ArtifactServiceStub(self._artifacts_channel)
        return self._artifacts

    def close(self) -> None:
        """Close the connections."""
        self._channel.close()
        if self._artifacts_channel is not None:
            self._artifacts_channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reads

    def resolve(self, reference: str) -> resources_pb2.ModelVersion:
        """``name``, ``name:1.2.0``, ``name@alias`` or ``name@production`` -> the version."""
        request = metadata_pb2.ResolveModelVersionRequest(reference=reference)
        return self._unary("ResolveModelVersion", request).model_version

    def get_version(self, model: str, version: str) -> resources_pb2.ModelVersion:
        """One version of a model."""
        request = metadata_pb2.GetModelVersionRequest(name=f"models/{model}/versions/{version}")
        return self._unary("GetModelVersion", request).model_version

    def get_model(self, model: str) -> resources_pb2.Model:
        """A registered model."""
        return self._unary("GetModel", metadata_pb2.GetModelRequest(name=f"models/{model}")).model

    def list_versions(self, model: str, page_size: int = 50) -> list[resources_pb2.ModelVersion]:
        """Every version of a model, newest first (all pages)."""
        versions: list[resources_pb2.ModelVersion] = []
        token = ""
        while True:
            page = self._unary(
                "ListModelVersions",
                metadata_pb2.ListModelVersionsRequest(
                    parent=f"models/{model}", page_size=page_size, page_token=token
                ),
            )
            versions.extend(page.model_versions)
            token = page.next_page_token
            if not token:
                return versions

    # ------------------------------------------------------------------ writes

    def register(
        self,
        model: str,
        digest: resources_pb2.Digest,
        *,
        version: str = "",
        bump: str | None = None,
        is_tree: bool = False,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        hyperparameters: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        request_id: str | None = None,
        **fields: Any,
    ) -> resources_pb2.ModelVersion:
        """Register an uploaded artifact as a version; retried safely with one request id."""
        if bump not in _BUMPS:
            raise ValueError(f"bump must be one of {sorted(k for k in _BUMPS if k)}, got {bump!r}")
        request = registry_pb2.RegisterModelVersionRequest(
            parent=f"models/{model}",
            model_version=resources_pb2.ModelVersion(
                version=version,
                artifact_digest=digest,
                artifact_is_tree=is_tree,
                metrics=dict(metrics or {}),
                params={k: str(v) for k, v in (params or {}).items()},
                hyperparameters={k: str(v) for k, v in (hyperparameters or {}).items()},
                tags=dict(tags or {}),
                description=description,
                **fields,
            ),
            bump=_BUMPS[bump],
            request_id=request_id or str(uuid.uuid4()),
        )
        return self._unary("RegisterModelVersion", request).model_version
