"""How MLflow's names and values become this registry's: the rules the README states.

Every function is pure: a value in, the value here out (or :class:`MappingError` saying
why there is none), and a note for each thing that had to change, so an import can
report what it altered instead of altering it silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping

#: This registry's model ids, aliases and map keys (as the metadata service checks them).
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,62}")
KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}")
STAGE_NAMES = ("development", "staging", "production", "archived", "deprecated")
MAX_VALUE_BYTES = 1024
MAX_ENTRIES = 256
MAX_DESCRIPTION_BYTES = 16 * 1024

#: MLflow's stages (``current_stage``) and the stage each becomes here.
STAGES = {
    "none": "development",
    "staging": "staging",
    "production": "production",
    "archived": "archived",
}

#: Tags the import adds, beside MLflow's own (which keep their keys).
TAG_VERSION = "mlflow.version"
TAG_STAGE = "mlflow.stage"
TAG_SOURCE = "mlflow.source"
TAG_LOGGED_MODEL = "mlflow.logged_model_id"
TAG_NAME = "mlflow.name"


class MappingError(ValueError):
    """An MLflow name that has no counterpart here; the message says what to do."""


def _ascii(text: str) -> str:
    """``Modèle`` -> ``Modele``: accents dropped, other non-ASCII characters kept (and
    replaced by the rules that follow)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def model_id(name: str) -> str:
    """An MLflow registered model's name as a model id here.

    Lower-cased, accents dropped, every run of characters other than ``a-z 0-9 . _ -``
    becomes one ``-``, ``..`` becomes ``.``, leading ``. _ -`` and trailing ``-`` go, and
    the result is cut to 128 characters: ``Fraud Detector`` -> ``fraud-detector``.
    """
    text = re.sub(r"[^a-z0-9._-]+", "-", _ascii(name).lower())
    text = re.sub(r"\.{2,}", ".", text)
    text = text.lstrip("._-")[:128].rstrip("-")
    if not MODEL_ID.fullmatch(text):
        raise MappingError(
            f"MLflow model {name!r} has no letters or digits to make a model id of; "
            f"give it one with --rename '{name}=NEW-ID'"
        )
    return text


def check_model_id(value: str) -> str:
    """A model id given with ``--rename``, as it is or refused."""
    if not MODEL_ID.fullmatch(value) or ".." in value:
        raise MappingError(
            f"{value!r} is not a model id: use 1-128 characters of a-z, 0-9, '.', '_' and "
            "'-', starting with a letter or digit, without '..'"
        )
    return value


def semver(number: int | str) -> str:
    """MLflow's version ``N`` -> ``N.0.0``."""
    n = int(number)
    if n < 1:
        raise MappingError(f"MLflow version {number!r} is not a positive integer")
    return f"{n}.0.0"


def stage(mlflow_stage: str | None) -> str:
    """MLflow's stage (``None``, ``Staging``, ``Production``, ``Archived``) -> the stage
    here; anything else (or no stage) is ``development``."""
    return STAGES.get((mlflow_stage or "none").strip().lower(), "development")


def alias(name: str) -> str:
    """An MLflow alias as an alias here.

    Lower-cased, every run of characters other than ``a-z 0-9 _ -`` becomes ``-``; one
    that then does not start with a letter, or is a stage name (``production``), gets the
    prefix ``mlflow-``; cut to 63 characters: ``Champion`` -> ``champion``,
    ``production`` -> ``mlflow-production``.
    """
    text = re.sub(r"[^a-z0-9_-]+", "-", _ascii(name).lower()).strip("-")
    if not text[:1].isalpha() or not text[:1].isascii() or text in STAGE_NAMES:
        text = f"mlflow-{text}".rstrip("-")
    text = text[:63]
    if not ALIAS.fullmatch(text) or text == "mlflow":
        raise MappingError(f"MLflow alias {name!r} has no letters or digits to make an alias of")
    return text


def key(name: str) -> str:
    """A tag, metric or parameter key: characters other than ``A-Z a-z 0-9 _ . / -``
    become ``_``, a leading ``.``, ``/`` or ``-`` gets a ``_`` before it, cut to 128:
    ``val loss`` -> ``val_loss``."""
    text = re.sub(r"[^A-Za-z0-9_./-]", "_", _ascii(name))
    if text and not re.match(r"[A-Za-z0-9_]", text):
        text = f"_{text}"
    text = text[:128]
    if not KEY.fullmatch(text):
        raise MappingError(f"key {name!r} is empty")
    return text


def _cut(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def text_value(value: str, limit: int, what: str, notes: list[str]) -> str:
    """``value`` cut to ``limit`` bytes of UTF-8 (on a character boundary), with a note."""
    if len(value.encode()) <= limit:
        return value
    notes.append(f"{what} cut from {len(value.encode())} to {limit} bytes")
    return _cut(value, limit)


def string_map(values: Mapping[str, str], what: str, notes: list[str]) -> dict[str, str]:
    """Tags or parameters with keys mapped by :func:`key` (a key that needs no change wins
    over one that becomes it), values cut to 1 KiB, at most 256 entries (the first by
    key); each change noted."""
    return _map(values, what, notes, lambda k, v: text_value(str(v), MAX_VALUE_BYTES, k, notes))


def metric_map(values: Mapping[str, float], what: str, notes: list[str]) -> dict[str, float]:
    """Metrics as :func:`string_map` treats keys; NaN and infinities are left out."""
    finite = {}
    for k, v in values.items():
        if math.isfinite(float(v)):
            finite[k] = float(v)
        else:
            notes.append(f"{what} {k!r} left out: {v} is not a finite number")
    return _map(finite, what, notes, lambda _k, v: v)


def _map(values: Mapping, what: str, notes: list[str], value_of) -> dict:
    out: dict = {}
    # Keys valid as they are come first, so one that needs no change keeps its value.
    for original in sorted(values, key=lambda k: (not KEY.fullmatch(k), k)):
        try:
            mapped = key(original)
        except MappingError as error:
            notes.append(f"{what} left out: {error}")
            continue
        if mapped in out:
            notes.append(f"{what} {original!r} left out: another key already became {mapped!r}")
            continue
        if len(out) == MAX_ENTRIES:
            notes.append(f"{what}: {len(values) - MAX_ENTRIES} entries over {MAX_ENTRIES} left out")
            break
        if mapped != original:
            notes.append(f"{what} {original!r} renamed {mapped!r}")
        out[mapped] = value_of(mapped, values[original])
    return out
