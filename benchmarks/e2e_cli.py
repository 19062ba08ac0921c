"""``mreg push`` and ``mreg pull`` of a 1 GiB safetensors model as whole processes.

For the embedded defaults (``mreg serve``: SQLite + local files) and for PostgreSQL (the
three services as separate processes), it measures: a fresh push, a repeated push from
the same machine (hash cache), a repeated push with no cache (hash again, send nothing),
a fresh pull and a repeated pull (files present). Each run reports wall time, bytes
sent, the client's peak RSS, and the servers' CPU seconds; throughput is also given as
a ratio to the raw gRPC ceiling measured in the same run. Prints one JSON document.

    python -m benchmarks.e2e_cli [--size-mib 1024] [--backends embedded,postgres]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from benchmarks.grpc_ceiling import measure_ceiling
from benchmarks.harness import MB, PeakRss, emit, environment
from benchmarks.models import write_safetensors
from benchmarks.servers import start_embedded, start_separate

logger = logging.getLogger(__name__)
POSTGRES_ADMIN = os.environ.get(
    "MREG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _start_postgres(data: Path) -> tuple[list[subprocess.Popen], str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN)
    name = f"mreg_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = admin.set(database=name).render_as_string(hide_password=False)
    procs, address = start_separate(
        data, {"MREG_DATABASE_URL": url, "MREG_STORAGE_PATH": str(data / "artifacts")}
    )
    return procs, address, name


def _drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _server_cpu(procs: list[subprocess.Popen]) -> float:
    total = 0.0
    for proc in procs:
        times = psutil.Process(proc.pid).cpu_times()
        total += times.user + times.system
    return total


def _run_cli(args: list[str], env: dict[str, str], servers: list[subprocess.Popen]) -> dict:
    cpu_before = _server_cpu(servers)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mreg.cli", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    with PeakRss(proc.pid, interval=0.02) as rss:
        out, err = proc.communicate(timeout=1800)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"mreg {args[0]} failed: {err}")
    return {
        "wall_s": wall,
        "client_peak_rss_mb": rss.peak_bytes / MB,
        "server_cpu_s": _server_cpu(servers) - cpu_before,
        "result": json.loads(out),
    }


def _scenario(address: str, servers: list[subprocess.Popen], model: Path, tmp: Path) -> dict:
    env = {**os.environ, "MREG_GATEWAY": address}
    size = model.stat().st_size
    cache, other_cache = tmp / "cache-a", tmp / "cache-b"
    out = {}
    runs = [
        ("push_fresh", ["push", str(model), "--model", "bench"], cache),
        ("push_repeated_cached", ["push", str(model), "--model", "bench"], cache),
        ("push_repeated_no_cache", ["push", str(model), "--model", "bench"], other_cache),
        ("pull_fresh", ["pull", "bench", str(tmp / "pulled")], cache),
        ("pull_repeated", ["pull", "bench", str(tmp / "pulled")], cache),
    ]
    for label, args, cache_dir in runs:
        measured = _run_cli(args, {**env, "MREG_CACHE_DIR": str(cache_dir)}, servers)
        result = measured.pop("result")
        measured["bytes_sent"] = result.get("bytes_sent")
        measured["bytes_received"] = result.get("bytes_received")
        measured["mb_per_s"] = size / measured["wall_s"] / MB
        out[label] = measured
        logger.info("%s: %.2f s", label, measured["wall_s"])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--backends", default="embedded,postgres")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    size = args.size_mib * 1024 * 1024
    report: dict = {"benchmark": "e2e_cli", "size_bytes": size, "environment": environment()}
    with tempfile.TemporaryDirectory(prefix="mreg-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        model = write_safetensors(tmp / "model.safetensors", size, "BF16", seed=1)
        ceiling = measure_ceiling(total_bytes=size, repeats=2)
        report["ceiling_mb_s"] = {
            "upload": ceiling["upload_mb_s"]["median"],
            "download": ceiling["download_mb_s"]["median"],
        }
        for backend in args.backends.split(","):
            work = tmp / backend
            work.mkdir()
            database = None
            if backend == "embedded":
                server, address = start_embedded(work / "data")
                servers = [server]
            else:
                servers, address, database = _start_postgres(work)
            try:
                runs = _scenario(address, servers, model, work)
            finally:
                for proc in servers:
                    proc.send_signal(signal.SIGINT)
                for proc in servers:
                    proc.wait(timeout=60)
                if database:
                    _drop_database(database)
                shutil.rmtree(work, ignore_errors=True)
            runs["push_fresh"]["ratio_to_upload_ceiling"] = (
                runs["push_fresh"]["mb_per_s"] / report["ceiling_mb_s"]["upload"]
            )
            runs["pull_fresh"]["ratio_to_download_ceiling"] = (
                runs["pull_fresh"]["mb_per_s"] / report["ceiling_mb_s"]["download"]
            )
            report[backend] = runs
    emit(report)


if __name__ == "__main__":
    main()
