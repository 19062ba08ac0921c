"""Tree manifests: a model's files as one canonical JSON blob.

The manifest is ``{"entries":[{"digest":{"hash":..,"size_bytes":..},"mode":..,"path":..}],
"format":"modelregistry.tree.v1"}`` with entries sorted by path, keys sorted and no spaces, so
the same set of files always gives the same bytes and the same root digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mreg.treepaths import TreeRuleError, check_tree
from services.common.errors import InvalidArgument

TREE_FORMAT = "modelregistry.tree.v1"
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class Entry:
    """One file of a tree."""

    path: str
    hash: str
    size: int
    mode: int


def validate_entries(entries: list[Entry]) -> list[Entry]:
    """Check the tree against :mod:`mreg.treepaths` (the rules every client also
    applies on pull); returns the entries sorted by path.

    A broken rule is INVALID_ARGUMENT on ``entries[i].path`` or ``entries[i].mode``, with
    the rule as the ``ErrorInfo`` reason and the entry index in its metadata.
    """
    if len(entries) > MAX_ENTRIES:
        raise InvalidArgument.field("entries", f"a tree holds at most {MAX_ENTRIES} entries")
    try:
        check_tree((e.path, e.mode) for e in entries)
    except TreeRuleError as broken:
        raise InvalidArgument.field(
            f"entries[{broken.index}].{broken.field}",
            broken.problem,
            reason=broken.rule,
            metadata={"entry": str(broken.index), "rule": broken.rule},
        ) from None
    return sorted(entries, key=lambda e: e.path)


def encode(entries: list[Entry]) -> bytes:
    """The canonical manifest bytes of sorted, validated entries."""
    record = {
        "format": TREE_FORMAT,
        "entries": [
            {"path": e.path, "digest": {"hash": e.hash, "size_bytes": e.size}, "mode": e.mode}
            for e in entries
        ],
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def decode(data: bytes) -> list[Entry] | None:
    """Entries of a manifest, or ``None`` when ``data`` is not a tree manifest."""
    try:
        record = json.loads(data)
        if record.get("format") != TREE_FORMAT:
            return None
        return [
            Entry(e["path"], e["digest"]["hash"], int(e["digest"]["size_bytes"]), int(e["mode"]))
            for e in record["entries"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
