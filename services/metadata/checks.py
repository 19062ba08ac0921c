"""Validation of the values the metadata service stores: lengths, map entries, numbers.

Each check raises :class:`InvalidArgument` naming the field and the limit, so the caller
knows what to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from services.common.errors import InvalidArgument

#: Free-text descriptions, in bytes of UTF-8.
MAX_DESCRIPTION_BYTES = 16 * 1024
#: Schemas, in bytes of UTF-8.
MAX_SCHEMA_BYTES = 64 * 1024
#: Map keys (tags, metrics, params, hyperparameters), in characters.
MAX_KEY_CHARS = 128
#: Map values, in bytes of UTF-8.
MAX_VALUE_BYTES = 1024
#: Entries per map.
MAX_ENTRIES = 256
#: The acting principal, in characters.
MAX_PRINCIPAL_CHARS = 256

KEY_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}"
_KEY = re.compile(KEY_PATTERN)
ALIAS_PATTERN = r"[a-z][a-z0-9_-]{0,62}"
_ALIAS = re.compile(ALIAS_PATTERN)


def text(value: str, field: str, limit: int) -> str:
    """A string of at most ``limit`` bytes of UTF-8, without NUL characters."""
    size = len(value.encode("utf-8"))
    if size > limit:
        raise InvalidArgument.field(
            field, f"{size} bytes is over the limit of {limit} bytes ({_human(limit)})"
        )
    if "\x00" in value:
        raise InvalidArgument.field(field, "must not contain NUL characters")
    return value


def _human(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} bytes"


def key(value: str, field: str) -> str:
    """A map key: 1-128 characters of letters, digits, ``_ . / -``, not starting with a symbol."""
    if not _KEY.fullmatch(value):
        raise InvalidArgument.field(
            field,
            f"invalid key {value[: MAX_KEY_CHARS + 8]!r}: use 1-{MAX_KEY_CHARS} characters of "
            "letters, digits, '_', '.', '/' and '-', starting with a letter, digit or '_'",
        )
    return value


def string_map(values: Mapping[str, str], field: str) -> dict[str, str]:
    """Tags, params or hyperparameters: valid keys, values of at most 1 KiB."""
    if len(values) > MAX_ENTRIES:
        raise InvalidArgument.field(
            field, f"{len(values)} entries is over the limit of {MAX_ENTRIES}"
        )
    out = {}
    for k, v in values.items():
        key(k, f"{field}[{k[:MAX_KEY_CHARS]!r}]")
        text(v, f"{field}[{k!r}]", MAX_VALUE_BYTES)
        out[k] = v
    return out


def metric_map(values: Mapping[str, float], field: str) -> dict[str, float]:
    """Metrics: valid keys and finite numbers."""
    if len(values) > MAX_ENTRIES:
        raise InvalidArgument.field(
            field, f"{len(values)} entries is over the limit of {MAX_ENTRIES}"
        )
    out = {}
    for k, v in values.items():
        key(k, f"{field}[{k[:MAX_KEY_CHARS]!r}]")
        if not math.isfinite(v):
            raise InvalidArgument.field(
                f"{field}[{k!r}]", f"metric must be a finite number, got {v!r}"
            )
        out[k] = float(v)
    return out


def alias(value: str, field: str = "alias") -> str:
    """An alias: ``[a-z][a-z0-9_-]{0,62}`` and not a stage name."""
    from services.metadata.domain import Stage

    if not _ALIAS.fullmatch(value):
        raise InvalidArgument.field(
            field,
            f"invalid alias {value[:80]!r}: use 1-63 characters of lower-case letters, digits, "
            "'_' and '-', starting with a letter",
        )
    if value in {s.value for s in Stage}:
        raise InvalidArgument.field(
            field,
            f"alias {value!r} is a stage name; 'name@{value}' resolves the stage, so choose "
            "another alias",
        )
    return value


def principal(value: str) -> str:
    """The acting principal from the request header, ``anonymous`` when absent."""
    value = value or "anonymous"
    if len(value) > MAX_PRINCIPAL_CHARS:
        raise InvalidArgument.field(
            "x-mreg-principal", f"principal is over the limit of {MAX_PRINCIPAL_CHARS} characters"
        )
    return value
