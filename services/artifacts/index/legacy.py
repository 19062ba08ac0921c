"""One-time import of the pin objects written before pins moved into the index.

Older code kept each pin as an object ``pins/{blob}/{base64(holder)}`` in the backend. The
service imports them when it starts, when garbage collection runs (so a pin an older
instance wrote during a rolling upgrade is never missed by GC), and on ``python -m
services.artifacts migrate``: a batch is inserted into the index (idempotent) and only then
are its objects deleted, so a crash in between imports them again next time and loses
none. With nothing left to import this is one listing of an empty prefix.
"""

from __future__ import annotations

import binascii
import logging

from services.artifacts.backends.base import Backend
from services.artifacts.index.pins import PinIndex
from services.artifacts.store import PIN_PREFIX, holder_of

logger = logging.getLogger(__name__)

BATCH = 500


def import_legacy_pins(backend: Backend, pins: PinIndex) -> int:
    """Move every legacy pin object into the index; how many were imported."""
    keys = [info.key for info in backend.list(PIN_PREFIX)]
    imported = 0
    for start in range(0, len(keys), BATCH):
        batch, rows = [], []
        for key in keys[start : start + BATCH]:
            parts = key.split("/")
            try:
                holder = holder_of(key)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                logger.warning("legacy pin object %s names no holder; left in place", key)
                continue
            if len(parts) != 3 or not holder:
                logger.warning("legacy pin object %s is not pins/{blob}/{holder}; left", key)
                continue
            batch.append(key)
            rows.append((parts[1], holder))
        pins.add(rows)
        backend.delete(batch)
        imported += len(rows)
    if imported:
        logger.info("imported %d legacy pin object(s) into the artifact index", imported)
    return imported
