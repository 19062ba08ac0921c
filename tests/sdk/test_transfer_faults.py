"""Pushes and pulls cut short: SIGKILL and resume, a tampered partial file, Ctrl-C, a server
that stops mid-pull. Every client is a real ``mreg`` process against a real registry; a
transfer is held mid-way with ``--max-rate`` and the tests wait on what is on disk or on the
server, not on time."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.servers import start_embedded
from modelregistry.v1 import artifacts_pb2, resources_pb2
from mreg.chunkids import BLAKE3
from mreg.chunking import iter_file_chunks
from mreg.client import Client
from mreg.download import Journal, parse_piece, partial_paths
from mreg.errors import NotFoundError
from mreg.transfer import LocalFile, Progress, TransferStats, chunk_digest, hash_files

MIB = 1024 * 1024


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Registry:
    """A registry address, a client to it, and ``mreg`` processes pointed at it."""

    def __init__(self, gateway: str, tmp: Path) -> None:
        self.env = {**os.environ, "MREG_GATEWAY": gateway, "MREG_CACHE_DIR": str(tmp / "cache")}
        self.gateway = gateway

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "mreg.cli", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "mreg.cli", *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def registry(embedded_registry, tmp_path: Path) -> Registry:
    return Registry(embedded_registry.address(embedded_registry.gateway), tmp_path)


@pytest.fixture
def pushed(registry: Registry, tmp_path: Path) -> Path:
    """An 8 MiB model pushed as ``faults:1.0.0``."""
    model = tmp_path / "src" / "model.bin"
    model.parent.mkdir()
    model.write_bytes(os.urandom(8 * MIB))
    registry.json("push", str(model), "--model", "faults", "--version", "1.0.0")
    return model


def _journal_bytes(target: Path) -> int:
    _, journal = partial_paths(target)
    try:
        lines = journal.read_text().splitlines()[1:]
    except FileNotFoundError:
        return 0
    return sum(int(line.split()[1]) for line in lines if len(line.split()) == 3)


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc.poll() is None, f"the process ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _pull_until(registry: Registry, out: Path, target: Path, at_least: int) -> subprocess.Popen:
    """A pull at 4 MB/s over one stream, once at least ``at_least`` bytes are on disk."""
    proc = registry.start("pull", "faults:1.0.0", str(out), "--max-rate", "4", "--streams", "1")
    _wait_for(lambda: _journal_bytes(target) >= at_least, proc, f"{at_least} bytes on disk")
    return proc


def test_a_pull_killed_with_sigkill_resumes_fetching_only_the_rest(
    registry: Registry, pushed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    target = out / "model.bin"
    proc = _pull_until(registry, out, target, 2 * MIB)
    proc.kill()
    proc.communicate(timeout=10)
    kept = _journal_bytes(target)
    assert 2 * MIB <= kept < 8 * MIB
    assert not target.exists()

    resumed = registry.json("pull", "faults:1.0.0", str(out))
    assert resumed["bytes_resumed"] == kept
    assert resumed["bytes_received"] == 8 * MIB - kept
    assert _sha(target) == _sha(pushed)
    assert [p.name for p in out.iterdir()] == ["model.bin"]  # no partial file or journal left


def test_a_tampered_partial_file_is_detected_and_that_piece_fetched_again(
    registry: Registry, pushed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    target = out / "model.bin"
    proc = _pull_until(registry, out, target, 3 * MIB)
    proc.kill()
    proc.communicate(timeout=10)
    kept = _journal_bytes(target)
    partial, journal = partial_paths(target)
    pieces = Journal(journal, resources_pb2.Digest(hash=_sha(pushed), size_bytes=8 * MIB)).load()
    offset, length, _ = pieces[1]
    with open(partial, "r+b") as handle:
        handle.seek(offset + 100)
        original = handle.read(1)
        handle.seek(offset + 100)
        handle.write(bytes([original[0] ^ 0xFF]))

    resumed = registry.json("pull", "faults:1.0.0", str(out))
    assert resumed["bytes_resumed"] == kept - length
    assert resumed["bytes_received"] == 8 * MIB - kept + length
    assert _sha(target) == _sha(pushed)


def test_ctrl_c_during_a_pull_stops_at_once_and_the_next_pull_resumes(
    registry: Registry, pushed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    target = out / "model.bin"
    proc = _pull_until(registry, out, target, MIB)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - started < 1.5
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "mreg pull: interrupted"
    assert not target.exists()
    kept = _journal_bytes(target)
    resumed = registry.json("pull", "faults:1.0.0", str(out))
    assert resumed["bytes_resumed"] == kept > 0
    assert _sha(target) == _sha(pushed)


def test_ctrl_c_during_a_push_stops_at_once_registers_nothing_and_the_next_push_sends_the_rest(
    registry: Registry, tmp_path: Path
) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(8 * MIB))
    refs = {c.sha256: c for c in iter_file_chunks(model, algorithm=BLAKE3)}  # as the SDK does
    chunks = {h: c.length for h, c in refs.items()}
    request = artifacts_pb2.FindMissingChunksRequest(
        digests=[chunk_digest(c) for c in refs.values()]
    )
    with Client(registry.gateway) as client:

        def missing() -> list[resources_pb2.Digest]:
            return list(client.artifacts.FindMissingChunks(request, timeout=10).missing_digests)

        proc = registry.start(
            "push", str(model), "--model", "interrupted", "--max-rate", "2", "--streams", "1"
        )
        _wait_for(lambda: len(missing()) < len(chunks), proc, "a chunk stored on the server")
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = proc.communicate(timeout=10)
        assert time.monotonic() - started < 1.5
        assert proc.returncode == 130
        assert err.strip().splitlines()[-1] == "mreg push: interrupted"
        with pytest.raises(NotFoundError, match="model 'models/interrupted' does not exist"):
            client.list_versions("interrupted")
        still_missing = missing()
    assert 0 < len(still_missing) < len(chunks)

    resumed = registry.json("push", str(model), "--model", "interrupted")
    assert resumed["bytes_total"] == 8 * MIB
    # The one chunk the server may have been storing when the stream was cancelled is the
    # only one that can differ; nothing the server already had is sent again.
    assert 0 < resumed["bytes_sent"] <= sum(d.size_bytes for d in still_missing)
    assert resumed["bytes_sent"] < 8 * MIB
    assert resumed["bytes_deduplicated"] == 8 * MIB - resumed["bytes_sent"]
    assert resumed["mb_per_s"] > 0


def test_a_server_stopped_mid_pull_gives_one_line_naming_the_address_and_the_retry(
    tmp_path: Path,
) -> None:
    server, gateway = start_embedded(tmp_path / "data")
    try:
        registry = Registry(gateway, tmp_path)
        model = tmp_path / "model.bin"
        # Larger than what HTTP/2 flow control lets the server send ahead of a reader held
        # at 4 MB/s (several MiB once the window grows), so the kill lands mid-transfer.
        model.write_bytes(os.urandom(24 * MIB))
        registry.json("push", str(model), "--model", "faults", "--version", "1.0.0")
        with Client(gateway) as client:
            artifacts = client.server_info().artifact_service_address
        out = tmp_path / "out"
        proc = _pull_until(registry, out, out / "model.bin", MIB)
        server.kill()
        server.wait(timeout=10)
        _, err = proc.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(
        f"mreg pull: lost the connection to the artifact service at {artifacts}"
    )
    assert lines[0].endswith("run the same command again to resume")


def test_the_hashing_progress_advances_by_bytes_within_a_file(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(os.urandom(6 * MIB))
    st = path.stat()
    local = LocalFile(path, "model.bin", st.st_size, 0o644, st)

    class Recorder(Progress):
        def __init__(self) -> None:
            self.events: list[tuple[str, int]] = []

        def phase(self, name: str, total: int) -> None:
            self.events.append((name, total))

        def advance(self, amount: int) -> None:
            self.events.append(("advance", amount))

    recorder = Recorder()
    hash_files([local], None, TransferStats(), recorder)
    assert recorder.events[0] == ("hashing", 6 * MIB)
    steps = [amount for name, amount in recorder.events[1:]]
    assert len(steps) == len(local.chunks) > 2
    assert steps == [c.length for c in local.chunks]
    assert max(steps) < 6 * MIB and sum(steps) == 6 * MIB


def test_read_blob_responses_parse_by_hand_as_protobuf_does() -> None:
    messages = [
        artifacts_pb2.ReadBlobResponse(
            offset=5 * 1024**3, data=os.urandom(MIB), compressor=4, uncompressed_size=3 * MIB
        ),
        artifacts_pb2.ReadBlobResponse(),
        artifacts_pb2.ReadBlobResponse(offset=-1, data=b"x"),
    ]
    for message in messages:
        piece = parse_piece(message.SerializeToString())
        assert (piece.offset, bytes(piece.data), piece.compressor, piece.uncompressed_size) == (
            message.offset,
            message.data,
            message.compressor,
            message.uncompressed_size,
        )
    # A field this client does not know (number 9) is skipped, as protobuf skips it.
    unknown = b"\x4a\x03abc" + messages[2].SerializeToString()
    assert parse_piece(unknown) == parse_piece(messages[2].SerializeToString())
    with pytest.raises(ValueError, match="truncated ReadBlobResponse"):
        parse_piece(messages[0].SerializeToString()[:100])


def test_resume_plan_merges_overlapping_pieces_and_drops_changed_ones(tmp_path: Path) -> None:
    from mreg.download import FileDownload, RateLimit, checksum, missing_ranges

    data = os.urandom(1000)
    digest = resources_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=1000)
    target = tmp_path / "model.bin"
    partial, journal_path = partial_paths(target)
    partial.write_bytes(data)
    journal = Journal(journal_path, digest)
    journal.open(keep=False)
    for offset, length in [(0, 100), (50, 100), (300, 50), (600, 100)]:
        journal.record(offset, length, checksum(data[offset : offset + length]))
    journal.close()
    partial.write_bytes(data[:650] + b"\0" + data[651:])  # the last piece changed on disk
    download = FileDownload(
        lambda *a, **k: iter(()),
        digest,
        target,
        metadata=(),
        timeout=1,
        address="",
        accept_compressed=False,
        on_bytes=lambda n: None,
        limit=RateLimit(0),
    )
    fd = os.open(partial, os.O_RDONLY)
    try:
        have = download.plan(fd)
    finally:
        os.close(fd)
    assert have == [(0, 150), (300, 50)]
    assert missing_ranges(have, 1000, 400) == [(150, 150), (350, 400), (750, 250)]
