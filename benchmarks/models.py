"""Synthetic model files for benchmarks: safetensors of realistic bf16 weights."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np


def bf16_tensor(values: int, seed: int) -> bytes:
    """``values`` bf16 numbers drawn from N(0, 0.02): the top 2 bytes of each float32."""
    rng = np.random.default_rng(seed)
    floats = rng.normal(0.0, 0.02, values).astype("<f4")
    return (floats.view("<u4") >> 16).astype("<u2").tobytes()


def write_safetensors(
    path: Path, total_bytes: int, tensors: int = 8, seed: int = 0, header_pad: int = 0
) -> Path:
    """A safetensors file of ``tensors`` bf16 tensors totalling about ``total_bytes``.

    Tensor ``i`` is generated from ``seed + i``, so changing ``seed`` for one tensor
    (see ``changed``) alters only that tensor. ``header_pad`` adds bytes to the JSON
    header, shifting every tensor's offset.
    """
    per_tensor = (total_bytes // tensors) // 2 * 2
    header: dict[str, object] = {"__metadata__": {"format": "pt", "pad": "x" * header_pad}}
    offset = 0
    for i in range(tensors):
        header[f"layer.{i}.weight"] = {
            "dtype": "BF16",
            "shape": [per_tensor // 2],
            "data_offsets": [offset, offset + per_tensor],
        }
        offset += per_tensor
    encoded = json.dumps(header).encode()
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for i in range(tensors):
            out.write(bf16_tensor(per_tensor // 2, seed + i))
    return path
