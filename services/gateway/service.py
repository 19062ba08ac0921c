"""The gateway's use cases: registration across the two services, and reads."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2
from mreg.chunkids import ALGORITHMS, ENUM_OF, id_of_digest
from services.common.errors import (
    FailedPrecondition,
    PreconditionViolation,
    RegistryError,
)
from services.common.settings import MAX_MESSAGE_BYTES, PREFERRED_MESSAGE_BYTES
from services.common.validation import (
    parse_model_name,
    reference_model,
    validate_digest,
    validate_request_id,
)
from services.common.vocabulary import VERSION
from services.gateway.cache import ResolveCache
from services.gateway.contract import to_internal, to_public
from services.gateway.peers import Peers
from services.gateway.watch import EventHub

logger = logging.getLogger(__name__)

#: Events read from the outbox per poll while watching.
WATCH_BATCH = 500


@dataclass(frozen=True)
class ServerLimits:
    """What ``GetServerInfo`` tells clients."""

    artifacts_address: str
    max_chunk_bytes: int = 4 * 1024 * 1024
    average_chunk_bytes: int = 1024 * 1024
    #: Chunk hash algorithms the artifact service accepts, most preferred first.
    chunk_digest_algorithms: tuple[str, ...] = ALGORITHMS


class Gateway:
    """Coordinates the artifact and metadata services behind the public API."""

    def __init__(
        self,
        peers: Peers,
        limits: ServerLimits,
        watch_poll_seconds: float = 0.2,
        cache: ResolveCache | None = None,
    ) -> None:
        self.peers = peers
        self.limits = limits
        self.watch_poll_seconds = watch_poll_seconds
        self.cache = cache
        #: Whether webhooks may target loopback, private and link-local addresses.
        self.allow_private_targets = False
        #: The one outbox reader: it feeds every WatchEvents stream and the resolve cache
        #: (started by the process, or on the first watcher).
        self.hub = EventHub(peers, min(watch_poll_seconds, 0.1))
        if cache is not None:
            self.hub.subscribe(cache)

    def resolve(
        self, request: registry_pb2.ResolveModelVersionRequest, principal: str
    ) -> registry_pb2.ResolveModelVersionResponse:
        """Resolve a reference, from the cache when it can vouch for the answer."""
        if self.cache is not None and (hit := self.cache.get(request.reference)) is not None:
            return hit
        model = reference_model(request.reference)
        generation = self.cache.generation(model) if self.cache is not None else 0
        response = to_public(
            "ResolveModelVersion",
            self.peers.metadata.call(
                "ResolveModelVersion",
                to_internal("ResolveModelVersion", request),
                principal=principal,
            ),
        )
        if self.cache is not None:
            self.cache.put(request.reference, model, response, generation)
        return response

    def changed(self, model: str | None) -> None:
        """Note that this gateway just changed ``model`` (drops cached answers about it)."""
        if self.cache is not None and model:
            self.cache.invalidate(model)

    def server_info(self) -> registry_pb2.GetServerInfoResponse:
        """Where clients send bytes and the limits they should use."""
        return registry_pb2.GetServerInfoResponse(
            artifact_service_address=self.limits.artifacts_address,
            max_message_bytes=MAX_MESSAGE_BYTES,
            preferred_message_bytes=PREFERRED_MESSAGE_BYTES,
            max_chunk_bytes=self.limits.max_chunk_bytes,
            average_chunk_bytes=self.limits.average_chunk_bytes,
            server_version=VERSION,
            chunk_digest_algorithms=[ENUM_OF[a] for a in self.limits.chunk_digest_algorithms],
        )

    def register(
        self,
        request: registry_pb2.RegisterModelVersionRequest,
        principal: str,
        model_prefix: str = "",
    ) -> resources_pb2.ModelVersion:
        """Reserve the version as PENDING, check and pin its artifact, then mark it READY.

        A failure after the reservation marks the version FAILED and removes the pin, so
        no version points at bytes that are missing or unpinned. The artifact is looked up
        as the caller's token sees it: a prefix-limited token cannot pin (and so gain) a
        blob it may not see; it is reported missing.
        """
        parse_model_name(request.parent, "parent")
        validate_digest(request.model_version.artifact_digest, "model_version.artifact_digest")
        request_id = validate_request_id(request.request_id or str(uuid.uuid4()))
        reserved = self.peers.metadata.call(
            "CreateModelVersion",
            metadata_pb2.CreateModelVersionRequest(
                parent=request.parent,
                model_version=request.model_version,
                bump=request.bump,
                request_id=request_id,
                lineage=request.lineage,
            ),
            principal=principal,
        ).model_version
        if reserved.state == resources_pb2.VERSION_STATE_FAILED:
            raise FailedPrecondition(
                f"{reserved.name} failed to register: {reserved.failure_reason}",
                reason="REGISTRATION_FAILED",
                metadata={"version": reserved.name},
            )
        try:
            return self.complete(reserved, principal, model_prefix)
        finally:
            self.changed(reserved.model)

    def complete(
        self, version: resources_pb2.ModelVersion, principal: str, model_prefix: str = ""
    ) -> resources_pb2.ModelVersion:
        """Finish a PENDING registration: check the artifact, pin it, mark the version READY.

        An artifact that is missing or of another size fails the version for good (FAILED,
        unpinned). A transient failure (a service unreachable) leaves it PENDING, so a
        retry with the same request id, or the reconciler, finishes it later.
        """
        if version.state == resources_pb2.VERSION_STATE_READY:
            return version
        digest = version.artifact_digest
        try:
            blob = self._check_artifact(digest, principal, model_prefix)
            _check_kind(blob, version)
        except FailedPrecondition as error:
            self._fail(version.name, digest, error.message, principal)
            raise
        self.peers.artifacts.call(
            "PinBlob", artifacts_pb2.PinBlobRequest(digest=digest, holder=version.name)
        )
        try:
            return self.peers.metadata.call(
                "SetModelVersionState",
                metadata_pb2.SetModelVersionStateRequest(
                    name=version.name,
                    state=resources_pb2.VERSION_STATE_READY,
                    format=blob.inspection.format,
                    parameter_count=blob.inspection.parameter_count,
                ),
                principal=principal,
            ).model_version
        except RegistryError as error:
            if error.code != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            # Someone else (a retry, the reconciler) settled it first: report what they did.
            current = self.peers.metadata.call(
                "GetModelVersion", metadata_pb2.GetModelVersionRequest(name=version.name)
            ).model_version
            if current.state == resources_pb2.VERSION_STATE_READY:
                return current
            raise

    def _check_artifact(
        self, digest: resources_pb2.Digest, principal: str = "", model_prefix: str = ""
    ) -> artifacts_pb2.BlobInfo:
        """The blob the version will point at; FAILED_PRECONDITION if absent (to the caller),
        of another size, or with quarantined chunks (its own or, for a tree, its files')."""
        subject = f"sha256:{digest.hash}"
        try:
            blob = self.peers.artifacts.call(
                "StatBlob",
                artifacts_pb2.StatBlobRequest(digest=digest),
                principal=principal,
                model_prefix=model_prefix,
            ).blob
        except RegistryError as error:
            if error.code != grpc.StatusCode.NOT_FOUND:
                raise
            raise _artifact_precondition(subject, "ARTIFACT_MISSING", error.message) from None
        if blob.digest.size_bytes != digest.size_bytes:
            raise _artifact_precondition(
                subject,
                "ARTIFACT_SIZE_MISMATCH",
                f"{subject} has {blob.digest.size_bytes} bytes, "
                f"the request states {digest.size_bytes}",
            )
        if blob.quarantined_chunks:
            raise _quarantined(subject, [id_of_digest(c) for c in blob.quarantined_chunks])
        return blob

    def _fail(self, name: str, digest: resources_pb2.Digest, reason: str, principal: str) -> None:
        """Mark the version FAILED, then remove its pin (if any). Never unpins a version
        that could not be marked FAILED: someone else may have made it READY."""
        try:
            self.peers.metadata.call(
                "SetModelVersionState",
                metadata_pb2.SetModelVersionStateRequest(
                    name=name, state=resources_pb2.VERSION_STATE_FAILED, failure_reason=reason
                ),
                principal=principal,
            )
        except RegistryError:
            logger.warning("could not mark %s FAILED; leaving it to the reconciler", name)
            return
        try:
            self.peers.artifacts.call(
                "UnpinBlob", artifacts_pb2.UnpinBlobRequest(digest=digest, holder=name)
            )
        except RegistryError:
            logger.warning("could not unpin %s from %s", digest.hash, name, exc_info=True)


def _check_kind(blob: artifacts_pb2.BlobInfo, version: resources_pb2.ModelVersion) -> None:
    """FAILED_PRECONDITION when the version says tree and the blob is a file, or the reverse:
    pulls, the integrity gate and OCI would read it as the wrong kind."""
    if blob.is_tree == version.artifact_is_tree:
        return
    subject = f"sha256:{blob.digest.hash}"
    found, stated = ("a tree manifest", "a single file") if blob.is_tree else ("a file", "a tree")
    description = f"{subject} is {found} but the request states {stated}"
    raise FailedPrecondition(
        f"cannot register {subject}: {description}; set model_version.artifact_is_tree to "
        f"{str(blob.is_tree).lower()}",
        reason="ARTIFACT_KIND_MISMATCH",
        precondition_violations=[
            PreconditionViolation("ARTIFACT_KIND_MISMATCH", subject, description)
        ],
    )


def _quarantined(subject: str, chunks: list[str]) -> FailedPrecondition:
    shown = ", ".join(chunks[:5]) + (f" and {len(chunks) - 5} more" if len(chunks) > 5 else "")
    return FailedPrecondition(
        f"cannot register {subject}: {len(chunks)} of its chunk(s) failed verification and "
        f"are quarantined: {shown}; push the files again to repair them",
        reason="ARTIFACT_CHUNKS_QUARANTINED",
        precondition_violations=[
            PreconditionViolation("CHUNK_QUARANTINED", f"chunks/{sha}", "failed verification")
            for sha in chunks
        ],
    )


def _artifact_precondition(subject: str, kind: str, description: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"cannot register {subject}: {description}; upload it to the artifact service first",
        reason=kind,
        precondition_violations=[PreconditionViolation(kind, subject, description)],
    )
