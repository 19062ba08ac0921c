"""What the web UI asks of the gateway, as the signed-in identity may see it.

Every call checks the role and model prefix the same ``RegistryService`` method needs
(:func:`services.common.auth.authorize` with :data:`~services.gateway.access.METHOD_ROLES`)
and filters cross-model answers as the gRPC API does (:func:`scope_response`), then asks
the gateway's peers or its promotion engine with the caller as principal. Answers are
protos; :mod:`services.gateway.http.ui.views` shapes them for the pages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2
from services.common.auth import Identity, Role, authorize
from services.common.errors import InvalidArgument, RegistryError
from services.gateway import oci_manifests as oci
from services.gateway.access import METHOD_ROLES, SERVICE_NAME, model_of, scope_response
from services.gateway.http.ui.search import unbalanced_parenthesis
from services.gateway.promotions import Promotions
from services.gateway.service import Gateway

#: Most models whose waiting promotions the promotions page collects.
MAX_MODELS_SCANNED = 1000
#: Most files of a tree whose inspection the version page shows.
MAX_FILES = 200
#: Events the events page starts with.
RECENT_EVENTS = 50
#: Trees whose total size is remembered (a tree never changes: its digest names it).
TREE_SIZES_KEPT = 10_000
PENDING = resources_pb2.PROMOTION_STATE_PENDING_APPROVAL


def needed_role(method: str) -> Role:
    """The role a ``RegistryService`` method needs."""
    return METHOD_ROLES[f"/{SERVICE_NAME}/{method}"]


@dataclass(frozen=True)
class FileInfo:
    """One file of a version: its path, size and what inspection found."""

    path: str
    size: int
    sha256: str
    inspection: artifacts_pb2.Inspection | None


@dataclass(frozen=True)
class Size:
    """What a version's files add up to."""

    total: int
    files: int


@dataclass(frozen=True)
class Waiting:
    """The promotions waiting for approval, and whether every model was looked at."""

    promotions: list[resources_pb2.Promotion]
    complete: bool


