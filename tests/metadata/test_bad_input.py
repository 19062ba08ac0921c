"""Every bad input of issue 4 answers the exact status code and message.

Names and versions, filters (syntax, unknown and unsupported fields, types), page tokens
and sizes, metrics that are not finite, oversized tags and descriptions, and SQL
metacharacters, which are stored verbatim and never executed.
"""

from __future__ import annotations

import math

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of

R = resources_pb2
FIELDS = (
    "name, model, version, stage, state, framework, framework_version, format, owner, team, "
    "training_dataset, experiment_id, run_id, git_commit, created_by, parameter_count, "
    "create_time, update_time, metrics.KEY, tags.KEY, params.KEY"
)
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("fraud/1.0.0", "name: expected 'models/{model}/versions/{version}', got 'fraud/1.0.0'"),
        (
            "models/Fraud/versions/1.0.0",
            "name: invalid model id 'Fraud': use 1-128 characters of lower-case letters, "
            "digits, '.', '_' and '-', starting with a letter or digit, without '..'",
        ),
        (
            "models/fraud/versions/1.0",
            "name: invalid semantic version '1.0': expected "
            "'major.minor.patch[-prerelease][+build]' (for example '1.4.0' or '2.0.0-rc.1'), "
            "at most 128 characters",
        ),
    ],
)
def test_bad_version_names(client: Client, name: str, message: str) -> None:
    code, got = status_of(
        lambda: client.GetModelVersion(metadata_pb2.GetModelVersionRequest(name=name))
    )
    assert (code, got) == (INVALID, message)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("01.0.0", "invalid semantic version '01.0.0'"),
        ("1.0.0-", "invalid semantic version '1.0.0-'"),
        ("v1.0.0", "invalid semantic version 'v1.0.0'"),
        ("1.0.0-rc.01", "invalid semantic version '1.0.0-rc.01'"),
    ],
)
def test_bad_explicit_versions(client: Client, version: str, message: str) -> None:
    code, got = status_of(lambda: client.create(version=version))
    assert code == INVALID
    assert got == (
        f"model_version.version: {message}: expected 'major.minor.patch[-prerelease][+build]' "
        "(for example '1.4.0' or '2.0.0-rc.1'), at most 128 characters"
    )


def test_bad_parent_and_model_name(client: Client) -> None:
    code, got = status_of(lambda: client.create(model="a..b"))
    assert (code, got) == (
        INVALID,
        "parent: invalid model id 'a..b': use 1-128 characters of lower-case letters, digits, "
        "'.', '_' and '-', starting with a letter or digit, without '..'",
    )
    code, got = status_of(lambda: client.GetModel(metadata_pb2.GetModelRequest(name="fraud")))
    assert (code, got) == (INVALID, "name: expected 'models/{model}', got 'fraud'")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "",
            "reference: a reference is required: 'name', 'name:1.2.0', 'name@alias' or "
            "'name@production'",
        ),
        (
            "fraud@Champion",
            "reference: invalid alias 'Champion': use 1-63 characters of "
            "lower-case letters, digits, '_' and '-', starting with a letter",
        ),
    ],
)
def test_bad_references(client: Client, reference: str, message: str) -> None:
    code, got = status_of(
        lambda: client.ResolveModelVersion(
            metadata_pb2.ResolveModelVersionRequest(reference=reference)
        )
    )
    assert (code, got) == (INVALID, message)


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ("foo = 1", f"unknown field 'foo' at position 1 of 'foo = 1'; use one of {FIELDS}"),
        (
            'stage = "staging" AND description = "x"',
            "field 'description' cannot be used in a filter at position 23 of "
            f'\'stage = "staging" AND description = "x"\'; use one of {FIELDS}',
        ),
        (
            "metrics = 1",
            "field 'metrics' needs a key, as in 'metrics.KEY' at position 1 of 'metrics = 1'",
        ),
        (
            "framework.x = 1",
            f"field 'framework.x' cannot be used in a filter at position 1 of "
            f"'framework.x = 1'; use one of {FIELDS}",
        ),
        (
            'metrics.auc > "high"',
            "metrics.auc compares numbers, got 'high' at position 15 of 'metrics.auc > \"high\"'",
        ),
        (
            "tags.team = 5",
            "tags.team compares strings, got the number 5; quote it at position "
            "13 of 'tags.team = 5'",
        ),
        ("metrics.auc >", "expected a value after '>' at the end of 'metrics.auc >'"),
        ("(stage = staging", "expected ')', found the end at the end of '(stage = staging'"),
        (
            "stage staging",
            "expected a comparison operator (=, !=, <, <=, >, >=) after 'stage', "
            "found 'staging' at position 7 of 'stage staging'",
        ),
        ("stage = x y", "expected AND, OR or the end, found 'y' at position 11 of 'stage = x y'"),
        (
            "stage = ready",
            "stage is one of development, staging, production, archived, "
            "deprecated, got 'ready' at position 9 of 'stage = ready'",
        ),
        (
            "stage > staging",
            "field 'stage' only supports = and !=, not '>' at position 1 of 'stage > staging'",
        ),
        ("name = 'x' ; DROP", "unexpected character ';' at position 12 of \"name = 'x' ; DROP\""),
        (
            'create_time > "yesterday"',
            "create_time compares RFC 3339 times, got 'yesterday' "
            "at position 15 of 'create_time > \"yesterday\"'",
        ),
    ],
)
def test_bad_filters_point_at_the_position(client: Client, filter_: str, message: str) -> None:
    code, got = status_of(
        lambda: client.SearchModelVersions(metadata_pb2.SearchModelVersionsRequest(filter=filter_))
    )
    assert (code, got) == (INVALID, f"filter: {message}")


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ("colour", f"unknown field 'colour' at position 1 of 'colour'; use one of {FIELDS}"),
        (
            "create_time up",
            "expected 'FIELD' or 'FIELD desc' separated by commas at position 1 "
            "of 'create_time up'",
        ),
        (
            "name, description desc",
            "field 'description' cannot be ordered by at position 7 of "
            f"'name, description desc'; use one of {FIELDS}",
        ),
    ],
)
def test_bad_order_by(client: Client, order_by: str, message: str) -> None:
    code, got = status_of(
        lambda: client.SearchModelVersions(
            metadata_pb2.SearchModelVersionsRequest(order_by=order_by)
        )
    )
    assert (code, got) == (INVALID, f"order_by: {message}")


