"""The organisation portal and the moderation queue in headless Chromium.

An organisation adds a listing, placing it with a click on the map; an admin then
publishes it from the queue. An organisation renames a published listing; the new name
waits until an admin approves it from the queue, as does a new phone number for the
organisation itself. Also: a spreadsheet upload with a bad
row, axe-core on each page, and the form at phone width. The ``page`` fixture fails a
test on a console error or a request leaving 127.0.0.1. The sample database is shared
with the other browser tests: listings made here get unique names, and nothing counts
listings.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlparse

import pytest
from browser_harness import ARTIFACTS, run_axe

from geo_assets.ingest.template import COLUMN_NAMES
from geo_assets.model import Asset, utcnow
from geo_assets.store import AssetFilters, open_store

pytestmark = pytest.mark.browser

MAX_QUEUE_PAGES = 20


def _unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


def _start_new_listing(
    page, base_url: str, name: str, category: str, day: str, starts: str, ends: str
) -> None:
    """Open the add form and fill the name, kind (group), main category and one session."""
    page.goto(f"{base_url}/portal/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Kind").select_option("group")
    page.get_by_label("Main category").select_option(category)
    page.get_by_label(day).check()
    page.get_by_label("Starts", exact=True).fill(starts)
    page.get_by_label("Ends", exact=True).fill(ends)


def _add_listing_by_map_click(page, base_url: str, name: str) -> tuple[float, float]:
    """Fill the add form, set the point by clicking the map, save; returns (lat, lon)."""
    _start_new_listing(page, base_url, name, "social", "Tuesday", "10:00", "12:00")
    page.get_by_label("Wheelchair accessible").check()

    lat, lon = page.get_by_label("Latitude", exact=True), page.get_by_label("Longitude", exact=True)
    assert lat.input_value() == "" and lon.input_value() == ""
    map_box = page.locator(".folium-map")
    map_box.scroll_into_view_if_needed()
    map_box.click(position={"x": 220, "y": 170})
    page.wait_for_function("() => document.getElementById('lat').value !== ''")
    point = (float(lat.input_value()), float(lon.input_value()))
    assert -90 <= point[0] <= 90 and -180 <= point[1] <= 180
    assert page.locator(".ga-origin").count() == 1, "the pin shows where was clicked"
    assert "Spot chosen" in page.locator("#picked").inner_text()

    page.get_by_role("button", name="Save and send for approval").click()
    page.wait_for_url("**/portal?done=created*")
    return point


def _queue_row(page, base_url: str, name: str):
    """The moderation queue's row for ``name``, paging through the queue to find it."""
    page.goto(f"{base_url}/admin")
    for _ in range(MAX_QUEUE_PAGES):
        row = page.locator("#queue tbody tr", has_text=name)
        if row.count():
            return row
        next_page = page.get_by_role("link", name="Next page")
        if not next_page.count():
            break
        next_page.click()
        page.wait_for_load_state()
    raise AssertionError(f"{name!r} is not in the moderation queue")


def _found_by_search(page, base_url: str, point: tuple[float, float], name: str) -> bool:
    """Whether a practitioner searching right at ``point`` is offered ``name``."""
    page.goto(f"{base_url}/search")
    page.get_by_text("Or pick the point on the map").click()
    page.get_by_label("Latitude").fill(f"{point[0]:.6f}")
    page.get_by_label("Longitude").fill(f"{point[1]:.6f}")
    page.get_by_label("What they enjoy or care about").fill("craft circle, social group")
    page.get_by_label("How many suggestions").select_option("20")
    page.get_by_role("button", name="Find activities").click()
    page.locator("#results-heading").wait_for()
    return name in page.locator("#results").inner_text()


