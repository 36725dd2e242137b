"""The planner dashboard in headless Chromium: choose, see the map and gaps, download, axe.

The ``page`` fixture also fails a test on a console error or a request leaving 127.0.0.1.
The sample database is shared with other browser tests, which may add listings: nothing
here counts listings, only cells (the sample population) and what the page itself shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_harness import ARTIFACTS, run_axe

from geo_assets.coverage import sample_population

pytestmark = pytest.mark.browser


def _choose(page, *, category: str, mode: str, minutes: str) -> None:
    page.get_by_label("Category").select_option(category)
    page.get_by_label("Travel by").select_option(mode)
    page.get_by_label("Within (minutes)").fill(minutes)
    page.get_by_role("button", name="Show coverage").click()
    page.wait_for_load_state()


def test_planner_sees_the_coverage_map_gaps_and_downloads_a_geopackage(
    page, live_server, sign_in, map_settings, tmp_path: Path
):
    import pyogrio

    sign_in("planner")
    page.goto(f"{live_server.url}/planner")
    _choose(page, category="nature", mode="cycle", minutes="8")
    assert "category=nature" in page.url and "mode=cycle" in page.url and "minutes=8" in page.url
    assert page.get_by_label("Category").input_value() == "nature"

    cells = page.locator(".folium-map path.leaflet-interactive")
    cells.first.wait_for(state="visible")
    units = len(sample_population())
    assert cells.count() >= units  # every cell, plus the worst gaps' outlines
    fills = page.evaluate(
        "() => new Set(Array.from(document.querySelectorAll("
        "'.folium-map path.leaflet-interactive')).map(p => p.getAttribute('fill'))).size"
    )
    assert fills >= 3, "a choropleth has several classes"
    gap = page.locator(".folium-map path.leaflet-interactive[stroke='#d7191c']").first
    box = gap.bounding_box()  # the outline is hollow: the pointer reaches the cell inside
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert "none within 8" in page.locator(".leaflet-tooltip").inner_text()
    legend = page.locator(".ga-legend")
    assert legend.is_visible() and "Gap" in legend.inner_text()

    assert "can reach" in page.locator("#headline").inner_text()
    gaps = page.locator("#gaps tbody tr")
    assert gaps.count() == 10
    assert gaps.first.locator("td").first.inner_text() == "1"
    assert "near " in gaps.first.inner_text()
    assert page.locator("#sites tbody tr").count() >= 1
    chart = page.locator("img.chart")
    chart.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.chart').naturalWidth > 0")

    with page.expect_download() as info:
        page.get_by_role("link", name="GeoPackage, for QGIS").click()
    download = info.value
    assert download.suggested_filename == "coverage-nature-cycle-8min-e2sfca.gpkg"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"coverage", "gaps", "assets", "sites"} <= layers
    back = pyogrio.read_dataframe(path, layer="coverage")
    assert len(back) == units and back.crs.to_epsg() == 4326
    assert len(pyogrio.read_dataframe(path, layer="gaps")) == int((back["gap_score"] > 0).sum())

    violations = run_axe(page, map_settings.static_dir)
    assert not violations, violations


def test_the_form_works_from_the_keyboard_and_explains_a_bad_value(
    page, live_server, sign_in, page_log
):
    sign_in("planner")
    page.goto(f"{live_server.url}/planner")
    page.locator("#choice-category").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "choice-mode"
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("12")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**minutes=12**")
    assert page.locator(".folium-map").count() == 1

    page_log.expect_error("/planner?minutes=soon")  # the page answers 422, as it should
    page.goto(f"{live_server.url}/planner?minutes=soon")
    alert = page.get_by_role("alert")
    assert "number" in alert.inner_text()
    alert.get_by_role("link").click()
    assert page.evaluate("() => document.activeElement.id") == "choice-minutes"
    assert page.get_by_label("Within (minutes)").get_attribute("aria-invalid") == "true"


def test_dashboard_fits_a_phone_screen(page, live_server, sign_in):
    sign_in("planner")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/planner?category=sport&mode=walk&minutes=15")
    page.locator(".folium-map path.leaflet-interactive").first.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('img.chart').complete")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"page scrolls sideways at 375 px ({width} px wide)"
    fits = page.evaluate(
        "() => Array.from(document.querySelectorAll('.table-wrap'))"
        ".every(w => w.scrollWidth <= w.clientWidth)"
    )
    assert fits, "a table needs sideways scrolling at 375 px"
    assert page.get_by_role("button", name="Show coverage").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planner_375px.png"), full_page=True)
