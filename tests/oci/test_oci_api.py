"""The OCI pull API over plain HTTP: tags, ModelPack manifests, redirected blobs, ranges,
and every bad input answered with the distribution-spec error code and a clear message."""

from __future__ import annotations

import hashlib
import http.client
import json

import pytest

from mreg.client import Client
from services.common.server import insecure_channel
from tests.oci.conftest import TREE_FILES, Served, sha256

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def errors(response) -> list[tuple[str, str]]:
    return [(e["code"], e["message"]) for e in response.json()["errors"]]


def test_base_endpoint_answers_ok_with_the_api_version(served: Served) -> None:
    with served.client() as http:
        response = http.get("/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_tags_are_versions_aliases_stages_and_latest(served: Served) -> None:
    with served.client() as http:
        response = http.get("/v2/team-a-llm/tags/list")
        assert response.status_code == 200
        assert response.json() == {
            "name": "team-a-llm",
            "tags": ["1.0.0_build.7", "1.1.0", "champion", "development", "latest", "staging"],
        }
        first = http.get("/v2/team-a-llm/tags/list", params={"n": 2})
        assert first.json()["tags"] == ["1.0.0_build.7", "1.1.0"]
        assert first.headers["Link"] == '</v2/team-a-llm/tags/list?n=2&last=1.1.0>; rel="next"'
        rest = http.get("/v2/team-a-llm/tags/list", params={"n": 10, "last": "1.1.0"})
        assert rest.json()["tags"] == ["champion", "development", "latest", "staging"]
        assert "Link" not in rest.headers
        bad = http.get("/v2/team-a-llm/tags/list", params={"n": "-1"})
    assert bad.status_code == 400
    assert errors(bad) == [
        ("PAGINATION_NUMBER_INVALID", "n must be a non-negative integer, got '-1'")
    ]


def test_manifest_is_a_canonical_modelpack_artifact(served: Served) -> None:
    with served.client() as http:
        by_version = http.get("/v2/team-a-llm/manifests/1.0.0_build.7")
        by_alias = http.get("/v2/team-a-llm/manifests/champion")
        again = http.get("/v2/team-a-llm/manifests/1.0.0_build.7")
    assert by_version.status_code == 200
    assert by_version.headers["content-type"] == MANIFEST
    digest = "sha256:" + hashlib.sha256(by_version.content).hexdigest()
    assert by_version.headers["Docker-Content-Digest"] == digest
    assert by_alias.content == again.content == by_version.content
    manifest = by_version.json()
    assert (
        by_version.content == json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    )
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.model.config.v1+json"
    layers = {lay["annotations"]["org.cncf.model.filepath"]: lay for lay in manifest["layers"]}
    assert sorted(layers) == sorted(TREE_FILES)
    kinds = {path: layer["mediaType"].split(".")[3] for path, layer in layers.items()}
    assert kinds == {
        "model.safetensors": "weight",
        "config.json": "weight",
        "README.md": "doc",
        "handler.py": "code",
        "tokenizer/tokenizer.json": "weight",
    }
    assert layers["config.json"]["mediaType"] == "application/vnd.cncf.model.weight.config.v1.raw"
    assert layers["model.safetensors"]["mediaType"] == "application/vnd.cncf.model.weight.v1.raw"
    for path, layer in layers.items():
        assert layer["digest"] == f"sha256:{sha256(served.tree_dir / path)}"
        assert layer["size"] == TREE_FILES[path]
    assert manifest["annotations"]["io.modelregistry.version"] == "1.0.0+build.7"
    assert manifest["annotations"]["org.opencontainers.image.title"] == "team-a-llm"


def test_config_blob_holds_the_versions_metadata(served: Served) -> None:
    with served.client() as http:
        manifest = http.get("/v2/team-b-single/manifests/2.0.0").json()
        config = http.get(f"/v2/team-b-single/blobs/{manifest['config']['digest']}")
    assert config.status_code == 200
    assert hashlib.sha256(config.content).hexdigest() == manifest["config"]["digest"][7:]
    document = config.json()
    assert document["descriptor"]["name"] == "team-b-single"
    assert document["descriptor"]["version"] == "2.0.0"
    assert document["modelfs"] == {
        "type": "layers",
        "diffIds": [f"sha256:{sha256(served.single_file)}"],
    }
    (layer,) = manifest["layers"]
    assert layer["annotations"]["org.opencontainers.image.title"] == "weights.gguf"


def test_a_manifest_fetched_by_digest_is_the_same_bytes(served: Served) -> None:
    with served.client() as http:
        by_tag = http.get("/v2/team-a-llm/manifests/latest")
        digest = by_tag.headers["Docker-Content-Digest"]
        by_digest = http.get(f"/v2/team-a-llm/manifests/{digest}")
        head = http.head(f"/v2/team-a-llm/manifests/{digest}")
    assert by_digest.status_code == 200
    assert by_digest.content == by_tag.content
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == digest
    assert int(head.headers["content-length"]) == len(by_tag.content)


def test_blob_redirects_to_the_artifact_service_which_streams_verified_bytes(
    served: Served,
) -> None:
    digest = f"sha256:{sha256(served.single_file)}"
    with served.client() as http:
        redirect = http.get(f"/v2/team-b-single/blobs/{digest}")
        assert redirect.status_code == 307
        assert redirect.headers["location"].startswith(f"/artifacts/blobs/{digest}")
        blob = http.get(f"/v2/team-b-single/blobs/{digest}", follow_redirects=True)
        head = http.head(redirect.headers["location"])
    assert blob.status_code == 200
    assert blob.content == served.single_file.read_bytes()
    assert blob.headers["Docker-Content-Digest"] == digest
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == served.single_file.stat().st_size
    assert head.headers["accept-ranges"] == "bytes"


def test_ranges_answer_206_and_416_past_the_end(served: Served) -> None:
    data = served.single_file.read_bytes()
    size = len(data)
    digest = f"sha256:{sha256(served.single_file)}"
    path = f"/v2/team-b-single/blobs/{digest}"
    with served.client() as http:

        def get(range_header: str):
            return http.get(path, headers={"Range": range_header}, follow_redirects=True)

        middle = get("bytes=1048570-1048585")
        tail = get("bytes=-10")
        open_ended = get(f"bytes={size - 5}-")
        clipped = get(f"bytes={size - 2}-{size + 100}")
        past = get(f"bytes={size}-")
    assert middle.status_code == 206
    assert middle.content == data[1048570:1048586]
    assert middle.headers["content-range"] == f"bytes 1048570-1048585/{size}"
    assert tail.status_code == 206 and tail.content == data[-10:]
    assert open_ended.content == data[-5:]
    assert clipped.content == data[-2:]
    assert clipped.headers["content-range"] == f"bytes {size - 2}-{size - 1}/{size}"
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"
    assert errors(past) == [
        ("SIZE_INVALID", f"range 'bytes={size}-' lies beyond the blob's {size} bytes")
    ]


def test_unknown_repository_tag_and_digest(served: Served) -> None:
    unknown = "sha256:" + "0" * 64
    with served.client() as http:
        repository = http.get("/v2/no-such-model/manifests/latest")
        tags = http.get("/v2/no-such-model/tags/list")
        tag = http.get("/v2/team-a-llm/manifests/9.9.9")
        alias = http.get("/v2/team-a-llm/manifests/no-alias")
        manifest = http.get(f"/v2/team-a-llm/manifests/{unknown}")
        blob = http.get(f"/v2/team-a-llm/blobs/{unknown}")
    assert (repository.status_code, tags.status_code) == (404, 404)
    assert errors(repository) == [("NAME_UNKNOWN", "repository 'no-such-model' is not known")]
    assert errors(tags) == [("NAME_UNKNOWN", "repository 'no-such-model' is not known")]
    assert tag.status_code == alias.status_code == 404
    assert errors(tag) == [("MANIFEST_UNKNOWN", "repository 'team-a-llm' has no tag '9.9.9'")]
    assert errors(alias) == [("MANIFEST_UNKNOWN", "repository 'team-a-llm' has no tag 'no-alias'")]
    assert manifest.status_code == 404
    assert errors(manifest) == [
        ("MANIFEST_UNKNOWN", f"repository 'team-a-llm' has no manifest {unknown}")
    ]
    assert blob.status_code == 404
    assert errors(blob) == [
        ("BLOB_UNKNOWN", f"blob {unknown} is not part of repository 'team-a-llm'")
    ]


def test_a_blob_of_another_repository_is_unknown_here(served: Served) -> None:
    other = f"sha256:{sha256(served.single_file)}"
    with served.client() as http:
        response = http.get(f"/v2/team-a-llm/blobs/{other}")
    assert response.status_code == 404
    assert errors(response) == [
        ("BLOB_UNKNOWN", f"blob {other} is not part of repository 'team-a-llm'")
    ]


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        (
            "sha512:" + "a" * 128,
            "digest algorithm 'sha512' is not supported: this registry uses sha256",
        ),
        (
            "sha256:abc",
            "sha256 digest 'abc' is malformed: expected 64 lower-case hex characters, got 3",
        ),
        (
            "sha256:" + "A" * 64,
            f"sha256 digest '{'A' * 64}' is malformed: expected 64 lower-case hex characters, "
            "got 64",
        ),
    ],
)
def test_digest_of_the_wrong_algorithm_or_length(served: Served, digest, message) -> None:
    with served.client() as http:
        for kind in ("manifests", "blobs"):
            response = http.get(f"/v2/team-a-llm/{kind}/{digest}")
            assert response.status_code == 400
            assert errors(response) == [("DIGEST_INVALID", message)]


