"""Write the OpenAPI description of the HTTP/JSON API, ``protos/modelregistry/v1/openapi.json``.

It is built from the ``google.api.http`` annotations and messages of
``protos/modelregistry/v1/registry.proto``, through the generated descriptors (run
``scripts/gen_protos.py`` first after changing a proto), and described by the protos'
comments, which protoc keeps only in a descriptor set with source info (built here with
grpc_tools' protoc, ``--include_source_info``). The file ships with the ``modelregistry.v1``
package; the gateway serves it at ``/v1/openapi.json``. Usage::

    python scripts/gen_openapi.py            # write protos/modelregistry/v1/openapi.json
    python scripts/gen_openapi.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PUBLIC = PROTO_ROOT / "modelregistry" / "v1"
sys.path.insert(0, str(ROOT))

from services.gateway.http.json_api import OPENAPI_FILE, SERVICE  # noqa: E402
from services.gateway.http.json_api.openapi import build_openapi  # noqa: E402
from services.gateway.http.json_api.proto_docs import comments_of  # noqa: E402

OUTPUT = PUBLIC / OPENAPI_FILE


def source_info() -> descriptor_pb2.FileDescriptorSet:
    """The public protos (and what they import) as a descriptor set with comments."""
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PUBLIC.glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "descriptors.binpb"
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{PROTO_ROOT / 'third_party'}",
            f"-I{well_known}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def render() -> str:
    document = build_openapi(SERVICE, comments_of(source_info()))
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report a stale file")
    args = parser.parse_args()
    fresh = render()
    if not args.check:
        OUTPUT.write_text(fresh)
        return 0
    if not OUTPUT.exists() or OUTPUT.read_text() != fresh:
        print(
            f"stale: {OUTPUT.relative_to(ROOT)}; run python scripts/gen_openapi.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