def test_a_listing_added_on_the_map_is_pending_until_an_admin_publishes_it_then_found(
    page, live_server, sign_in, accounts, sample_db_url
):
    name = _unique("Browser Craft Circle")
    store = open_store(sample_db_url)
    try:
        organisation = store.get_organisation(accounts["organisation"].user.organisation_id)
    finally:
        store.close()
    sign_in("organisation")
    point = _add_listing_by_map_click(page, live_server.url, name)

    assert name in page.locator("#notice").inner_text()
    row = page.locator("tbody tr", has_text=name)
    assert row.locator(".badge.pending").inner_text() == "Awaiting approval"
    sign_in("practitioner")
    assert not _found_by_search(page, live_server.url, point, name), "pending yet searchable"

    sign_in("admin")
    row = _queue_row(page, live_server.url, name)
    assert row.locator("td[data-label=Organisation]").inner_text() == organisation.name
    assert row.locator("td[data-label=Category]").inner_text() == "Social and peer groups"
    row.get_by_role("button", name=f"Publish {name}").click()
    page.wait_for_url("**/admin?done=published*")
    assert f"Published “{name}”" in page.locator("#notice").inner_text()
    assert page.locator("#queue tbody tr", has_text=name).count() == 0

    sign_in("organisation")
    page.goto(f"{live_server.url}/portal")
    row = page.locator("tbody tr", has_text=name)
    assert "Published" in row.locator("td[data-label=Status]").inner_text()
    assert row.locator(".badge.pending").count() == 0

    sign_in("practitioner")
    assert _found_by_search(page, live_server.url, point, name), "published but not found"


def test_still_running_confirms_a_listing_from_the_keyboard(
    page, live_server, sign_in, sample_db_url
):
    name = _unique("Browser Still Running")
    sign_in("organisation")
    _add_listing_by_map_click(page, live_server.url, name)
    row = page.locator("tbody tr", has_text=name)
    assert row.locator(".badge.stale").count() == 0  # adding it confirmed it
    store = open_store(sample_db_url)  # a year passes without anyone confirming it
    try:
        (listing,) = [a for a in store.list_assets(AssetFilters(text=name)).items if a.name == name]
        store.update_asset(listing.id, {"last_verified_at": utcnow() - timedelta(days=400)})
    finally:
        store.close()
    page.reload()
    row = page.locator("tbody tr", has_text=name)
    assert row.locator(".badge.stale").count() == 1
    row.get_by_role("button", name=f"Still running ({name})").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal?done=confirmed*")
    assert "confirmed as still running" in page.locator("#notice").inner_text()
    row = page.locator("tbody tr", has_text=name)
    assert row.locator(".badge.stale").count() == 0
    assert row.locator("td[data-label='Last confirmed']").inner_text() != "Never"


def test_the_listings_needing_confirming_are_listed_alone_and_confirmed_one_by_one(
    page, live_server, sign_in
):
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal")
    page.locator("#show-unconfirmed").click()
    page.wait_for_url("**/portal?needs_confirming=true")
    rows = page.locator("tbody tr")
    before = rows.count()
    assert before >= 1
    assert rows.locator(".badge.stale").count() == before  # every one listed needs it
    name = rows.first.locator("td[data-label=Name]").inner_text()
    rows.first.get_by_role("button", name=f"Still running ({name})").click()
    page.wait_for_url("**/portal?needs_confirming=true&done=confirmed*")
    assert "confirmed as still running" in page.locator("#notice").inner_text()
    assert page.locator("tbody tr", has_text=name).count() == 0
    assert page.locator("tbody tr").count() == before - 1
    page.locator("#show-all").click()
    page.wait_for_url("**/portal")
    assert page.locator("tbody tr", has_text=name).count() == 1


