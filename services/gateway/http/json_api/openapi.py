"""The OpenAPI 3 description of the HTTP/JSON API, built from the service's descriptors.

Paths and methods come from the ``google.api.http`` rules (:mod:`.rules`), schemas from
the messages, in their proto3 JSON form: lowerCamelCase names, 64-bit integers as strings,
enums as their names, ``Timestamp`` as an RFC 3339 ``date-time`` string, ``FieldMask`` as
a comma-separated string, maps as objects. A path variable with a pattern
(``{name=models/*/versions/*}``) becomes one path parameter per ``*``, named after the
collection before it: ``/v1/models/{model}/versions/{version}``.

Given the protos' comments (:mod:`.proto_docs`), each operation's ``summary`` is the first
sentence of its RPC's comment and its ``description`` the whole comment (with its
"Errors:" list); parameters, request bodies, answers, schemas and their properties carry
the comments of their fields and messages, enums list their values' comments. A
described property that is a ``$ref`` becomes ``allOf: [$ref]`` beside the description
(OpenAPI 3.0 ignores siblings of ``$ref``). ``scripts/gen_openapi.py`` builds it at build
time into ``protos/modelregistry/v1/openapi.json``, which the gateway serves at
``/v1/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    ServiceDescriptor,
)

from services.gateway.http.json_api.proto_docs import summary_of
from services.gateway.http.json_api.rules import HttpRule, Variable, rules_of

T = FieldDescriptor
_INT32 = {T.TYPE_INT32, T.TYPE_SINT32, T.TYPE_SFIXED32, T.TYPE_UINT32, T.TYPE_FIXED32}
_INT64 = {T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_SFIXED64, T.TYPE_UINT64, T.TYPE_FIXED64}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "comma-separated field paths"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64"},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
}
_STATUS = "google.rpc.Status"


def described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """``schema`` with ``text`` as its description (none: unchanged)."""
    if not text:
        return schema
    if "$ref" in schema:
        return {"allOf": [schema], "description": text}
    if schema.get("description"):
        text = f"{text}\n\n({schema['description']})"
    return {**schema, "description": text}


class _Schemas:
    """Component schemas, added as messages and enums are met; ``comments`` by full name."""

    def __init__(self, comments: Mapping[str, str]) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self.comments = comments

    def doc(self, full_name: str) -> str:
        return self.comments.get(full_name, "")

    def ref(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def message(self, descriptor: Descriptor) -> dict[str, Any]:
        if descriptor.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[descriptor.full_name])
        name = descriptor.full_name
        if name not in self.components:
            self.components[name] = {}  # before the fields: messages may nest themselves
            properties = {
                f.json_name: described(self.field(f), self.doc(f.full_name))
                for f in descriptor.fields
            }
            schema: dict[str, Any] = {"type": "object", "properties": properties}
            self.components[name] = described(schema, self.doc(name))
        return self.ref(name)

    def enum(self, descriptor: EnumDescriptor) -> dict[str, Any]:
        name = descriptor.full_name
        if name not in self.components:
            values = [v.name for v in descriptor.values]
            schema = {"type": "string", "enum": values}
            documented = [
                f"- `{v.name}`: {' '.join(self.doc(f'{name}.{v.name}').split())}"
                for v in descriptor.values
                if self.doc(f"{name}.{v.name}")
            ]
            text = "\n\n".join(filter(None, [self.doc(name), "\n".join(documented)]))
            self.components[name] = described(schema, text)
        return self.ref(name)

    def scalar(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == T.TYPE_MESSAGE:
            return self.message(field.message_type)
        if field.type == T.TYPE_ENUM:
            return self.enum(field.enum_type)
        if field.type in (T.TYPE_DOUBLE, T.TYPE_FLOAT):
            return {
                "type": "number",
                "format": "double" if field.type == T.TYPE_DOUBLE else "float",
            }
        if field.type in _INT32:
            return {"type": "integer", "format": "int32"}
        if field.type in _INT64:
            return {"type": "string", "format": "int64"}
        if field.type == T.TYPE_BOOL:
            return {"type": "boolean"}
        if field.type == T.TYPE_BYTES:
            return {"type": "string", "format": "byte"}
        return {"type": "string"}

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.scalar(value)}
        if field.is_repeated:
            return {"type": "array", "items": self.scalar(field)}
        return self.scalar(field)


def _field_doc(schemas: _Schemas, message: Descriptor, dotted: str) -> str:
    """The comment of the field at ``dotted`` (``model_version.name``) in ``message``."""
    *outer, last = dotted.split(".")
    for name in outer:
        field = message.fields_by_name.get(name)
        if field is None or field.message_type is None:
            return ""
        message = field.message_type
    field = message.fields_by_name.get(last)
    return schemas.doc(field.full_name) if field is not None else ""


def _path(schemas: _Schemas, rule: HttpRule) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a rule and its path parameters."""
    parts: list[str] = []
    parameters: list[dict[str, Any]] = []
    for segment in rule.template.segments:
        if isinstance(segment, str):
            parts.append(segment)
            continue
        names = _expand(segment)
        doc = _field_doc(schemas, rule.method.input_type, segment.field)
        where = ""
        if segment.pattern != ("*",):
            where = f"Part of `{segment.field}` (`{'/'.join(segment.pattern)}`)."
        for index, piece in enumerate(segment.pattern):
            if piece in ("*", "**"):
                parts.append("{" + names[index] + "}")
                parameters.append(
                    {
                        "name": names[index],
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "\n\n".join(filter(None, [doc, where])),
                    }
                )
            else:
                parts.append(piece)
    path = "/" + "/".join(parts)
    return (path + ":" + rule.template.verb if rule.template.verb else path), parameters


