"""HTTP/JSON against a real gateway: every call a real HTTP request (httpx) on loopback,
transcoded to the gateway's gRPC API."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.http.conftest import Registry
from tests.http.status import reasons, violations


def _register(registry: Registry, model: str, version: str, **fields) -> dict:
    digest = registry.upload(os.urandom(2048))
    body = {"modelVersion": {"version": version, "artifactDigest": digest, **fields}}
    with registry.http("writer") as http:
        answer = http.post(f"/v1/models/{model}/versions", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["modelVersion"]


def test_register_get_resolve_list_and_promote(registry: Registry) -> None:
    created = _register(registry, "fraud", "1.0.0", metrics={"auc": 0.91}, tags={"team": "risk"})
    assert created["name"] == "models/fraud/versions/1.0.0"
    assert created["state"] == "VERSION_STATE_READY"
    assert created["artifactDigest"]["sizeBytes"] == "2048"  # int64 as a string
    _register(registry, "fraud", "1.1.0")
    _register(registry, "fraud", "1.2.0")
    with registry.http("reader") as http:
        got = http.get("/v1/models/fraud/versions/1.0.0").json()["modelVersion"]
        assert got["metrics"] == {"auc": 0.91}
        assert got["createTime"].endswith("Z")  # Timestamp as RFC 3339
        first = http.get("/v1/models/fraud/versions", params={"pageSize": 2}).json()
        assert len(first["modelVersions"]) == 2
        rest = http.get(
            "/v1/models/fraud/versions",
            params={"pageSize": "2", "pageToken": first["nextPageToken"]},
        ).json()
        names = [v["version"] for v in first["modelVersions"] + rest["modelVersions"]]
        assert sorted(names) == ["1.0.0", "1.1.0", "1.2.0"]
        assert "nextPageToken" not in rest
    with registry.http("writer") as http:
        alias = http.post(
            "/v1/models/fraud/versions/1.1.0:setAlias", json={"alias": "champion"}
        ).json()
        assert alias["alias"]["alias"] == "champion"
        promoted = http.post(
            "/v1/models/fraud/versions/1.1.0:promote",
            json={"targetStage": "STAGE_STAGING", "reason": "candidate"},
        )
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["modelVersion"]["stage"] == "STAGE_STAGING"
    with registry.http("reader") as http:
        for reference in ("fraud@champion", "fraud%40staging", "fraud:1.1.0"):
            resolved = http.get(f"/v1/references/{reference}")
            assert resolved.status_code == 200, (reference, resolved.text)
            assert resolved.json()["modelVersion"]["name"] == "models/fraud/versions/1.1.0"
        found = http.get("/v1/versions:search", params={"filter": 'stage = "staging"'}).json()
        assert [v["name"] for v in found["modelVersions"]] == ["models/fraud/versions/1.1.0"]
        report = http.get("/v1/models/fraud/versions/1.1.0:report").json()
        assert report["modelVersion"]["aliases"] == ["champion"]
        compared = http.get(
            "/v1/versions:compare",
            params=[("names", "models/fraud/versions/1.0.0"), ("names", "fraud:1.1.0")],
        )
        assert compared.status_code in (200, 400), compared.text


def test_update_with_a_mask_in_the_query(registry: Registry) -> None:
    _register(registry, "masked", "1.0.0")
    with registry.http("writer") as http:
        answer = http.patch(
            "/v1/models/masked/versions/1.0.0",
            params={"updateMask": "description"},
            json={"description": "from HTTP", "framework": "ignored"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["modelVersion"]["description"] == "from HTTP"
    assert "framework" not in answer.json()["modelVersion"]


def test_errors_come_from_the_rpc_with_their_http_status(registry: Registry) -> None:
    with registry.http("reader") as http:
        missing = http.get("/v1/models/fraud/versions/9.9.9")
        assert missing.status_code == 404
        assert missing.json()["code"] == 5
        assert "9.9.9" in missing.json()["message"]
        bad = http.get("/v1/models/fraud/versions", params={"pageSize": "-1"})
        assert bad.status_code == 400
        assert bad.json()["code"] == 3
        refused = http.post("/v1/models/fraud/versions/1.0.0:setAlias", json={"alias": "x"})
        assert refused.status_code == 403
        assert refused.json()["code"] == 7
    _register(registry, "twice", "1.0.0")
    with registry.http("writer") as http:
        digest = registry.upload(b"again")
        again = http.post(
            "/v1/models/twice/versions",
            json={"modelVersion": {"version": "1.0.0", "artifactDigest": digest}},
        )
        assert again.status_code == 409
        assert again.json()["code"] == 6
        absent = {"hash": "0" * 64, "sizeBytes": "10"}
        unknown_blob = http.post(
            "/v1/models/twice/versions",
            json={"modelVersion": {"version": "2.0.0", "artifactDigest": absent}},
        )
        assert unknown_blob.status_code == 400  # FAILED_PRECONDITION, as google.rpc maps it
        assert unknown_blob.json()["code"] == 9


def test_malformed_json_is_400(registry: Registry) -> None:
    with registry.http("writer") as http:
        answer = http.post(
            "/v1/models/m/versions",
            content=b'{"modelVersion": {',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == 3
    assert answer.json()["message"].startswith("the request body is not valid JSON")
    assert reasons(answer.json()) == ["MALFORMED_JSON"]


def test_an_unknown_field_is_400_naming_it(registry: Registry) -> None:
    with registry.http("writer") as http:
        answer = http.post(
            "/v1/models/m/versions", json={"modelVersion": {"version": "1.0.0", "colour": "red"}}
        )
        query = http.get("/v1/models", params={"colour": "red"})
    assert answer.status_code == 400
    assert 'no field named "colour"' in answer.json()["message"]
    assert violations(answer.json()) == ["modelVersion.colour"]
    assert query.status_code == 400
    assert query.json()["message"] == "ListModelsRequest has no field 'colour'"
    with registry.http("writer") as http:
        path_field = http.get("/v1/models/m", params={"name": "models/other"})
        body_field = http.patch(
            "/v1/models/m/versions/1.0.0", params={"modelVersion.description": "x"}, json={}
        )
    assert path_field.status_code == 400
    assert (
        path_field.json()["message"] == "field 'name' is given by the path, not a query parameter"
    )
    assert body_field.status_code == 400
    assert body_field.json()["message"] == (
        "field 'modelVersion.description' is given by the body, not a query parameter"
    )
    assert violations(query.json()) == ["colour"]


def test_a_wrong_type_is_400_naming_the_field(registry: Registry) -> None:
    with registry.http("writer") as http:
        body = {"modelVersion": {"version": "1.0.0", "metrics": {"auc": "high"}}}
        answer = http.post("/v1/models/m/versions", json=body)
        query = http.get("/v1/models", params={"pageSize": "ten"})
        flag = http.get("/v1/models", params={"showArchived": "maybe"})
        not_object = http.post("/v1/models/m/versions", json=[1, 2])
    assert answer.status_code == 400
    assert "Couldn't parse float: high" in answer.json()["message"]
    assert violations(answer.json()) == ["modelVersion.metrics[auc]"]
    assert query.status_code == 400
    assert query.json()["message"].startswith("Failed to parse pageSize field")
    assert violations(query.json()) == ["pageSize"]
    assert flag.status_code == 400
    assert (
        flag.json()["message"]
        == "query parameter 'showArchived' must be true or false, got 'maybe'"
    )
    assert not_object.status_code == 400
    assert not_object.json()["message"] == "the request body must be a JSON object"


def test_a_path_that_maps_to_no_rpc_is_404_with_a_status_body(registry: Registry) -> None:
    with registry.http() as http:
        answer = http.get("/v1/models/m/versions/1.0.0/nothing")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == 5
    assert answer.json()["message"].startswith(
        "no RPC is mapped to /v1/models/m/versions/1.0.0/nothing"
    )
    assert reasons(answer.json()) == ["NO_SUCH_PATH"]


def test_a_method_not_allowed_is_405_with_allow(registry: Registry) -> None:
    with registry.http() as http:
        answer = http.delete("/v1/models/m/versions/1.0.0")
        put = http.put("/v1/models")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, PATCH"
    assert answer.json()["message"] == (
        "DELETE is not allowed on /v1/models/m/versions/1.0.0; use GET, PATCH"
    )
    assert put.status_code == 405 and put.headers["allow"] == "GET"
    with registry.http() as http:
        options = http.options("/v1/models")
        root = http.get("/v1")
    assert options.status_code == 405 and options.json()["code"] == 12
    assert root.status_code == 404 and root.json()["code"] == 5


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [(None, "TOKEN_MISSING"), ("Bearer mreg_000000000000_nope", None), ("Basic Zm9v", None)],
)
def test_a_missing_or_wrong_token_is_401_with_www_authenticate(
    registry: Registry, authorization: str | None, reason: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=registry.url, headers=headers, timeout=30) as http:
        answer = http.get("/v1/models")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="model registry"'
    assert answer.json()["code"] == 16
    if reason:
        assert reasons(answer.json()) == [reason]


def test_a_body_over_the_limit_is_413(registry: Registry) -> None:
    from services.gateway.http.json_api import MAX_BODY_BYTES

    big = b'{"description": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with registry.http("writer") as http:
        answer = http.post(
            "/v1/models/m/versions", content=big, headers={"Content-Type": "application/json"}
        )

        def chunks():
            yield big[: len(big) // 2]
            yield big[len(big) // 2 :]

        chunked = http.post(
            "/v1/models/m/versions", content=chunks(), headers={"Content-Type": "application/json"}
        )
    for refused in (answer, chunked):
        assert refused.status_code == 413
        assert refused.json()["message"] == "the request body is over the limit of 16 MiB"


def test_a_body_that_is_not_json_is_415(registry: Registry) -> None:
    with registry.http("writer") as http:
        answer = http.post(
            "/v1/models/m/versions",
            content=b"version=1.0.0",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 415
    assert answer.json()["message"] == (
        "request bodies must be application/json, got application/x-www-form-urlencoded"
    )


def test_a_bug_is_500_internal_without_a_traceback(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services.gateway.http.json_api import api

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api, "build_request", broken)
    with registry.http() as http:
        answer = http.get("/v1/models")
    assert answer.status_code == 500
    assert answer.json()["code"] == 13
    assert answer.json()["message"] == (
        "internal error in GET /v1/models; the gateway's log has the details"
    )
    assert "secret detail" not in answer.text
    assert "secret detail" in caplog.text
