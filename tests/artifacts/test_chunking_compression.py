"""The shared chunker and codecs: streaming cuts equal whole-buffer cuts, codecs round-trip."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mreg import compression
from mreg.chunking import (
    MAX_CHUNK_BYTES,
    MIN_CHUNK_BYTES,
    StreamChunker,
    file_sha256,
    iter_buffer_chunks,
    iter_file_chunks,
)
from mreg.compression import Codec, decode_chunk, encode_chunk
from tests.artifacts.helpers import bf16_weights, random_bytes


def _stream_cut(data: bytes, piece: int) -> list[tuple[int, str]]:
    chunker = StreamChunker()
    out = []
    for start in range(0, len(data), piece):
        out += [
            (off, hashlib.sha256(c).hexdigest())
            for off, c in chunker.feed(data[start : start + piece])
        ]
    out += [(off, hashlib.sha256(c).hexdigest()) for off, c in chunker.finish()]
    return out


def test_streaming_chunker_cuts_exactly_like_a_whole_buffer_cut() -> None:
    data = random_bytes(40 * 1024 * 1024 + 12345, seed=7)
    whole = [(r.offset, r.sha256) for r in iter_buffer_chunks(data)]
    for piece in (1024 * 1024, 3 * 1024 * 1024 + 1, 333_333):
        assert _stream_cut(data, piece) == whole
    sizes = [b[0] - a[0] for a, b in itertools.pairwise(whole)]
    assert all(MIN_CHUNK_BYTES <= s <= MAX_CHUNK_BYTES for s in sizes)
    assert 0.5 * 2**20 < np.mean(sizes) < 2 * 2**20


def test_file_chunks_match_buffer_chunks_and_file_hash(tmp_path) -> None:
    data = bf16_weights(9 * 1024 * 1024)
    path = tmp_path / "w.bin"
    path.write_bytes(data)
    assert list(iter_file_chunks(path)) == list(iter_buffer_chunks(data))
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert list(iter_file_chunks(empty)) == []


def test_insertion_near_the_start_shifts_only_the_first_chunks() -> None:
    data = random_bytes(16 * 1024 * 1024, seed=3)
    before = {r.sha256 for r in iter_buffer_chunks(data)}
    after = [r.sha256 for r in iter_buffer_chunks(data[:100] + b"x" * 37 + data[100:])]
    assert sum(1 for sha in after if sha not in before) <= 2


def test_codec_choice_suits_the_data() -> None:
    assert encode_chunk(random_bytes(1024 * 1024))[0] == Codec.IDENTITY
    codec, payload = encode_chunk(bf16_weights(1024 * 1024))
    assert codec in (Codec.BYTEGROUP2_ZSTD, Codec.BYTEGROUP4_ZSTD)
    assert len(payload) <= 0.70 * 1024 * 1024
    assert encode_chunk(bytes(1024 * 1024))[0] == Codec.ZSTD
    fp32 = np.random.default_rng(1).normal(0, 0.02, 2**18).astype(np.float32).tobytes()
    assert encode_chunk(fp32)[0] == Codec.BYTEGROUP4_ZSTD


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.sampled_from(list(Codec)))
def test_every_codec_round_trips(data: bytes, codec: Codec) -> None:
    assert bytes(decode_chunk(codec, compression.compress(codec, data))) == data


def test_corrupt_frame_raises_codec_error() -> None:
    payload = compression.compress(Codec.ZSTD, bytes(10000))
    try:
        decode_chunk(Codec.ZSTD, payload[:-3] + b"xyz")
    except compression.CodecError:
        return
    raise AssertionError("no CodecError")
