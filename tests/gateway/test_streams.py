"""Watchers on real processes: many open streams, health that follows the peers, a peer
restarted under watchers, SIGTERM telling watchers where to resume, and a watcher that
never reads dropped with its cursor."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from mreg.client import Client
from services.common.server import insecure_channel
from tests.conftest import free_port
from tests.gateway.conftest import upload
from tests.gateway.test_process_failures import Processes


def _health(address: str) -> int | None:
    with insecure_channel(address) as channel:
        try:
            return (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(), timeout=2, wait_for_ready=True)
                .status
            )
        except grpc.RpcError:
            return None


def _until_health(address: str, status: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while (seen := _health(address)) != status:
        assert time.monotonic() < deadline, f"health stayed {seen}, wanted {status}"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _free_http_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    # HTTP listeners on free ports, never the shared defaults 8080/8081.
    monkeypatch.setenv("MREG_GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
    monkeypatch.setenv("MREG_ARTIFACTS_HTTP_LISTEN", "127.0.0.1:0")


@pytest.fixture
def processes(tmp_path: Path):
    running = Processes(tmp_path / "data", 3600)
    _until_health(running.address("gateway"), health_pb2.HealthCheckResponse.SERVING)
    yield running
    running.stop_all()


def _register(client: Client, name: str, version: str = "1.0.0") -> None:
    client.register(name, upload(client.artifacts, name.encode()), version=version)


def _watch(stub, after: int = 0):
    return stub.WatchEvents(registry_pb2.WatchEventsRequest(after_sequence=after), timeout=60)


def _next_model(stream) -> registry_pb2.WatchEventsResponse:
    return next(stream)


def test_health_is_not_serving_until_both_peers_answer_and_after_losing_one(
    tmp_path: Path,
) -> None:
    running = Processes(tmp_path / "data", 3600)
    gateway = running.address("gateway")
    try:
        _until_health(gateway, health_pb2.HealthCheckResponse.SERVING)
        running.kill("artifacts")
        _until_health(gateway, health_pb2.HealthCheckResponse.NOT_SERVING)
        running.start("artifacts")
        _until_health(gateway, health_pb2.HealthCheckResponse.SERVING)
        running.kill("metadata")
        _until_health(gateway, health_pb2.HealthCheckResponse.NOT_SERVING)
    finally:
        running.stop_all()


def test_a_gateway_without_peers_is_not_serving(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MREG_DATA_DIR": str(tmp_path),
        "MREG_GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "MREG_ARTIFACTS_ADDRESS": f"127.0.0.1:{free_port()}",
        "MREG_METADATA_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.gateway"], env=env)
    try:
        deadline = time.monotonic() + 15
        while _health(f"127.0.0.1:{port}") is None:
            assert time.monotonic() < deadline
        for _ in range(5):  # answers, and keeps answering NOT_SERVING
            assert _health(f"127.0.0.1:{port}") == health_pb2.HealthCheckResponse.NOT_SERVING
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_hundreds_of_watchers_leave_unary_calls_fast_and_all_get_the_event(
    processes: Processes,
) -> None:
    with insecure_channel(processes.address("gateway")) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        streams = [_watch(stub) for _ in range(300)]
        try:
            with Client(processes.address("gateway"), timeout=10) as client:
                durations = []
                for _ in range(30):
                    started = time.perf_counter()
                    stub.GetServerInfo(registry_pb2.GetServerInfoRequest(), timeout=5)
                    durations.append(time.perf_counter() - started)
                assert sorted(durations)[-2] < 0.25  # the sync gateway timed out at 200
                _register(client, "watched")
            for stream in streams:
                assert _next_model(stream).event.model == "watched"
        finally:
            for stream in streams:
                stream.cancel()


async def _burst_of_watchers(address: str, count: int, register) -> list[str]:
    """Open ``count`` watchers at once (100 per connection), then ``register``; returns
    what each watcher saw first: the model of its first event, or its error code."""
    channels = [
        grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(count // 100)
    ]
    stubs = [registry_pb2_grpc.RegistryServiceStub(c) for c in channels]

    async def first(i: int) -> str:
        call = stubs[i % len(stubs)].WatchEvents(registry_pb2.WatchEventsRequest(), timeout=60)
        try:
            async for response in call:
                return response.event.model
        except grpc.aio.AioRpcError as error:
            return error.code().name
        return "ended"

    try:
        tasks = [asyncio.ensure_future(first(i)) for i in range(count)]
        await asyncio.wait(tasks, timeout=3)  # the burst settles (none may end meanwhile)
        await asyncio.get_running_loop().run_in_executor(None, register)
        return list(await asyncio.gather(*tasks))
    finally:
        for channel in channels:
            await channel.close()


def test_two_thousand_watchers_opened_at_once_are_all_served(processes: Processes) -> None:
    # grpc cancels calls at random past 1,000 waiting for a handler (CANCELLED before the
    # servicer ran: 10% of this burst) unless the server raises that limit.
    address = processes.address("gateway")

    def register() -> None:
        with Client(address, timeout=30) as client:
            _register(client, "burst")

    seen = asyncio.run(_burst_of_watchers(address, 2000, register))
    assert {model: seen.count(model) for model in set(seen)} == {"burst": 2000}


def _all_events(stub) -> list[int]:
    request = registry_pb2.WatchEventsRequest(stop_when_caught_up=True)
    return [r.event.sequence for r in stub.WatchEvents(request, timeout=20)]


def test_watchers_survive_a_metadata_restart_and_miss_nothing(processes: Processes) -> None:
    with (
        insecure_channel(processes.address("gateway")) as channel,
        Client(processes.address("gateway"), timeout=20) as client,
    ):
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        _register(client, "before")
        streams = [_watch(stub) for _ in range(20)]
        before = _all_events(stub)
        received = [[_next_model(s).event.sequence for _ in before] for s in streams]
        assert received == [before] * len(streams)
        processes.kill("metadata")
        processes.start("metadata")
        _until_health(processes.address("gateway"), health_pb2.HealthCheckResponse.SERVING)
        _register(client, "after")
        everything = _all_events(stub)
        assert len(everything) > len(before)
        for stream, seen in zip(streams, received, strict=True):
            seen.extend(_next_model(stream).event.sequence for _ in everything[len(before) :])
            assert seen == everything  # no gap, no repeat
            stream.cancel()


def test_sigterm_tells_watchers_to_reconnect_with_their_cursor(processes: Processes) -> None:
    with (
        insecure_channel(processes.address("gateway")) as channel,
        Client(processes.address("gateway"), timeout=20) as client,
    ):
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        _register(client, "seen")
        stream = _watch(stub)
        sequences = _all_events(stub)
        for _ in sequences:
            _next_model(stream)
        proc = processes.procs.pop("gateway")
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(grpc.RpcError) as info:
            _next_model(stream)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert f"after_sequence={sequences[-1]}" in info.value.details()
        assert proc.wait(timeout=20) == 0


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
    raise AssertionError(f"{name} is not in the gateway's metrics")


def _until_metric(port: int, name: str, value: float, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (seen := _metric(port, name)) != value:
        assert time.monotonic() < deadline, f"{name} stayed {seen}, wanted {value}"
        time.sleep(0.05)


def test_a_watcher_that_never_reads_is_dropped_naming_its_cursor(tmp_path: Path) -> None:
    metrics = free_port()
    running = Processes(
        tmp_path / "data",
        3600,
        gateway_env={
            "MREG_WATCH_QUEUE_EVENTS": "10",
            "MREG_WATCH_WRITE_TIMEOUT_SECONDS": "0.5",
            "MREG_METRICS_PORT": str(metrics),
        },
    )
    address = running.address("gateway")
    # A client that reads nothing and offers a 16 KiB window (grpc's BDP probing would let
    # its window grow to 4 MiB first): the gateway's writes to it stop after 16 KiB.
    stuck_channel = grpc.insecure_channel(
        address, options=[("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 16384)]
    )
    try:
        _until_health(address, health_pb2.HealthCheckResponse.SERVING)
        with insecure_channel(address) as channel, Client(address, timeout=20) as client:
            stub = registry_pb2_grpc.RegistryServiceStub(channel)
            _register(client, "slow")
            start = _all_events(stub)[-1]
            request = registry_pb2.WatchEventsRequest(after_sequence=start, types=["alias.set"])
            stuck = registry_pb2_grpc.RegistryServiceStub(stuck_channel).WatchEvents(
                request, timeout=120
            )
            reader = _watch(stub, start)  # a watcher that reads, beside it
            _until_metric(metrics, "mreg_gateway_watchers", 2)
            version = "models/slow/versions/1.0.0"
            sent = 0
            while _metric(metrics, "mreg_gateway_watchers_dropped_total") == 0:
                assert sent < 5000, "the watcher that reads nothing was never dropped"
                for _ in range(100):
                    stub.SetAlias(
                        registry_pb2.SetAliasRequest(model_version=version, alias=f"a{sent}"),
                        timeout=10,
                    )
                    sent += 1
                    assert _next_model(reader).event.attributes["alias"] == f"a{sent - 1}"
            assert _metric(metrics, "mreg_gateway_watchers_dropped_total") == 1
            assert _metric(metrics, "mreg_gateway_watchers") == 1  # only the reader is held
            reader.cancel()
            # Read now: what its window held, then the status naming the last one.
            received = []
            with pytest.raises(grpc.RpcError) as info:
                for response in stuck:
                    received.append(response.event.sequence)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "MREG_WATCH_QUEUE_EVENTS=10" in info.value.details()
            assert info.value.details().endswith(f"after_sequence={received[-1]}")
            assert 0 < len(received) < sent
            # Resuming from it misses nothing and repeats nothing.
            resumed = stub.WatchEvents(
                registry_pb2.WatchEventsRequest(
                    after_sequence=received[-1], types=["alias.set"], stop_when_caught_up=True
                ),
                timeout=20,
            )
            rest = [r.event.sequence for r in resumed]
            everything = received + rest
            assert everything == sorted(set(everything)) and len(everything) == sent
    finally:
        stuck_channel.close()
        running.stop_all()