def test_pending_and_failed_versions_are_not_tags(served: Served) -> None:
    registry = served.registry
    with insecure_channel(registry.address(registry.gateway)) as channel:
        from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
        from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

        gateway = registry_pb2_grpc.RegistryServiceStub(channel)
        missing = resources_pb2.Digest(hash="1" * 64, size_bytes=5)
        with pytest.raises(Exception):  # noqa: B017 - the registration fails on purpose
            gateway.RegisterModelVersion(
                registry_pb2.RegisterModelVersionRequest(
                    parent="models/team-a-llm",
                    model_version=resources_pb2.ModelVersion(
                        version="3.0.0", artifact_digest=missing
                    ),
                ),
                timeout=30,
            )
    with insecure_channel(registry.address(registry.metadata)) as channel:
        from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
        from modelregistry.v1 import registry_pb2, resources_pb2

        metadata = metadata_pb2_grpc.MetadataServiceStub(channel)
        metadata.CreateModelVersion(
            metadata_pb2.CreateModelVersionRequest(
                parent="models/team-a-llm",
                model_version=resources_pb2.ModelVersion(version="4.0.0", artifact_digest=missing),
                request_id="pending-one",
            ),
            timeout=30,
        )
    with served.client() as http:
        tags = http.get("/v2/team-a-llm/tags/list").json()["tags"]
        failed = http.get("/v2/team-a-llm/manifests/3.0.0")
        pending = http.get("/v2/team-a-llm/manifests/4.0.0")
    assert "3.0.0" not in tags and "4.0.0" not in tags
    assert failed.status_code == pending.status_code == 404
    assert errors(failed) == [
        (
            "MANIFEST_UNKNOWN",
            "version 3.0.0 of 'team-a-llm' is FAILED, not READY: only READY versions can be pulled",
        )
    ]
    assert errors(pending) == [
        (
            "MANIFEST_UNKNOWN",
            "version 4.0.0 of 'team-a-llm' is PENDING, not READY: "
            "only READY versions can be pulled",
        )
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/team-a-llm/blobs/uploads/"),
        ("PUT", "/v2/team-a-llm/manifests/1.1.0"),
        ("PATCH", "/v2/team-a-llm/blobs/uploads/some-session"),
        ("DELETE", "/v2/team-a-llm/manifests/1.1.0"),
        ("DELETE", f"/v2/team-a-llm/blobs/sha256:{'0' * 64}"),
    ],
)
def test_push_attempts_are_unsupported(served: Served, method: str, path: str) -> None:
    with served.client() as http:
        response = http.request(method, path, content=b"{}")
    assert response.status_code == 405
    assert errors(response) == [
        (
            "UNSUPPORTED",
            f"{method} {path}: this registry is read-only over OCI; push models with 'mreg push'",
        )
    ]


