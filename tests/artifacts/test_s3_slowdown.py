"""S3 answering 503 SlowDown: retried with backoff, and bounded; nothing half-written.

A small HTTP forwarder stands between the artifact service and moto's S3 server and answers
SlowDown (503, S3's throttling error) instead of forwarding, by a rule the test sets: every
first attempt of a PUT (the service must retry each write and succeed), or every PUT (the
service must give up within botocore's bounded retries and answer UNAVAILABLE, leaving no
blob and no chunk recorded).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import grpc
import pytest

from modelregistry.v1 import artifacts_pb2
from services.artifacts.app import bindings_for
from services.common.settings import Settings
from tests.artifacts.helpers import Client, chunk_digest_of, digest_of, error_of, random_bytes
from tests.artifacts.helpers import service_of as make_service

MIB = 1024 * 1024
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class Throttle:
    """Forwards HTTP to ``target``; ``refuse(method, path, attempt)`` decides a SlowDown."""

    def __init__(self, target: str, refuse: Callable[[str, str, int], bool]) -> None:
        parts = urlsplit(target)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.refuse = refuse
        self.attempts: dict[tuple[str, str], int] = {}
        self.refused = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        throttle = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with throttle._lock:
                    key = (self.command, self.path)
                    attempt = throttle.attempts[key] = throttle.attempts.get(key, 0) + 1
                    refuse = throttle.refuse(self.command, self.path, attempt)
                    throttle.refused += refuse
                if refuse:
                    self._answer(503, {"Content-Type": "application/xml"}, SLOW_DOWN)
                    return
                upstream = http.client.HTTPConnection(*throttle.upstream, timeout=30)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "expect")
                    }
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    self._answer(answer.status, dict(answer.getheaders()), data)
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def throttled(
    request: pytest.FixtureRequest, s3_endpoint: str, s3_bucket: str, tmp_path, start_server
) -> Iterator[tuple[object, Client, Throttle]]:
    throttle = Throttle(s3_endpoint, request.param)
    settings = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=s3_bucket,
        s3_endpoint_url=throttle.url,
    )
    service = make_service(settings, compact=False)
    client = Client(start_server(*bindings_for(service)))
    try:
        yield service, client, throttle
    finally:
        client.close()
        service.close()
        throttle.close()


def _first_put_attempts(method: str, path: str, attempt: int) -> bool:
    return method == "PUT" and attempt == 1


def _every_chunk_put(method: str, path: str, attempt: int) -> bool:
    return method == "PUT" and "/chunks/" in path


@pytest.mark.parametrize("throttled", [_first_put_attempts], indirect=True)
def test_every_write_throttled_once_is_retried_and_the_push_succeeds(throttled) -> None:
    _service, client, throttle = throttled
    data = random_bytes(4 * MIB, seed=91)
    committed = client.push_dedup(data)
    assert committed.blob.digest == digest_of(data)
    assert throttle.refused >= 4  # every chunk's PUT (and the manifest's) was refused once
    assert client.read(digest_of(data)) == data


@pytest.mark.parametrize("throttled", [_every_chunk_put], indirect=True)
def test_a_bucket_that_keeps_throttling_is_unavailable_in_bounded_time_and_nothing_is_recorded(
    throttled,
) -> None:
    service, client, throttle = throttled
    data = random_bytes(2 * MIB, seed=92)
    started = time.monotonic()
    error = error_of(lambda: client.push_dedup(data))
    elapsed = time.monotonic() - started
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
    assert "SlowDown" in error.details()
    # botocore's standard retries (services.artifacts.backends.s3: max_attempts 5): the
    # first attempt and 5 retries a write, with exponential backoff and jitter; the stream
    # gives up at the first chunk that cannot be written.
    assert elapsed < 60
    attempts = [n for (_, path), n in throttle.attempts.items() if "/chunks/" in path]
    assert attempts and max(attempts) == 6
    assert service.chunks.index.count() == 0
    stat = error_of(
        lambda: client.stub.StatBlob(artifacts_pb2.StatBlobRequest(digest=digest_of(data)))
    )
    assert stat.code() == grpc.StatusCode.NOT_FOUND
    refused_chunk = next(path for _, path in throttle.attempts if "/chunks/" in path)
    probe = chunk_digest_of(refused_chunk.rsplit("/", 1)[-1], 1)  # a SHA-256 id: its hex
    missing = client.stub.FindMissingChunks(
        artifacts_pb2.FindMissingChunksRequest(digests=[probe])
    ).missing_digests
    assert len(missing) == 1
