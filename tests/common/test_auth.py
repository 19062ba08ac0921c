"""Bearer tokens, roles and model prefixes, checked by the auth interceptor on real channels."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from modelregistry.v1 import registry_pb2
from services.common.auth import (
    AuthInterceptor,
    Role,
    TokenStore,
    current_identity,
    is_loopback,
)
from services.common.server import (
    ServiceBinding,
    build_aio_server,
    build_server,
    insecure_channel,
)
from services.gateway.access import model_of

SERVICE = "test.Guarded"


def _handlers() -> dict[str, grpc.RpcMethodHandler]:
    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        return current_identity().principal.encode()

    def read(request: registry_pb2.GetModelRequest, context) -> registry_pb2.GetModelResponse:
        return registry_pb2.GetModelResponse()

    return {
        "Read": grpc.unary_unary_rpc_method_handler(
            read,
            registry_pb2.GetModelRequest.FromString,
            registry_pb2.GetModelResponse.SerializeToString,
        ),
        "Write": grpc.unary_unary_rpc_method_handler(whoami, lambda b: b, lambda b: b),
        "Collect": grpc.unary_unary_rpc_method_handler(whoami, lambda b: b, lambda b: b),
        "Open": grpc.unary_unary_rpc_method_handler(whoami, lambda b: b, lambda b: b),
    }


ROLES = {
    f"/{SERVICE}/Read": Role.READER,
    f"/{SERVICE}/Write": Role.WRITER,
    f"/{SERVICE}/Collect": Role.ADMIN,
}


@pytest.fixture(params=["sync", "aio"])
def guarded(tmp_path: Path, request: pytest.FixtureRequest):
    store = TokenStore(tmp_path / "tokens.json")

    def add(_servicer, server):
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, _handlers()),)
        )

    interceptor = AuthInterceptor(store, ROLES, model_of=model_of)
    build = build_server if request.param == "sync" else build_aio_server
    running = build("127.0.0.1:0", [ServiceBinding(SERVICE, add, None)], interceptors=[interceptor])
    running.start()
    channel = insecure_channel(f"127.0.0.1:{running.port}")
    yield store, channel
    channel.close()
    running.stop(None)


def _call(channel, method: str, token: str | None, payload: bytes = b"x"):
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    if method == "Read":
        request = registry_pb2.GetModelRequest(name=payload.decode())
        return channel.unary_unary(
            f"/{SERVICE}/Read",
            request_serializer=registry_pb2.GetModelRequest.SerializeToString,
            response_deserializer=registry_pb2.GetModelResponse.FromString,
        )(request, timeout=5, metadata=metadata)
    return channel.unary_unary(f"/{SERVICE}/{method}")(payload, timeout=5, metadata=metadata)


def _refused(channel, method: str, token: str | None, payload: bytes = b"x") -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        _call(channel, method, token, payload)
    return info.value


def test_a_valid_token_admits_and_names_the_principal(guarded) -> None:
    store, channel = guarded
    token, _ = store.create("alice", [Role.WRITER])
    assert _call(channel, "Write", token) == b"alice"


def test_methods_without_a_role_are_open(guarded) -> None:
    _, channel = guarded
    assert _call(channel, "Open", None) == b"anonymous"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "this registry requires a bearer token"),
        ("garbage", "malformed bearer token: expected 'mreg_<id>_<secret>'"),
        ("mreg_abc_def", "unknown bearer token"),
    ],
)
def test_missing_malformed_and_unknown_tokens_are_unauthenticated(
    guarded, header: str | None, message: str
) -> None:
    _, channel = guarded
    error = _refused(channel, "Write", header)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details().startswith(message)


def test_a_revoked_token_is_unauthenticated(guarded) -> None:
    store, channel = guarded
    token, record = store.create("alice", [Role.WRITER])
    store.revoke(record.id)
    error = _refused(channel, "Write", token)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == f"token {record.id} was revoked"


def test_an_expired_token_is_unauthenticated(guarded) -> None:
    store, channel = guarded
    token, record = store.create("alice", [Role.WRITER], ttl_seconds=0.01)
    time.sleep(0.05)
    error = _refused(channel, "Write", token)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == f"token {record.id} has expired"


@pytest.mark.parametrize(
    ("role", "method", "needed"),
    [
        (Role.READER, "Write", "writer"),
        (Role.WRITER, "Collect", "admin"),
        (Role.APPROVER, "Write", "writer"),
    ],
)
def test_a_missing_role_is_permission_denied_naming_the_role(
    guarded, role: Role, method: str, needed: str
) -> None:
    store, channel = guarded
    token, _ = store.create("bob", [role])
    error = _refused(channel, method, token)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == f"bob may not call {method}: it needs the {needed} role"


def test_roles_include_weaker_ones(guarded) -> None:
    store, channel = guarded
    writer, _ = store.create("w", [Role.WRITER])
    admin, _ = store.create("root", [Role.ADMIN])
    assert _call(channel, "Read", writer, b"models/m")
    assert _call(channel, "Collect", admin) == b"root"


def test_a_prefix_limited_token_cannot_touch_other_models(guarded) -> None:
    store, channel = guarded
    token, _ = store.create("team-a-ci", [Role.READER], model_prefix="team-a-")
    assert _call(channel, "Read", token, b"models/team-a-model") is not None
    error = _refused(channel, "Read", token, b"models/team-b-model")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == (
        "team-a-ci's token is limited to models starting with 'team-a-' "
        "and cannot touch 'team-b-model'"
    )


def test_the_tokens_file_keeps_only_hashes(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token, record = store.create("alice", [Role.READER])
    text = (tmp_path / "tokens.json").read_text()
    assert token not in text
    assert record.sha256 in text
    assert (tmp_path / "tokens.json").stat().st_mode & 0o077 == 0


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1:50051") and is_loopback("localhost:1") and is_loopback("[::1]:5")
    assert not is_loopback("0.0.0.0:50051") and not is_loopback("10.1.2.3:1")


def test_a_public_bind_without_auth_refuses_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.gateway"],
        env={"MREG_GATEWAY_LISTEN": "0.0.0.0:0", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        "gateway: refusing to listen on 0.0.0.0:0 without authentication; "
        "set MREG_AUTH_TOKENS_FILE (or listen on 127.0.0.1)"
    ) in result.stderr
