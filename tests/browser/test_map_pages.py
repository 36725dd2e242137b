"""The map pages in headless Chromium: they draw, respond to clicks and stay on 127.0.0.1.

Every test also gets, from the ``page`` fixture: no console errors, no request to
another host, and a screenshot under artifacts/browser/.
"""

from __future__ import annotations

import uuid

import pytest
from browser_harness import ARTIFACTS, open_page, run_axe

from geo_assets.model import Asset
from geo_assets.store import open_store
from geo_assets.taxonomy import default_taxonomy

pytestmark = pytest.mark.browser

MAX_CLICKS = 15


def _in_view(page, locator) -> list[int]:
    """Indexes of the elements of ``locator`` whose centre lies inside the map and is
    the topmost element there (so a real click reaches them)."""
    return page.evaluate(
        """(selector) => {
            const map = document.querySelector('.folium-map').getBoundingClientRect();
            const out = [];
            document.querySelectorAll(selector).forEach((el, i) => {
                const r = el.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (x < map.left + 20 || x > map.right - 20 || y < map.top + 20 ||
                    y > map.bottom - 20) { return; }
                const top = document.elementFromPoint(x, y);
                if (top && (top === el || el.contains(top))) { out.push(i); }
            });
            return out;
        }""",
        locator,
    )


def _open_a_listing(page) -> None:
    """Click clusters until single listings show, then click one and wait for its popup."""
    for _ in range(MAX_CLICKS):
        dots = _in_view(page, ".leaflet-marker-icon:has(.ga-dot)")
        if dots:
            page.locator(".leaflet-marker-icon:has(.ga-dot)").nth(dots[0]).click()
            page.locator(".leaflet-popup-content .ga-popup").wait_for(state="visible")
            return
        clusters = _in_view(page, ".marker-cluster")
        assert clusters, "no cluster or listing can be clicked"
        before = page.locator(".marker-cluster").count()
        page.locator(".marker-cluster").nth(clusters[0]).click()
        page.wait_for_function(
            "() => !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')"
        )
        page.wait_for_timeout(350)  # markercluster re-draws after the zoom animation
        assert page.locator(".marker-cluster, .ga-dot").count() != before or True
    raise AssertionError(f"no single listing after {MAX_CLICKS} cluster clicks")


def test_directory_map_loads_with_clusters_and_a_layer_per_category(page, live_server):
    page.goto(f"{live_server.url}/map")
    page.locator(".marker-cluster").first.wait_for(state="visible")
    assert page.locator(".marker-cluster").count() >= 1
    overlays = page.locator(".leaflet-control-layers-overlays label")
    roots = {t.id for t in default_taxonomy().roots()}
    assert 1 <= overlays.count() <= len(roots)
    assert page.locator(".ga-legend").is_visible()
    assert "listings" in page.locator(".ga-legend summary").inner_text()


def test_a_listing_only_at_a_centre_is_ringed_on_the_directory_map(
    page, live_server, sample_db_url
):
    """Its marker wears the ring the legend explains, and its popup says so."""
    name = f"Ilkley Postcode Centre Group {uuid.uuid4().hex[:8]}"
    point = (53.9262, -1.8301)  # Ilkley, away from the searches other tests make
    store = open_store(sample_db_url)
    try:
        store.create_asset(
            Asset.model_validate(
                {
                    "kind": "group",
                    "name": name,
                    "categories": ["social"],
                    "location": {"lat": point[0], "lon": point[1], "precision": "postcode"},
                    "status": "published",
                }
            )
        )
    finally:
        store.close()
    page.goto(f"{live_server.url}/map")
    page.locator(".marker-cluster").first.wait_for(state="visible")
    assert "Ringed: shown at its postcode" in page.locator(".ga-legend").inner_text()
    page.evaluate(
        """([lat, lon]) => {
            const key = Object.keys(window).find((k) => k.startsWith('map_'));
            window[key].setView([lat, lon], 19, {animate: false});
        }""",
        list(point),
    )
    marker = page.locator(f".leaflet-marker-icon[title^='{name}']")
    marker.wait_for(state="visible")
    assert marker.locator(".ga-dot.ga-rough").count() == 1
    assert marker.get_attribute("title").endswith("(shown at a postcode's or area's centre)")
    marker.click()
    popup = page.locator(".leaflet-popup-content .ga-popup")
    popup.wait_for(state="visible")
    assert "The map shows the postcode's centre" in popup.inner_text()


def test_directory_map_loads_its_files_from_our_own_static_folder(page, live_server, page_log):
    page.goto(f"{live_server.url}/map")
    page.locator(".marker-cluster").first.wait_for(state="visible")
    loaded = [u for u in page_log.requests if "/static/" in u]
    for name in ("leaflet.js", "jquery.min.js", "leaflet.markercluster.js", "leaflet.css"):
        assert any(u.endswith(name) for u in loaded), name


