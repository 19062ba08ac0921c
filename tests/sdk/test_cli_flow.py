"""The README quick start through the ``mreg`` command line, every step with --json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def mreg(embedded_registry, tmp_path: Path):
    gateway = embedded_registry.address(embedded_registry.gateway)
    env = {**os.environ, "MREG_GATEWAY": gateway, "MREG_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "mreg.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def json_of(*args: str) -> dict:
        return json.loads(run(*args, "--json").stdout)

    run.json = json_of  # type: ignore[attr-defined]
    run.env = env  # type: ignore[attr-defined]
    return run


def _model_dir(root: Path) -> Path:
    (root / "weights").mkdir(parents=True)
    (root / "config.json").write_text('{"hidden": 16}')
    (root / "weights" / "model.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    return root


def test_quick_start_push_evaluate_promote_pull(mreg, tmp_path: Path) -> None:
    model = _model_dir(tmp_path / "fraud")
    pushed = mreg.json(
        "push",
        str(model),
        "--model",
        "fraud-detector",
        "--metric",
        "auc=0.91",
        "--dataset",
        "transactions@3",
        "--tag",
        "team=risk",
    )
    assert {"model", "version", "digest", "bytes_total", "bytes_sent"} <= set(pushed)
    assert (pushed["model"], pushed["version"]) == ("fraud-detector", "1.0.0")
    assert pushed["bytes_sent"] == pushed["bytes_total"] > 3 * 1024 * 1024

    again = mreg.json("push", str(model), "--model", "fraud-detector", "--bump", "minor")
    assert (again["version"], again["bytes_sent"]) == ("1.1.0", 0)
    human = mreg("push", str(model), "--model", "fraud-detector").stdout
    assert "sent 0 B of 3.0 MiB, 100% already in the registry" in human

    evaluation = mreg.json(
        "evaluate",
        "fraud-detector:1.0.0",
        "--dataset",
        "holdout@1",
        "--metric",
        "auc=0.93",
        "--type",
        "test",
    )
    assert evaluation["metrics"] == {"auc": 0.93}
    staged = mreg.json("promote", "fraud-detector:1.0.0", "staging", "--reason", "candidate")
    assert staged["promotion"]["state"] == "PROMOTION_STATE_COMPLETED"
    live = mreg.json("promote", "fraud-detector:1.0.0", "production")
    assert live["model_version"]["stage"] == "STAGE_PRODUCTION"
    assert mreg.json("alias", "fraud-detector:1.0.0", "champion")["alias"] == "champion"

    shown = mreg.json("show", "fraud-detector@production")
    assert shown["name"] == "models/fraud-detector/versions/1.0.0"
    assert shown["aliases"] == ["champion"]
    human = mreg("show", "fraud-detector@production").stdout
    assert "(tree of 2 files, 3.0 MiB)" in human

    out = tmp_path / "pulled"
    pulled = mreg.json("pull", "fraud-detector@champion", str(out))
    assert sorted(Path(p).relative_to(out).as_posix() for p in pulled["files"]) == [
        "config.json",
        "weights/model.bin",
    ]
    assert (out / "weights" / "model.bin").read_bytes() == (
        model / "weights" / "model.bin"
    ).read_bytes()

    listed = mreg.json("ls", "fraud-detector")["model_versions"]
    assert [v["version"] for v in listed] == ["1.1.1", "1.1.0", "1.0.0"]
    found = mreg.json("search", 'metrics.auc > 0.9 AND tags.team = "risk"')["model_versions"]
    assert [v["version"] for v in found] == ["1.0.0"]
    table = mreg.json("compare", "fraud-detector:1.0.0", "fraud-detector:1.1.0")
    assert table["rows"][0]["model_version"] == "models/fraud-detector/versions/1.0.0"


def test_lineage_tree_dot_and_impact(mreg, tmp_path: Path) -> None:
    base = tmp_path / "base.bin"
    base.write_bytes(b"base weights")
    tuned = tmp_path / "tuned.bin"
    tuned.write_bytes(b"tuned weights")
    mreg("push", str(base), "--model", "llm", "--version", "1.0.0", "--dataset", "web@7")
    mreg(
        "push",
        str(tuned),
        "--model",
        "llm-chat",
        "--version",
        "1.0.0",
        "--parent",
        "llm:1.0.0",
        "--dataset",
        "chat@2",
    )
    tree = mreg("lineage", "llm-chat:1.0.0").stdout
    assert tree.splitlines()[0] == "model models/llm-chat/versions/1.0.0"
    assert "fine_tuned_from model models/llm/versions/1.0.0" in tree
    assert "trained_on dataset web@7" in tree
    graph = mreg("lineage", "llm-chat:1.0.0", "--format", "dot").stdout
    assert graph.startswith("digraph lineage {")
    assert '"models/llm-chat/versions/1.0.0" -> "models/llm/versions/1.0.0"' in graph
    impacted = mreg.json("impact", "web@7")["versions"]
    assert {v["model_version"] for v in impacted} == {
        "models/llm/versions/1.0.0",
        "models/llm-chat/versions/1.0.0",
    }


def test_events_follow_sees_a_promotion(mreg, tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    mreg("push", str(model), "--model", "watched", "--version", "1.0.0")
    listed = mreg.json("events", "--model", "watched")["events"]
    assert [e["type"] for e in listed] == ["version.created", "version.ready"]
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mreg.cli",
            "events",
            "--follow",
            "--json",
            "--type",
            "stage.changed",
            "--after",
            str(listed[-1]["sequence"]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=mreg.env,
    )
    try:
        # The cursor makes the follower see the promotion whenever it connects.
        mreg("promote", "watched:1.0.0", "staging")
        line = follower.stdout.readline()
        follower.send_signal(signal.SIGINT)
        _, err = follower.communicate(timeout=10)
    finally:
        follower.kill()  # a no-op once it has exited; never leave it running
    event = json.loads(line)
    assert event["type"] == "stage.changed"
    assert event["attributes"]["to_stage"] == "staging"
    assert follower.returncode == 130
    assert err.strip().splitlines()[-1] == "mreg events: interrupted"


def test_deploy_gc_and_db_upgrade(mreg, tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    mreg("push", str(model), "--model", "served", "--version", "1.0.0")
    deployed = mreg.json(
        "deploy", "served:1.0.0", "--environment", "prod-eu", "--endpoint", "http://x:8080"
    )
    assert deployed["environment"] == "prod-eu"
    from mreg.client import Client
    from tests.gateway.conftest import upload

    with Client(mreg.env["MREG_GATEWAY"]) as client:
        upload(client.artifacts, b"uploaded but never registered")
    dry = mreg.json("gc", "--grace-seconds", "0", "--dry-run")
    assert dry["blobs_removed"] == "1"
    collected = mreg.json("gc", "--grace-seconds", "0")
    assert collected["blobs_removed"] == "1"
    assert mreg.json("gc", "--grace-seconds", "0")["blobs_removed"] == "0"
    pulled = mreg.json("pull", "served:1.0.0", str(tmp_path / "out"))
    assert Path(pulled["files"][0]).read_bytes() == b"weights"
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgraded = mreg("db", "upgrade", "--database-url", url)
    assert "metadata schema is up to date" in upgraded.stderr


def test_errors_print_the_server_message_and_exit_non_zero(mreg) -> None:
    result = mreg("show", "nobody:1.0.0", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("mreg show: ")
    assert "nobody" in result.stderr
    assert "Traceback" not in result.stderr
    bad = mreg("promote", "nobody:1.0.0", "production", check=False)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr


def test_a_killed_push_resumes_sending_only_what_is_missing(mreg, tmp_path: Path) -> None:
    from modelregistry.v1 import artifacts_pb2
    from mreg.chunkids import BLAKE3
    from mreg.chunking import iter_file_chunks
    from mreg.client import Client
    from mreg.transfer import chunk_digest

    model = tmp_path / "big.bin"
    model.write_bytes(os.urandom(160 * 1024 * 1024))
    refs = {c.sha256: c for c in iter_file_chunks(model, algorithm=BLAKE3)}  # as the SDK does
    digests = [chunk_digest(c) for c in refs.values()]
    pusher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mreg.cli",
            "push",
            str(model),
            "--model",
            "killed",
            "--streams",
            "1",
        ],
        env={**mreg.env, "MREG_CACHE_DIR": str(tmp_path / "kill-cache")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with Client(mreg.env["MREG_GATEWAY"]) as client:
        request = artifacts_pb2.FindMissingChunksRequest(digests=digests)
        deadline = time.monotonic() + 60
        while True:
            missing = client.artifacts.FindMissingChunks(request, timeout=10).missing_digests
            if len(missing) < len(digests) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        pusher.kill()
        pusher.wait(timeout=10)
        time.sleep(1.0)  # let the server finish storing the chunk it was receiving, if any
        missing = client.artifacts.FindMissingChunks(request, timeout=10).missing_digests
    assert 0 < len(missing) < len(digests), "the push was not interrupted part-way"
    still_missing = sum(d.size_bytes for d in missing)
    resumed = mreg.json("push", str(model), "--model", "killed")
    assert resumed["bytes_sent"] == still_missing
    assert resumed["bytes_total"] == model.stat().st_size


def test_show_push_and_compare_tell_what_each_file_is_and_what_evaluations_found(
    mreg, tmp_path: Path
) -> None:
    import pickle

    from tests.artifacts.test_inspect import safetensors_file

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(safetensors_file({"w": ("BF16", [64, 64])}))
    (model / "optimizer.pkl").write_bytes(pickle.dumps({"lr": 0.1}, protocol=4))
    pushed = mreg.json("push", str(model), "--model", "chat", "--metric", "auc=0.9")
    assert pushed["code_files"] == [{"path": "optimizer.pkl", "format": "pickle"}]
    human = mreg("push", str(model), "--model", "chat", "--bump", "minor").stdout
    assert "! optimizer.pkl (pickle) can run code when loaded" in human
    for version, dataset, auc in (("1.0.0", "holdout@1", 0.81), ("1.1.0", "holdout@1", 0.85)):
        args = ("--dataset", dataset, "--metric", f"auc={auc}", "--type", "test")
        mreg("evaluate", f"chat:{version}", *args)
    mreg(
        "evaluate", "chat:1.0.0", "--dataset", "holdout@1", "--metric", "auc=0.83", "--type", "test"
    )

    shown = mreg.json("show", "chat:1.0.0")
    files = {f["path"]: f["inspection"] for f in shown["files"]}
    assert files["model.safetensors"]["format"] == "safetensors"
    assert files["model.safetensors"]["dtypes"] == ["BF16"]
    assert files["model.safetensors"]["parameter_count"] == "4096"  # int64 in proto JSON
    assert files["optimizer.pkl"]["may_execute_code"] is True
    assert [e["metrics"] for e in shown["evaluations"]] == [{"auc": 0.83}, {"auc": 0.81}]
    human = mreg("show", "chat:1.0.0").stdout
    assert "model.safetensors" in human and "BF16  4.1K params" in human
    assert "optimizer.pkl" in human and "! can run code when loaded" in human
    assert "evaluated  auc [test holdout@1] = 0.83" in human  # the newest evaluation

    table = mreg.json("compare", "chat:1.0.0", "chat:1.1.0")
    assert table["metrics"] == ["auc"]
    assert table["evaluation_metrics"] == ["auc [test holdout@1]"]
    assert [r["evaluation_metrics"] for r in table["rows"]] == [
        {"auc [test holdout@1]": 0.83},
        {"auc [test holdout@1]": 0.85},
    ]
    assert table["evaluation_best"] == [
        {"metric": "auc [test holdout@1]", "model_version": "models/chat/versions/1.1.0"}
    ]
    human = mreg("compare", "chat:1.0.0", "chat:1.1.0").stdout
    assert "auc [test holdout@1]" in human.splitlines()[0]
    assert "0.85*" in human
