"""HTTP rules read from the ``google.api.http`` options of a gRPC service's descriptors.

Every method of the service becomes one :class:`HttpRule` per binding (the main one and
its ``additional_bindings``): an HTTP method, a path template and the body field. Path
templates follow ``google/api/http.proto``: literal segments, variables ``{field}`` (one
segment) or ``{field=models/*/versions/*}`` (the pattern's segments, ``*`` one segment,
``**`` the rest), and an optional ``:verb`` after the last segment. Nothing is listed by
hand: a new annotated RPC is a new route.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Variable:
    """``{field=pattern}``: the dotted request field and the pattern's segments."""

    field: str
    pattern: tuple[str, ...]


Segment = str | Variable


@dataclass(frozen=True)
class Template:
    """A parsed path template: its segments (after the leading ``/``) and its verb."""

    text: str
    segments: tuple[Segment, ...]
    verb: str

    def match(self, path: RequestPath) -> dict[str, str] | None:
        """The path variables when ``path`` matches (None: it does not)."""
        if self.verb:
            if path.verb != self.verb:
                return None
            segments = path.before_verb
        else:
            segments = path.segments
        found: dict[str, str] = {}
        at = 0
        for segment in self.segments:
            if isinstance(segment, str):
                if at >= len(segments) or segments[at] != segment:
                    return None
                at += 1
                continue
            taken = _match_pattern(segment.pattern, segments[at:])
            if taken is None:
                return None
            found[segment.field] = "/".join(segments[at : at + taken])
            at += taken
        return found if at == len(segments) else None

    @property
    def variables(self) -> list[Variable]:
        return [s for s in self.segments if isinstance(s, Variable)]


def _match_pattern(pattern: tuple[str, ...], segments: list[str]) -> int | None:
    """How many of ``segments`` a variable's pattern takes (None: no match)."""
    if pattern[-1] == "**":
        fixed = _match_pattern(pattern[:-1], segments) if len(pattern) > 1 else 0
        return None if fixed is None else len(segments)
    if len(segments) < len(pattern):
        return None
    for want, got in zip(pattern, segments, strict=False):
        if not got or (want != "*" and want != got):
            return None
    return len(pattern)


def parse_template(text: str) -> Template:
    """Parse a path template; ``ValueError`` naming what is wrong."""
    if not text.startswith("/"):
        raise ValueError(f"path template {text!r} must start with '/'")
    body, verb = text[1:], ""
    last = body.rfind("/")
    colon = body.rfind(":")
    if colon > last and "}" not in body[colon:]:
        body, verb = body[:colon], body[colon + 1 :]
    segments: list[Segment] = []
    for part in _split_outside_braces(body):
        if part.startswith("{") and part.endswith("}"):
            field, _, pattern = part[1:-1].partition("=")
            segments.append(Variable(field, tuple((pattern or "*").split("/"))))
        elif "{" in part or "}" in part or not part:
            raise ValueError(f"path template {text!r}: malformed segment {part!r}")
        else:
            segments.append(part)
    return Template(text, tuple(segments), verb)


def _split_outside_braces(body: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in body:
        depth += char == "{"
        depth -= char == "}"
        if char == "/" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


@dataclass(frozen=True)
class RequestPath:
    """A request path's percent-decoded segments, read both ways: whole, and split at the
    last ``:`` of the last segment into segments and a custom verb (which templates with
    a verb match). Split before decoding, so ``%2F`` and ``%3A`` stay data."""

    segments: list[str]
    before_verb: list[str]
    verb: str

    @classmethod
    def parse(cls, raw_path: str) -> RequestPath:
        raw = raw_path.lstrip("/").split("/")
        head, _, verb = raw[-1].rpartition(":")
        before = [*raw[:-1], head] if verb and head else raw
        return cls(
            [unquote(s) for s in raw],
            [unquote(s) for s in before],
            unquote(verb) if head else "",
        )


@dataclass(frozen=True)
class HttpRule:
    """One HTTP binding of an RPC."""

    method: MethodDescriptor
    http_method: str  # upper case
    template: Template
    body: str  # "" (none), "*" or a top-level field name
    binding: int = 0  # 0: the main rule, then its additional_bindings in order

    @property
    def rpc(self) -> str:
        return self.method.name


def _bindings(rule: http_pb2.HttpRule) -> list[http_pb2.HttpRule]:
    return [rule, *rule.additional_bindings]


def rules_of(service: ServiceDescriptor) -> list[HttpRule]:
    """Every HTTP binding of ``service``'s methods, verbs before plain paths (so that
    ``.../versions/1.0.0:report`` is never read as a version named ``1.0.0:report``)."""
    found: list[HttpRule] = []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue
        for index, binding in enumerate(_bindings(options.Extensions[annotations_pb2.http])):
            kind = binding.WhichOneof("pattern")
            if kind not in _METHODS:
                raise ValueError(f"{method.full_name}: unsupported HTTP pattern {kind!r}")
            template = parse_template(getattr(binding, kind))
            found.append(HttpRule(method, kind.upper(), template, binding.body, index))
    return sorted(found, key=lambda r: r.template.verb == "")
