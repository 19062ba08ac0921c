"""Promotion: transitions, gates, approvals, exclusivity of production, rollback, report."""

from __future__ import annotations

import hashlib
import pickle
import threading

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2
from mreg.compression import Codec
from services.artifacts.store import CHUNK_PREFIX, pack_chunk
from services.common.auth import Role
from tests.gateway.conftest import register_request, upload

PRODUCTION = resources_pb2.STAGE_PRODUCTION
STAGING = resources_pb2.STAGE_STAGING


def call(method, request, metadata=None):
    return method(request, timeout=30, metadata=metadata, wait_for_ready=True)


def refused(method, request, metadata=None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(method, request, metadata)
    return info.value


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    for detail in rpc_status.from_call(error).details:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            return [(v.type, v.subject) for v in failure.violations]
    return []


def register(gateway, artifacts, version: str, data: bytes | None = None, **fields) -> str:
    request = register_request("m", upload(artifacts, data or version.encode()), version, **fields)
    return call(gateway.RegisterModelVersion, request).model_version.name


def promote(gateway, name: str, stage: int, metadata=None, reason: str = "ship it"):
    request = registry_pb2.PromoteModelVersionRequest(name=name, target_stage=stage, reason=reason)
    return call(gateway.PromoteModelVersion, request, metadata)


def stage_of(gateway, name: str, metadata=None) -> int:
    request = registry_pb2.GetModelVersionRequest(name=name)
    return call(gateway.GetModelVersion, request, metadata).model_version.stage


def test_without_a_policy_the_transition_table_alone_applies(gateway, artifacts) -> None:
    name = register(gateway, artifacts, "1.0.0")
    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(name=name, target_stage=PRODUCTION),
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"cannot move {name} from development to production: allowed targets from "
        "development are archived, staging"
    )
    promote(gateway, name, STAGING)
    done = promote(gateway, name, PRODUCTION)
    assert done.promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED
    assert done.model_version.stage == PRODUCTION


def test_a_version_that_is_not_ready_cannot_be_promoted(gateway, artifacts, metadata) -> None:
    missing = resources_pb2.Digest(hash="cd" * 32, size_bytes=4)
    with pytest.raises(grpc.RpcError):
        call(gateway.RegisterModelVersion, register_request("m", missing, "1.0.0"))
    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(
            name="models/m/versions/1.0.0", target_stage=STAGING
        ),
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        "cannot promote models/m/versions/1.0.0: it is FAILED, and only READY versions can be "
        "promoted"
    )


GATED = """
default:
  stages:
    production:
      required_evaluations: [{type: test, dataset: holdout}]
      metrics: ["auc >= 0.90", "f1 >= 0.5"]
      no_regression: [auc]
      max_size_bytes: 1000
      verify_integrity: true
      previous_production: staging
"""


def evaluate(gateway, name: str, auc: float) -> None:
    call(
        gateway.CreateEvaluation,
        registry_pb2.CreateEvaluationRequest(
            parent=name,
            evaluation=resources_pb2.Evaluation(
                dataset_name="holdout",
                dataset_version="3",
                type=resources_pb2.EVALUATION_TYPE_TEST,
                metrics={"auc": auc, "f1": 0.7},
            ),
        ),
    )


def test_failed_gates_are_all_listed_with_why(stack, gateway, artifacts) -> None:
    stack.restart_gateway(GATED)
    name = register(gateway, artifacts, "1.0.0", b"x" * 2000, metrics={"auc": 0.8})
    promote(gateway, name, STAGING)
    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(name=name, target_stage=PRODUCTION),
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert violations(error) == [
        ("REQUIRED_EVALUATION", "holdout@*"),
        ("METRIC_THRESHOLD", "auc"),
        ("METRIC_THRESHOLD", "f1"),
        ("MAX_SIZE", name),
    ]
    assert f"{name} has no metric 'f1'; the gate requires f1 >= 0.5" in error.details()
    assert stage_of(gateway, name) == STAGING


def test_gates_pass_with_evaluations_and_production_moves_atomically(
    stack, gateway, artifacts
) -> None:
    stack.restart_gateway(GATED)
    first = register(gateway, artifacts, "1.0.0", metrics={"auc": 0.91})
    second = register(gateway, artifacts, "1.1.0", metrics={"auc": 0.95})
    for name, auc in ((first, 0.91), (second, 0.95)):
        evaluate(gateway, name, auc)
        promote(gateway, name, STAGING)
    promote(gateway, first, PRODUCTION)
    done = promote(gateway, second, PRODUCTION)
    assert done.model_version.stage == PRODUCTION
    assert done.previous_production.name == first
    assert done.previous_production.stage == STAGING
    resolved = call(
        gateway.ResolveModelVersion,
        registry_pb2.ResolveModelVersionRequest(reference="m@production"),
    )
    assert resolved.model_version.name == second


