"""The OCI endpoint across real processes: the gateway redirects a blob request to the
artifact service's own HTTP port with a signed grant (the client drops its token on the way,
as OCI clients do), and both HTTP listeners stop with their process on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mreg.client import Client
from services.common.auth import Role, TokenStore
from tests.conftest import free_port
from tests.oci.conftest import sha256
from tests.test_processes import _env, _stop, _wait_serving


def _wait_http(url: str, token: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.1)


def test_blob_redirect_crosses_to_the_artifact_process_with_a_grant(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    admin, _ = store.create("root", [Role.ADMIN])
    reader, _ = store.create("puller", [Role.READER])
    ports = {k: free_port() for k in ("gateway", "artifacts", "metadata", "ghttp", "ahttp")}
    env = _env(
        MREG_DATA_DIR=str(tmp_path / "data"),
        MREG_AUTH_TOKENS_FILE=str(tmp_path / "tokens.json"),
        MREG_SERVICE_TOKEN="s3cret-service-token",
        MREG_GATEWAY_LISTEN=f"127.0.0.1:{ports['gateway']}",
        MREG_ARTIFACTS_LISTEN=f"127.0.0.1:{ports['artifacts']}",
        MREG_METADATA_LISTEN=f"127.0.0.1:{ports['metadata']}",
        MREG_ARTIFACTS_ADDRESS=f"127.0.0.1:{ports['artifacts']}",
        MREG_METADATA_ADDRESS=f"127.0.0.1:{ports['metadata']}",
        MREG_GATEWAY_HTTP_LISTEN=f"127.0.0.1:{ports['ghttp']}",
        MREG_ARTIFACTS_HTTP_LISTEN=f"127.0.0.1:{ports['ahttp']}",
    )
    subprocess.run(
        [sys.executable, "-m", "services.metadata", "migrate"], env=env, check=True, timeout=60
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("metadata", "artifacts", "gateway")
    ]
    try:
        for listen in ("METADATA", "ARTIFACTS", "GATEWAY"):
            _wait_serving(env[f"MREG_{listen}_LISTEN"])
        gateway_http = f"http://127.0.0.1:{ports['ghttp']}"
        _wait_http(f"{gateway_http}/v2/", reader, procs)
        model = tmp_path / "model.bin"
        model.write_bytes(os.urandom(1024 * 1024 + 1))
        with Client(env["MREG_GATEWAY_LISTEN"], token=admin, timeout=30) as client:
            client.push(model, model="served", version="1.0.0")
        digest = f"sha256:{sha256(model)}"
        with httpx.Client(headers={"Authorization": f"Bearer {reader}"}, timeout=30) as http:
            redirect = http.get(f"{gateway_http}/v2/served/blobs/{digest}")
            blob = http.get(f"{gateway_http}/v2/served/blobs/{digest}", follow_redirects=True)
        location = redirect.headers["location"]
        assert redirect.status_code == 307
        assert location.startswith(f"http://127.0.0.1:{ports['ahttp']}/blobs/{digest}?grant=")
        assert blob.status_code == 200
        assert blob.content == model.read_bytes()
        assert "authorization" not in blob.request.headers  # httpx dropped it across ports
    finally:
        results = [_stop(proc, signal.SIGTERM) for proc in reversed(procs)]
    for code, out in results:
        assert code == 0, out
