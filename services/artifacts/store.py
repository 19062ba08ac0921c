"""What the artifact service keeps in its backend, and how: key layout and record formats.

Everything but pins lives in the backend (pins are in the index database, which every
instance shares too), so any instance can serve any request::

    chunks/{h[:2]}/{h}        one chunk named by SHA-256 ``h``: 1 byte codec (``Codec``,
                              | 0x80 when a checksum follows), 16 bytes XXH3-128 of the
                              payload, the encoded bytes
    chunks/blake3/{h[:2]}/{h} one chunk named by BLAKE3 ``h`` (id ``b3:{h}``), same format
    blobs/{h[:2]}/{h}.json    blob manifest: size, ordered chunk list, inspection, tree flag
    pins/{h}/{holder-b64}     legacy: a pin written before pins moved into the index
                              (:mod:`services.artifacts.index`); imported at start, then
                              deleted (:mod:`services.artifacts.index.legacy`)
    owners/{h}/{principal-b64}  a principal that committed blob ``h`` (may read it)
    members/{h}/{tree}        tree ``tree`` lists blob ``h`` (pins of the tree cover ``h``)
    uploads/{principal-b64}/{upload_id}.json  plain-upload session of one principal
    quarantine/{h}.json       chunk ``h`` failed verification (record); ``.data``: its bytes
    index/identity.json       the id of the store's index (:mod:`services.artifacts.index.identity`)

Chunk keys are the hash (BLAKE3, or SHA-256 as older clients name chunks; see
:mod:`mreg.chunkids`) of the chunk's raw bytes; the two kinds never share a key,
and SHA-256 chunks stay where they always were. The service writes a chunk only after hashing
the bytes itself, and stores beside them an XXH3-128 of the payload as written, so a read
proves the bytes unchanged at a fraction of a SHA-256 (and without decoding). Chunks written
before the checksum existed (codec byte without 0x80) are verified by decoding and hashing.
Records are JSON with sorted keys.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import xxhash

from mreg.chunkids import BLAKE3, algorithm_of, chunk_id, hex_of
from mreg.compression import Codec
from services.artifacts.backends.base import Backend, ObjectNotFound

CHUNK_PREFIX = "chunks/"
BLOB_PREFIX = "blobs/"
PIN_PREFIX = "pins/"
UPLOAD_PREFIX = "uploads/"
OWNER_PREFIX = "owners/"
MEMBER_PREFIX = "members/"
QUARANTINE_PREFIX = "quarantine/"


BLAKE3_CHUNK_PREFIX = f"{CHUNK_PREFIX}blake3/"


def chunk_key(sha: str) -> str:
    """Key of the chunk with id ``sha`` (a SHA-256 hex, or ``b3:`` and a BLAKE3 hex)."""
    if algorithm_of(sha) == BLAKE3:
        h = hex_of(sha)
        return f"{BLAKE3_CHUNK_PREFIX}{h[:2]}/{h}"
    return f"{CHUNK_PREFIX}{sha[:2]}/{sha}"


def chunk_hash_of(key: str) -> str:
    """The chunk id a chunk key names."""
    h = key.rsplit("/", 1)[-1]
    return chunk_id(h, BLAKE3) if key.startswith(BLAKE3_CHUNK_PREFIX) else h


def blob_key(sha: str) -> str:
    """Key of the manifest of blob ``sha``."""
    return f"{BLOB_PREFIX}{sha[:2]}/{sha}.json"


def blob_hash_of(key: str) -> str:
    """The blob hash a manifest key names."""
    return key.rsplit("/", 1)[-1].removesuffix(".json")


def pin_prefix(sha: str) -> str:
    """Prefix of the legacy pin objects of blob ``sha``."""
    return f"{PIN_PREFIX}{sha}/"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(encoded: str) -> str:
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


def pin_key(sha: str, holder: str) -> str:
    """Key of ``holder``'s legacy pin object on blob ``sha`` (what older code wrote)."""
    return f"{pin_prefix(sha)}{_b64(holder)}"


