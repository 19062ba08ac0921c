"""A registry with auth, an approval policy and a few versions, and a headless Chromium.

The registry is the embedded one (``mreg serve``'s), with its HTTP port serving the web
UI; the versions are pushed by the SDK. The browser is Debian's Chromium driven by
Playwright (``scripts/test`` installs it). Screenshots go to ``.screenshots/`` at the
top of the repository (gitignored).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from mreg.client import Client

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".screenshots"
POLICY = """
default:
  stages:
    production:
      approvals: 1
"""


@dataclass
class Registry:
    """The running registry, its UI's URL and tokens by role."""

    url: str
    gateway: str
    tokens: dict[str, str]
    tokens_file: Path

    def client(self, who: str = "writer") -> Client:
        return Client(self.gateway, token=self.tokens[who], timeout=30)


def safetensors(path: Path, values: int = 16) -> None:
    """A small valid safetensors file: one F32 tensor."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}})
    raw = header.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + os.urandom(4 * values))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    from services.common.auth import Role, TokenStore
    from services.embedded import build_embedded
    from services.gateway.app import start_background

    root = tmp_path_factory.mktemp("webui")
    patch = pytest.MonkeyPatch()
    patch.setenv("MREG_CACHE_DIR", str(root / "cache"))  # the SDK's chunk cache
    tokens_file = root / "tokens.json"
    policy_file = root / "policy.yaml"
    policy_file.write_text(POLICY)
    store = TokenStore(tokens_file)
    tokens = {
        "writer": store.create("ci", [Role.WRITER])[0],
        "approver": store.create("alice", [Role.APPROVER])[0],
        "reader": store.create("bob", [Role.READER])[0],
        "lead": store.create("carol", [Role.WRITER, Role.APPROVER])[0],
    }
    embedded = build_embedded(
        root / "data",
        gateway_port=0,
        artifacts_port=0,
        metadata_port=0,
        tokens_file=tokens_file,
        policy_file=policy_file,
        http_port=0,
    )
    for server in embedded.servers:
        server.start()
    embedded.start_http()
    stop_background = start_background(embedded.settings, embedded.gateway_service)
    try:
        registry = Registry(
            embedded.http.url, embedded.address(embedded.gateway), tokens, tokens_file
        )
        _push_fixtures(registry, root)
        yield registry
    finally:
        stop_background()
        embedded.stop_http()
        for server in reversed(embedded.servers):
            server.stop(grace=None)
        patch.undo()


def _push_fixtures(registry: Registry, root: Path) -> None:
    """fraud-detector 1.0.0 (trained on transactions@2024-10), 1.1.0 fine-tuned from it
    (a pickled file beside a safetensors one), each evaluated; 1.1.0 in staging, alias
    champion, deployed to shadow-eu; churn 0.1.0."""
    base = root / "base"
    base.mkdir()
    safetensors(base / "model.safetensors")
    (base / "config.json").write_text('{"layers": 2}')
    tuned = root / "tuned"
    tuned.mkdir()
    safetensors(tuned / "model.safetensors", 32)
    (tuned / "legacy.pkl").write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    with registry.client() as client:
        client.push(
            base,
            model="fraud-detector",
            version="1.0.0",
            metrics={"auc": 0.88, "latency_ms": 12.0},
            params={"depth": "6"},
            datasets=["transactions@2024-10"],
            tags={"team": "risk"},
        )
        client.push(
            tuned,
            model="fraud-detector",
            version="1.1.0",
            metrics={"auc": 0.93, "latency_ms": 15.0},
            parents=["fraud-detector:1.0.0"],
            datasets=["transactions@2024-11"],
            tags={"team": "risk"},
        )
        for version, auc in (("1.0.0", 0.87), ("1.1.0", 0.94)):
            client.evaluate(
                f"fraud-detector:{version}",
                dataset="holdout@3",
                type="test",
                metrics={"auc": auc, "f1": 0.8},
            )
        client.promote("fraud-detector:1.1.0", "staging", reason="candidate")
        client.set_alias("fraud-detector:1.1.0", "champion")
        client.report_deployment(
            "fraud-detector:1.1.0",
            environment="shadow-eu",
            endpoint="http://shadow.example/fraud",
            health="p99 41ms",
        )
        client.push(base, model="churn", version="0.1.0", metrics={"auc": 0.71})


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, registry: Registry) -> Iterator[Page]:
    """A fresh browser context (no cookies) on a laptop-sized window."""
    context = browser.new_context(base_url=registry.url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, registry: Registry, who: str) -> None:
    """Sign in on the sign-in page with the token of ``who``, by keyboard."""
    page.goto("/signin")
    page.get_by_label("Token").fill(registry.tokens[who])
    page.keyboard.press("Enter")
    page.wait_for_url("**/")


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
