"""What the UI answers to bad input and bad sessions (plain HTTP, no browser needed)."""

from __future__ import annotations

import re

import httpx
import pytest

from services.common.auth import Role, TokenStore
from tests.webui.conftest import Registry


@pytest.fixture
def http(registry: Registry):
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


def signed_in(http: httpx.Client, registry: Registry, who: str) -> str:
    """Sign in as ``who``; returns the CSRF value the pages carry."""
    page = http.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = http.post("/signin", data={"csrf": csrf, "token": registry.tokens[who], "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    return csrf


def test_a_wrong_token_on_the_sign_in_page_says_why(http, registry) -> None:
    page = http.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = http.post("/signin", data={"csrf": csrf, "token": "mreg_nope_nope"})
    assert answer.status_code == 401
    assert "unknown bearer token" in answer.text
    assert "mreg_session" not in answer.headers.get("set-cookie", "")


def test_a_form_without_the_csrf_value_is_refused(http, registry) -> None:
    signed_in(http, registry, "approver")
    answer = http.post(
        "/promotions/decide", data={"promotion": "models/x/promotions/1", "decision": "approve"}
    )
    assert answer.status_code == 403
    assert "this form has expired or was not sent from this registry" in answer.text


def test_a_form_from_another_site_is_refused(http, registry) -> None:
    csrf = signed_in(http, registry, "approver")
    answer = http.post(
        "/promotions/decide",
        data={"csrf": csrf, "promotion": "models/x/promotions/1", "decision": "approve"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert "this form was sent from another site (https://evil.example)" in answer.text


def test_an_unknown_decision_is_a_bad_request(http, registry) -> None:
    csrf = signed_in(http, registry, "approver")
    answer = http.post(
        "/promotions/decide",
        data={"csrf": csrf, "promotion": "models/x/promotions/1", "decision": "maybe"},
    )
    assert answer.status_code == 400
    assert "approve or reject, got &#39;maybe&#39;" in answer.text


def test_a_form_over_the_limit_is_refused(http, registry) -> None:
    csrf = signed_in(http, registry, "approver")
    answer = http.post("/promotions/decide", data={"csrf": csrf, "comment": "x" * (65 * 1024)})
    assert answer.status_code == 413


def test_a_chunked_form_over_the_limit_is_refused_too(http, registry) -> None:
    signed_in(http, registry, "approver")

    def body():
        for _ in range(80):
            yield b"comment=" + b"x" * 1024 + b"&"

    answer = http.post(
        "/promotions/decide",
        content=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert answer.text == "form too large: at most 64 KiB"


def test_a_form_that_is_not_url_encoded_is_refused(http, registry) -> None:
    signed_in(http, registry, "approver")
    answer = http.post("/promotions/decide", files={"comment": b"hello"})
    assert answer.status_code == 415


def test_a_bad_page_size_is_a_bad_request(http, registry) -> None:
    signed_in(http, registry, "reader")
    answer = http.get("/", params={"size": "5000"})
    assert answer.status_code == 400
    assert "page size must be a whole number from 1 to 200, got &#39;5000&#39;" in answer.text


def test_the_event_stream_needs_a_session(http, registry) -> None:
    answer = http.get("/events/stream")
    assert answer.status_code == 401
    assert answer.text == "sign in to follow events"


def test_a_revoked_token_signs_the_user_out(http, registry) -> None:
    store = TokenStore(registry.tokens_file)
    token, record = store.create("dave", [Role.READER])
    http.cookies.set("mreg_session", token)
    assert http.get("/").status_code == 200
    store.revoke(record.id)
    answer = http.get("/")
    assert answer.status_code == 401
    assert f"token {record.id} was revoked" in answer.text
    assert 'mreg_session=""' in answer.headers["set-cookie"]


def test_pages_send_no_cache_and_a_content_security_policy(http, registry) -> None:
    signed_in(http, registry, "reader")
    answer = http.get("/")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_token_limited_to_a_prefix_sees_only_its_models(http, registry) -> None:
    token, _ = TokenStore(registry.tokens_file).create(
        "churn-team", [Role.READER], model_prefix="churn"
    )
    http.cookies.set("mreg_session", token)
    models = http.get("/")
    assert models.status_code == 200
    assert 'href="/models/churn"' in models.text
    assert "fraud-detector" not in models.text
    refused = http.get("/models/fraud-detector")
    assert refused.status_code == 403
    assert (
        "churn-team&#39;s token is limited to models starting with &#39;churn&#39; and cannot "
        "touch &#39;fraud-detector&#39;" in refused.text
    )
    search = http.get("/", params={"q": 'stage = "development"'})
    assert "fraud-detector" not in search.text


def test_a_failed_version_has_a_page_that_says_why(http, registry) -> None:
    import grpc

    from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

    missing = resources_pb2.Digest(hash="ab" * 32, size_bytes=10)
    request = registry_pb2.RegisterModelVersionRequest(
        parent="models/churn",
        model_version=resources_pb2.ModelVersion(
            version="9.0.0", artifact_digest=missing, artifact_is_tree=True
        ),
    )
    with grpc.insecure_channel(registry.gateway) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        auth = (("authorization", f"Bearer {registry.tokens['writer']}"),)
        with pytest.raises(grpc.RpcError):
            stub.RegisterModelVersion(request, metadata=auth, timeout=30)
    signed_in(http, registry, "reader")
    page = http.get("/models/churn/versions/9.0.0")
    assert page.status_code == 200
    assert "failed: cannot register sha256:abab" in page.text
    assert "No files: the artifact service does not have this version" in page.text