def test_the_admin_sees_whom_to_remind_and_opens_every_listing_that_needs_confirming(
    page, live_server, sign_in
):
    sign_in("admin")
    page.goto(f"{live_server.url}/admin")
    table = page.get_by_role("table", name="Organisations with listings that need confirming")
    counts = [int(c) for c in table.locator("td[data-label='Need confirming']").all_inner_texts()]
    assert counts and counts == sorted(counts, reverse=True)
    said = page.locator("#chase-count").inner_text().split()[0]
    total = int(said.replace(",", ""))
    assert total >= sum(counts)  # the table shows the organisations with the most
    page.locator("#chase-all").click()
    page.wait_for_url("**/portal?needs_confirming=true")
    assert f"{said} need confirming" in page.locator("#listing-count").inner_text()

    # The organisation with the most: its name opens its own short list.
    page.go_back()
    first = table.locator("tbody tr").first
    name = first.locator("td[data-label='Organisation']").inner_text()
    first.get_by_role("link", name=name).click()
    page.wait_for_url("**/portal?needs_confirming=true&organisation=*")
    assert page.get_by_role("heading", level=1).inner_text() == f"Our listings — {name}"
    assert f"{counts[0]} need confirming" in page.locator("#listing-count").inner_text()
    assert page.locator("tbody tr .badge.stale").count() == min(counts[0], 50)


def test_a_listing_placed_by_place_name_is_flagged_beside_the_one_already_there(
    page, live_server, sign_in, sample_db_url
):
    """Re-adding an activity by typing its area puts it at the area's centre, far from
    the listing already there: the portal must still call it a possible duplicate."""
    name = _unique("Browser Cycle Club")
    account = sign_in("organisation")
    store = open_store(sample_db_url)  # already listed, 1.5 km north of Manningham's centre
    try:
        store.create_asset(
            Asset.model_validate(
                {
                    "organisation_id": account.user.organisation_id,
                    "kind": "group",
                    "name": name,
                    "categories": ["sport.cycling"],
                    "location": {"lat": 53.8185, "lon": -1.765, "address": "1 Park Road"},
                    "sessions": [{"weekdays": ["th"], "start": "10:30", "end": "12:30"}],
                    "status": "published",
                }
            )
        )
    finally:
        store.close()
    _start_new_listing(page, live_server.url, name, "sport.cycling", "Thursday", "10:30", "12:30")
    page.get_by_label("Town, village or neighbourhood").fill("Manningham")
    with page.expect_navigation():
        page.get_by_role("button", name="Find the postcode or place").click()
    assert page.get_by_label("Latitude", exact=True).input_value() != ""
    page.get_by_role("button", name="Save and send for approval").click()
    page.wait_for_url("**/portal?done=created*")
    new_row = page.locator("tbody tr", has_text=name).filter(has_text="Awaiting approval")
    assert new_row.locator(".badge", has_text="Possible duplicate").count() == 1


def test_a_stay_and_play_for_children_with_their_carers_says_so_once_saved(
    page, live_server, sign_in
):
    """The tick box makes the ages the children's; the listing then says who comes."""
    name = _unique("Browser Stay and Play")
    sign_in("organisation")
    _start_new_listing(
        page, live_server.url, name, "family.parent-toddler", "Wednesday", "09:30", "11:00"
    )
    page.get_by_label("Latitude", exact=True).fill("53.8012")
    page.get_by_label("Longitude", exact=True).fill("-1.7634")
    page.get_by_label("Youngest age").fill("0")
    page.get_by_label("Oldest age").fill("5")
    carers = page.get_by_label("Children come with a parent or carer, who joins in")
    assert not carers.is_checked()
    carers.check()
    page.get_by_role("button", name="Save and send for approval").click()
    page.wait_for_url("**/portal?done=created*")
    (asset_id,) = parse_qs(urlparse(page.url).query)["asset"]

    page.goto(f"{live_server.url}/listings/{quote(asset_id)}")
    assert page.locator("h1").inner_text() == name
    assert page.locator("#who").inner_text() == "Children aged 0–5, with a parent or carer"
    page.goto(f"{live_server.url}/portal/{quote(asset_id)}/edit")
    assert page.get_by_label("Children come with a parent or carer, who joins in").is_checked()


