"""Updates with update_mask and etag, archive and delete rules, the audit log and events."""

from __future__ import annotations

import json
import threading

import grpc
from google.protobuf import field_mask_pb2

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of

R = resources_pb2


def update(client: Client, version: R.ModelVersion, *paths: str, principal: str = "bob"):
    return client.UpdateModelVersion(
        metadata_pb2.UpdateModelVersionRequest(
            model_version=version, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
        ),
        principal=principal,
    ).model_version


def test_update_changes_only_masked_fields_and_moves_the_etag(client: Client) -> None:
    v = client.create(description="old", metrics={"auc": 0.5}, framework="pytorch")
    changed = update(
        client,
        R.ModelVersion(
            name=v.name, etag=v.etag, description="new", metrics={"auc": 0.7}, framework="ignored"
        ),
        "description",
        "metrics",
    )
    assert (changed.description, dict(changed.metrics), changed.framework) == (
        "new",
        {"auc": 0.7},
        "pytorch",
    )
    assert changed.updated_by == "bob" and changed.etag != v.etag
    hits = client.SearchModelVersions(
        metadata_pb2.SearchModelVersionsRequest(filter="metrics.auc = 0.7")
    )
    assert [x.name for x in hits.model_versions] == [v.name]


def test_update_with_stale_etag_is_aborted(client: Client) -> None:
    v = client.create()
    update(client, R.ModelVersion(name=v.name, description="a"), "description")
    code, message = status_of(
        lambda: update(
            client, R.ModelVersion(name=v.name, etag=v.etag, description="b"), "description"
        )
    )
    assert code == grpc.StatusCode.ABORTED
    assert message == (
        "etag 'r1' of models/fraud/versions/1.0.0 is stale (current is 'r2'): read it again and "
        "retry the change"
    )


def test_update_mask_naming_a_fixed_field_is_invalid_argument(client: Client) -> None:
    v = client.create()
    code, message = status_of(lambda: update(client, R.ModelVersion(name=v.name), "version"))
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "update_mask: field 'version' cannot be updated; updatable: description, tags, metrics, "
        "params, hyperparameters, input_schema, output_schema",
    )


def test_archived_model_is_hidden_from_default_listing(client: Client) -> None:
    client.create(model="keep")
    client.create(model="old")
    model = client.GetModel(metadata_pb2.GetModelRequest(name="models/old")).model
    archived = client.UpdateModel(
        metadata_pb2.UpdateModelRequest(
            model=R.Model(name="models/old", archived=True, team="ml", etag=model.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["archived", "team"]),
        )
    ).model
    assert (archived.archived, archived.team) == (True, "ml")
    names = [m.name for m in client.ListModels(metadata_pb2.ListModelsRequest()).models]
    assert names == ["models/keep"]
    every = client.ListModels(metadata_pb2.ListModelsRequest(show_archived=True)).models
    assert [m.name for m in every] == ["models/keep", "models/old"]


def test_delete_refuses_while_alias_or_production_points_at_the_version(client: Client) -> None:
    v = client.create(ready=True)
    client.SetAlias(metadata_pb2.SetAliasRequest(model_version=v.name, alias="champion"))
    for stage in (R.STAGE_STAGING, R.STAGE_PRODUCTION):
        client.TransitionModelVersionStage(
            metadata_pb2.TransitionModelVersionStageRequest(name=v.name, stage=stage)
        )
    code, message = status_of(
        lambda: client.DeleteModelVersion(metadata_pb2.DeleteModelVersionRequest(name=v.name))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message == (
        "cannot delete 'models/fraud/versions/1.0.0': alias 'champion' points at it; it is in "
        "production"
    )
    code, message = status_of(
        lambda: client.DeleteModel(metadata_pb2.DeleteModelRequest(name="models/fraud"))
    )
    assert message == (
        "cannot delete 'models/fraud': alias 'champion' points at version 1.0.0; version 1.0.0 "
        "is in production"
    )


def test_delete_version_and_model(client: Client) -> None:
    a, b = client.create(ready=True, training_dataset="d@1"), client.create()
    client.DeleteModelVersion(metadata_pb2.DeleteModelVersionRequest(name=a.name))
    code, _ = status_of(
        lambda: client.GetModelVersion(metadata_pb2.GetModelVersionRequest(name=a.name))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    client.DeleteModel(metadata_pb2.DeleteModelRequest(name="models/fraud"))
    code, _ = status_of(
        lambda: client.GetModelVersion(metadata_pb2.GetModelVersionRequest(name=b.name))
    )
    assert code == grpc.StatusCode.NOT_FOUND


def test_audit_log_records_who_what_before_and_after(client: Client) -> None:
    v = client.create(principal="carol", description="x")
    update(client, R.ModelVersion(name=v.name, description="y"), "description", principal="dave")
    client.SetAlias(metadata_pb2.SetAliasRequest(model_version=v.name, alias="best"))
    entries = client.ListAuditLog(metadata_pb2.ListAuditLogRequest(resource="models/fraud"))
    assert [(e.action, e.actor, e.resource) for e in entries.entries] == [
        ("alias.set", "alice", "models/fraud/aliases/best"),
        ("version.update", "dave", v.name),
        ("version.create", "carol", v.name),
    ]
    changed = entries.entries[1]
    assert json.loads(changed.before_json)["description"] == "x"
    assert json.loads(changed.after_json)["description"] == "y"
    assert entries.entries[2].before_json == ""


def test_events_are_in_sequence_order_and_resumable(client: Client) -> None:
    v = client.create()
    client.SetModelVersionState(
        metadata_pb2.SetModelVersionStateRequest(name=v.name, state=R.VERSION_STATE_READY)
    )
    client.SetAlias(metadata_pb2.SetAliasRequest(model_version=v.name, alias="best"))
    client.TransitionModelVersionStage(
        metadata_pb2.TransitionModelVersionStageRequest(name=v.name, stage=R.STAGE_STAGING)
    )
    client.DeleteAlias(metadata_pb2.DeleteAliasRequest(parent="models/fraud", alias="best"))
    page = client.ListEvents(metadata_pb2.ListEventsRequest(limit=3))
    assert [e.type for e in page.events] == ["version.created", "version.ready", "alias.set"]
    assert [e.sequence for e in page.events] == [1, 2, 3]
    rest = client.ListEvents(
        metadata_pb2.ListEventsRequest(after_sequence=page.next_after_sequence)
    )
    assert [e.type for e in rest.events] == ["stage.changed", "alias.deleted"]
    assert dict(rest.events[0].attributes)["to_stage"] == "staging"
    only = client.ListEvents(metadata_pb2.ListEventsRequest(types=["alias.set"], model="fraud"))
    assert [e.sequence for e in only.events] == [3]


def test_concurrent_writers_never_let_a_reader_skip_an_event(client: Client) -> None:
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            page = client.ListEvents(metadata_pb2.ListEventsRequest(after_sequence=cursor))
            seen.extend(e.sequence for e in page.events)
            cursor = page.next_after_sequence
            if finished and not page.events:
                return

    def writer(i: int) -> None:
        for _ in range(8):
            client.create(model=f"m{i}")

    watcher = threading.Thread(target=reader)
    watcher.start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    watcher.join()
    assert seen == list(range(1, 49))
