"""The OpenAPI description: fresh, served, and fuzzed with schemathesis against a real
gateway (a few hundred requests in all; no answer may be a 5xx)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from services.gateway.http.json_api import registry_openapi
from tests.http.conftest import Registry

ROOT = Path(__file__).resolve().parents[2]
#: Examples per operation: 10 x 31 operations, about 300 requests. Schemathesis's
#: coverage phase (every boundary value and unexpected method of every parameter, about
#: 2,000 requests here) is off to keep the suite to a few hundred.
EXAMPLES = 10
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})


def test_the_committed_description_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_openapi.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_operations_carry_their_rpcs_comments() -> None:
    resolve = registry_openapi()["paths"]["/v1/references/{reference}"]["get"]
    assert resolve["summary"] == (
        "ResolveModelVersion turns `name`, `name:version`, `name@alias` or `name@stage` "
        "into a version and its root artifact digest."
    )
    assert resolve["description"].endswith(
        "Errors:\n* INVALID_ARGUMENT: the reference is malformed.\n"
        "* NOT_FOUND: nothing matches the reference."
    )
    (reference,) = resolve["parameters"]
    assert reference["description"] == "`name`, `name:version`, `name@alias` or `name@stage`."
    assert resolve["responses"]["200"]["description"] == "Response of `ResolveModelVersion`."


def test_parameters_and_schema_fields_carry_their_fields_comments() -> None:
    document = registry_openapi()
    search = document["paths"]["/v1/versions:search"]["get"]
    page_size = next(p for p in search["parameters"] if p["name"] == "pageSize")
    assert page_size["description"] == "Maximum versions to return: 1 to 1000; 0 means 50."
    schemas = document["components"]["schemas"]
    answer = schemas["modelregistry.v1.ResolveModelVersionResponse"]
    assert answer["description"] == "Response of `ResolveModelVersion`."
    assert answer["properties"]["observedEventSequence"]["description"].startswith(
        "The newest event-outbox sequence committed before the answer was read.\nA cache"
    )
    # A described message field: the $ref inside allOf (OpenAPI 3.0 ignores $ref siblings).
    assert answer["properties"]["modelVersion"] == {
        "allOf": [{"$ref": "#/components/schemas/modelregistry.v1.ModelVersion"}],
        "description": "The version the reference points at.",
    }
    stage = schemas["modelregistry.v1.Stage"]["description"]
    assert "- `STAGE_PRODUCTION`: Serving production traffic." in stage


#: The description the gateway serves (test_the_description_is_served checks it is).
# An event stream stays open by design: fuzzed as a request, it would never end.
schema = schemathesis.openapi.from_dict(registry_openapi(), config=CONFIG).exclude(
    operation_id="WatchEvents"
)


def test_the_description_is_served(registry: Registry) -> None:
    with registry.http(None) as http:
        answer = http.get("/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.json() == json.loads(json.dumps(registry_openapi()))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case, registry: Registry) -> None:
    # The admin's token on every request, replacing any Authorization header generated
    # from the bearer scheme, so requests get past authentication into every RPC.
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {registry.tokens['admin']}"}
    case.call_and_validate(
        base_url=registry.url,
        checks=[not_a_server_error],
        timeout=30,
    )
