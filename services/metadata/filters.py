"""A subset of AIP-160 filters, parsed into an AST; errors point at the offending position.

Grammar (keywords are upper case, as in AIP-160)::

    expr       := and_expr ("OR" and_expr)*
    and_expr   := unary ("AND" unary)*
    unary      := "NOT" unary | "(" expr ")" | comparison
    comparison := FIELD OP VALUE        OP: = != < <= > >=
    FIELD      := name ("." key)?       e.g. stage, metrics.auc, tags.team
    VALUE      := "string" | 'string' | number | bare-word

Parentheses and ``NOT`` nest at most :data:`MAX_DEPTH` levels deep, so neither the parser
nor the SQL compiler recurses without bound; ``AND``/``OR`` chains are flat lists.

Positions in messages are 1-based character offsets into the filter text; messages quote
at most :data:`EXCERPT_CHARS` characters of the text around that position. Compiling the AST
to SQL is :mod:`services.metadata.store.search`'s job; it raises the type errors (a metric
compared with a string) through :func:`error` so they point at the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.common.errors import ELLIPSIS, InvalidArgument

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_./-]*)
    """,
    re.VERBOSE,
)
KEYWORDS = {"AND", "OR", "NOT"}
MAX_FILTER_CHARS = 4096
MAX_DEPTH = 32
EXCERPT_CHARS = 60


@dataclass(frozen=True)
class Token:
    """One lexical token and where it starts (0-based)."""

    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Value:
    """A literal: its kind (``string``, ``number``, ``word``), parsed value and position."""

    kind: str
    value: str | float
    pos: int


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``key`` is the map key of ``metrics.k`` style fields."""

    field: str
    key: str
    op: str
    value: Value
    pos: int


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` of two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``NOT operand``."""

    operand: Node


Node = Comparison | BoolOp | Not


def error(field: str, text: str, pos: int, problem: str, hint: str = "") -> InvalidArgument:
    """INVALID_ARGUMENT about ``field`` pointing at ``pos`` (0-based) of ``text``."""
    where = f"at position {pos + 1}" if pos < len(text) else "at the end"
    message = f"{problem} {where} of {excerpt(text, pos)}" + (f"; {hint}" if hint else "")
    return InvalidArgument.field(field, message, metadata={"position": str(pos + 1)})


def excerpt(text: str, pos: int) -> str:
    """``text`` quoted whole when short, else the :data:`EXCERPT_CHARS` characters around
    ``pos`` with an ellipsis on each side that was cut."""
    if len(text) <= EXCERPT_CHARS:
        return repr(text)
    start = min(max(0, pos - EXCERPT_CHARS // 3), len(text) - EXCERPT_CHARS)
    end = start + EXCERPT_CHARS
    before = ELLIPSIS if start > 0 else ""
    after = ELLIPSIS if end < len(text) else ""
    return f"{before}{text[start:end]!r}{after}"


def tokenize(text: str, field: str = "filter") -> list[Token]:
    """The tokens of ``text``; INVALID_ARGUMENT at the first character that fits no token."""
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidArgument.field(
            field, f"{len(text)} characters is over the limit of {MAX_FILTER_CHARS}"
        )
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise error(field, text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            word = match.group()
            if kind == "word" and word in KEYWORDS:
                kind = word
            tokens.append(Token(kind, word, pos))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, field: str) -> None:
        self.text, self.field = text, field
        self.tokens = tokenize(text, field)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, problem: str, token: Token | None = None) -> InvalidArgument:
        pos = token.pos if token else len(self.text)
        return error(self.field, self.text, pos, problem)

    def take(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token is None or token.kind != kind:
            found = f"found {token.text!r}" if token else "found the end"
            raise self.fail(f"expected {what}, {found}", token)
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.expr()
        token = self.peek()
        if token is not None:
            raise self.fail(f"expected AND, OR or the end, found {token.text!r}", token)
        return node

    def expr(self) -> Node:
        operands = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "OR":
            self.i += 1
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while (t := self.peek()) is not None and t.kind == "AND":
            self.i += 1
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def unary(self) -> Node:
        token = self.peek()
        if token is None or token.kind not in ("NOT", "lparen"):
            return self.comparison()
        if self.depth == MAX_DEPTH:
            raise self.fail(
                f"too deeply nested: the limit is {MAX_DEPTH} levels of parentheses and NOT, "
                f"found another {token.text!r}",
                token,
            )
        self.i += 1
        self.depth += 1
        try:
            if token.kind == "NOT":
                return Not(self.unary())
            node = self.expr()
            self.take("rparen", "')'")
            return node
        finally:
            self.depth -= 1

    def comparison(self) -> Comparison:
        name = self.take("word", "a field name")
        field, _, key = name.text.partition(".")
        op = self.take("op", f"a comparison operator (=, !=, <, <=, >, >=) after {name.text!r}")
        token = self.peek()
        if token is None or token.kind not in ("string", "number", "word"):
            raise self.fail(f"expected a value after {op.text!r}", token)
        self.i += 1
        return Comparison(field, key, op.text, _value(token), name.pos)


def _value(token: Token) -> Value:
    if token.kind == "string":
        body = token.text[1:-1]
        return Value("string", re.sub(r"\\(.)", r"\1", body), token.pos)
    if token.kind == "number":
        return Value("number", float(token.text), token.pos)
    return Value("word", token.text, token.pos)


def parse(text: str, field: str = "filter") -> Node | None:
    """The AST of a filter; None for an empty filter."""
    if not text.strip():
        return None
    return _Parser(text, field).parse()
