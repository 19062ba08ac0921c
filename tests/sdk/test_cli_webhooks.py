"""``mreg webhook`` against an embedded registry whose gateway delivers to a local receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from tests.gateway.receiver import Receiver, wait_until


@pytest.fixture
def mreg(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("MREG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    monkeypatch.setenv("MREG_WEBHOOKS_POLL_SECONDS", "0.05")
    registry = request.getfixturevalue("embedded_registry")
    env = {
        **os.environ,
        "MREG_GATEWAY": registry.address(registry.gateway),
        "MREG_CACHE_DIR": str(tmp_path / "cache"),
    }

    def run(*args: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "mreg.cli", *args, "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


def test_create_receive_list_deliveries_redeliver_delete(mreg, tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        created = mreg(
            "webhook", "create", receiver.url, "--event", "version.ready", "--model", "fr"
        )
        assert created["secret"].startswith("whsec_")
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "weights.bin").write_bytes(os.urandom(4096))
        mreg("push", str(tmp_path / "model"), "--model", "fraud")
        mreg("push", str(tmp_path / "model"), "--model", "churn")  # filtered out by prefix
        receiver.wait_for(lambda got: len(got) == 1)
        event = Verifier(created["secret"]).verify(
            receiver.requests[0].body, receiver.requests[0].headers
        )
        assert (event["type"], event["subject"]) == (
            "io.modelregistry.version.ready",
            "models/fraud/versions/1.0.0",
        )
        listed = mreg("webhook", "list")["webhooks"]
        assert [(w["name"], w["secret"], w["event_types"]) for w in listed] == [
            (created["name"], "", ["version.ready"])
        ]
        # The receiver answered; the worker records that right after.
        (delivery,) = wait_until(
            lambda: [
                d
                for d in mreg("webhook", "deliveries", created["name"], "--state", "delivered")[
                    "deliveries"
                ]
            ]
        )
        assert delivery["attempts"] == 1
        again = mreg("webhook", "redeliver", delivery["name"])
        assert again["state"] == "WEBHOOK_DELIVERY_STATE_PENDING"
        receiver.wait_for(lambda got: len(got) == 2)
        assert receiver.requests[1].headers["webhook-id"] == delivery["id"]
        mreg("webhook", "delete", created["name"].removeprefix("webhooks/"))
        assert mreg("webhook", "list")["webhooks"] == []
    finally:
        receiver.close()
