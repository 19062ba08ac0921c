"""Pulling one file: parallel ranges, verified, resumable after a kill.

Bytes go into ``.NAME.mreg-partial`` beside the destination; every piece written is recorded
in ``.NAME.mreg-partial.journal`` (offset, length, XXH3 of the bytes) after it is on disk. A
pull that was killed finds both, re-checks each recorded piece against the bytes on disk (a
piece that changed is fetched again) and fetches only what is not there, as parallel
``ReadBlob`` ranges. The file's SHA-256 is computed in file order as the written prefix
grows, reading back from the page cache, so verification ends with the last byte; only a
file whose SHA-256 matches is renamed to its final name.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import xxhash

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from mreg.errors import MregError, from_rpc_error
from mreg.interrupt import POLL_SECONDS, check

RANGE_BYTES = 64 * 1024 * 1024
HASH_BLOCK = 8 * 1024 * 1024
PARTIAL = ".mreg-partial"
JOURNAL = ".mreg-partial.journal"
_IDENTITY = (artifacts_pb2.COMPRESSOR_UNSPECIFIED, artifacts_pb2.COMPRESSOR_IDENTITY)
#: gRPC codes meaning the connection went away, not that the request was wrong.
_LOST = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL)


class TransferError(MregError):
    """A local problem with a push or pull: a path, a permission, a digest that differs."""


def partial_paths(target: Path) -> tuple[Path, Path]:
    """The partial file and its journal for ``target``."""
    return (
        target.with_name(f".{target.name}{PARTIAL}"),
        target.with_name(f".{target.name}{JOURNAL}"),
    )


def checksum(data: bytes | memoryview) -> str:
    """The journal's checksum of a piece (XXH3-64): cheap, only to find pieces that changed."""
    return xxhash.xxh3_64_hexdigest(data)


