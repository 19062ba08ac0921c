"""HTTP request -> request message, response message -> JSON (the proto3 JSON mapping).

A request message is assembled as a JSON object and parsed once with
``google.protobuf.json_format``, so every field takes the proto3 JSON forms (int64 as a
number or a string, enums by name, ``Timestamp`` as RFC 3339, ``FieldMask`` as
``"a,b"``) wherever it comes from:

- the body: the whole object (``body: "*"``) or one field's value (``body: "field"``);
- path variables, by their dotted field path (``model_version.name``); they win over the
  body;
- query parameters, also by dotted field path (proto or JSON names), for the fields the
  path and body leave: a repeated field takes every value given, any other field one.
"""

from __future__ import annotations

import json
import re
from typing import Any

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.gateway.http.json_api.rules import HttpRule
from services.gateway.http.json_api.status import HttpJsonError

#: Message types that take one JSON string or number, so a query parameter can carry them.
_SCALAR_MESSAGES = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        *(
            f"google.protobuf.{n}Value"
            for n in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String")
        ),
    }
)


def invalid(
    message: str, field: str | None = None, reason: str = "INVALID_REQUEST"
) -> HttpJsonError:
    return HttpJsonError(grpc.StatusCode.INVALID_ARGUMENT, message, reason=reason, field=field)


def parse_body(raw: bytes) -> Any:
    """The JSON value of a request body; 400 when it is not JSON."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise invalid("the request body is not UTF-8", reason="MALFORMED_JSON") from None
    except json.JSONDecodeError as error:
        raise invalid(
            f"the request body is not valid JSON: {error}", reason="MALFORMED_JSON"
        ) from None
    except RecursionError:
        raise invalid("the request body nests too deeply", reason="MALFORMED_JSON") from None


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    return descriptor.fields_by_name.get(name) or next(
        (f for f in descriptor.fields if f.json_name == name), None
    )


def _resolve(descriptor: Descriptor, path: str) -> list[FieldDescriptor]:
    """The fields along a dotted path; 400 naming it when one does not exist."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for part in path.split("."):
        found = _field(current, part) if current is not None else None
        if found is None:
            raise invalid(
                f"{descriptor.name} has no field {path!r}", field=path, reason="UNKNOWN_FIELD"
            )
        fields.append(found)
        current = found.message_type if found.type == FieldDescriptor.TYPE_MESSAGE else None
    return fields


def _put(target: dict, fields: list[FieldDescriptor], value: Any, key: str = "") -> None:
    """Set the field at ``fields`` (under ``key``, the caller's spelling of its name)."""
    for field in fields[:-1]:
        inner = target.setdefault(field.name, target.pop(field.json_name, {}))
        if not isinstance(inner, dict):
            raise invalid(f"{field.json_name} must be an object", field=field.json_name)
        target = inner
    # One spelling of the field: this value replaces the body's under either name.
    target.pop(fields[-1].json_name, None)
    target.pop(fields[-1].name, None)
    target[key or fields[-1].name] = value


def _query_value(field: FieldDescriptor, text: str, name: str) -> Any:
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise invalid(f"query parameter {name!r} must be true or false, got {text[:64]!r}", name)
    return text


def build_request(
    rule: HttpRule, variables: dict[str, str], query: list[tuple[str, str]], body: Any
) -> Message:
    """The request message of ``rule``'s RPC from what the HTTP request carried."""
    descriptor = rule.method.input_type
    document: dict[str, Any]
    if rule.body == "*":
        if not isinstance(body, dict):
            raise invalid("the request body must be a JSON object", reason="MALFORMED_JSON")
        document = body
    elif rule.body:
        document = {}
        if body is not None:
            document[rule.body] = body
    else:
        document = {}
    for path, value in variables.items():
        _put(document, _resolve(descriptor, path), value)
    seen: dict[str, list[str]] = {}
    for name, text in query:
        seen.setdefault(name, []).append(text)
    if seen and rule.body == "*":
        raise invalid(
            f"{rule.http_method} {rule.template.text} takes its fields in the body, "
            f"not as query parameters ({', '.join(sorted(seen))[:200]})",
            field=next(iter(seen)),
            reason="UNKNOWN_FIELD",
        )
    taken = {rule.body, *variables}
    for name, texts in seen.items():
        fields = _resolve(descriptor, name)
        dotted = ".".join(f.name for f in fields)
        if any(dotted == t or dotted.startswith(t + ".") for t in taken if t):
            where = "the body" if fields[0].name == rule.body else "the path"
            raise invalid(f"field {name!r} is given by {where}, not a query parameter", name)
        last = fields[-1]
        if last.type == FieldDescriptor.TYPE_MESSAGE and last.message_type.full_name not in (
            _SCALAR_MESSAGES
        ):
            raise invalid(f"field {name!r} is a message and cannot be a query parameter", name)
        if last.is_repeated:
            _put(document, fields, [_query_value(last, t, name) for t in texts], _leaf(name))
        elif len(texts) > 1:
            raise invalid(f"query parameter {name!r} takes one value, got {len(texts)}", name)
        else:
            _put(document, fields, _query_value(last, texts[0], name), _leaf(name))
    message = message_factory.GetMessageClass(descriptor)()
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as error:
        text = str(error).splitlines()[0]
        raise invalid(text, field=_violation_field(text), reason="INVALID_FIELD") from None
    except RecursionError:
        raise invalid("the request body nests too deeply", reason="MALFORMED_JSON") from None
    return message


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _violation_field(text: str) -> str | None:
    """The field a ``json_format.ParseError`` names, as a dotted path in the request."""
    unknown = re.search(r'has no field named "([^"]+)" at "([^"]+)"', text)
    if unknown:
        return ".".join([*unknown.group(2).split(".")[1:], unknown.group(1)])
    where = re.search(r" at ([\w.\[\]]+?)\.*$", text)
    if where:
        return ".".join(where.group(1).split(".")[1:]) or None
    failed = re.match(r"Failed to parse (\w+) field", text)
    return failed.group(1) if failed else None


def to_json(message: Message) -> dict[str, Any]:
    """The proto3 JSON of a response (lowerCamelCase names, default values left out)."""
    return json_format.MessageToDict(message)
