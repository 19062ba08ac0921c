"""Load benchmark of the metadata service on PostgreSQL, through its gRPC server.

The server runs as its own process (``python -m services.metadata``) on a fresh database;
clients are threads of this process, each with its own channel. Phases:

* ``ceiling``: gRPC health checks from the same clients, the transport's unary ceiling.
* ``create``: ``--clients`` threads create versions (auto-bumped, with metrics and tags)
  on ``--models`` models for ``--seconds``; ops/s and latency percentiles.
* ``resolve``: the same threads resolve ``name@alias``.
* ``search``: after a ``COPY`` bulk load of ``--versions`` versions, one client searches
  with a metric filter and ordering (first page and a later page); latency percentiles.
* ``lineage``: after a bulk load of a random DAG with ``--edges`` edges, one client asks
  for depth-10 ancestors of late nodes; latency and subgraph size.

Figures are reported with their ratio to the health-check ceiling of the same run. The
server's CPU seconds per operation are reported for each phase (from ``/proc``).

Run: ``python -m benchmarks.metadata_load [--seconds 10] [--clients 8] [-v]``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import harness
from benchmarks.metadata_bulk import load_lineage, load_versions
from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from modelregistry.v1 import resources_pb2
from services.metadata.app import migrate

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p90/p99/max of latencies, in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": at(1.0)}


class Server:
    """The metadata service as a subprocess on a free port."""

    def __init__(self, database_url: str, workers: int) -> None:
        self.port = harness.free_port()
        self.address = f"127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MREG_MAX_WORKERS": str(workers),
            "PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}",
            "MREG_DATABASE_URL": database_url,
            "MREG_METADATA_LISTEN": self.address,
            "MREG_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen([sys.executable, "-m", "services.metadata"], env=env)
        self.ps = psutil.Process(self.proc.pid)
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 30
            while True:
                try:
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    break
                except grpc.RpcError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise RuntimeError("metadata server did not start") from None
                    time.sleep(0.2)

    def cpu(self) -> float:
        """CPU seconds the server process has used."""
        times = self.ps.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Servers:
    """One or more server processes on one database; clients balance round-robin over them
    (the service is stateless, so this is its scale-out on one machine)."""

    def __init__(self, database_url: str, workers: int, count: int) -> None:
        self.members: list[Server] = []
        try:
            for _ in range(count):
                self.members.append(Server(database_url, workers))
        except BaseException:
            self.stop()
            raise
        ports = ",".join(f"127.0.0.1:{m.port}" for m in self.members)
        self.address = f"ipv4:{ports}"

    def channel(self) -> grpc.Channel:
        """A client channel spreading calls over every member."""
        return grpc.insecure_channel(self.address, options=[("grpc.lb_policy_name", "round_robin")])

    def cpu(self) -> float:
        """CPU seconds of all members."""
        return sum(m.cpu() for m in self.members)

    def stop(self) -> None:
        """Stop every member."""
        for member in self.members:
            member.stop()


def load(
    server: Servers,
    clients: int,
    seconds: float,
    make_call: Callable[[int, Any], Callable[[], Any]],
) -> dict[str, Any]:
    """Run ``clients`` threads calling for ``seconds`` (after 1 s of warm-up each)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    start_barrier = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def run(i: int) -> None:
        channel = server.channel()
        call = make_call(i, channel)
        warm_until = time.monotonic() + 1.0
        while time.monotonic() < warm_until:
            call()
        start_barrier.wait()
        end = window["end"]
        mine = latencies[i]
        try:
            while True:
                t0 = time.perf_counter()
                call()
                t1 = time.perf_counter()
                mine.append(t1 - t0)
                if time.monotonic() >= end:
                    break
        except grpc.RpcError as error:
            errors.append(f"{error.code().name}: {error.details()}")
        channel.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    window["end"] = time.monotonic() + seconds + 60  # placeholder until all are warm
    time.sleep(0)
    # Everyone is warm when the barrier trips; the measured window starts then.
    window["end"] = time.monotonic() + seconds + 1.5
    start_barrier.wait()
    cpu0, t0 = server.cpu(), time.perf_counter()
    client0, pg0, machine0 = harness.cpu_seconds(), postgres_cpu(), machine_cpu()
    window["end"] = time.monotonic() + seconds
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - t0, server.cpu() - cpu0
    client, pg = harness.cpu_seconds() - client0, postgres_cpu() - pg0
    machine = machine_cpu() - machine0
    flat = [x for per in latencies for x in per]
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, first: {errors[0]}")
    return {
        "ops": len(flat),
        "ops_per_s": len(flat) / elapsed,
        "server_cpu_ms_per_op": cpu / max(1, len(flat)) * 1000,
        "client_cpu_ms_per_op": client / max(1, len(flat)) * 1000,
        "postgres_cpu_ms_per_op": pg / max(1, len(flat)) * 1000,
        "machine_busy_cores": machine / elapsed,
        "server_busy_cores": cpu / elapsed,
        **percentiles(flat),
    }


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL processes of this machine."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (all processes, all cores)."""
    times = psutil.cpu_times()
    return times.user + times.system + getattr(times, "softirq", 0) + getattr(times, "irq", 0)