def _two_pages(client: Client) -> str:
    for _ in range(3):
        client.create(ready=True, metrics={"auc": 0.5})
    page = client.SearchModelVersions(
        metadata_pb2.SearchModelVersionsRequest(filter="metrics.auc > 0", page_size=1)
    )
    return page.next_page_token


def test_page_token_from_another_query_is_refused(client: Client) -> None:
    token = _two_pages(client)
    code, got = status_of(
        lambda: client.SearchModelVersions(
            metadata_pb2.SearchModelVersionsRequest(
                filter="metrics.auc > 0.1", page_size=1, page_token=token
            )
        )
    )
    assert (code, got) == (
        INVALID,
        "page_token: page token belongs to a different query: repeat the request with the same "
        "parent, filter and order_by as the one that returned it, or drop the token",
    )
    code, got = status_of(
        lambda: client.ListModelVersions(
            metadata_pb2.ListModelVersionsRequest(parent="models/fraud", page_token=token)
        )
    )
    assert code == INVALID and got.startswith("page_token: page token belongs to a different")


@pytest.mark.parametrize("tamper", ["flip", "truncate", "garbage"])
def test_tampered_page_token_is_refused(client: Client, tamper: str) -> None:
    token = _two_pages(client)
    if tamper == "flip":
        i = len(token) - 3
        token = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    elif tamper == "truncate":
        token = token[:10]
    else:
        token = "not a token!"
    code, got = status_of(
        lambda: client.SearchModelVersions(
            metadata_pb2.SearchModelVersionsRequest(
                filter="metrics.auc > 0", page_size=1, page_token=token
            )
        )
    )
    assert (code, got) == (
        INVALID,
        "page_token: invalid page token: it was not issued by this service or was altered",
    )


@pytest.mark.parametrize("size", [-1, 1001])
def test_page_size_out_of_range(client: Client, size: int) -> None:
    client.create()
    message = (
        f"page_size: page size must be between 1 and 1000 (0 for the default of 50), got {size}"
    )
    for call in (
        lambda: client.SearchModelVersions(metadata_pb2.SearchModelVersionsRequest(page_size=size)),
        lambda: client.ListModelVersions(
            metadata_pb2.ListModelVersionsRequest(parent="models/fraud", page_size=size)
        ),
    ):
        assert status_of(call) == (INVALID, message)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_metrics_must_be_finite(client: Client, value: float) -> None:
    code, got = status_of(lambda: client.create(metrics={"auc": value}))
    assert (code, got) == (
        INVALID,
        f"model_version.metrics['auc']: metric must be a finite number, got {value!r}",
    )
    v = client.create()
    code, got = status_of(
        lambda: client.CreateEvaluation(
            metadata_pb2.CreateEvaluationRequest(
                parent=v.name,
                evaluation=R.Evaluation(
                    dataset_name="d", type=R.EVALUATION_TYPE_TEST, metrics={"auc": value}
                ),
            )
        )
    )
    assert (code, got) == (
        INVALID,
        f"evaluation.metrics['auc']: metric must be a finite number, got {value!r}",
    )


