"""Saved connection plans over HTTP (no browser): who may save, list, view and delete
them, forms from other sites, and that only the pseudonymous plan is stored."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web import SESSION_COOKIE
from geo_assets import clock
from geo_assets.auth import User, issue_token
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from maps.assets import MapSettings, missing_files

SAME_SITE = {"origin": "http://testserver"}
SEARCH = {
    "where": "Manningham",
    "interests": "gardening, singing",
    "mode": ["walk", "public_transport"],
    "minutes_walk": "20",
    "minutes_public_transport": "30",
    "limit": "10",
}
PLAN_ID = re.compile(r'name="plan_asset" value="([^"]+)"')
SAVED_AT = re.compile(r"^/plans/([0-9a-f]{32})$")


@dataclass
class Site:
    store: Store
    users: dict[str, User]
    client_for: Callable[[str | None], TestClient]


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> Iterator[Site]:
    """The app over a sample store; a client signed in as each of these users."""
    if missing_files(MapSettings().static_dir):
        pytest.skip("map assets missing: run scripts/ensure_assets.sh")
    url = sample_sqlite(tmp_path_factory.mktemp("plans"))
    store = open_store(url)
    org = store.list_organisations(per_page=1).items[0]
    users, tokens = {}, {}
    for name, role in (
        ("ann", "practitioner"),
        ("bob", "practitioner"),
        ("org", "organisation"),
        ("admin", "admin"),
    ):
        users[name] = store.create_user(
            User(name=name, role=role, organisation_id=org.id if role == "organisation" else None)
        )
        tokens[name] = issue_token(store, users[name].id)
    with TestClient(create_app(Settings(database_url=url))) as client:

        def client_for(name: str | None) -> TestClient:
            """The one client, now signed in as ``name`` (None: signed out)."""
            client.cookies.clear()
            if name is not None:
                client.cookies.set(SESSION_COOKIE, tokens[name])
            return client

        yield Site(store, users, client_for)
    store.close()


def _plan_form(client: TestClient, picks: tuple[int, ...] = (2, 0)) -> tuple[dict, list[str]]:
    """Search as the practitioner would, and the plan form for the picked results."""
    found = client.post("/search", data=SEARCH, headers=SAME_SITE)
    assert found.status_code == 200
    ids = PLAN_ID.findall(found.text)
    profile = re.search(r'name="profile" value="([^"]+)"', found.text)
    assert profile
    chosen = [ids[i] for i in picks]
    form = {"profile": html.unescape(profile.group(1)), "plan_asset": chosen, "limit": "10"}
    return form, chosen


def _save(client: TestClient, reference: str, picks: tuple[int, ...] = (2, 0)) -> str:
    form, _ = _plan_form(client, picks)
    saved = client.post(
        "/plans", data={**form, "reference": reference}, headers=SAME_SITE, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text[:500]
    found = SAVED_AT.match(saved.headers["location"])
    assert found, saved.headers["location"]
    return found.group(1)


def test_saved_plans_need_a_practitioner(site: Site) -> None:
    anonymous = site.client_for(None)
    for method, path in (
        ("get", "/plans"),
        ("get", "/plans/x"),
        ("post", "/plans"),
        ("post", "/plans/x/delete"),
    ):
        got = anonymous.request(method, path, headers=SAME_SITE, follow_redirects=False)
        assert (got.status_code, got.headers.get("location")) == (303, "/sign-in"), path
    organisation = site.client_for("org")
    assert organisation.get("/plans").status_code == 403
    assert organisation.post("/plans", data={}, headers=SAME_SITE).status_code == 403
    assert site.client_for("admin").get("/plans").status_code == 200
    practitioner = site.client_for("ann")
    page = practitioner.get("/plans")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '<a href="/plans" aria-current="page">Saved plans</a>' in page.text


def test_forms_from_other_sites_are_refused(site: Site) -> None:
    client = site.client_for("ann")
    form, _ = _plan_form(client)
    data = {**form, "reference": "CSRF-1"}
    assert client.post("/plans", data=data).status_code == 403
    foreign = {"origin": "http://elsewhere.example"}
    assert client.post("/plans", data=data, headers=foreign).status_code == 403
    plan_id = _save(client, "CSRF-2")
    assert client.post(f"/plans/{plan_id}/delete").status_code == 403
    assert client.post(f"/plans/{plan_id}/delete", headers=foreign).status_code == 403
    assert [p.reference for p in site.store.list_plans(site.users["ann"].id).items].count(
        "CSRF-1"
    ) == 0
    assert site.store.get_plan(plan_id).reference == "CSRF-2"


def test_the_plan_page_offers_to_save_it(site: Site) -> None:
    client = site.client_for("ann")
    form, chosen = _plan_form(client)
    page = client.post("/search/plan", data={**form, "person": "J.S."}, headers=SAME_SITE)
    assert page.status_code == 200
    save_form = re.search(r'<form method="post" action="/plans".*?</form>', page.text, re.S)
    assert save_form
    assert "Reference (a code, not the person's name)" in save_form.group(0)
    assert PLAN_ID.findall(save_form.group(0)) == chosen


def test_saving_stores_exactly_the_chosen_items_in_order(site: Site) -> None:
    client = site.client_for("ann")
    plan_id = _save(client, "AB-0427", picks=(3, 1, 0))
    form, chosen = _plan_form(client, picks=(3, 1, 0))
    plan = site.store.get_plan(plan_id)
    assert plan.owner_id == site.users["ann"].id and plan.reference == "AB-0427"
    assert [i.asset_id for i in plan.items] == chosen
    assert [i.name for i in plan.items] == [site.store.get_asset(a).name for a in chosen]
    for item in plan.items:
        # Bands only ("15–30 min walk"): times to the minute would place the person's home.
        assert set(re.findall(r"\d+", item.travel)) <= {"15", "30", "45", "60", "1", "2"}
        assert " min " in item.travel or "hours" in item.travel
        assert "km" not in item.travel and "minutes" not in item.model_dump()
    shown = client.get(f"/plans/{plan_id}")
    assert shown.status_code == 200
    assert "<h1>Connection plan AB-0427</h1>" in shown.text
    names = re.findall(r'<h2 id="plan-item-\d+">\d+\. (.*?)</h2>', shown.text)
    assert names == [html.escape(i.name, quote=True) for i in plan.items]
    assert "Getting there" in shown.text and "Save this plan" not in shown.text


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("", "required"),
        ("jo.smith@example.org", "email address"),
        ("07700 900123", "phone number"),
        ("BD1 1HY", "postcode"),
    ],
)
def test_a_bad_reference_is_named_beside_the_field_and_nothing_is_saved(
    site: Site, reference: str, words: str
) -> None:
    client = site.client_for("bob")
    before = site.store.list_plans(site.users["bob"].id).total
    form, chosen = _plan_form(client)
    got = client.post(
        "/plans", data={**form, "reference": reference, "person": "J.S."}, headers=SAME_SITE
    )
    assert got.status_code == 422
    error = re.search(r'<p class="field-error" id="reference-error">(.*?)</p>', got.text, re.S)
    assert error, got.text[:2000]
    message = html.unescape(error.group(1))
    assert "reference" in message and words in message and "use a code" in message
    assert 'aria-invalid="true"' in got.text
    # The plan is shown again, ready to save with a code; the rejected value is not kept.
    assert "Connection plan for J.S." in got.text and PLAN_ID.findall(got.text) == chosen
    if reference:
        assert reference not in got.text
    assert site.store.list_plans(site.users["bob"].id).total == before


def test_a_plan_to_save_needs_a_choice_and_a_readable_search(site: Site) -> None:
    client = site.client_for("bob")
    before = site.store.list_plans(site.users["bob"].id).total
    form, _ = _plan_form(client)
    none = client.post(
        "/plans", data={"profile": form["profile"], "reference": "A-1"}, headers=SAME_SITE
    )
    assert none.status_code == 422 and "Nothing chosen" in none.text
    tampered = {
        **form,
        "profile": form["profile"].replace('"lat"', '"latitude"'),
        "reference": "A-1",
    }
    assert client.post("/plans", data=tampered, headers=SAME_SITE).status_code == 422
    unknown = {**form, "plan_asset": ["no-such-asset"], "reference": "A-1"}
    gone = client.post("/plans", data=unknown, headers=SAME_SITE)
    assert gone.status_code == 422 and "Nothing left to save" in gone.text
    assert site.store.list_plans(site.users["bob"].id).total == before


def test_the_list_shows_only_your_own_plans_newest_first(site: Site) -> None:
    first = _save(site.client_for("ann"), "LIST-1")
    second = _save(site.client_for("ann"), "LIST-2", picks=(0,))
    theirs = _save(site.client_for("bob"), "BOBS-1")
    page = site.client_for("ann").get("/plans")
    shown = re.findall(r'<a href="/plans/([0-9a-f]{32})">View', page.text)
    assert shown.index(second) < shown.index(first) and theirs not in shown
    assert "BOBS-1" not in page.text
    assert shown == [p.id for p in site.store.list_plans(site.users["ann"].id).items]
    row = page.text.split(f'href="/plans/{second}"', 1)[0].rsplit("<tr>", 1)[1]
    assert "LIST-2" in row and '<td data-label="Activities">1</td>' in row


def test_another_practitioner_gets_404_and_an_admin_may_see(site: Site) -> None:
    plan_id = _save(site.client_for("ann"), "PRIVATE-1")
    bob = site.client_for("bob")
    view = bob.get(f"/plans/{plan_id}")
    assert view.status_code == 404 and "PRIVATE-1" not in view.text
    delete = bob.post(f"/plans/{plan_id}/delete", headers=SAME_SITE, follow_redirects=False)
    assert delete.status_code == 404
    assert bob.get("/plans/does-not-exist").status_code == 404
    assert bob.get("/plans").text.count("PRIVATE-1") == 0
    assert site.store.get_plan(plan_id).reference == "PRIVATE-1"
    admin = site.client_for("admin").get(f"/plans/{plan_id}")
    assert (
        admin.status_code == 200
        and "PRIVATE-1" in admin.text
        and "by ann, kept until" in admin.text
    )


def test_deleting_removes_the_plan(site: Site) -> None:
    client = site.client_for("ann")
    plan_id = _save(client, "GONE-1")
    deleted = client.post(f"/plans/{plan_id}/delete", headers=SAME_SITE, follow_redirects=False)
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/plans?done=deleted")
    listed = client.get("/plans?done=deleted")
    assert "The plan was deleted." in listed.text and "GONE-1" not in listed.text
    assert client.get(f"/plans/{plan_id}").status_code == 404
    assert plan_id not in [p.id for p in site.store.list_plans(site.users["ann"].id).items]
    again = client.post(f"/plans/{plan_id}/delete", headers=SAME_SITE, follow_redirects=False)
    assert again.status_code == 404


def test_a_saved_plan_outlives_its_listing(site: Site) -> None:
    client = site.client_for("ann")
    plan_id = _save(client, "ARCH-1", picks=(1,))
    item = site.store.get_plan(plan_id).items[0]
    archived = site.store.archive_asset(item.asset_id)
    try:
        shown = client.get(f"/plans/{plan_id}")
        assert shown.status_code == 200
        assert html.escape(item.name, quote=True) in shown.text
        assert "No longer listed" in shown.text and html.escape(item.travel) in shown.text
    finally:
        site.store.update_asset(archived.id, {"status": "published"})


def test_the_pages_say_how_long_a_plan_is_kept(site: Site) -> None:
    client = site.client_for("ann")
    form, _ = _plan_form(client)
    page = client.post("/search/plan", data=form, headers=SAME_SITE)
    assert "how long the journey takes, in rough bands, are kept for 365 days" in page.text
    plan_id = _save(client, "KEPT-1")
    listing = client.get("/plans").text
    assert "A plan is deleted 365 days\nafter it was saved." in listing
    saved = site.store.get_plan(plan_id)
    until = (saved.created_at + timedelta(days=365)).strftime("%-d %B %Y")
    assert f"kept until {until}." in client.get(f"/plans/{plan_id}").text


# --- calendars (.ics) -----------------------------------------------------------------------


def _calendar_events(response) -> list:
    from icalendar import Calendar

    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    return [c for c in Calendar.from_ical(response.content).walk() if c.name == "VEVENT"]


def _meets_again(store: Store, asset_id: str) -> int:
    from datetime import date

    from geo_assets.ical import sessions_to_come

    return sessions_to_come([store.get_asset(asset_id)], date.today())


def test_anyone_may_take_a_published_listings_calendar(site: Site) -> None:
    anonymous = site.client_for(None)
    asset = next(
        a
        for a in site.store.list_assets(per_page=100).items
        if a.status == "published" and _meets_again(site.store, a.id) >= 2
    )
    page = anonymous.get(f"/listings/{asset.id}")
    assert f'href="/listings/{asset.id}/calendar.ics"' in page.text
    got = anonymous.get(f"/listings/{asset.id}/calendar.ics")
    events = _calendar_events(got)
    assert len(events) >= _meets_again(site.store, asset.id) >= 2  # a session, an event or more
    assert {str(e["summary"]) for e in events} == {asset.name}
    assert {str(e["url"]) for e in events} == {f"http://testserver/listings/{asset.id}"}
    assert got.headers["content-disposition"].startswith('attachment; filename="')


def test_a_calendars_file_name_keeps_the_listings_name(site: Site) -> None:
    asset = next(a for a in site.store.list_assets(per_page=100).items if a.sessions)
    site.store.update_asset(asset.id, {"name": 'Café Żurek & "Co"/Chai'})
    try:
        got = site.client_for(None).get(f"/listings/{asset.id}/calendar.ics")
        assert got.headers["content-disposition"] == (
            'attachment; filename="cafe-zurek-co-chai.ics"; '
            "filename*=UTF-8''Caf%C3%A9%20%C5%BBurek%20%26%20-Co-Chai.ics"
        )
    finally:
        site.store.update_asset(asset.id, {"name": asset.name})


def test_nothing_to_come_is_a_page_not_an_empty_calendar(site: Site) -> None:
    """RFC 5545 wants an event in every calendar: a listing with no session to come, or a
    plan whose activities have none, gets a page saying so, and no link to it."""
    asset = next(a for a in site.store.list_assets(per_page=100).items if a.sessions)
    site.store.update_asset(asset.id, {"sessions": []})
    try:
        anonymous = site.client_for(None)
        got = anonymous.get(f"/listings/{asset.id}/calendar.ics")
        assert got.status_code == 404 and "no session still to come" in got.text
        assert "calendar.ics" not in anonymous.get(f"/listings/{asset.id}").text
        client = site.client_for("ann")
        posted = {"listing": [asset.id]}
        none = client.post("/search/plan/calendar.ics", data=posted, headers=SAME_SITE)
        assert none.status_code == 422 and "Nothing to put in a calendar" in none.text
        nothing = client.post("/search/plan/calendar.ics", data={}, headers=SAME_SITE)
        assert nothing.status_code == 422
    finally:
        site.store.update_asset(asset.id, {"sessions": asset.sessions})


def test_an_unpublished_listing_has_no_public_calendar(site: Site) -> None:
    asset = next(a for a in site.store.list_assets(per_page=100).items if a.sessions)
    site.store.update_asset(asset.id, {"status": "draft"})
    try:
        got = site.client_for(None).get(f"/listings/{asset.id}/calendar.ics")
        assert got.status_code == 404
        assert site.client_for(None).get("/listings/nope/calendar.ics").status_code == 404
    finally:
        site.store.update_asset(asset.id, {"status": "published"})


def test_a_plans_calendar_comes_by_post_and_says_nothing_of_the_person(site: Site) -> None:
    client = site.client_for("ann")
    form, chosen = _plan_form(client)
    page = client.post("/search/plan", data={**form, "person": "J.S."}, headers=SAME_SITE)
    calendar_form = re.search(
        r'<form[^>]*action="/search/plan/calendar.ics".*?</form>', page.text, re.S
    )
    assert calendar_form
    assert re.findall(r'name="listing" value="([^"]+)"', calendar_form.group(0)) == chosen
    posted = {"listing": [*chosen, "no-such-listing"], "person": "J.S.", "profile": "x"}
    got = client.post("/search/plan/calendar.ics", data=posted, headers=SAME_SITE)
    events = _calendar_events(got)
    expected = [site.store.get_asset(a).name for a in chosen if _meets_again(site.store, a)]
    assert expected and [name for name, _ in groupby(str(e["summary"]) for e in events)] == expected
    # A listing chosen twice is in it once: every event keeps its own UID.
    twice = {"listing": [*chosen, *chosen]}
    again = _calendar_events(
        client.post("/search/plan/calendar.ics", data=twice, headers=SAME_SITE)
    )
    assert sorted(str(e["uid"]) for e in again) == sorted(str(e["uid"]) for e in events)
    assert b"J.S." not in got.content and b"Manningham" not in got.content
    assert got.headers["content-disposition"].startswith(
        'attachment; filename="connection-plan.ics";'
    )
    # A practitioner's, from this site only.
    assert client.post("/search/plan/calendar.ics", data=posted).status_code == 403
    anonymous = site.client_for(None)
    refused = anonymous.post(
        "/search/plan/calendar.ics", data=posted, headers=SAME_SITE, follow_redirects=False
    )
    assert (refused.status_code, refused.headers.get("location")) == (303, "/sign-in")


def test_a_saved_plans_calendar_is_its_owners(site: Site) -> None:
    ann = site.client_for("ann")
    plan_id = _save(ann, "CAL-0001", picks=(1, 3))
    page = ann.get(f"/plans/{plan_id}")
    assert f'href="/plans/{plan_id}/calendar.ics"' in page.text
    got = ann.get(f"/plans/{plan_id}/calendar.ics")
    events = _calendar_events(got)
    plan = site.store.get_plan(plan_id)
    assert {str(e["summary"]) for e in events} == {
        item.name for item in plan.items if _meets_again(site.store, item.asset_id)
    }
    assert len(events) >= sum(_meets_again(site.store, i.asset_id) for i in plan.items) >= 1
    assert b"CAL-0001" not in got.content
    assert site.client_for("bob").get(f"/plans/{plan_id}/calendar.ics").status_code == 404
    assert site.client_for("admin").get(f"/plans/{plan_id}/calendar.ics").status_code == 200


def test_when_a_plan_was_saved_is_read_on_the_local_clock(site: Site) -> None:
    """Saved at 20:30 UTC on 30 November is 09:30 on 1 December in Auckland."""
    plan_id = _save(site.client_for("ann"), "TZ-1")
    plan = site.store.get_plan(plan_id)
    site.store.delete_plan(plan_id, actor=plan.owner_id)
    evening = plan.model_copy(update={"created_at": datetime(2026, 11, 30, 20, 30, tzinfo=UTC)})
    site.store.save_plan(evening)
    clock.set_time_zone("Pacific/Auckland")
    try:
        client = site.client_for("ann")
        assert "1 Dec 2026, 09:30" in client.get("/plans").text
        assert "Saved on 1 December 2026" in client.get(f"/plans/{plan_id}").text
    finally:
        clock.set_time_zone(None)
        site.store.delete_plan(plan_id, actor=plan.owner_id)
