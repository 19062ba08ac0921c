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

import hashlib
import logging
import os
import stat as stat_module
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import grpc

from modelregistry.v1 import artifacts_pb2, artifacts_pb2_grpc, resources_pb2
from mreg.errors import MregError, from_rpc_error
from mreg.hashcache import HashCache
from services.common.chunking import ChunkRef, StreamChunker, file_sha256, sha256_hex
from services.common.compression import Codec, decode_chunk
from services.common.treepaths import TreeRuleError, check_tree

logger = logging.getLogger(__name__)

FIND_BATCH = 10_000
RANGE_BYTES = 64 * 1024 * 1024
READ_BLOCK = 8 * 1024 * 1024
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class TransferError(MregError):
    """A local problem with a push or pull: a path, a permission, a digest that differs."""


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


def hash_files(
    files: Sequence[LocalFile], cache: HashCache | None, stats: TransferStats, progress: Progress
) -> None:
    """Fill in each file's SHA-256 and chunks, from the cache where the file is unchanged."""
    progress.phase("hashing", sum(f.size for f in files))
    for local in files:
        remembered = cache.get(local.path, local.stat) if cache else None
        if remembered is not None:
            local.sha256, local.chunks = remembered
        else:
            local.sha256, local.chunks = chunk_and_hash(local.path)
            stats.files_hashed += 1
            if cache is not None:
                cache.put(local.path, local.stat, local.sha256, local.chunks)
        progress.advance(local.size)


def chunk_and_hash(
    path: Path, *, block: int = READ_BLOCK, threads: int = 2, window: int = 16
) -> tuple[str, list[ChunkRef]]:
    """The file's SHA-256 and its chunks, in one read of bounded memory.

    Blocks are read in order and fed to the whole-file hash and to the stream chunker;
    finished chunks are hashed on ``threads`` threads (hashlib releases the GIL), with at
    most ``window`` in flight. Memory stays near the chunker's buffer plus the window.
    """
    whole = hashlib.sha256()
    chunker = StreamChunker()
    chunks: list[ChunkRef] = []
    inflight: deque[tuple[int, int, Future[str]]] = deque()

    def collect(limit: int) -> None:
        while len(inflight) > limit:
            offset, length, future = inflight.popleft()
            chunks.append(ChunkRef(offset, length, future.result()))

    with open(path, "rb") as handle, ThreadPoolExecutor(threads, "chunk-hash") as pool:
        while data := handle.read(block):
            whole.update(data)
            for offset, view in chunker.feed(data):
                inflight.append((offset, len(view), pool.submit(sha256_hex, view)))
                collect(window)
        for offset, view in chunker.finish():
            inflight.append((offset, len(view), pool.submit(sha256_hex, view)))
        collect(0)
    return whole.hexdigest(), chunks


def upload_missing(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    files: Sequence[LocalFile],
    *,
    metadata: Sequence[tuple[str, str]],
    streams: int,
    timeout: float,
    stats: TransferStats,
    progress: Progress,
) -> None:
    """Send the chunks the server lacks, over ``streams`` parallel client streams."""
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
            digests=[resources_pb2.Digest(hash=k, size_bytes=wanted[k][1].length) for k in batch]
        )
        response = _rpc(stub.FindMissingChunks, request, metadata, timeout)
        missing.extend(wanted[d.hash] for d in response.missing_digests)
    total = sum(chunk.length for _, chunk in missing)
    progress.phase("uploading", total)
    if not missing:
        return
    lanes: list[list[tuple[LocalFile, ChunkRef]]] = [[] for _ in range(max(1, streams))]
    loads = [0] * len(lanes)
    for item in sorted(missing, key=lambda m: -m[1].length):
        lane = loads.index(min(loads))
        lanes[lane].append(item)
        loads[lane] += item[1].length
    lock = threading.Lock()

    def send(lane: list[tuple[LocalFile, ChunkRef]]) -> int:
        descriptors: dict[Path, int] = {}

        def requests() -> Iterator[artifacts_pb2.UploadChunksRequest]:
            try:
                for local, chunk in lane:
                    fd = descriptors.get(local.path)
                    if fd is None:
                        fd = descriptors[local.path] = os.open(local.path, os.O_RDONLY)
                    data = os.pread(fd, chunk.length, chunk.offset)
                    if len(data) != chunk.length:
                        raise TransferError(f"{local.path} changed while it was being pushed")
                    yield artifacts_pb2.UploadChunksRequest(
                        digest=resources_pb2.Digest(hash=chunk.sha256, size_bytes=chunk.length),
                        compressor=artifacts_pb2.COMPRESSOR_IDENTITY,
                        data=data,
                    )
                    with lock:
                        stats.bytes_sent += chunk.length
                        stats.chunks_sent += 1
                    progress.advance(chunk.length)
            finally:
                for fd in descriptors.values():
                    os.close(fd)

        response = _rpc(stub.UploadChunks, requests(), metadata, timeout)
        return response.chunks_received

    with ThreadPoolExecutor(len(lanes), thread_name_prefix="upload") as pool:
        received = sum(pool.map(send, [lane for lane in lanes if lane]))
    if received != len(missing):
        raise TransferError(f"the server received {received} of {len(missing)} chunks")


