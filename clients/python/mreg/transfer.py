"""Moving model files: deduplicated, parallel, verified uploads and downloads.

Push: cut and hash files locally (FastCDC + SHA-256, threads that release the GIL, a
cache that skips unchanged files), ask the artifact service which chunks it lacks, send
only those over several streams, then commit each file's chunk list and, for a
directory, the tree. Because the server keeps every chunk it verified, running an
interrupted push again sends only what is still missing.

Pull: download files in parallel ranges into temporary files beside their destination,
verify each file's SHA-256, then rename; an interrupted pull never leaves a partial file
under its final name, and files already present with the right digest are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import stat as stat_module
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, registry_pb2, resources_pb2
from mreg.chunkids import SHA256, algorithm_named, digest_of_id, id_of_digest
from mreg.chunking import ChunkRef, file_sha256, hash_file
from mreg.download import FileDownload, RateLimit, TransferError, reader
from mreg.errors import from_rpc_error
from mreg.hashcache import HashCache
from mreg.interrupt import POLL_SECONDS, check
from mreg.treepaths import TreeRuleError, check_tree

logger = logging.getLogger(__name__)

FIND_BATCH = 10_000
RANGE_BYTES = 64 * 1024 * 1024
READ_BLOCK = 8 * 1024 * 1024
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass
class LocalFile:
    """A file to push: where it is, its path in the tree, and (once hashed) its digests."""

    path: Path
    rel: str
    size: int
    mode: int
    stat: os.stat_result
    sha256: str = ""
    chunks: list[ChunkRef] = field(default_factory=list)

    @property
    def digest(self) -> resources_pb2.Digest:
        """The file's blob digest."""
        return resources_pb2.Digest(hash=self.sha256, size_bytes=self.size)


@dataclass
class TransferStats:
    """What a push or pull did, for people and for ``--json``."""

    files: int = 0
    bytes_total: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    chunks_total: int = 0
    chunks_sent: int = 0
    files_hashed: int = 0
    files_skipped: int = 0
    bytes_resumed: int = 0
    seconds: float = 0.0

    @property
    def bytes_deduplicated(self) -> int:
        """Bytes of the push the registry already had, so they were not sent."""
        return max(0, self.bytes_total - self.bytes_sent)

    @property
    def dedup_ratio(self) -> float:
        """Share of the bytes the registry already had (push)."""
        return 1 - self.bytes_sent / self.bytes_total if self.bytes_total else 1.0


class Progress:
    """Hooks a caller implements to show progress; the default shows nothing."""

    def phase(self, name: str, total: int) -> None:
        """A new phase (``hashing``, ``uploading``, ``downloading``) of ``total`` bytes."""

    def advance(self, amount: int) -> None:
        """``amount`` more bytes of the current phase are done."""


# ----------------------------------------------------------------------------- push


def collect_files(path: Path) -> tuple[list[LocalFile], bool]:
    """The files to push and whether they form a tree (``path`` is a directory).

    Symlinks are followed only when they point inside ``path``; one pointing outside is
    refused with its name, so a push never uploads files it was not given.
    """
    try:
        top = path.resolve(strict=True)
    except FileNotFoundError:
        raise TransferError(f"{path} does not exist") from None
    if top.is_file():
        return [_local_file(top, top, path.name)], False
    if not top.is_dir():
        raise TransferError(f"{path} is neither a file nor a directory")
    files: list[LocalFile] = []
    seen: set[Path] = set()
    for directory, subdirs, names in os.walk(top, followlinks=True, onerror=_walk_error):
        here = Path(directory)
        real_dir = here.resolve()
        if not real_dir.is_relative_to(top) or real_dir in seen:
            subdirs[:] = []
            if not real_dir.is_relative_to(top):
                raise TransferError(_outside(here, top, path))
            continue
        seen.add(real_dir)
        for name in subdirs:
            _check_inside(here / name, top, path)
        subdirs.sort()
        for name in sorted(names):
            entry = here / name
            real = _check_inside(entry, top, path)
            if real.is_file():
                files.append(_local_file(real, entry, entry.relative_to(top).as_posix()))
    if not files:
        raise TransferError(f"{path} contains no files")
    try:
        check_tree((f.rel, f.mode) for f in files)
    except TreeRuleError as broken:
        raise TransferError(f"cannot push {path} as a tree: {broken.problem}") from None
    return files, True


def _walk_error(error: OSError) -> None:
    raise TransferError(f"cannot read {error.filename}: {error.strerror}")


def _outside(entry: Path, top: Path, shown: Path) -> str:
    rel = entry.relative_to(top) if entry.is_relative_to(top) else entry
    return (
        f"{shown / rel} is a symlink to {entry.resolve()}, outside {shown}; "
        "refusing to push files outside the directory"
    )


