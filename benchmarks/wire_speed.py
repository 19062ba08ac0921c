"""Bytes at wire speed (issue 12): every transfer path as users run it, CPU per GB per side.

One run measures the raw gRPC ceilings (``benchmarks.grpc_ceiling``), then, against
``mreg serve`` (embedded defaults, local backend) in its own process, with each client a
process of its own (``mreg push``/``mreg pull``, or a plain ``UploadBlob`` client):

* ``push_fresh``: a fresh 1 GiB bf16 safetensors file (dedup path), then ``compaction``: the
  artifact service's background compression of what the push stored raw, off the request
  path (its CPU per GB from the service's own counter, and how long it took);
* ``push_no_cache``: the same file again, no hash cache (hash everything, send nothing);
* ``push_one_changed``: 1 of 8 tensors changed plus 37 header bytes;
* ``pull_cold``: into an empty directory (download, decode, verify);
* ``pull_warm``: again into the same directory (files present, verified);
* ``upload_blob``: another fresh file through plain ``UploadBlob`` (what a generated client
  in any language does: 1 MiB messages, no dedup).

Each repeat starts a fresh server; each figure is the median of the repeats: wall seconds,
MB/s, ratio to the same run's ceiling (upload or download), CPU seconds per GB of the file for
the client process and for the server process, and bytes sent/received. Prints one JSON
document.

    python -m benchmarks.wire_speed [--size-mib 1024] [--repeats 3] [-v]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil

from benchmarks.grpc_ceiling import measure_ceiling
from benchmarks.harness import MB, PeakRss, emit, environment, free_port
from benchmarks.models import write_safetensors
from benchmarks.servers import start_embedded

logger = logging.getLogger(__name__)
GB = 1_000_000_000
UPLOAD_MESSAGE = 1024 * 1024

UPLOAD_RUNS = ("push_fresh", "push_no_cache", "push_one_changed", "upload_blob")


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far."""
    process = psutil.Process(pid)
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def _run_client(argv: list[str], env: dict[str, str], server: subprocess.Popen) -> dict:
    """Run one client process; its wall time, its own CPU (rusage) and the server's."""
    server_before = _process_cpu(server.pid)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        with PeakRss(server.pid, interval=0.05) as rss:
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:5])} failed ({proc.returncode}): {stderr}")
    return {
        "wall_s": wall,
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
        "server_cpu_s": _process_cpu(server.pid) - server_before,
        "server_rss_growth_mb": rss.growth_bytes / MB,
        "result": json.loads(stdout),
    }


def _mreg(*args: str) -> list[str]:
    return [sys.executable, "-m", "mreg.cli", *args, "--json"]


