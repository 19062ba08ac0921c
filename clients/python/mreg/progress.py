"""Progress bars for the terminal (tqdm), one per phase of a transfer."""

from __future__ import annotations

import sys

from tqdm import tqdm

from mreg.transfer import Progress


def human_bytes(n: float) -> str:
    """``1073741824`` -> ``1.0 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class BarProgress(Progress):
    """Shows each phase (hashing, uploading, downloading) as a bar with bytes and rate.

    Bars go to stderr and only when it is a terminal, so ``--json`` output and logs stay
    clean.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: tqdm | None = None

    def phase(self, name: str, total: int) -> None:
        self.close()
        if self.enabled:
            self.bar = tqdm(
                total=total,
                desc=f"{name:<11}",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                leave=True,
            )

    def advance(self, amount: int) -> None:
        if self.bar is not None:
            self.bar.update(amount)

    def close(self) -> None:
        """Finish the current bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
