"""The rules a tree's paths and modes keep, so every file system can hold the tree.

One module, standard library only, imported by the artifact service (``CommitTree``
refuses a tree that breaks a rule) and by the SDK (``mreg pull`` refuses such a tree
before writing anything). Rules, each with the name errors carry as their reason:

- ``PATH_INVALID``: a path is 1-4096 characters, relative, ``/``-separated, without
  ``\\``, and without empty, ``.`` or ``..`` segments.
- ``NAME_TOO_LONG``: each segment is at most 255 UTF-8 bytes (ext4, APFS, NTFS).
- ``CONTROL_CHARACTER``: no control characters (U+0000-U+001F, U+007F-U+009F).
- ``DUPLICATE_PATH``: a path appears once.
- ``FILE_DIRECTORY_CONFLICT``: no path is both a file and a directory (``x`` and ``x/y``).
- ``CASE_CONFLICT``: no two names differ only by case or Unicode normalization
  (``Model.bin`` and ``model.bin``; ``A/x`` and ``a/y``): they are one name on macOS and
  Windows.
- ``MODE_SPECIAL_BITS``: modes are permission bits only (at most ``0o777``): no setuid,
  setgid or sticky bit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_PATH = 4096
MAX_NAME_BYTES = 255
MAX_MODE = 0o777
QUOTE_CHARS = 64


class TreeRuleError(ValueError):
    """Entry ``index`` of a tree breaks ``rule``; ``field`` is ``path`` or ``mode``."""

    def __init__(self, index: int, field: str, rule: str, problem: str) -> None:
        super().__init__(f"entries[{index}].{field}: {problem}")
        self.index, self.field, self.rule, self.problem = index, field, rule, problem


def _quote(value: str) -> str:
    if len(value) <= QUOTE_CHARS:
        return repr(value)
    return f"{value[:QUOTE_CHARS]!r}\u2026 ({len(value)} characters)"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def check_path(index: int, path: str) -> None:
    """Raise :class:`TreeRuleError` unless ``path`` keeps the rules of one path."""

    def broken(rule: str, problem: str) -> TreeRuleError:
        return TreeRuleError(index, "path", rule, problem)

    if not path:
        raise broken("PATH_INVALID", "a path is required")
    if len(path) > MAX_PATH:
        raise broken("PATH_INVALID", f"path is longer than {MAX_PATH} characters")
    control = next((c for c in path if _is_control(c)), None)
    if control is not None:
        raise broken(
            "CONTROL_CHARACTER",
            f"path {_quote(path)} contains the control character U+{ord(control):04X}; "
            "paths may not contain control characters",
        )
    if path.startswith("/"):
        raise broken("PATH_INVALID", f"path {_quote(path)} is absolute; use a relative path")
    if "\\" in path:
        raise broken("PATH_INVALID", f"path {_quote(path)} contains '\\'; separate with '/'")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise broken("PATH_INVALID", f"path {_quote(path)} has an empty, '.' or '..' segment")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise broken(
                "NAME_TOO_LONG",
                f"path {_quote(path)} has a name longer than {MAX_NAME_BYTES} bytes",
            )


def check_mode(index: int, mode: int) -> None:
    """Raise :class:`TreeRuleError` unless ``mode`` is permission bits only."""
    if mode < 0 or mode > 0o7777:
        raise TreeRuleError(
            index, "mode", "MODE_SPECIAL_BITS", f"mode {mode:o} is not a permission mode"
        )
    if mode > MAX_MODE:
        special = [
            name
            for bit, name in ((0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky"))
            if mode & bit
        ]
        raise TreeRuleError(
            index,
            "mode",
            "MODE_SPECIAL_BITS",
            f"mode {mode:o} sets the {', '.join(special)} bit; modes are permission bits "
            f"only (at most {MAX_MODE:o})",
        )


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


class _Node:
    """A name in the tree being checked: its children by name and by folded name."""

    __slots__ = ("children", "file", "first", "folded")

    def __init__(self, first: int) -> None:
        self.children: dict[str, _Node] = {}
        self.folded: dict[str, str] = {}
        self.file: int | None = None
        self.first = first


def check_tree(entries: Iterable[tuple[str, int]]) -> None:
    """Raise :class:`TreeRuleError` for the first entry (``(path, mode)``, in order) that
    breaks a rule; the message names the earlier entry it conflicts with.

    Work is linear in the total length of the paths (a trie of names, not every prefix).
    """
    root = _Node(-1)
    for index, (path, mode) in enumerate(entries):
        check_path(index, path)
        check_mode(index, mode)
        segments = path.split("/")
        node = root
        for depth, segment in enumerate(segments):
            child = node.children.get(segment)
            if child is None:
                key = _folded(segment)
                other = node.folded.get(key)
                if other is not None:
                    here = "/".join(segments[: depth + 1])
                    other_name = "/".join([*segments[:depth], other])
                    within = "" if here == path else f" (in path {_quote(path)})"
                    raise TreeRuleError(
                        index,
                        "path",
                        "CASE_CONFLICT",
                        f"{_quote(here)}{within} and {_quote(other_name)} of entry "
                        f"{node.children[other].first} differ only by case or Unicode "
                        "normalization; they collide on macOS and Windows",
                    )
                child = node.children[segment] = _Node(index)
                node.folded[key] = segment
            last = depth == len(segments) - 1
            if child.file is not None:
                if last:
                    raise TreeRuleError(
                        index,
                        "path",
                        "DUPLICATE_PATH",
                        f"path {_quote(path)} appears twice (entries {child.file} and {index})",
                    )
                raise TreeRuleError(
                    index,
                    "path",
                    "FILE_DIRECTORY_CONFLICT",
                    f"path {_quote(path)} puts a file inside "
                    f"{_quote('/'.join(segments[: depth + 1]))}, which entry "
                    f"{child.file} names as a file; a path cannot be both a file and a "
                    "directory",
                )
            if last:
                if child.children:
                    raise TreeRuleError(
                        index,
                        "path",
                        "FILE_DIRECTORY_CONFLICT",
                        f"path {_quote(path)} is a file, but entry {child.first} puts files "
                        "inside it; a path cannot be both a file and a directory",
                    )
                child.file = index
            node = child