def test_a_form_with_problems_shows_each_message_by_its_field(page, live_server, sign_in, page_log):
    page_log.expect_error("status of 422")  # the refused form comes back as 422, as it should
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/new")
    page.get_by_label("Tuesday").check()
    page.get_by_label("Starts", exact=True).fill("12:00")
    page.get_by_label("Ends", exact=True).fill("11:00")
    page.get_by_role("button", name="Save and send for approval").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    assert page.locator("#name-error").inner_text() == "Enter the name of the activity"
    assert "must be after" in page.locator("#s0-end-error").inner_text()
    assert page.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"
    summary.get_by_role("link", name="Name: Enter the name of the activity").click()
    assert page.evaluate("() => document.activeElement.id") == "name"


def test_an_upload_with_a_bad_row_shows_the_row_report(
    page, live_server, sign_in, page_log, tmp_path
):
    page_log.expect_error("status of 422")  # a refused upload answers 422
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMN_NAMES)
    writer.writeheader()
    good = {"name": _unique("Upload Good"), "categories": "knitting", "lat": 53.8, "lon": -1.76}
    writer.writerow(good)
    writer.writerow({**good, "name": _unique("Upload Bad"), "lat": "north"})
    sheet = tmp_path / "activities.csv"
    sheet.write_text(out.getvalue(), encoding="utf-8")

    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/upload")
    page.get_by_label("Spreadsheet file").set_input_files(str(sheet))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state()
    assert "Nothing was saved" in page.locator("#report-heading").inner_text()
    rows = page.locator("#problems tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td")
    assert cells.nth(0).inner_text() == "3"  # the header is row 1
    assert cells.nth(1).inner_text() == "lat"
    assert "not a number" in cells.nth(2).inner_text()

    page.goto(f"{live_server.url}/portal")
    assert page.locator("tbody tr", has_text=good["name"]).count() == 0


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("organisation", "/portal"),
        ("organisation", "/portal?needs_confirming=true"),
        ("organisation", "/portal/new"),
        ("organisation", "/portal/organisation"),
        ("admin", "/admin"),
    ],
)
def test_portal_and_moderation_pages_have_no_serious_accessibility_violations(
    page, live_server, sign_in, map_settings, role, path
):
    sign_in(role)
    page.goto(f"{live_server.url}{path}")
    if path == "/portal/new":
        page.locator(".folium-map").wait_for(state="visible")
    violations = run_axe(page, map_settings.static_dir)
    assert violations == [], violations


def test_the_form_with_errors_has_no_serious_accessibility_violations(
    page, live_server, sign_in, map_settings, page_log
):
    page_log.expect_error("status of 422")
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/new")
    page.get_by_role("button", name="Save and send for approval").click()
    page.locator("#error-summary").wait_for(state="visible")
    violations = run_axe(page, map_settings.static_dir)
    assert violations == [], violations


@pytest.mark.parametrize(
    "path", ["/portal/new", "/portal", "/portal/upload", "/portal/organisation"]
)
def test_portal_pages_fit_a_phone_screen(page, live_server, sign_in, path):
    sign_in("organisation")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"{path} scrolls sideways at 375 px ({width} px wide)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = path.strip("/").replace("/", "_")
    page.screenshot(path=str(ARTIFACTS / f"{name}_375px.png"), full_page=True)