def commit_files(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    files: Sequence[LocalFile],
    is_tree: bool,
    *,
    metadata: Sequence[tuple[str, str]],
    timeout: float,
) -> tuple[resources_pb2.Digest, artifacts_pb2.BlobInfo]:
    """Commit every file's blob and, for a tree, the tree; returns the root digest."""
    blob = None
    for local in files:
        request = artifacts_pb2.CommitBlobRequest(
            blob_digest=local.digest,
            chunk_digests=[
                resources_pb2.Digest(hash=c.sha256, size_bytes=c.length) for c in local.chunks
            ],
        )
        blob = _rpc(stub.CommitBlob, request, metadata, timeout).blob
    if not is_tree:
        assert blob is not None
        return blob.digest, blob
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
    return tree.digest, tree


def push_blob(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    path: Path,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    streams: int = 4,
    timeout: float = 3600.0,
) -> tuple[artifacts_pb2.BlobInfo, TransferStats]:
    """Upload one file through the dedup path without registering it (no hash cache)."""
    files, _ = collect_files(Path(path))
    stats = TransferStats(files=1, bytes_total=files[0].size)
    hash_files(files, None, stats, Progress())
    upload_missing(
        stub,
        files,
        metadata=metadata,
        streams=streams,
        timeout=timeout,
        stats=stats,
        progress=Progress(),
    )
    _, blob = commit_files(stub, files, False, metadata=metadata, timeout=timeout)
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
) -> list[Path]:
    """Download ``files`` under ``dest`` (parallel ranges), verified and renamed into place.

    A tree that breaks a rule of :mod:`services.common.treepaths` (a path that is both a
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
    progress.phase("downloading", sum(r.digest.size_bytes for r, _ in todo))
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="download") as pool:
        for remote, target in todo:
            _download_one(stub, remote, target, pool, metadata, timeout, stats, progress)
    return paths


def _download_one(
    stub: artifacts_pb2_grpc.ArtifactServiceStub,
    remote: RemoteFile,
    target: Path,
    pool: ThreadPoolExecutor,
    metadata: Sequence[tuple[str, str]],
    timeout: float,
    stats: TransferStats,
    progress: Progress,
) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.mreg-partial-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise TransferError(f"cannot write {target}: {error.strerror}") from None
    lock = threading.Lock()
    size = remote.digest.size_bytes

    def fetch(offset: int) -> None:
        request = artifacts_pb2.ReadBlobRequest(
            digest=remote.digest,
            offset=offset,
            limit=min(RANGE_BYTES, size - offset),
            accept_compressed=True,
        )
        try:
            for piece in stub.ReadBlob(request, timeout=timeout, metadata=metadata):
                data = piece.data
                if piece.compressor not in (
                    artifacts_pb2.COMPRESSOR_UNSPECIFIED,
                    artifacts_pb2.COMPRESSOR_IDENTITY,
                ):
                    data = decode_chunk(Codec(piece.compressor), data, piece.uncompressed_size)
                os.pwrite(fd, data, piece.offset)
                with lock:
                    stats.bytes_received += len(data)
                progress.advance(len(data))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    try:
        list(pool.map(fetch, range(0, size, RANGE_BYTES)))
        os.ftruncate(fd, size)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    actual = file_sha256(tmp) if size else EMPTY_SHA256
    if actual != remote.digest.hash:
        tmp.unlink(missing_ok=True)
        raise TransferError(
            f"{target}: downloaded bytes hash to {actual}, expected {remote.digest.hash}",
            grpc.StatusCode.DATA_LOSS,
        )
    os.chmod(tmp, remote.mode & 0o777 or 0o644)
    os.replace(tmp, target)


def _rpc(method: Callable, request, metadata, timeout: float):
    try:
        return method(request, timeout=timeout, metadata=metadata)
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None
