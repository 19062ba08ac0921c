"""Fixtures shared by the whole suite: real PostgreSQL, a real S3 endpoint, free ports.

PostgreSQL: a fresh database is created for the test session on the server named by
``MREG_TEST_POSTGRES_URL`` (default: the local trust-auth server) and dropped at the end.
When it cannot be reached the PostgreSQL half of the suite is skipped, except under
``CI=true``, where that is a failure.

S3: moto's server mode is started as a subprocess on a free loopback port and boto3 is
pointed at it over HTTP; each test gets a bucket of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() == "true"

# A suite started in the background by a non-interactive shell (`.ci/run &`) inherits
# SIGINT ignored, and so would every CLI process it starts (an ignored signal survives
# exec, and Python then installs no Ctrl-C handler): the Ctrl-C tests need the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_admin_url() -> URL:
    """URL of a database on the test server with the right to create databases."""
    return make_url(os.environ.get("MREG_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_database_factory(postgres_admin_url: URL) -> Iterator[Callable[[], str]]:
    """Creates fresh, empty databases on demand; all are dropped at the end of the session."""
    # No pooling: a test may restart PostgreSQL, which would break a pooled connection.
    engine = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        engine.dispose()
        _unavailable(f"PostgreSQL at {postgres_admin_url.render_as_string()} unreachable: {error}")
    created: list[str] = []

    def create() -> str:
        name = f"mreg_test_{uuid.uuid4().hex[:12]}"
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return postgres_admin_url.set(database=name).render_as_string(hide_password=False)

    yield create
    with engine.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url(postgres_database_factory: Callable[[], str]) -> str:
    """URL of the fresh database created for this test session."""
    return postgres_database_factory()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL database (one per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}"
    factory = request.getfixturevalue("postgres_database_factory")
    return factory()


# --------------------------------------------------------------------------- S3 (moto)


def start_moto(port: int, log_path: Path) -> subprocess.Popen:
    """moto's S3 server as a subprocess on ``127.0.0.1:port``, once it accepts connections.

    Its request log goes to ``log_path``: a pipe nobody reads would fill up and stall it.
    """
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                output = log_path.read_text(errors="replace")[-2000:]
                _unavailable(f"moto S3 server did not start on port {port}: {output}")
            time.sleep(0.1)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto S3 server running as a subprocess on loopback."""
    port = free_port()
    proc = start_moto(port, tmp_path_factory.mktemp("moto") / "moto.log")
    yield f"http://127.0.0.1:{port}"
    stop_process(proc)


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket on the moto endpoint; credentials set for boto3."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"mreg-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------------- gRPC servers


@pytest.fixture
def start_server() -> Iterator[Callable[..., str]]:
    """Starts servers on ``127.0.0.1:0`` from service bindings; returns ``host:port``.

    Every server started through it is stopped when the test ends.
    """
    from services.common.server import build_server

    running = []

    def start(*bindings: object, max_workers: int = 16) -> str:
        server = build_server("127.0.0.1:0", bindings, max_workers=max_workers)  # type: ignore[arg-type]
        server.start()
        running.append(server)
        return f"127.0.0.1:{server.port}"

    yield start
    for server in running:
        server.stop(grace=None)


@pytest.fixture
def embedded_registry(tmp_path: Path) -> Iterator[object]:
    """The three services in this process on embedded defaults, on free loopback ports.

    Yields the :class:`services.embedded.EmbeddedRegistry`; ``.address(reg.gateway)`` is
    the gateway's ``host:port``.
    """
    from services.embedded import build_embedded
    from services.gateway.app import start_background

    registry = build_embedded(
        tmp_path / "mreg-data", gateway_port=0, artifacts_port=0, metadata_port=0
    )
    for server in registry.servers:
        server.start()
    stop_background = start_background(registry.settings, registry.gateway_service)
    yield registry
    stop_background()
    for server in reversed(registry.servers):
        server.stop(grace=None)
