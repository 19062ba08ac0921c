"""A registry serving its HTTP port (OCI pull API), with a multi-file and a single-file model."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from mreg.client import Client

#: Files of the multi-file model: weights, weight configs, a doc, code, a nested file.
TREE_FILES = {
    "model.safetensors": 3 * 1024 * 1024 + 17,
    "config.json": 300,
    "README.md": 120,
    "handler.py": 80,
    "tokenizer/tokenizer.json": 2000,
}


@dataclass
class Served:
    """The running registry, its HTTP base URL, and what was pushed."""

    registry: object
    url: str
    tree_dir: Path
    single_file: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str = "") -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: bool) -> Iterator[Served]:
    from services.common.auth import Role, TokenStore
    from services.embedded import build_embedded
    from services.gateway.app import start_background

    monkeypatch.setenv("MREG_CACHE_DIR", str(tmp_path / "cache"))
    tokens_file = tmp_path / "tokens.json" if auth else None
    tokens: dict[str, str] = {}
    if tokens_file is not None:
        store = TokenStore(tokens_file)
        tokens["admin"] = store.create("root", [Role.ADMIN])[0]
        tokens["reader"] = store.create("puller", [Role.READER])[0]
        tokens["team-b"] = store.create("team-b-ci", [Role.READER], model_prefix="team-b-")[0]
    registry = build_embedded(
        tmp_path / "data",
        gateway_port=0,
        artifacts_port=0,
        metadata_port=0,
        tokens_file=tokens_file,
        http_port=0,
    )
    for server in registry.servers:
        server.start()
    registry.start_http()
    stop_background = start_background(registry.settings, registry.gateway_service)
    tree_dir = tmp_path / "tree"
    for rel, size in TREE_FILES.items():
        _write(tree_dir / rel, size)
    single = tmp_path / "single" / "weights.gguf"
    _write(single, 2 * 1024 * 1024 + 3)
    try:
        with Client(
            registry.address(registry.gateway), token=tokens.get("admin"), timeout=30
        ) as client:
            client.push(tree_dir, model="team-a-llm", version="1.0.0+build.7")
            client.push(tree_dir, model="team-a-llm", version="1.1.0")
            client.set_alias("team-a-llm:1.0.0+build.7", "champion")
            client.promote("team-a-llm:1.1.0", "staging")
            client.push(single, model="team-b-single", version="2.0.0")
        yield Served(registry, registry.http.url, tree_dir, single, tokens)
    finally:
        stop_background()
        registry.stop_http()
        for server in reversed(registry.servers):
            server.stop(grace=None)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Auth off (loopback): anonymous pulls."""
    yield from _serve(tmp_path, monkeypatch, auth=False)


@pytest.fixture
def served_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Auth on: tokens for an admin, a reader and a reader limited to ``team-b-``."""
    yield from _serve(tmp_path, monkeypatch, auth=True)
