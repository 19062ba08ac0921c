"""What a model file's header says, read without loading its weights.

Recognises safetensors (JSON header), GGUF (key/value metadata and tensor infos), ONNX
(protobuf walked lazily, skipping tensor data, with its opsets), PyTorch zip archives
(``data.pkl`` opcodes; TorchScript archives, which also hold ``code/``, told apart) and bare
pickles. Pickle-based formats are flagged: loading them can run arbitrary code.

Dtypes are named one way across formats, safetensors' way (``F32``, ``BF16``, ``I64``,
``U8``, ``BOOL``...); GGUF's quantised types keep their own names (``Q4_K``).

Everything reads through ``read_at(offset, length)``, so only headers are fetched.
"""

from __future__ import annotations

import io
import json
import logging
import pickletools
import struct
import zipfile
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

ReadAt = Callable[[int, int], bytes]

#: Largest header read in one piece (safetensors JSON, GGUF metadata, pickle program).
MAX_HEADER_BYTES = 64 * 1024 * 1024

_GGML_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
    10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
    17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
    23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16",
}  # fmt: skip
_ONNX_TYPES = {
    1: "F32", 2: "U8", 3: "I8", 4: "U16", 5: "I16", 6: "I32", 7: "I64", 8: "STRING",
    9: "BOOL", 10: "F16", 11: "F64", 12: "U32", 13: "U64", 14: "C64", 15: "C128", 16: "BF16",
    17: "F8_E4M3", 18: "F8_E4M3FNUZ", 19: "F8_E5M2", 20: "F8_E5M2FNUZ",
}  # fmt: skip
#: ``torch.<Name>Storage`` of a PyTorch pickle, by the dtype it holds.
_TORCH_STORAGES = {
    "Double": "F64", "Float": "F32", "Half": "F16", "BFloat16": "BF16", "Long": "I64",
    "Int": "I32", "Short": "I16", "Char": "I8", "Byte": "U8", "Bool": "BOOL",
    "ComplexFloat": "C64", "ComplexDouble": "C128", "Float8_e4m3fn": "F8_E4M3",
    "Float8_e5m2": "F8_E5M2",
}  # fmt: skip


def _result(fmt: str, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": fmt,
        "tensor_count": 0,
        "parameter_count": 0,
        "dtypes": [],
        "may_execute_code": False,
        "details": {},
    }
    out.update(fields)
    return out


def inspect_blob(read_at: ReadAt, size: int) -> dict[str, Any]:
    """Recognise the format of a blob of ``size`` bytes and summarise its header."""
    head = read_at(0, min(size, 64))
    try:
        if size >= 8 and head[:4] == b"GGUF":
            return _gguf(read_at, size)
        if size >= 10 and head[8:9] == b"{":
            found = _safetensors(read_at, size, head)
            if found:
                return found
        if head[:4] == b"PK\x03\x04":
            return _zip(read_at, size)
        if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
            return _result("pickle", may_execute_code=True)
        if head[:1] == b"\x08":
            found = _onnx(read_at, size)
            if found:
                return found
    except Exception as error:
        logger.info("header inspection failed: %s", error)
    return _result("plain")


def _safetensors(read_at: ReadAt, size: int, head: bytes) -> dict[str, Any] | None:
    (length,) = struct.unpack("<Q", head[:8])
    if length > min(size - 8, MAX_HEADER_BYTES):
        return None
    header = json.loads(read_at(8, length))
    dtypes: set[str] = set()
    params = count = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        count += 1
        dtypes.add(str(entry["dtype"]))
        numel = 1
        for dim in entry["shape"]:
            numel *= int(dim)
        params += numel
    details = {k: str(v) for k, v in (header.get("__metadata__") or {}).items()}
    details["header_bytes"] = str(length)
    return _result(
        "safetensors",
        tensor_count=count,
        parameter_count=params,
        dtypes=sorted(dtypes),
        details=details,
    )


