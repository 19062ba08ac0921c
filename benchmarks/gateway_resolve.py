"""Resolve latency and throughput through the gateway on the embedded defaults.

Starts ``mreg serve`` (SQLite + local files) as a subprocess, registers a model with an
alias, then resolves ``name@alias``, ``name:version`` and ``name`` from 1 and from 8
concurrent client processes, each with its own channel. Prints one JSON document:
p50/p99 latency in milliseconds and resolutions per second.

    python -m benchmarks.gateway_resolve [--seconds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import grpc

from benchmarks.harness import emit, environment
from benchmarks.servers import start_embedded

logger = logging.getLogger(__name__)

REFERENCES = ("bench-model@champion", "bench-model:1.0.0", "bench-model")


def _prepare(address: str, tmp: Path) -> None:
    from modelregistry.v1 import registry_pb2
    from mreg.client import Client

    model = tmp / "model.bin"
    model.write_bytes(os.urandom(1024 * 1024))
    with Client(address) as client:
        pushed = client.push(model, model="bench-model", version="1.0.0", use_cache=False)
        client._unary(
            "SetAlias",
            registry_pb2.SetAliasRequest(model_version=pushed.version.name, alias="champion"),
        )


def _worker(address: str, seconds: float, start_at: float, out: multiprocessing.Queue) -> None:
    from modelregistry.v1 import registry_pb2, registry_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        requests = [registry_pb2.ResolveModelVersionRequest(reference=r) for r in REFERENCES]
        for request in requests:  # warm the channel
            stub.ResolveModelVersion(request, timeout=5)
        while time.time() < start_at:
            time.sleep(0.001)
        latencies = []
        end = time.perf_counter() + seconds
        i = 0
        while (now := time.perf_counter()) < end:
            stub.ResolveModelVersion(requests[i % len(requests)], timeout=5)
            latencies.append(time.perf_counter() - now)
            i += 1
    out.put(latencies)


def _run(address: str, clients: int, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    start_at = time.time() + 3.0
    procs = [
        ctx.Process(target=_worker, args=(address, seconds, start_at, out)) for _ in range(clients)
    ]
    for proc in procs:
        proc.start()
    latencies = sorted(x for _ in procs for x in out.get(timeout=seconds + 60))
    for proc in procs:
        proc.join()
    count = len(latencies)
    return {
        "clients": clients,
        "resolutions": count,
        "per_second": count / seconds,
        "p50_ms": latencies[count // 2] * 1000,
        "p99_ms": latencies[int(count * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per case")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="mreg-bench-") as tmp:
        proc, address = start_embedded(Path(tmp) / "data")
        try:
            _prepare(address, Path(tmp))
            single = _run(address, 1, args.seconds)
            concurrent = _run(address, args.clients, args.seconds)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    emit(
        {
            "benchmark": "gateway_resolve",
            "backend": "embedded (SQLite + local files)",
            "references": list(REFERENCES),
            "single_client": single,
            "concurrent": concurrent,
            "target_p99_ms": 5.0,
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
