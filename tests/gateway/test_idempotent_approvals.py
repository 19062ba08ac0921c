"""ApprovePromotion is idempotent by request id: a retry after a lost answer records no
second approval and answers from the promotion as it stands."""

from __future__ import annotations

import pytest

from modelregistry.v1 import governance_pb2, resources_pb2
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
        assert waiting.state == governance_pb2.PROMOTION_STATE_PENDING_APPROVAL

        done = bob.approve(waiting.name, comment="lgtm")
        assert proxy.calls["ApprovePromotion"] == 2
        assert done.promotion.state == governance_pb2.PROMOTION_STATE_COMPLETED
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