def test_no_regression_against_production_is_a_gate(stack, gateway, artifacts) -> None:
    stack.restart_gateway(GATED)
    good = register(gateway, artifacts, "1.0.0", metrics={"auc": 0.95})
    worse = register(gateway, artifacts, "1.1.0", metrics={"auc": 0.92})
    for name, auc in ((good, 0.95), (worse, 0.92)):
        evaluate(gateway, name, auc)
        promote(gateway, name, STAGING)
    promote(gateway, good, PRODUCTION)
    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(name=worse, target_stage=PRODUCTION),
    )
    assert violations(error) == [("NO_REGRESSION", "auc")]
    assert f"auc is 0.92, below 0.95 of {good} in production" in error.details()


def test_integrity_is_rechecked_before_production(stack, gateway, artifacts) -> None:
    stack.restart_gateway(GATED)
    name = register(gateway, artifacts, "1.0.0", metrics={"auc": 0.95})
    evaluate(gateway, name, 0.95)
    promote(gateway, name, STAGING)
    backend = stack.artifact_service.backend
    victim = next(iter(backend.list(CHUNK_PREFIX)))
    backend.put(
        victim.key, pack_chunk(hashlib.sha256(b"garbage").hexdigest(), Codec.IDENTITY, b"garbage")
    )
    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(name=name, target_stage=PRODUCTION),
    )
    assert violations(error) == [("INTEGRITY", name)]
    assert "is corrupt" in error.details()
    assert stage_of(gateway, name) == STAGING


NO_CODE = """
default:
  stages:
    production:
      forbid_code_execution: true
"""


def test_files_that_can_run_code_are_refused_where_the_policy_forbids_them(
    stack, gateway, artifacts
) -> None:
    stack.restart_gateway(NO_CODE)
    weights = upload(artifacts, b"\x00" * 64)  # plain bytes: nothing runs when loaded
    pickled = upload(artifacts, pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    tree = artifacts.CommitTree(
        artifacts_pb2.CommitTreeRequest(
            entries=[
                artifacts_pb2.TreeEntry(path="config.json", digest=weights, mode=0o644),
                artifacts_pb2.TreeEntry(path="model/optimizer.pkl", digest=pickled, mode=0o644),
            ]
        )
    ).tree.digest
    as_tree = call(
        gateway.RegisterModelVersion,
        register_request("m", tree, "1.0.0", artifact_is_tree=True),
    ).model_version.name
    as_file = register(gateway, artifacts, "1.1.0", pickle.dumps([1, 2], protocol=4))
    safe = register(gateway, artifacts, "1.2.0", b"\x00" * 32)
    for name in (as_tree, as_file, safe):
        promote(gateway, name, STAGING)

    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(name=as_tree, target_stage=PRODUCTION),
    )
    assert violations(error) == [("CODE_EXECUTION", "model/optimizer.pkl")]
    assert (
        "model/optimizer.pkl is pickle and can run code when loaded; the policy forbids such "
        "files in this stage (forbid_code_execution)"
    ) in error.details()
    error = refused(
        gateway.PromoteModelVersion,
        registry_pb2.PromoteModelVersionRequest(name=as_file, target_stage=PRODUCTION),
    )
    [(gate, subject)] = violations(error)
    assert (gate, subject.startswith("sha256:")) == ("CODE_EXECUTION", True)
    assert stage_of(gateway, as_tree) == stage_of(gateway, as_file) == STAGING
    promote(gateway, safe, PRODUCTION)  # the gate passes what cannot run code
    assert stage_of(gateway, safe) == PRODUCTION


APPROVALS = """
default:
  stages:
    production:
      approvals: 2
      auto_approve_principals: [release-bot]
"""


