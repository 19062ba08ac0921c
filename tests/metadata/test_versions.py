"""Versions through a real gRPC channel on SQLite and PostgreSQL: create, number, read, resolve."""

from __future__ import annotations

import threading

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from services.common.settings import Settings
from services.metadata.app import SchemaOutOfDate, build_bindings, head_revision
from tests.metadata.conftest import Client, status_of

DIGEST = resources_pb2.Digest(hash="a" * 64, size_bytes=10)


def test_first_version_is_1_0_0_and_bumps_follow_change_type(client: Client) -> None:
    assert client.create().version == "1.0.0"
    assert client.create(bump=resources_pb2.VERSION_BUMP_PATCH).version == "1.0.1"
    assert client.create(bump=resources_pb2.VERSION_BUMP_MINOR).version == "1.1.0"
    assert client.create(bump=resources_pb2.VERSION_BUMP_MAJOR).version == "2.0.0"
    assert client.create().version == "2.0.1"


def test_bump_from_prerelease_completes_the_release(client: Client) -> None:
    client.create(version="3.0.0-rc.2")
    client.create(version="3.0.0-rc.10")
    assert client.create(bump=resources_pb2.VERSION_BUMP_MAJOR).version == "3.0.0"


def test_created_version_records_fields_principal_and_pending_state(client: Client) -> None:
    v = client.create(
        principal="carol",
        artifact_digest=DIGEST,
        framework="pytorch",
        metrics={"auc": 0.93},
        tags={"team": "risk"},
        training_dataset="transactions@3",
    )
    assert v.name == "models/fraud/versions/1.0.0"
    assert v.state == resources_pb2.VERSION_STATE_PENDING
    assert v.stage == resources_pb2.STAGE_DEVELOPMENT
    assert (v.created_by, v.updated_by) == ("carol", "carol")
    assert v.artifact_digest == DIGEST
    assert dict(v.metrics) == {"auc": 0.93} and dict(v.tags) == {"team": "risk"}
    assert v.etag and v.create_time.seconds > 0


def test_missing_principal_header_is_recorded_as_anonymous(client: Client) -> None:
    assert client.create(principal="").created_by == "anonymous"


def test_explicit_duplicate_version_is_already_exists(client: Client) -> None:
    client.create(version="1.2.0")
    code, message = status_of(lambda: client.create(version="1.2.0"))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert message == (
        "version 'models/fraud/versions/1.2.0' already exists; omit the version to have the "
        "next one chosen"
    )


def test_repeated_request_id_returns_the_first_result(client: Client) -> None:
    first = client.create(request_id="req-1", description="x")
    again = client.create(request_id="req-1", description="x")
    assert again.name == first.name and again.create_time == first.create_time
    assert client.create().version == "1.0.1"


def test_request_id_reused_with_different_content_is_invalid_argument(client: Client) -> None:
    client.create(request_id="req-1", description="x")
    code, message = status_of(lambda: client.create(request_id="req-1", description="y"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == (
        "request_id: request id 'req-1' was already used for a different request (it created "
        "'models/fraud/versions/1.0.0'); use a new request id for a new version"
    )


def test_fifty_concurrent_creates_get_fifty_distinct_versions(client: Client) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            results.append(client.create(model="race").version)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results, key=lambda s: int(s.split(".")[2])) == [f"1.0.{i}" for i in range(50)]


def test_get_model_version_and_model(client: Client) -> None:
    created = client.create(version="0.1.0")
    got = client.GetModelVersion(metadata_pb2.GetModelVersionRequest(name=created.name))
    assert got.model_version == created
    model = client.GetModel(metadata_pb2.GetModelRequest(name="models/fraud")).model
    assert (model.name, model.latest_version, model.archived) == ("models/fraud", "0.1.0", False)


def test_get_missing_version_and_model_are_not_found(client: Client) -> None:
    code, message = status_of(
        lambda: client.GetModelVersion(
            metadata_pb2.GetModelVersionRequest(name="models/nope/versions/1.0.0")
        )
    )
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "version 'models/nope/versions/1.0.0' does not exist",
    )
    code, message = status_of(
        lambda: client.GetModel(metadata_pb2.GetModelRequest(name="models/nope"))
    )
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, "model 'models/nope' does not exist")


def _ready(client: Client, name: str) -> resources_pb2.ModelVersion:
    return client.SetModelVersionState(
        metadata_pb2.SetModelVersionStateRequest(
            name=name,
            state=resources_pb2.VERSION_STATE_READY,
            format="safetensors",
            parameter_count=42,
        )
    ).model_version


