"""The HTTP rules read from registry.proto: every RPC has one, and paths match as
``google/api/http.proto`` says."""

from __future__ import annotations

import pytest

from services.gateway.http.json_api import SERVICE
from services.gateway.http.json_api.rules import RequestPath, parse_template, rules_of


def test_every_registry_rpc_has_an_http_binding() -> None:
    bound = {rule.rpc for rule in rules_of(SERVICE)}
    assert bound == {method.name for method in SERVICE.methods}


def test_no_two_bindings_take_the_same_method_and_path() -> None:
    seen = [(r.http_method, r.template.segments, r.template.verb) for r in rules_of(SERVICE)]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        (
            "/v1/{name=models/*/versions/*}",
            "/v1/models/m/versions/1.0.0",
            {"name": "models/m/versions/1.0.0"},
        ),
        (
            "/v1/{name=models/*/versions/*}",
            "/v1/models/m/versions/1.0.0:promote",
            {"name": "models/m/versions/1.0.0:promote"},
        ),
        (
            "/v1/{name=models/*/versions/*}:promote",
            "/v1/models/m/versions/1.0.0:promote",
            {"name": "models/m/versions/1.0.0"},
        ),
        ("/v1/{name=models/*/versions/*}:promote", "/v1/models/m/versions/1.0.0", None),
        ("/v1/{name=models/*/versions/*}", "/v1/models/m/versions", None),
        ("/v1/{name=models/*/versions/*}", "/v1/models//versions/1", None),
        (
            "/v1/references/{reference}",
            "/v1/references/m@production",
            {"reference": "m@production"},
        ),
        (
            "/v1/references/{reference}",
            "/v1/references/m%40production",
            {"reference": "m@production"},
        ),
        ("/v1/references/{reference}", "/v1/references/m:1.0.0", {"reference": "m:1.0.0"}),
        ("/v1/references/{reference}", "/v1/references/a%2Fb", {"reference": "a/b"}),
        ("/v1/references/{reference}", "/v1/references/a/b", None),
        ("/v1/versions:search", "/v1/versions:search", {}),
        ("/v1/files/{path=**}", "/v1/files/a/b/c", {"path": "a/b/c"}),
    ],
)
def test_templates_match_paths(template: str, path: str, expected: dict | None) -> None:
    assert parse_template(template).match(RequestPath.parse(path)) == expected


@pytest.mark.parametrize("template", ["v1/models", "/v1/{name", "/v1//models"])
def test_a_malformed_template_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match="path template"):
        parse_template(template)
