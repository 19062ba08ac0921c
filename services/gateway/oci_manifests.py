"""Model versions as OCI artifacts: names, tags and canonical ModelPack manifests.

Pure functions, no HTTP and no RPCs: facts about a version in, bytes and digests out.

- A repository is a model whose id is also a valid OCI repository name (see
  :func:`is_repository_name`).
- Tags: every READY version (a semver ``+`` becomes ``_``, which semver never uses, so the
  mapping is reversible: ``1.0.0+build.5`` is the tag ``1.0.0_build.5``), every alias,
  every stage holding a READY version, and ``latest``.
- A manifest is an OCI image manifest with the ModelPack ``artifactType``, a config blob
  built from the version's metadata and one layer per file, the layer digest being the
  file's SHA-256 (already our blob digest). Only facts that never change for a version
  go into it, so a version's manifest digest never moves (see :func:`manifest`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from posixpath import basename, splitext
from typing import Any

from services.common.vocabulary import FILE_NAME_TAG

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.model.config.v1+json"
WEIGHT = "application/vnd.cncf.model.weight.v1.raw"
WEIGHT_CONFIG = "application/vnd.cncf.model.weight.config.v1.raw"
DOC = "application/vnd.cncf.model.doc.v1.raw"
CODE = "application/vnd.cncf.model.code.v1.raw"

#: Layer annotation keys (ModelPack, and the OCI title oras names files by).
FILEPATH = "org.cncf.model.filepath"
FILE_METADATA = "org.cncf.model.file.metadata+json"
TITLE = "org.opencontainers.image.title"
#: Prefix of this registry's own manifest annotations.
REGISTRY = "io.modelregistry"

_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")

_WEIGHT_SUFFIXES = {
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5",
    ".keras", ".pb", ".tflite", ".msgpack", ".npz", ".npy", ".pkl", ".joblib", ".mlmodel",
}  # fmt: skip
_CONFIG_SUFFIXES = {".json", ".yaml", ".yml", ".toml", ".txt", ".model", ".tiktoken", ".vocab"}
_DOC_SUFFIXES = {".md", ".rst", ".pdf", ".html"}
_DOC_STEMS = {"readme", "license", "licence", "notice", "copying", "model_card", "modelcard"}
_CODE_SUFFIXES = {".py", ".sh", ".ipynb", ".js", ".ts", ".go", ".rs", ".c", ".cc", ".cpp", ".h"}


def is_repository_name(name: str) -> bool:
    """Whether ``name`` is a valid OCI repository name (distribution-spec's grammar)."""
    return len(name) <= 255 and _REPOSITORY.fullmatch(name) is not None


def is_tag(reference: str) -> bool:
    """Whether ``reference`` is a valid OCI tag."""
    return _TAG.fullmatch(reference) is not None


def version_tag(version: str) -> str:
    """The tag of a version: semver ``+`` (build metadata) becomes ``_``."""
    return version.replace("+", "_")


def version_of_tag(tag: str) -> str:
    """The version a version tag names (the inverse of :func:`version_tag`)."""
    return tag.replace("_", "+")


def is_version_tag(tag: str) -> bool:
    """Version tags start with a digit (a semver major); aliases and stages with a letter."""
    return tag[:1].isdigit()


@dataclass(frozen=True)
class Digest:
    """A parsed ``sha256:<hex>`` digest."""

    hex: str

    def __str__(self) -> str:
        return f"sha256:{self.hex}"


def parse_digest(text: str) -> Digest | str:
    """The digest, or a sentence saying what is wrong with ``text``."""
    algorithm, colon, encoded = text.partition(":")
    if not colon or not algorithm:
        return f"{text!r} is not a digest: expected 'sha256:<64 hex characters>'"
    if algorithm != "sha256":
        return f"digest algorithm {algorithm!r} is not supported: this registry uses sha256"
    if not _SHA256.fullmatch(encoded):
        return (
            f"sha256 digest {encoded[:80]!r} is malformed: expected 64 lower-case hex "
            f"characters, got {len(encoded)}"
        )
    return Digest(encoded)


@dataclass(frozen=True)
class FileFacts:
    """One file of a version: its path in the model, SHA-256, size and mode."""

    path: str
    sha256: str
    size: int
    mode: int = 0o644


@dataclass(frozen=True)
class VersionFacts:
    """What never changes about a READY version."""

    model: str
    version: str
    created: str  # RFC 3339, UTC
    created_by: str = ""
    format: str = ""
    framework: str = ""
    framework_version: str = ""
    parameter_count: int = 0
    precision: str = ""
    training_dataset: str = ""
    git_commit: str = ""
    run_id: str = ""
    experiment_id: str = ""
    files: tuple[FileFacts, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Artifact:
    """A version as OCI bytes: the manifest, the config blob and their digests."""

    manifest: bytes
    config: bytes

    @property
    def digest(self) -> str:
        """``sha256:...`` of the manifest."""
        return f"sha256:{hashlib.sha256(self.manifest).hexdigest()}"

    @property
    def config_digest(self) -> str:
        """``sha256:...`` of the config blob."""
        return f"sha256:{hashlib.sha256(self.config).hexdigest()}"

    def layer_sizes(self) -> dict[str, int]:
        """The ``sha256:...`` of every file of the version, with its size."""
        return {layer["digest"]: layer["size"] for layer in json.loads(self.manifest)["layers"]}


def canonical(document: Mapping[str, Any]) -> bytes:
    """JSON with sorted keys and no spaces: the same document always gives the same bytes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def media_type(path: str) -> str:
    """The ModelPack layer media type of a file, by its name."""
    name = basename(path).lower()
    stem, suffix = splitext(name)
    if stem in _DOC_STEMS or suffix in _DOC_SUFFIXES:
        return DOC
    if suffix in _CODE_SUFFIXES or name in {"dockerfile", "makefile"}:
        return CODE
    if suffix in _WEIGHT_SUFFIXES:
        return WEIGHT
    if suffix in _CONFIG_SUFFIXES or name.startswith("tokenizer") or name == "merges.txt":
        return WEIGHT_CONFIG
    return WEIGHT


def single_file_name(model: str, version: str, tags: Mapping[str, str]) -> str:
    """The path of a single-file version's one file: the name it was pushed under, as
    ``mreg pull`` writes it (``{model}-{version}.bin`` when unknown)."""
    name = tags.get(FILE_NAME_TAG, "")
    valid = name and "/" not in name and name not in (".", "..")
    return name if valid else f"{model}-{version}.bin"


def _param_size(count: int) -> str:
    for unit, scale in (("t", 10**12), ("b", 10**9), ("m", 10**6), ("k", 10**3)):
        if count >= scale:
            return f"{count / scale:.3g}{unit}"
    return str(count) if count else ""


def config_blob(facts: VersionFacts) -> bytes:
    """The ModelPack config (``application/vnd.cncf.model.config.v1+json``) of a version."""
    config = {
        "format": facts.format,
        "paramSize": _param_size(facts.parameter_count),
        "precision": facts.precision,
    }
    descriptor = {
        "name": facts.model,
        "version": facts.version,
        "createdAt": facts.created,
        "authors": [facts.created_by] if facts.created_by else [],
        "family": facts.framework,
        "revision": facts.git_commit,
    }
    document = {
        "descriptor": {k: v for k, v in descriptor.items() if v},
        "config": {k: v for k, v in config.items() if v},
        "modelfs": {"type": "layers", "diffIds": [f"sha256:{f.sha256}" for f in facts.files]},
    }
    return canonical(document)


def _layer(file: FileFacts, created: str) -> dict[str, Any]:
    metadata = {
        "name": file.path,
        "mode": file.mode or 0o644,
        "uid": 0,
        "gid": 0,
        "size": file.size,
        "mtime": created,
        "typeflag": 48,  # '0': a regular file
    }
    return {
        "mediaType": media_type(file.path),
        "digest": f"sha256:{file.sha256}",
        "size": file.size,
        "annotations": {
            FILEPATH: file.path,
            FILE_METADATA: canonical(metadata).decode(),
            TITLE: file.path,
        },
    }


def _annotations(facts: VersionFacts) -> dict[str, str]:
    values = {
        "org.opencontainers.image.created": facts.created,
        "org.opencontainers.image.title": facts.model,
        "org.opencontainers.image.version": facts.version,
        "org.opencontainers.image.revision": facts.git_commit,
        f"{REGISTRY}.model": facts.model,
        f"{REGISTRY}.version": facts.version,
        f"{REGISTRY}.created-by": facts.created_by,
        f"{REGISTRY}.format": facts.format,
        f"{REGISTRY}.framework": facts.framework,
        f"{REGISTRY}.framework-version": facts.framework_version,
        f"{REGISTRY}.parameter-count": str(facts.parameter_count) if facts.parameter_count else "",
        f"{REGISTRY}.training-dataset": facts.training_dataset,
        f"{REGISTRY}.run-id": facts.run_id,
        f"{REGISTRY}.experiment-id": facts.experiment_id,
    }
    return {k: v for k, v in values.items() if v}


def manifest(facts: VersionFacts) -> Artifact:
    """The canonical OCI image manifest of a version, and its config blob.

    Stage, aliases and metrics are left out on purpose: they move after registration, and a
    manifest that changed with them would change its digest, breaking every pull pinned to
    it. They are visible as tags (stages, aliases) and through the registry API.
    """
    config = config_blob(facts)
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": f"sha256:{hashlib.sha256(config).hexdigest()}",
            "size": len(config),
        },
        "layers": [_layer(f, facts.created) for f in facts.files],
        "annotations": _annotations(facts),
    }
    return Artifact(canonical(document), config)


def page_of_tags(tags: list[str], n: int | None, last: str) -> tuple[list[str], bool]:
    """Names (tags, repositories) in lexical order after ``last``, at most ``n``; and
    whether more follow."""
    ordered = sorted(set(tags))
    if last:
        ordered = [t for t in ordered if t > last]
    if n is None:
        return ordered, False
    return ordered[:n], len(ordered) > n
