"""Pins in the artifact index: counts and pages with many holders, prefix ranges, two
instances over one index, GC against concurrent pins, legacy pin objects imported once, and
an index database that goes away (UNAVAILABLE, health) and comes back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from modelregistry.v1 import artifacts_pb2
from services.artifacts.app import bindings_for, build_service
from services.artifacts.index.database import SCHEMA, open_index
from services.artifacts.index.identity import IndexMismatch
from services.artifacts.index.pins import PINS_LISTED, PinIndex
from services.artifacts.store import PIN_PREFIX, blob_key, pin_key
from services.artifacts.visibility import holder_in_prefix
from services.common.settings import Settings
from tests.artifacts.helpers import Client, digest_of, error_of, random_bytes, service_of
from tests.artifacts.processes import ROOT, SERVICE, _env, artifact_process
from tests.tcp_proxy import TcpProxy


def _stat(client: Client, digest) -> artifacts_pb2.BlobInfo:
    return client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest), timeout=10).blob


def _pin(client: Client, digest, holder: str) -> artifacts_pb2.BlobInfo:
    request = artifacts_pb2.PinBlobRequest(digest=digest, holder=holder)
    return client.stub.PinBlob(request, timeout=10).blob


def _all_pins(client: Client, digest, page_size: int) -> tuple[list[str], int]:
    holders, token, pages = [], "", 0
    while True:
        page = client.stub.ListBlobPins(
            artifacts_pb2.ListBlobPinsRequest(digest=digest, page_size=page_size, page_token=token),
            timeout=10,
        )
        holders += page.holders
        pages += 1
        token = page.next_page_token
        if not token:
            return holders, pages


def _holder(i: int) -> str:
    return f"models/m{i % 7}/versions/1.0.{i}"


def test_blob_info_counts_pins_and_lists_the_first_hundred_however_many_pin_it(served) -> None:
    service, client = served
    digest = client.upload(random_bytes(4096, seed=1)).blob.digest
    by_rpc = [_holder(i) for i in range(120)]
    for holder in by_rpc:
        _pin(client, digest, holder)
    again = _pin(client, digest, by_rpc[0])  # idempotent
    assert again.pin_count == 120
    bulk = [_holder(i) for i in range(120, 10_000)]
    service.pins.add((digest.hash, h) for h in bulk)

    response = client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest), timeout=10)
    everyone = sorted(by_rpc + bulk)
    assert response.blob.pin_count == 10_000
    assert list(response.blob.pins) == everyone[:PINS_LISTED]
    assert response.ByteSize() < 10_000  # bounded, not 10,000 holders long

    listed, pages = _all_pins(client, digest, page_size=1000)
    assert listed == everyone
    assert pages == 10
    removed = client.stub.UnpinBlob(
        artifacts_pb2.UnpinBlobRequest(digest=digest, holder=by_rpc[5]), timeout=10
    )
    assert removed.removed
    again = client.stub.UnpinBlob(
        artifacts_pb2.UnpinBlobRequest(digest=digest, holder=by_rpc[5]), timeout=10
    )
    assert not again.removed
    assert _stat(client, digest).pin_count == 9_999


def test_list_blob_pins_pages_by_default_size_and_refuses_bad_input(client: Client) -> None:
    digest = client.upload(random_bytes(4096, seed=2)).blob.digest
    holders = sorted(_holder(i) for i in range(150))
    for holder in holders:
        _pin(client, digest, holder)
    first = client.stub.ListBlobPins(artifacts_pb2.ListBlobPinsRequest(digest=digest), timeout=10)
    assert list(first.holders) == holders[:100]
    assert first.next_page_token
    assert _all_pins(client, digest, page_size=0) == (holders, 2)

    cases = [
        (
            artifacts_pb2.ListBlobPinsRequest(digest=digest, page_token="not-a-token"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "the page token is not one a ListBlobPins response gave",
        ),
        (
            artifacts_pb2.ListBlobPinsRequest(digest=digest, page_size=-1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_size must not be negative, got -1",
        ),
        (
            artifacts_pb2.ListBlobPinsRequest(digest=digest_of(b"never stored")),
            grpc.StatusCode.NOT_FOUND,
            f"no blob has digest {digest_of(b'never stored').hash}",
        ),
    ]
    for request, code, message in cases:
        with pytest.raises(grpc.RpcError) as info:
            client.stub.ListBlobPins(request, timeout=10)
        assert info.value.code() == code
        assert message in info.value.details()


PREFIX_HOLDERS = [
    "models/a/versions/1",
    "models/ab/versions/1",
    "models/a_b/versions/1",
    "models/aXb/versions/1",
    "models/a%/versions/1",
    "models/a%b/versions/1",
    "models/A/versions/1",
    "models/a\\b/versions/1",
    "models/b/versions/1",
    "models/é/versions/1",
    "modelsX/a/versions/1",
    "holder-of-another-kind",
]
PREFIXES = ["a", "ab", "a_", "a%", "A", "a\\", "b", "é", "zz", "a/versions", "a/"]


def test_a_prefix_is_a_range_that_matches_exactly_the_holder_rule(database_url: str) -> None:
    """No LIKE wildcard (``_``, ``%``), escape or case folding leaks between prefixes."""
    db = open_index(database_url)
    try:
        pins = PinIndex(db)
        blob = "ab" * 32
        own = {h: f"{i:064x}" for i, h in enumerate(PREFIX_HOLDERS)}
        pins.add([(blob, h) for h in PREFIX_HOLDERS] + [(own[h], h) for h in PREFIX_HOLDERS])
        for prefix in PREFIXES:
            expected = sorted(h for h in PREFIX_HOLDERS if holder_in_prefix(h, prefix))
            assert pins.holders(blob, limit=100, model_prefix=prefix) == expected, prefix
            assert pins.count(blob, prefix) == len(expected), prefix
            for holder in PREFIX_HOLDERS:
                assert pins.any_within([own[holder]], prefix) == (holder in expected), (
                    prefix,
                    holder,
                )
        assert pins.count(blob) == len(PREFIX_HOLDERS)
    finally:
        db.dispose()


def test_two_instances_over_one_index_agree_on_pins(settings: Settings, start_server) -> None:
    first, second = (Client(start_server(*bindings_for(service_of(settings)))) for _ in range(2))
    digest = first.upload(random_bytes(4096, seed=3)).blob.digest
    _pin(first, digest, "models/m/versions/1")
    seen = _stat(second, digest)
    assert (seen.pin_count, list(seen.pins)) == (1, ["models/m/versions/1"])

    errors: list[BaseException] = []

    def pin_many(client: Client, start: int) -> None:
        try:
            for i in range(start, start + 60):  # overlapping ranges: the same pins twice
                _pin(client, digest, _holder(i))
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=pin_many, args=(c, s)) for c, s in ((first, 0), (second, 30))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _stat(first, digest).pin_count == 1 + 90
    assert second.stub.UnpinBlob(
        artifacts_pb2.UnpinBlobRequest(digest=digest, holder="models/m/versions/1"), timeout=10
    ).removed
    assert _stat(first, digest).pin_count == 90
    assert _all_pins(first, digest, 1000)[0] == _all_pins(second, digest, 7)[0]


def test_gc_keeps_pinned_blobs_and_one_pinned_while_it_sweeps(served, monkeypatch) -> None:
    service, client = served
    kept, racing, dropped = (random_bytes(300_000, seed=s) for s in (4, 5, 6))
    digests = [client.upload(data).blob.digest for data in (kept, racing, dropped)]
    _pin(client, digests[0], "models/m/versions/1")
    real_delete = service.backend.delete

    def delete(keys):
        # PinBlob of `racing` lands between GC's last look at its pins and the delete.
        if blob_key(digests[1].hash) in keys:
            service.pins.add([(digests[1].hash, "models/m/versions/2")])
        return real_delete(keys)

    monkeypatch.setattr(service.backend, "delete", delete)
    report = service.collect_garbage(grace_seconds=0)
    assert report.blobs_removed == 1
    assert client.read(digests[0]) == kept
    assert client.read(digests[1]) == racing  # the manifest was put back, chunks kept
    assert _stat(client, digests[1]).pin_count == 1
    assert error_of(lambda: _stat(client, digests[2])).code() == grpc.StatusCode.NOT_FOUND


def test_a_pin_that_loses_the_race_with_gc_is_taken_back(served, monkeypatch) -> None:
    service, client = served
    digest = client.upload(random_bytes(4096, seed=7)).blob.digest
    real_add = service.pins.add

    def add(pins):
        real_add(pins)
        service.backend.delete([blob_key(digest.hash)])  # GC removed it just now

    monkeypatch.setattr(service.pins, "add", add)
    error = error_of(lambda: _pin(client, digest, "models/m/versions/1"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert f"no blob has digest {digest.hash}" in error.details()
    assert service.pins.count(digest.hash) == 0


def _legacy_pins(settings: Settings, digest, holders: list[str]) -> None:
    service = service_of(settings, compact=False)
    try:
        for holder in holders:  # what the code before the index wrote
            service.backend.put(pin_key(digest.hash, holder), [b'{"holder":"x","time":0}'])
        service.backend.put(f"{PIN_PREFIX}{digest.hash}/%%%", [b"{}"])  # names no holder
    finally:
        service.close()


def test_legacy_pin_objects_are_imported_once_at_start(settings: Settings, start_server) -> None:
    service = service_of(settings, compact=False)
    client = Client(start_server(*bindings_for(service)))
    data = random_bytes(200_000, seed=8)
    digest = client.upload(data).blob.digest
    holders = [_holder(i) for i in range(3)]
    _legacy_pins(settings, digest, holders)
    # A dry run imports nothing, and counts the legacy pins all the same.
    assert service.collect_garbage(0, dry_run=True).blobs_removed == 0
    assert service.pins.count(digest.hash) == 0

    restarted = build_service(settings.model_copy(update={"compact": False}))
    try:
        assert restarted.pins.holders(digest.hash, limit=10) == sorted(holders)
        left = [info.key for info in restarted.backend.list(PIN_PREFIX)]
        assert left == [f"{PIN_PREFIX}{digest.hash}/%%%"]  # the unreadable one stays
        assert restarted.collect_garbage(grace_seconds=0).blobs_removed == 0
        assert client.read(digest) == data
    finally:
        restarted.close()
    again = build_service(settings.model_copy(update={"compact": False}))
    try:
        assert again.pins.count(digest.hash) == 3
    finally:
        again.close()


def test_migrate_command_creates_the_index_and_imports_legacy_pins(
    local_settings: Settings, start_server
) -> None:
    service = service_of(local_settings, compact=False)
    client = Client(start_server(*bindings_for(service)))
    digest = client.upload(random_bytes(4096, seed=9)).blob.digest
    _legacy_pins(local_settings, digest, ["models/m/versions/1", "models/m/versions/2"])
    done = subprocess.run(
        [sys.executable, "-m", "services.artifacts", "migrate"],
        env=_env(MREG_DATA_DIR=str(local_settings.data_dir)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"revision": SCHEMA.head(), "legacy_pins_imported": 2}
    assert _stat(client, digest).pin_count == 2


def _health(client: Client) -> int:
    stub = health_pb2_grpc.HealthStub(client.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status


def _within(condition, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out ({timeout} s) waiting for {what}"
        time.sleep(0.05)


def test_an_unreachable_index_answers_unavailable_and_health_follows_it(
    tmp_path: Path, postgres_database_factory
) -> None:
    url = make_url(postgres_database_factory())
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    via_proxy = url.set(port=proxy.port).render_as_string(hide_password=False)
    try:
        with artifact_process(
            tmp_path, MREG_ARTIFACTS_DATABASE_URL=via_proxy, MREG_BACKEND_PROBE_SECONDS="0.2"
        ) as address:
            client = Client(address)
            digest = client.upload(random_bytes(4096, seed=10)).blob.digest
            assert _pin(client, digest, "models/m/versions/1").pin_count == 1

            proxy.cut()
            _within(lambda: _health(client) == health_pb2.HealthCheckResponse.NOT_SERVING, "down")
            for call in (
                lambda: _pin(client, digest, "models/m/versions/2"),
                lambda: _stat(client, digest),
            ):
                error = error_of(call)
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
                assert "the artifact index database is unavailable" in error.details()

            proxy.restore()
            _within(lambda: _health(client) == health_pb2.HealthCheckResponse.SERVING, "up")
            assert _pin(client, digest, "models/m/versions/3").pin_count == 2
            assert list(_stat(client, digest).pins) == [
                "models/m/versions/1",
                "models/m/versions/3",
            ]  # the pin refused while the index was away was not half-written
            client.close()
    finally:
        proxy.close()


def test_the_stored_count_follows_every_pin_and_unpin(database_url: str) -> None:
    db = open_index(database_url)
    try:
        pins = PinIndex(db)
        a, b = "a" * 64, "b" * 64
        pins.add(
            [(a, "models/m/versions/1"), (a, "models/m/versions/2"), (b, "models/m/versions/1")]
        )
        pins.add([(a, "models/m/versions/1"), (a, "models/m/versions/1")])  # present: no change
        assert (pins.count(a), pins.count(b)) == (2, 1)
        assert pins.remove(a, "models/m/versions/1")
        assert not pins.remove(a, "models/m/versions/1")
        assert not pins.remove(a, "models/never/versions/1")
        assert pins.remove(b, "models/m/versions/1")
        assert (pins.count(a), pins.count(b)) == (1, 0)
        assert pins.pinned() == {a}
    finally:
        db.dispose()


def test_a_store_refuses_an_index_that_is_not_its_own(settings: Settings, tmp_path: Path) -> None:
    first = build_service(settings.model_copy(update={"compact": False}))
    try:
        manifest = first.put_bytes(b"a pinned config\n")
        first.pin((manifest.hash, manifest.size), "models/m/versions/1")
    finally:
        first.close()
    other = f"sqlite:///{tmp_path / 'another-index.db'}"
    with pytest.raises(IndexMismatch) as info:
        build_service(settings.model_copy(update={"artifacts_database_url": other}))
    message = str(info.value)
    assert "but sqlite:///" in message and "is a new, empty index" in message
    assert "set MREG_ARTIFACTS_DATABASE_URL (or, for the SQLite default, MREG_DATA_DIR)" in message

    env = {"MREG_DATA_DIR": str(settings.data_dir), "MREG_ARTIFACTS_DATABASE_URL": other}
    if settings.storage_backend == "s3":
        env |= {
            "MREG_STORAGE_BACKEND": "s3",
            "MREG_S3_BUCKET": settings.s3_bucket,
            "MREG_S3_ENDPOINT_URL": settings.s3_endpoint_url,
            "MREG_S3_PREFIX": settings.s3_prefix,
        }
    done = subprocess.run(
        [sys.executable, "-m", "services.artifacts", "gc", "--grace-seconds", "0"],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert "the store's pins are in the other one" in done.stderr
    again = build_service(settings.model_copy(update={"compact": False}))  # its own: fine
    try:
        assert again.pins.count(manifest.hash) == 1
        assert again.collect_garbage(grace_seconds=0).blobs_removed == 0
    finally:
        again.close()
