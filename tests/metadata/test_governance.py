"""Promotions with approvals, their outcomes, and the records they leave (audit, events)."""

from __future__ import annotations

import threading

import grpc
import pytest

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from services.metadata.access import METHOD_ROLES
from tests.metadata.conftest import Client, status_of

G = resources_pb2
S = resources_pb2


def promote(
    client: Client,
    name: str,
    stage: int = S.STAGE_PRODUCTION,
    approvals: int = 2,
    principal: str = "alice",
    reason: str = "beats the champion",
) -> resources_pb2.Promotion:
    return client.CreatePromotion(
        metadata_pb2.CreatePromotionRequest(
            model_version=name, target_stage=stage, reason=reason, required_approvals=approvals
        ),
        principal=principal,
    ).promotion


def decide(
    client: Client,
    name: str,
    principal: str,
    decision: int = G.APPROVAL_DECISION_APPROVE,
    comment="",
) -> resources_pb2.Promotion:
    return client.DecidePromotion(
        metadata_pb2.DecidePromotionRequest(name=name, decision=decision, comment=comment),
        principal=principal,
    ).promotion


def set_state(
    client: Client, name: str, state: int, message: str = "", etag: str = "", principal="gw"
) -> resources_pb2.Promotion:
    return client.SetPromotionState(
        metadata_pb2.SetPromotionStateRequest(
            name=name, state=state, status_message=message, etag=etag
        ),
        principal=principal,
    ).promotion


def events(client: Client, prefix: str = "promotion.") -> list[tuple[str, str, dict]]:
    found = client.ListEvents(metadata_pb2.ListEventsRequest(model="fraud", limit=1000)).events
    return [(e.type, e.resource, dict(e.attributes)) for e in found if e.type.startswith(prefix)]


def move(client: Client, name: str, stage: int, **kwargs):
    return client.TransitionModelVersionStage(
        metadata_pb2.TransitionModelVersionStageRequest(name=name, stage=stage, **kwargs)
    )


# ------------------------------------------------------------------------ creation


