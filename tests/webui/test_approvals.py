"""Approvals in Chromium: an approver approves, a reader is told why not, events arrive live."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from modelregistry.v1 import resources_pb2
from tests.webui.conftest import Registry, screenshot, sign_in


def test_an_approver_approves_a_waiting_promotion_and_the_events_arrive_live(
    page: Page, registry: Registry
) -> None:
    with registry.client("writer") as client:
        client.promote("fraud-detector:1.1.0", "production", reason="beats 1.0.0")
    sign_in(page, registry, "approver")
    events = page.context.new_page()
    events.goto("/events")
    expect(events.locator("#feed-status")).to_contain_text("Live")
    expect(events.locator("#events")).to_contain_text("promotion.requested")

    page.goto("/promotions")
    card = page.locator("article", has_text="fraud-detector:1.1.0 to production")
    expect(card).to_contain_text("requested by ci")
    expect(card).to_contain_text("beats 1.0.0")
    screenshot(page, "promotions")
    card.get_by_label("Comment").fill("looks good")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#notice")).to_have_text(
        re.compile(
            r"Approved models/fraud-detector/promotions/\d+: it is now completed\. "
            r"fraud-detector:1\.1\.0 is in production\."
        )
    )
    expect(page.locator("#no-promotions")).to_be_visible()

    live = events.locator("#events tbody tr.new")  # rows added by the feed, not the page
    expect(live.filter(has_text="promotion.approved")).to_have_count(1)
    expect(live.filter(has_text="promotion.completed")).to_have_count(1)
    expect(live.filter(has_text="stage.changed").first).to_contain_text("alice")
    screenshot(events, "events")
    events.locator("#events tbody tr.new", has_text="promotion.completed").get_by_role(
        "link"
    ).click()
    expect(events.locator("h1")).to_have_text("fraud-detector")
    page.goto("/models/fraud-detector/versions/1.1.0")
    expect(page.locator("#facts")).to_contain_text("production")
    expect(page.locator("#transitions")).to_contain_text("alice")


def test_a_push_shows_up_in_the_live_feed(page: Page, registry: Registry, tmp_path) -> None:
    sign_in(page, registry, "reader")
    page.goto("/events")
    expect(page.locator("#feed-status")).to_contain_text("Live")
    model = tmp_path / "weights.bin"
    model.write_bytes(b"fresh weights")
    with registry.client("writer") as client:
        client.push(model, model="live-model", version="1.0.0")
    row = page.locator("#events tbody tr.new", has_text="version.ready")
    expect(row).to_contain_text("models/live-model/versions/1.0.0")
    expect(row).to_contain_text("ci")


def test_a_reader_is_told_why_it_may_not_approve(page: Page, registry: Registry) -> None:
    with registry.client("writer") as client:
        client.promote("churn:0.1.0", "staging")
        client.promote("churn:0.1.0", "production", reason="try it")
    sign_in(page, registry, "reader")
    page.goto("/promotions")
    card = page.locator("article", has_text="churn:0.1.0 to production")
    approve = card.get_by_role("button", name="Approve")
    expect(approve).to_be_disabled()
    expect(approve).to_have_accessible_description(
        "You are signed in as bob (roles: reader). Approving and rejecting need the approver "
        "role: sign in with an approver's token."
    )
    screenshot(page, "approval-refused")

    # Sent anyway (the form's own fields, the page's CSRF value): refused, with why.
    form = card.locator("form")
    response = page.request.post(
        "/promotions/decide",
        form={
            "csrf": form.locator("input[name=csrf]").get_attribute("value") or "",
            "promotion": form.locator("input[name=promotion]").get_attribute("value") or "",
            "decision": "approve",
            "comment": "",
        },
        headers={"Origin": registry.url},
    )
    assert response.status == 403
    assert "bob may not call ApprovePromotion: it needs the approver role" in response.text()
    with registry.client("reader") as client:
        latest = client.promotions("churn")[0]
    assert latest.state == resources_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert not latest.approvals


def test_the_requester_is_told_another_approver_decides(
    page: Page, registry: Registry, tmp_path: Path
) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"ranker 1.0.0")
    with registry.client("lead") as client:
        client.push(weights, model="ranker", version="1.0.0")
        client.promote("ranker:1.0.0", "staging")
        client.promote("ranker:1.0.0", "production", reason="mine")
    sign_in(page, registry, "lead")
    page.goto("/promotions?model=ranker")
    expect(page.locator("h1")).to_have_text("Promotions waiting for approval of ranker")
    approve = page.locator("article").get_by_role("button", name="Approve")
    expect(approve).to_be_disabled()
    expect(approve).to_have_accessible_description(
        "You (carol) requested this promotion; another approver decides."
    )


def test_an_approver_rejects_with_a_comment(page: Page, registry: Registry, tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"scorer 1.0.0")
    with registry.client("writer") as client:
        client.push(weights, model="scorer", version="1.0.0")
        client.promote("scorer:1.0.0", "staging")
        client.promote("scorer:1.0.0", "production", reason="please")
    sign_in(page, registry, "approver")
    page.goto("/promotions?model=scorer")
    card = page.locator("article", has_text="scorer:1.0.0 to production")
    card.get_by_label("Comment").fill("not yet evaluated")
    card.get_by_role("button", name="Reject").click()
    expect(page.locator("#notice")).to_have_text(
        re.compile(r"Rejected models/scorer/promotions/\d+: it is now rejected\.")
    )
    with registry.client("reader") as client:
        rejected = client.promotions("scorer")[0]
    assert rejected.state == resources_pb2.PROMOTION_STATE_REJECTED
    assert [(a.principal, a.comment) for a in rejected.approvals] == [
        ("alice", "not yet evaluated")
    ]
