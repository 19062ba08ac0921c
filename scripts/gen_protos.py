"""Regenerate the Python code for the protos under ``protos/``.

The generated ``_pb2.py``, ``_pb2.pyi`` and ``_pb2_grpc.py`` files are committed beside
the ``.proto`` files; ``tests/test_protos.py`` fails when running this script would
change them. Usage::

    python scripts/gen_protos.py            # write the generated files
    python scripts/gen_protos.py --check    # exit 1 if they are stale
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGES_ROOT = PROTO_ROOT / "modelregistry"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    """Run protoc over every proto under ``protos/modelregistry``, writing into ``out_dir``."""
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGES_ROOT.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{PROTO_ROOT / 'third_party'}",  # google/api (vendored; its Python is installed)
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(base: Path) -> list[Path]:
    """Generated files under ``base``, relative to it."""
    pkg = base / "modelregistry"
    return sorted(p.relative_to(base) for p in pkg.rglob("*") if p.name.endswith(SUFFIXES))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args()
    if not args.check:
        generate(PROTO_ROOT)
        # Every folder below modelregistry/ down to a proto's is a Python package;
        # modelregistry/ itself is a namespace package, so the client distribution
        # (modelregistry.v1) and the server's (modelregistry.metadata) can both add to it.
        for proto in PACKAGES_ROOT.rglob("*.proto"):
            for folder in proto.parent.relative_to(PROTO_ROOT).parents:
                if folder not in (Path("."), Path("modelregistry")):
                    (PROTO_ROOT / folder / "__init__.py").touch()
            (proto.parent / "__init__.py").touch()
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        expected = generated_files(fresh)
        committed = generated_files(PROTO_ROOT)
        stale = sorted(set(expected) ^ set(committed))
        stale += [
            p
            for p in expected
            if p in committed and not filecmp.cmp(fresh / p, PROTO_ROOT / p, shallow=False)
        ]
    for path in stale:
        print(f"stale generated file: protos/{path}", file=sys.stderr)
    if stale:
        print("run: python scripts/gen_protos.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