def _check_inside(entry: Path, top: Path, shown: Path) -> Path:
    real = entry.resolve()
    if not real.is_relative_to(top):
        raise TransferError(_outside(entry, top, shown))
    return real


def _local_file(real: Path, shown: Path, rel: str) -> LocalFile:
    try:
        st = real.stat()
        with open(real, "rb"):
            pass
    except OSError as error:
        raise TransferError(f"cannot read {shown}: {error.strerror}") from None
    return LocalFile(real, rel, st.st_size, stat_module.S_IMODE(st.st_mode), st)


def chunk_algorithm(info: registry_pb2.GetServerInfoResponse | None) -> str:
    """The chunk hash to use with a server: the first it advertises that the SDK knows;
    SHA-256 when it advertises none (a server older than BLAKE3 chunk ids)."""
    for value in info.chunk_digest_algorithms if info is not None else ():
        if value != resources_pb2.DIGEST_ALGORITHM_UNSPECIFIED and (name := algorithm_named(value)):
            return name
    return SHA256


def chunk_digest(chunk: ChunkRef) -> resources_pb2.Digest:
    """The ``Digest`` of a chunk (its algorithm stated when it is not SHA-256)."""
    return digest_of_id(chunk.sha256, chunk.length)


def hash_files(
    files: Sequence[LocalFile],
    cache: HashCache | None,
    stats: TransferStats,
    progress: Progress,
    algorithm: str = SHA256,
) -> None:
    """Fill in each file's SHA-256 and chunks (named by ``algorithm``), from the cache where
    the file is unchanged.

    Each file is read once (:func:`mreg.chunking.hash_file`); the bar advances
    by the bytes hashed, chunk by chunk, not file by file.
    """
    progress.phase("hashing", sum(f.size for f in files))
    for local in files:
        remembered = cache.get(local.path, local.stat, algorithm) if cache else None
        if remembered is not None:
            local.sha256, local.chunks = remembered
            progress.advance(local.size)
            continue
        try:
            local.sha256, local.chunks = hash_file(
                local.path, on_bytes=progress.advance, algorithm=algorithm
            )
        except OSError as error:
            raise TransferError(f"cannot read {local.path}: {error.strerror}") from None
        if sum(c.length for c in local.chunks) != local.size:
            raise TransferError(f"{local.path} changed while it was being hashed")
        stats.files_hashed += 1
        if cache is not None:
            cache.put(local.path, local.stat, local.sha256, local.chunks)


def find_missing(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    files: Sequence[LocalFile],
    *,
    metadata: Sequence[tuple[str, str]],
    timeout: float,
    stats: TransferStats,
) -> list[tuple[LocalFile, ChunkRef]]:
    """The distinct chunks of ``files`` the server lacks, with a file that holds each."""
    wanted: dict[str, tuple[LocalFile, ChunkRef]] = {}
    for local in files:
        for chunk in local.chunks:
            wanted.setdefault(chunk.sha256, (local, chunk))
    stats.chunks_total = len(wanted)
    missing: list[tuple[LocalFile, ChunkRef]] = []
    keys = list(wanted)
    for start in range(0, len(keys), FIND_BATCH):
        batch = keys[start : start + FIND_BATCH]
        request = artifacts_pb2.FindMissingChunksRequest(
            digests=[chunk_digest(wanted[k][1]) for k in batch]
        )
        response = _rpc(stub.FindMissingChunks, request, metadata, timeout)
        missing.extend(wanted[id_of_digest(d)] for d in response.missing_digests)
    return missing