def test_every_box_to_type_in_on_the_form_is_drawn_alike(page, live_server, sign_in):
    """The phone field (type=tel) once kept the browser's thin grey border beside the
    others' dark 2 px one, which low-vision users rely on to find a field."""
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/new")
    borders = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(
              '.listing-form input:not([type=checkbox]):not([type=radio]):not([type=hidden])')]
            .map(e => [e.name, getComputedStyle(e).borderTop]))"""
    )
    assert "contact-phone" in borders
    assert set(borders.values()) == {"2px solid rgb(80, 90, 95)"}, borders


def test_the_queue_fits_a_phone_screen(page, live_server, sign_in):
    sign_in("admin")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/admin")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"/admin scrolls sideways at 375 px ({width} px wide)"


def _oversized_sheet(tmp_path, limit_bytes: int):
    """A CSV just over ``limit_bytes``: the header, then one long comment row."""
    sheet = tmp_path / "too-big.csv"
    header = ",".join(COLUMN_NAMES) + "\n"
    sheet.write_text(header + "#" * (limit_bytes + 1024) + "\n", encoding="utf-8")
    return sheet


def test_a_sheet_over_the_upload_limit_is_refused_on_the_page(page, live_server, sign_in, tmp_path):
    """The page checks the size before sending: the error sits at the field and
    nothing is uploaded."""
    limit = live_server.app.state.settings.max_upload_bytes
    sheet = _oversized_sheet(tmp_path, limit)
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/upload")
    hint = page.locator("#file-hint").inner_text()
    assert f"up to {limit // (1024 * 1024)} MB" in hint
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_label("Spreadsheet file").set_input_files(str(sheet))
    error = page.locator("#file-size-error")
    error.wait_for(state="visible")
    assert "larger than" in error.inner_text()
    field = page.get_by_label("Spreadsheet file")
    assert field.get_attribute("aria-invalid") == "true"
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_timeout(300)
    assert posts == []
    assert page.evaluate("() => document.activeElement.id") == "file"


def test_the_upload_page_with_a_size_error_has_no_serious_accessibility_violations(
    page, live_server, sign_in, map_settings, tmp_path
):
    sheet = _oversized_sheet(tmp_path, live_server.app.state.settings.max_upload_bytes)
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/upload")
    page.get_by_label("Spreadsheet file").set_input_files(str(sheet))
    page.locator("#file-size-error").wait_for(state="visible")
    violations = run_axe(page, map_settings.static_dir)
    assert violations == [], violations


def test_a_sheet_over_the_upload_limit_gets_a_page_from_the_server(
    page, live_server, sign_in, tmp_path, page_log
):
    """Without the page's check (script off, old page) the server refuses the body
    and the browser shows a page that says why, not a reset connection or JSON."""
    page_log.expect_error("status of 413")
    limit = live_server.app.state.settings.max_upload_bytes
    sheet = _oversized_sheet(tmp_path, limit)
    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/upload")
    page.get_by_label("Spreadsheet file").set_input_files(str(sheet))
    with page.expect_navigation():
        page.evaluate("() => document.querySelector('form.upload-form').submit()")
    assert page.locator("h1").inner_text() == "File too large"
    assert f"{limit // (1024 * 1024)} MB" in page.locator("main").inner_text()
    page.get_by_role("link", name="Back to the form").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/portal/upload"


def test_a_name_for_women_open_to_everyone_is_badged_until_who_can_come_agrees(
    page, live_server, sign_in
):
    name = _unique("Browser Ladies' Darts")
    sign_in("organisation")
    _add_listing_by_map_click(page, live_server.url, name)

    badge = page.locator("tbody tr", has_text=name).locator(".badge.audience")
    assert badge.is_visible()
    assert badge.inner_text() == "Check who can come"
    said = page.locator("tbody tr", has_text=name).locator("td[data-label=Status]").inner_text()
    assert "The name says it is for women, but “Who can come” says everyone" in said

    sign_in("admin")
    row = _queue_row(page, live_server.url, name)
    assert row.locator(".badge.audience").is_visible(), "moderators see it too"

    sign_in("organisation")
    page.goto(f"{live_server.url}/portal")
    page.locator("tbody tr", has_text=name).get_by_role("link", name=f"Edit {name}").click()
    page.get_by_label("Who can come").select_option("women")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url("**/portal?done=saved*")
    row = page.locator("tbody tr", has_text=name)
    assert row.count() == 1
    assert row.locator(".badge.audience").count() == 0


def test_a_new_name_for_a_published_listing_shows_once_an_admin_approves_it(
    page, live_server, sign_in, accounts, sample_db_url, map_settings
):
    published, proposed = _unique("Browser Held Choir"), _unique("Browser Renamed Choir")
    store = open_store(sample_db_url)
    try:
        listing = store.create_asset(
            Asset.model_validate(
                {
                    "organisation_id": accounts["organisation"].user.organisation_id,
                    "kind": "group",
                    "name": published,
                    "categories": ["arts.music.choirs"],
                    "location": {"lat": 53.8012, "lon": -1.7634, "address": "1 Lumb Lane"},
                    "sessions": [{"weekdays": ["mo"], "start": "19:00", "end": "21:00"}],
                    "status": "published",
                }
            )
        )
    finally:
        store.close()
    public_page = f"{live_server.url}/listings/{quote(listing.id)}"

    sign_in("organisation")
    page.goto(f"{live_server.url}/portal/{quote(listing.id)}/edit")
    page.get_by_label("Name", exact=True).fill(proposed)
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url("**/portal?done=held*")
    notice = page.locator("#notice").inner_text()
    assert "Changes to its name wait for a moderator to check them" in notice
    assert "the listing keeps the version a moderator checked" in notice
    page.goto(f"{live_server.url}/portal/{quote(listing.id)}/edit")
    assert page.get_by_label("Name", exact=True).input_value() == proposed
    assert "Your changes to its name wait" in page.locator("#held-notice").inner_text()
    page.goto(public_page)
    assert page.locator("h1").inner_text() == published

    sign_in("admin")
    page.goto(f"{live_server.url}/admin")
    held = page.locator("section.held-listing").filter(
        has=page.get_by_role("heading", name=published)
    )
    row = held.get_by_role("row").filter(has_text="Name")
    assert row.locator("td[data-label=Published]").inner_text() == published
    assert row.locator("td[data-label=Proposed]").inner_text() == proposed
    assert run_axe(page, map_settings.static_dir) == []
    held.get_by_role("button", name=f"Approve the changes to {published}").click()
    page.wait_for_url("**/admin?done=approved*")
    assert f"Approved the changes to “{proposed}”" in page.locator("#notice").inner_text()
    assert page.locator("section.held-listing", has_text=published).count() == 0

    page.goto(public_page)
    assert page.locator("h1").inner_text() == proposed


def test_an_organisations_new_phone_number_goes_out_once_an_admin_approves_it(
    page, live_server, sign_in, accounts, map_settings
):
    org_id = accounts["organisation"].user.organisation_id
    number = f"0113 496 {uuid.uuid4().int % 10_000:04d}"
    record = f"{live_server.url}/organisations/{quote(org_id)}"
    checked = page.request.get(record).json()

    sign_in("organisation")
    page.goto(f"{live_server.url}/portal")
    page.get_by_role("link", name="Your organisation’s details").click()
    page.get_by_label("Phone number").fill(number)
    page.get_by_role("button", name="Save details").click()
    page.wait_for_url("**/portal/organisation?done=held*")
    assert "Changes to its phone wait for a moderator" in page.locator("#notice").inner_text()
    assert page.get_by_label("Phone number").input_value() == number
    assert run_axe(page, map_settings.static_dir) == []
    assert page.request.get(record).json()["phone"] == checked["phone"]

    sign_in("admin")
    page.goto(f"{live_server.url}/admin")
    held = page.locator("section.held-organisation").filter(
        has=page.get_by_role("heading", name=checked["name"], exact=True)
    )
    row = held.get_by_role("row").filter(has_text="Phone")
    assert row.locator("td[data-label=Proposed]").inner_text() == number
    assert run_axe(page, map_settings.static_dir) == []
    held.get_by_role(
        "button", name=f"Approve the changes to the details of {checked['name']}"
    ).click()
    page.wait_for_url("**/admin?done=approved*")
    assert "Approved the changes to the details of" in page.locator("#notice").inner_text()
    assert page.request.get(record).json()["phone"] == number
