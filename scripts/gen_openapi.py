"""Write the OpenAPI description of the HTTP/JSON API, ``protos/openapi.json``.

It is built from the ``google.api.http`` annotations and messages of
``protos/modelregistry/v1/registry.proto``, through the generated descriptors (run
``scripts/gen_protos.py`` first after changing a proto); the gateway serves the same
document at ``/v1/openapi.json``. Usage::

    python scripts/gen_openapi.py            # write protos/openapi.json
    python scripts/gen_openapi.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "protos" / "openapi.json"
sys.path.insert(0, str(ROOT))

from services.gateway.http.json_api import registry_openapi  # noqa: E402


def render() -> str:
    return json.dumps(registry_openapi(), indent=2, sort_keys=False) + "\n"


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
