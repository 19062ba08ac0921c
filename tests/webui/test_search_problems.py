"""The search forms' parts that need no browser: which parenthesis has no partner, and
which input a refused search is about."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from services.common.errors import InvalidArgument, NotFound, RemoteError
from services.gateway.http.ui.search import SearchProblem, search_problem, unbalanced_parenthesis


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ('stage = "production"', 0),
        ("(a = 1 OR (b = 2)) AND c = 3", 0),
        ("a = 1) OR (b = 2", 6),
        ("(a = 1", 1),
        ("((a = 1)", 1),
        ("name = \"x)\" AND tags.k = '('", 0),  # quoted parentheses do not count
        ('name = "a\\")" OR (b = 1', 18),  # an escaped quote does not end the string
    ],
)
def test_the_first_parenthesis_without_a_partner_is_found(text: str, position: int) -> None:
    assert unbalanced_parenthesis(text) == position


def test_a_refused_filter_from_the_registry_is_about_the_filter_box() -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field="order_by")]
    )
    remote = RemoteError(grpc.StatusCode.INVALID_ARGUMENT, "order_by: unknown field", [bad])
    assert search_problem(remote) == SearchProblem("order_by: unknown field", "sort")
    local = InvalidArgument.field("size", "page size must be a whole number")
    assert search_problem(local) == SearchProblem("size: page size must be a whole number", "size")
    assert search_problem(InvalidArgument("no field named")) == SearchProblem("no field named", "")


def test_errors_that_are_not_about_the_search_are_not_shown_beside_it() -> None:
    assert search_problem(NotFound("model 'models/x' does not exist")) is None