@pytest.mark.parametrize(
    "raw_path",
    [
        "/v2/team-a-llm/../team-b-single/manifests/latest",
        "/v2/%2e%2e/%2e%2e/etc/manifests/latest",
        "/v2/team-a-llm/..%2fsecret/tags/list",
        "/v2/UPPER/manifests/latest",
    ],
)
def test_path_traversal_and_invalid_names_are_refused(served: Served, raw_path: str) -> None:
    # http.client sends the path exactly as written (httpx would normalise the dots away).
    connection = http.client.HTTPConnection(served.host, timeout=30)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    (error,) = body["errors"]
    assert error["code"] == "NAME_INVALID"
    assert error["message"].startswith("invalid repository name ")


def test_catalog_lists_models_with_valid_repository_names_only(served: Served) -> None:
    registry = served.registry
    with Client(registry.address(registry.gateway), timeout=30) as client:
        for odd in ("odd_-name", "trailing-"):
            client.push(served.single_file, model=odd, version="1.0.0")
    with served.client() as http:
        catalog = http.get("/v2/_catalog")
        first = http.get("/v2/_catalog", params={"n": 1})
        odd = http.get("/v2/odd_-name/manifests/latest")
    assert catalog.status_code == 200
    assert catalog.json() == {"repositories": ["team-a-llm", "team-b-single"]}
    assert first.json() == {"repositories": ["team-a-llm"]}
    assert first.headers["Link"] == '</v2/_catalog?n=1&last=team-a-llm>; rel="next"'
    assert odd.status_code == 400
    assert errors(odd) == [("NAME_INVALID", "invalid repository name 'odd_-name'")]


