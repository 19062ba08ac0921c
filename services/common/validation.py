"""Validation of the identifiers every service accepts: model ids, resource names, digests.

Each function raises :class:`InvalidArgument` naming the offending field, so the
client gets a ``BadRequest`` field violation it can act on. Messages quote a value
through :func:`~services.common.errors.quote`: at most a short prefix and its length.
"""

from __future__ import annotations

import re

from modelregistry.v1 import resources_pb2
from services.common.errors import InvalidArgument, quote

MODEL_ID_PATTERN = r"[a-z0-9][a-z0-9._-]{0,127}"
_MODEL_ID = re.compile(MODEL_ID_PATTERN)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_VERSION_SEGMENT = r"[0-9A-Za-z.+-]{1,128}"
_MODEL_NAME = re.compile(r"models/(?P<model>[^/]+)")
_VERSION_NAME = re.compile(rf"models/(?P<model>[^/]+)/versions/(?P<version>{_VERSION_SEGMENT})")


def validate_model_id(model_id: str, field: str = "model") -> str:
    """Check a model id: ``[a-z0-9][a-z0-9._-]{0,127}`` and no ``..``."""
    if not model_id:
        raise InvalidArgument.field(field, "a model id is required")
    if not _MODEL_ID.fullmatch(model_id) or ".." in model_id:
        raise InvalidArgument.field(
            field,
            f"invalid model id {quote(model_id)}: use 1-128 characters of lower-case letters, "
            "digits, '.', '_' and '-', starting with a letter or digit, without '..'",
        )
    return model_id


def parse_model_name(name: str, field: str = "name") -> str:
    """``models/{model}`` -> the model id."""
    match = _MODEL_NAME.fullmatch(name)
    if not match:
        raise InvalidArgument.field(field, f"expected 'models/{{model}}', got {quote(name)}")
    return validate_model_id(match["model"], field)


def parse_version_name(name: str, field: str = "name") -> tuple[str, str]:
    """``models/{model}/versions/{version}`` -> (model id, version string)."""
    match = _VERSION_NAME.fullmatch(name)
    if not match:
        raise InvalidArgument.field(
            field, f"expected 'models/{{model}}/versions/{{version}}', got {quote(name)}"
        )
    return validate_model_id(match["model"], field), match["version"]


def reference_model(reference: str) -> str:
    """The model id of a user reference: ``name``, ``name:1.0.0``, ``name@alias``."""
    return reference.split("@", 1)[0].split(":", 1)[0]


def model_name(model_id: str) -> str:
    """The resource name of a model."""
    return f"models/{model_id}"


def version_name(model_id: str, version: str) -> str:
    """The resource name of a model version."""
    return f"models/{model_id}/versions/{version}"


_CHUNK_ALGORITHMS = (
    resources_pb2.DIGEST_ALGORITHM_UNSPECIFIED,
    resources_pb2.DIGEST_ALGORITHM_SHA256,
    resources_pb2.DIGEST_ALGORITHM_BLAKE3,
)


def validate_digest(
    digest: resources_pb2.Digest, field: str = "digest", *, chunk: bool = False
) -> resources_pb2.Digest:
    """Check a digest: 64 lower-case hex characters, a size that is not negative, and an
    algorithm that fits: SHA-256 for blobs and trees, SHA-256 or BLAKE3 for a ``chunk``."""
    name = "BLAKE3" if digest.algorithm == resources_pb2.DIGEST_ALGORITHM_BLAKE3 else "SHA-256"
    if not digest.hash:
        raise InvalidArgument.field(f"{field}.hash", f"a {name} digest is required")
    if not _SHA256_HEX.fullmatch(digest.hash):
        raise InvalidArgument.field(
            f"{field}.hash",
            f"invalid {name} {quote(digest.hash)}: expected 64 lower-case hexadecimal characters",
        )
    allowed = _CHUNK_ALGORITHMS if chunk else _CHUNK_ALGORITHMS[:2]
    if digest.algorithm not in allowed:
        raise InvalidArgument.field(
            f"{field}.algorithm",
            f"digest algorithm {digest.algorithm} is not accepted here: blob and tree digests "
            "are SHA-256 (UNSPECIFIED or SHA256); chunk digests may also be BLAKE3",
        )
    if digest.size_bytes < 0:
        raise InvalidArgument.field(
            f"{field}.size_bytes", f"size must not be negative, got {digest.size_bytes}"
        )
    return digest


def validate_request_id(request_id: str, field: str = "request_id") -> str:
    """Check an idempotency key: 1-128 characters of ``[A-Za-z0-9._:-]``."""
    if not _REQUEST_ID.fullmatch(request_id):
        raise InvalidArgument.field(
            field,
            f"invalid request id {quote(request_id)}: use 1-128 characters of letters, digits, "
            "'.', '_', ':' and '-' (a UUID is a good choice)",
        )
    return request_id
