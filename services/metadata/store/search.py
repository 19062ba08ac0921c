"""Search over versions: AIP-160 filters and ``order_by`` compiled to SQLAlchemy, keyset pages.

Map fields (``metrics.k``, ``tags.k``, ``params.k``) are answered from ``version_properties``
through its ``(kind, key, value)`` indexes. When the filter's top-level ``AND`` already
requires a map entry that is also an ordering key, the ordering join is an inner join, so
PostgreSQL can walk the index in order and stop after one page.

Missing values (a version without the ordered metric) sort as larger than every value:
last ascending, first descending; this matches PostgreSQL's default and its indexes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, false, not_, or_, true
from sqlalchemy.orm import Session, aliased

from services.metadata import filters, semver
from services.metadata.domain import ModelVersion, Stage, State
from services.metadata.filters import BoolOp, Comparison, Not, Value
from services.metadata.store.schema import ModelRow, PropertyRow, VersionRow
from services.metadata.store.versions import to_versions, version_select

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}


@dataclass(frozen=True)
class Field:
    """A searchable field: its column, value type and whether ``<``/``>`` make sense."""

    column: Any
    type: str  # string | enum | time | version | number
    ordered: bool = True


FIELDS: dict[str, Field] = {
    "name": Field(ModelRow.name, "string"),
    "model": Field(ModelRow.name, "string"),
    "version": Field(VersionRow.sort_key, "version"),
    "stage": Field(VersionRow.stage, "stage", ordered=False),
    "state": Field(VersionRow.state, "state", ordered=False),
    "framework": Field(VersionRow.framework, "string"),
    "framework_version": Field(VersionRow.framework_version, "string"),
    "format": Field(VersionRow.format, "string"),
    "owner": Field(ModelRow.owner, "string"),
    "team": Field(ModelRow.team, "string"),
    "training_dataset": Field(VersionRow.training_dataset, "string"),
    "experiment_id": Field(VersionRow.experiment_id, "string"),
    "run_id": Field(VersionRow.run_id, "string"),
    "git_commit": Field(VersionRow.git_commit, "string"),
    "created_by": Field(VersionRow.created_by, "string"),
    "parameter_count": Field(VersionRow.parameter_count, "number"),
    "create_time": Field(VersionRow.create_time, "time"),
    "update_time": Field(VersionRow.update_time, "time"),
}
#: Map fields and the property kind that stores them.
MAPS = {"metrics": "m", "tags": "t", "params": "p"}
#: Fields of a version that exist but cannot be searched.
UNSEARCHABLE = {
    "description",
    "input_schema",
    "output_schema",
    "hyperparameters",
    "artifact_digest",
    "artifact_is_tree",
    "etag",
    "aliases",
    "failure_reason",
    "updated_by",
}
FIELD_LIST = ", ".join([*FIELDS, "metrics.KEY", "tags.KEY", "params.KEY"])


class Compiler:
    """Compiles a filter AST for one filter text (for error positions)."""

    def __init__(self, text: str, field: str = "filter") -> None:
        self.text, self.field = text, field

    def fail(self, pos: int, problem: str, hint: str = "") -> Exception:
        return filters.error(self.field, self.text, pos, problem, hint)

    def check_field(self, name: str, key: str, pos: int, for_order: bool = False) -> None:
        """Raise INVALID_ARGUMENT for unknown or unsearchable fields."""
        what = "ordered by" if for_order else "used in a filter"
        if name in MAPS:
            if not key:
                raise self.fail(pos, f"field {name!r} needs a key, as in '{name}.KEY'")
            return
        if name in FIELDS and not key:
            return
        if name in UNSEARCHABLE or (name in FIELDS and key):
            shown = f"{name}.{key}" if key else name
            raise self.fail(pos, f"field {shown!r} cannot be {what}", f"use one of {FIELD_LIST}")
        shown = f"{name}.{key}" if key else name
        raise self.fail(pos, f"unknown field {shown!r}", f"use one of {FIELD_LIST}")

    def compile(self, node: filters.Node) -> Any:
        """The SQL condition of ``node``."""
        if isinstance(node, BoolOp):
            parts = [self.compile(o) for o in node.operands]
            return and_(*parts) if node.op == "AND" else or_(*parts)
        if isinstance(node, Not):
            return not_(self.compile(node.operand))
        return self.comparison(node)

    def comparison(self, c: Comparison) -> Any:
        self.check_field(c.field, c.key, c.pos)
        if c.field in MAPS:
            kind = MAPS[c.field]
            column: Any
            value: Any
            if kind == "m":
                column, value = PropertyRow.num_value, self.number(c)
            else:
                column, value = PropertyRow.text_value, self.string(c)
            return exists().where(
                PropertyRow.version_id == VersionRow.id,
                PropertyRow.kind == kind,
                PropertyRow.key == c.key,
                _OPS[c.op](column, value),
            )
        spec = FIELDS[c.field]
        if not spec.ordered and c.op not in ("=", "!="):
            raise self.fail(c.pos, f"field {c.field!r} only supports = and !=, not {c.op!r}")
        return _OPS[c.op](spec.column, self.typed(spec, c))

    def typed(self, spec: Field, c: Comparison) -> Any:
        if spec.type == "number":
            return self.number(c)
        text = self.string(c)
        if spec.type == "stage":
            return _enum_value(text, Stage, "STAGE_", lambda: self.bad_enum(c, Stage))
        if spec.type == "state":
            return _enum_value(text, State, "VERSION_STATE_", lambda: self.bad_enum(c, State))
        if spec.type == "time":
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
            except ValueError:
                raise self.fail(
                    c.value.pos, f"{c.field} compares RFC 3339 times, got {text!r}"
                ) from None
        if spec.type == "version":
            return semver.parse(text, self.field).sort_key()
        return text

    def bad_enum(self, c: Comparison, enum: Any) -> Exception:
        allowed = ", ".join(e.value for e in enum)
        return self.fail(c.value.pos, f"{c.field} is one of {allowed}, got {c.value.value!r}")

    def number(self, c: Comparison) -> float:
        if c.value.kind != "number":
            raise self.fail(c.value.pos, f"{_shown(c)} compares numbers, got {_literal(c.value)}")
        return float(c.value.value)

    def string(self, c: Comparison) -> str:
        if c.value.kind == "number":
            raise self.fail(
                c.value.pos,
                f"{_shown(c)} compares strings, got the number {_literal(c.value)}; quote it",
            )
        return str(c.value.value)


def _shown(c: Comparison) -> str:
    return f"{c.field}.{c.key}" if c.key else c.field


def _literal(v: Value) -> str:
    return repr(v.value) if v.kind != "number" else f"{v.value:g}"


def _enum_value(text: str, enum: Any, prefix: str, fail: Callable[[], Exception]) -> str:
    name = text.upper().removeprefix(prefix)
    if name not in enum.__members__:
        raise fail()
    return enum[name].value


def required_entries(node: filters.Node | None) -> set[tuple[str, str]]:
    """Map entries (kind, key) that every match must have: top-level AND comparisons."""
    if node is None:
        return set()
    if isinstance(node, Comparison):
        return {(MAPS[node.field], node.key)} if node.field in MAPS else set()
    if isinstance(node, BoolOp) and node.op == "AND":
        return set().union(*(required_entries(o) for o in node.operands))
    return set()


@dataclass(frozen=True)
class OrderKey:
    """One ordering key: the SQL expression, its direction and how to (de)serialize it."""

    expr: Any
    desc: bool
    type: str


def parse_order(text: str, compiler: Compiler) -> list[tuple[str, str, bool, int]]:
    """``"metrics.auc desc, create_time"`` -> [(field, key, desc, pos)]."""
    if not text.strip():
        return [("create_time", "", True, 0)]
    out, pos = [], 0
    for part in text.split(","):
        words = part.split()
        start = pos + (len(part) - len(part.lstrip()))
        pos += len(part) + 1
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise filters.error(
                compiler.field,
                compiler.text,
                start,
                "expected 'FIELD' or 'FIELD desc' separated by commas",
            )
        name, _, key = words[0].partition(".")
        compiler.check_field(name, key, start, for_order=True)
        out.append((name, key, len(words) == 2 and words[1] == "desc", start))
    return out


@dataclass(frozen=True)
class Query:
    """A filter and an ordering compiled to SQL; the use cases only pass it to :func:`search`."""

    where: Any
    order: list[tuple[str, str, bool, int]]
    required: set[tuple[str, str]]


def compile_query(filter_text: str, order_by: str) -> Query:
    """Parse and type-check ``filter_text`` and ``order_by``; INVALID_ARGUMENT naming the
    position of the first problem."""
    tree = filters.parse(filter_text)
    where = Compiler(filter_text).compile(tree) if tree is not None else None
    order = parse_order(order_by, Compiler(order_by, "order_by"))
    return Query(where, order, required_entries(tree))


def search(
    session: Session,
    query: Query,
    show_archived: bool,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[ModelVersion], list[list[Any]]]:
    """One page of versions and the keyset position of each row."""
    stmt = version_select(session)
    keys: list[OrderKey] = []
    where, required = query.where, query.required
    for name, key, desc, _ in query.order:
        if name in MAPS:
            kind = MAPS[name]
            prop = aliased(PropertyRow)
            on = and_(prop.version_id == VersionRow.id, prop.kind == kind, prop.key == key)
            stmt = stmt.join(prop, on, isouter=(kind, key) not in required)
            column = prop.num_value if kind == "m" else prop.text_value
            keys.append(OrderKey(column, desc, "number" if kind == "m" else "string"))
        else:
            spec = FIELDS[name]
            keys.append(OrderKey(spec.column, desc, spec.type))
    last_desc = keys[-1].desc if keys else True
    keys.append(OrderKey(VersionRow.id, last_desc, "id"))
    if where is not None:
        stmt = stmt.where(where)
    if not show_archived:
        stmt = stmt.where(VersionRow.stage != Stage.ARCHIVED.value, ModelRow.archived == false())
    if after is not None:
        stmt = stmt.where(_after(keys, [_decode(k, v) for k, v in zip(keys, after, strict=True)]))
    ordering = [
        (k.expr.desc().nulls_first() if k.desc else k.expr.asc().nulls_last()) for k in keys
    ]
    extra = [k.expr.label(f"_k{i}") for i, k in enumerate(keys)]
    rows = list(session.execute(stmt.add_columns(*extra).order_by(*ordering).limit(limit)))
    positions = [[_encode(k, getattr(r, f"_k{i}")) for i, k in enumerate(keys)] for r in rows]
    return to_versions(rows), positions


def _after(keys: list[OrderKey], values: list[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``keys`` (missing values largest)."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [_equal(k.expr, v) for k, v in zip(keys[:i], values[:i], strict=True)]
        clauses.append(and_(*equal, _beyond(key, values[i])))
    return or_(*clauses)


def _equal(expr: Any, value: Any) -> Any:
    return expr.is_(None) if value is None else expr == value


def _beyond(key: OrderKey, value: Any) -> Any:
    if key.desc:
        # Descending with missing first: after a missing value come present ones.
        return expr_not_null(key.expr) if value is None else key.expr < value
    if value is None:
        return false()
    return (
        or_(key.expr > value, key.expr.is_(None))
        if key.type in ("number", "string")
        else (key.expr > value)
    )


def expr_not_null(expr: Any) -> Any:
    """``expr IS NOT NULL``."""
    return expr.is_not(None) if expr is not None else true()


def _encode(key: OrderKey, value: Any) -> Any:
    if value is None:
        return None
    if key.type == "time":
        return value.isoformat()
    if key.type == "version":
        return bytes(value).hex()
    return value


def _decode(key: OrderKey, value: Any) -> Any:
    if value is None:
        return None
    if key.type == "time":
        return datetime.fromisoformat(value)
    if key.type == "version":
        return bytes.fromhex(value)
    return value