def sequential(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[Any]]:
    """Latencies and results of ``repeats`` calls after 3 untimed ones."""
    for _ in range(3):
        fn()
    times, results = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        results.append(fn())
        times.append(time.perf_counter() - t0)
    return times, results


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every phase, on a fresh database that is dropped at the end."""
    admin = make_url(args.postgres_url)
    name = f"mreg_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    server = None
    try:
        migrate(url)
        server = Servers(url, args.server_workers, args.servers)
        return phases(args, server, url)
    finally:
        if server is not None:
            server.stop()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def phases(args: argparse.Namespace, server: Servers, url: str) -> dict[str, Any]:
    """The measured phases."""
    result: dict[str, Any] = {}

    def health(i: int, channel: grpc.Channel) -> Callable[[], Any]:
        stub = health_pb2_grpc.HealthStub(channel)
        return lambda: stub.Check(health_pb2.HealthCheckRequest(), timeout=10)

    logger.info("ceiling: health checks")
    result["ceiling"] = load(server, args.clients, args.seconds, health)

    def create(i: int, channel: grpc.Channel) -> Callable[[], Any]:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        rng = random.Random(i)
        model = f"models/bench-{i % args.models}"
        meta = (("x-mreg-principal", f"client-{i}"),)

        def call() -> Any:
            return stub.CreateModelVersion(
                metadata_pb2.CreateModelVersionRequest(
                    parent=model,
                    model_version=resources_pb2.ModelVersion(
                        metrics={"auc": rng.random(), "loss": rng.random()},
                        tags={"team": "risk"},
                        framework="pytorch",
                    ),
                    request_id=uuid.uuid4().hex,
                    ready=True,
                ),
                metadata=meta,
                timeout=30,
            )

        return call

    logger.info("create: %d clients on %d models", args.clients, args.models)
    result["create_version"] = load(server, args.clients, args.seconds, create)

    with server.channel() as channel:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        for m in range(args.models):
            stub.SetAlias(
                metadata_pb2.SetAliasRequest(
                    model_version=f"models/bench-{m}/versions/1.0.3", alias="champion"
                )
            )

    def resolve(i: int, channel: grpc.Channel) -> Callable[[], Any]:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        request = metadata_pb2.ResolveModelVersionRequest(
            reference=f"bench-{i % args.models}@champion"
        )
        return lambda: stub.ResolveModelVersion(request, timeout=10)

    logger.info("resolve: %d clients", args.clients)
    result["resolve_alias"] = load(server, args.clients, args.seconds, resolve)

    per_model = 1000
    logger.info("bulk load: %d versions", args.versions)
    t0 = time.perf_counter()
    loaded = load_versions(url, args.versions // per_model, per_model)
    result["bulk_load_versions"] = {"rows": loaded, "seconds": time.perf_counter() - t0}
    result["search"] = search_phase(server, args.repeats)

    logger.info("bulk load: lineage graph with about %d edges", args.edges)
    nodes = args.edges // 2 + 1
    edges = load_lineage(url, nodes, parents=2, window=1000)
    result["lineage"] = {"edges": edges, "nodes": nodes, **lineage_phase(server, nodes, args)}
    ceiling = result["ceiling"]["ops_per_s"]
    for key in ("create_version", "resolve_alias"):
        result[key]["ratio_to_ceiling"] = result[key]["ops_per_s"] / ceiling
    return result


def search_phase(server: Servers, repeats: int) -> dict[str, Any]:
    """Latency of searches over the bulk-loaded versions."""
    out: dict[str, Any] = {}
    with server.channel() as channel:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        cases = {
            "metric_filter_order_by_metric": ("metrics.auc > 0.9", "metrics.auc desc"),
            "metric_and_tag_filter_newest_first": (
                'metrics.auc > 0.5 AND tags.team = "risk"',
                "create_time desc",
            ),
            "stage_and_metric_order_by_other_metric": (
                'stage = "production" AND metrics.auc > 0.5',
                "metrics.loss",
            ),
        }
        for label, (filter_, order) in cases.items():
            request = metadata_pb2.SearchModelVersionsRequest(
                filter=filter_, order_by=order, page_size=50
            )
            times, pages = sequential(functools.partial(stub.SearchModelVersions, request), repeats)
            token = pages[-1].next_page_token
            later = metadata_pb2.SearchModelVersionsRequest(
                filter=filter_, order_by=order, page_size=50, page_token=token
            )
            times2, _ = sequential(functools.partial(stub.SearchModelVersions, later), repeats)
            out[label] = {
                "filter": filter_,
                "order_by": order,
                "first_page": percentiles(times),
                "second_page": percentiles(times2),
                "rows_per_page": len(pages[-1].model_versions),
            }
    return out


def lineage_phase(server: Servers, nodes: int, args: argparse.Namespace) -> dict[str, Any]:
    """Latency of depth-10 ancestor queries from nodes in the last tenth of the graph."""
    rng = random.Random(3)
    sizes: list[int] = []
    with server.channel() as channel:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)

        def query() -> Any:
            start = rng.randrange(nodes - nodes // 10, nodes)
            response = stub.GetLineage(
                metadata_pb2.GetLineageRequest(
                    node=resources_pb2.LineageNode(
                        type=resources_pb2.LINEAGE_NODE_TYPE_DATASET, key=f"graph-{start}@1"
                    ),
                    direction=resources_pb2.LINEAGE_DIRECTION_UP,
                    max_depth=10,
                ),
                timeout=60,
            )
            sizes.append(len(response.nodes))
            return len(response.edges)

        times, edges = sequential(query, args.repeats)
    return {
        "ancestors_depth_10": percentiles(times),
        "subgraph_nodes_median": sorted(sizes)[len(sizes) // 2],
        "subgraph_edges_median": sorted(edges)[len(edges) // 2],
    }


def main() -> None:
    """Parse arguments, run, print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("MREG_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--server-workers", type=int, default=32)
    parser.add_argument("--servers", type=int, default=1, help="server processes")
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    result = run(args)
    harness.emit(
        {
            "benchmark": "metadata_load",
            "parameters": vars(args) | {"postgres_url": "(admin url)"},
            "environment": harness.environment(),
            **result,
        }
    )


if __name__ == "__main__":
    main()
