"""Semantic versions: parse, bump by change type, and order (pre-releases included).

Precedence follows semver.org section 11: major, minor and patch compare as numbers; a
pre-release sorts before its release; pre-release identifiers compare one by one, numbers
numerically and below words, words in ASCII order, and a longer list wins a tie. Build
metadata (``+...``) is kept but ignored for precedence.

The database orders versions by :func:`sort_key`, a byte string whose byte-wise order is
the precedence order, so "highest version" is one indexed ``ORDER BY`` on any backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from services.common.errors import InvalidArgument

_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_PATTERN = re.compile(
    r"(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
#: Longest version string accepted.
MAX_LENGTH = 128
_MAX_NUMBER = 2**63 - 1


class Bump(Enum):
    """Which part of the version a change increases."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


@dataclass(frozen=True, order=False)
class SemVer:
    """A parsed semantic version."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text

    def sort_key(self) -> bytes:
        """Bytes whose byte-wise order is semver precedence."""
        key = b"".join(n.to_bytes(8, "big") for n in (self.major, self.minor, self.patch))
        if not self.prerelease:
            return key + b"\xff"
        parts = []
        for ident in self.prerelease:
            if ident.isdigit():
                parts.append(b"\x01" + int(ident).to_bytes(8, "big"))
            else:
                parts.append(b"\x02" + ident.encode("ascii") + b"\x00")
        return key + b"".join(parts)

    def bump(self, bump: Bump) -> SemVer:
        """The next version for a change of kind ``bump``.

        From a pre-release the bump first completes the release it leads to
        (``2.0.0-rc.1`` bumped as major is ``2.0.0``), as npm and semver tools do.
        """
        if self.prerelease:
            if bump is Bump.PATCH:
                return SemVer(self.major, self.minor, self.patch)
            if bump is Bump.MINOR and self.patch == 0:
                return SemVer(self.major, self.minor, 0)
            if bump is Bump.MAJOR and self.minor == 0 and self.patch == 0:
                return SemVer(self.major, 0, 0)
        if bump is Bump.MAJOR:
            return SemVer(self.major + 1, 0, 0)
        if bump is Bump.MINOR:
            return SemVer(self.major, self.minor + 1, 0)
        return SemVer(self.major, self.minor, self.patch + 1)


#: The version a model's first bumped version gets.
FIRST = SemVer(1, 0, 0)


def parse(text: str, field: str = "version") -> SemVer:
    """Parse ``major.minor.patch[-prerelease][+build]``; INVALID_ARGUMENT naming ``field``."""
    match = _PATTERN.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if match is None:
        raise InvalidArgument.field(
            field,
            f"invalid semantic version {text[:MAX_LENGTH]!r}: expected "
            f"'major.minor.patch[-prerelease][+build]' (for example '1.4.0' or '2.0.0-rc.1'), "
            f"at most {MAX_LENGTH} characters",
        )
    numbers = [int(match[part]) for part in ("major", "minor", "patch")]
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    if any(n > _MAX_NUMBER for n in numbers) or any(
        p.isdigit() and int(p) > _MAX_NUMBER for p in pre
    ):
        raise InvalidArgument.field(
            field, f"invalid semantic version {text!r}: numbers must be below 2^63"
        )
    major, minor, patch = numbers
    return SemVer(major, minor, patch, prerelease=pre, build=match["build"] or "")


def next_version(latest: SemVer | None, bump: Bump | None) -> SemVer:
    """The version after ``latest`` (``1.0.0`` for a model without versions); patch by default."""
    if latest is None:
        return FIRST
    return latest.bump(bump or Bump.PATCH)