def upload_missing(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    files: Sequence[LocalFile],
    *,
    metadata: Sequence[tuple[str, str]],
    streams: int,
    timeout: float,
    stats: TransferStats,
    progress: Progress,
    max_mb_per_s: float = 0.0,
    channel: grpc.Channel | None = None,
) -> None:
    """Send the chunks the server lacks, over ``streams`` parallel client streams.

    The streams are asynchronous calls fed from the files; the calling thread only waits,
    so a Ctrl-C (``KeyboardInterrupt``) reaches it at once: every stream is then cancelled
    and the error goes on. Chunks the server stored before that stay stored, so the next
    push sends only the rest. Given the artifact service's ``channel``, each message is
    built straight from the memory-mapped file (one copy) instead of through protobuf.
    """
    missing = find_missing(stub, files, metadata=metadata, timeout=timeout, stats=stats)
    total = sum(chunk.length for _, chunk in missing)
    progress.phase("uploading", total)
    if not missing:
        return
    lanes: list[list[tuple[LocalFile, ChunkRef]]] = [[] for _ in range(max(1, streams))]
    loads = [0] * len(lanes)
    for item in sorted(missing, key=lambda m: -m[1].length):
        lightest = loads.index(min(loads))
        lanes[lightest].append(item)
        loads[lightest] += item[1].length
    for lane in lanes:
        lane.sort(key=lambda m: (str(m[0].path), m[1].offset))  # read each file in order
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []
    limit = RateLimit(max_mb_per_s)

    maps = _FileMaps()
    upload = stub.UploadChunks
    if channel is not None:
        upload = channel.stream_unary(
            UPLOAD_CHUNKS,
            request_serializer=None,
            response_deserializer=artifacts_pb2.UploadChunksResponse.FromString,
        )

    def requests(lane: list[tuple[LocalFile, ChunkRef]]) -> Iterator:
        try:
            for local, chunk in lane:
                if stop.is_set():
                    return
                data = maps.view(local)[chunk.offset : chunk.offset + chunk.length]
                if len(data) != chunk.length:
                    raise TransferError(f"{local.path} changed while it was being pushed")
                yield (
                    _chunk_message(chunk, data)
                    if channel is not None
                    else _chunk_proto(chunk, data)
                )
                del data
                with lock:
                    stats.bytes_sent += chunk.length
                    stats.chunks_sent += 1
                    progress.advance(chunk.length)
                limit.take(chunk.length, stop)
        except Exception as error:  # raised by the caller below, not in grpc's thread
            failures.append(error)
            stop.set()

    calls = [
        upload.future(requests(lane), timeout=timeout, metadata=metadata) for lane in lanes if lane
    ]
    received = 0
    try:
        for call in calls:
            received += _result(call).chunks_received
    except grpc.RpcError as error:
        if failures:
            raise failures[0] from None
        raise from_rpc_error(error) from None
    finally:
        stop.set()
        for call in calls:
            call.cancel()
        maps.close()
    if failures:
        raise failures[0]
    if received != len(missing):
        raise TransferError(f"the server received {received} of {len(missing)} chunks")


def _result(call: grpc.Future) -> Any:
    """``call.result()``, looking for a lost Ctrl-C while it waits."""
    while True:
        try:
            return call.result(timeout=POLL_SECONDS)
        except grpc.FutureTimeoutError:
            check()


UPLOAD_CHUNKS = "/modelregistry.v1.ArtifactService/UploadChunks"
_DATA_FIELD = b"\x1a"  # field 3 (data), length-delimited


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _chunk_proto(chunk: ChunkRef, data: memoryview) -> artifacts_pb2.UploadChunksRequest:
    return artifacts_pb2.UploadChunksRequest(
        digest=chunk_digest(chunk),
        compressor=artifacts_pb2.COMPRESSOR_IDENTITY,
        data=bytes(data),
    )


def _chunk_message(chunk: ChunkRef, data: memoryview) -> bytes:
    """The serialized ``UploadChunksRequest`` for ``chunk``: its digest and compressor through
    protobuf, then the data field appended by hand (a protobuf message followed by more
    fields is the message with those fields), so the bytes are copied once, here."""
    head = artifacts_pb2.UploadChunksRequest(
        digest=chunk_digest(chunk),
        compressor=artifacts_pb2.COMPRESSOR_IDENTITY,
    ).SerializeToString()
    return b"".join((head, _DATA_FIELD, _varint(len(data)), data))


class _FileMaps:
    """Each file of a push memory-mapped once, for the upload streams to read from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._maps: dict[Path, tuple[mmap.mmap, memoryview]] = {}

    def view(self, local: LocalFile) -> memoryview:
        with self._lock:
            entry = self._maps.get(local.path)
            if entry is None:
                try:
                    with open(local.path, "rb") as handle:
                        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError) as error:  # ValueError: the file is empty now
                    raise TransferError(
                        f"{local.path} changed while it was being pushed: {error}"
                    ) from None
                entry = self._maps[local.path] = (mapped, memoryview(mapped))
            return entry[1]

    def close(self) -> None:
        with self._lock:
            for mapped, view in self._maps.values():
                with contextlib.suppress(BufferError):
                    view.release()
                    mapped.close()
            self._maps.clear()


def commit_files(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    files: Sequence[LocalFile],
    is_tree: bool,
    *,
    metadata: Sequence[tuple[str, str]],
    timeout: float,
) -> tuple[artifacts_pb2.BlobInfo, dict[str, artifacts_pb2.BlobInfo]]:
    """Commit every file's blob and, for a tree, the tree; returns the root blob (the
    file's or the tree's) and each file's blob by relative path."""
    committed: dict[str, artifacts_pb2.BlobInfo] = {}
    for local in files:
        request = artifacts_pb2.CommitBlobRequest(
            blob_digest=local.digest,
            chunk_digests=[chunk_digest(c) for c in local.chunks],
        )
        committed[local.rel] = _rpc(stub.CommitBlob, request, metadata, timeout).blob
    if not is_tree:
        return committed[files[0].rel], committed
    tree = _rpc(
        stub.CommitTree,
        artifacts_pb2.CommitTreeRequest(
            entries=[
                artifacts_pb2.TreeEntry(path=f.rel, digest=f.digest, mode=f.mode) for f in files
            ]
        ),
        metadata,
        timeout,
    ).tree
    return tree, committed


