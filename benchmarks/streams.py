"""Thousands of WatchEvents streams on one gateway, with a resolve load beside them.

Starts ``mreg serve`` (SQLite + local files) in a subprocess. Measures, in one run: the
resolve load with no watchers (the ceiling), then ``--watchers`` open ``WatchEvents``
streams (held by one asyncio client process) and the same resolve load with them open,
``GetServerInfo`` and ``RegisterModelVersion`` latency (of blobs uploaded beforehand; a
whole push beside it), the delivery latency of one committed event to every watcher, the
server process's RSS (and per stream) and its health during the run.

    python -m benchmarks.streams [--watchers 2000] [--seconds 5] [--clients 2] [--separate]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.gateway_resolve import _prepare, _run
from benchmarks.harness import emit, environment, rss_bytes
from benchmarks.servers import start_embedded, start_separate

logger = logging.getLogger(__name__)
MARKER = "bench-marker"
STREAMS_PER_CHANNEL = 100


def _watchers(address: str, count: int, ready: multiprocessing.Queue, out: multiprocessing.Queue):
    """Hold ``count`` watchers; report when all are open, then each one's receipt time of the
    first event about MARKER."""
    from modelregistry.v1 import registry_pb2, registry_pb2_grpc

    async def main() -> None:
        channels = [
            grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range((count + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
        ]
        opened = 0
        received: list[float] = []

        async def watch(stub) -> None:
            nonlocal opened
            call = stub.WatchEvents(registry_pb2.WatchEventsRequest(after_sequence=latest))
            opened += 1
            async for response in call:
                if response.event.model == MARKER:
                    received.append(time.time())
                    return

        stub0 = registry_pb2_grpc.RegistryServiceStub(channels[0])
        caught_up = registry_pb2.WatchEventsRequest(stop_when_caught_up=True)
        latest = 0
        async for response in stub0.WatchEvents(caught_up):
            latest = response.event.sequence
        stubs = [registry_pb2_grpc.RegistryServiceStub(c) for c in channels]
        tasks = [
            asyncio.ensure_future(watch(stubs[i // STREAMS_PER_CHANNEL])) for i in range(count)
        ]
        while opened < count:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # let the server register them all
        ready.put(opened)
        done, pending = await asyncio.wait(tasks, timeout=120)
        errors = [t.exception() for t in done if t.exception()]
        reasons: dict[str, int] = {}
        for error in errors:
            key = f"{getattr(error, 'code', lambda: '')()}: {getattr(error, 'details', str)()}"
            reasons[key[:160]] = reasons.get(key[:160], 0) + 1
        out.put((received, len(pending), reasons))
        for task in pending:
            task.cancel()

    asyncio.run(main())


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50_ms": samples[len(samples) // 2] * 1000,
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
        "max_ms": samples[-1] * 1000,
    }


class _HealthSampler:
    def __init__(self, address: str) -> None:
        self.address = address
        self.statuses: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while not self._stop.wait(0.2):
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
                except grpc.RpcError as error:
                    name = error.code().name
                self.statuses[name] = self.statuses.get(name, 0) + 1

    def __enter__(self) -> _HealthSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _upload(artifacts, data: bytes):
    """Upload ``data`` through the plain streaming path; returns its digest."""
    from modelregistry.v1 import artifacts_pb2

    header = artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
    requests = [
        artifacts_pb2.UploadBlobRequest(header=header),
        artifacts_pb2.UploadBlobRequest(data=data),
        artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish()),
    ]
    return artifacts.UploadBlob(iter(requests), timeout=30).blob.digest


def _registrations(stub, client, model: str, count: int, pace: float) -> list[float]:
    """Seconds of ``count`` RegisterModelVersion calls of ``model`` (blobs uploaded
    beforehand, so only the registration is timed), one every ``pace`` seconds (0: back to
    back)."""
    from modelregistry.v1 import registry_pb2, resources_pb2

    digests = [_upload(client.artifacts, f"{model} {i}".encode()) for i in range(count)]
    seconds = []
    for i, digest in enumerate(digests):
        request = registry_pb2.RegisterModelVersionRequest(
            parent=f"models/{model}",
            model_version=resources_pb2.ModelVersion(version=f"1.0.{i}", artifact_digest=digest),
            request_id=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        stub.RegisterModelVersion(request, timeout=10)
        seconds.append(time.perf_counter() - started)
        time.sleep(max(0.0, pace - seconds[-1]))
    return seconds


def _unary_latencies(address: str, tmp: Path, count: int, pace: float = 0.5) -> dict[str, object]:
    """``GetServerInfo``; ``RegisterModelVersion`` alone, of blobs uploaded beforehand, one
    after another and then one every ``pace`` seconds; and a whole ``push`` (upload +
    register): ``count`` of each."""
    from modelregistry.v1 import registry_pb2, registry_pb2_grpc
    from mreg.client import Client

    info, pushes = [], []
    with grpc.insecure_channel(address) as channel, Client(address) as client:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        for _ in range(count):
            started = time.perf_counter()
            stub.GetServerInfo(registry_pb2.GetServerInfoRequest(), timeout=10)
            info.append(time.perf_counter() - started)
        registrations = _registrations(stub, client, "bench-registrations", count, pace=0)
        # The same at a steady pace (a busy registry, not a burst): each registration's
        # events reach every watcher before the next one starts.
        paced = _registrations(stub, client, "bench-registrations-paced", count, pace)
        model = tmp / "small.bin"
        for i in range(count):
            model.write_bytes(f"weights {i}".encode())
            started = time.perf_counter()
            client.push(model, model="bench-pushes", version=f"1.0.{i}", use_cache=False)
            pushes.append(time.perf_counter() - started)
    return {
        "get_server_info": _percentiles(info),
        "register_model_version": _percentiles(registrations),
        f"register_model_version_one_per_{pace:g}_s": _percentiles(paced),
        "push_and_register": _percentiles(pushes),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0, help="resolve load per case")
    parser.add_argument("--clients", type=int, default=2, help="resolve client processes")
    parser.add_argument("--unary", type=int, default=30, help="timed unary calls of each kind")
    parser.add_argument(
        "--separate",
        action="store_true",
        help="run the three services as three processes (as deployed), not one mreg serve",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="mreg-bench-") as tmp:
        if args.separate:
            procs, address = start_separate(Path(tmp) / "data")
        else:
            embedded, address = start_embedded(Path(tmp) / "data")
            procs = [embedded]
        proc = procs[-1]  # the gateway's process (or the one serving all three)
        try:
            _prepare(address, Path(tmp))
            ceiling = _run(address, args.clients, args.seconds)
            rss_before = rss_bytes(proc.pid)
            ready, out = ctx.Queue(), ctx.Queue()
            holder = ctx.Process(target=_watchers, args=(address, args.watchers, ready, out))
            holder.start()
            opened = ready.get(timeout=300)
            rss_open = rss_bytes(proc.pid)
            with _HealthSampler(address) as health:
                loaded = _run(address, args.clients, args.seconds)
                unary = _unary_latencies(address, Path(tmp), args.unary)
                from mreg.client import Client

                marker = Path(tmp) / "marker.bin"
                marker.write_bytes(b"marker")
                with Client(address) as client:
                    pushed_at = time.time()
                    client.push(marker, model=MARKER, version="1.0.0", use_cache=False)
                committed = time.time()
                received, missing, failed = out.get(timeout=180)
            holder.join(timeout=30)
        finally:
            for each in procs:
                each.send_signal(signal.SIGINT)
            for each in procs:
                each.wait(timeout=60)
    delivery = _percentiles([max(0.0, t - committed) for t in received])
    # An upper bound: from the start of the push (upload + register) to receipt.
    delivery_bound = _percentiles([t - pushed_at for t in received])
    emit(
        {
            "benchmark": "streams",
            "backend": (
                "three processes (SQLite + local files); RSS is the gateway's"
                if args.separate
                else "mreg serve: embedded (SQLite + local files), three services in one process"
            ),
            "watchers": {"asked": args.watchers, "opened": opened, "missing": missing},
            "watchers_failed": failed,  # status -> count
            "resolve_without_watchers": ceiling,
            "resolve_with_watchers": loaded,
            "resolve_per_second_ratio": loaded["per_second"] / ceiling["per_second"],
            "unary_with_watchers": unary,
            "event_delivery_after_push_returned": delivery,
            "event_delivery_since_push_started": delivery_bound,
            "server_rss_bytes": {"before_watchers": rss_before, "with_watchers": rss_open},
            "rss_per_stream_bytes": (rss_open - rss_before) / max(1, opened),
            "health_samples_during_run": health.statuses,
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
