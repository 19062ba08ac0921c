"""gRPC servicer of the internal ``MetadataService``: protos in, domain calls, protos out.

Errors are raised as :mod:`services.common.errors` types; the shared interceptor maps them.
"""

from __future__ import annotations

import grpc

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from modelregistry.v1 import resources_pb2
from services.common.errors import InvalidArgument
from services.common.validation import parse_model_name
from services.metadata import checks
from services.metadata import convert as cv
from services.metadata import convert_governance as gv
from services.metadata import convert_webhooks as wh
from services.metadata.service import MetadataService

#: Request header carrying the acting principal (set by the gateway).
PRINCIPAL_HEADER = "x-mreg-principal"


def principal(context: grpc.ServicerContext) -> str:
    """The acting principal of a call, ``anonymous`` when the header is absent."""
    for key, value in context.invocation_metadata() or ():
        if key == PRINCIPAL_HEADER:
            return checks.principal(str(value))
    return "anonymous"


class MetadataServicer(metadata_pb2_grpc.MetadataServiceServicer):
    """Thin adapter from gRPC to :class:`MetadataService`."""

    def __init__(self, service: MetadataService) -> None:
        self.service = service

    def CreateModelVersion(
        self, request: metadata_pb2.CreateModelVersionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.CreateModelVersionResponse:
        """See the proto."""
        model = parse_model_name(request.parent, "parent")
        lineage = [
            (
                cv.edge_type_from_proto(link.type, f"lineage[{i}].type"),
                cv.node_from_proto(link.object, f"lineage[{i}].object"),
            )
            for i, link in enumerate(request.lineage)
        ]
        created = self.service.versions.create_version(
            model,
            cv.version_spec(request.model_version),
            bump=cv.bump(request.bump),
            request_id=request.request_id,
            ready=request.ready,
            actor=principal(context),
            lineage=lineage,
        )
        return metadata_pb2.CreateModelVersionResponse(model_version=cv.version_to_proto(created))

    def GetModelVersion(
        self, request: metadata_pb2.GetModelVersionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.GetModelVersionResponse:
        """See the proto."""
        found = self.service.reads.get_version(request.name)
        return metadata_pb2.GetModelVersionResponse(model_version=cv.version_to_proto(found))

    def ResolveModelVersion(
        self, request: metadata_pb2.ResolveModelVersionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ResolveModelVersionResponse:
        """See the proto."""
        found, observed = self.service.reads.resolve(request.reference)
        return metadata_pb2.ResolveModelVersionResponse(
            model_version=cv.version_to_proto(found), observed_event_sequence=observed
        )

    def SetModelVersionState(
        self, request: metadata_pb2.SetModelVersionStateRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.SetModelVersionStateResponse:
        """See the proto."""
        state = cv.state_from_proto(request.state)
        if state is None:
            raise InvalidArgument.field(
                "state", "the target state must be VERSION_STATE_READY or VERSION_STATE_FAILED"
            )
        changed = self.service.versions.set_state(
            request.name,
            state,
            failure_reason=request.failure_reason,
            fmt=request.format,
            parameter_count=request.parameter_count,
            actor=principal(context),
        )
        return metadata_pb2.SetModelVersionStateResponse(model_version=cv.version_to_proto(changed))

    def UpdateModelVersion(
        self, request: metadata_pb2.UpdateModelVersionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.UpdateModelVersionResponse:
        """See the proto."""
        changed = self.service.versions.update_version(
            request.model_version.name,
            cv.version_spec(request.model_version),
            list(request.update_mask.paths),
            request.model_version.etag,
            principal(context),
        )
        return metadata_pb2.UpdateModelVersionResponse(model_version=cv.version_to_proto(changed))

    def ListModelVersions(
        self, request: metadata_pb2.ListModelVersionsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListModelVersionsResponse:
        """See the proto."""
        page = self.service.reads.list_versions(
            request.parent, request.page_size, request.page_token, request.show_archived
        )
        return metadata_pb2.ListModelVersionsResponse(
            model_versions=[cv.version_to_proto(v) for v in page.items],
            next_page_token=page.next_page_token,
        )

    def GetModel(
        self, request: metadata_pb2.GetModelRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.GetModelResponse:
        """See the proto."""
        found = self.service.reads.get_model(request.name)
        return metadata_pb2.GetModelResponse(model=cv.model_to_proto(found))

    def UpdateModel(
        self, request: metadata_pb2.UpdateModelRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.UpdateModelResponse:
        """See the proto."""
        changed = self.service.models.update_model(
            cv.model_from_proto(request.model),
            list(request.update_mask.paths),
            request.model.etag,
            principal(context),
        )
        return metadata_pb2.UpdateModelResponse(model=cv.model_to_proto(changed))

    def ListModels(
        self, request: metadata_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListModelsResponse:
        """See the proto."""
        page = self.service.models.list_models(
            request.page_size, request.page_token, request.show_archived
        )
        return metadata_pb2.ListModelsResponse(
            models=[cv.model_to_proto(m) for m in page.items],
            next_page_token=page.next_page_token,
        )

    def DeleteModel(
        self, request: metadata_pb2.DeleteModelRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.DeleteModelResponse:
        """See the proto."""
        self.service.models.delete_model(request.name, request.etag, principal(context))
        return metadata_pb2.DeleteModelResponse()

    def DeleteModelVersion(
        self, request: metadata_pb2.DeleteModelVersionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.DeleteModelVersionResponse:
        """See the proto."""
        self.service.models.delete_version(request.name, request.etag, principal(context))
        return metadata_pb2.DeleteModelVersionResponse()

    def TransitionModelVersionStage(
        self,
        request: metadata_pb2.TransitionModelVersionStageRequest,
        context: grpc.ServicerContext,
    ) -> metadata_pb2.TransitionModelVersionStageResponse:
        """See the proto."""
        previous_stage = None
        if request.previous_production_stage:
            previous_stage = cv.stage_from_proto(
                request.previous_production_stage, "previous_production_stage"
            )
        moved, transition, previous = self.service.stages.transition(
            request.name,
            cv.stage_from_proto(request.stage),
            reason=request.reason,
            etag_value=request.etag,
            previous_production_stage=previous_stage,
            actor=principal(context),
            expected_production=request.expected_production_version,
        )
        return metadata_pb2.TransitionModelVersionStageResponse(
            model_version=cv.version_to_proto(moved),
            transition=cv.transition_to_proto(transition),
            previous_production=cv.version_to_proto(previous) if previous else None,
        )

    def ListStageTransitions(
        self, request: metadata_pb2.ListStageTransitionsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListStageTransitionsResponse:
        """See the proto."""
        page = self.service.stages.list_transitions(
            request.name, request.page_size, request.page_token
        )
        return metadata_pb2.ListStageTransitionsResponse(
            transitions=[cv.transition_to_proto(t) for t in page.items],
            next_page_token=page.next_page_token,
        )

    def SetAlias(
        self, request: metadata_pb2.SetAliasRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.SetAliasResponse:
        """See the proto."""
        alias, previous = self.service.stages.set_alias(
            request.model_version, request.alias, principal(context)
        )
        return metadata_pb2.SetAliasResponse(
            alias=cv.alias_to_proto(alias),
            previous_model_version=f"models/{alias.model}/versions/{previous}" if previous else "",
        )

    def DeleteAlias(
        self, request: metadata_pb2.DeleteAliasRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.DeleteAliasResponse:
        """See the proto."""
        previous = self.service.stages.delete_alias(
            request.parent, request.alias, principal(context)
        )
        return metadata_pb2.DeleteAliasResponse(
            previous_model_version=f"{request.parent}/versions/{previous}"
        )

    def ListAliases(
        self, request: metadata_pb2.ListAliasesRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListAliasesResponse:
        """See the proto."""
        aliases = self.service.stages.list_aliases(request.parent)
        return metadata_pb2.ListAliasesResponse(aliases=[cv.alias_to_proto(a) for a in aliases])

    def CreateEvaluation(
        self, request: metadata_pb2.CreateEvaluationRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.CreateEvaluationResponse:
        """See the proto."""
        created = self.service.evaluations.create_evaluation(
            request.parent,
            cv.evaluation_from_proto(request.evaluation),
            principal(context),
            request_id=request.request_id,
        )
        return metadata_pb2.CreateEvaluationResponse(evaluation=cv.evaluation_to_proto(created))

    def ListEvaluations(
        self, request: metadata_pb2.ListEvaluationsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListEvaluationsResponse:
        """See the proto."""
        page = self.service.evaluations.list_evaluations(
            request.parent,
            dataset_name=request.dataset_name,
            dataset_version=request.dataset_version,
            eval_type=cv.evaluation_type_from_proto(request.type, required=False),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return metadata_pb2.ListEvaluationsResponse(
            evaluations=[cv.evaluation_to_proto(e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    def CreateLineageEdge(
        self, request: metadata_pb2.CreateLineageEdgeRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.CreateLineageEdgeResponse:
        """See the proto."""
        edge = self.service.lineage.create_edge(
            cv.edge_from_proto(request.edge), principal(context)
        )
        return metadata_pb2.CreateLineageEdgeResponse(edge=cv.edge_to_proto(edge))

    def DeleteLineageEdge(
        self, request: metadata_pb2.DeleteLineageEdgeRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.DeleteLineageEdgeResponse:
        """See the proto."""
        self.service.lineage.delete_edge(cv.edge_from_proto(request.edge), principal(context))
        return metadata_pb2.DeleteLineageEdgeResponse()

    def GetLineage(
        self, request: metadata_pb2.GetLineageRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.GetLineageResponse:
        """See the proto."""
        graph = self.service.lineage.lineage(
            cv.node_from_proto(request.node, "node"),
            cv.direction_from_proto(request.direction),
            request.max_depth,
            [cv.edge_type_from_proto(t, "edge_types") for t in request.edge_types],
        )
        return cv.graph_to_proto(graph)

    def AnalyzeImpact(
        self, request: metadata_pb2.AnalyzeImpactRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.AnalyzeImpactResponse:
        """See the proto."""
        found = self.service.lineage.impact(
            cv.node_from_proto(request.node, "node"),
            request.max_depth,
            [cv.edge_type_from_proto(t, "edge_types") for t in request.edge_types],
            [cv.stage_from_proto(s, "stages") for s in request.stages],
        )
        return metadata_pb2.AnalyzeImpactResponse(versions=[cv.impacted_to_proto(v) for v in found])

    def SearchModelVersions(
        self, request: metadata_pb2.SearchModelVersionsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.SearchModelVersionsResponse:
        """See the proto."""
        page = self.service.search.search(
            request.filter,
            request.order_by,
            request.page_size,
            request.page_token,
            request.show_archived,
        )
        return metadata_pb2.SearchModelVersionsResponse(
            model_versions=[cv.version_to_proto(v) for v in page.items],
            next_page_token=page.next_page_token,
        )

    def CompareModelVersions(
        self, request: metadata_pb2.CompareModelVersionsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.CompareModelVersionsResponse:
        """See the proto."""
        result = self.service.search.compare(
            list(request.names), list(request.metrics), list(request.lower_is_better)
        )
        return metadata_pb2.CompareModelVersionsResponse(
            metrics=result.metrics,
            rows=[
                resources_pb2.ComparedVersion(model_version=name, metrics=values)
                for name, values in result.rows
            ],
            best=[
                resources_pb2.MetricBest(
                    metric=m, model_version=name, value=value, lower_is_better=lower
                )
                for m, name, value, lower in result.best
            ],
        )

    def ListAuditLog(
        self, request: metadata_pb2.ListAuditLogRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListAuditLogResponse:
        """See the proto."""
        page = self.service.history.audit_log(
            request.resource, request.page_size, request.page_token
        )
        return metadata_pb2.ListAuditLogResponse(
            entries=[cv.audit_to_proto(a) for a in page.items],
            next_page_token=page.next_page_token,
        )

    def ListEvents(
        self, request: metadata_pb2.ListEventsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListEventsResponse:
        """See the proto."""
        events, cursor, latest = self.service.history.events(
            request.after_sequence, request.limit, list(request.types), request.model
        )
        return metadata_pb2.ListEventsResponse(
            events=[cv.event_to_proto(e) for e in events],
            next_after_sequence=cursor,
            latest_sequence=latest,
        )

    def CreatePromotion(
        self, request: metadata_pb2.CreatePromotionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.CreatePromotionResponse:
        """See the proto."""
        created = self.service.governance.create_promotion(
            request.model_version,
            cv.stage_from_proto(request.target_stage, "target_stage"),
            reason=request.reason,
            required_approvals=request.required_approvals,
            actor=principal(context),
            request_id=request.request_id,
        )
        return metadata_pb2.CreatePromotionResponse(promotion=gv.promotion_to_proto(created))

    def GetPromotion(
        self, request: metadata_pb2.GetPromotionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.GetPromotionResponse:
        """See the proto."""
        found = self.service.governance.get_promotion(request.name)
        return metadata_pb2.GetPromotionResponse(promotion=gv.promotion_to_proto(found))

    def ListPromotions(
        self, request: metadata_pb2.ListPromotionsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListPromotionsResponse:
        """See the proto."""
        page = self.service.governance.list_promotions(
            request.parent,
            state=gv.promotion_state_from_proto(request.state),
            version_filter=request.model_version,
            request_id=request.request_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return metadata_pb2.ListPromotionsResponse(
            promotions=[gv.promotion_to_proto(p) for p in page.items],
            next_page_token=page.next_page_token,
        )

    def DecidePromotion(
        self, request: metadata_pb2.DecidePromotionRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.DecidePromotionResponse:
        """See the proto."""
        decided = self.service.governance.decide_promotion(
            request.name,
            gv.decision_from_proto(request.decision),
            request.comment,
            principal(context),
            request_id=request.request_id,
        )
        return metadata_pb2.DecidePromotionResponse(promotion=gv.promotion_to_proto(decided))

    def SetPromotionState(
        self, request: metadata_pb2.SetPromotionStateRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.SetPromotionStateResponse:
        """See the proto."""
        changed = self.service.governance.set_promotion_state(
            request.name,
            gv.promotion_state_from_proto(request.state),
            request.status_message,
            request.etag,
            principal(context),
        )
        return metadata_pb2.SetPromotionStateResponse(promotion=gv.promotion_to_proto(changed))

    def ReportDeployment(
        self, request: metadata_pb2.ReportDeploymentRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ReportDeploymentResponse:
        """See the proto."""
        reported = self.service.deployments.report_deployment(
            request.model_version,
            request.environment,
            endpoint=request.endpoint,
            status=gv.deployment_status_from_proto(request.status),
            health=request.health,
            attributes=dict(request.attributes),
            actor=principal(context),
        )
        return metadata_pb2.ReportDeploymentResponse(deployment=gv.deployment_to_proto(reported))

    def ListDeployments(
        self, request: metadata_pb2.ListDeploymentsRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListDeploymentsResponse:
        """See the proto."""
        found = self.service.deployments.list_deployments(request.parent)
        return metadata_pb2.ListDeploymentsResponse(
            deployments=[gv.deployment_to_proto(d) for d in found]
        )

    def CreateWebhook(
        self, request: metadata_pb2.CreateWebhookRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.CreateWebhookResponse:
        """See the proto."""
        w = request.webhook
        created = self.service.webhooks.create(
            w.url, list(w.event_types), w.model_prefix, actor=principal(context)
        )
        return metadata_pb2.CreateWebhookResponse(webhook=wh.webhook_to_proto(created))

    def ListWebhooks(
        self, request: metadata_pb2.ListWebhooksRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListWebhooksResponse:
        """See the proto."""
        found = self.service.webhooks.list_webhooks()
        return metadata_pb2.ListWebhooksResponse(webhooks=[wh.webhook_to_proto(w) for w in found])

    def DeleteWebhook(
        self, request: metadata_pb2.DeleteWebhookRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.DeleteWebhookResponse:
        """See the proto."""
        self.service.webhooks.delete(request.name)
        return metadata_pb2.DeleteWebhookResponse()

    def ListWebhookDeliveries(
        self, request: metadata_pb2.ListWebhookDeliveriesRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ListWebhookDeliveriesResponse:
        """See the proto."""
        page = self.service.webhooks.deliveries(
            request.parent,
            wh.state_from_proto(request.state),
            request.page_size,
            request.page_token,
        )
        return metadata_pb2.ListWebhookDeliveriesResponse(
            deliveries=[wh.delivery_to_proto(d) for d in page.items],
            next_page_token=page.next_page_token,
        )

    def RedeliverWebhookDelivery(
        self, request: metadata_pb2.RedeliverWebhookDeliveryRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.RedeliverWebhookDeliveryResponse:
        """See the proto."""
        found = self.service.webhooks.redeliver(request.name)
        return metadata_pb2.RedeliverWebhookDeliveryResponse(delivery=wh.delivery_to_proto(found))

    def ClaimWebhookDeliveries(
        self, request: metadata_pb2.ClaimWebhookDeliveriesRequest, context: grpc.ServicerContext
    ) -> metadata_pb2.ClaimWebhookDeliveriesResponse:
        """See the proto."""
        claimed, recorded = self.service.webhooks.claim(
            request.owner,
            request.lease_seconds,
            request.limit,
            [wh.outcome_from_proto(o) for o in request.outcomes],
        )
        return metadata_pb2.ClaimWebhookDeliveriesResponse(
            deliveries=[wh.claimed_to_proto(c) for c in claimed], recorded=recorded
        )

    def RecordWebhookDeliveryAttempt(
        self,
        request: metadata_pb2.RecordWebhookDeliveryAttemptRequest,
        context: grpc.ServicerContext,
    ) -> metadata_pb2.RecordWebhookDeliveryAttemptResponse:
        """See the proto."""
        recorded = self.service.webhooks.record(request.owner, wh.outcome_from_proto(request))
        return metadata_pb2.RecordWebhookDeliveryAttemptResponse(recorded=recorded)
