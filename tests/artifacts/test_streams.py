"""Idle and stalled streams cannot starve the artifact service (real processes, real gRPC).

- 100 upload streams that send a header and then nothing leave StatBlob, FindMissingChunks
  and other uploads prompt;
- an upload that sends nothing for the idle timeout is ended with ABORTED and resumes from
  its committed offset;
- past the per-principal stream limit a new stream is refused with RESOURCE_EXHAUSTED, and
  other principals are not affected.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import grpc
import pytest

from modelregistry.v1 import artifacts_pb2
from services.common.auth import Role, TokenStore
from services.common.server import GRPC_OPTIONS
from tests.artifacts.helpers import digest_of, random_bytes
from tests.artifacts.processes import aio_stub, artifact_process, header, session_count, wait_for

MIB = 1024 * 1024


def _data(data: bytes) -> artifacts_pb2.UploadBlobRequest:
    return artifacts_pb2.UploadBlobRequest(data=data)


def _finish(data: bytes) -> artifacts_pb2.UploadBlobRequest:
    return artifacts_pb2.UploadBlobRequest(
        finish=artifacts_pb2.UploadFinish(expected_digest=digest_of(data))
    )


async def _upload(stub, data: bytes, metadata=(), timeout: float = 10.0):
    requests = [header(), *(_data(data[i : i + MIB]) for i in range(0, len(data), MIB))]
    return await stub.UploadBlob(
        iter([*requests, _finish(data)]), metadata=metadata, timeout=timeout
    )


def test_idle_upload_streams_leave_other_calls_prompt(tmp_path: Path) -> None:
    store = tmp_path / "artifacts"
    payload = random_bytes(MIB, seed=1)

    async def scenario(address: str) -> list[float]:
        async with grpc.aio.insecure_channel(address, options=GRPC_OPTIONS) as channel:
            stub = aio_stub(channel)
            stored = await _upload(stub, payload)
            idle = [stub.UploadBlob() for _ in range(100)]
            for call in idle:
                await call.write(header())
            await wait_for(lambda: session_count(store) >= 101, "100 idle sessions opened")
            latencies = []
            for _ in range(20):
                start = time.perf_counter()
                await stub.StatBlob(
                    artifacts_pb2.StatBlobRequest(digest=digest_of(payload)), timeout=5
                )
                await stub.FindMissingChunks(
                    artifacts_pb2.FindMissingChunksRequest(digests=[digest_of(b"x" * 100)]),
                    timeout=5,
                )
                latencies.append(time.perf_counter() - start)
            other = await _upload(stub, random_bytes(2 * MIB, seed=2), timeout=5)
            assert other.complete and stored.complete
            assert all(call.done() is False for call in idle)  # still open, still idle
            for call in idle:
                call.cancel()
            return latencies

    with artifact_process(tmp_path, MREG_MAX_STREAMS_PER_PRINCIPAL="1000") as address:
        latencies = asyncio.run(scenario(address))
    assert max(latencies) < 1.0, latencies


def test_an_idle_upload_is_ended_and_resumes_from_its_committed_offset(tmp_path: Path) -> None:
    data = random_bytes(3 * MIB + 12345, seed=3)
    sent = 2 * MIB

    async def scenario(address: str) -> None:
        async with grpc.aio.insecure_channel(address, options=GRPC_OPTIONS) as channel:
            stub = aio_stub(channel)
            silent = stub.UploadBlob(timeout=20)  # not even a header
            with pytest.raises(grpc.aio.AioRpcError) as no_header:
                await silent
            assert no_header.value.code() == grpc.StatusCode.ABORTED
            assert "sent no header for 0.5 s" in no_header.value.details()

            call = stub.UploadBlob(timeout=20)
            await call.write(header("idle-upload-1"))
            await call.write(_data(data[:MIB]))
            await call.write(_data(data[MIB:sent]))
            with pytest.raises(grpc.aio.AioRpcError) as idle:
                await call
            message = idle.value.details()
            assert idle.value.code() == grpc.StatusCode.ABORTED, message
            assert "sent nothing for 0.5 s" in message
            assert "MREG_UPLOAD_IDLE_TIMEOUT_SECONDS" in message
            assert f"write_offset {sent}" in message

            status = await stub.QueryUpload(
                artifacts_pb2.QueryUploadRequest(upload_id="idle-upload-1"), timeout=5
            )
            assert (status.committed_size, status.complete) == (sent, False)
            resumed = await stub.UploadBlob(
                iter([header("idle-upload-1", sent), _data(data[sent:]), _finish(data)]),
                timeout=10,
            )
            assert resumed.complete
            assert resumed.blob.digest.hash == hashlib.sha256(data).hexdigest()

            chunk = random_bytes(300_000, seed=4)
            chunks = stub.UploadChunks(timeout=20)
            await chunks.write(
                artifacts_pb2.UploadChunksRequest(digest=digest_of(chunk), data=chunk)
            )
            with pytest.raises(grpc.aio.AioRpcError) as chunks_idle:
                await chunks
            assert chunks_idle.value.code() == grpc.StatusCode.ABORTED
            assert (
                "(1 chunks received and kept) sent nothing for 0.5 s" in chunks_idle.value.details()
            )
            missing = await stub.FindMissingChunks(
                artifacts_pb2.FindMissingChunksRequest(digests=[digest_of(chunk)]), timeout=5
            )
            assert list(missing.missing_digests) == []  # what it sent is kept

    with artifact_process(tmp_path, MREG_UPLOAD_IDLE_TIMEOUT_SECONDS="0.5") as address:
        asyncio.run(scenario(address))


def test_streams_past_the_per_principal_limit_are_refused(tmp_path: Path) -> None:
    tokens = TokenStore(tmp_path / "tokens.json")
    alice, _ = tokens.create("alice", [Role.WRITER])
    bob, _ = tokens.create("bob", [Role.WRITER])
    as_alice = (("authorization", f"Bearer {alice}"),)
    as_bob = (("authorization", f"Bearer {bob}"),)
    store = tmp_path / "artifacts"

    async def scenario(address: str) -> None:
        async with grpc.aio.insecure_channel(address, options=GRPC_OPTIONS) as channel:
            stub = aio_stub(channel)
            held = [stub.UploadBlob(metadata=as_alice, timeout=20) for _ in range(2)]
            for call in held:
                await call.write(header())
            await wait_for(lambda: session_count(store) == 2, "alice's two sessions")

            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _upload(stub, b"third", metadata=as_alice)
            message = refused.value.details()
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, message
            assert "limit per principal (2)" in message
            assert "MREG_MAX_STREAMS_PER_PRINCIPAL" in message
            with pytest.raises(grpc.aio.AioRpcError) as read_refused:
                async for _ in stub.ReadBlob(
                    artifacts_pb2.ReadBlobRequest(digest=digest_of(b"third")),
                    metadata=as_alice,
                    timeout=5,
                ):
                    pass
            assert read_refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

            assert (await _upload(stub, b"bob's bytes", metadata=as_bob)).complete

            await held[0].write(_finish(b""))
            await held[0].done_writing()
            assert (await held[0]).complete  # its slot is free once it answered
            assert (await _upload(stub, b"fourth", metadata=as_alice)).complete
            held[1].cancel()

    with artifact_process(
        tmp_path,
        MREG_AUTH_TOKENS_FILE=str(tmp_path / "tokens.json"),
        MREG_MAX_STREAMS_PER_PRINCIPAL="2",
    ) as address:
        asyncio.run(scenario(address))