def holder_of(key: str) -> str:
    """The holder a pin (or owner) key names."""
    return _unb64(key.rsplit("/", 1)[-1])


def owner_prefix(sha: str) -> str:
    """Prefix of the owner records of blob ``sha``."""
    return f"{OWNER_PREFIX}{sha}/"


def owner_key(sha: str, principal: str) -> str:
    """Key recording that ``principal`` committed blob ``sha``."""
    return f"{owner_prefix(sha)}{_b64(principal)}"


def member_prefix(sha: str) -> str:
    """Prefix of the records naming the trees that list blob ``sha``."""
    return f"{MEMBER_PREFIX}{sha}/"


def member_key(sha: str, tree: str) -> str:
    """Key recording that tree ``tree`` lists blob ``sha``."""
    return f"{member_prefix(sha)}{tree}"


def upload_key(upload_id: str, principal: str = "anonymous") -> str:
    """Key of ``principal``'s upload session ``upload_id``.

    Sessions are namespaced by principal: the same id used by another principal names
    another session, so an upload id is never a handle on someone else's upload.
    """
    return f"{UPLOAD_PREFIX}{_b64(principal)}/{upload_id}.json"


def quarantine_key(sha: str) -> str:
    """Key of the quarantine record of chunk ``sha``."""
    return f"{QUARANTINE_PREFIX}{sha}.json"


def quarantined_data_key(sha: str) -> str:
    """Key under which the bad bytes of quarantined chunk ``sha`` are kept for forensics."""
    return f"{QUARANTINE_PREFIX}{sha}.data"


#: Set in a stored chunk's codec byte when the payload's checksum follows it.
CHECKED = 0x80
CHECKSUM_BYTES = 16
HEADER_BYTES = 1 + CHECKSUM_BYTES


def payload_checksum(sha: str, payload: bytes | memoryview) -> bytes:
    """The at-rest checksum of chunk ``sha``'s stored payload: XXH3-128 seeded with the
    chunk's hash (the hex of its id), so the object of one chunk found under another's key
    does not pass (about 0.05 CPU-s/GB, against 0.5 for SHA-256)."""
    return xxhash.xxh3_128_digest(payload, seed=int(hex_of(sha)[:16], 16))


def pack_chunk(sha: str, codec: Codec, payload: bytes | memoryview) -> list[bytes | memoryview]:
    """The parts of chunk ``sha``'s stored object (written without joining them)."""
    return [bytes((int(codec) | CHECKED,)) + payload_checksum(sha, payload), payload]


