"""Bytes of the files the import tests log to MLflow, derived from a seed (no dependencies,
so both MLflow's venv and ours can import it)."""

from __future__ import annotations

import hashlib


def file_bytes(seed: str, path: str, size: int) -> bytes:
    """``size`` bytes for ``path`` of a version seeded ``seed``; equal seeds, equal bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}/{path}/{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])
