"""Domain objects of governance: promotion requests, their approvals, deployments.

Plain dataclasses like those of :mod:`services.metadata.domain`, kept apart so the two
grow independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.metadata.domain import Stage


class PromotionState(StrEnum):
    """Where a promotion request stands."""

    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"


#: States in which a promotion is open: at most one per model and target stage.
OPEN_STATES: tuple[PromotionState, ...] = (PromotionState.PENDING_APPROVAL, PromotionState.APPROVED)

#: The outcomes ``SetPromotionState`` records, and the states each may be reached from.
OUTCOMES: dict[PromotionState, tuple[PromotionState, ...]] = {
    PromotionState.WITHDRAWN: OPEN_STATES,
    PromotionState.COMPLETED: (PromotionState.APPROVED,),
    PromotionState.FAILED: (PromotionState.APPROVED,),
}


class Decision(StrEnum):
    """One principal's decision on a promotion."""

    APPROVE = "approve"
    REJECT = "reject"


class DeploymentStatus(StrEnum):
    """What serving infrastructure reports about a deployment."""

    DEPLOYING = "deploying"
    SERVING = "serving"
    DEGRADED = "degraded"
    FAILED = "failed"
    RETIRED = "retired"


@dataclass
class Approval:
    """One principal's decision on a promotion."""

    principal: str
    decision: Decision
    comment: str
    time: datetime


@dataclass
class Promotion:
    """A request to move a version to a stage, with the approvals it gathered."""

    id: int
    model: str
    version: str
    target_stage: Stage
    state: PromotionState
    requested_by: str
    reason: str
    required_approvals: int
    approvals: list[Approval] = field(default_factory=list)
    status_message: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    revision: int = 1

    @property
    def name(self) -> str:
        """Resource name ``models/{model}/promotions/{id}``."""
        return f"models/{self.model}/promotions/{self.id}"

    @property
    def version_name(self) -> str:
        """Resource name of the version to promote."""
        return f"models/{self.model}/versions/{self.version}"


@dataclass
class Deployment:
    """Which version of a model runs in one environment."""

    model: str
    environment: str
    version: str
    endpoint: str
    status: DeploymentStatus
    health: str
    attributes: dict[str, str]
    reported_by: str
    update_time: datetime | None = None

    @property
    def name(self) -> str:
        """Resource name ``models/{model}/deployments/{environment}``."""
        return f"models/{self.model}/deployments/{self.environment}"

    @property
    def version_name(self) -> str:
        """Resource name of the deployed version."""
        return f"models/{self.model}/versions/{self.version}"