def unpack_chunk(stored: bytes) -> tuple[int, memoryview, bytes | None]:
    """Codec, encoded payload and checksum (None for a chunk stored without one)."""
    view = memoryview(stored)
    if not view:
        return 0, view, None
    if view[0] & CHECKED:
        return view[0] & ~CHECKED, view[HEADER_BYTES:], bytes(view[1:HEADER_BYTES])
    return view[0], view[1:], None


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class BlobManifest:
    """A committed blob: its content digest and its ordered chunks ``(sha, size)``."""

    hash: str
    size: int
    chunks: list[tuple[str, int]]
    stored_bytes: int = 0
    is_tree: bool = False
    inspection: dict[str, Any] | None = None
    create_time: float = field(default_factory=time.time)

    def to_bytes(self) -> bytes:
        """The manifest record."""
        return _dump(
            {
                "v": 1,
                "hash": self.hash,
                "size": self.size,
                "chunks": [list(c) for c in self.chunks],
                "stored_bytes": self.stored_bytes,
                "is_tree": self.is_tree,
                "inspection": self.inspection,
                "create_time": self.create_time,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BlobManifest:
        """Parse a manifest record."""
        record = json.loads(data)
        return cls(
            hash=record["hash"],
            size=record["size"],
            chunks=[(c[0], c[1]) for c in record["chunks"]],
            stored_bytes=record.get("stored_bytes", 0),
            is_tree=record.get("is_tree", False),
            inspection=record.get("inspection"),
            create_time=record.get("create_time", 0.0),
        )


@dataclass
class UploadSession:
    """A plain upload: the chunks persisted so far and, once finished, the blob it became.

    ``committed_size`` is the number of bytes in the persisted chunks; a resumed stream must
    start there. ``hash_continuous`` is false once a stream resumed mid-blob (a running
    SHA-256 cannot be persisted), so the blob hash is then recomputed from the stored chunks.
    """

    upload_id: str
    principal: str = "anonymous"
    chunks: list[tuple[str, int]] = field(default_factory=list)
    committed_size: int = 0
    complete: bool = False
    blob_hash: str = ""
    create_time: float = field(default_factory=time.time)
    update_time: float = field(default_factory=time.time)

    def to_bytes(self) -> bytes:
        """The session record."""
        return _dump(
            {
                "v": 1,
                "upload_id": self.upload_id,
                "principal": self.principal,
                "chunks": [list(c) for c in self.chunks],
                "committed_size": self.committed_size,
                "complete": self.complete,
                "blob_hash": self.blob_hash,
                "create_time": self.create_time,
                "update_time": self.update_time,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> UploadSession:
        """Parse a session record."""
        record = json.loads(data)
        return cls(
            upload_id=record["upload_id"],
            principal=record.get("principal", "anonymous"),
            chunks=[(c[0], c[1]) for c in record["chunks"]],
            committed_size=record["committed_size"],
            complete=record["complete"],
            blob_hash=record.get("blob_hash", ""),
            create_time=record.get("create_time", 0.0),
            update_time=record.get("update_time", 0.0),
        )


class Records:
    """Typed access to manifests, sessions, owners and tree members in a backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def get_manifest(self, sha: str) -> BlobManifest | None:
        """The manifest of blob ``sha``, or ``None``."""
        try:
            return BlobManifest.from_bytes(self.backend.get(blob_key(sha)))
        except ObjectNotFound:
            return None

    def put_manifest(self, manifest: BlobManifest) -> None:
        """Write (or replace) a manifest."""
        self.backend.put(blob_key(manifest.hash), [manifest.to_bytes()])

    def get_session(self, upload_id: str, principal: str) -> UploadSession | None:
        """``principal``'s session ``upload_id``, or ``None`` (also when another owns the id)."""
        keys = [upload_key(upload_id, principal)]
        if principal == "anonymous":  # auth off: sessions written before they had owners
            keys.append(f"{UPLOAD_PREFIX}{upload_id}.json")
        for key in keys:
            try:
                session = UploadSession.from_bytes(self.backend.get(key))
            except ObjectNotFound:
                continue
            return session if session.principal == principal else None
        return None

    def put_session(self, session: UploadSession) -> None:
        """Persist a session."""
        session.update_time = time.time()
        self.backend.put(upload_key(session.upload_id, session.principal), [session.to_bytes()])

    def owners(self, sha: str) -> Iterator[str]:
        """Principals that committed blob ``sha``."""
        return (holder_of(info.key) for info in self.backend.list(owner_prefix(sha)))

    def add_owner(self, sha: str, principal: str) -> None:
        """Record that ``principal`` committed blob ``sha`` (idempotent)."""
        key = owner_key(sha, principal)
        if not self.backend.touch([key])[0]:
            self.backend.put(key, [_dump({"principal": principal, "time": time.time()})])

    def trees_listing(self, sha: str) -> Iterator[str]:
        """Hashes of the trees that list blob ``sha``."""
        return (info.key.rsplit("/", 1)[-1] for info in self.backend.list(member_prefix(sha)))

    def add_members(self, tree: str, files: Iterable[str]) -> None:
        """Record that tree ``tree`` lists each blob of ``files`` (idempotent)."""
        keys = [member_key(sha, tree) for sha in dict.fromkeys(files)]
        for key, present in zip(keys, self.backend.touch(keys), strict=True):
            if not present:
                self.backend.put(key, [b"{}"])
