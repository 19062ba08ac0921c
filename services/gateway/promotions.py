"""Promotion: allowed transitions, gates and approvals from the policy, then an atomic move.

A promotion is recorded in the metadata service (who asked, why, who approved) and
executed by the gateway once approved: the gates are checked again, then the version
moves to its stage with the production version it was checked against as the expected
one, so a concurrent second promotion answers ABORTED instead of making two versions
production.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2
from services.common.auth import Identity, Role
from services.common.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    PreconditionViolation,
    RegistryError,
)
from services.common.validation import (
    parse_model_name,
    parse_version_name,
    validate_request_id,
)
from services.common.vocabulary import (
    FILE_NAME_TAG,
    EvaluationType,
    ProtoEnum,
    Stage,
    from_proto,
    name_of,
    to_proto,
)
from services.gateway.gates import Candidate, CodeFile, EvaluationFact, GateFailure, check_gates
from services.gateway.peers import Peers
from services.gateway.policy import Policy

logger = logging.getLogger(__name__)

PAGE = 1000


def stage_name(stage: int) -> str:
    """``STAGE_PRODUCTION`` -> ``production``."""
    return name_of(Stage, stage)


def _stage_value(name: str) -> ProtoEnum:
    """``production`` -> ``STAGE_PRODUCTION``."""
    return to_proto(Stage(name))


class Promotions:
    """Requests, approves, rejects, withdraws and executes promotions."""

    def __init__(self, peers: Peers, policy: Policy) -> None:
        self.peers = peers
        self.policy = policy

    # ------------------------------------------------------------------ requests

    def promote(
        self, request: registry_pb2.PromoteModelVersionRequest, identity: Identity
    ) -> registry_pb2.PromoteModelVersionResponse:
        """Check transition and gates, record the promotion, execute it if no approval waits.

        A repeat of a request id answers from the promotion it recorded (see the proto)."""
        model, _ = parse_version_name(request.name)
        if from_proto(Stage, request.target_stage) is None:
            raise InvalidArgument.field("target_stage", "a target stage is required")
        request_id = validate_request_id(request.request_id) if request.request_id else ""
        earlier = self._by_request_id(model, request_id, identity) if request_id else None
        if earlier is not None:
            return self._repeat(earlier, request, identity)
        version = self._version(request.name, identity)
        target = stage_name(request.target_stage)
        self._check_transition(version, target)
        stage_policy = self.policy.for_model(model).for_stage(target)
        self._raise_failures(version, self._gate_failures(version, target, identity))
        auto = identity.principal in stage_policy.auto_approve_principals
        try:
            promotion = self._metadata(
                "CreatePromotion",
                metadata_pb2.CreatePromotionRequest(
                    model_version=version.name,
                    target_stage=request.target_stage,
                    reason=request.reason,
                    required_approvals=0 if auto else stage_policy.approvals,
                    request_id=request_id,
                ),
                identity,
            ).promotion
        except RegistryError as error:
            if error.reason == "PROMOTION_OPEN" and error.metadata.get("state") == "APPROVED":
                # Another promotion to this stage is being executed right now: a race.
                raise Aborted(
                    f"another promotion of {version.model} to {target} is in progress "
                    f"({error.metadata.get('promotion')}); try again once it has finished",
                    reason="CONCURRENT_PROMOTION",
                ) from None
            raise
        if promotion.state != resources_pb2.PROMOTION_STATE_APPROVED:
            return registry_pb2.PromoteModelVersionResponse(promotion=promotion)
        return self._execute(promotion, identity)

    def _by_request_id(
        self, model: str, request_id: str, identity: Identity
    ) -> resources_pb2.Promotion | None:
        """The promotion of ``model`` an earlier request with this id recorded, if any."""
        request = metadata_pb2.ListPromotionsRequest(
            parent=f"models/{model}", request_id=request_id, page_size=1
        )
        try:
            found = self._metadata("ListPromotions", request, identity).promotions
        except RegistryError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                return None  # no such model: the usual checks say so
            raise
        return found[0] if found else None

    def _repeat(
        self,
        earlier: resources_pb2.Promotion,
        request: registry_pb2.PromoteModelVersionRequest,
        identity: Identity,
    ) -> registry_pb2.PromoteModelVersionResponse:
        """The answer to a repeated request: the first one's promotion, as it stands now."""
        if (earlier.model_version, earlier.target_stage, earlier.reason) != (
            request.name,
            request.target_stage,
            request.reason,
        ):
            raise InvalidArgument.field(
                "request_id",
                f"request id {request.request_id!r} was already used for a different request "
                f"(it created {earlier.name!r}); use a new request id for a new promotion",
            )
        return self._answer(earlier, f"created by request id {request.request_id!r}", identity)

    def _answer(
        self, promotion: resources_pb2.Promotion, how: str, identity: Identity
    ) -> registry_pb2.PromoteModelVersionResponse:
        """Execute an approved promotion; report any other as it stands."""
        if promotion.state == resources_pb2.PROMOTION_STATE_APPROVED:
            return self._execute(promotion, identity)
        if promotion.state == resources_pb2.PROMOTION_STATE_FAILED:
            raise FailedPrecondition(
                f"{promotion.name}, {how}, failed: {promotion.status_message}; use a new "
                "request id to try again",
                reason="PROMOTION_FAILED",
                metadata={"promotion": promotion.name},
            )
        response = registry_pb2.PromoteModelVersionResponse(promotion=promotion)
        if promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED:
            response.model_version.CopyFrom(self._version(promotion.model_version, identity))
        return response

    def approve(
        self, request: registry_pb2.ApprovePromotionRequest, identity: Identity
    ) -> registry_pb2.PromoteModelVersionResponse:
        """Record an approval; execute the promotion once enough approvals are in.

        Returns the same shape as :meth:`promote` (the servicer converts it)."""
        request_id = validate_request_id(request.request_id) if request.request_id else ""
        promotion = self._decide(
            request.name,
            resources_pb2.APPROVAL_DECISION_APPROVE,
            request.comment,
            identity,
            request_id,
        )
        # After a new approval the promotion is pending or approved; after a repeat it may
        # have moved on: answer from where it stands.
        return self._answer(promotion, f"approved by request id {request_id!r}", identity)

    def reject(
        self, request: registry_pb2.RejectPromotionRequest, identity: Identity
    ) -> resources_pb2.Promotion:
        """Reject a promotion waiting for approval."""
        return self._decide(
            request.name, resources_pb2.APPROVAL_DECISION_REJECT, request.comment, identity
        )

    def withdraw(
        self, request: registry_pb2.WithdrawPromotionRequest, identity: Identity
    ) -> resources_pb2.Promotion:
        """Withdraw a promotion; only its requester or an admin may."""
        promotion = self._promotion(request.name, identity)
        if promotion.requested_by != identity.principal and not identity.has(Role.ADMIN):
            raise PermissionDenied(
                f"{identity.principal} may not withdraw {promotion.name}: only its requester "
                f"({promotion.requested_by}) or an admin may",
                reason="NOT_REQUESTER",
            )
        return self._set_state(
            promotion,
            resources_pb2.PROMOTION_STATE_WITHDRAWN,
            request.reason or f"withdrawn by {identity.principal}",
            identity,
        )

    def rollback(
        self, request: registry_pb2.RollbackProductionRequest, identity: Identity
    ) -> registry_pb2.PromoteModelVersionResponse:
        """Promote the version that was in production before the current one.

        It goes through the same transition rules and gates, unless ``override`` is set by
        an admin, which skips gates and approvals and is recorded as such.
        """
        model = parse_model_name(request.parent, "parent")
        previous = self._previous_production(model, identity)
        reason = request.reason or "rollback of production"
        if not request.override:
            return self.promote(
                registry_pb2.PromoteModelVersionRequest(
                    name=previous, target_stage=resources_pb2.STAGE_PRODUCTION, reason=reason
                ),
                identity,
            )
        if not identity.has(Role.ADMIN):
            raise PermissionDenied(
                f"{identity.principal} may not override promotion policy: it needs the admin role",
                reason="ROLE_REQUIRED",
                metadata={"role": "admin"},
            )
        version = self._version(previous, identity)
        production = self._production(model, identity)
        moved = self._transition(
            version,
            "production",
            f"override by {identity.principal}: {reason}",
            self.policy.for_model(model).for_stage("production").previous_production,
            production,
            identity,
            walk=True,
        )
        return registry_pb2.PromoteModelVersionResponse(
            model_version=moved.model_version, previous_production=moved.previous_production
        )

    def report(
        self, request: registry_pb2.GetModelReportRequest, identity: Identity
    ) -> registry_pb2.GetModelReportResponse:
        """A version with its evaluations, lineage, transitions, promotions and deployments."""
        version = self._version(request.name, identity)
        evaluations = self._all(
            "ListEvaluations",
            metadata_pb2.ListEvaluationsRequest(parent=version.name),
            "evaluations",
            identity,
        )
        transitions = self._all(
            "ListStageTransitions",
            metadata_pb2.ListStageTransitionsRequest(name=version.name),
            "transitions",
            identity,
        )
        promotions = self._all(
            "ListPromotions",
            metadata_pb2.ListPromotionsRequest(
                parent=f"models/{version.model}", model_version=version.name
            ),
            "promotions",
            identity,
        )
        lineage = self._metadata(
            "GetLineage",
            metadata_pb2.GetLineageRequest(
                node=resources_pb2.LineageNode(
                    type=resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION, key=version.name
                ),
                direction=resources_pb2.LINEAGE_DIRECTION_BOTH,
                max_depth=3,
            ),
            identity,
        )
        deployments = self._metadata(
            "ListDeployments", metadata_pb2.ListDeploymentsRequest(parent=version.name), identity
        ).deployments
        return registry_pb2.GetModelReportResponse(
            model_version=version,
            evaluations=evaluations,
            lineage_nodes=lineage.nodes,
            lineage_edges=lineage.edges,
            transitions=transitions,
            promotions=promotions,
            deployments=deployments,
        )

    def _all(self, method: str, request, field: str, identity: Identity) -> list:
        """Every item of a paged list."""
        items: list = []
        while True:
            request.page_size = PAGE
            page = self._metadata(method, request, identity)
            items.extend(getattr(page, field))
            if not page.next_page_token:
                return items
            request.page_token = page.next_page_token

    # ------------------------------------------------------------------ execution

    def _execute(
        self, promotion: resources_pb2.Promotion, identity: Identity
    ) -> registry_pb2.PromoteModelVersionResponse:
        version = self._version(promotion.model_version, identity)
        target = stage_name(promotion.target_stage)
        if stage_name(version.stage) == target:
            # An earlier attempt moved the version, then lost the completion (a lost answer,
            # a database restart): finish the promotion instead of refusing a move to the
            # stage the version already holds.
            done = self._set_state(
                promotion,
                resources_pb2.PROMOTION_STATE_COMPLETED,
                f"{version.name} is now {target}",
                identity,
            )
            return registry_pb2.PromoteModelVersionResponse(promotion=done, model_version=version)
        failures = self._gate_failures(version, target, identity)
        if failures:
            self._set_state(
                promotion,
                resources_pb2.PROMOTION_STATE_FAILED,
                "; ".join(f.description for f in failures),
                identity,
            )
            self._raise_failures(version, failures)
        production = self._production(version.model, identity) if target == "production" else None
        previous_stage = self.policy.for_model(version.model).for_stage(target).previous_production
        try:
            moved = self._transition(
                version,
                target,
                promotion.reason or f"promotion {promotion.name}",
                previous_stage,
                production,
                identity,
            )
        except RegistryError as error:
            self._set_state(
                promotion, resources_pb2.PROMOTION_STATE_FAILED, error.message, identity
            )
            raise
        done = self._set_state(
            promotion,
            resources_pb2.PROMOTION_STATE_COMPLETED,
            f"{version.name} is now {target}",
            identity,
        )
        return registry_pb2.PromoteModelVersionResponse(
            promotion=done,
            model_version=moved.model_version,
            previous_production=moved.previous_production,
        )

    def _transition(
        self,
        version: resources_pb2.ModelVersion,
        target: str,
        reason: str,
        previous_stage: str,
        production: resources_pb2.ModelVersion | None,
        identity: Identity,
        walk: bool = False,
    ) -> metadata_pb2.TransitionModelVersionStageResponse:
        """Move ``version`` to ``target``; with ``walk``, through allowed intermediate stages."""
        path = [target]
        if walk:
            path = _path(stage_name(version.stage), target, self.policy.for_model(version.model))
        response = None
        for stage in path:
            request = metadata_pb2.TransitionModelVersionStageRequest(
                name=version.name,
                stage=_stage_value(stage),
                reason=reason,
                previous_production_stage=_stage_value(previous_stage),
            )
            if stage == "production":
                request.expected_production_version = production.name if production else "none"
            try:
                response = self._metadata("TransitionModelVersionStage", request, identity)
            except RegistryError as error:
                if error.code == grpc.StatusCode.ABORTED:
                    raise Aborted(
                        f"another promotion of {version.model} won the race: {error.message}",
                        reason="CONCURRENT_PROMOTION",
                    ) from None
                raise
        assert response is not None
        return response

    # ------------------------------------------------------------------ gates

    def _check_transition(self, version: resources_pb2.ModelVersion, target: str) -> None:
        if version.state != resources_pb2.VERSION_STATE_READY:
            state = resources_pb2.VersionState.Name(version.state).removeprefix("VERSION_STATE_")
            raise FailedPrecondition(
                f"cannot promote {version.name}: it is {state}, and only READY versions "
                "can be promoted",
                reason="NOT_READY",
                precondition_violations=[
                    PreconditionViolation("NOT_READY", version.name, f"state is {state}")
                ],
            )
        current = stage_name(version.stage)
        allowed = sorted(self.policy.for_model(version.model).allowed_targets(current))
        if target not in allowed:
            raise FailedPrecondition(
                f"cannot move {version.name} from {current} to {target}: allowed targets "
                f"from {current} are {', '.join(allowed) or 'none'}",
                reason="TRANSITION_NOT_ALLOWED",
                precondition_violations=[
                    PreconditionViolation(
                        "TRANSITION_NOT_ALLOWED", version.name, f"{current} -> {target}"
                    )
                ],
            )

    def _gate_failures(
        self, version: resources_pb2.ModelVersion, target: str, identity: Identity
    ) -> list[GateFailure]:
        stage_policy = self.policy.for_model(version.model).for_stage(target)
        production = (
            self._production(version.model, identity) if stage_policy.no_regression else None
        )
        candidate = Candidate(
            version.name, version.artifact_digest.size_bytes, dict(version.metrics)
        )
        baseline = (
            Candidate(
                production.name, production.artifact_digest.size_bytes, dict(production.metrics)
            )
            if production is not None and production.name != version.name
            else None
        )
        needs_evaluations = (
            stage_policy.required_evaluations
            or stage_policy.metrics
            or (stage_policy.no_regression)
        )
        evaluations = self._evaluations(version.name, identity) if needs_evaluations else []
        return check_gates(
            stage_policy,
            candidate,
            evaluations,
            baseline,
            lambda: self._verify(version),
            lambda: self._code_files(version),
        )

    def _raise_failures(
        self, version: resources_pb2.ModelVersion, failures: list[GateFailure]
    ) -> None:
        if not failures:
            return
        raise FailedPrecondition(
            f"{version.name} did not pass {len(failures)} promotion gate"
            f"{'s' if len(failures) > 1 else ''}: " + "; ".join(f.description for f in failures),
            reason="GATES_FAILED",
            precondition_violations=[
                PreconditionViolation(f.gate, f.subject, f.description) for f in failures
            ],
        )

    def _evaluations(self, name: str, identity: Identity) -> list[EvaluationFact]:
        facts: list[EvaluationFact] = []
        token = ""
        while True:
            page = self._metadata(
                "ListEvaluations",
                metadata_pb2.ListEvaluationsRequest(parent=name, page_size=PAGE, page_token=token),
                identity,
            )
            for e in page.evaluations:
                facts.append(
                    EvaluationFact(
                        name_of(EvaluationType, e.type, unknown=""),
                        e.dataset_name,
                        e.dataset_version,
                        dict(e.metrics),
                    )
                )
            token = page.next_page_token
            if not token:
                return list(reversed(facts))

    def _code_files(self, version: resources_pb2.ModelVersion) -> list[CodeFile]:
        """The version's files whose inspection says loading them can run code."""
        files = [(version.tags.get(FILE_NAME_TAG, ""), version.artifact_digest)]
        if version.artifact_is_tree:
            tree = self.peers.artifacts.call(
                "GetTree", artifacts_pb2.GetTreeRequest(digest=version.artifact_digest)
            )
            files = [(entry.path, entry.digest) for entry in tree.entries]
        found = []
        for path, digest in files:
            blob = self.peers.artifacts.call(
                "StatBlob", artifacts_pb2.StatBlobRequest(digest=digest)
            ).blob
            if blob.inspection.may_execute_code:
                found.append(CodeFile(path or f"sha256:{digest.hash}", blob.inspection.format))
        return found

    def _verify(self, version: resources_pb2.ModelVersion) -> str | None:
        """Re-read every byte of the version's artifact and check its SHA-256."""
        digests = [version.artifact_digest]
        if version.artifact_is_tree:
            tree = self.peers.artifacts.call(
                "GetTree", artifacts_pb2.GetTreeRequest(digest=version.artifact_digest)
            )
            digests += [entry.digest for entry in tree.entries]
        for digest in digests:
            problem = self._verify_blob(digest)
            if problem:
                return problem
        return None

    def _verify_blob(self, digest: resources_pb2.Digest) -> str | None:
        hasher = hashlib.sha256()
        size = 0
        try:
            for piece in self._read(digest):
                hasher.update(piece.data)
                size += len(piece.data)
        except RegistryError as error:
            return f"sha256:{digest.hash} could not be read back: {error.message}"
        if hasher.hexdigest() != digest.hash or size != digest.size_bytes:
            return f"sha256:{digest.hash} reads back as sha256:{hasher.hexdigest()} ({size} bytes)"
        return None

    def _read(self, digest: resources_pb2.Digest) -> Iterator[artifacts_pb2.ReadBlobResponse]:
        stream = self.peers.artifacts.call_stream(
            "ReadBlob", artifacts_pb2.ReadBlobRequest(digest=digest)
        )
        yield from stream

    # ------------------------------------------------------------------ reads

    def _version(self, name: str, identity: Identity) -> resources_pb2.ModelVersion:
        request = metadata_pb2.GetModelVersionRequest(name=name)
        return self._metadata("GetModelVersion", request, identity).model_version

    def _production(self, model: str, identity: Identity) -> resources_pb2.ModelVersion | None:
        request = metadata_pb2.ResolveModelVersionRequest(reference=f"{model}@production")
        try:
            return self._metadata("ResolveModelVersion", request, identity).model_version
        except RegistryError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def _previous_production(self, model: str, identity: Identity) -> str:
        """The version that most recently left production (from the event outbox)."""
        current = self._production(model, identity)
        cursor, found = 0, ""
        while True:
            page = self._metadata(
                "ListEvents",
                metadata_pb2.ListEventsRequest(
                    after_sequence=cursor, limit=PAGE, types=["stage.changed"], model=model
                ),
                identity,
            )
            for event in page.events:
                if event.attributes.get("from_stage") == "production" and (
                    current is None or event.resource != current.name
                ):
                    found = event.resource
            if len(page.events) < PAGE:
                break
            cursor = page.next_after_sequence
        if not found:
            raise FailedPrecondition(
                f"cannot roll back models/{model}: no earlier version was ever in production",
                reason="NOTHING_TO_ROLL_BACK",
            )
        return found

    def _promotion(self, name: str, identity: Identity) -> resources_pb2.Promotion:
        request = metadata_pb2.GetPromotionRequest(name=name)
        return self._metadata("GetPromotion", request, identity).promotion

    def _decide(
        self, name: str, decision: ProtoEnum, comment: str, identity: Identity, request_id: str = ""
    ):
        request = metadata_pb2.DecidePromotionRequest(
            name=name, decision=decision, comment=comment, request_id=request_id
        )
        return self._metadata("DecidePromotion", request, identity).promotion

    def _set_state(self, promotion, state: ProtoEnum, message: str, identity: Identity):
        request = metadata_pb2.SetPromotionStateRequest(
            name=promotion.name, state=state, status_message=message
        )
        return self._metadata("SetPromotionState", request, identity).promotion

    def _metadata(self, method: str, request, identity: Identity):
        return self.peers.metadata.call(method, request, principal=identity.principal)


def _path(current: str, target: str, policy) -> list[str]:
    """The shortest chain of allowed transitions from ``current`` to ``target``."""
    frontier, seen = [[current]], {current}
    while frontier:
        route = frontier.pop(0)
        for nxt in sorted(policy.allowed_targets(route[-1])):
            if nxt in seen:
                continue
            if nxt == target:
                return [*route[1:], nxt]
            seen.add(nxt)
            frontier.append([*route, nxt])
    raise FailedPrecondition(f"no chain of allowed transitions leads from {current} to {target}")
