"""The search forms of the models and model pages: what was asked, and why it was refused.

A search is a filter expression in the registry's filter language (the one
``SearchModelVersions`` and ``mreg search`` take), a sort and a page size, all in the
URL so a search can be shared. A search the registry refuses (INVALID_ARGUMENT: a filter
that does not parse, an unknown field, a sort it cannot do) is shown beside the form,
which keeps what was typed, instead of on an error page.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2

from services.common.errors import RegistryError

#: The form input each request field of an error names.
INPUT_OF = {
    "filter": "q",
    "q": "q",
    "order_by": "sort",
    "sort": "sort",
    "page_size": "size",
    "size": "size",
    "page_token": "page",
    "page": "page",
}


@dataclass(frozen=True)
class SearchProblem:
    """Why a search was refused, and the form input it is about ("" for the whole form)."""

    message: str
    input: str


def search_problem(error: RegistryError) -> SearchProblem | None:
    """The problem to show beside the form, or None when ``error`` is not about the search
    (it is not INVALID_ARGUMENT)."""
    if error.code != grpc.StatusCode.INVALID_ARGUMENT:
        return None
    fields = [v.field for v in error.field_violations]
    for detail in getattr(error, "remote_details", ()):
        if isinstance(detail, error_details_pb2.BadRequest):
            fields.extend(v.field for v in detail.field_violations)
    inputs = [INPUT_OF[f] for f in fields if f in INPUT_OF]
    return SearchProblem(error.message, inputs[0] if inputs else "")


def unbalanced_parenthesis(text: str) -> int:
    """The 1-based position of the first parenthesis of ``text`` that has no partner
    (outside quoted strings), or 0 when they pair up.

    A filter combined with another as ``A AND (text)`` must not close that group itself:
    ``x = 1) OR (y = 2`` would turn it into ``(A AND x = 1) OR y = 2``.
    """
    opened: list[int] = []
    quote = ""
    escaped = False
    for index, char in enumerate(text, 1):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "(":
            opened.append(index)
        elif char == ")":
            if not opened:
                return index
            opened.pop()
    return opened[0] if opened else 0