def test_a_tag_follows_its_alias_and_stage_but_a_digest_stays(served: Served) -> None:
    with served.client() as http:
        before = http.get("/v2/team-a-llm/manifests/champion")
        pinned = before.headers["Docker-Content-Digest"]
        registry = served.registry
        with Client(registry.address(registry.gateway), timeout=30) as client:
            client.set_alias("team-a-llm:1.1.0", "champion")
            client.promote("team-a-llm:1.1.0", "production")
        after = http.get("/v2/team-a-llm/manifests/champion")
        production = http.get("/v2/team-a-llm/manifests/production")
        staging = http.get("/v2/team-a-llm/manifests/staging")
        by_digest = http.get(f"/v2/team-a-llm/manifests/{pinned}")
        tags = http.get("/v2/team-a-llm/tags/list").json()["tags"]
    assert after.json()["annotations"]["io.modelregistry.version"] == "1.1.0"
    assert after.headers["Docker-Content-Digest"] != pinned
    assert production.content == after.content
    assert staging.status_code == 404
    assert by_digest.content == before.content
    assert "production" in tags and "staging" not in tags


def test_config_has_format_parameters_and_precision_from_inspection(
    served: Served, tmp_path
) -> None:
    from benchmarks.models import write_safetensors

    weights = write_safetensors(tmp_path / "tiny.safetensors", 64 * 1024, "BF16", seed=3)
    registry = served.registry
    with Client(registry.address(registry.gateway), timeout=30) as client:
        pushed = client.push(weights, model="tiny", version="0.1.0", run="run-7")
    with served.client() as http:
        manifest = http.get("/v2/tiny/manifests/0.1.0").json()
        config = http.get(f"/v2/tiny/blobs/{manifest['config']['digest']}").json()
    assert config["config"] == {
        "format": "safetensors",
        "paramSize": f"{pushed.version.parameter_count / 1000:.3g}k",
        "precision": "bf16",
    }
    assert config["descriptor"]["name"] == "tiny"
    assert manifest["annotations"]["io.modelregistry.run-id"] == "run-7"
    assert manifest["annotations"]["io.modelregistry.parameter-count"] == str(
        pushed.version.parameter_count
    )
