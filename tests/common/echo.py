"""A toy service for testing the server factory and interceptors over real channels."""

from __future__ import annotations

import grpc

from services.common.errors import FailedPrecondition, InvalidArgument, PreconditionViolation

SERVICE = "test.Echo"


def identity(data: bytes) -> bytes:
    return data


def behaviours() -> dict[str, grpc.RpcMethodHandler]:
    def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
        if request == b"invalid":
            raise InvalidArgument.field("model_version.version", "not a semantic version")
        if request == b"precondition":
            raise FailedPrecondition(
                "chunks missing",
                precondition_violations=[PreconditionViolation("CHUNK_MISSING", "sha256:ab", "x")],
            )
        if request == b"crash":
            raise ValueError("secret internal detail")
        if request == b"abort":
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "aborted by the handler")
        return request

    def stream(request: bytes, context: grpc.ServicerContext):
        yield b"first"
        if request == b"crash":
            raise RuntimeError("secret internal detail")
        raise InvalidArgument.field("offset", "must not be negative")

    return {
        "Echo": grpc.unary_unary_rpc_method_handler(echo, identity, identity),
        "Stream": grpc.unary_stream_rpc_method_handler(stream, identity, identity),
    }


def add(handlers: dict[str, grpc.RpcMethodHandler], server: grpc.Server) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


def call(channel: grpc.Channel, payload: bytes) -> bytes:
    return channel.unary_unary(f"/{SERVICE}/Echo")(payload, timeout=10)
