"""ApprovePromotion is idempotent by request id: a retry after a lost answer records no
second approval and answers from the promotion as it stands."""

from __future__ import annotations

import pytest

from modelregistry.v1 import resources_pb2
from mreg.client import Client
from mreg.errors import InvalidArgumentError
from services.common.auth import Role
from tests.gateway.conftest import upload
from tests.sdk.lossy_proxy import LossyProxy

ONE_APPROVAL = """
default:
  stages:
    production:
      approvals: 1
"""


def _token(stack, principal: str, role: Role) -> str:
    return stack.token(principal, role)[0][1].removeprefix("Bearer ")


def test_a_lost_approval_answer_is_retried_and_approves_once(stack, artifacts) -> None:
    stack.restart_gateway(ONE_APPROVAL, auth=True)
    gateway = stack.address("gateway")
    proxy = LossyProxy(gateway, {"ApprovePromotion"})
    alice = Client(gateway, token=_token(stack, "alice", Role.WRITER))
    bob = Client(proxy.address, token=_token(stack, "bob", Role.APPROVER))
    try:
        version = alice.register("m", upload(artifacts, b"w"), version="1.0.0")
        alice.promote(version.name, "staging")
        waiting = alice.promote(version.name, "production").promotion
        assert waiting.state == resources_pb2.PROMOTION_STATE_PENDING_APPROVAL

        done = bob.approve(waiting.name, comment="lgtm")
        assert proxy.calls["ApprovePromotion"] == 2
        assert done.promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED
        assert done.model_version.stage == resources_pb2.STAGE_PRODUCTION
        assert [a.principal for a in done.promotion.approvals] == ["bob"]

        # The same request id with another comment is a different request.
        alice.promote(version.name, "staging")  # back down, then up again for a new promotion
        second = alice.promote(version.name, "production").promotion
        bob.approve(second.name, comment="lgtm", request_id="approval-1")
        with pytest.raises(InvalidArgumentError) as info:
            bob.approve(second.name, comment="changed my mind", request_id="approval-1")
        number = second.name.rsplit("/", 1)[1]
        assert info.value.message == (
            "request_id: request id 'approval-1' was already used for a different request "
            f"(it created 'a decision on promotion {number}'); use a new request id for a "
            "new decision"
        )
    finally:
        alice.close()
        bob.close()
        proxy.close()


def test_a_promotion_that_moved_the_version_but_lost_its_completion_finishes_on_retry(
    stack, artifacts, monkeypatch
) -> None:
    """The stage moved, then marking the promotion COMPLETED failed (a database restart in
    between): the retry with the same request id completes it instead of failing it on a
    move to the stage the version already holds."""
    from services.common.errors import Unavailable
    from services.gateway.promotions import Promotions

    real = Promotions._set_state
    lost: list[str] = []

    def lose_the_first_completion(self, promotion, state, message, identity):
        if state == resources_pb2.PROMOTION_STATE_COMPLETED and not lost:
            lost.append(promotion.name)
            raise Unavailable("the metadata database is unavailable (in this test)")
        return real(self, promotion, state, message, identity)

    monkeypatch.setattr(Promotions, "_set_state", lose_the_first_completion)
    with Client(stack.address("gateway")) as client:
        version = client.register("m", upload(artifacts, b"w"), version="1.0.0")
        done = client.promote(version.name, "staging", request_id="promote-1")
    assert lost, "the completion was never lost: the test did not exercise the retry"
    assert done.promotion.name == lost[0]
    assert done.promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED
    assert done.model_version.stage == resources_pb2.STAGE_STAGING
