"""The raw gRPC streaming ceiling on loopback: what the transport alone can move.

A server in this process registers two GENERIC handlers whose messages are plain bytes (no
protobuf, no serializers on either side):

* ``Upload`` (client streaming): the client sends ``total_bytes`` in ``message_bytes`` messages;
  the server only counts them and answers with the count.
* ``Download`` (server streaming): the client asks for ``total_bytes`` in ``message_bytes``
  messages; the server yields one pre-allocated bytes object again and again; the client counts.

Both directions check that the bytes counted equal the bytes asked for and raise
:class:`ByteCountMismatch` otherwise. Upload and download runs are interleaved so that drift in
the (shared, noisy) machine affects both alike. Later benchmarks call :func:`measure_ceiling` in
the same run and report their own throughput as a ratio to it.

Run: ``python -m benchmarks.grpc_ceiling [--size-mib 1024] [--message-kib 1024] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import logging
import struct
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc

from benchmarks import harness

logger = logging.getLogger(__name__)

SERVICE = "benchmarks.Ceiling"
UPLOAD_METHOD = f"/{SERVICE}/Upload"
DOWNLOAD_METHOD = f"/{SERVICE}/Download"

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Send and receive limit on both sides; a message must also leave room for framing."""

GRPC_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]

DEFAULT_TOTAL_BYTES = 1024 * 1024 * 1024
DEFAULT_MESSAGE_BYTES = 1024 * 1024
DEFAULT_REPEATS = 3

_DOWNLOAD_REQUEST = struct.Struct("!QQ")  # total bytes, message bytes
_COUNT = struct.Struct("!Q")


class ByteCountMismatch(RuntimeError):
    """The bytes that arrived differ from the bytes that were asked for."""


def _chunks(total_bytes: int, payload: bytes) -> Iterator[bytes]:
    """``payload`` repeated until ``total_bytes`` are covered; the last one cut to fit."""
    size = len(payload)
    full, rest = divmod(total_bytes, size)
    for _ in range(full):
        yield payload
    if rest:
        yield payload[:rest]


def _upload_messages(total_bytes: int, payload: bytes) -> Iterator[bytes]:
    """Messages the client sends in one upload (a seam for tests)."""
    return _chunks(total_bytes, payload)


def _download_messages(total_bytes: int, payload: bytes) -> Iterator[bytes]:
    """Messages the server yields for one download (a seam for tests)."""
    return _chunks(total_bytes, payload)


def _upload_handler(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    received = 0
    for message in requests:
        received += len(message)
    return _COUNT.pack(received)


def _download_handler(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    total_bytes, message_bytes = _DOWNLOAD_REQUEST.unpack(request)
    payload = bytes(message_bytes)  # Allocated once, yielded over and over.
    yield from _download_messages(total_bytes, payload)


def _generic_handler() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Upload": grpc.stream_unary_rpc_method_handler(
                _upload_handler, request_deserializer=None, response_serializer=None
            ),
            "Download": grpc.unary_stream_rpc_method_handler(
                _download_handler, request_deserializer=None, response_serializer=None
            ),
        },
    )


