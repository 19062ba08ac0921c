"""Bytes of the files the import tests log to MLflow, derived from a seed (no dependencies,
so both MLflow's venv and ours can import it)."""

from __future__ import annotations

import random


def file_bytes(seed: str, path: str, size: int) -> bytes:
    """``size`` bytes for ``path`` of a version seeded ``seed``; equal seeds, equal bytes."""
    return random.Random(f"{seed}/{path}").randbytes(size)
