"""Governance use cases: promotion requests and their approvals.

The gateway decides policy (which gates, how many approvals, who may withdraw); these use
cases keep the records and enforce, inside each transaction, the rules the records need:
one open promotion per model and target stage (under the model's row lock, backed by a
partial unique index), decisions only on pending promotions, never by the requester,
once per principal (unique key). Deployments are in :mod:`.deployments`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
)
from services.common.validation import (
    model_name,
    parse_model_name,
    parse_version_name,
    validate_model_id,
    version_name,
)
from services.metadata import checks, semver
from services.metadata.domain import Page, Stage, State
from services.metadata.domain_governance import (
    OUTCOMES,
    Decision,
    Promotion,
    PromotionState,
)
from services.metadata.pagetoken import page_size as effective_size
from services.metadata.store import governance as store
from services.metadata.store import versions as versions_store
from services.metadata.store.db import Conflict, Tx
from services.metadata.store.mapping import snapshot
from services.metadata.store.outbox import Change, flush_change
from services.metadata.usecases.base import UseCaseBase, version_not_found
from services.metadata.usecases.idempotency import (
    check_request_id,
    check_same_request,
    content_hash,
)

logger = logging.getLogger(__name__)

#: Most approvals a promotion may require.
MAX_REQUIRED_APPROVALS = 100

_PROMOTION_NAME = re.compile(r"models/(?P<model>[^/]+)/promotions/(?P<id>[1-9][0-9]{0,17})")
_EVENTS = {
    PromotionState.APPROVED: "promotion.approved",
    PromotionState.REJECTED: "promotion.rejected",
    PromotionState.WITHDRAWN: "promotion.withdrawn",
    PromotionState.COMPLETED: "promotion.completed",
    PromotionState.FAILED: "promotion.failed",
}


def parse_promotion_name(name: str, field: str = "name") -> tuple[str, int]:
    """``models/{model}/promotions/{id}`` -> (model id, promotion id)."""
    match = _PROMOTION_NAME.fullmatch(name)
    if not match:
        raise InvalidArgument.field(
            field, f"expected 'models/{{model}}/promotions/{{promotion}}', got {name!r}"
        )
    return validate_model_id(match["model"], field), int(match["id"])


def _state(state: PromotionState) -> str:
    return state.name


def promotion_not_found(model: str, promotion_id: int) -> NotFound:
    """NOT_FOUND for a promotion."""
    name = f"{model_name(model)}/promotions/{promotion_id}"
    return NotFound(f"promotion {name!r} does not exist", metadata={"promotion": name})


class GovernanceUseCases(UseCaseBase):
    """Promotions with approvals, and deployments."""

    # ------------------------------------------------------------------ promotions

    def create_promotion(
        self,
        version_name_: str,
        target: Stage,
        *,
        reason: str,
        required_approvals: int,
        actor: str,
        request_id: str = "",
    ) -> Promotion:
        """Record a request to move a READY version to ``target``; idempotent by
        ``request_id``."""
        model, version = parse_version_name(version_name_, "model_version")
        semver.parse(version, "model_version")
        request_id = check_request_id(request_id)
        checks.text(reason, "reason", checks.MAX_DESCRIPTION_BYTES)
        if not 0 <= required_approvals <= MAX_REQUIRED_APPROVALS:
            raise InvalidArgument.field(
                "required_approvals",
                f"must be between 0 and {MAX_REQUIRED_APPROVALS}, got {required_approvals}",
            )
        request_hash = content_hash(
            {
                "model_version": version_name_,
                "target": target.value,
                "reason": reason,
                "required_approvals": required_approvals,
            }
        )
        args = (model, version, target, reason, required_approvals, actor)
        try:
            return self._create_promotion(*args, request_id, request_hash)
        except Conflict:
            if not request_id:
                raise
            # The same request id committed concurrently: answer with what it recorded.
            return self._create_promotion(*args, request_id, request_hash)

    def _create_promotion(
        self,
        model: str,
        version: str,
        target: Stage,
        reason: str,
        required_approvals: int,
        actor: str,
        request_id: str,
        request_hash: str,
    ) -> Promotion:
        version_name_ = version_name(model, version)
        now = self.now()
        with self.db.write() as tx:
            parent = self.locked_model(tx, model)
            if request_id:
                earlier = store.promotion_by_request_id(tx, request_id)
                if earlier is not None:
                    found, stored_hash = earlier
                    check_same_request(
                        request_id, stored_hash, request_hash, found.name, "promotion"
                    )
                    return found
            subject = versions_store.get_version(tx, model, version)
            if subject is None:
                raise version_not_found(model, version)
            if subject.state is not State.READY:
                state_ = subject.state.value
                raise FailedPrecondition(
                    f"cannot request promotion of {version_name_!r} to {target.value}: it is "
                    f"{state_.upper()}, and only READY versions are promoted",
                    reason="NOT_READY",
                    precondition_violations=[
                        PreconditionViolation("NOT_READY", version_name_, f"state is {state_}")
                    ],
                )
            open_ = store.open_promotion(tx, parent.row_id, target)
            if open_ is not None:
                other_id, other_state, other_version = open_
                other_name = f"{model_name(model)}/promotions/{other_id}"
                raise FailedPrecondition(
                    f"model {model_name(model)!r} already has an open promotion to "
                    f"{target.value}: {other_name!r} of {version_name(model, other_version)!r} "
                    f"is {other_state.name}; approve, reject or withdraw it first",
                    reason="PROMOTION_OPEN",
                    metadata={
                        "promotion": other_name,
                        "state": other_state.name,
                        "model_version": version_name(model, other_version),
                    },
                    precondition_violations=[
                        PreconditionViolation(
                            "PROMOTION_OPEN",
                            other_name,
                            f"open promotion to {target.value} ({other_state.name})",
                        )
                    ],
                )
            state = (
                PromotionState.APPROVED
                if required_approvals == 0
                else PromotionState.PENDING_APPROVAL
            )
            created = store.insert_promotion(
                tx,
                model,
                version,
                model_id=parent.row_id,
                version_id=subject.row_id,
                target=target,
                state=state,
                requested_by=actor,
                reason=reason,
                required_approvals=required_approvals,
                now=now,
                request_id=request_id,
                request_hash=request_hash,
            )
            change = Change(actor, now)
            change.audit("promotion.create", created.name, None, snapshot(created))
            self._event(change, "promotion.requested", created, reason=reason)
            if state is PromotionState.APPROVED:
                self._event(change, "promotion.approved", created, automatic="true")
            flush_change(tx, change)
        logger.info("promotion %s requested by %s (%s)", created.name, actor, state.value)
        return created

    def get_promotion(self, name: str) -> Promotion:
        """One promotion with its approvals."""
        model, promotion_id = parse_promotion_name(name)
        with self.db.read() as tx:
            found = store.get_promotion(tx, model, promotion_id)
        if found is None:
            raise promotion_not_found(model, promotion_id)
        return found

    def list_promotions(
        self,
        parent: str,
        *,
        state: PromotionState | None,
        version_filter: str,
        page_size: int,
        page_token: str,
        request_id: str = "",
    ) -> Page:
        """A model's promotions newest first, optionally of one state or version, or the
        one created with ``request_id``."""
        model = parse_model_name(parent, "parent")
        request_id = check_request_id(request_id)
        version = ""
        if version_filter:
            filter_model, version = parse_version_name(version_filter, "model_version")
            if filter_model != model:
                raise InvalidArgument.field(
                    "model_version",
                    f"names a version of {model_name(filter_model)!r}, not of {parent!r}",
                )
        size = effective_size(page_size)
        query = {
            "op": "ListPromotions",
            "parent": parent,
            "state": state.value if state else "",
            "version": version,
            "request_id": request_id,
        }
        after = self.tokens.decode(page_token, query)[0] if page_token else None
        with self.db.read() as tx:
            model_id = self.model_id(tx, model)
            version_id = self.version_id(tx, model, version) if version else None
            items = store.list_promotions(
                tx,
                model_id,
                model,
                state=state,
                version_id=version_id,
                request_id=request_id,
                after_id=after,
                limit=size + 1,
            )
        token = ""
        if len(items) > size:
            items = items[:size]
            token = self.tokens.encode(query, [items[-1].id])
        return Page(items, token)

    def decide_promotion(
        self,
        name: str,
        decision: Decision | None,
        comment: str,
        actor: str,
        request_id: str = "",
    ) -> Promotion:
        """Record ``actor``'s approval or rejection of a pending promotion; a repeat of
        ``request_id`` records nothing and returns the promotion as it is."""
        model, promotion_id = parse_promotion_name(name)
        request_id = check_request_id(request_id)
        if decision is None:
            raise InvalidArgument.field(
                "decision", "a decision is required: APPROVAL_DECISION_APPROVE or _REJECT"
            )
        checks.text(comment, "comment", checks.MAX_DESCRIPTION_BYTES)
        request_hash = content_hash(
            {"name": name, "decision": decision.value, "comment": comment, "actor": actor}
        )
        now = self.now()
        with self.db.write() as tx:
            before = self._locked_promotion(tx, model, promotion_id)
            earlier = store.decision_by_request_id(tx, request_id) if request_id else None
            if earlier is not None:
                decided_on, stored_hash = earlier
                same = decided_on == before.id and stored_hash == request_hash
                check_same_request(
                    request_id,
                    stored_hash if same else None,
                    request_hash,
                    f"a decision on promotion {decided_on}",
                    "decision",
                )
                return before
            if before.state is not PromotionState.PENDING_APPROVAL:
                raise FailedPrecondition(
                    f"cannot decide on {name!r}: it is {_state(before.state)}, and only "
                    "PENDING_APPROVAL promotions take decisions",
                    reason="PROMOTION_NOT_PENDING",
                    precondition_violations=[
                        PreconditionViolation(
                            "PROMOTION_NOT_PENDING", name, f"state is {_state(before.state)}"
                        )
                    ],
                )
            if before.requested_by == actor:
                raise PermissionDenied(
                    f"{actor!r} requested {name!r} and may not decide on their own request: "
                    "another principal must approve or reject it",
                    reason="OWN_REQUEST",
                    metadata={"principal": actor, "promotion": name},
                )
            decided = store.decision_of(tx, before.id, actor)
            if decided is not None:
                raise AlreadyExists(
                    f"{actor!r} has already decided on {name!r} "
                    f"({decided.decision.name}); each principal decides once",
                    reason="ALREADY_DECIDED",
                    metadata={"principal": actor, "promotion": name},
                )
            store.add_decision(
                tx, before.id, actor, decision, comment, now, request_id, request_hash
            )
            outcome = before
            if decision is Decision.REJECT:
                outcome = replace(
                    before,
                    state=PromotionState.REJECTED,
                    status_message=f"rejected by {actor}" + (f": {comment}" if comment else ""),
                )
            elif store.count_approvals(tx, before.id) >= before.required_approvals:
                outcome = replace(before, state=PromotionState.APPROVED)
            after = store.save_promotion(
                tx, replace(outcome, update_time=now, revision=before.revision + 1)
            )
            change = Change(actor, now)
            change.audit("promotion.decide", name, snapshot(before), snapshot(after))
            if after.state is not before.state:
                self._event(
                    change, _EVENTS[after.state], after, decision=decision.value, comment=comment
                )
            flush_change(tx, change)
        return after

    def set_promotion_state(
        self,
        name: str,
        target: PromotionState | None,
        status_message: str,
        etag_value: str,
        actor: str,
    ) -> Promotion:
        """Record a promotion's outcome: WITHDRAWN, COMPLETED or FAILED."""
        model, promotion_id = parse_promotion_name(name)
        if target not in OUTCOMES:
            got = target.name if target else "unspecified"
            raise InvalidArgument.field(
                "state", f"the target state must be WITHDRAWN, COMPLETED or FAILED, got {got}"
            )
        checks.text(status_message, "status_message", checks.MAX_DESCRIPTION_BYTES)
        now = self.now()
        with self.db.write() as tx:
            before = self._locked_promotion(tx, model, promotion_id)
            if before.state is target:
                return before  # a retry of a recorded outcome changes nothing
            self.check_etag(etag_value, before.revision, name)
            allowed = OUTCOMES[target]
            if before.state not in allowed:
                sources = " or ".join(_state(s) for s in allowed)
                raise FailedPrecondition(
                    f"cannot move {name!r} from {_state(before.state)} to {_state(target)}: "
                    f"only a promotion that is {sources} can become {_state(target)}",
                    reason="PROMOTION_STATE_NOT_ALLOWED",
                    precondition_violations=[
                        PreconditionViolation(
                            "PROMOTION_STATE_NOT_ALLOWED",
                            name,
                            f"{_state(before.state)} -> {_state(target)}; allowed from {sources}",
                        )
                    ],
                )
            after = store.save_promotion(
                tx,
                replace(
                    before,
                    state=target,
                    status_message=status_message,
                    update_time=now,
                    revision=before.revision + 1,
                ),
            )
            change = Change(actor, now)
            change.audit("promotion.state", name, snapshot(before), snapshot(after))
            self._event(change, _EVENTS[target], after, status_message=status_message)
            flush_change(tx, change)
        return after

    @staticmethod
    def _locked_promotion(tx: Tx, model: str, promotion_id: int) -> Promotion:
        found = store.get_promotion(tx, model, promotion_id, lock=True)
        if found is None:
            raise promotion_not_found(model, promotion_id)
        return found

    @staticmethod
    def _event(change: Change, type_: str, p: Promotion, **attributes: str) -> None:
        change.event(
            type_,
            p.model,
            p.name,
            promotion=str(p.id),
            version=p.version,
            target_stage=p.target_stage.value,
            state=p.state.value,
            **attributes,
        )
