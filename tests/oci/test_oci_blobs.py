"""Corrupt stored bytes never reach an OCI client: a 500 before the first byte, a cut
connection after it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from mreg.client import Client
from mreg.compression import Codec
from services.artifacts.backends import open_backend
from services.artifacts.store import Records, chunk_key, pack_chunk
from tests.oci.conftest import Served, sha256


def _corrupt(served: Served, sha: str, index: int) -> str:
    backend = open_backend(served.registry.settings)
    try:
        manifest = Records(backend).get_manifest(sha)
        assert manifest is not None and len(manifest.chunks) > max(index, 0)
        victim = manifest.chunks[index][0]
        backend.put(
            chunk_key(victim),
            pack_chunk(hashlib.sha256(b"garbage").hexdigest(), Codec.IDENTITY, b"garbage"),
        )
    finally:
        backend.close()
    return victim


def test_a_corrupt_first_chunk_answers_500_and_no_bytes(served: Served) -> None:
    sha = sha256(served.single_file)
    victim = _corrupt(served, sha, 0)
    with served.client() as http:
        response = http.get(f"/v2/team-b-single/blobs/sha256:{sha}", follow_redirects=True)
    assert response.status_code == 500
    (error,) = response.json()["errors"]
    assert error["code"] == "BLOB_UNKNOWN"
    assert error["message"].startswith(
        f"blob sha256:{sha} is damaged: chunk {victim} of blob {sha} is corrupt"
    )


def test_a_chunk_corrupt_mid_stream_cuts_the_connection(served: Served, tmp_path: Path) -> None:
    # 24 MiB is at least six chunks (4 MiB at most each): the last lies beyond the read-ahead
    # window, so it is found corrupt only after the first bytes went out.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(24 * 1024 * 1024))
    registry = served.registry
    with Client(registry.address(registry.gateway), timeout=30) as client:
        client.push(big, model="big", version="1.0.0")
    sha = sha256(big)
    _corrupt(served, sha, -1)
    received = bytearray()
    url = f"/v2/big/blobs/sha256:{sha}"
    with (
        served.client() as http,
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("GET", url, follow_redirects=True) as response,
    ):
        assert response.status_code == 200
        for data in response.iter_bytes():
            received += data
    assert 0 < len(received) < big.stat().st_size
    assert big.read_bytes().startswith(bytes(received))
