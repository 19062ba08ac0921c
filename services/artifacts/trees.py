"""Tree manifests: a model's files as one canonical JSON blob.

The manifest is ``{"entries":[{"digest":{"hash":..,"size_bytes":..},"mode":..,"path":..}],
"format":"modelregistry.tree.v1"}`` with entries sorted by path, keys sorted and no spaces, so
the same set of files always gives the same bytes and the same root digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.common.errors import InvalidArgument

TREE_FORMAT = "modelregistry.tree.v1"
MAX_PATH = 4096
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class Entry:
    """One file of a tree."""

    path: str
    hash: str
    size: int
    mode: int


def validate_path(path: str, field: str) -> str:
    """A relative ``/``-separated path with no empty, ``.`` or ``..`` segments."""
    if not path:
        raise InvalidArgument.field(field, "a path is required")
    if len(path) > MAX_PATH:
        raise InvalidArgument.field(field, f"path is longer than {MAX_PATH} characters")
    if path.startswith("/"):
        raise InvalidArgument.field(field, f"path {path!r} is absolute; use a relative path")
    if "\\" in path or "\x00" in path:
        raise InvalidArgument.field(field, f"path {path!r} contains '\\' or a NUL character")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidArgument.field(field, f"path {path!r} has an empty, '.' or '..' segment")
    return path


def validate_entries(entries: list[Entry]) -> list[Entry]:
    """Check every path and refuse duplicates; returns the entries sorted by path."""
    if len(entries) > MAX_ENTRIES:
        raise InvalidArgument.field("entries", f"a tree holds at most {MAX_ENTRIES} entries")
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        validate_path(entry.path, f"entries[{index}].path")
        if entry.path in seen:
            raise InvalidArgument.field(
                f"entries[{index}].path",
                f"path {entry.path!r} appears twice (entries {seen[entry.path]} and {index})",
            )
        seen[entry.path] = index
        if entry.mode > 0o7777:
            raise InvalidArgument.field(
                f"entries[{index}].mode", f"mode {entry.mode:o} has bits beyond 07777"
            )
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
