"""``mreg.Client``: the registry from Python, for training jobs, serving sidecars and people."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc

from modelregistry.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from mreg.connection import Transport
from mreg.errors import UnavailableError
from mreg.hashcache import HashCache
from mreg.operations import Operations
from mreg.retry import RetryRule, call_with_retry, rules_of
from mreg.transfer import (
    Progress,
    RemoteFile,
    TransferStats,
    chunk_algorithm,
    collect_files,
    commit_files,
    download_files,
    hash_files,
    upload_missing,
)
from mreg.webhooks import WebhookOperations

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_GATEWAY = "127.0.0.1:50051"
_REGISTRY_RULES = rules_of(registry_pb2.DESCRIPTOR.services_by_name["RegistryService"])
_ARTIFACT_RULES = rules_of(artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"])
_BUMPS = {
    None: resources_pb2.VERSION_BUMP_UNSPECIFIED,
    "major": resources_pb2.VERSION_BUMP_MAJOR,
    "breaking": resources_pb2.VERSION_BUMP_MAJOR,
    "minor": resources_pb2.VERSION_BUMP_MINOR,
    "feature": resources_pb2.VERSION_BUMP_MINOR,
    "patch": resources_pb2.VERSION_BUMP_PATCH,
}


class Client(Operations, WebhookOperations):
    """A connection to a registry's gateway (and, for bytes, its artifact service).

    ``token`` (or ``$MREG_TOKEN``) is sent as a bearer token when the registry needs one,
    and only over TLS or to a loopback address. TLS is on with ``tls=True`` (or
    ``$MREG_TLS=1``), an ``https://host:port`` gateway, or any of ``ca_file``
    (``$MREG_CA_FILE``; the system's roots without it), ``cert_file`` and ``key_file``
    (``$MREG_CERT_FILE``, ``$MREG_KEY_FILE``: a client certificate for mutual TLS). The
    artifact service the gateway names is reached with the same settings.

    Every call takes ``timeout`` seconds at most. Calls that are safe to repeat (reads the
    proto marks idempotent, and writes with a request id, which the client fills in) are
    retried after UNAVAILABLE or ABORTED with backoff inside that bound; others are not.
    Failures raise :class:`mreg.errors.MregError` subclasses that keep the server's message
    and details.
    """

    def __init__(
        self,
        gateway: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        tls: bool | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        cert_file: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.gateway_address, self.transport = Transport.resolve(
            gateway or os.environ.get("MREG_GATEWAY", DEFAULT_GATEWAY),
            tls=tls,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )
        self.timeout = timeout
        token = token or os.environ.get("MREG_TOKEN", "")
        #: Headers sent with every call: the bearer token, when there is one.
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        self._channel = self.transport.open(self.gateway_address, sends_token=bool(token))
        self.registry = registry_pb2_grpc.RegistryServiceStub(self._channel)
        self._artifacts_channel: grpc.Channel | None = None
        self._artifacts: artifacts_pb2_grpc.ArtifactServiceStub | None = None
        self._server_info: registry_pb2.GetServerInfoResponse | None = None

    # ------------------------------------------------------------------ plumbing

    def _call(
        self,
        fn: Callable[[float], T],
        timeout: float | None = None,
        *,
        rule: RetryRule,
        request: Any,
        address: str = "",
    ) -> T:
        try:
            return call_with_retry(
                fn,
                deadline=timeout or self.timeout,
                retry=rule.retryable(request),
                what=rule.method,
            )
        except UnavailableError as error:
            address = address or self.gateway_address
            hint = self.transport.hint(error.message)
            error.message = f"cannot reach the registry at {address}: {error}{hint}"
            raise

    def _unary(self, method: str, request: Any, timeout: float | None = None) -> Any:
        rpc = getattr(self.registry, method)
        rule = _REGISTRY_RULES[method]
        rule.prepare(request)
        return self._call(
            lambda left: rpc(request, timeout=left, metadata=self.metadata),
            timeout,
            rule=rule,
            request=request,
        )

    def _artifact_unary(self, method: str, request: Any, timeout: float | None = None) -> Any:
        rpc = getattr(self.artifacts, method)
        rule = _ARTIFACT_RULES[method]
        rule.prepare(request)
        return self._call(
            lambda left: rpc(request, timeout=left, metadata=self.metadata),
            timeout,
            rule=rule,
            request=request,
            address=self.server_info().artifact_service_address,
        )

    def server_info(self) -> registry_pb2.GetServerInfoResponse:
        """Where bytes go and the limits to use (asked once, then remembered)."""
        if self._server_info is None:
            self._server_info = self._unary("GetServerInfo", registry_pb2.GetServerInfoRequest())
        return self._server_info

    @property
    def artifacts(self) -> artifacts_pb2_grpc.ArtifactServiceStub:
        """A stub of the artifact service the gateway names, reached like the gateway."""
        if self._artifacts is None:
            address = self.server_info().artifact_service_address
            self._artifacts_channel = self.transport.open(address, sends_token=bool(self.metadata))
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
        request = registry_pb2.ResolveModelVersionRequest(reference=reference)
        return self._unary("ResolveModelVersion", request).model_version

    def get_version(self, model: str, version: str) -> resources_pb2.ModelVersion:
        """One version of a model."""
        request = registry_pb2.GetModelVersionRequest(name=f"models/{model}/versions/{version}")
        return self._unary("GetModelVersion", request).model_version

    def get_model(self, model: str) -> resources_pb2.Model:
        """A registered model."""
        return self._unary("GetModel", registry_pb2.GetModelRequest(name=f"models/{model}")).model

    def list_versions(
        self, model: str, page_size: int = 50, *, archived: bool = False
    ) -> list[resources_pb2.ModelVersion]:
        """Every version of a model, newest first (all pages); archived ones only with
        ``archived``."""
        versions: list[resources_pb2.ModelVersion] = []
        token = ""
        while True:
            page = self._unary(
                "ListModelVersions",
                registry_pb2.ListModelVersionsRequest(
                    parent=f"models/{model}",
                    page_size=page_size,
                    page_token=token,
                    show_archived=archived,
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
        lineage: Sequence[resources_pb2.LineageLink] = (),
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
            request_id=request_id or "",
            lineage=lineage,
        )
        return self._unary("RegisterModelVersion", request).model_version

    # ------------------------------------------------------------------ transfers

    def push(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        version: str = "",
        bump: str | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        parents: Sequence[str] = (),
        datasets: Sequence[str] = (),
        experiment: str = "",
        run: str = "",
        description: str = "",
        request_id: str | None = None,
        streams: int = 4,
        use_cache: bool = True,
        progress: Progress | None = None,
        max_mb_per_s: float = 0.0,
    ) -> PushResult:
        """Upload a file or a directory and register it as a version, in one call.

        Files are cut and hashed locally; only chunks the registry lacks are sent, over
        ``streams`` parallel streams. ``parents`` are versions this one was fine-tuned
        from (``name:1.0.0``, ``name@alias``); ``datasets`` are ``name@version`` it was
        trained on. Running an interrupted push again sends only what is missing.
        ``max_mb_per_s`` caps the upload rate (0: none).
        """
        progress = progress or Progress()
        stats = TransferStats()
        files, is_tree = collect_files(Path(path))
        stats.files = len(files)
        stats.bytes_total = sum(f.size for f in files)
        cache = HashCache() if use_cache else None
        try:
            hash_files(files, cache, stats, progress, chunk_algorithm(self.server_info()))
        finally:
            if cache is not None:
                cache.close()
        lineage = [self._parent_link(p) for p in parents]
        # The first dataset is the version's training_dataset, from which the metadata
        # service derives its trained_on edge; the others get edges of their own.
        lineage += [
            _link(_DATASET, d, resources_pb2.LINEAGE_EDGE_TYPE_TRAINED_ON) for d in datasets[1:]
        ]
        if experiment:
            lineage.append(
                _link(_EXPERIMENT, experiment, resources_pb2.LINEAGE_EDGE_TYPE_PRODUCED_BY)
            )
        upload_missing(
            self.artifacts,
            files,
            metadata=self.metadata,
            streams=streams,
            timeout=self.timeout * 100,
            stats=stats,
            progress=progress,
            max_mb_per_s=max_mb_per_s,
            channel=self._artifacts_channel,
        )
        root, committed = commit_files(
            self.artifacts, files, is_tree, metadata=self.metadata, timeout=self.timeout
        )
        all_tags = dict(tags or {})
        if not is_tree:
            all_tags.setdefault(FILE_NAME_TAG, files[0].rel)
        registered = self.register(
            model,
            root.digest,
            version=version,
            bump=bump,
            is_tree=is_tree,
            metrics=metrics,
            params=params,
            hyperparameters=hyperparameters,
            tags=all_tags,
            description=description,
            request_id=request_id,
            experiment_id=experiment,
            run_id=run,
            training_dataset=datasets[0] if datasets else "",
            lineage=lineage,
        )
        inspections = {path: blob.inspection for path, blob in committed.items()}
        return PushResult(registered, stats, inspections)

    def pull(
        self,
        reference: str,
        dest: str | os.PathLike[str],
        *,
        threads: int = 4,
        progress: Progress | None = None,
        max_mb_per_s: float = 0.0,
        compressed: bool = False,
    ) -> PullResult:
        """Download a version's files into the directory ``dest``, verified.

        Files already present with the right digest are skipped; others are written to
        partial files and renamed once their SHA-256 matches. A pull that was interrupted
        resumes from the verified bytes it left. ``max_mb_per_s`` caps the rate (0: none);
        ``compressed`` fetches chunks compressed (for slow links; costs client CPU).
        """
        version = self.resolve(reference)
        digest = version.artifact_digest
        if version.artifact_is_tree:
            files = [RemoteFile(e.path, e.digest, e.mode) for e in self.tree(digest)]
        else:
            name = version.tags.get(FILE_NAME_TAG) or f"{version.model}-{version.version}.bin"
            files = [RemoteFile(name, digest)]
        stats = TransferStats()
        paths = download_files(
            self.artifacts,
            files,
            Path(dest),
            metadata=self.metadata,
            threads=threads,
            timeout=self.timeout * 100,
            stats=stats,
            progress=progress or Progress(),
            address=self.server_info().artifact_service_address,
            max_mb_per_s=max_mb_per_s,
            accept_compressed=compressed,
            channel=self._artifacts_channel,
        )
        return PullResult(version, paths, stats)

    def tree(self, digest: resources_pb2.Digest) -> list[artifacts_pb2.TreeEntry]:
        """The files of a tree artifact."""
        request = artifacts_pb2.GetTreeRequest(digest=digest)
        return list(self._artifact_unary("GetTree", request).entries)

    def stat(self, digest: resources_pb2.Digest) -> artifacts_pb2.BlobInfo:
        """A stored blob: its size at rest and what inspection found in its header."""
        return self._artifact_unary("StatBlob", artifacts_pb2.StatBlobRequest(digest=digest)).blob

    def _parent_link(self, reference: str) -> resources_pb2.LineageLink:
        parent = reference if reference.startswith("models/") else self.resolve(reference).name
        return _link(
            resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION,
            parent,
            resources_pb2.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM,
        )


#: Tag recording the file name of a single-file version, so ``pull`` can restore it.
FILE_NAME_TAG = "mreg.file_name"
_DATASET = resources_pb2.LINEAGE_NODE_TYPE_DATASET
_EXPERIMENT = resources_pb2.LINEAGE_NODE_TYPE_EXPERIMENT


def _link(
    node_type: resources_pb2.LineageNodeType, key: str, edge_type: resources_pb2.LineageEdgeType
) -> resources_pb2.LineageLink:
    return resources_pb2.LineageLink(
        type=edge_type, object=resources_pb2.LineageNode(type=node_type, key=key)
    )


@dataclass(frozen=True)
class PushResult:
    """The registered version, what the push moved, and what inspection found in each
    file (by relative path)."""

    version: resources_pb2.ModelVersion
    stats: TransferStats
    inspections: dict[str, artifacts_pb2.Inspection] = field(default_factory=dict)


@dataclass(frozen=True)
class PullResult:
    """The version pulled, the files written or kept, and what was received."""

    version: resources_pb2.ModelVersion
    paths: list[Path]
    stats: TransferStats
