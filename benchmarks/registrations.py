"""Registration throughput and p99 through the gateway on PostgreSQL, as versions pile up.

Starts the three services as separate processes (``benchmarks.servers.start_separate``) on
two fresh PostgreSQL databases on the server named by ``--postgres`` (one for metadata, one
for the artifact service's index, ``MREG_ARTIFACTS_DATABASE_URL``; code that has no index
ignores it) and a local artifact directory. It uploads one small blob that every version
shares, then registers, from ``--clients`` threads (one channel each), explicit versions of
one model:

* ``first``: the first ``--measure`` versions (the blob has no pins yet);
* then ``--versions`` more, as fast as they go (``fill``: throughput only);
* ``after``: ``--measure`` more of the same model and blob, now pinned by all the others;
* ``after_same_model_fresh_blob``: ``--measure`` more of the same model, each with a blob
  of its own (no pins): a slowdown here comes from the model's number of versions;
* ``after_fresh_blob``: ``--measure`` versions of a new model, each with a blob of its own.

Prints one JSON document: per case registrations per second, p50/p99/max in milliseconds,
and ``after`` / ``first`` ratios.

    python -m benchmarks.registrations [--versions 10000] [--measure 1000] [--clients 8]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import grpc
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from benchmarks.harness import emit, environment
from benchmarks.servers import start_separate

logger = logging.getLogger(__name__)

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _create_databases(admin_url: str, count: int) -> tuple[list[str], tuple[Engine, list[str]]]:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    names = [f"mreg_bench_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    with engine.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = make_url(admin_url)
    urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
    return urls, (engine, names)


def _drop_databases(handle: tuple[Engine, list[str]]) -> None:
    engine, names = handle
    with engine.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _upload(address: str, data: bytes):
    from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, registry_pb2, registry_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        info = registry_pb2_grpc.RegistryServiceStub(channel).GetServerInfo(
            registry_pb2.GetServerInfoRequest(), timeout=10
        )
    with grpc.insecure_channel(info.artifact_service_address) as channel:
        stub = artifacts_pb2_grpc.ArtifactServiceStub(channel)
        requests = [
            artifacts_pb2.UploadBlobRequest(
                header=artifacts_pb2.UploadHeader(upload_id=str(uuid.uuid4()))
            ),
            artifacts_pb2.UploadBlobRequest(data=data),
            artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish()),
        ]
        return stub.UploadBlob(iter(requests), timeout=30).blob.digest


def _call_retrying(stub, request, retried: list[str], attempts: int = 60) -> None:
    """RegisterModelVersion, again with the same request id on UNAVAILABLE (the shared
    PostgreSQL of this machine is sometimes restarted by other tests): the time of a retried
    call includes the outage, and the count is reported."""
    for attempt in range(attempts):
        try:
            stub.RegisterModelVersion(request, timeout=60)
            return
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts - 1:
                raise
            retried.append(error.details())
            time.sleep(0.5)


def _register(address: str, model: str, versions: list[str], digests: list, clients: int):
    """Register ``versions`` (with ``digests``) from ``clients`` threads; (seconds each,
    wall seconds)."""
    from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

    latencies: list[float] = []
    retried: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    work = list(zip(versions, digests, strict=True))
    channels = [grpc.insecure_channel(address) for _ in range(clients)]
    stubs = [registry_pb2_grpc.RegistryServiceStub(c) for c in channels]
    for stub in stubs:  # connect before timing
        stub.GetServerInfo(registry_pb2.GetServerInfoRequest(), timeout=10)

    def run(stub, items) -> None:
        mine = []
        try:
            for version, digest in items:
                request = registry_pb2.RegisterModelVersionRequest(
                    parent=f"models/{model}",
                    model_version=resources_pb2.ModelVersion(
                        version=version, artifact_digest=digest
                    ),
                    request_id=str(uuid.uuid4()),
                )
                started = time.perf_counter()
                _call_retrying(stub, request, retried)
                mine.append(time.perf_counter() - started)
        except BaseException as error:  # reported after the join
            errors.append(error)
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=run, args=(stubs[i], work[i::clients])) for i in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for channel in channels:
        channel.close()
    if errors:
        raise errors[0]
    if retried:
        logger.warning("%d registrations retried after UNAVAILABLE: %s", len(retried), retried[0])
    return latencies, wall, len(retried)


def _figures(latencies: list[float], wall: float, retried: int) -> dict[str, float | int]:
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "retried_unavailable": retried,
        "per_second": len(ordered) / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000, help="versions sharing the blob")
    parser.add_argument("--measure", type=int, default=1000, help="timed registrations per case")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of PostgreSQL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    urls, handle = _create_databases(args.postgres, 2)
    procs: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mreg-bench-reg-") as tmp:
            procs, address = start_separate(
                Path(tmp),
                env={"MREG_DATABASE_URL": urls[0], "MREG_ARTIFACTS_DATABASE_URL": urls[1]},
            )
            shared = _upload(address, b"a config file every version shares\n")
            result: dict[str, object] = {}
            figures: dict[str, dict[str, float | int]] = {}

            def case(name: str, model: str, start: int, count: int, digests=None) -> None:
                versions = [f"1.0.{i}" for i in range(start, start + count)]
                latencies, wall, retried = _register(
                    address, model, versions, digests or [shared] * count, args.clients
                )
                result[name] = figures[name] = _figures(latencies, wall, retried)
                logger.info("%s: %s", name, figures[name])

            m = args.measure
            case("first", "shared", 0, m)
            fill = max(0, args.versions - m)
            case("fill", "shared", m, fill)
            case("after", "shared", m + fill, m)
            fresh = [_upload(address, f"fresh blob {i}\n".encode()) for i in range(2 * m)]
            case("after_same_model_fresh_blob", "shared", 2 * m + fill, m, fresh[:m])
            case("after_fresh_blob", "control", 0, m, fresh[m:])
            first, after = figures["first"], figures["after"]
            result["after_over_first"] = {
                "per_second": after["per_second"] / first["per_second"],
                "p99_ms": after["p99_ms"] / first["p99_ms"],
            }
            emit(
                {
                    "benchmark": "registrations",
                    "clients": args.clients,
                    "versions_sharing_blob_before_after": m + fill,
                    "cases": result,
                    "environment": environment(),
                }
            )
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        _drop_databases(handle)


if __name__ == "__main__":
    main()
