"""Webhook deliveries: latency from commit to a local receiver, and deliveries per second.

Starts ``mreg serve`` (SQLite + local files, private targets allowed) in a subprocess and
an HTTP receiver in this process on loopback, subscribes ``--webhooks`` webhooks to
``alias.set`` events, then:

* **latency**: ``--events`` commits one at a time (each ``SetAlias``, one event), each
  followed by a wait until every webhook received it; a sample is the receipt time minus
  the time the commit call returned (the commit happened before it), per delivery.
* **throughput**: ``--burst`` commits as fast as one client makes them; deliveries per
  second from the first commit to the last receipt of ``burst * webhooks`` deliveries.

    python -m benchmarks.webhooks [--webhooks 100] [--events 20] [--burst 50] [-v]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.harness import emit, environment
from benchmarks.servers import start_embedded

logger = logging.getLogger(__name__)


class _Receiver:
    """Records (receipt time, delivery id, subject) of every POST and answers 204."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str, str]] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.time()
                subject = json.loads(body)["subject"]
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver.changed:
                    receiver.received.append((at, self.headers["webhook-id"], subject))
                    receiver.changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} deliveries arrived")
                self.changed.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(webhooks: int, events: int, burst: int) -> dict[str, Any]:
    from modelregistry.v1 import registry_pb2
    from mreg.client import Client

    receiver = _Receiver()
    with tempfile.TemporaryDirectory(prefix="mreg-bench-webhooks-") as tmp:
        env = {**os.environ, "MREG_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"}
        proc, address = start_embedded(Path(tmp) / "data", env=env)
        try:
            with Client(address) as client:
                model = Path(tmp) / "model.bin"
                model.write_bytes(os.urandom(4096))
                version = client.push(model, model="bench", version="1.0.0", use_cache=False)
                for _ in range(webhooks):
                    client.create_webhook(receiver.url, ["alias.set"])

                def commit(alias: str) -> float:
                    client._unary(
                        "SetAlias",
                        registry_pb2.SetAliasRequest(
                            model_version=version.version.name, alias=alias
                        ),
                    )
                    return time.time()

                committed: dict[str, float] = {}
                for i in range(events):
                    alias = f"lat{i}"
                    committed[f"models/bench/aliases/{alias}"] = commit(alias)
                    receiver.wait_for((i + 1) * webhooks)
                latencies = [at - committed[subject] for at, _, subject in receiver.received]
                logger.info("latency phase: %d deliveries", len(latencies))
                before = len(receiver.received)
                start = time.time()
                for i in range(burst):
                    commit(f"burst{i}")
                commits_done = time.time()
                receiver.wait_for(before + burst * webhooks)
                elapsed = max(at for at, _, _ in receiver.received) - start
                ids = [delivery for _, delivery, _ in receiver.received]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            receiver.close()
    return {
        "benchmark": "webhooks",
        "environment": environment(),
        "webhooks": webhooks,
        "latency_events": events,
        "latency_seconds": {
            "p50": round(_percentile(latencies, 0.50), 4),
            "p99": round(_percentile(latencies, 0.99), 4),
            "max": round(max(latencies), 4),
            "n": len(latencies),
        },
        "throughput": {
            "events": burst,
            "deliveries": burst * webhooks,
            "seconds": round(elapsed, 3),
            "deliveries_per_second": round(burst * webhooks / elapsed, 1),
            "commit_seconds": round(commits_done - start, 3),
        },
        "duplicates": len(ids) - len(set(ids)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=100)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    emit(run(args.webhooks, args.events, args.burst))


if __name__ == "__main__":
    main()
