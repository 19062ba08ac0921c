"""HTTP/JSON resolve beside gRPC resolve, in the same run, through the same gateway.

Starts ``mreg serve`` (SQLite + local files) with its HTTP port, registers a model with
an alias, then resolves ``bench-model@champion`` over gRPC (``ResolveModelVersion``) and
over HTTP/JSON (``GET /v1/references/bench-model@champion``, httpx with a kept-alive
connection), from 1 and from N concurrent client processes, the two interleaved. HTTP/JSON
costs the HTTP hop, the transcoding and a loopback gRPC call on top of gRPC resolve, so
gRPC resolve is its ceiling: prints one JSON document with p50/p99 latency in
milliseconds, resolutions per second, and HTTP/JSON's throughput as a ratio to gRPC's.

    python -m benchmarks.http_json [--seconds 5] [--clients 8]
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

from benchmarks.harness import emit, environment, free_port
from benchmarks.servers import start_embedded

logger = logging.getLogger(__name__)

REFERENCE = "bench-model@champion"


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


def _grpc_caller(address: str):
    import grpc

    from modelregistry.v1 import registry_pb2, registry_pb2_grpc

    channel = grpc.insecure_channel(address)
    stub = registry_pb2_grpc.RegistryServiceStub(channel)
    request = registry_pb2.ResolveModelVersionRequest(reference=REFERENCE)

    def call() -> None:
        stub.ResolveModelVersion(request, timeout=5)

    return call


def _http_caller(url: str):
    import httpx

    client = httpx.Client(base_url=url, timeout=5)
    path = f"/v1/references/{REFERENCE}"

    def call() -> None:
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
        answer.json()

    return call


def _worker(kind: str, target: str, seconds: float, start_at: float, out) -> None:
    call = _grpc_caller(target) if kind == "grpc" else _http_caller(target)
    for _ in range(20):  # warm the connection
        call()
    while time.time() < start_at:
        time.sleep(0.001)
    latencies = []
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        call()
        latencies.append(time.perf_counter() - now)
    out.put(latencies)


def _run(kind: str, target: str, clients: int, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3.0
    procs = [
        ctx.Process(target=_worker, args=(kind, target, seconds, start_at, out))
        for _ in range(clients)
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
        "per_second": round(count / seconds, 1),
        "p50_ms": round(latencies[count // 2] * 1000, 3),
        "p99_ms": round(latencies[int(count * 0.99)] * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per case")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    cases: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="mreg-bench-") as tmp:
        http_port = free_port()
        proc, address = start_embedded(Path(tmp) / "data", http_port=http_port)
        url = f"http://127.0.0.1:{http_port}"
        try:
            _prepare(address, Path(tmp))
            for clients in (1, args.clients):  # interleaved: gRPC, then HTTP/JSON
                for kind, target in (("grpc", address), ("http_json", url)):
                    cases[f"{kind}_{clients}"] = _run(kind, target, clients, args.seconds)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    ratios = {
        f"http_json_to_grpc_per_second_{c}": round(
            cases[f"http_json_{c}"]["per_second"] / cases[f"grpc_{c}"]["per_second"], 3
        )
        for c in (1, args.clients)
    }
    emit(
        {
            "benchmark": "http_json",
            "backend": "embedded (SQLite + local files)",
            "reference": REFERENCE,
            "http_path": f"GET /v1/references/{REFERENCE}",
            **cases,
            **ratios,
            "target": (
                "resolve >= 2000/s, p99 < 20 ms (docs/ARCHITECTURE.md section 7); "
                "gRPC is the ceiling"
            ),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
