"""Conversions between governance protos (promotions, approvals, deployments) and domain objects."""

from __future__ import annotations

from modelregistry.v1 import resources_pb2
from services.metadata.convert import stage_to_proto, timestamp
from services.metadata.domain_governance import (
    Approval,
    Decision,
    Deployment,
    DeploymentStatus,
    Promotion,
    PromotionState,
)
from services.metadata.usecases.base import etag

_PROMOTION_STATES = {
    s: resources_pb2.PromotionState.Value(f"PROMOTION_STATE_{s.name}") for s in PromotionState
}
_PROMOTION_STATES_BACK = {v: k for k, v in _PROMOTION_STATES.items()}
_DECISIONS = {
    d: resources_pb2.ApprovalDecision.Value(f"APPROVAL_DECISION_{d.name}") for d in Decision
}
_DECISIONS_BACK = {v: k for k, v in _DECISIONS.items()}
_DEPLOYMENT_STATUSES = {
    s: resources_pb2.DeploymentStatus.Value(f"DEPLOYMENT_STATUS_{s.name}") for s in DeploymentStatus
}
_DEPLOYMENT_STATUSES_BACK = {v: k for k, v in _DEPLOYMENT_STATUSES.items()}


def promotion_state_from_proto(value: int) -> PromotionState | None:
    """``PROMOTION_STATE_APPROVED`` -> ``PromotionState.APPROVED``; None for unspecified."""
    return _PROMOTION_STATES_BACK.get(value)


def decision_from_proto(value: int) -> Decision | None:
    """``APPROVAL_DECISION_APPROVE`` -> ``Decision.APPROVE``; None for unspecified."""
    return _DECISIONS_BACK.get(value)


def deployment_status_from_proto(value: int) -> DeploymentStatus | None:
    """``DEPLOYMENT_STATUS_SERVING`` -> ``DeploymentStatus.SERVING``; None for unspecified."""
    return _DEPLOYMENT_STATUSES_BACK.get(value)


def approval_to_proto(a: Approval) -> resources_pb2.Approval:
    """A decision as its proto."""
    return resources_pb2.Approval(
        principal=a.principal,
        decision=_DECISIONS[a.decision],
        comment=a.comment,
        time=timestamp(a.time),
    )


def promotion_to_proto(p: Promotion) -> resources_pb2.Promotion:
    """A promotion as its proto."""
    return resources_pb2.Promotion(
        name=p.name,
        model_version=p.version_name,
        target_stage=stage_to_proto(p.target_stage),
        state=_PROMOTION_STATES[p.state],
        requested_by=p.requested_by,
        reason=p.reason,
        required_approvals=p.required_approvals,
        approvals=[approval_to_proto(a) for a in p.approvals],
        status_message=p.status_message,
        create_time=timestamp(p.create_time),
        update_time=timestamp(p.update_time),
        etag=etag(p.revision),
    )


def deployment_to_proto(d: Deployment) -> resources_pb2.Deployment:
    """A deployment as its proto."""
    return resources_pb2.Deployment(
        name=d.name,
        model_version=d.version_name,
        environment=d.environment,
        endpoint=d.endpoint,
        status=_DEPLOYMENT_STATUSES[d.status],
        health=d.health,
        reported_by=d.reported_by,
        update_time=timestamp(d.update_time),
        attributes=d.attributes,
    )
