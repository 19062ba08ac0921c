"""Malformed requests are the caller's fault: INVALID_ARGUMENT, with a short message.

5,000-character names on every resource-name field of one RPC per service answer
INVALID_ARGUMENT naming the field and quoting at most a short prefix of the value (before,
the quoted value pushed the error headers past gRPC's 8 KiB limit: RESOURCE_EXHAUSTED).
Filters nested deeper than the parser's limit answer INVALID_ARGUMENT naming the limit
(before, INTERNAL from a RecursionError), directly and through the gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2

LONG = "a" * 5000
PREFIX = "a" * 64
DIGEST = resources_pb2.Digest(hash="0" * 64, size_bytes=1)
MODEL_ID = (
    f"invalid model id '{PREFIX}'\u2026 (5000 characters): use 1-128 characters of lower-case "
    "letters, digits, '.', '_' and '-', starting with a letter or digit, without '..'"
)
REQUEST_ID = (
    f"request_id: invalid request id '{PREFIX}'\u2026 (5000 characters): use 1-128 characters "
    "of letters, digits, '.', '_', ':' and '-' (a UUID is a good choice)"
)
SEMVER = (
    f"model_version.version: invalid semantic version '{'a' * 128}': expected "
    "'major.minor.patch[-prerelease][+build]' (for example '1.4.0' or '2.0.0-rc.1'), "
    "at most 128 characters"
)
VERSION_NAME = (
    "lineage[0].object.key: expected 'models/{model}/versions/{version}', got "
    f"'models/m/versions/{'a' * 46}'\u2026 (5018 characters)"
)


def _failure(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def _parent_link(key: str) -> list[resources_pb2.LineageLink]:
    return [
        resources_pb2.LineageLink(
            type=resources_pb2.LINEAGE_EDGE_TYPE_FINE_TUNED_FROM,
            object=resources_pb2.LineageNode(
                type=resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION, key=key
            ),
        )
    ]


def _version(**fields: Any) -> resources_pb2.ModelVersion:
    return resources_pb2.ModelVersion(artifact_digest=fields.pop("digest", DIGEST), **fields)


CREATE_CASES = [
    ({"parent": f"models/{LONG}"}, f"parent: {MODEL_ID}"),
    (
        {"parent": LONG},
        f"parent: expected 'models/{{model}}', got '{PREFIX}'\u2026 (5000 characters)",
    ),
    ({"request_id": LONG}, REQUEST_ID),
    ({"model_version": _version(version=LONG)}, SEMVER),
    (
        {"lineage": _parent_link(f"models/{LONG}/versions/1.0.0")},
        f"lineage[0].object.key: {MODEL_ID}",
    ),
    ({"lineage": _parent_link(f"models/m/versions/{LONG}")}, VERSION_NAME),
]


@pytest.mark.parametrize(("fields", "message"), CREATE_CASES)
def test_metadata_create_version_quotes_a_short_prefix_of_a_long_name(
    metadata, fields: dict[str, Any], message: str
) -> None:
    request = metadata_pb2.CreateModelVersionRequest(
        **{"parent": "models/m", "model_version": _version(), **fields}
    )
    code, details = _failure(lambda: metadata.CreateModelVersion(request, timeout=10))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, message)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        *CREATE_CASES,
        (
            {"model_version": _version(digest=resources_pb2.Digest(hash=LONG, size_bytes=1))},
            f"model_version.artifact_digest.hash: invalid SHA-256 '{PREFIX}'\u2026 "
            "(5000 characters): expected 64 lower-case hexadecimal characters",
        ),
    ],
)
def test_gateway_register_quotes_a_short_prefix_of_a_long_name(
    gateway, fields: dict[str, Any], message: str
) -> None:
    request = registry_pb2.RegisterModelVersionRequest(
        **{"parent": "models/m", "request_id": "r-1", "model_version": _version(), **fields}
    )
    code, details = _failure(lambda: gateway.RegisterModelVersion(request, timeout=10))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, message)


def test_gateway_forwarded_read_quotes_a_short_prefix_of_a_long_name(gateway) -> None:
    request = registry_pb2.GetModelVersionRequest(name=f"models/m/versions/{LONG}")
    code, details = _failure(lambda: gateway.GetModelVersion(request, timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == (
        "name: expected 'models/{model}/versions/{version}', got "
        f"'models/m/versions/{'a' * 46}'\u2026 (5018 characters)"
    )


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            artifacts_pb2.PinBlobRequest(digest=DIGEST, holder=LONG),
            "holder: a holder is at most 512 printable characters, got 5000",
        ),
        (
            artifacts_pb2.PinBlobRequest(
                digest=resources_pb2.Digest(hash=LONG, size_bytes=1),
                holder="models/m/versions/1.0.0",
            ),
            f"digest.hash: invalid SHA-256 '{PREFIX}'\u2026 (5000 characters): expected 64 "
            "lower-case hexadecimal characters",
        ),
    ],
)
def test_artifacts_pin_blob_refuses_long_names_briefly(
    artifacts, request_: artifacts_pb2.PinBlobRequest, message: str
) -> None:
    code, details = _failure(lambda: artifacts.PinBlob(request_, timeout=10))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, message)


NESTED = "(" * 500 + 'stage = "staging"' + ")" * 500
TOO_DEEP = (
    "filter: too deeply nested: the limit is 32 levels of parentheses and NOT, found another "
    "{token!r} at position {position} of {excerpt}"
)


def _search(stub, text: str) -> Any:
    return stub.SearchModelVersions(
        registry_pb2.SearchModelVersionsRequest(filter=text), timeout=10
    )


@pytest.mark.parametrize("via", ["metadata", "gateway"])
@pytest.mark.parametrize(
    ("text", "token", "position", "excerpt"),
    [
        (NESTED, "(", 33, "\u2026'" + "(" * 60 + "'\u2026"),
        (
            "NOT " * 1000 + 'stage = "staging"',
            "NOT",
            129,
            "\u2026'" + ("NOT " * 15)[:60] + "'\u2026",
        ),
        (
            "NOT (" * 16 + "NOT x = 1" + ")" * 16,
            "NOT",
            81,
            "\u2026'" + "NOT (" * 7 + "NOT x = 1" + ")" * 16 + "'",
        ),
    ],
    ids=["parentheses", "not", "mixed"],
)
def test_filters_nested_past_the_limit_are_invalid_naming_it(
    metadata, gateway, via: str, text: str, token: str, position: int, excerpt: str
) -> None:
    stub = metadata if via == "metadata" else gateway
    code, details = _failure(lambda: _search(stub, text))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == TOO_DEEP.format(token=token, position=position, excerpt=excerpt)


def test_filters_nested_to_the_limit_are_answered(gateway) -> None:
    for text in (
        "(" * 32 + 'stage = "staging"' + ")" * 32,
        "NOT " * 32 + 'stage = "staging"',
        "(NOT " * 16 + 'stage = "staging"' + ")" * 16,
        " OR ".join(['stage = "staging"'] * 150),
    ):
        assert list(_search(gateway, text).model_versions) == []


def test_a_long_bad_filter_quotes_only_the_text_around_the_error(metadata) -> None:
    text = 'tags.x = "' + "\x01" * 4000 + '" )'
    code, details = _failure(lambda: _search(metadata, text))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == (
        f"filter: expected AND, OR or the end, found ')' at position {len(text)} of "
        "\u2026'" + "\\x01" * 57 + "\" )'"
    )
