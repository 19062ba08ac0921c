"""Quarantine: a chunk that fails verification is moved aside, so it reads as missing.

When a read (or the scrub) finds that a stored chunk no longer matches its SHA-256 (a
flipped byte, a truncated file), :meth:`Quarantine.isolate` keeps its bytes under
``quarantine/{h}.data``, writes a record ``quarantine/{h}.json`` saying why and when, and
removes the chunk object. From then on ``FindMissingChunks`` reports the chunk missing, so
the next push of any file containing it sends it again, and that upload repairs every blob
that lists it. A record whose chunk is present again is stale (the chunk was repaired) and
is dropped the next time the quarantine is consulted.

The chunk is removed only if it still holds the bytes found bad, so a good copy written
meanwhile by a concurrent upload survives.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from services.artifacts import metrics
from services.artifacts.backends.base import Backend, ObjectNotFound
from services.artifacts.store import (
    QUARANTINE_PREFIX,
    chunk_key,
    quarantine_key,
    quarantined_data_key,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuarantineRecord:
    """Why and when a chunk was quarantined, and how many bytes it had at rest."""

    sha256: str
    reason: str
    time: float
    stored_size: int


class Quarantine:
    """Quarantined chunks of one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def isolate(self, sha: str, stored: bytes | memoryview, reason: str) -> None:
        """Move chunk ``sha`` (whose stored bytes are ``stored``) aside and record why."""
        stored = bytes(stored)
        record = {"sha256": sha, "reason": reason, "time": time.time(), "stored_size": len(stored)}
        self.backend.put(quarantined_data_key(sha), [stored])
        self.backend.put(quarantine_key(sha), [json.dumps(record, sort_keys=True).encode()])
        try:
            current = self.backend.get(chunk_key(sha))
        except ObjectNotFound:
            current = None
        if current == stored:
            self.backend.delete([chunk_key(sha)])
        metrics.CHUNKS_QUARANTINED.inc()
        logger.error("chunk %s quarantined: %s", sha, reason)

    def record(self, sha: str) -> QuarantineRecord | None:
        """The record of chunk ``sha``, or ``None`` when it was never quarantined."""
        try:
            data = json.loads(self.backend.get(quarantine_key(sha)))
        except ObjectNotFound:
            return None
        return QuarantineRecord(data["sha256"], data["reason"], data["time"], data["stored_size"])

    def active(self) -> dict[str, QuarantineRecord]:
        """Chunks quarantined and not repaired since; stale records are dropped."""
        shas = [
            info.key[len(QUARANTINE_PREFIX) :].removesuffix(".json")
            for info in self.backend.list(QUARANTINE_PREFIX)
            if info.key.endswith(".json")
        ]
        if not shas:
            return {}
        present = self.backend.stat([chunk_key(sha) for sha in shas])
        out: dict[str, QuarantineRecord] = {}
        for sha, info in zip(shas, present, strict=True):
            if info is not None:
                self.backend.delete([quarantine_key(sha), quarantined_data_key(sha)])
                logger.info("chunk %s was repaired; its quarantine record is dropped", sha)
                continue
            record = self.record(sha)
            if record is not None:
                out[sha] = record
        return out

    def unreadable(self, shas: list[str]) -> list[str]:
        """The distinct chunks of ``shas`` that are quarantined, in order (one list call)."""
        active = self.active()
        if not active:
            return []
        return [sha for sha in dict.fromkeys(shas) if sha in active]