def test_promotion_waits_for_approval_and_is_recorded(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    assert p.name == "models/fraud/promotions/1"
    assert (p.model_version, p.target_stage, p.state) == (
        v.name,
        S.STAGE_PRODUCTION,
        G.PROMOTION_STATE_PENDING_APPROVAL,
    )
    assert (p.requested_by, p.reason, p.required_approvals) == ("alice", "beats the champion", 2)
    assert list(p.approvals) == [] and p.status_message == "" and p.etag == "r1"
    assert p.create_time.seconds > 0 and p.update_time == p.create_time
    got = client.GetPromotion(metadata_pb2.GetPromotionRequest(name=p.name)).promotion
    assert got == p
    assert events(client) == [
        (
            "promotion.requested",
            p.name,
            {
                "promotion": "1",
                "version": "1.0.0",
                "target_stage": "production",
                "state": "pending_approval",
                "reason": "beats the champion",
            },
        )
    ]
    audit = client.ListAuditLog(metadata_pb2.ListAuditLogRequest(resource=p.name)).entries
    assert [(a.action, a.actor) for a in audit] == [("promotion.create", "alice")]


def test_promotion_needing_no_approval_is_approved_at_once(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name, approvals=0)
    assert p.state == G.PROMOTION_STATE_APPROVED
    assert [(t, a["state"], a.get("automatic")) for t, _, a in events(client)] == [
        ("promotion.requested", "approved", None),
        ("promotion.approved", "approved", "true"),
    ]


def test_second_open_promotion_to_the_same_stage_is_failed_precondition(client: Client) -> None:
    a, b = client.create(ready=True), client.create(ready=True)
    first = promote(client, a.name)
    code, message = status_of(lambda: promote(client, b.name))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message == (
        "model 'models/fraud' already has an open promotion to production: "
        "'models/fraud/promotions/1' of 'models/fraud/versions/1.0.0' is PENDING_APPROVAL; "
        "approve, reject or withdraw it first"
    )
    assert promote(client, b.name, stage=S.STAGE_STAGING).state  # another stage is fine
    decide(client, first.name, "bob")
    decide(client, first.name, "carol")
    code, message = status_of(lambda: promote(client, b.name))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "'models/fraud/promotions/1' of 'models/fraud/versions/1.0.0' is APPROVED" in message
    set_state(client, first.name, G.PROMOTION_STATE_COMPLETED, "done")
    assert promote(client, b.name).name == "models/fraud/promotions/3"


def test_concurrent_requests_to_one_stage_open_exactly_one(client: Client) -> None:
    versions = [client.create(ready=True) for _ in range(4)]
    barrier = threading.Barrier(len(versions))
    results: list[object] = []

    def request(name: str) -> None:
        barrier.wait()
        try:
            results.append(promote(client, name))
        except grpc.RpcError as error:
            results.append(error.code())

    threads = [threading.Thread(target=request, args=(v.name,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = [r for r in results if isinstance(r, resources_pb2.Promotion)]
    assert len(created) == 1
    assert results.count(grpc.StatusCode.FAILED_PRECONDITION) == 3


def test_promotion_of_an_unknown_version_is_not_found(client: Client) -> None:
    client.create(ready=True)
    code, message = status_of(lambda: promote(client, "models/fraud/versions/9.9.9"))
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "version 'models/fraud/versions/9.9.9' does not exist",
    )
    code, message = status_of(lambda: promote(client, "models/nope/versions/1.0.0"))
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, "model 'models/nope' does not exist")


def test_promotion_of_a_pending_version_is_failed_precondition(client: Client) -> None:
    v = client.create()
    code, message = status_of(lambda: promote(client, v.name))
    assert (code, message) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "cannot request promotion of 'models/fraud/versions/1.0.0' to production: it is "
        "PENDING, and only READY versions are promoted",
    )


@pytest.mark.parametrize(
    ("name", "stage", "approvals", "expected"),
    [
        (
            "fraud/1.0.0",
            S.STAGE_PRODUCTION,
            1,
            "model_version: expected 'models/{model}/versions/{version}', got 'fraud/1.0.0'",
        ),
        (
            "models/fraud/versions/one",
            S.STAGE_PRODUCTION,
            1,
            "model_version: invalid semantic version 'one'",
        ),
        (
            "models/fraud/versions/1.0.0",
            S.STAGE_UNSPECIFIED,
            1,
            "target_stage: a stage is required",
        ),
        (
            "models/fraud/versions/1.0.0",
            S.STAGE_PRODUCTION,
            -1,
            "required_approvals: must be between 0 and 100, got -1",
        ),
        (
            "models/fraud/versions/1.0.0",
            S.STAGE_PRODUCTION,
            101,
            "required_approvals: must be between 0 and 100, got 101",
        ),
    ],
)
def test_bad_promotion_request_is_invalid_argument(
    client: Client, name: str, stage: int, approvals: int, expected: str
) -> None:
    client.create(ready=True)
    code, message = status_of(lambda: promote(client, name, stage=stage, approvals=approvals))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith(expected), message


# ------------------------------------------------------------------------ reads


def test_list_promotions_filters_and_pages(client: Client) -> None:
    a, b = client.create(ready=True), client.create(ready=True)
    p1 = promote(client, a.name, stage=S.STAGE_STAGING, approvals=0)
    set_state(client, p1.name, G.PROMOTION_STATE_COMPLETED)
    p2 = promote(client, b.name, stage=S.STAGE_STAGING)
    p3 = promote(client, a.name)

    def listed(**kwargs) -> list[str]:
        request = metadata_pb2.ListPromotionsRequest(parent="models/fraud", **kwargs)
        return [p.name for p in client.ListPromotions(request).promotions]

    assert listed() == [p3.name, p2.name, p1.name]
    assert listed(state=G.PROMOTION_STATE_PENDING_APPROVAL) == [p3.name, p2.name]
    assert listed(state=G.PROMOTION_STATE_COMPLETED) == [p1.name]
    assert listed(model_version=a.name) == [p3.name, p1.name]
    seen, token = [], ""
    while True:
        page = client.ListPromotions(
            metadata_pb2.ListPromotionsRequest(parent="models/fraud", page_size=1, page_token=token)
        )
        seen += [p.name for p in page.promotions]
        token = page.next_page_token
        if not token:
            break
    assert seen == [p3.name, p2.name, p1.name]
    first = client.ListPromotions(
        metadata_pb2.ListPromotionsRequest(parent="models/fraud", page_size=1)
    )
    code, message = status_of(
        lambda: client.ListPromotions(
            metadata_pb2.ListPromotionsRequest(
                parent="models/fraud",
                state=G.PROMOTION_STATE_COMPLETED,
                page_token=first.next_page_token,
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("page_token: page token belongs to a different query")


def test_promotion_reads_on_missing_or_malformed_names(client: Client) -> None:
    client.create(ready=True)
    get = client.GetPromotion
    code, message = status_of(
        lambda: get(metadata_pb2.GetPromotionRequest(name="models/fraud/promotions/7"))
    )
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "promotion 'models/fraud/promotions/7' does not exist",
    )
    code, message = status_of(
        lambda: get(metadata_pb2.GetPromotionRequest(name="models/fraud/promotions/0"))
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "name: expected 'models/{model}/promotions/{promotion}', got 'models/fraud/promotions/0'",
    )
    code, message = status_of(
        lambda: client.ListPromotions(metadata_pb2.ListPromotionsRequest(parent="models/nope"))
    )
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, "model 'models/nope' does not exist")
    code, message = status_of(
        lambda: client.ListPromotions(
            metadata_pb2.ListPromotionsRequest(
                parent="models/fraud", model_version="models/other/versions/1.0.0"
            )
        )
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "model_version: names a version of 'models/other', not of 'models/fraud'",
    )


# ------------------------------------------------------------------------ decisions


def test_approvals_from_distinct_principals_approve_the_promotion(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    after_bob = decide(client, p.name, "bob", comment="metrics look right")
    assert after_bob.state == G.PROMOTION_STATE_PENDING_APPROVAL
    assert after_bob.etag == "r2"
    assert [(a.principal, a.decision, a.comment) for a in after_bob.approvals] == [
        ("bob", G.APPROVAL_DECISION_APPROVE, "metrics look right")
    ]
    assert [t for t, _, _ in events(client)] == ["promotion.requested"]  # no state change yet
    after_carol = decide(client, p.name, "carol")
    assert after_carol.state == G.PROMOTION_STATE_APPROVED
    assert [a.principal for a in after_carol.approvals] == ["bob", "carol"]
    assert events(client)[-1] == (
        "promotion.approved",
        p.name,
        {
            "promotion": "1",
            "version": "1.0.0",
            "target_stage": "production",
            "state": "approved",
            "decision": "approve",
            "comment": "",
        },
    )
    audit = client.ListAuditLog(metadata_pb2.ListAuditLogRequest(resource=p.name)).entries
    assert [(a.action, a.actor) for a in audit] == [
        ("promotion.decide", "carol"),
        ("promotion.decide", "bob"),
        ("promotion.create", "alice"),
    ]


def test_requester_may_not_decide_on_their_own_request(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    for decision in (G.APPROVAL_DECISION_APPROVE, G.APPROVAL_DECISION_REJECT):
        code, message = status_of(lambda d=decision: decide(client, p.name, "alice", d))
        assert (code, message) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "'alice' requested 'models/fraud/promotions/1' and may not decide on their own "
            "request: another principal must approve or reject it",
        )


def test_a_principal_decides_once(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    decide(client, p.name, "bob")
    for decision in (G.APPROVAL_DECISION_APPROVE, G.APPROVAL_DECISION_REJECT):
        code, message = status_of(lambda d=decision: decide(client, p.name, "bob", d))
        assert (code, message) == (
            grpc.StatusCode.ALREADY_EXISTS,
            "'bob' has already decided on 'models/fraud/promotions/1' (APPROVE); each principal "
            "decides once",
        )


def test_rejection_ends_the_promotion(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    decide(client, p.name, "bob")
    rejected = decide(client, p.name, "carol", G.APPROVAL_DECISION_REJECT, "no canary run")
    assert rejected.state == G.PROMOTION_STATE_REJECTED
    assert rejected.status_message == "rejected by carol: no canary run"
    assert events(client)[-1][0] == "promotion.rejected"
    code, message = status_of(lambda: decide(client, p.name, "dave"))
    assert (code, message) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "cannot decide on 'models/fraud/promotions/1': it is REJECTED, and only "
        "PENDING_APPROVAL promotions take decisions",
    )


def test_decision_on_an_approved_promotion_is_failed_precondition(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name, approvals=1)
    decide(client, p.name, "bob")
    code, message = status_of(lambda: decide(client, p.name, "carol"))
    assert (code, message) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "cannot decide on 'models/fraud/promotions/1': it is APPROVED, and only "
        "PENDING_APPROVAL promotions take decisions",
    )


def test_bad_decisions_are_invalid_argument_or_not_found(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    code, message = status_of(
        lambda: decide(client, p.name, "bob", G.APPROVAL_DECISION_UNSPECIFIED)
    )
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "decision: a decision is required: APPROVAL_DECISION_APPROVE or _REJECT",
    )
    code, message = status_of(lambda: decide(client, "models/fraud/promotions/9", "bob"))
    assert (code, message) == (
        grpc.StatusCode.NOT_FOUND,
        "promotion 'models/fraud/promotions/9' does not exist",
    )


def test_concurrent_approvals_approve_exactly_once(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name, approvals=3)
    principals = ["bob", "carol", "dave", "erin", "frank"]
    barrier = threading.Barrier(len(principals))
    codes: list[object] = []

    def approve(who: str) -> None:
        barrier.wait()
        try:
            decide(client, p.name, who)
            codes.append("ok")
        except grpc.RpcError as error:
            codes.append(error.code())

    threads = [threading.Thread(target=approve, args=(who,)) for who in principals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count("ok") == 3
    assert codes.count(grpc.StatusCode.FAILED_PRECONDITION) == 2
    final = client.GetPromotion(metadata_pb2.GetPromotionRequest(name=p.name)).promotion
    assert final.state == G.PROMOTION_STATE_APPROVED and len(final.approvals) == 3
    assert [t for t, _, _ in events(client)].count("promotion.approved") == 1


# ------------------------------------------------------------------------ outcomes


def test_outcomes_follow_the_promotion_state_table(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name, approvals=1)
    code, message = status_of(lambda: set_state(client, p.name, G.PROMOTION_STATE_COMPLETED))
    assert (code, message) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "cannot move 'models/fraud/promotions/1' from PENDING_APPROVAL to COMPLETED: only a "
        "promotion that is APPROVED can become COMPLETED",
    )
    decide(client, p.name, "bob")
    done = set_state(client, p.name, G.PROMOTION_STATE_COMPLETED, "now production")
    assert (done.state, done.status_message) == (G.PROMOTION_STATE_COMPLETED, "now production")
    again = set_state(client, p.name, G.PROMOTION_STATE_COMPLETED, "retried", etag="r1")
    assert again == done  # a retry of a recorded outcome changes nothing
    for state, name in (
        (G.PROMOTION_STATE_FAILED, "FAILED"),
        (G.PROMOTION_STATE_WITHDRAWN, "WITHDRAWN"),
    ):
        code, message = status_of(lambda s=state: set_state(client, p.name, s))
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert message.startswith(
            f"cannot move 'models/fraud/promotions/1' from COMPLETED to {name}: "
        )
    assert [t for t, _, _ in events(client)] == [
        "promotion.requested",
        "promotion.approved",
        "promotion.completed",
    ]


def test_withdraw_from_pending_or_approved_and_fail_from_approved(client: Client) -> None:
    a = client.create(ready=True)
    p1 = promote(client, a.name)
    withdrawn = set_state(client, p1.name, G.PROMOTION_STATE_WITHDRAWN, "changed my mind")
    assert withdrawn.state == G.PROMOTION_STATE_WITHDRAWN
    p2 = promote(client, a.name, approvals=0)
    assert set_state(client, p2.name, G.PROMOTION_STATE_WITHDRAWN).state == (
        G.PROMOTION_STATE_WITHDRAWN
    )
    p3 = promote(client, a.name, approvals=0)
    failed = set_state(client, p3.name, G.PROMOTION_STATE_FAILED, "gate auc >= 0.9 failed")
    assert (failed.state, failed.status_message) == (
        G.PROMOTION_STATE_FAILED,
        "gate auc >= 0.9 failed",
    )
    kinds = [(t, r) for t, r, _ in events(client) if t != "promotion.requested"]
    assert kinds == [
        ("promotion.withdrawn", p1.name),
        ("promotion.approved", p2.name),
        ("promotion.withdrawn", p2.name),
        ("promotion.approved", p3.name),
        ("promotion.failed", p3.name),
    ]


def test_stale_etag_on_set_promotion_state_is_aborted(client: Client) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    decide(client, p.name, "bob")
    code, message = status_of(
        lambda: set_state(client, p.name, G.PROMOTION_STATE_WITHDRAWN, etag=p.etag)
    )
    assert (code, message) == (
        grpc.StatusCode.ABORTED,
        "etag 'r1' of models/fraud/promotions/1 is stale (current is 'r2'): read it again and "
        "retry the change",
    )
    assert set_state(client, p.name, G.PROMOTION_STATE_WITHDRAWN, etag="r2").etag == "r3"


@pytest.mark.parametrize(
    ("state", "got"),
    [
        (G.PROMOTION_STATE_UNSPECIFIED, "unspecified"),
        (G.PROMOTION_STATE_APPROVED, "APPROVED"),
        (G.PROMOTION_STATE_REJECTED, "REJECTED"),
        (G.PROMOTION_STATE_PENDING_APPROVAL, "PENDING_APPROVAL"),
    ],
)
def test_set_promotion_state_to_a_decision_state_is_invalid_argument(
    client: Client, state: int, got: str
) -> None:
    v = client.create(ready=True)
    p = promote(client, v.name)
    code, message = status_of(lambda: set_state(client, p.name, state))
    assert (code, message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        f"state: the target state must be WITHDRAWN, COMPLETED or FAILED, got {got}",
    )


# ------------------------------------------------------------------------ wiring


def test_every_governance_rpc_needs_the_service_role() -> None:
    for method in (
        "CreatePromotion",
        "GetPromotion",
        "ListPromotions",
        "DecidePromotion",
        "SetPromotionState",
        "ReportDeployment",
        "ListDeployments",
    ):
        assert f"/modelregistry.metadata.v1.MetadataService/{method}" in METHOD_ROLES


def test_deleting_a_version_removes_its_promotions(client: Client) -> None:
    v = client.create(ready=True)
    promote(client, v.name)
    client.DeleteModelVersion(metadata_pb2.DeleteModelVersionRequest(name=v.name))
    listed = client.ListPromotions(metadata_pb2.ListPromotionsRequest(parent="models/fraud"))
    assert list(listed.promotions) == []


# ------------------------------------------------------------------------ production guard


def test_concurrent_promotions_with_one_expectation_commit_exactly_one(client: Client) -> None:
    versions = [client.create(ready=True) for _ in range(3)]
    for v in versions:
        move(client, v.name, S.STAGE_STAGING)
    move(client, versions[0].name, S.STAGE_PRODUCTION)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def race(name: str) -> None:
        barrier.wait()
        try:
            move(
                client,
                name,
                S.STAGE_PRODUCTION,
                expected_production_version=versions[0].name,
                previous_production_stage=S.STAGE_STAGING,
            )
            outcomes[name] = "ok"
        except grpc.RpcError as error:
            outcomes[name] = (error.code(), error.details())

    threads = [threading.Thread(target=race, args=(v.name,)) for v in versions[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
    assert len(winners) == 1
    (loser,) = [o for o in outcomes.values() if o != "ok"]
    assert loser[0] == grpc.StatusCode.ABORTED  # type: ignore[index]
    assert repr(winners[0]) in loser[1]  # type: ignore[index]  # names what is in production
    hits = client.SearchModelVersions(
        metadata_pb2.SearchModelVersionsRequest(filter='stage = "production"')
    )
    assert [h.name for h in hits.model_versions] == winners


def test_open_promotion_refusal_carries_machine_readable_details(client: Client) -> None:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    a, b = client.create(ready=True), client.create(ready=True)
    promote(client, a.name, approvals=0)
    with pytest.raises(grpc.RpcError) as info:
        promote(client, b.name)
    status = rpc_status.from_call(info.value)
    assert status is not None
    error_info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(error_info)
    assert error_info.reason == "PROMOTION_OPEN"
    assert dict(error_info.metadata) == {
        "promotion": "models/fraud/promotions/1",
        "state": "APPROVED",
        "model_version": a.name,
    }