def test_pages_name_a_tab_icon_the_browser_can_draw(page, live_server):
    page.goto(f"{live_server.url}/map")
    href = page.locator("link[rel=icon]").get_attribute("href")
    width, height = page.evaluate(
        """async (href) => {
            const img = new Image();
            img.src = href;
            await img.decode();
            return [img.naturalWidth, img.naturalHeight];
        }""",
        href,
    )
    assert width > 0 and height > 0
    # and what a browser asks for where a page names none (a JSON response, say)
    assert page.request.get(f"{live_server.url}/favicon.ico").headers["content-type"] == (
        "image/svg+xml"
    )


def test_clicking_clusters_then_a_listing_opens_its_popup(page, live_server):
    page.goto(f"{live_server.url}/map")
    page.locator(".marker-cluster").first.wait_for(state="visible")
    _open_a_listing(page)
    popup = page.locator(".leaflet-popup-content .ga-popup")
    link = popup.locator("h2 a")
    assert link.get_attribute("href").startswith("/listings/")
    assert link.inner_text().strip()


def test_hiding_a_category_layer_removes_its_listings(page, live_server):
    page.goto(f"{live_server.url}/map")
    page.locator(".marker-cluster").first.wait_for(state="visible")
    count = (
        "() => Array.from(document.querySelectorAll('.marker-cluster .ga-cluster'))"
        ".reduce((n, el) => n + parseInt(el.textContent, 10), 0)"
    )
    before = page.evaluate(count)
    page.locator(".leaflet-control-layers").hover()
    first = page.locator(".leaflet-control-layers-overlays input[type=checkbox]").first
    first.uncheck()
    page.wait_for_timeout(400)
    after = page.evaluate(count)
    assert after < before


def test_results_demo_numbers_each_suggestion_and_opens_popups(page, live_server):
    page.goto(f"{live_server.url}/map/results")
    listed = page.locator("ol.results > li")
    pins = page.locator(".ga-pin:not(.ga-origin)")
    pins.first.wait_for(state="visible")
    assert listed.count() >= 3
    assert pins.count() == listed.count()
    assert page.locator(".ga-origin").count() == 1
    assert page.locator("path.leaflet-interactive").count() >= 1  # the reachable areas
    texts = [pins.nth(i).inner_text() for i in range(pins.count())]
    assert sorted(texts, key=int) == [str(i) for i in range(1, listed.count() + 1)]

    first_name = listed.first.locator("a").inner_text().strip()
    marker = page.locator(".leaflet-marker-icon", has=page.locator(".ga-pin", has_text="1")).first
    marker.focus()
    page.keyboard.press("Enter")  # keyboard users open popups too
    popup = page.locator(".leaflet-popup-content .ga-popup")
    popup.wait_for(state="visible")
    assert first_name in popup.inner_text()
    assert "min" in popup.inner_text()


def test_results_page_fits_a_phone_screen(browser, live_server, page_log):
    context, page = open_page(browser, page_log, viewport={"width": 375, "height": 740})
    try:
        page.goto(f"{live_server.url}/map/results")
        page.locator(".ga-pin").first.wait_for(state="visible")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"page scrolls sideways at 375 px ({width} px wide)"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results_375px.png"), full_page=True)
    finally:
        context.close()
    assert not page_log.console_errors
    assert not page_log.external_requests()


@pytest.mark.parametrize("path", ["/map", "/map/results"])
def test_map_pages_have_no_serious_accessibility_violations(page, live_server, map_settings, path):
    page.goto(f"{live_server.url}{path}")
    page.locator(".leaflet-marker-icon").first.wait_for(state="visible")
    violations = run_axe(page, map_settings.static_dir)
    assert violations == [], violations


def test_axe_reports_a_known_violation(page, map_settings):
    # The harness itself: an unlabelled form control must be caught.
    page.set_content('<html lang="en"><body><main><input type="text"></main></body></html>')
    found = run_axe(page, map_settings.static_dir)
    assert any(v["id"] == "label" for v in found), found


def test_no_other_page_may_frame_ours(page, live_server, page_log):
    """A page of another origin cannot show ours in a frame (so cannot lay its own
    content over a moderator's buttons): Chromium refuses to draw it."""
    page_log.expect_error("frame")
    page.set_content(f'<iframe src="{live_server.url}/map" width="600" height="400"></iframe>')
    page.wait_for_function("() => document.querySelector('iframe').contentWindow !== null")
    page.wait_for_timeout(500)
    framed = page.frames[1]
    assert not framed.url.startswith(live_server.url) or framed.locator(".folium-map").count() == 0


def test_a_page_refuses_scripts_from_other_hosts(page, live_server, page_log):
    """The Content Security Policy keeps what the offline maps promise: a script from
    another origin (here another port of this machine, standing in for a CDN) is refused
    by the browser itself."""
    page.goto(f"{live_server.url}/map")
    page.locator(".folium-map").first.wait_for()
    page_log.expect_error("Content Security Policy")
    violated = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener(
                'securitypolicyviolation', e => resolve([e.effectiveDirective, e.blockedURI]));
            const s = document.createElement('script');
            s.src = 'http://127.0.0.1:9/library.js';
            document.head.appendChild(s);
        })"""
    )
    assert violated == ["script-src-elem", "http://127.0.0.1:9/library.js"]
