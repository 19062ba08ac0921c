"""What installing the SDK costs a training image: the client distribution alone
(``pip install ./clients/python``) beside the whole registry (client + server, what
``pip install .`` installed before the client had a distribution of its own).

Each install goes into a fresh virtualenv; pip's cache is warm after the first, so the
times compare resolution and unpacking, not the network. Prints JSON: seconds, packages
and megabytes of site-packages for each, and the client's share of the whole.

Run: ``python -m benchmarks.client_install``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _install(specs: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        started = time.monotonic()
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *specs,
            ],
            check=True,
        )
        seconds = time.monotonic() - started
        site = next(venv.glob("lib/python*/site-packages"))
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        packages = len(list(site.glob("*.dist-info")))
    return {"seconds": round(seconds, 1), "megabytes": round(size / 1e6, 1), "packages": packages}


def main() -> None:
    client = str(ROOT / "clients" / "python")
    _install([client])  # warms pip's cache for both
    alone, whole = _install([client]), _install([client, str(ROOT)])
    share = round(alone["megabytes"] / whole["megabytes"], 3)
    figures = {"client": alone, "client_and_server": whole, "client_share_of_megabytes": share}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
