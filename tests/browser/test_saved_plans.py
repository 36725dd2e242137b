"""Saving a connection plan, listing it, viewing it and deleting it, in headless Chromium.

Every test also gets, from the ``page`` fixture: no console errors, no request to
another host, and a screenshot under artifacts/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path

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


def _calendar_events(download) -> list:
    from icalendar import Calendar

    data = Path(download.path()).read_bytes()
    return [c for c in Calendar.from_ical(data).walk() if c.name == "VEVENT"]


def test_a_plans_activities_go_into_a_calendar_file(page, live_server, sign_in):
    """From the plan made now and from the saved plan: a file any calendar opens, with
    the chosen activities and nothing about the person."""
    sign_in("practitioner")
    names = _make_plan(page, live_server)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Add the activities to a calendar").click()
    made_now = caught.value
    assert made_now.suggested_filename == "Connection plan.ics"
    events = _calendar_events(made_now)
    assert events and {str(e["summary"]) for e in events} <= set(names)
    assert b"J.S." not in Path(made_now.path()).read_bytes()
    assert page.get_by_role("heading", name="Connection plan for J.S.").is_visible()

    page.get_by_label("Reference (a code, not the person's name)").fill(REFERENCE)
    page.get_by_role("button", name="Save plan").click()
    page.get_by_role("heading", name=f"Connection plan {REFERENCE}").wait_for()
    with page.expect_download() as caught:
        page.get_by_role("link", name="Add the activities to a calendar").click()
    saved = _calendar_events(caught.value)
    assert sorted(str(e["uid"]) for e in saved) == sorted(str(e["uid"]) for e in events)


def test_a_listings_sessions_go_into_a_calendar_file(page, live_server):
    """Anyone reading a listing can take its sessions to their calendar."""
    near = f"{live_server.url}/assets?near=53.7945,-1.752&radius_m=3000&per_page=50"
    found = page.request.get(near).json()
    listing = next(f["id"] for f in found["features"] if f["properties"]["sessions"])
    page.goto(f"{live_server.url}/listings/{listing}")
    name = page.get_by_role("heading", level=1).inner_text()
    with page.expect_download() as caught:
        page.get_by_role("link", name="to a calendar").click()
    assert caught.value.suggested_filename == f"{name}.ics"
    events = _calendar_events(caught.value)
    assert events and {str(e["summary"]) for e in events} == {name}
    assert {str(e["url"]) for e in events} == {f"{live_server.url}/listings/{listing}"}
