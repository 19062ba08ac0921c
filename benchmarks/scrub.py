"""How fast the storage scrub verifies a local store, against reading and hashing it raw.

Stores a bf16 safetensors file of ``--size-mib`` through the artifact service's plain upload
path (so chunks are compressed as in production), then measures in the same run:

* **ceiling**: read every chunk file and SHA-256 its bytes at rest, on the same 4 threads,
  with no decoding: what any verifier of this store must at least spend;
* **scrub**: ``ArtifactService.scrub(0)`` (no rate limit): read, decode, SHA-256, compare;
* **bounded**: one scrub at ``--limit-mb-s``, to show the limit holds.

Rates are MB/s (10^6 bytes/s) of bytes at rest; ``raw_mb_s`` counts the decoded bytes.

    .venv/bin/python -m benchmarks.scrub [--size-mib 512] [--repeats 3] [--limit-mb-s 100]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks import harness
from benchmarks.models import MIB, write_safetensors
from services.artifacts.backends.local import LocalBackend
from services.artifacts.index.database import open_index
from services.artifacts.service import ArtifactService
from services.artifacts.store import CHUNK_PREFIX
from services.artifacts.uploads import Data, Finish, Header

logger = logging.getLogger(__name__)


def _store(service: ArtifactService, path: Path) -> int:
    def messages():
        yield Header("benchmark-scrub-1", 0)
        with open(path, "rb") as handle:
            while block := handle.read(MIB):
                yield Data(block)
        yield Finish(None)

    blob = service.upload_blob(messages()).blob
    assert blob is not None, "the upload did not finish"
    return blob.size


def _read_and_hash(root: Path, keys: list[str]) -> int:
    def one(key: str) -> int:
        data = (root / key).read_bytes()
        hashlib.sha256(data).digest()
        return len(data)

    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(one, keys))


def run(size_mib: int, repeats: int, limit_mb_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="mreg-scrub-") as tmp:
        root = Path(tmp) / "store"
        service = ArtifactService(
            LocalBackend(root, fsync=False), open_index(f"sqlite:///{Path(tmp) / 'index.db'}")
        )
        try:
            model = write_safetensors(Path(tmp) / "model.safetensors", size_mib * MIB, "BF16", 1)
            raw = _store(service, model)
            model.unlink()
            keys = [info.key for info in service.backend.list(CHUNK_PREFIX)]
            at_rest = sum(info.size for info in service.backend.list(CHUNK_PREFIX))
            logger.info("stored %d raw bytes as %d chunks, %d at rest", raw, len(keys), at_rest)

            ceiling, scrub, cpu = [], [], []
            _read_and_hash(root, keys)  # warm-up: page cache and first touch
            service.scrub(0)
            for _ in range(repeats):  # interleaved, so drift hits both alike
                ceiling.append(harness.timed(lambda: _read_and_hash(root, keys), 1, 0)[0])
                before = harness.cpu_seconds()
                report = service.scrub(0)
                cpu.append(harness.cpu_seconds() - before)
                scrub.append(report.seconds)
                assert report.chunks_quarantined == [] and report.bytes_checked == at_rest
            bounded = service.scrub(limit_mb_s)
        finally:
            service.close()
    ceiling_mb_s = [harness.mb_per_s(at_rest, s) for s in ceiling]
    scrub_mb_s = [harness.mb_per_s(at_rest, s) for s in scrub]
    ratios = [s / c for s, c in zip(scrub_mb_s, ceiling_mb_s, strict=True)]
    return {
        "benchmark": "scrub",
        "parameters": {"size_mib": size_mib, "repeats": repeats, "limit_mb_s": limit_mb_s},
        "bytes_raw": raw,
        "bytes_at_rest": at_rest,
        "chunks": len(keys),
        "ceiling_read_sha256_mb_s": harness.summary(ceiling_mb_s),
        "scrub_mb_s": harness.summary(scrub_mb_s),
        "scrub_raw_mb_s": harness.summary([harness.mb_per_s(raw, s) for s in scrub]),
        "scrub_ratio_to_ceiling": harness.summary(ratios),
        "scrub_cpu_seconds_per_gb_at_rest": harness.summary([c / (at_rest / 1e9) for c in cpu]),
        "bounded_scrub": {
            "limit_mb_s": limit_mb_s,
            "measured_mb_s": bounded.mb_per_second,
            "seconds": bounded.seconds,
        },
        "environment": harness.environment(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scrub", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit-mb-s", type=float, default=100.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    harness.emit(run(args.size_mib, args.repeats, args.limit_mb_s))


if __name__ == "__main__":
    main()
