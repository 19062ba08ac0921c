"""Stage transitions (the table of docs/ARCHITECTURE.md section 4.1), production handover,
and aliases."""

from __future__ import annotations

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of

S = resources_pb2


def move(client: Client, name: str, stage: int, **kwargs):
    return client.TransitionModelVersionStage(
        metadata_pb2.TransitionModelVersionStageRequest(name=name, stage=stage, **kwargs),
        principal="bob",
    )


def test_transition_is_recorded_with_who_when_and_why(client: Client) -> None:
    v = client.create(ready=True)
    response = move(client, v.name, S.STAGE_STAGING, reason="passed offline eval")
    assert response.model_version.stage == S.STAGE_STAGING
    t = response.transition
    assert (t.from_stage, t.to_stage, t.actor, t.reason) == (
        S.STAGE_DEVELOPMENT,
        S.STAGE_STAGING,
        "bob",
        "passed offline eval",
    )
    listed = client.ListStageTransitions(metadata_pb2.ListStageTransitionsRequest(name=v.name))
    assert [x.reason for x in listed.transitions] == ["passed offline eval"]
    assert listed.transitions[0].time.seconds > 0


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ([], S.STAGE_PRODUCTION, "staging, archived"),
        ([], S.STAGE_DEPRECATED, "staging, archived"),
        ([S.STAGE_ARCHIVED], S.STAGE_STAGING, "development"),
        ([S.STAGE_STAGING, S.STAGE_PRODUCTION, S.STAGE_DEPRECATED], S.STAGE_STAGING, "archived"),
        ([S.STAGE_STAGING], S.STAGE_DEPRECATED, "production, development, archived"),
        (
            [S.STAGE_STAGING, S.STAGE_PRODUCTION],
            S.STAGE_DEVELOPMENT,
            "staging, deprecated, archived",
        ),
    ],
)
def test_transition_not_in_the_table_is_failed_precondition_naming_allowed_targets(
    client: Client, path: list[int], target: int, allowed: str
) -> None:
    v = client.create(ready=True)
    for stage in path:
        move(client, v.name, stage)
    current = client.GetModelVersion(metadata_pb2.GetModelVersionRequest(name=v.name))
    here = S.Stage.Name(current.model_version.stage).removeprefix("STAGE_").lower()
    there = S.Stage.Name(target).removeprefix("STAGE_").lower()
    code, message = status_of(lambda: move(client, v.name, target))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message == (
        f"cannot move 'models/fraud/versions/1.0.0' from {here} to {there}: allowed targets "
        f"from {here} are {allowed}"
    )


def test_every_transition_in_the_table_is_allowed(client: Client) -> None:
    v = client.create(ready=True)
    for stage in (
        S.STAGE_STAGING,
        S.STAGE_DEVELOPMENT,
        S.STAGE_STAGING,
        S.STAGE_PRODUCTION,
        S.STAGE_STAGING,
        S.STAGE_PRODUCTION,
        S.STAGE_DEPRECATED,
        S.STAGE_ARCHIVED,
        S.STAGE_DEVELOPMENT,
        S.STAGE_ARCHIVED,
    ):
        assert move(client, v.name, stage).model_version.stage == stage


def test_pending_version_cannot_change_stage(client: Client) -> None:
    v = client.create()
    code, message = status_of(lambda: move(client, v.name, S.STAGE_STAGING))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message == (
        "cannot move 'models/fraud/versions/1.0.0' to staging: it is PENDING, and only READY "
        "versions change stage"
    )


def test_promoting_to_production_moves_the_previous_one_atomically(client: Client) -> None:
    first, second = client.create(ready=True), client.create(ready=True)
    for v in (first, second):
        move(client, v.name, S.STAGE_STAGING)
    move(client, first.name, S.STAGE_PRODUCTION)
    response = move(
        client, second.name, S.STAGE_PRODUCTION, previous_production_stage=S.STAGE_STAGING
    )
    assert response.model_version.stage == S.STAGE_PRODUCTION
    assert response.previous_production.name == first.name
    assert response.previous_production.stage == S.STAGE_STAGING
    resolved = client.ResolveModelVersion(
        metadata_pb2.ResolveModelVersionRequest(reference="fraud@production")
    )
    assert resolved.model_version.name == second.name


def test_previous_production_stage_must_be_reachable_from_production(client: Client) -> None:
    v = client.create(ready=True)
    move(client, v.name, S.STAGE_STAGING)
    code, message = status_of(
        lambda: move(
            client, v.name, S.STAGE_PRODUCTION, previous_production_stage=S.STAGE_DEVELOPMENT
        )
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "previous_production_stage: a version leaving production can move to staging, "
        "deprecated, archived, not development",
    )