class _Cursor:
    """Sequential little-endian reads over a buffer (GGUF)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value[0]

    def string(self) -> str:
        length = self.take("<Q")
        value = self.data[self.pos : self.pos + length]
        if len(value) != length:
            raise struct.error("truncated string")
        self.pos += length
        return value.decode("utf-8", "replace")

    def value(self, kind: int) -> Any:
        scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                  10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
        if kind in scalar:
            return self.take(scalar[kind])
        if kind == 8:
            return self.string()
        if kind == 9:
            item_kind = self.take("<I")
            length = self.take("<Q")
            items = [self.value(item_kind) for _ in range(length)]
            return f"[{length} items]" if length > 8 else items
        raise struct.error(f"unknown GGUF value type {kind}")


def _gguf(read_at: ReadAt, size: int) -> dict[str, Any]:
    cur = _Cursor(read_at(0, min(size, MAX_HEADER_BYTES)))
    cur.take("<I")
    version = cur.take("<I")
    tensor_count = cur.take("<Q")
    kv_count = cur.take("<Q")
    details = {"version": str(version), "metadata_keys": str(kv_count)}
    dtypes: set[str] = set()
    params = 0
    try:
        for _ in range(kv_count):
            key = cur.string()
            value = cur.value(cur.take("<I"))
            if key.startswith("general.") and not isinstance(value, list):
                details[key] = str(value)
        for _ in range(tensor_count):
            cur.string()
            dims = [cur.take("<Q") for _ in range(cur.take("<I"))]
            dtypes.add(_GGML_TYPES.get(cur.take("<I"), "UNKNOWN"))
            cur.take("<Q")
            numel = 1
            for dim in dims:
                numel *= dim
            params += numel
    except struct.error:
        details["truncated"] = "true"
    return _result(
        "gguf",
        tensor_count=tensor_count,
        parameter_count=params,
        dtypes=sorted(dtypes),
        details=details,
    )


class _BlobFile(io.RawIOBase):
    """A seekable read-only file over ``read_at`` (for :mod:`zipfile`)."""

    def __init__(self, read_at: ReadAt, size: int) -> None:
        self._read_at = read_at
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._read_at(self._pos, n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _zip(read_at: ReadAt, size: int) -> dict[str, Any]:
    with zipfile.ZipFile(io.BufferedReader(_BlobFile(read_at, size), 1 << 20)) as archive:
        names = archive.namelist()
        pickles = [i for i in archive.infolist() if i.filename.endswith("data.pkl")]
        if not pickles or pickles[0].file_size > MAX_HEADER_BYTES:
            return _result("plain", details={"container": "zip"})
        program = archive.read(pickles[0])
    dtypes, storages, tensors = _scan_torch_pickle(program)
    # torch.jit.save writes the model's TorchScript source under code/ beside data.pkl;
    # torch.save writes no code. Both are loaded by unpickling, so both may run code.
    scripted = any(n.split("/", 2)[1:2] == ["code"] for n in names if "/" in n)
    return _result(
        "torchscript" if scripted else "pytorch",
        tensor_count=tensors,
        parameter_count=sum(storages.values()),
        dtypes=sorted(dtypes),
        may_execute_code=True,
        details={"storages": str(len(storages))},
    )


_PUSH_OPS = {"BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "BINUNICODE8", "SHORT_BINSTRING",
             "BINSTRING", "STRING", "BININT", "BININT1", "BININT2", "INT", "LONG", "LONG1",
             "LONG4"}  # fmt: skip


def _scan_torch_pickle(program: bytes) -> tuple[set[str], dict[str, int], int]:
    """Storage dtypes, ``{storage key: numel}`` and tensor count of a ``data.pkl``.

    Each tensor references its storage through a persistent id
    ``("storage", torch.XStorage, key, location, numel)``; the opcodes are followed with a
    small model of the memo, never executed.
    """
    dtypes: set[str] = set()
    storages: dict[str, int] = {}
    tensors = 0
    memo: dict[int, object] = {}
    recent: list[object] = []
    last: object = None
    for opcode, arg, _pos in pickletools.genops(program):
        name = opcode.name
        if name in _PUSH_OPS:
            last = arg
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            last = str(arg).replace(" ", ".") if arg else ".".join(map(str, recent[-2:]))
            if str(last).endswith("Storage"):
                kind = str(last).rsplit(".", 1)[-1].removesuffix("Storage")
                dtypes.add(_TORCH_STORAGES.get(kind, kind.upper()))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg or 0)] = last
            continue
        elif name == "MEMOIZE":
            memo[len(memo)] = last
            continue
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            last = memo.get(int(arg or 0))
        elif name == "MARK":
            recent = []
            continue
        elif name == "BINPERSID":
            tensors += 1
            if len(recent) >= 5 and recent[0] == "storage" and isinstance(recent[-1], int):
                storages[str(recent[2])] = recent[-1]
            recent = []
            continue
        else:
            last = None
            continue
        recent.append(last)
    return dtypes, storages, tensors


def _varint(read_at: ReadAt, pos: int) -> tuple[int, int]:
    raw = read_at(pos, 10)
    value = shift = 0
    for i, byte in enumerate(raw):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise ValueError("bad varint")


def _fields(read_at: ReadAt, start: int, end: int):
    """(field number, wire type, value or (offset, length)) of a protobuf message's fields."""
    pos = start
    while pos < end:
        tag, pos = _varint(read_at, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(read_at, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(read_at, pos)
            if pos + length > end:
                raise ValueError("field runs past its message")
            yield number, wire, (pos, length)
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield number, wire, None
        else:
            raise ValueError(f"wire type {wire}")


#: ModelProto's field numbers and their wire types (0 varint, 2 length-delimited).
_ONNX_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def _opset(read_at: ReadAt, start: int, length: int) -> tuple[str, int]:
    """(domain, version) of an OperatorSetIdProto; the default domain is ``""``."""
    domain, version = "", 0
    for number, wire, value in _fields(read_at, start, start + length):
        if number == 1 and wire == 2:
            domain = read_at(*value).decode("utf-8", "replace")
        elif number == 2 and wire == 0:
            version = value
    return domain, version


def _onnx(read_at: ReadAt, size: int) -> dict[str, Any] | None:
    graph = None
    details: dict[str, str] = {}
    for number, wire, value in _fields(read_at, 0, size):
        if number == 1 and wire == 0:
            details["ir_version"] = str(value)
        elif number == 7 and wire == 2:
            graph = value
        elif number == 8 and wire == 2:
            domain, version = _opset(read_at, *value)
            details["opset" if domain in ("", "ai.onnx") else f"opset.{domain}"] = str(version)
        elif number in (2, 3) and wire == 2:
            details["producer_name" if number == 2 else "producer_version"] = read_at(
                *value
            ).decode("utf-8", "replace")
        elif _ONNX_MODEL_FIELDS.get(number) != wire:
            return None
    if graph is None:
        return None
    dtypes: set[str] = set()
    count = params = 0
    gstart, glen = graph
    for number, wire, value in _fields(read_at, gstart, gstart + glen):
        if number != 5 or wire != 2:
            continue
        count += 1
        numel = 1
        tstart, tlen = value
        for tnum, twire, tval in _fields(read_at, tstart, tstart + tlen):
            if tnum == 1 and twire == 0:
                numel *= tval
            elif tnum == 1 and twire == 2:
                pos, end = tval[0], tval[0] + tval[1]
                while pos < end:
                    dim, pos = _varint(read_at, pos)
                    numel *= dim
            elif tnum == 2 and twire == 0:
                dtypes.add(_ONNX_TYPES.get(tval, "UNKNOWN"))
        params += numel
    return _result(
        "onnx", tensor_count=count, parameter_count=params, dtypes=sorted(dtypes), details=details
    )
