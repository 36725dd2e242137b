"""The API docs page (Swagger UI) in headless Chromium: it draws the API from our own
/static, with no request leaving 127.0.0.1 (the ``page`` fixture fails the test on any
such request or console error)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_api_docs_draw_every_operation_offline(page, live_server, page_log):
    page.goto(f"{live_server.url}/docs")
    page.locator(".opblock").first.wait_for(state="visible")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/match" in {p.replace("\u200b", "") for p in paths}
    assert any("/static/swagger-ui-dist/" in url for url in page_log.requests)
    # Open one operation: its parameters and responses are drawn from our OpenAPI document.
    page.locator(".opblock-summary-path", has_text="/match").first.click()
    page.locator(".opblock-body .responses-wrapper").first.wait_for(state="visible")
