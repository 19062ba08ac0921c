"""The write probe's log lines say what happened: the first result is not a recovery."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from services.artifacts.backends.local import LocalBackend
from services.artifacts.probe import PROBE_PREFIX, BackendProbe


def test_the_first_probe_says_writes_work_and_only_a_later_one_says_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "store"
    changes: list[bool] = []
    probe = BackendProbe(LocalBackend(root), 60, changes.append)
    with caplog.at_level(logging.INFO, logger="services.artifacts.probe"):
        assert probe.check()
        # A file where the probe's directory belongs: every write under it fails, for
        # root too (which a read-only mode would not stop).
        shutil.rmtree(root / PROBE_PREFIX, ignore_errors=True)
        (root / PROBE_PREFIX.rstrip("/")).write_bytes(b"in the way")
        assert not probe.check()
        (root / PROBE_PREFIX.rstrip("/")).unlink()
        assert probe.check()
    assert changes == [True, False, True]
    messages = [r.message for r in caplog.records]
    assert messages[0] == "storage backend and index take writes: SERVING"
    assert messages[1].startswith("storage backend or index failing ("), messages
    assert messages[2] == "storage backend and index work again: SERVING"
    assert len(messages) == 3