def test_set_state_ready_records_inspection_and_is_repeatable(client: Client) -> None:
    v = client.create()
    ready = _ready(client, v.name)
    assert ready.state == resources_pb2.VERSION_STATE_READY
    assert (ready.format, ready.parameter_count) == ("safetensors", 42)
    assert ready.etag != v.etag
    assert _ready(client, v.name) == ready


def test_set_state_on_a_ready_version_to_failed_is_failed_precondition(client: Client) -> None:
    v = client.create(ready=True)
    code, message = status_of(
        lambda: client.SetModelVersionState(
            metadata_pb2.SetModelVersionStateRequest(
                name=v.name, state=resources_pb2.VERSION_STATE_FAILED, failure_reason="x"
            )
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message == (
        "version 'models/fraud/versions/1.0.0' is READY; only a PENDING version can become FAILED"
    )


def test_set_state_to_pending_is_invalid_argument(client: Client) -> None:
    v = client.create()
    code, message = status_of(
        lambda: client.SetModelVersionState(
            metadata_pb2.SetModelVersionStateRequest(
                name=v.name, state=resources_pb2.VERSION_STATE_PENDING
            )
        )
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "state: the target state must be VERSION_STATE_READY or VERSION_STATE_FAILED",
    )


def test_failed_version_keeps_its_reason(client: Client) -> None:
    v = client.create()
    failed = client.SetModelVersionState(
        metadata_pb2.SetModelVersionStateRequest(
            name=v.name, state=resources_pb2.VERSION_STATE_FAILED, failure_reason="blob missing"
        )
    ).model_version
    assert (failed.state, failed.failure_reason) == (
        resources_pb2.VERSION_STATE_FAILED,
        "blob missing",
    )


def test_resolve_name_is_the_highest_ready_version_by_semver(client: Client) -> None:
    for version in ("1.0.0", "1.10.0", "1.9.0"):
        client.create(version=version, ready=True)
    client.create(version="3.0.0")  # pending: never "latest"

    def latest() -> str:
        request = metadata_pb2.ResolveModelVersionRequest(reference="fraud")
        return client.ResolveModelVersion(request).model_version.version

    assert latest() == "1.10.0"
    client.create(version="2.0.0-rc.1", ready=True)
    assert latest() == "2.0.0-rc.1"
    client.create(version="2.0.0", ready=True)
    assert latest() == "2.0.0"
    resolve = client.ResolveModelVersion
    pinned = resolve(metadata_pb2.ResolveModelVersionRequest(reference="fraud:1.9.0"))
    assert pinned.model_version.version == "1.9.0"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nope", "model 'models/nope' does not exist"),
        ("fraud:9.9.9", "version 'models/fraud/versions/9.9.9' does not exist"),
        ("fraud@champion", "model 'models/fraud' has no alias 'champion'"),
        ("fraud@production", "model 'models/fraud' has no READY version in stage 'production'"),
    ],
)
def test_resolve_missing_targets_are_not_found(
    client: Client, reference: str, message: str
) -> None:
    client.create(version="1.0.0")
    code, got = status_of(
        lambda: client.ResolveModelVersion(
            metadata_pb2.ResolveModelVersionRequest(reference=reference)
        )
    )
    assert (code, got) == (grpc.StatusCode.NOT_FOUND, message)


def test_list_versions_newest_first_in_pages(client: Client) -> None:
    for _ in range(5):
        client.create()
    seen, token = [], ""
    while True:
        page = client.ListModelVersions(
            metadata_pb2.ListModelVersionsRequest(
                parent="models/fraud", page_size=2, page_token=token
            )
        )
        seen += [v.version for v in page.model_versions]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["1.0.4", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]


def test_server_refuses_an_unmigrated_database(database_url: str) -> None:
    with pytest.raises(SchemaOutOfDate) as info:
        build_bindings(Settings(database_url=database_url))
    assert "run `python -m services.metadata migrate`" in str(info.value)
    assert f"schema revision (empty) but this server needs {head_revision()}" in str(info.value)


def test_server_refuses_a_database_at_an_older_revision(database_url: str) -> None:
    from alembic import command

    from services.metadata.app import _alembic_config

    command.upgrade(_alembic_config(database_url), "0001")
    with pytest.raises(SchemaOutOfDate) as info:
        build_bindings(Settings(database_url=database_url))
    assert str(info.value).startswith(
        "the metadata database is at schema revision 0001 but this server needs "
        f"{head_revision()}: run `python -m services.metadata migrate`"
    )