class Reads:
    """The UI's reads and decisions, on behalf of an :class:`Identity`."""

    def __init__(self, gateway: Gateway, promotions: Promotions) -> None:
        self.gateway = gateway
        self.promotions = promotions
        self._tree_sizes: OrderedDict[str, Size] = OrderedDict()
        self._lock = threading.Lock()

    def _metadata(self, method: str, request: Any, identity: Identity) -> Any:
        authorize(identity, needed_role(method), method, model_of(request))
        response = self.gateway.peers.metadata.call(method, request, principal=identity.principal)
        return scope_response(method, request, response, identity.model_prefix)

    # ------------------------------------------------------------------ models

    def models(
        self, identity: Identity, page_size: int, page_token: str, archived: bool
    ) -> metadata_pb2.ListModelsResponse:
        request = metadata_pb2.ListModelsRequest(
            page_size=page_size, page_token=page_token, show_archived=archived
        )
        return self._metadata("ListModels", request, identity)

    def search(
        self,
        identity: Identity,
        filter_text: str,
        order_by: str,
        page_size: int,
        page_token: str,
        archived: bool,
    ) -> metadata_pb2.SearchModelVersionsResponse:
        request = metadata_pb2.SearchModelVersionsRequest(
            filter=filter_text,
            order_by=order_by,
            page_size=page_size,
            page_token=page_token,
            show_archived=archived,
        )
        return self._metadata("SearchModelVersions", request, identity)

    def model(self, identity: Identity, model: str) -> resources_pb2.Model:
        request = metadata_pb2.GetModelRequest(name=f"models/{model}")
        return self._metadata("GetModel", request, identity).model

    def versions(
        self,
        identity: Identity,
        model: str,
        filter_text: str,
        order_by: str,
        page_size: int,
        page_token: str,
    ) -> metadata_pb2.SearchModelVersionsResponse:
        """A model's versions (archived ones too), narrowed by ``filter_text`` if given.

        The filter is refused in its own terms (positions in the text the caller typed,
        not in the scoped filter sent), and may not close the group it is put in.
        """
        authorize(identity, Role.READER, "SearchModelVersions", model)
        scoped = f'model = "{model}"'
        if filter_text:
            position = unbalanced_parenthesis(filter_text)
            if position:
                raise InvalidArgument.field(
                    "filter",
                    f"{filter_text[position - 1]!r} at position {position} of "
                    f"{filter_text[:60]!r} has no partner",
                )
            scoped = f"{scoped} AND ({filter_text})"
        try:
            return self.search(identity, scoped, order_by, page_size, page_token, True)
        except RegistryError as error:
            if filter_text and error.code == grpc.StatusCode.INVALID_ARGUMENT:
                self.search(identity, filter_text, "", 1, "", True)  # raises it in its terms
            raise

    def promotion_history(
        self, identity: Identity, model: str, page_size: int = 20
    ) -> list[resources_pb2.Promotion]:
        request = metadata_pb2.ListPromotionsRequest(parent=f"models/{model}", page_size=page_size)
        return list(self._metadata("ListPromotions", request, identity).promotions)

    # ------------------------------------------------------------------ a version

    def report(self, identity: Identity, name: str) -> registry_pb2.GetModelReportResponse:
        """The version with evaluations, lineage (3 edges both ways), transitions,
        promotions and deployments."""
        request = registry_pb2.GetModelReportRequest(name=name)
        authorize(identity, needed_role("GetModelReport"), "GetModelReport", model_of(request))
        report = self.promotions.report(request, identity)
        return scope_response("GetModelReport", request, report, identity.model_prefix)

    def files(self, identity: Identity, version: resources_pb2.ModelVersion) -> list[FileInfo]:
        """The version's files with sizes and inspection (a tree: its first MAX_FILES)."""
        digest = version.artifact_digest
        if not version.artifact_is_tree:
            path = oci.single_file_name(version.model, version.version, version.tags)
            entries = [(path, digest)]
        else:
            request = artifacts_pb2.GetTreeRequest(digest=digest)
            try:
                tree = self._artifacts("GetTree", request, identity)
            except RegistryError as error:
                if error.code != grpc.StatusCode.NOT_FOUND:
                    raise
                return []  # a FAILED version may point at a tree that never arrived
            entries = [(e.path, e.digest) for e in tree.entries[:MAX_FILES]]
        files = []
        for path, file_digest in entries:
            try:
                blob = self._artifacts(
                    "StatBlob", artifacts_pb2.StatBlobRequest(digest=file_digest), identity
                ).blob
                inspection = blob.inspection
            except RegistryError as error:
                if error.code != grpc.StatusCode.NOT_FOUND:
                    raise
                inspection = None
            files.append(FileInfo(path, file_digest.size_bytes, file_digest.hash, inspection))
        return files

    def sizes(
        self, identity: Identity, versions: Iterable[resources_pb2.ModelVersion]
    ) -> dict[str, Size]:
        """What each version's files add up to, by artifact digest: a tree's digest is its
        manifest's, so its files are summed (one GetTree per tree not seen before)."""
        found: dict[str, Size] = {}
        for version in versions:
            digest = version.artifact_digest
            if digest.hash in found:
                continue
            if not version.artifact_is_tree:
                found[digest.hash] = Size(digest.size_bytes, 1)
                continue
            with self._lock:
                known = self._tree_sizes.get(digest.hash)
            if known is None:
                request = artifacts_pb2.GetTreeRequest(digest=digest)
                try:
                    entries = self._artifacts("GetTree", request, identity).entries
                except RegistryError as error:
                    if error.code != grpc.StatusCode.NOT_FOUND:
                        raise
                    continue  # a FAILED version's tree may be missing: no size shown
                known = Size(sum(e.digest.size_bytes for e in entries), len(entries))
                with self._lock:
                    self._tree_sizes[digest.hash] = known
                    while len(self._tree_sizes) > TREE_SIZES_KEPT:
                        self._tree_sizes.popitem(last=False)
            found[digest.hash] = known
        return found

    def _artifacts(self, method: str, request: Any, identity: Identity) -> Any:
        return self.gateway.peers.artifacts.call(
            method, request, principal=identity.principal, model_prefix=identity.model_prefix
        )

    def lineage(
        self, identity: Identity, node: resources_pb2.LineageNode, depth: int = 3
    ) -> metadata_pb2.GetLineageResponse:
        request = metadata_pb2.GetLineageRequest(
            node=node, direction=resources_pb2.LINEAGE_DIRECTION_BOTH, max_depth=depth
        )
        return self._metadata("GetLineage", request, identity)

    def impact(
        self, identity: Identity, node: resources_pb2.LineageNode
    ) -> list[resources_pb2.ImpactedVersion]:
        request = metadata_pb2.AnalyzeImpactRequest(node=node, max_depth=10)
        return list(self._metadata("AnalyzeImpact", request, identity).versions)

    # ------------------------------------------------------------------ compare

    def compare(
        self, identity: Identity, names: list[str], lower_is_better: list[str]
    ) -> tuple[metadata_pb2.CompareModelVersionsResponse, dict[str, list[Any]]]:
        """The metric table of ``names`` (best marked; higher is better unless named in
        ``lower_is_better``) and each version's evaluations."""
        if len(names) < 2:
            raise InvalidArgument.field("v", "choose at least two versions to compare")
        request = metadata_pb2.CompareModelVersionsRequest(
            names=names, lower_is_better=lower_is_better
        )
        for name in names:
            authorize(identity, Role.READER, "CompareModelVersions", model_of_name(name))
        table = self._metadata("CompareModelVersions", request, identity)
        evaluations = {
            name: list(
                self._metadata(
                    "ListEvaluations",
                    metadata_pb2.ListEvaluationsRequest(parent=name, page_size=100),
                    identity,
                ).evaluations
            )
            for name in names
        }
        return table, evaluations

    # ------------------------------------------------------------------ promotions

    def waiting(self, identity: Identity, model: str = "") -> Waiting:
        """Promotions waiting for approval, of one model or of every model (at most
        MAX_MODELS_SCANNED of them), newest first."""
        models = [model] if model else list(self._model_ids(identity))
        found: list[resources_pb2.Promotion] = []
        for model_id in models[:MAX_MODELS_SCANNED]:
            request = metadata_pb2.ListPromotionsRequest(
                parent=f"models/{model_id}", state=PENDING, page_size=100
            )
            found.extend(self._metadata("ListPromotions", request, identity).promotions)
        found.sort(key=lambda p: p.create_time.ToNanoseconds(), reverse=True)
        return Waiting(found, len(models) <= MAX_MODELS_SCANNED)

    def _model_ids(self, identity: Identity) -> Iterator[str]:
        token = ""
        while True:
            page = self.models(identity, 1000, token, False)
            yield from (m.name.removeprefix("models/") for m in page.models)
            token = page.next_page_token
            if not token:
                return

    def decide(self, identity: Identity, name: str, approve: bool, comment: str) -> Any:
        """Approve or reject a promotion as ``identity``; PERMISSION_DENIED without the
        approver role."""
        method = "ApprovePromotion" if approve else "RejectPromotion"
        request_type = (
            registry_pb2.ApprovePromotionRequest if approve else registry_pb2.RejectPromotionRequest
        )
        request = request_type(name=name, comment=comment)
        authorize(identity, needed_role(method), method, model_of(request))
        if approve:
            done = self.promotions.approve(request, identity)
            self.gateway.changed(model_of(request))
            return done.promotion
        return self.promotions.reject(request, identity)

    # ------------------------------------------------------------------ events

    def recent_events(self, identity: Identity) -> tuple[list[resources_pb2.Event], int]:
        """The events among the newest RECENT_EVENTS that the identity may see, oldest
        first, and the newest sequence (where the live feed starts)."""
        authorize(identity, Role.READER, "WatchEvents", None)
        latest = self.outbox(0, 1).latest_sequence
        page = self.outbox(max(latest - RECENT_EVENTS, 0), RECENT_EVENTS)
        return [e for e in page.events if visible(e, identity)], latest

    def outbox(self, after: int, limit: int = 500) -> metadata_pb2.ListEventsResponse:
        """A page of the event outbox after ``after`` (filter it with :func:`visible`)."""
        return self.gateway.peers.metadata.call(
            "ListEvents", metadata_pb2.ListEventsRequest(after_sequence=after, limit=limit)
        )


def visible(event: resources_pb2.Event, identity: Identity) -> bool:
    """Whether ``identity`` may see ``event`` (as ``WatchEvents`` decides)."""
    return event.model.startswith(identity.model_prefix)


def model_of_name(name: str) -> str | None:
    """The model id of a ``models/{model}/...`` name, if it is one."""
    parts = name.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "models" and parts[1] else None
