"""Saving a connection plan, listing it, viewing it and deleting it, in headless Chromium.

Every test also gets, from the ``page`` fixture: no console errors, no request to
another host, and a screenshot under artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest
from browser_harness import run_axe
from test_search_pages import _make_plan

pytestmark = pytest.mark.browser

REFERENCE = "BT-0427"


def test_a_plan_is_saved_listed_viewed_and_deleted(page, live_server, sign_in, map_settings):
    sign_in("practitioner")
    names = _make_plan(page, live_server)
    page.get_by_label("Reference (a code, not the person's name)").fill(REFERENCE)
    page.get_by_role("button", name="Save plan").click()
    page.get_by_role("heading", name=f"Connection plan {REFERENCE}").wait_for()
    # The saved plan: both activities, the reference, no name; its URL holds only its id.
    assert re.fullmatch(rf"{re.escape(live_server.url)}/plans/[0-9a-f]{{32}}", page.url)
    plan_url = page.url
    main = page.locator("main").inner_text()
    assert page.locator("main article").count() == 2
    for name in names:
        assert name in main
    assert "J.S." not in main and REFERENCE not in page.url
    assert run_axe(page, map_settings.static_dir) == []
    # Listed under "Saved plans".
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Saved plans").click()
    page.get_by_role("heading", name="Saved plans", level=1).wait_for()
    row = page.locator("tbody tr", has_text=REFERENCE)
    assert row.count() == 1 and "2" in row.locator('td[data-label="Activities"]').inner_text()
    assert run_axe(page, map_settings.static_dir) == []
    row.get_by_role("link", name=f"View plan {REFERENCE}").click()
    page.get_by_role("heading", name=f"Connection plan {REFERENCE}").wait_for()
    assert page.url == plan_url
    # Deleted for good.
    page.go_back()
    page.locator("tbody tr", has_text=REFERENCE).get_by_role(
        "button", name=f"Delete plan {REFERENCE}"
    ).click()
    page.get_by_role("status").wait_for()
    assert "The plan was deleted." in page.get_by_role("status").inner_text()
    assert page.locator("tbody tr", has_text=REFERENCE).count() == 0


def test_a_reference_like_a_phone_number_is_refused(page, live_server, sign_in, page_log):
    page_log.expect_error("status of 422")  # the plan comes back as 422 Unprocessable
    sign_in("practitioner")
    _make_plan(page, live_server, picks=1)
    field = page.get_by_label("Reference (a code, not the person's name)")
    field.fill("07700 900123")
    page.get_by_role("button", name="Save plan").click()
    page.locator("#reference-error").wait_for()
    assert "phone number" in page.locator("#reference-error").inner_text()
    assert field.get_attribute("aria-invalid") == "true"
    assert page.url.endswith("/plans")
