"""``buf curl``, a third-party client, calls the gateway over gRPC (its schema from the
gateway's server reflection) and gets what HTTP/JSON answers for the same version."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.http.conftest import Registry

BUF = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "buf"


def _buf_curl(
    registry: Registry, method: str, request: dict, token: str | None
) -> subprocess.CompletedProcess:
    args = [
        str(BUF),
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-d",
        json.dumps(request),
    ]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    url = f"http://{registry.gateway}/modelregistry.v1.RegistryService/{method}"
    return subprocess.run([*args, url], capture_output=True, text=True, timeout=60)


def test_buf_curl_resolves_what_http_json_resolves(registry: Registry) -> None:
    if not BUF.exists():
        pytest.fail(f"{BUF} is missing: scripts/test installs buf with npm")
    digest = registry.upload(os.urandom(256))
    with registry.http("writer") as http:
        body = {"modelVersion": {"version": "2.0.0", "artifactDigest": digest}}
        assert http.post("/v1/models/curl/versions", json=body).status_code == 200
        over_http = http.get("/v1/references/curl:2.0.0").json()
    answer = _buf_curl(
        registry, "ResolveModelVersion", {"reference": "curl:2.0.0"}, registry.tokens["reader"]
    )
    assert answer.returncode == 0, answer.stderr
    over_grpc = json.loads(answer.stdout)
    assert over_grpc["modelVersion"] == over_http["modelVersion"]


def test_buf_curl_without_a_token_is_refused(registry: Registry) -> None:
    answer = _buf_curl(registry, "ListModels", {}, None)
    assert answer.returncode != 0
    assert "unauthenticated" in answer.stderr