class CeilingServer:
    """The bytes-only server on ``127.0.0.1`` at a port chosen by the kernel."""

    def __init__(self, max_workers: int = 4) -> None:
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers), options=GRPC_OPTIONS
        )
        self._server.add_generic_rpc_handlers((_generic_handler(),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        if not self.port:
            raise RuntimeError("could not bind a loopback port")

    @property
    def target(self) -> str:
        """Address a client channel should connect to."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> CeilingServer:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop(grace=None).wait()


class CeilingClient:
    """Upload and download calls over one channel, messages as raw bytes."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._upload = channel.stream_unary(UPLOAD_METHOD)
        self._download = channel.unary_stream(DOWNLOAD_METHOD)

    def upload(self, total_bytes: int, message_bytes: int) -> int:
        """Send ``total_bytes``; return the count the server received (checked)."""
        payload = bytes(message_bytes)
        reply = self._upload(_upload_messages(total_bytes, payload))
        (received,) = _COUNT.unpack(reply)
        _check("upload", total_bytes, received)
        return received

    def download(self, total_bytes: int, message_bytes: int) -> int:
        """Receive ``total_bytes``; return the count that arrived (checked)."""
        received = 0
        for message in self._download(_DOWNLOAD_REQUEST.pack(total_bytes, message_bytes)):
            received += len(message)
        _check("download", total_bytes, received)
        return received


def _check(direction: str, expected: int, received: int) -> None:
    if received != expected:
        raise ByteCountMismatch(f"{direction}: asked for {expected} bytes, {received} arrived")


def _validate(total_bytes: int, message_bytes: int, repeats: int, warmup: int) -> None:
    if total_bytes < 1:
        raise ValueError("total_bytes must be positive")
    # A gRPC message carries a 5-byte frame header within the limit; leave a little more.
    if not 1 <= message_bytes <= MAX_MESSAGE_BYTES - 1024:
        raise ValueError(f"message_bytes must be between 1 and {MAX_MESSAGE_BYTES - 1024}")
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if warmup < 0:
        raise ValueError("warmup must not be negative")


def measure_ceiling(
    total_bytes: int = DEFAULT_TOTAL_BYTES,
    message_bytes: int = DEFAULT_MESSAGE_BYTES,
    repeats: int = DEFAULT_REPEATS,
    warmup: int = 1,
) -> dict[str, Any]:
    """Measure raw loopback upload and download throughput of the sync gRPC API.

    After ``warmup`` untimed rounds, ``repeats`` rounds each run one upload then one download
    of ``total_bytes`` in ``message_bytes`` messages. Every transfer's byte count is checked
    (:class:`ByteCountMismatch` if wrong).

    Returns ``upload_mb_s`` and ``download_mb_s`` summaries (min/median/max/n, MB = 10^6
    bytes), wall seconds and process CPU seconds per run (client and server share this
    process), the parameters, and ``bytes_per_run`` actually transferred.
    """
    _validate(total_bytes, message_bytes, repeats, warmup)
    seconds: dict[str, list[float]] = {"upload": [], "download": []}
    cpu: dict[str, list[float]] = {"upload": [], "download": []}
    with (
        CeilingServer() as server,
        grpc.insecure_channel(server.target, options=GRPC_OPTIONS) as channel,
    ):
        grpc.channel_ready_future(channel).result(timeout=10)
        client = CeilingClient(channel)
        runs = {"upload": client.upload, "download": client.download}
        for round_index in range(warmup + repeats):
            for direction, run in runs.items():
                cpu_start = harness.cpu_seconds()
                start = time.perf_counter()
                run(total_bytes, message_bytes)
                elapsed = time.perf_counter() - start
                cpu_used = harness.cpu_seconds() - cpu_start
                if round_index < warmup:
                    logger.info("warm-up %s: %.3f s", direction, elapsed)
                    continue
                seconds[direction].append(elapsed)
                cpu[direction].append(cpu_used)
                logger.info(
                    "%s %d/%d: %.3f s, %.0f MB/s, %.2f CPU s",
                    direction,
                    round_index - warmup + 1,
                    repeats,
                    elapsed,
                    harness.mb_per_s(total_bytes, elapsed),
                    cpu_used,
                )
    result: dict[str, Any] = {
        "parameters": {
            "total_bytes": total_bytes,
            "message_bytes": message_bytes,
            "repeats": repeats,
            "warmup": warmup,
            "api": "sync",
            "transport": "loopback tcp, insecure",
        },
        "bytes_per_run": total_bytes,
    }
    for direction in runs:
        result[f"{direction}_mb_s"] = harness.summary(
            [harness.mb_per_s(total_bytes, s) for s in seconds[direction]]
        )
        result[f"{direction}_seconds"] = harness.summary(seconds[direction])
        result[f"{direction}_cpu_seconds"] = harness.summary(cpu[direction])
    return result


def main(argv: list[str] | None = None) -> None:
    """Command line entry point: measure and emit one JSON document."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.grpc_ceiling", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--size-mib", type=int, default=DEFAULT_TOTAL_BYTES // 2**20)
    parser.add_argument("--message-kib", type=int, default=DEFAULT_MESSAGE_BYTES // 2**10)
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("-v", "--verbose", action="store_true", help="log each run to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    result = measure_ceiling(
        total_bytes=args.size_mib * 2**20,
        message_bytes=args.message_kib * 2**10,
        repeats=args.repeats,
        warmup=args.warmup,
    )
    result["benchmark"] = "grpc_ceiling"
    result["environment"] = harness.environment()
    harness.emit(result)


if __name__ == "__main__":
    main()