def test_approvals_from_distinct_principals_other_than_the_requester(
    stack, gateway, artifacts
) -> None:
    stack.restart_gateway(APPROVALS, auth=True)
    alice = stack.token("alice", Role.WRITER)
    bob, carol = stack.token("bob", Role.APPROVER), stack.token("carol", Role.APPROVER)
    name = call(
        gateway.RegisterModelVersion,
        register_request("m", upload(artifacts, b"w"), "1.0.0"),
        alice,
    ).model_version.name
    promote(gateway, name, STAGING, alice)
    waiting = promote(gateway, name, PRODUCTION, alice).promotion
    assert waiting.state == resources_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert waiting.required_approvals == 2

    approve = registry_pb2.ApprovePromotionRequest(name=waiting.name, comment="lgtm")
    writer_denied = refused(gateway.ApprovePromotion, approve, alice)
    assert writer_denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (
        writer_denied.details() == "alice may not call ApprovePromotion: it needs the approver role"
    )

    first = call(gateway.ApprovePromotion, approve, bob)
    assert first.promotion.state == resources_pb2.PROMOTION_STATE_PENDING_APPROVAL
    again = refused(gateway.ApprovePromotion, approve, bob)
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    done = call(gateway.ApprovePromotion, approve, carol)
    assert done.promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED
    assert done.model_version.stage == PRODUCTION
    assert {a.principal for a in done.promotion.approvals} >= {"bob", "carol"}


