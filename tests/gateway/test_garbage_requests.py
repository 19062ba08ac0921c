"""Request bytes that do not parse answer INVALID_ARGUMENT naming the message type.

Before, grpcio answered INTERNAL ("Exception deserializing request!") and logged a
traceback per request. One unary RPC of each service, a client-streaming upload and the
gateway are tried with raw bytes on real loopback channels.
"""

from __future__ import annotations

import logging
import random

import grpc
import pytest
from google.protobuf.message import DecodeError

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2
from services.common.server import insecure_channel
from tests.gateway.conftest import Stack

#: (service, method, request type): one RPC per service, one of them client-streaming.
TARGETS = [
    ("artifacts", "/modelregistry.v1.ArtifactService/StatBlob", artifacts_pb2.StatBlobRequest),
    (
        "metadata",
        "/modelregistry.metadata.v1.MetadataService/GetModel",
        metadata_pb2.GetModelRequest,
    ),
    (
        "gateway",
        "/modelregistry.v1.RegistryService/ResolveModelVersion",
        registry_pb2.ResolveModelVersionRequest,
    ),
]


def _unparsable(request_type: type, count: int) -> list[bytes]:
    """``count`` random payloads that ``request_type`` refuses to parse."""
    rng = random.Random(20261202)
    found: list[bytes] = []
    while len(found) < count:
        data = rng.randbytes(rng.randint(1, 64))
        try:
            request_type.FromString(data)
        except DecodeError:
            found.append(data)
    return found


def _raw_unary(channel: grpc.Channel, method: str, data: bytes) -> grpc.RpcError:
    call = channel.unary_unary(method)  # no serializers: the bytes go as they are
    with pytest.raises(grpc.RpcError) as info:
        call(data, timeout=10)
    return info.value


@pytest.mark.parametrize(("which", "method", "request_type"), TARGETS)
def test_garbage_bytes_answer_invalid_argument_without_a_traceback(
    stack: Stack,
    which: str,
    method: str,
    request_type: type,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with insecure_channel(stack.address(which)) as channel:
        for data in _unparsable(request_type, 40):
            error = _raw_unary(channel, method, data)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (data, error.details())
            expected = request_type.DESCRIPTOR.full_name
            assert error.details().startswith(
                f"the request ({len(data)} bytes) does not parse as {expected}: "
            )
        # The service still answers well-formed requests on the same channel.
        if which == "gateway":
            info = channel.unary_unary(
                "/modelregistry.v1.RegistryService/GetServerInfo",
                request_serializer=registry_pb2.GetServerInfoRequest.SerializeToString,
                response_deserializer=registry_pb2.GetServerInfoResponse.FromString,
            )(registry_pb2.GetServerInfoRequest(), timeout=10)
            assert info.max_message_bytes > 0
    logged = caplog.text
    assert "Exception deserializing" not in logged
    assert "Traceback" not in logged


def test_a_garbage_message_in_an_upload_stream_ends_it_with_invalid_argument(
    stack: Stack,
) -> None:
    good = artifacts_pb2.UploadBlobRequest(
        header=artifacts_pb2.UploadHeader(upload_id="garbage-test-0001", write_offset=0)
    ).SerializeToString()
    bad = _unparsable(artifacts_pb2.UploadBlobRequest, 1)[0]
    with insecure_channel(stack.address("artifacts")) as channel:
        upload = channel.stream_unary("/modelregistry.v1.ArtifactService/UploadBlob")
        with pytest.raises(grpc.RpcError) as info:
            upload(iter([good, bad]), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not parse as modelregistry.v1.UploadBlobRequest" in info.value.details()
