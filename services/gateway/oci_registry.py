"""Use cases of the OCI pull API: tags, manifests and blob locations, for one identity.

No HTTP here: the routes (``services/gateway/http/oci.py``) turn :class:`OciError` into the
distribution-spec error body. Versions come from the metadata service, files from the
artifact service's trees; a version's manifest holds only what never changes, so it is
built once and kept (by version name) in a bounded cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, resources_pb2
from services.common.auth import Identity, Role
from services.common.errors import RegistryError
from services.common.grants import sign
from services.common.vocabulary import Stage, name_of
from services.gateway import oci_manifests as oci
from services.gateway.peers import Peers

#: Manifests kept in memory (a version's manifest never changes).
CACHE_ENTRIES = 4096
_PAGE = 1000
_READY = resources_pb2.VERSION_STATE_READY


class OciError(Exception):
    """A distribution-spec error: its code (``MANIFEST_UNKNOWN``...) and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BlobAnswer:
    """Where a blob is: bytes the gateway holds (``content``) or a URL to redirect to."""

    digest: str
    size: int
    content: bytes | None = None
    location: str = ""


def _precision(dtypes: set[str]) -> str:
    if not dtypes:
        return ""
    return dtypes.pop().lower() if len(dtypes) == 1 else "mixed"


class OciRegistry:
    """Answers OCI pull questions about models, as the caller's identity may see them."""

    def __init__(self, peers: Peers, artifacts_url: str, grant_secret: bytes) -> None:
        self.peers = peers
        self.artifacts_url = artifacts_url.rstrip("/")
        self.grant_secret = grant_secret
        self._cache: OrderedDict[str, oci.Artifact] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ access

    def check(self, identity: Identity, name: str) -> str:
        """The model a repository name stands for, if ``identity`` may read it."""
        if not oci.is_repository_name(name) or ".." in name:
            raise OciError("NAME_INVALID", f"invalid repository name {name[:200]!r}")
        if not identity.has(Role.READER):
            raise OciError("DENIED", f"{identity.principal} may not pull: it needs the reader role")
        if not identity.may_touch(name):
            raise OciError(
                "DENIED",
                f"{identity.principal}'s token is limited to models starting with "
                f"{identity.model_prefix!r} and cannot pull {name!r}",
            )
        return name

    # ------------------------------------------------------------------ reads

    def _call(self, peer: str, method: str, request: object, identity: Identity, model: str):
        try:
            return getattr(self.peers, peer).call(method, request, principal=identity.principal)
        except RegistryError as error:
            if error.code == grpc.StatusCode.NOT_FOUND and peer == "metadata":
                raise OciError("NAME_UNKNOWN", f"repository {model!r} is not known") from None
            raise  # a READY version's tree missing is the registry's fault: a 503, not a 404

    def versions(self, identity: Identity, model: str) -> list[resources_pb2.ModelVersion]:
        """Every READY version of a model (archived ones too: they can still be pulled)."""
        found: list[resources_pb2.ModelVersion] = []
        token = ""
        while True:
            page = self._call(
                "metadata",
                "ListModelVersions",
                metadata_pb2.ListModelVersionsRequest(
                    parent=f"models/{model}", page_size=_PAGE, page_token=token, show_archived=True
                ),
                identity,
                model,
            )
            found.extend(v for v in page.model_versions if v.state == _READY)
            token = page.next_page_token
            if not token:
                return found

    def repositories(self, identity: Identity) -> list[str]:
        """Models the identity may read whose ids are valid OCI repository names."""
        names: list[str] = []
        token = ""
        while True:
            page = self.peers.metadata.call(
                "ListModels",
                metadata_pb2.ListModelsRequest(page_size=_PAGE, page_token=token),
                principal=identity.principal,
            )
            for found in page.models:
                model = found.name.removeprefix("models/")
                if oci.is_repository_name(model) and identity.may_touch(model):
                    names.append(model)
            token = page.next_page_token
            if not token:
                return names

    def tags(self, identity: Identity, model: str) -> list[str]:
        """Every tag of a model: READY versions, aliases, stages holding one, ``latest``."""
        versions = self.versions(identity, model)
        ready = {v.version for v in versions}
        tags = {oci.version_tag(v) for v in ready}
        tags |= {name_of(Stage, v.stage) for v in versions if v.stage}
        aliases = self._call(
            "metadata",
            "ListAliases",
            metadata_pb2.ListAliasesRequest(parent=f"models/{model}"),
            identity,
            model,
        ).aliases
        tags |= {a.alias for a in aliases if a.model_version.rsplit("/", 1)[-1] in ready}
        if versions:
            tags.add("latest")
        return [t for t in tags if oci.is_tag(t)]

    def resolve_tag(self, identity: Identity, model: str, tag: str) -> resources_pb2.ModelVersion:
        """The READY version a tag names now; MANIFEST_UNKNOWN if none."""
        if not oci.is_tag(tag):
            raise OciError("MANIFEST_UNKNOWN", f"{tag[:200]!r} is neither a valid tag nor a digest")
        if oci.is_version_tag(tag):
            references = [f"{model}:{oci.version_of_tag(tag)}"]
        elif tag == "latest":  # an alias named latest wins over the newest version
            references = [f"{model}@latest", model]
        else:
            references = [f"{model}@{tag}"]
        version = None
        for reference in references:
            try:
                version = self.peers.metadata.call(
                    "ResolveModelVersion",
                    metadata_pb2.ResolveModelVersionRequest(reference=reference),
                    principal=identity.principal,
                ).model_version
                break
            except RegistryError as error:
                if error.code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                    raise
        if version is None:
            self.versions(identity, model)  # NAME_UNKNOWN when the model itself is absent
            raise OciError("MANIFEST_UNKNOWN", f"repository {model!r} has no tag {tag!r}")
        if version.state != _READY:
            state = resources_pb2.VersionState.Name(version.state).removeprefix("VERSION_STATE_")
            raise OciError(
                "MANIFEST_UNKNOWN",
                f"version {version.version} of {model!r} is {state}, not READY: "
                "only READY versions can be pulled",
            )
        return version

    def artifact(self, identity: Identity, version: resources_pb2.ModelVersion) -> oci.Artifact:
        """The manifest and config of a READY version (built once, then cached)."""
        with self._lock:
            cached = self._cache.get(version.name)
            if cached is not None:
                self._cache.move_to_end(version.name)
                return cached
        built = oci.manifest(self._facts(identity, version))
        with self._lock:
            self._cache[version.name] = built
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return built

    def manifest(self, identity: Identity, model: str, reference: str) -> oci.Artifact:
        """The manifest a tag or a digest names in a repository."""
        if ":" not in reference:
            return self.artifact(identity, self.resolve_tag(identity, model, reference))
        digest = oci.parse_digest(reference)
        if isinstance(digest, str):
            raise OciError("DIGEST_INVALID", digest)
        for version in self._cached_first(self.versions(identity, model)):
            built = self.artifact(identity, version)
            if built.digest == str(digest):
                return built
        raise OciError("MANIFEST_UNKNOWN", f"repository {model!r} has no manifest {digest}")

    def blob(self, identity: Identity, model: str, reference: str) -> BlobAnswer:
        """A blob of one of the repository's versions: config bytes, or a signed redirect."""
        digest = oci.parse_digest(reference)
        if isinstance(digest, str):
            raise OciError("DIGEST_INVALID", digest)
        for version in self._cached_first(self.versions(identity, model)):
            built = self.artifact(identity, version)
            if built.config_digest == str(digest):
                return BlobAnswer(str(digest), len(built.config), content=built.config)
            size = built.layer_sizes().get(str(digest))
            if size is not None:
                grant = sign(self.grant_secret, digest.hex, identity.principal)
                location = f"{self.artifacts_url}/blobs/{digest}"
                if self.grant_secret:
                    location += f"?grant={grant}"
                return BlobAnswer(str(digest), size, location=location)
        raise OciError("BLOB_UNKNOWN", f"blob {digest} is not part of repository {model!r}")

    # ------------------------------------------------------------------ building

    def _cached_first(
        self, versions: list[resources_pb2.ModelVersion]
    ) -> list[resources_pb2.ModelVersion]:
        """Versions whose manifest is built already first (a client fetches the manifest
        before its blobs), then the newest: a digest is found with the fewest RPCs."""
        with self._lock:
            cached = set(self._cache)
        newest_first = list(reversed(versions))
        return sorted(newest_first, key=lambda v: v.name not in cached)

    def _files(
        self, identity: Identity, version: resources_pb2.ModelVersion
    ) -> list[oci.FileFacts]:
        digest = version.artifact_digest
        if not version.artifact_is_tree:
            path = oci.single_file_name(version.model, version.version, version.tags)
            return [oci.FileFacts(path, digest.hash, digest.size_bytes)]
        entries = self._call(
            "artifacts", "GetTree", artifacts_pb2.GetTreeRequest(digest=digest), identity, ""
        ).entries
        return [
            oci.FileFacts(e.path, e.digest.hash, e.digest.size_bytes, e.mode or 0o644)
            for e in entries
        ]

    def _facts(self, identity: Identity, version: resources_pb2.ModelVersion) -> oci.VersionFacts:
        files = self._files(identity, version)
        dtypes: set[str] = set()
        for file in files:
            if oci.media_type(file.path) == oci.WEIGHT:
                blob = self.peers.artifacts.call(
                    "StatBlob",
                    artifacts_pb2.StatBlobRequest(
                        digest=resources_pb2.Digest(hash=file.sha256, size_bytes=file.size)
                    ),
                ).blob
                dtypes.update(blob.inspection.dtypes)
        created = version.create_time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")
        return oci.VersionFacts(
            model=version.model,
            version=version.version,
            created=created,
            created_by=version.created_by,
            format=version.format,
            framework=version.framework,
            framework_version=version.framework_version,
            parameter_count=version.parameter_count,
            precision=_precision(dtypes),
            training_dataset=version.training_dataset,
            git_commit=version.git_commit,
            run_id=version.run_id,
            experiment_id=version.experiment_id,
            files=tuple(files),
        )