def test_approving_ones_own_request_is_refused(stack, gateway, artifacts) -> None:
    stack.restart_gateway(APPROVALS, auth=True)
    dave = stack.token("dave", Role.WRITER, Role.APPROVER)
    name = call(
        gateway.RegisterModelVersion, register_request("m", upload(artifacts, b"w"), "1.0.0"), dave
    ).model_version.name
    promote(gateway, name, STAGING, dave)
    waiting = promote(gateway, name, PRODUCTION, dave).promotion
    error = refused(
        gateway.ApprovePromotion, registry_pb2.ApprovePromotionRequest(name=waiting.name), dave
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "dave" in error.details()


def test_rejected_and_withdrawn_promotions_move_nothing(stack, gateway, artifacts) -> None:
    stack.restart_gateway(APPROVALS, auth=True)
    alice, bob = stack.token("alice", Role.WRITER), stack.token("bob", Role.APPROVER)
    eve = stack.token("eve", Role.WRITER)
    name = call(
        gateway.RegisterModelVersion, register_request("m", upload(artifacts, b"w"), "1.0.0"), alice
    ).model_version.name
    promote(gateway, name, STAGING, alice)
    first = promote(gateway, name, PRODUCTION, alice).promotion
    rejected = call(
        gateway.RejectPromotion,
        registry_pb2.RejectPromotionRequest(name=first.name, comment="not yet"),
        bob,
    ).promotion
    assert rejected.state == resources_pb2.PROMOTION_STATE_REJECTED
    second = promote(gateway, name, PRODUCTION, alice).promotion
    denied = refused(
        gateway.WithdrawPromotion, registry_pb2.WithdrawPromotionRequest(name=second.name), eve
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert denied.details() == (
        f"eve may not withdraw {second.name}: only its requester (alice) or an admin may"
    )
    withdrawn = call(
        gateway.WithdrawPromotion, registry_pb2.WithdrawPromotionRequest(name=second.name), alice
    ).promotion
    assert withdrawn.state == resources_pb2.PROMOTION_STATE_WITHDRAWN
    assert stage_of(gateway, name, alice) == STAGING
    listed = call(
        gateway.ListPromotions, registry_pb2.ListPromotionsRequest(parent="models/m"), alice
    ).promotions
    assert [p.state for p in listed if p.target_stage == PRODUCTION] == [
        resources_pb2.PROMOTION_STATE_WITHDRAWN,
        resources_pb2.PROMOTION_STATE_REJECTED,
    ]


def test_auto_approved_principals_promote_at_once(stack, gateway, artifacts) -> None:
    stack.restart_gateway(APPROVALS, auth=True)
    bot = stack.token("release-bot", Role.WRITER)
    name = call(
        gateway.RegisterModelVersion, register_request("m", upload(artifacts, b"w"), "1.0.0"), bot
    ).model_version.name
    promote(gateway, name, STAGING, bot)
    done = promote(gateway, name, PRODUCTION, bot)
    assert done.promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED
    assert done.promotion.required_approvals == 0


def test_concurrent_promotions_leave_exactly_one_version_in_production(gateway, artifacts) -> None:
    names = [register(gateway, artifacts, f"1.{i}.0") for i in range(4)]
    for name in names:
        promote(gateway, name, STAGING)
    barrier = threading.Barrier(len(names))
    outcomes: list[grpc.StatusCode] = []

    def race(name: str) -> None:
        barrier.wait()
        try:
            promote(gateway, name, PRODUCTION)
            outcomes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            outcomes.append(error.code())

    threads = [threading.Thread(target=race, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(grpc.StatusCode.OK) >= 1
    assert set(outcomes) <= {grpc.StatusCode.OK, grpc.StatusCode.ABORTED}
    in_production = [n for n in names if stage_of(gateway, n) == PRODUCTION]
    assert len(in_production) == 1


def test_rollback_promotes_the_previous_production_version(stack, gateway, artifacts) -> None:
    stack.restart_gateway("default: {stages: {production: {previous_production: staging}}}")
    first = register(gateway, artifacts, "1.0.0")
    second = register(gateway, artifacts, "2.0.0")
    for name in (first, second):
        promote(gateway, name, STAGING)
        promote(gateway, name, PRODUCTION)
    done = call(
        gateway.RollbackProduction,
        registry_pb2.RollbackProductionRequest(parent="models/m", reason="2.0.0 misbehaves"),
    )
    assert done.model_version.name == first
    assert done.model_version.stage == PRODUCTION
    assert done.previous_production.name == second


def test_rollback_with_nothing_before_is_refused(gateway, artifacts) -> None:
    name = register(gateway, artifacts, "1.0.0")
    promote(gateway, name, STAGING)
    promote(gateway, name, PRODUCTION)
    error = refused(
        gateway.RollbackProduction, registry_pb2.RollbackProductionRequest(parent="models/m")
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        "cannot roll back models/m: no earlier version was ever in production"
    )


def test_model_report_gathers_everything_about_a_version(gateway, artifacts) -> None:
    name = register(gateway, artifacts, "1.0.0", training_dataset="imagenet@3")
    evaluate(gateway, name, 0.93)
    promote(gateway, name, STAGING)
    call(
        gateway.ReportDeployment,
        registry_pb2.ReportDeploymentRequest(
            model_version=name,
            environment="staging-eu",
            endpoint="http://serving:8080",
            status=resources_pb2.DEPLOYMENT_STATUS_SERVING,
            health="ok",
        ),
    )
    report = call(gateway.GetModelReport, registry_pb2.GetModelReportRequest(name=name))
    assert report.model_version.name == name
    assert [e.metrics["auc"] for e in report.evaluations] == [0.93]
    assert "imagenet@3" in {n.key for n in report.lineage_nodes}
    assert [t.to_stage for t in report.transitions] == [STAGING]
    assert [p.state for p in report.promotions] == [resources_pb2.PROMOTION_STATE_COMPLETED]
    assert [d.environment for d in report.deployments] == ["staging-eu"]


def test_an_admin_override_rollback_skips_gates_and_walks_the_transition_table(
    stack, gateway, artifacts
) -> None:
    stack.restart_gateway(GATED, auth=True)
    admin, writer = stack.token("root", Role.ADMIN), stack.token("w", Role.WRITER)
    first = call(
        gateway.RegisterModelVersion, register_request("m", upload(artifacts, b"1"), "1.0.0"), admin
    ).model_version.name
    for name in (first,):
        call(gateway.CreateEvaluation, _evaluation(name), admin)
    promote(gateway, first, STAGING, admin)
    promote(gateway, first, PRODUCTION, admin)
    second = call(
        gateway.RegisterModelVersion, register_request("m", upload(artifacts, b"2"), "2.0.0"), admin
    ).model_version.name
    call(gateway.CreateEvaluation, _evaluation(second), admin)
    call(
        gateway.UpdateModelVersion,
        registry_pb2.UpdateModelVersionRequest(
            model_version=resources_pb2.ModelVersion(name=second, metrics={"auc": 0.99}),
            update_mask={"paths": ["metrics"]},
        ),
        admin,
    )
    promote(gateway, second, STAGING, admin)
    promote(gateway, second, PRODUCTION, admin)
    assert stage_of(gateway, first, admin) == STAGING  # GATED moves the old one to staging

    denied = refused(
        gateway.RollbackProduction,
        registry_pb2.RollbackProductionRequest(parent="models/m", override=True),
        writer,
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert denied.details() == "w may not override promotion policy: it needs the admin role"
    done = call(
        gateway.RollbackProduction,
        registry_pb2.RollbackProductionRequest(parent="models/m", override=True, reason="outage"),
        admin,
    )
    assert done.model_version.name == first
    assert done.model_version.stage == PRODUCTION
    history = call(
        gateway.ListStageTransitions, registry_pb2.ListStageTransitionsRequest(name=first), admin
    ).transitions
    assert history[0].reason == "override by root: outage"
    assert history[0].actor == "root"


def _evaluation(name: str) -> registry_pb2.CreateEvaluationRequest:
    return registry_pb2.CreateEvaluationRequest(
        parent=name,
        evaluation=resources_pb2.Evaluation(
            dataset_name="holdout",
            dataset_version="1",
            type=resources_pb2.EVALUATION_TYPE_TEST,
            metrics={"auc": 0.95, "f1": 0.9},
        ),
    )
