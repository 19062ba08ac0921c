"""The comments of ``.proto`` files, by the full name of what they document.

protoc keeps comments only in a descriptor set built with source info (``protoc
--include_source_info --descriptor_set_out=...``, ``buf build --as-file-descriptor-set``):
each ``SourceCodeInfo.Location`` names a declaration by its path of field numbers and
indexes into the ``FileDescriptorProto`` (``[4, 2, 2, 0]``: ``message_type[2].field[0]``)
and carries the comments above it (leading) and after it on the same line (trailing).
:func:`comments_of` turns those paths into full names, so
``modelregistry.v1.RegistryService.ResolveModelVersion`` or
``modelregistry.v1.ModelVersion.version`` find their text. The generated ``_pb2``
modules carry no source info, so this runs at build time (``scripts/gen_openapi.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import descriptor_pb2

# Field numbers of the descriptor protos (descriptor.proto).
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM, _MESSAGE_ONEOF = 2, 3, 4, 8
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

Path = tuple[int, ...]
Names = Iterator[tuple[Path, str]]


def _enum(enum: descriptor_pb2.EnumDescriptorProto, path: Path, scope: str) -> Names:
    name = f"{scope}.{enum.name}"
    yield path, name
    for index, value in enumerate(enum.value):
        # Enum values are scoped like siblings of their enum (C++ rules), but we name
        # them under it: that is where a reader looks for them.
        yield (*path, _ENUM_VALUE, index), f"{name}.{value.name}"


def _message(message: descriptor_pb2.DescriptorProto, path: Path, scope: str) -> Names:
    name = f"{scope}.{message.name}"
    yield path, name
    for index, field in enumerate(message.field):
        yield (*path, _MESSAGE_FIELD, index), f"{name}.{field.name}"
    for index, oneof in enumerate(message.oneof_decl):
        yield (*path, _MESSAGE_ONEOF, index), f"{name}.{oneof.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message(nested, (*path, _MESSAGE_NESTED, index), name)
    for index, enum in enumerate(message.enum_type):
        yield from _enum(enum, (*path, _MESSAGE_ENUM, index), name)


def _names(file: descriptor_pb2.FileDescriptorProto) -> dict[Path, str]:
    """Every documentable declaration of ``file``: its source path -> its full name."""
    package = file.package
    found: dict[Path, str] = {}
    for index, message in enumerate(file.message_type):
        found.update(_message(message, (_FILE_MESSAGE, index), package))
    for index, enum in enumerate(file.enum_type):
        found.update(_enum(enum, (_FILE_ENUM, index), package))
    for index, service in enumerate(file.service):
        name = f"{package}.{service.name}"
        found[(_FILE_SERVICE, index)] = name
        for number, method in enumerate(service.method):
            found[(_FILE_SERVICE, index, _SERVICE_METHOD, number)] = f"{name}.{method.name}"
    return found


def clean(comment: str) -> str:
    """A comment's text without the one space after each ``//`` and surrounding blank
    lines; paragraphs and list indentation are kept (the comments are Markdown)."""
    lines = [line[1:] if line.startswith(" ") else line for line in comment.split("\n")]
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def comments_of(files: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """Full name -> the comment documenting it (the leading comment, else the trailing
    one), for every file of ``files`` that has source info."""
    comments: dict[str, str] = {}
    for file in files.file:
        names = _names(file)
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            text = clean(location.leading_comments or location.trailing_comments)
            if name is not None and text:
                comments[name] = text
    return comments


def summary_of(text: str) -> str:
    """The first sentence of a comment's first paragraph, on one line."""
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]