class Journal:
    """The pieces of a partial file known to be written: one ``offset length xxh3`` a line.

    The first line names the blob, so a journal left by another version's pull is ignored.
    Lines are appended with one ``write`` each; a line cut short by a kill is skipped.
    """

    def __init__(self, path: Path, digest: resources_pb2.Digest) -> None:
        self.path = path
        self.header = f"mreg-partial 1 {digest.hash} {digest.size_bytes}\n"
        self._fd = -1

    def load(self) -> list[tuple[int, int, str]]:
        """The pieces recorded for this blob (none if the journal is absent or another's)."""
        try:
            lines = self.path.read_text().splitlines(keepends=True)
        except (FileNotFoundError, UnicodeDecodeError):
            return []
        if not lines or lines[0] != self.header:
            return []
        pieces = {}
        for line in lines[1:]:
            fields = line.split()
            if len(fields) == 3 and line.endswith("\n") and fields[0].isdigit():
                pieces[(int(fields[0]), int(fields[1]))] = fields[2]
        return [(offset, length, sum_) for (offset, length), sum_ in sorted(pieces.items())]

    def open(self, keep: bool) -> None:
        """Start appending; ``keep`` False starts a new journal."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if keep else os.O_TRUNC)
        self._fd = os.open(self.path, flags, 0o600)
        if not keep:
            os.write(self._fd, self.header.encode())

    def record(self, offset: int, length: int, sum_: str) -> None:
        """Remember that ``[offset, offset+length)`` is on disk with checksum ``sum_``."""
        os.write(self._fd, f"{offset} {length} {sum_}\n".encode())

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class PrefixHasher:
    """SHA-256 of a file written out of order: hashes the contiguous prefix as it grows.

    The file is memory-mapped, so hashing reads the page cache without a copy; pages
    hashed are unmapped behind it (they stay cached), keeping the resident size small.
    """

    def __init__(self, fd: int, size: int) -> None:
        self.size = size
        self.hashed = 0
        self._ready = 0
        self._later: dict[int, int] = {}  # start -> end of written pieces past the prefix
        self._cond = threading.Condition()
        self._digest = hashlib.sha256()
        self._mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else None

    def written(self, start: int, end: int) -> None:
        """``[start, end)`` is on disk."""
        with self._cond:
            if start != self._ready:
                self._later[start] = end
                return
            self._ready = end
            while self._ready in self._later:
                self._ready = self._later.pop(self._ready)
            self._cond.notify_all()

    def wake(self) -> None:
        """Stop waiting (a transfer failed)."""
        with self._cond:
            self._cond.notify_all()

    def hash_until(self, done: Callable[[], bool]) -> None:
        """Hash what is written until the whole file is hashed or ``done()`` says stop."""
        while self.hashed < self.size:
            with self._cond:
                while self._ready <= self.hashed and not done():
                    self._cond.wait(POLL_SECONDS)
                    check()  # a Ctrl-C whose KeyboardInterrupt was lost in a finalizer
                ready = self._ready
            if ready <= self.hashed:
                return
            assert self._mapped is not None
            with memoryview(self._mapped) as view:
                while self.hashed < ready:
                    step = min(HASH_BLOCK, ready - self.hashed)
                    self._digest.update(view[self.hashed : self.hashed + step])
                    self.hashed += step
            behind = self.hashed // mmap.PAGESIZE * mmap.PAGESIZE
            if behind:
                self._mapped.madvise(mmap.MADV_DONTNEED, 0, behind)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._mapped is not None:
            self._mapped.close()


READ_BLOB = "/modelregistry.v1.ArtifactService/ReadBlob"


class Piece(NamedTuple):
    """A ``ReadBlobResponse`` whose ``data`` is a view into the received message."""

    offset: int = 0
    data: bytes | memoryview = b""
    compressor: int = 0
    uncompressed_size: int = 0


def parse_piece(raw: bytes) -> Piece:
    """Decode a serialized ``ReadBlobResponse`` without copying its data.

    protobuf would copy the data twice (into its arena, then into a new ``bytes``); this
    reads the four fields by hand (unknown fields are skipped as protobuf would skip them).
    """
    view = memoryview(raw)
    fields: list[Any] = [0, b"", 0, 0]
    position, end = 0, len(raw)
    while position < end:
        key, position = _varint(raw, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(raw, position)
            if number in (1, 3, 4):
                fields[number - 1] = value - (1 << 64) if value >= 1 << 63 else value
        elif wire == 2:
            length, position = _varint(raw, position)
            if position + length > end:
                raise ValueError("truncated ReadBlobResponse")
            if number == 2:
                fields[1] = view[position : position + length]
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unexpected wire type {wire} in ReadBlobResponse")
    return Piece(*fields)


def _varint(raw: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(raw) or shift > 63:
            raise ValueError("truncated varint in ReadBlobResponse")
        byte = raw[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _decode(target: Path, piece: Piece) -> bytes | memoryview:
    # Imported here: the codecs need numpy, which a pull of raw chunks never loads.
    from mreg.compression import Codec, CodecError, decode_chunk

    try:
        return decode_chunk(Codec(piece.compressor), piece.data, piece.uncompressed_size)
    except (CodecError, ValueError) as error:
        raise TransferError(f"{target}: {error}", grpc.StatusCode.DATA_LOSS) from None


def _settled(futures: Sequence[Future]) -> bool:
    """Every fetch ended, or one failed (the others are then stopped)."""
    return all(f.done() for f in futures) or any(f.done() and f.exception() for f in futures)


def missing_ranges(have: Sequence[tuple[int, int]], size: int, limit: int) -> list[tuple[int, int]]:
    """``(offset, length)`` ranges of at most ``limit`` bytes covering what ``have`` lacks."""
    out, position = [], 0
    for start, length in [*sorted(have), (size, 0)]:
        while position < start:
            step = min(limit, start - position)
            out.append((position, step))
            position += step
        position = max(position, start + length)
    return out


class RateLimit:
    """At most ``mb_per_s`` MB per second over all threads (0: no limit)."""

    def __init__(self, mb_per_s: float) -> None:
        self.rate = mb_per_s * 1_000_000
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._bytes = 0

    def take(self, n: int, stop: threading.Event) -> None:
        if not self.rate:
            return
        with self._lock:
            self._bytes += n
            due = self._start + self._bytes / self.rate
        stop.wait(max(0.0, due - time.monotonic()))


class FileDownload:
    """One file of a pull; :meth:`run` leaves it verified under its final name or raises."""

    def __init__(
        self,
        read: Callable[..., Iterable[Piece]],
        digest: resources_pb2.Digest,
        target: Path,
        *,
        metadata: Sequence[tuple[str, str]],
        timeout: float,
        address: str,
        accept_compressed: bool,
        on_bytes: Callable[[int], None],
        limit: RateLimit,
    ) -> None:
        self.read, self.digest, self.target = read, digest, target
        self.metadata, self.timeout, self.address = metadata, timeout, address
        self.accept_compressed = accept_compressed
        self.on_bytes, self.limit = on_bytes, limit
        self.partial, journal_path = partial_paths(target)
        self.journal = Journal(journal_path, digest)
        self.received = 0
        self.kept = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._calls: list[grpc.Call] = []

    def plan(self, fd: int) -> list[tuple[int, int]]:
        """The parts of the partial file still good (pieces checked against the journal),
        as sorted disjoint ``(offset, length)``: a piece fetched again after a resume may
        overlap one recorded before."""
        size = os.fstat(fd).st_size
        good: list[tuple[int, int]] = []
        buffer = bytearray()
        for offset, length, sum_ in self.journal.load():
            if offset + length > min(size, self.digest.size_bytes):
                continue
            if len(buffer) < length:
                buffer = bytearray(length)
            view = memoryview(buffer)[:length]
            if os.preadv(fd, [view], offset) == length and checksum(view) == sum_:
                good.append((offset, offset + length))
        merged: list[list[int]] = []
        for start, end in sorted(good):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(start, end - start) for start, end in merged]

    def run(self, pool: ThreadPoolExecutor) -> None:
        size = self.digest.size_bytes
        fd = os.open(self.partial, os.O_RDWR | os.O_CREAT, 0o600)
        hasher = None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TransferError(
                    f"another mreg pull is writing {self.target}", grpc.StatusCode.ABORTED
                ) from None
            have = self.plan(fd)
            self.kept = sum(length for _, length in have)
            self.journal.open(keep=bool(have))
            if not have:
                os.ftruncate(fd, 0)
            os.ftruncate(fd, size)
            hasher = PrefixHasher(fd, size)
            for offset, length in have:
                hasher.written(offset, offset + length)
            ranges = missing_ranges(have, size, RANGE_BYTES)
            futures = [pool.submit(self._fetch, fd, hasher, o, n) for o, n in ranges]
            try:
                hasher.hash_until(lambda: _settled(futures))
                for future in futures:
                    future.result()
                if hasher.hashed != size:
                    raise TransferError(
                        f"the artifact service at {self.address or 'the registry'} sent "
                        f"{hasher.hashed} contiguous bytes of {self.target.name}, not {size}",
                        grpc.StatusCode.DATA_LOSS,
                    )
            finally:
                self._stop.set()
                for call in list(self._calls):
                    call.cancel()
                hasher.wake()
            os.fsync(fd)
        finally:
            if hasher is not None:
                hasher.close()
            os.close(fd)
            self.journal.close()
        actual = hasher.hexdigest()
        if actual != self.digest.hash:
            self.partial.unlink(missing_ok=True)
            self.journal.path.unlink(missing_ok=True)
            raise TransferError(
                f"{self.target}: downloaded bytes hash to {actual}, expected {self.digest.hash}",
                grpc.StatusCode.DATA_LOSS,
            )

    def _fetch(self, fd: int, hasher: PrefixHasher, offset: int, length: int) -> None:
        request = artifacts_pb2.ReadBlobRequest(
            digest=self.digest,
            offset=offset,
            limit=length,
            accept_compressed=self.accept_compressed,
        )
        if self._stop.is_set():
            return
        call = self.read(request, timeout=self.timeout, metadata=self.metadata)
        with self._lock:
            self._calls.append(call)
        end = offset + length
        try:
            for piece in call:
                data = piece.data
                if piece.compressor not in _IDENTITY:
                    data = _decode(self.target, piece)
                start, n = piece.offset, len(data)
                if n != piece.uncompressed_size or start < offset or start + n > end:
                    raise TransferError(
                        f"the artifact service sent bytes {start}-{start + n} for a request "
                        f"of {offset}-{end}",
                        grpc.StatusCode.DATA_LOSS,
                    )
                os.pwrite(fd, data, start)
                self.journal.record(start, n, checksum(data))
                hasher.written(start, start + n)
                with self._lock:
                    self.received += n
                self.on_bytes(n)
                self.limit.take(n, self._stop)
                if self._stop.is_set():
                    return
        except grpc.RpcError as error:
            if self._stop.is_set() and error.code() == grpc.StatusCode.CANCELLED:
                return
            raise self._lost(error) from None

    def _lost(self, error: grpc.RpcError) -> MregError:
        if error.code() not in _LOST:
            return from_rpc_error(error)
        with self._lock:
            have = self.kept + self.received
        return TransferError(
            f"lost the connection to the artifact service at {self.address or 'the registry'} "
            f"({error.code().name}) while pulling {self.target.name}: {have} of "
            f"{self.digest.size_bytes} bytes are kept; run the same command again to resume",
            grpc.StatusCode.UNAVAILABLE,
        )

    def finish(self, mode: int) -> None:
        """Give the verified file its mode and final name; drop the journal."""
        os.chmod(self.partial, mode & 0o777 or 0o644)
        os.replace(self.partial, self.target)
        self.journal.path.unlink(missing_ok=True)


def reader(
    stub: artifacts_pb2_grpc.ArtifactServiceStub, channel: grpc.Channel | None
) -> Callable[..., Iterable[Piece]]:
    """``ReadBlob`` answering :class:`Piece` views on ``channel``, else the stub's method."""
    if channel is None:
        return stub.ReadBlob
    return channel.unary_stream(
        READ_BLOB,
        request_serializer=artifacts_pb2.ReadBlobRequest.SerializeToString,
        response_deserializer=parse_piece,
    )
