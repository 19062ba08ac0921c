"""Names, tags, media types and canonical manifests of the OCI view, without servers."""

from __future__ import annotations

import pytest

from services.common.errors import PermissionDenied, Unauthenticated
from services.common.grants import sign, verify
from services.gateway import oci_manifests as oci

SHA = "a" * 64


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("fraud-detector", True),
        ("llama3.1_8b", True),
        ("a__b", True),
        ("a--b", True),
        ("trailing-", False),
        ("odd_-name", False),
        ("dots._mixed", False),
        ("a___b", False),
        ("Upper", False),
        ("..", False),
    ],
)
def test_repository_names_follow_the_distribution_grammar(name: str, valid: bool) -> None:
    assert oci.is_repository_name(name) is valid


@pytest.mark.parametrize(
    ("version", "tag"),
    [("1.0.0", "1.0.0"), ("1.0.0-rc.1+build.5", "1.0.0-rc.1_build.5"), ("2.0.0+a.b", "2.0.0_a.b")],
)
def test_version_tags_map_plus_to_underscore_and_back(version: str, tag: str) -> None:
    assert oci.version_tag(version) == tag
    assert oci.is_tag(tag) and oci.is_version_tag(tag)
    assert oci.version_of_tag(tag) == version


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("model-00001-of-00002.safetensors", oci.WEIGHT),
        ("weights.gguf", oci.WEIGHT),
        ("config.json", oci.WEIGHT_CONFIG),
        ("tokenizer.model", oci.WEIGHT_CONFIG),
        ("merges.txt", oci.WEIGHT_CONFIG),
        ("README.md", oci.DOC),
        ("LICENSE", oci.DOC),
        ("src/handler.py", oci.CODE),
        ("unknown.dat", oci.WEIGHT),
    ],
)
def test_media_type_by_file_kind(path: str, kind: str) -> None:
    assert oci.media_type(path) == kind


def _facts(**changes) -> oci.VersionFacts:
    values = {
        "model": "m",
        "version": "1.0.0",
        "created": "2026-12-02T07:00:00Z",
        "parameter_count": 8_030_000_000,
        "files": (oci.FileFacts("b.bin", SHA, 5), oci.FileFacts("a.json", "b" * 64, 2)),
    }
    return oci.VersionFacts(**{**values, **changes})


def test_the_same_facts_give_the_same_manifest_digest() -> None:
    first, second = oci.manifest(_facts()), oci.manifest(_facts())
    assert first.manifest == second.manifest
    assert first.digest == second.digest
    assert oci.manifest(_facts(version="1.0.1")).digest != first.digest
    assert b'"paramSize":"8.03b"' in first.config
    assert first.layer_sizes() == {f"sha256:{SHA}": 5, f"sha256:{'b' * 64}": 2}


def test_single_file_name_comes_from_the_push_tag() -> None:
    assert oci.single_file_name("m", "1.0.0", {"mreg.file_name": "w.gguf"}) == "w.gguf"
    assert oci.single_file_name("m", "1.0.0", {"mreg.file_name": "../x"}) == "m-1.0.0.bin"
    assert oci.single_file_name("m", "1.0.0", {}) == "m-1.0.0.bin"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latest", "'latest' is not a digest: expected 'sha256:<64 hex characters>'"),
        ("md5:abc", "digest algorithm 'md5' is not supported: this registry uses sha256"),
        (
            "sha256:xyz",
            "sha256 digest 'xyz' is malformed: expected 64 lower-case hex characters, got 3",
        ),
    ],
)
def test_parse_digest_says_what_is_wrong(text: str, message: str) -> None:
    assert oci.parse_digest(text) == message


def test_page_of_tags_is_lexical_after_last() -> None:
    assert oci.page_of_tags(["b", "a", "c"], 2, "") == (["a", "b"], True)
    assert oci.page_of_tags(["b", "a", "c"], 2, "b") == (["c"], False)
    assert oci.page_of_tags(["b", "a"], 0, "") == ([], True)


def test_grants_are_bound_to_a_blob_and_expire() -> None:
    grant = sign(b"secret", SHA, "ci", now=1000.0)
    assert verify(b"secret", grant, SHA, now=1001.0).principal == "ci"
    with pytest.raises(PermissionDenied):
        verify(b"secret", grant, "b" * 64, now=1001.0)
    with pytest.raises(Unauthenticated, match="expired"):
        verify(b"secret", grant, SHA, now=2000.0)
    with pytest.raises(Unauthenticated, match="not signed by this registry"):
        verify(b"other", grant, SHA, now=1001.0)
