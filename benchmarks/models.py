"""Synthetic model files for benchmarks: safetensors of realistic weights."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

TENSORS = 8
MIB = 1024 * 1024


def write_safetensors(
    path: Path,
    total_bytes: int,
    dtype: str,
    seed: int,
    changed: int | None = None,
    extra_header: int = 0,
) -> Path:
    """A safetensors file of ``TENSORS`` tensors of synthetic weights (normal, std 0.02).

    ``changed`` regenerates that tensor with another seed; ``extra_header`` pads the JSON
    header's metadata by that many bytes (shifting every tensor).
    """
    width = {"BF16": 2, "F16": 2, "F32": 4}[dtype]
    per = total_bytes // TENSORS // width
    header: dict[str, Any] = {"__metadata__": {"note": "x" * extra_header}}
    for i in range(TENSORS):
        header[f"layer{i}.weight"] = {
            "dtype": dtype,
            "shape": [per],
            "data_offsets": [i * per * width, (i + 1) * per * width],
        }
    raw = json.dumps(header).encode()
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        for i in range(TENSORS):
            rng = np.random.default_rng(seed * 100 + i + (1000 if i == changed else 0))
            for start in range(0, per, 16 * MIB):
                n = min(16 * MIB, per - start)
                values = rng.normal(0, 0.02, n).astype(np.float32)
                if dtype == "BF16":
                    out.write((values.view(np.uint32) >> 16).astype(np.uint16).tobytes())
                elif dtype == "F16":
                    out.write(values.astype(np.float16).tobytes())
                else:
                    out.write(values.tobytes())
    return path
