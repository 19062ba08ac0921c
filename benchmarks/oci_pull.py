"""Pull of a single-file version through the OCI endpoint, beside ``mreg pull``.

One ``mreg serve`` (SQLite + local files) holds a 1 GiB bf16 safetensors version pushed with
``mreg push``. Interleaved, each ``--repeats`` times after a warm-up, it measures:

- ``mreg_pull``: ``mreg pull`` (gRPC, verified) into a fresh directory;
- ``skopeo_copy``: ``skopeo copy docker://.../bench:1.0.0 oci:DIR`` (verifies the digest);
- ``curl``: ``curl -L`` of ``/v2/bench/blobs/sha256:...`` (the 307 to the artifact route
  followed) into a file;
- ``http_ceiling``: ``curl`` of the same number of bytes from a bare Starlette/uvicorn app
  streaming one in-memory 1 MiB buffer: what this HTTP stack can do with no registry code.

Each figure is MB/s (10^6 bytes/s) and a ratio to the HTTP ceiling of the same run, with the
CPU seconds per GB of the client (the child process) and of the server (``mreg serve``).

    python -m benchmarks.oci_pull [--size-mib 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from benchmarks.harness import MB, cpu_seconds, emit, environment, free_port, summary
from benchmarks.models import write_safetensors
from benchmarks.servers import start_embedded

logger = logging.getLogger(__name__)
PIECE = 1024 * 1024


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    proc = psutil.Process(pid)
    total = proc.cpu_times().user + proc.cpu_times().system
    return total


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr[-2000:]}")


def _measure(run: Callable[[], None], server_pid: int | None) -> dict[str, float]:
    """Wall time, the client's CPU (the child process) and the server's: ``server_pid``'s,
    or this process's own (the in-process ceiling server) when it is None."""

    def server_cpu() -> float:
        return _process_cpu(server_pid) if server_pid else cpu_seconds()

    server_before = server_cpu()
    client_before = _children_cpu()
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "client_cpu_s": _children_cpu() - client_before,
        "server_cpu_s": server_cpu() - server_before,
    }


def _ceiling_app(total: int):
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    buffer = os.urandom(PIECE)

    def body() -> Iterator[bytes]:
        left = total
        while left > 0:
            yield buffer[: min(PIECE, left)]
            left -= PIECE

    def blob(_request):
        return StreamingResponse(body(), headers={"Content-Length": str(total)})

    return Starlette(routes=[Route("/blob", blob)])


def _figures(runs: list[dict[str, float]], size: int) -> dict:
    gb = size / 1e9
    return {
        "mb_per_s": summary([size / MB / r["wall_s"] for r in runs]),
        "wall_s": summary([r["wall_s"] for r in runs]),
        "client_cpu_s_per_gb": summary([r["client_cpu_s"] / gb for r in runs]),
        "server_cpu_s_per_gb": summary([r["server_cpu_s"] / gb for r in runs]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    skopeo, curl = shutil.which("skopeo"), shutil.which("curl")
    if not skopeo or not curl:
        raise SystemExit("oci_pull needs skopeo and curl (apt-get install -y skopeo curl)")
    from services.common.http import start_http

    size = args.size_mib * 1024 * 1024
    report: dict = {"benchmark": "oci_pull", "size_bytes": size, "environment": environment()}
    with tempfile.TemporaryDirectory(prefix="mreg-oci-") as tmp_name:
        tmp = Path(tmp_name)
        model = write_safetensors(tmp / "model.safetensors", size, "BF16", seed=1)
        sha = hashlib.sha256(model.read_bytes()).hexdigest()
        size = model.stat().st_size  # the header comes on top of the weights
        report["size_bytes"] = size
        http_port = free_port()
        server, gateway = start_embedded(tmp / "data", http_port=http_port)
        ceiling = start_http(_ceiling_app(size), "127.0.0.1:0", name="ceiling")  # same bytes
        host = f"127.0.0.1:{http_port}"
        env = {**os.environ, "MREG_GATEWAY": gateway, "MREG_CACHE_DIR": str(tmp / "cache")}
        try:
            push = ["push", str(model), "--model", "bench", "--version", "1.0.0"]
            _run([sys.executable, "-m", "mreg.cli", *push], env)
            model.unlink()  # leave the page cache to the registry's copy
            out = tmp / "out"

            def fresh() -> Path:
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                return out

            def mreg_pull() -> None:
                command = ["pull", "bench:1.0.0", str(fresh())]
                _run([sys.executable, "-m", "mreg.cli", *command], env)

            def skopeo_copy() -> None:
                source = f"docker://{host}/bench:1.0.0"
                target = f"oci:{fresh() / 'layout'}:bench"
                flags = ["--insecure-policy", "copy", "--src-tls-verify=false"]
                _run([skopeo, *flags, source, target])

            def curl_blob(url: str, follow: bool) -> None:
                target = fresh() / "blob"
                _run([curl, "-sSfL" if follow else "-sSf", "-o", str(target), url])
                if target.stat().st_size != size:
                    raise RuntimeError(f"{url} gave {target.stat().st_size} bytes, not {size}")

            cases: dict[str, Callable[[], None]] = {
                "mreg_pull": mreg_pull,
                "skopeo_copy": skopeo_copy,
                "curl": lambda: curl_blob(f"http://{host}/v2/bench/blobs/sha256:{sha}", True),
                "http_ceiling": lambda: curl_blob(f"{ceiling.url}/blob", False),
            }
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
            for round_ in range(args.repeats + 1):  # round 0 warms up
                for name, run in cases.items():
                    pid = None if name == "http_ceiling" else server.pid
                    measured = _measure(run, pid)
                    logger.info("%s round %d: %.2f s", name, round_, measured["wall_s"])
                    if round_:
                        runs[name].append(measured)
        finally:
            ceiling.stop()
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    results = {name: _figures(samples, size) for name, samples in runs.items()}
    top = results["http_ceiling"]["mb_per_s"]["median"]
    for figures in results.values():
        figures["ratio_to_http_ceiling"] = figures["mb_per_s"]["median"] / top
    report["results"] = results
    report["parameters"] = {"repeats": args.repeats, "warmup": 1}
    emit(report)


if __name__ == "__main__":
    main()
