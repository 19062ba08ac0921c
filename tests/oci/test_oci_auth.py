"""Auth on the OCI endpoint: tokens as bearer or basic password, a challenge on 401, the
same roles and model-prefix limits as gRPC, and blob redirects that carry a signed grant."""

from __future__ import annotations

import base64

from services.common.grants import grant_secret, sign
from tests.oci.conftest import Served, sha256
from tests.oci.test_oci_api import errors

MISSING = (
    "this registry requires a token: log in with the token as the password "
    "(skopeo --creds user:TOKEN, oras login) or send 'Authorization: Bearer TOKEN'"
)


def test_no_token_gets_401_with_a_basic_challenge(served_auth: Served) -> None:
    with served_auth.client() as http:
        base = http.get("/v2/")
        manifest = http.get("/v2/team-b-single/manifests/latest")
    for response in (base, manifest):
        assert response.status_code == 401
        assert (
            response.headers["WWW-Authenticate"] == 'Basic realm="model registry", charset="UTF-8"'
        )
        assert errors(response) == [("UNAUTHORIZED", MISSING)]


def test_bearer_and_basic_with_the_token_as_password_are_accepted(served_auth: Served) -> None:
    token = served_auth.tokens["reader"]
    basic = base64.b64encode(f"anyone:{token}".encode()).decode()
    with served_auth.client(token) as http:
        bearer = http.get("/v2/team-b-single/manifests/latest")
    with served_auth.client() as http:
        password = http.get(
            "/v2/team-b-single/manifests/latest", headers={"Authorization": f"Basic {basic}"}
        )
        wrong = http.get("/v2/", headers={"Authorization": "Bearer mreg_abc_notatoken"})
        garbled = http.get("/v2/", headers={"Authorization": "Basic !!!"})
    assert bearer.status_code == password.status_code == 200
    assert bearer.content == password.content
    assert wrong.status_code == 401
    assert errors(wrong) == [("UNAUTHORIZED", "unknown bearer token")]
    assert garbled.status_code == 401
    assert errors(garbled) == [("UNAUTHORIZED", "basic credentials must be base64 of 'user:TOKEN'")]


def test_a_prefix_limited_token_is_denied_other_models(served_auth: Served) -> None:
    with served_auth.client(served_auth.tokens["team-b"]) as http:
        own = http.get("/v2/team-b-single/tags/list")
        other = http.get("/v2/team-a-llm/manifests/latest")
        other_tags = http.get("/v2/team-a-llm/tags/list")
    assert own.status_code == 200
    message = (
        "team-b-ci's token is limited to models starting with 'team-b-' and cannot pull "
        "'team-a-llm'"
    )
    for response in (other, other_tags):
        assert response.status_code == 403
        assert errors(response) == [("DENIED", message)]


def test_another_prefixs_blob_is_denied_there_and_unknown_here(served_auth: Served) -> None:
    blob = f"sha256:{sha256(served_auth.tree_dir / 'model.safetensors')}"
    with served_auth.client(served_auth.tokens["team-b"]) as http:
        there = http.get(f"/v2/team-a-llm/blobs/{blob}")
        here = http.get(f"/v2/team-b-single/blobs/{blob}")
    assert there.status_code == 403
    assert errors(there)[0][0] == "DENIED"
    assert here.status_code == 404
    assert errors(here) == [
        ("BLOB_UNKNOWN", f"blob {blob} is not part of repository 'team-b-single'")
    ]


def test_blob_redirect_carries_a_grant_the_artifact_endpoint_checks(served_auth: Served) -> None:
    digest = sha256(served_auth.single_file)
    other = sha256(served_auth.tree_dir / "config.json")
    secret = grant_secret(served_auth.registry.settings)
    with served_auth.client(served_auth.tokens["reader"]) as http:
        redirect = http.get(f"/v2/team-b-single/blobs/sha256:{digest}")
        location = redirect.headers["location"]
    assert redirect.status_code == 307
    assert "?grant=" in location
    with served_auth.client() as anonymous:  # no Authorization: the grant is the permission
        granted = anonymous.get(location)
        missing = anonymous.get(f"/artifacts/blobs/sha256:{digest}")
        swapped = anonymous.get(location.replace(digest, other))
        forged = anonymous.get(location[:-3] + ("AAA" if not location.endswith("AAA") else "BBB"))
        expired = anonymous.get(
            f"/artifacts/blobs/sha256:{digest}",
            params={"grant": sign(secret, digest, "puller", ttl=-10)},
        )
    assert granted.status_code == 200
    assert granted.content == served_auth.single_file.read_bytes()
    assert missing.status_code == forged.status_code == 401
    not_signed = (
        "the blob grant is malformed or not signed by this registry; ask the registry's "
        "/v2/ endpoint for the blob again"
    )
    assert errors(missing) == errors(forged) == [("UNAUTHORIZED", not_signed)]
    assert swapped.status_code == 403
    assert errors(swapped) == [
        ("DENIED", f"the blob grant is for sha256:{digest}, not sha256:{other}")
    ]
    assert expired.status_code == 401
    assert errors(expired) == [
        (
            "UNAUTHORIZED",
            "the blob grant has expired; ask the registry's /v2/ endpoint for the blob again",
        )
    ]