def push_blob(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    path: Path,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    streams: int = 4,
    timeout: float = 3600.0,
    algorithm: str = SHA256,
) -> tuple[artifacts_pb2.BlobInfo, TransferStats]:
    """Upload one file through the dedup path without registering it (no hash cache);
    chunks are named by ``algorithm`` (see :func:`chunk_algorithm`)."""
    files, _ = collect_files(Path(path))
    stats = TransferStats(files=1, bytes_total=files[0].size)
    hash_files(files, None, stats, Progress(), algorithm)
    upload_missing(
        stub,
        files,
        metadata=metadata,
        streams=streams,
        timeout=timeout,
        stats=stats,
        progress=Progress(),
    )
    blob, _ = commit_files(stub, files, False, metadata=metadata, timeout=timeout)
    return blob, stats


# ----------------------------------------------------------------------------- pull


@dataclass(frozen=True)
class RemoteFile:
    """A file of a version to download: its relative path, digest and mode."""

    rel: str
    digest: resources_pb2.Digest
    mode: int = 0o644


def safe_destination(dest: Path, rel: str) -> Path:
    """``dest / rel``, refusing paths that would escape ``dest``."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in pure.parts):
        raise TransferError(f"refusing to write {rel!r}: not a plain relative path")
    return dest.joinpath(*pure.parts)


def download_files(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    files: Sequence[RemoteFile],
    dest: Path,
    *,
    metadata: Sequence[tuple[str, str]],
    threads: int,
    timeout: float,
    stats: TransferStats,
    progress: Progress,
    address: str = "",
    accept_compressed: bool = False,
    max_mb_per_s: float = 0.0,
    channel: grpc.Channel | None = None,
) -> list[Path]:
    """Download ``files`` under ``dest`` (parallel ranges), verified and renamed into place.

    Files already present with the right digest are kept; a pull that was interrupted
    resumes from the verified pieces it left (see :mod:`mreg.download`). ``address`` names
    the artifact service in the error a lost connection gives. ``accept_compressed`` asks
    for chunks in their stored encoding: fewer bytes on the wire, but this side decodes
    them again (the server decodes every chunk to verify it anyway), so it is off by default.
    Given the artifact service's ``channel``, received data is written without protobuf's
    two copies.

    A tree that breaks a rule of :mod:`mreg.treepaths` (a path that is both a
    file and a directory, names that differ only by case, control characters, setuid bits)
    is refused before anything is written.
    """
    try:
        check_tree((f.rel, f.mode) for f in files)
    except TreeRuleError as broken:
        raise TransferError(f"refusing to pull into {dest}: {broken}") from None
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TransferError(f"cannot create {dest}: {error.strerror}") from None
    if not os.access(dest, os.W_OK | os.X_OK):
        raise TransferError(f"cannot write to {dest}: permission denied")
    todo: list[tuple[RemoteFile, Path]] = []
    paths = []
    for remote in files:
        target = safe_destination(dest, remote.rel)
        paths.append(target)
        stats.files += 1
        stats.bytes_total += remote.digest.size_bytes
        if (
            target.is_file()
            and target.stat().st_size == remote.digest.size_bytes
            and file_sha256(target) == remote.digest.hash
        ):
            stats.files_skipped += 1
            continue
        todo.append((remote, target))
    limit = RateLimit(max_mb_per_s)
    read = reader(stub, channel)
    downloads = []
    for remote, target in todo:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TransferError(f"cannot write {target}: {error.strerror}") from None
        downloads.append(
            FileDownload(
                read,
                remote.digest,
                target,
                metadata=metadata,
                timeout=timeout,
                address=address,
                accept_compressed=accept_compressed,
                on_bytes=progress.advance,
                limit=limit,
            )
        )
    progress.phase("downloading", sum(r.digest.size_bytes for r, _ in todo))
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="download") as pool:
        for (remote, target), download in zip(todo, downloads, strict=True):
            try:
                download.run(pool)
            except OSError as error:
                raise TransferError(f"cannot write {target}: {error.strerror}") from None
            finally:
                stats.bytes_received += download.received
                stats.bytes_resumed += download.kept
            download.finish(remote.mode)
    return paths


def _rpc(method: Callable, request, metadata, timeout: float):
    try:
        return method(request, timeout=timeout, metadata=metadata)
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None