def _expand(variable: Variable) -> dict[int, str]:
    """Parameter names for a variable's wildcards: the collection before each, singular
    (``models/*`` -> ``model``), or the field's own name for ``{field}``."""
    if variable.pattern == ("*",):
        return {0: variable.field.split(".")[-1]}
    names = {}
    for index, piece in enumerate(variable.pattern):
        if piece in ("*", "**"):
            before = variable.pattern[index - 1] if index else variable.field
            names[index] = before[:-1] if before.endswith("s") else before
    return names


def _query(
    schemas: _Schemas, descriptor: Descriptor, bound: set[str], prefix: str = "", named: str = ""
) -> list[dict[str, Any]]:
    """Query parameters for the fields of ``descriptor`` that neither path nor body take;
    a message field is flattened one level (``node.type``)."""
    found: list[dict[str, Any]] = []
    for field in descriptor.fields:
        dotted = prefix + field.name
        if dotted in bound:
            continue
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            continue
        if message is not None and message.full_name not in _WELL_KNOWN:
            if not prefix and not field.is_repeated:
                found += _query(schemas, message, bound, dotted + ".", field.json_name + ".")
            continue
        parameter = {"name": named + field.json_name, "in": "query", "schema": schemas.field(field)}
        found.append(described(parameter, schemas.doc(field.full_name)))
    return found


def _operation(schemas: _Schemas, rule: HttpRule, parameters: list[dict[str, Any]]) -> dict:
    method = rule.method
    bound = {v.field for v in rule.template.variables}
    operation: dict[str, Any] = {
        "operationId": method.name + (f"_{rule.binding}" if rule.binding else ""),
        "summary": summary_of(schemas.doc(method.full_name))
        or f"{method.containing_service.name}.{method.name}",
        "tags": [method.containing_service.name],
    }
    if schemas.doc(method.full_name):
        operation["description"] = schemas.doc(method.full_name)
    body_doc = ""
    if rule.body == "*":
        body_schema = schemas.message(method.input_type)
        body_doc = schemas.doc(method.input_type.full_name)
    elif rule.body:
        field = method.input_type.fields_by_name[rule.body]
        bound.add(rule.body)
        body_schema = schemas.field(field)
        body_doc = schemas.doc(field.full_name)
    query = [] if rule.body == "*" else _query(schemas, method.input_type, bound)
    operation["parameters"] = parameters + query
    if rule.body:
        operation["requestBody"] = described(
            {"required": False, "content": {"application/json": {"schema": body_schema}}},
            body_doc,
        )
    if method.server_streaming:
        operation["parameters"].append(
            {
                "name": "format",
                "in": "query",
                "description": "`json` (default): each event's proto3 JSON; `cloudevents`: "
                "each event as a CloudEvent 1.0 (docs/events.md)",
                "schema": {"type": "string", "enum": ["json", "cloudevents"]},
            }
        )
        ok = {
            "description": "server-sent events: `id:` the event's sequence (send it back as "
            "`Last-Event-ID` to resume), `data:` the proto3 JSON of one "
            f"`{method.output_type.fields[0].message_type.full_name}` (or its CloudEvent "
            "with `format=cloudevents`)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    else:
        ok = {
            "description": schemas.doc(method.output_type.full_name) or "OK",
            "content": {"application/json": {"schema": schemas.message(method.output_type)}},
        }
    operation["responses"] = {
        "200": ok,
        "default": {
            "description": "an error: a google.rpc.Status",
            "content": {"application/json": {"schema": schemas.ref(_STATUS)}},
        },
    }
    return operation


def build_openapi(
    service: ServiceDescriptor, comments: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``service``'s HTTP bindings, described by
    ``comments`` (full name -> text, :func:`.proto_docs.comments_of`) where given."""
    schemas = _Schemas(comments or {})
    schemas.components[_STATUS] = {
        "type": "object",
        "properties": {
            "code": {"type": "integer", "format": "int32", "description": "a google.rpc.Code"},
            "message": {"type": "string", "description": "what went wrong, for people"},
            "details": {
                "type": "array",
                "items": _WELL_KNOWN["google.protobuf.Any"],
                "description": "google.rpc detail messages (ErrorInfo, BadRequest, ...)",
            },
        },
        "description": "An error: its google.rpc.Code, a message and machine-readable details.",
    }
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(rules_of(service), key=lambda r: r.method.index):
        path, parameters = _path(schemas, rule)
        operation = _operation(schemas, rule, parameters)
        paths.setdefault(path, {})[rule.http_method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": service.full_name,
            "version": service.file.package.rsplit(".", 1)[-1],
            "description": "HTTP/JSON bindings of the gRPC service, from the google.api.http "
            f"annotations of {service.file.name}, which documents every RPC and its errors. "
            "Bodies and answers are proto3 JSON; errors are google.rpc.Status JSON.",
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