def test_stale_etag_on_transition_is_aborted(client: Client) -> None:
    v = client.create(ready=True)
    move(client, v.name, S.STAGE_STAGING)
    code, message = status_of(lambda: move(client, v.name, S.STAGE_PRODUCTION, etag=v.etag))
    assert code == grpc.StatusCode.ABORTED
    assert message == (
        "etag 'r1' of models/fraud/versions/1.0.0 is stale (current is 'r2'): read it again and "
        "retry the change"
    )


def set_alias(client: Client, name: str, alias: str):
    return client.SetAlias(metadata_pb2.SetAliasRequest(model_version=name, alias=alias))


def test_alias_set_move_resolve_and_delete(client: Client) -> None:
    a, b = client.create(ready=True), client.create(ready=True)
    first = set_alias(client, a.name, "champion")
    assert first.previous_model_version == ""
    assert first.alias.name == "models/fraud/aliases/champion"
    resolve = client.ResolveModelVersion
    ref = metadata_pb2.ResolveModelVersionRequest(reference="fraud@champion")
    assert resolve(ref).model_version.name == a.name
    assert list(resolve(ref).model_version.aliases) == ["champion"]
    moved = set_alias(client, b.name, "champion")
    assert moved.previous_model_version == a.name
    assert resolve(ref).model_version.name == b.name
    listed = client.ListAliases(metadata_pb2.ListAliasesRequest(parent="models/fraud"))
    assert [(x.alias, x.model_version) for x in listed.aliases] == [("champion", b.name)]
    deleted = client.DeleteAlias(
        metadata_pb2.DeleteAliasRequest(parent="models/fraud", alias="champion")
    )
    assert deleted.previous_model_version == b.name
    code, message = status_of(lambda: resolve(ref))
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "model 'models/fraud' has no alias 'champion'",
    )


def test_alias_named_like_a_stage_is_invalid_argument(client: Client) -> None:
    v = client.create(ready=True)
    code, message = status_of(lambda: set_alias(client, v.name, "production"))
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "alias: alias 'production' is a stage name; 'name@production' resolves the stage, so "
        "choose another alias",
    )


def test_malformed_alias_is_invalid_argument(client: Client) -> None:
    v = client.create(ready=True)
    code, message = status_of(lambda: set_alias(client, v.name, "Bad Alias"))
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "alias: invalid alias 'Bad Alias': use 1-63 characters of lower-case letters, digits, "
        "'_' and '-', starting with a letter",
    )


def test_deleting_a_missing_alias_is_not_found(client: Client) -> None:
    client.create()
    code, message = status_of(
        lambda: client.DeleteAlias(
            metadata_pb2.DeleteAliasRequest(parent="models/fraud", alias="x")
        )
    )
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, "model 'models/fraud' has no alias 'x'")


def test_concurrent_promotions_leave_exactly_one_version_in_production(client: Client) -> None:
    import threading

    versions = [client.create(ready=True) for _ in range(4)]
    for v in versions:
        move(client, v.name, S.STAGE_STAGING)
    errors: list[BaseException] = []

    def promote(name: str) -> None:
        try:
            move(client, name, S.STAGE_PRODUCTION, previous_production_stage=S.STAGE_STAGING)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=promote, args=(v.name,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hits = client.SearchModelVersions(
        metadata_pb2.SearchModelVersionsRequest(filter='stage = "production"')
    )
    assert len(hits.model_versions) == 1


def test_expected_production_version_guards_against_a_concurrent_promotion(
    client: Client,
) -> None:
    a, b = client.create(ready=True), client.create(ready=True)
    for v in (a, b):
        move(client, v.name, S.STAGE_STAGING)
    move(client, a.name, S.STAGE_PRODUCTION, expected_production_version="none")
    code, message = status_of(
        lambda: move(client, b.name, S.STAGE_PRODUCTION, expected_production_version="none")
    )
    assert code == grpc.StatusCode.ABORTED
    assert message == (
        "production of 'models/fraud' changed: expected 'none' but "
        "'models/fraud/versions/1.0.0' is in production; check the gates again and retry"
    )
    moved = move(client, b.name, S.STAGE_PRODUCTION, expected_production_version=a.name)
    assert moved.previous_production.name == a.name


def test_expected_production_version_of_another_model_is_invalid(client: Client) -> None:
    v = client.create(ready=True)
    move(client, v.name, S.STAGE_STAGING)
    code, message = status_of(
        lambda: move(
            client,
            v.name,
            S.STAGE_PRODUCTION,
            expected_production_version="models/other/versions/1.0.0",
        )
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "expected_production_version: 'models/other/versions/1.0.0' is a version of another "
        "model than 'models/fraud'",
    )
