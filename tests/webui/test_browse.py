"""Browsing in Chromium: models, search, sort, pages, a model, a version, lineage, compare."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.webui.conftest import Registry, screenshot, sign_in


def test_signing_in_is_required_and_the_models_page_lists_models(
    page: Page, registry: Registry
) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{registry.url}/signin?next=%2F")
    sign_in(page, registry, "reader")
    expect(page.locator("#signed-in")).to_contain_text("bob")
    models = page.locator("#models tbody tr")
    expect(models).to_have_count(2)
    expect(page.locator("#models")).to_contain_text("fraud-detector")
    expect(page.locator("#models")).to_contain_text("churn")
    screenshot(page, "models")


def test_search_with_the_filter_language_sorts_and_pages(page: Page, registry: Registry) -> None:
    sign_in(page, registry, "reader")
    page.get_by_label("Filter versions").fill("metrics.auc > 0.8")
    page.get_by_label("Sort").fill("metrics.auc desc")
    page.get_by_label("Per page").fill("1")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("fraud-detector:1.1.0")
    shared = page.url  # the search is in the URL: it can be shared
    page.get_by_role("link", name="Next page").click()
    expect(rows.first).to_contain_text("fraud-detector:1.0.0")
    page.goto(shared)
    expect(rows.first).to_contain_text("fraud-detector:1.1.0")
    screenshot(page, "search")


def test_a_filter_that_does_not_parse_says_where(page: Page, registry: Registry) -> None:
    sign_in(page, registry, "reader")
    response = page.goto("/?q=metrics.auc+%3E")
    assert response is not None and response.status == 400
    expect(page.locator("#error-message")).to_contain_text("filter")


def _expect_rows(page: Page, *versions: str) -> None:
    """The versions table lists ``versions``, in order (waiting for the page to load)."""
    expect(page.locator("#versions tbody a[href*='/versions/']")).to_have_text(list(versions))


def test_the_filter_language_finds_versions_by_model_tags_and_metrics(
    page: Page, registry: Registry
) -> None:
    sign_in(page, registry, "reader")
    search = page.get_by_label("Filter versions")
    search.fill('tags.team = "risk" AND metrics.auc > 0.9')
    search.press("Enter")
    _expect_rows(page, "fraud-detector:1.1.0")
    search = page.get_by_label("Filter versions")
    search.fill('name = "churn" OR (model = "fraud-detector" AND NOT version = "1.1.0")')
    page.get_by_label("Sort").fill("name")
    page.get_by_role("button", name="Search").click()
    _expect_rows(page, "churn:0.1.0", "fraud-detector:1.0.0")
    shared = page.url
    assert "q=name+%3D+%22churn%22" in shared  # the search is the address
    other = page.context.browser.new_context(base_url=registry.url)  # type: ignore[union-attr]
    try:
        opened = other.new_page()
        sign_in(opened, registry, "approver")
        opened.goto(shared)
        _expect_rows(opened, "churn:0.1.0", "fraud-detector:1.0.0")
        expect(opened.get_by_label("Filter versions")).to_have_value(
            'name = "churn" OR (model = "fraud-detector" AND NOT version = "1.1.0")'
        )
    finally:
        other.close()


def test_a_refused_filter_is_explained_beside_the_box_that_keeps_it(
    page: Page, registry: Registry
) -> None:
    sign_in(page, registry, "reader")
    search = page.get_by_label("Filter versions")
    search.fill("name:fraud*")
    with page.expect_response(lambda r: "q=" in r.url) as answer:
        search.press("Enter")
    assert answer.value.status == 400
    message = page.locator("#error-message")
    expect(message).to_have_text("filter: unexpected character ':' at position 5 of 'name:fraud*'")
    search = page.get_by_label("Filter versions")
    expect(search).to_have_value("name:fraud*")
    expect(search).to_have_attribute("aria-invalid", "true")
    expect(search).to_be_focused()  # fix it where it is
    screenshot(page, "search-refused")
    search.fill('name = "fraud-detector"')
    search.press("Enter")
    expect(page.locator("#error-message")).to_have_count(0)
    _expect_rows(page, "fraud-detector:1.1.0", "fraud-detector:1.0.0")
    page.get_by_label("Sort").fill("size")
    page.get_by_label("Sort").press("Enter")
    expect(page.locator("#error-message")).to_contain_text("unknown field 'size'")
    expect(page.get_by_label("Sort")).to_have_attribute("aria-invalid", "true")


def test_a_model_page_filter_stays_within_the_model_and_speaks_in_its_own_terms(
    page: Page, registry: Registry
) -> None:
    sign_in(page, registry, "reader")
    page.goto("/models/churn")
    search = page.get_by_label("Filter")
    search.fill('metrics.auc > 0) OR (name = "fraud-detector"')
    search.press("Enter")
    expect(page.locator("#error-message")).to_have_text(
        "filter: ')' at position 16 of 'metrics.auc > 0) OR (name = \"fraud-detector\"' "
        "has no partner"
    )
    expect(page.locator("#versions")).to_have_count(0)
    page.get_by_label("Filter").fill("metrics.auc >")
    page.get_by_label("Filter").press("Enter")
    expect(page.locator("#error-message")).to_have_text(
        "filter: expected a value after '>' at the end of 'metrics.auc >'"
    )
    page.get_by_label("Filter").fill("metrics.auc > 0.5")
    page.get_by_label("Filter").press("Enter")
    _expect_rows(page, "churn:0.1.0")


def test_the_model_page_shows_versions_and_promotion_history(
    page: Page, registry: Registry
) -> None:
    sign_in(page, registry, "reader")
    page.get_by_role("link", name="fraud-detector", exact=True).click()
    expect(page.locator("h1")).to_have_text("fraud-detector")
    versions = page.locator("#versions tbody tr")
    expect(versions).to_have_count(2)
    newest = versions.first
    expect(newest).to_contain_text("fraud-detector:1.1.0")
    expect(newest).to_contain_text("staging")
    expect(newest).to_contain_text("tree")
    expect(newest).to_contain_text("2 files")
    expect(newest).to_contain_text("ci")
    expect(newest).to_contain_text("champion")
    history = page.locator("#promotion-history")
    expect(history).to_contain_text("staging")
    expect(history).to_contain_text("candidate")
    screenshot(page, "model")


def test_the_version_page_shows_evaluations_files_and_a_pickle_warning(
    page: Page, registry: Registry
) -> None:
    sign_in(page, registry, "reader")
    page.goto("/models/fraud-detector/versions/1.1.0")
    expect(page.locator("#facts")).to_contain_text("staging")
    expect(page.locator("#metrics")).to_contain_text("0.93")
    expect(page.locator("#evaluations")).to_contain_text("holdout@3")
    files = page.locator("#files")
    expect(files).to_contain_text("legacy.pkl")
    expect(files).to_contain_text("model.safetensors")
    expect(files).to_contain_text("1 tensors")
    expect(page.locator("#code-warning")).to_contain_text("legacy.pkl")
    expect(page.locator("#facts")).to_contain_text("champion")
    deployments = page.locator("#deployments")
    expect(deployments).to_contain_text("shadow-eu")
    expect(deployments).to_contain_text("serving")
    expect(deployments).to_contain_text("p99 41ms")
    screenshot(page, "version")


def test_lineage_navigates_up_and_down(page: Page, registry: Registry) -> None:
    sign_in(page, registry, "reader")
    page.goto("/models/fraud-detector/versions/1.1.0")
    upstream = page.locator("#upstream")
    expect(upstream).to_contain_text("fine tuned from")
    upstream.get_by_role("link", name="fraud-detector:1.0.0").click()
    expect(page.locator("h1")).to_have_text("fraud-detector:1.0.0")
    expect(page.locator("#impact")).to_contain_text("fraud-detector:1.1.0")
    page.locator("#downstream").get_by_role("link", name="fraud-detector:1.1.0").click()
    expect(page.locator("h1")).to_have_text("fraud-detector:1.1.0")
    page.locator("#upstream").get_by_role("link", name="transactions@2024-11").click()
    expect(page.locator("h1")).to_contain_text("transactions@2024-11")
    expect(page.locator("#impact")).to_contain_text("fraud-detector:1.1.0")
    screenshot(page, "lineage")


def test_compare_two_versions_by_metrics_and_evaluations(page: Page, registry: Registry) -> None:
    sign_in(page, registry, "reader")
    page.goto("/models/fraud-detector")
    page.get_by_label("compare fraud-detector:1.1.0").check()
    page.get_by_label("compare fraud-detector:1.0.0").check()
    page.get_by_role("button", name="Compare selected versions").click()
    expect(page.locator("h1")).to_have_text("Compare 2 versions")
    metrics = page.locator("#compare-metrics")
    expect(metrics.locator("tr", has_text="auc").locator("td.best")).to_contain_text("0.93")
    latency = metrics.locator("tr", has_text="latency_ms")
    expect(latency.locator("td.best")).to_contain_text("15")  # higher is better by default
    page.get_by_label("Lower is better for").fill("latency_ms")
    page.get_by_role("button", name="Mark the best again").click()
    expect(latency.locator("td.best")).to_contain_text("12")
    expect(page).to_have_url(re.compile(r"lower=latency_ms"))  # the page can be shared
    expect(page.locator("#compare-evaluations")).to_contain_text("holdout@3 (test) auc")
    expect(page.locator("#compare-evaluations")).to_contain_text("0.94")
    screenshot(page, "compare")


def test_a_version_that_does_not_exist_is_a_404_page(page: Page, registry: Registry) -> None:
    sign_in(page, registry, "reader")
    response = page.goto("/models/fraud-detector/versions/9.9.9")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("#error-message")).to_have_text(
        "version 'models/fraud-detector/versions/9.9.9' does not exist"
    )
    assert "Traceback" not in page.content()
    screenshot(page, "not-found")


def test_the_pages_work_from_the_keyboard(page: Page, registry: Registry) -> None:
    sign_in(page, registry, "reader")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    for _ in range(30):  # on through the header and the search form to the first model
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "churn":
            break
    expect(page.locator(":focus")).to_have_attribute("href", "/models/churn")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("churn")