def test_oversized_description_says_the_limit(client: Client) -> None:
    code, got = status_of(lambda: client.create(description="x" * 16385))
    assert (code, got) == (
        INVALID,
        "model_version.description: 16385 bytes is over the limit of 16384 bytes (16 KiB)",
    )


def test_oversized_tag_value_and_key_say_the_limit(client: Client) -> None:
    code, got = status_of(lambda: client.create(tags={"team": "é" * 513}))
    assert (code, got) == (
        INVALID,
        "model_version.tags['team']: 1026 bytes is over the limit of 1024 bytes (1 KiB)",
    )
    key = "k" * 129
    code, got = status_of(lambda: client.create(tags={key: "v"}))
    assert code == INVALID
    assert got == (
        f"model_version.tags[{key[:128]!r}]: invalid key {key!r}: use 1-128 characters of "
        "letters, digits, '_', '.', '/' and '-', starting with a letter, digit or '_'"
    )


def test_too_many_tags_say_the_limit(client: Client) -> None:
    code, got = status_of(lambda: client.create(tags={f"k{i}": "v" for i in range(257)}))
    assert (code, got) == (INVALID, "model_version.tags: 257 entries is over the limit of 256")


def test_malformed_digest_and_request_id(client: Client) -> None:
    code, got = status_of(lambda: client.create(artifact_digest=R.Digest(hash="XYZ", size_bytes=1)))
    assert (code, got) == (
        INVALID,
        "model_version.artifact_digest.hash: invalid SHA-256 'XYZ': expected 64 lower-case "
        "hexadecimal characters",
    )
    code, got = status_of(lambda: client.create(request_id="has space"))
    assert (code, got) == (
        INVALID,
        "request_id: invalid request id 'has space': use 1-128 characters of letters, digits, "
        "'.', '_', ':' and '-' (a UUID is a good choice)",
    )


SQL = "'; DROP TABLE model_versions; -- \" \\ % _ ) OR 1=1 /*"


def test_sql_metacharacters_in_every_string_field_are_stored_verbatim(client: Client) -> None:
    strings = {
        f: f"{f} {SQL}"
        for f in (
            "format",
            "framework",
            "framework_version",
            "input_schema",
            "output_schema",
            "training_dataset",
            "experiment_id",
            "run_id",
            "git_commit",
            "description",
        )
    }
    v = client.create(
        ready=True,
        principal=f"eve {SQL}",
        metrics={"m_1": 1.0},
        params={"p": SQL},
        hyperparameters={"h": SQL},
        tags={"t": SQL},
        **strings,
    )
    got = client.GetModelVersion(metadata_pb2.GetModelVersionRequest(name=v.name)).model_version
    for field, value in strings.items():
        assert getattr(got, field) == value
    assert got.created_by == f"eve {SQL}"
    assert (got.params["p"], got.hyperparameters["h"], got.tags["t"]) == (SQL, SQL, SQL)
    quoted = SQL.replace("\\", "\\\\").replace('"', '\\"')
    hits = client.SearchModelVersions(
        metadata_pb2.SearchModelVersionsRequest(filter=f'tags.t = "{quoted}"')
    )
    assert [x.name for x in hits.model_versions] == [v.name]
    evaluation = client.CreateEvaluation(
        metadata_pb2.CreateEvaluationRequest(
            parent=v.name,
            evaluation=R.Evaluation(
                dataset_name=SQL,
                dataset_version=SQL,
                type=R.EVALUATION_TYPE_TEST,
                evaluator=SQL,
                comment=SQL,
            ),
        )
    ).evaluation
    assert (evaluation.dataset_name, evaluation.comment) == (SQL, SQL)
    edge = client.CreateLineageEdge(
        metadata_pb2.CreateLineageEdgeRequest(
            edge=R.LineageEdge(
                subject=R.LineageNode(type=R.LINEAGE_NODE_TYPE_RUN, key=SQL),
                type=R.LINEAGE_EDGE_TYPE_PRODUCED_BY,
                object=R.LineageNode(type=R.LINEAGE_NODE_TYPE_EXPERIMENT, key=f"x{SQL}"),
            )
        )
    ).edge
    assert edge.subject.key == SQL
    moved = client.TransitionModelVersionStage(
        metadata_pb2.TransitionModelVersionStageRequest(
            name=v.name, stage=R.STAGE_STAGING, reason=SQL
        )
    )
    assert moved.transition.reason == SQL
    assert (
        len(client.SearchModelVersions(metadata_pb2.SearchModelVersionsRequest()).model_versions)
        == 1
    )


def test_like_wildcards_in_names_do_not_widen_the_audit_prefix(client: Client) -> None:
    client.create(model="a_b")
    client.create(model="axb")
    entries = client.ListAuditLog(metadata_pb2.ListAuditLogRequest(resource="models/a_b"))
    assert [e.resource for e in entries.entries] == ["models/a_b/versions/1.0.0"]