def _metric(port: int, name: str) -> float:
    """The sum of a Prometheus counter's samples on the server's /metrics endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def _wait_compaction(port: int, timeout: float = 300) -> dict:
    """Wait until the compactor has compressed the push and gone quiet; its figures."""
    started = time.perf_counter()
    last, since = -1.0, time.perf_counter()
    while time.perf_counter() - started < timeout:
        chunks = _metric(port, "mreg_artifact_compacted_chunks_total")
        if chunks != last:
            last, since = chunks, time.perf_counter()
        elif chunks > 0 and time.perf_counter() - since >= 1.5:
            break
        time.sleep(0.1)
    cpu = _metric(port, "mreg_artifact_compaction_cpu_seconds_total")
    raw = _metric(port, 'mreg_artifact_compaction_bytes_total{kind="raw"}')
    stored = _metric(port, 'mreg_artifact_compaction_bytes_total{kind="stored"}')
    return {
        "wall_s": time.perf_counter() - started - 1.5,
        "cpu_s": cpu,
        "chunks": last,
        "ratio": stored / raw if raw else 1.0,
    }


def _one_repeat(files: dict[str, Path], work: Path) -> dict[str, dict]:
    metrics_port = free_port()
    server, address = start_embedded(
        work / "data", env={**os.environ, "MREG_METRICS_PORT": str(metrics_port)}
    )
    env = {**os.environ, "MREG_GATEWAY": address}
    try:
        runs: dict[str, dict] = {}

        def run(label: str, argv: list[str], cache: str) -> dict:
            measured = _run_client(argv, {**env, "MREG_CACHE_DIR": str(work / cache)}, server)
            runs[label] = measured
            logger.info("%s: %.2f s", label, measured["wall_s"])
            return measured["result"]

        pushed = run("push_fresh", _mreg("push", str(files["model"]), "--model", "bench"), "c1")
        runs["compaction"] = _wait_compaction(metrics_port)
        logger.info("compaction: %s", runs["compaction"])
        run("push_no_cache", _mreg("push", str(files["model"]), "--model", "bench"), "c2")
        run("push_one_changed", _mreg("push", str(files["changed"]), "--model", "bench"), "c3")
        reference = f"bench:{pushed['version']}"
        run("pull_cold", _mreg("pull", reference, str(work / "pulled")), "c1")
        run("pull_warm", _mreg("pull", reference, str(work / "pulled")), "c1")
        run(
            "upload_blob",
            [
                sys.executable,
                "-m",
                "benchmarks.wire_speed",
                "--upload-blob",
                address,
                str(files["plain"]),
            ],
            "c4",
        )
        return runs
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def upload_blob(address: str, path: Path) -> None:
    """The plain streaming path as a generated client would use it; prints the JSON answer."""
    from modelregistry.v1 import artifacts_pb2
    from mreg.client import Client

    with Client(address) as client:

        def requests() -> Iterator[artifacts_pb2.UploadBlobRequest]:
            header = artifacts_pb2.UploadHeader(upload_id=uuid.uuid4().hex)
            yield artifacts_pb2.UploadBlobRequest(header=header)
            with open(path, "rb") as handle:
                while data := handle.read(UPLOAD_MESSAGE):
                    yield artifacts_pb2.UploadBlobRequest(data=data)
            yield artifacts_pb2.UploadBlobRequest(finish=artifacts_pb2.UploadFinish())

        response = client.artifacts.UploadBlob(requests(), timeout=3600)
    print(json.dumps({"bytes_sent": response.committed_size, "complete": response.complete}))


def _figures(samples: list[dict], size: int, ceiling: float) -> dict:
    def median(key: str) -> float:
        return statistics.median(s[key] for s in samples)

    wall = median("wall_s")
    results = [s["result"] for s in samples]
    return {
        "wall_s": round(wall, 3),
        "wall_s_all": [round(s["wall_s"], 3) for s in samples],
        "mb_per_s": round(size / MB / wall, 1),
        "ratio_to_ceiling": round(size / MB / wall / ceiling, 3),
        "client_cpu_s_per_gb": round(median("client_cpu_s") / (size / GB), 3),
        "server_cpu_s_per_gb": round(median("server_cpu_s") / (size / GB), 3),
        "server_rss_growth_mb": round(median("server_rss_growth_mb"), 1),
        "bytes_sent": statistics.median(r.get("bytes_sent", 0) for r in results),
        "bytes_received": statistics.median(r.get("bytes_received", 0) for r in results),
        "n": len(samples),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work-dir", default=None, help="where the files go (a temp dir)")
    parser.add_argument(
        "--upload-blob", nargs=2, metavar=("ADDRESS", "FILE"), help=argparse.SUPPRESS
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.upload_blob:
        upload_blob(args.upload_blob[0], Path(args.upload_blob[1]))
        return
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    size = args.size_mib * 1024 * 1024
    report: dict = {
        "benchmark": "wire_speed",
        "size_bytes": size,
        "repeats": args.repeats,
        "environment": environment(),
        "load_average_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="mreg-wire-", dir=args.work_dir) as tmp_name:
        tmp = Path(tmp_name)
        files = {
            "model": write_safetensors(tmp / "model.safetensors", size, "BF16", seed=1),
            "changed": write_safetensors(
                tmp / "changed.safetensors", size, "BF16", seed=1, changed=3, extra_header=37
            ),
            "plain": write_safetensors(tmp / "plain.safetensors", size, "BF16", seed=2),
        }
        ceiling = measure_ceiling(total_bytes=size, repeats=args.repeats)
        up, down = ceiling["upload_mb_s"]["median"], ceiling["download_mb_s"]["median"]
        report["ceiling"] = {
            "upload_mb_s": round(up, 1),
            "download_mb_s": round(down, 1),
            "upload_cpu_s_per_gb_both_ends": round(
                ceiling["upload_cpu_seconds"]["median"] / (size / GB), 3
            ),
            "download_cpu_s_per_gb_both_ends": round(
                ceiling["download_cpu_seconds"]["median"] / (size / GB), 3
            ),
        }
        repeats = []
        for i in range(args.repeats):
            work = tmp / f"run{i}"
            work.mkdir()
            try:
                repeats.append(_one_repeat(files, work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
        compaction = [r.pop("compaction") for r in repeats]
        report["compaction"] = {
            "wall_s": round(statistics.median(c["wall_s"] for c in compaction), 3),
            "cpu_s_per_gb": round(
                statistics.median(c["cpu_s"] for c in compaction) / (size / GB), 3
            ),
            "stored_to_raw": round(statistics.median(c["ratio"] for c in compaction), 3),
            "chunks": statistics.median(c["chunks"] for c in compaction),
        }
        for label in repeats[0]:
            report[label] = _figures(
                [r[label] for r in repeats], size, up if label in UPLOAD_RUNS else down
            )
    report["load_average_end"] = os.getloadavg()
    emit(report)


if __name__ == "__main__":
    main()
