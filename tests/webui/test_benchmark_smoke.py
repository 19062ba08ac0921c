"""The web UI benchmark runs end to end at a tiny size (no timing asserted)."""

from __future__ import annotations

import argparse
import json

from benchmarks import webui


def test_webui_benchmark_renders_every_page(postgres_admin_url) -> None:
    args = argparse.Namespace(
        versions=60,
        repeats=1,
        postgres_url=postgres_admin_url.render_as_string(hide_password=False),
    )
    result = webui.run(args)
    pages = result["pages"]
    assert set(webui.pages(60)) | {"ceiling_signin_seconds", "model_second_page"} == set(pages)
    assert all(p["seconds"]["n"] == 1 for k, p in pages.items() if k != "ceiling_signin_seconds")
    json.dumps(result)
