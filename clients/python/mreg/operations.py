"""Typed wrappers of the gateway's lifecycle and query RPCs, mixed into :class:`mreg.Client`.

Methods that take a version accept ``name:1.2.0``, ``name@alias``, ``name@stage`` or a
resource name ``models/{model}/versions/{version}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

from modelregistry.v1 import registry_pb2, resources_pb2
from mreg.errors import UnavailableError, from_rpc_error

STAGES = {
    "development": resources_pb2.STAGE_DEVELOPMENT,
    "staging": resources_pb2.STAGE_STAGING,
    "production": resources_pb2.STAGE_PRODUCTION,
    "archived": resources_pb2.STAGE_ARCHIVED,
    "deprecated": resources_pb2.STAGE_DEPRECATED,
}
EVALUATION_TYPES = {
    "validation": resources_pb2.EVALUATION_TYPE_VALIDATION,
    "test": resources_pb2.EVALUATION_TYPE_TEST,
    "production": resources_pb2.EVALUATION_TYPE_PRODUCTION,
}
DIRECTIONS = {
    "up": resources_pb2.LINEAGE_DIRECTION_UP,
    "down": resources_pb2.LINEAGE_DIRECTION_DOWN,
    "both": resources_pb2.LINEAGE_DIRECTION_BOTH,
}
DEPLOYMENT_STATUS = {
    "deploying": resources_pb2.DEPLOYMENT_STATUS_DEPLOYING,
    "serving": resources_pb2.DEPLOYMENT_STATUS_SERVING,
    "degraded": resources_pb2.DEPLOYMENT_STATUS_DEGRADED,
    "failed": resources_pb2.DEPLOYMENT_STATUS_FAILED,
    "retired": resources_pb2.DEPLOYMENT_STATUS_RETIRED,
}
NODE_TYPES = {
    "model": resources_pb2.LINEAGE_NODE_TYPE_MODEL_VERSION,
    "dataset": resources_pb2.LINEAGE_NODE_TYPE_DATASET,
    "experiment": resources_pb2.LINEAGE_NODE_TYPE_EXPERIMENT,
    "run": resources_pb2.LINEAGE_NODE_TYPE_RUN,
}


def _choice(table: Mapping[str, Any], value: str, what: str) -> Any:
    """``table[value]``: a proto enum's number (Any: the generated stubs take only the enum
    class for an enum field, protobuf any int)."""
    try:
        return table[value.lower()]
    except KeyError:
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(table)}") from None


class Operations:
    """Lifecycle and query calls; needs ``_unary``, ``resolve`` and ``registry`` from Client."""

    # Provided by mreg.Client, which mixes this class in.
    registry: Any
    metadata: tuple[tuple[str, str], ...]
    _unary: Callable[..., Any]
    resolve: Callable[[str], resources_pb2.ModelVersion]

    def version_name(self, reference: str) -> str:
        """A version's resource name from any reference (``name:1.0.0`` needs no call)."""
        if reference.startswith("models/"):
            return reference
        model, sep, version = reference.partition(":")
        if sep and "@" not in reference:
            return f"models/{model}/versions/{version}"
        return self.resolve(reference).name

    # ------------------------------------------------------------------ lifecycle

    def evaluate(
        self,
        reference: str,
        *,
        dataset: str,
        metrics: Mapping[str, float],
        type: str = "validation",
        evaluator: str = "",
        comment: str = "",
        request_id: str = "",
    ) -> resources_pb2.Evaluation:
        """Record an evaluation; ``dataset`` is ``name@version`` (or just a name).

        Retried safely: the request carries ``request_id`` (a fresh UUID unless given)."""
        name, _, version = dataset.partition("@")
        request = registry_pb2.CreateEvaluationRequest(
            parent=self.version_name(reference),
            evaluation=resources_pb2.Evaluation(
                dataset_name=name,
                dataset_version=version,
                type=_choice(EVALUATION_TYPES, type, "evaluation type"),
                metrics=dict(metrics),
                evaluator=evaluator,
                comment=comment,
            ),
            request_id=request_id,
        )
        return self._unary("CreateEvaluation", request).evaluation

    def evaluations(self, reference: str) -> list[resources_pb2.Evaluation]:
        """A version's evaluations, newest first."""
        return self._pages(
            "ListEvaluations",
            registry_pb2.ListEvaluationsRequest(parent=self.version_name(reference)),
            "evaluations",
        )

    def promote(
        self, reference: str, stage: str, reason: str = "", request_id: str = ""
    ) -> registry_pb2.PromoteModelVersionResponse:
        """Ask to move a version to ``stage``; the promotion may wait for approvals.

        Retried safely: the request carries ``request_id`` (a fresh UUID unless given)."""
        request = registry_pb2.PromoteModelVersionRequest(
            name=self.version_name(reference),
            target_stage=_choice(STAGES, stage, "stage"),
            reason=reason,
            request_id=request_id,
        )
        return self._unary("PromoteModelVersion", request)

    def approve(
        self, promotion: str, comment: str = "", request_id: str = ""
    ) -> registry_pb2.ApprovePromotionResponse:
        """Approve a promotion (``models/{model}/promotions/{id}``); retried safely with
        ``request_id`` (a fresh UUID unless given)."""
        request = registry_pb2.ApprovePromotionRequest(
            name=promotion, comment=comment, request_id=request_id
        )
        return self._unary("ApprovePromotion", request)

    def reject(self, promotion: str, comment: str = "") -> resources_pb2.Promotion:
        """Reject a promotion."""
        request = registry_pb2.RejectPromotionRequest(name=promotion, comment=comment)
        return self._unary("RejectPromotion", request).promotion

    def withdraw(self, promotion: str, reason: str = "") -> resources_pb2.Promotion:
        """Withdraw one's own promotion."""
        request = registry_pb2.WithdrawPromotionRequest(name=promotion, reason=reason)
        return self._unary("WithdrawPromotion", request).promotion

    def promotions(self, model: str, state: str = "") -> list[resources_pb2.Promotion]:
        """A model's promotions, newest first; ``state`` e.g. ``pending_approval``."""
        request = registry_pb2.ListPromotionsRequest(parent=f"models/{model}")
        if state:
            request.state = resources_pb2.PromotionState.Value(f"PROMOTION_STATE_{state.upper()}")
        return self._pages("ListPromotions", request, "promotions")

    def rollback(
        self, model: str, reason: str = "", override: bool = False
    ) -> registry_pb2.RollbackProductionResponse:
        """Put the previous production version back into production."""
        request = registry_pb2.RollbackProductionRequest(
            parent=f"models/{model}", reason=reason, override=override
        )
        return self._unary("RollbackProduction", request)

    def update_model(
        self,
        model: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        etag: str = "",
    ) -> resources_pb2.Model:
        """Change a model's description and/or tags (the whole map); a stale ``etag``
        raises :class:`mreg.errors.AbortedError`."""
        paths = [p for p, v in (("description", description), ("tags", tags)) if v is not None]
        request = registry_pb2.UpdateModelRequest(
            model=resources_pb2.Model(
                name=f"models/{model}",
                description=description or "",
                tags=dict(tags or {}),
                etag=etag,
            ),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        )
        return self._unary("UpdateModel", request).model

    def set_alias(self, reference: str, alias: str) -> resources_pb2.ModelAlias:
        """Point ``model@alias`` at a version."""
        request = registry_pb2.SetAliasRequest(
            model_version=self.version_name(reference), alias=alias
        )
        return self._unary("SetAlias", request).alias

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove ``model@alias``."""
        self._unary(
            "DeleteAlias", registry_pb2.DeleteAliasRequest(parent=f"models/{model}", alias=alias)
        )

    def aliases(self, model: str) -> list[resources_pb2.ModelAlias]:
        """A model's aliases."""
        request = registry_pb2.ListAliasesRequest(parent=f"models/{model}")
        return list(self._unary("ListAliases", request).aliases)

    def report_deployment(
        self,
        reference: str,
        *,
        environment: str,
        endpoint: str = "",
        status: str = "serving",
        health: str = "",
        attributes: Mapping[str, str] | None = None,
    ) -> resources_pb2.Deployment:
        """Record where a version runs."""
        request = registry_pb2.ReportDeploymentRequest(
            model_version=self.version_name(reference),
            environment=environment,
            endpoint=endpoint,
            status=_choice(DEPLOYMENT_STATUS, status, "deployment status"),
            health=health,
            attributes=dict(attributes or {}),
        )
        return self._unary("ReportDeployment", request).deployment

    def deployments(self, model: str) -> list[resources_pb2.Deployment]:
        """Where a model's versions run."""
        request = registry_pb2.ListDeploymentsRequest(parent=f"models/{model}")
        return list(self._unary("ListDeployments", request).deployments)

    def report(self, reference: str) -> registry_pb2.GetModelReportResponse:
        """A version with its evaluations, lineage, transitions, promotions and deployments."""
        request = registry_pb2.GetModelReportRequest(name=self.version_name(reference))
        return self._unary("GetModelReport", request)

    # ------------------------------------------------------------------ queries

    def search(
        self, filter: str = "", order_by: str = "", limit: int = 50
    ) -> list[resources_pb2.ModelVersion]:
        """Versions matching an AIP-160 filter, e.g. ``metrics.auc > 0.9``."""
        out: list[resources_pb2.ModelVersion] = []
        token = ""
        while len(out) < limit:
            page = self._unary(
                "SearchModelVersions",
                registry_pb2.SearchModelVersionsRequest(
                    filter=filter,
                    order_by=order_by,
                    page_size=min(1000, limit - len(out)),
                    page_token=token,
                ),
            )
            out.extend(page.model_versions)
            token = page.next_page_token
            if not token:
                break
        return out

    def compare(
        self,
        references: Sequence[str],
        metrics: Sequence[str] = (),
        lower_is_better: Sequence[str] = (),
    ) -> registry_pb2.CompareModelVersionsResponse:
        """A table of the versions' metrics and the best version per metric."""
        request = registry_pb2.CompareModelVersionsRequest(
            names=[self.version_name(r) for r in references],
            metrics=list(metrics),
            lower_is_better=list(lower_is_better),
        )
        return self._unary("CompareModelVersions", request)

    def lineage(
        self,
        node: str,
        *,
        node_type: str = "model",
        direction: str = "up",
        depth: int = 10,
    ) -> registry_pb2.GetLineageResponse:
        """The lineage subgraph around a version (or dataset ``name@version``, run, ...)."""
        key = self.version_name(node) if node_type == "model" else node
        request = registry_pb2.GetLineageRequest(
            node=resources_pb2.LineageNode(
                type=_choice(NODE_TYPES, node_type, "node type"), key=key
            ),
            direction=_choice(DIRECTIONS, direction, "direction"),
            max_depth=depth,
        )
        return self._unary("GetLineage", request)

    def impact(
        self, node: str, *, node_type: str = "dataset", stages: Sequence[str] = ()
    ) -> list[resources_pb2.ImpactedVersion]:
        """Every version downstream of a node, with its stage."""
        key = self.version_name(node) if node_type == "model" else node
        request = registry_pb2.AnalyzeImpactRequest(
            node=resources_pb2.LineageNode(
                type=_choice(NODE_TYPES, node_type, "node type"), key=key
            ),
            stages=[_choice(STAGES, s, "stage") for s in stages],
        )
        return list(self._unary("AnalyzeImpact", request).versions)

    def history(self, reference: str) -> list[resources_pb2.StageTransition]:
        """A version's stage transitions, newest first."""
        return self._pages(
            "ListStageTransitions",
            registry_pb2.ListStageTransitionsRequest(name=self.version_name(reference)),
            "transitions",
        )

    def events(
        self,
        after: int = 0,
        *,
        model: str = "",
        types: Sequence[str] = (),
        follow: bool = False,
        reconnect_seconds: float = 1.0,
    ) -> Iterator[resources_pb2.Event]:
        """Registry events after ``after``. With ``follow``, keep waiting for new ones and
        reconnect from the last seen sequence if the stream breaks (never a gap or a repeat).
        """
        cursor = after
        while True:
            request = registry_pb2.WatchEventsRequest(
                after_sequence=cursor,
                model=model,
                types=list(types),
                stop_when_caught_up=not follow,
            )
            stream = self.registry.WatchEvents(request, metadata=self.metadata)
            try:
                for response in stream:
                    cursor = response.event.sequence
                    yield response.event
                return
            except grpc.RpcError as error:
                typed = from_rpc_error(error)
                if not follow or not isinstance(typed, UnavailableError):
                    raise typed from None
                time.sleep(reconnect_seconds)
            finally:
                stream.cancel()

    def _pages(self, method: str, request: Any, field: str) -> list:
        items: list = []
        while True:
            request.page_size = 1000
            page = self._unary(method, request)
            items.extend(getattr(page, field))
            if not page.next_page_token:
                return items
            request.page_token = page.next_page_token
