"""Header inspection of committed files, without loading weights."""

from __future__ import annotations

import io
import json
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict

import pytest

from services.artifacts.inspect import inspect_blob
from tests.artifacts.helpers import Client, digest_of


def _read_at(data: bytes):
    return lambda offset, length: data[offset : offset + length]


def safetensors_file(tensors: dict[str, tuple[str, list[int]]], pad: int = 0) -> bytes:
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    sizes = {"BF16": 2, "F16": 2, "F32": 4}
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for dim in shape:
            n *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def test_safetensors_header_is_read(client: Client) -> None:
    data = safetensors_file({"a": ("BF16", [4, 8]), "b": ("F32", [3])})
    blob = client.upload(data).blob
    assert blob.inspection.format == "safetensors"
    assert blob.inspection.tensor_count == 2
    assert blob.inspection.parameter_count == 35
    assert list(blob.inspection.dtypes) == ["BF16", "F32"]
    assert not blob.inspection.may_execute_code
    assert blob.inspection.details["format"] == "pt"


def _gguf_string(s: str) -> bytes:
    return struct.pack("<Q", len(s)) + s.encode()


def test_gguf_header_is_read() -> None:
    out = b"GGUF" + struct.pack("<IQQ", 3, 2, 2)
    out += _gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string("llama")
    out += _gguf_string("llama.context_length") + struct.pack("<II", 4, 4096)
    for name, dims, kind in (("tok", [16, 4], 30), ("out", [4], 0)):
        out += _gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", kind, 0)
    found = inspect_blob(_read_at(out), len(out))
    assert found["format"] == "gguf"
    assert (found["tensor_count"], found["parameter_count"]) == (2, 68)
    assert found["dtypes"] == ["BF16", "F32"]
    assert found["details"]["general.architecture"] == "llama"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_onnx_initializers_are_counted() -> None:
    tensor = (
        _varint(1 << 3) + _varint(2) + _varint(1 << 3) + _varint(3)  # dims 2, 3
        + _varint(2 << 3) + _varint(1)  # FLOAT
        + _field(8, b"w") + _field(9, bytes(24))
    )  # fmt: skip
    graph = _field(1, b"node") + _field(5, tensor) + _field(5, tensor)
    opsets = _field(8, _varint(2 << 3) + _varint(17)) + _field(
        8, _field(1, b"com.microsoft") + _varint(2 << 3) + _varint(1)
    )
    model = _varint(1 << 3) + _varint(8) + _field(2, b"pytorch") + _field(7, graph) + opsets
    found = inspect_blob(_read_at(model), len(model))
    assert found["format"] == "onnx"
    assert (found["tensor_count"], found["parameter_count"]) == (2, 12)
    assert found["dtypes"] == ["F32"]  # ONNX's FLOAT, named as safetensors names it
    assert found["details"]["producer_name"] == "pytorch"
    assert found["details"]["opset"] == "17"
    assert found["details"]["opset.com.microsoft"] == "1"


@pytest.fixture
def fake_torch(monkeypatch):
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class BFloat16Storage:
        pass

    def _rebuild_tensor_v2(*args):
        return args

    BFloat16Storage.__module__ = "torch"
    BFloat16Storage.__qualname__ = "BFloat16Storage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.BFloat16Storage = BFloat16Storage
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def _torch_archive(torch, extra: dict[str, bytes]) -> bytes:
    """A torch.save-shaped zip of two BF16 tensors (6 and 4 elements), plus ``extra`` files."""

    class Storage:
        def __init__(self, key: str, numel: int) -> None:
            self.key, self.numel = key, numel

    class Tensor:
        def __init__(self, storage: Storage, shape: tuple) -> None:
            self.storage, self.shape = storage, shape

        def __reduce__(self):
            args = (self.storage, 0, self.shape, (1,), False, OrderedDict())
            return torch._utils._rebuild_tensor_v2, args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", torch.BFloat16Storage, obj.key, "cpu", obj.numel)
            return None

    buf = io.BytesIO()
    state = OrderedDict(a=Tensor(Storage("0", 6), (2, 3)), b=Tensor(Storage("1", 4), (4,)))
    Pickler(buf, protocol=2).dump(state)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model/data.pkl", buf.getvalue())
        zf.writestr("model/data/0", bytes(12))
        for name, content in extra.items():
            zf.writestr(name, content)
    return archive.getvalue()


def test_pytorch_zip_is_flagged_and_counted(fake_torch) -> None:
    data = _torch_archive(fake_torch, {})
    found = inspect_blob(_read_at(data), len(data))
    assert found["format"] == "pytorch"
    assert found["may_execute_code"] is True
    assert (found["tensor_count"], found["parameter_count"]) == (2, 10)
    assert found["dtypes"] == ["BF16"]  # torch.BFloat16Storage, named as safetensors names it


def test_torchscript_is_told_apart_from_a_pickled_state_dict(fake_torch) -> None:
    code = {"model/code/__torch__.py": b"class Net(Module):\n  pass\n"}
    data = _torch_archive(fake_torch, {**code, "model/constants.pkl": pickle.dumps(())})
    found = inspect_blob(_read_at(data), len(data))
    assert found["format"] == "torchscript"
    assert found["may_execute_code"] is True
    assert found["dtypes"] == ["BF16"]


def test_bare_pickle_may_execute_code(client: Client) -> None:
    data = pickle.dumps({"weights": [1, 2, 3]}, protocol=4)
    blob = client.upload(data).blob
    assert blob.inspection.format == "pickle"
    assert blob.inspection.may_execute_code


def test_other_files_are_plain() -> None:
    for data in (b"", b"hello", b"\x08garbage that is not protobuf", b"PK\x03\x04broken"):
        assert inspect_blob(_read_at(data), len(data))["format"] == "plain"
    assert digest_of(b"")  # helpers import stays used
