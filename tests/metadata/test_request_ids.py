"""CreateEvaluation and CreatePromotion are idempotent by request id: a repeat returns the
first result and records nothing; the same id with other content is INVALID_ARGUMENT."""

from __future__ import annotations

import grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from tests.metadata.conftest import Client, status_of


def _evaluation(client: Client, auc: float, request_id: str, parent: str = ""):
    return client.CreateEvaluation(
        metadata_pb2.CreateEvaluationRequest(
            parent=parent or "models/fraud/versions/1.0.0",
            evaluation=resources_pb2.Evaluation(
                dataset_name="holdout",
                type=resources_pb2.EVALUATION_TYPE_TEST,
                metrics={"auc": auc},
            ),
            request_id=request_id,
        )
    ).evaluation


def _evaluations(client: Client) -> list:
    request = metadata_pb2.ListEvaluationsRequest(parent="models/fraud/versions/1.0.0")
    return list(client.ListEvaluations(request).evaluations)


def test_a_repeated_evaluation_returns_the_first_and_records_nothing(client: Client) -> None:
    client.create(version="1.0.0", ready=True)
    first = _evaluation(client, 0.91, "eval-1")
    again = _evaluation(client, 0.91, "eval-1")
    assert again == first
    assert len(_evaluations(client)) == 1
    events = client.ListEvents(metadata_pb2.ListEventsRequest(types=["evaluation.created"]))
    assert len(events.events) == 1
    # Without a request id every call records one.
    _evaluation(client, 0.91, "")
    _evaluation(client, 0.91, "")
    assert len(_evaluations(client)) == 3


def test_an_evaluation_request_id_reused_for_other_content_is_invalid(client: Client) -> None:
    client.create(version="1.0.0", ready=True)
    client.create(version="2.0.0", ready=True)
    first = _evaluation(client, 0.91, "eval-1")
    for call in (
        lambda: _evaluation(client, 0.5, "eval-1"),
        lambda: _evaluation(client, 0.91, "eval-1", parent="models/fraud/versions/2.0.0"),
    ):
        assert status_of(call) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "request_id: request id 'eval-1' was already used for a different request (it "
            f"created '{first.name}'); use a new request id for a new evaluation",
        )
    assert status_of(lambda: _evaluation(client, 0.91, "has space")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "request_id: invalid request id 'has space': use 1-128 characters of letters, "
        "digits, '.', '_', ':' and '-' (a UUID is a good choice)",
    )
    assert len(_evaluations(client)) == 1


def _promotion(client: Client, request_id: str, reason: str = "ship it"):
    return client.CreatePromotion(
        metadata_pb2.CreatePromotionRequest(
            model_version="models/fraud/versions/1.0.0",
            target_stage=resources_pb2.STAGE_STAGING,
            reason=reason,
            required_approvals=1,
            request_id=request_id,
        )
    ).promotion


def test_a_repeated_promotion_request_returns_the_open_promotion(client: Client) -> None:
    client.create(version="1.0.0", ready=True)
    first = _promotion(client, "promo-1")
    # The first one is open: a new request is refused, the repeat gets it back.
    assert _promotion(client, "promo-1") == first
    code, message = status_of(lambda: _promotion(client, "promo-2"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "already has an open promotion to staging" in message
    assert status_of(lambda: _promotion(client, "promo-1", reason="other")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "request_id: request id 'promo-1' was already used for a different request (it "
        f"created '{first.name}'); use a new request id for a new promotion",
    )
    found = client.ListPromotions(
        metadata_pb2.ListPromotionsRequest(parent="models/fraud", request_id="promo-1")
    ).promotions
    assert [p.name for p in found] == [first.name]
    none = client.ListPromotions(
        metadata_pb2.ListPromotionsRequest(parent="models/fraud", request_id="unknown")
    ).promotions
    assert list(none) == []
