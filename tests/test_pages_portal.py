"""The organisation portal and the moderation queue over HTTP (no browser).

Each test gets a small SQLite store (``make_site`` takes a PostGIS URL too): two
organisations (A and B) with a listing or two each, and one user per role. Pages are
signed in with the session cookie holding a token from ``issue_token``; form posts carry
our own ``Origin`` unless the test is about forged ones. Checks read the store directly,
so a page that only *says* it saved something fails.
"""

from __future__ import annotations

import csv
import html
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from factories import LEEDS, make_asset, make_org, pick_terms, rich_asset
from starlette.datastructures import FormData

from api.app import create_app
from api.listing_form import changes_of, read_form, values_of
from api.routers import portal_pages
from api.web import SESSION_COOKIE
from geo_assets.auth import User, issue_token
from geo_assets.ingest import organisation_upload
from geo_assets.ingest.organisation_upload import organisation_source
from geo_assets.ingest.spreadsheet import write_xlsx
from geo_assets.ingest.template import COLUMN_NAMES
from geo_assets.model import Asset, utcnow
from geo_assets.settings import Settings
from geo_assets.store import AssetFilters, Store, open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OURS = {"origin": "http://testserver"}
MANNINGHAM = (53.8012, -1.7634)  # (lat, lon) degrees, in Bradford


@dataclass
class Site:
    client: TestClient
    store: Store
    tokens: dict[str, str]
    users: dict[str, User]

    def as_role(self, role: str | None) -> None:
        """Sign the client in as ``role`` (None: signed out)."""
        self.client.cookies.clear()
        if role is not None:
            self.client.cookies.set(SESSION_COOKIE, self.tokens[role])

    def all_assets(self) -> list[Asset]:
        return self.store.list_assets(AssetFilters(), per_page=1000).items


def make_site(tmp_path: Path, url: str | None = None) -> Iterator[Site]:
    """The app over a fresh store with organisations A and B, their listings and users;
    SQLite unless ``url`` names an empty database."""
    url = url or f"sqlite:///{tmp_path / 'portal.sqlite'}"
    store = open_store(url)
    store.upgrade()
    store.create_organisation(make_org(id="org-a", name="A Trust"))
    store.create_organisation(make_org(id="org-b", name="B Trust"))
    listings = [  # (id, name, organisation, status, (lat, lon) in degrees)
        ("own-live", "Allotment Club", "org-a", "published", LEEDS),
        ("own-waiting", "Knit and Natter", "org-a", "pending", (53.70, -1.40)),
        ("b-waiting", "Harmony Choir", "org-b", "pending", (53.90, -1.30)),
        ("b-live", "Walking Football", "org-b", "published", (53.60, -1.20)),
    ]
    for ident, name, org_id, status, (lat, lon) in listings:
        store.create_asset(
            make_asset(
                id=ident,
                name=name,
                organisation_id=org_id,
                status=status,
                location={"lat": lat, "lon": lon},
            )
        )
    people = {
        "organisation": User(name="Olu", role="organisation", organisation_id="org-a"),
        "other_organisation": User(name="Bea", role="organisation", organisation_id="org-b"),
        "practitioner": User(name="Pat", role="practitioner"),
        "admin": User(name="Ada", role="admin"),
    }
    users = {role: store.create_user(user) for role, user in people.items()}
    tokens = {role: issue_token(store, user.id) for role, user in users.items()}
    settings = Settings(database_url=url, rate_limit_per_minute=0)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield Site(client, store, tokens, users)
    store.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from make_site(tmp_path)


class _Elements(HTMLParser):
    """Elements by id: tag, attributes and text (text of nested elements included)."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, Any]] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if values.get("id"):
            self.by_id[values["id"]] = {"tag": tag, "attrs": values, "text": ""}
        if tag not in self.VOID:
            self._open.append((tag, values.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            if ident:
                self.by_id[ident]["text"] += data


def elements(html: str) -> dict[str, dict[str, Any]]:
    parser = _Elements()
    parser.feed(html)
    return parser.by_id


def field_error(html: str, field: str) -> str:
    """The message shown for ``field``, checked to be tied to the field itself."""
    found = elements(html)
    assert f"{field}-error" in found, f"no message for {field}"
    control = found[field]["attrs"]
    assert f"{field}-error" in control.get("aria-describedby", "").split()
    return " ".join(found[f"{field}-error"]["text"].split())


CONFIRM_HINT = "press “Still running” on each one that still runs."


def listing_count(html: str) -> str:
    """What the listings page says under its heading: how many, and how many need confirming."""
    return " ".join(elements(html)["listing-count"]["text"].split())


def listing_form(**overrides: Any) -> dict[str, Any]:
    """A valid add-listing form as a browser posts it (every select has a value)."""
    form: dict[str, Any] = {
        "action": "save",
        "name": "Tuesday Craft Circle",
        "kind": "group",
        "description": "Bring a project.",
        "category": ["social", "arts", ""],
        "address": "1 Lumb Lane",
        "postcode": "",
        "place": "",
        "lat": str(MANNINGHAM[0]),
        "lon": str(MANNINGHAM[1]),
        "session_rows": "1",
        "s0-days": ["tu", "th"],
        "s0-start": "10:00",
        "s0-end": "12:00",
        "s0-often": "weekly",
        "s0-notes": "",
        "attendance": "drop_in",
        "group_size": "",
        "companion_welcome": "yes",
        "languages": "English",
        "cost": "paid",
        "cost-amount": "2.50",
        "cost-per": "session",
        "concessions": "free for carers",
        "access": ["wheelchair", "hearing_loop"],
        "access-notes": "",
        "min_age": "18",
        "max_age": "",
        "gender": "any",
        "groups": "carers; veterans",
        "eligibility-notes": "",
        "contact-name": "Amina",
        "contact-email": "craft@example.org",
        "contact-phone": "",
        "contact-url": "https://example.org/craft",
        "version": "",
    }
    form.update(overrides)
    return form


def upload(site: Site, rows: list[dict[str, Any]], *, name: str = "sheet.csv") -> Any:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMN_NAMES)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    files = {"file": (name, out.getvalue().encode("utf-8"), "text/csv")}
    return site.client.post("/portal/upload", files=files, headers=OURS)


def sheet_row(name: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "name": name,
        "kind": "group",
        "organisation": "Someone Else Entirely",
        "categories": "knitting",
        "lat": MANNINGHAM[0],
        "lon": MANNINGHAM[1],
        "sessions": "Tuesdays 10-12",
        "cost": "free",
        "status": "published",
    }
    row.update(overrides)
    return row


# --- who may use the pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/portal", "/portal/new", "/portal/upload", "/admin"])
def test_anonymous_visitors_are_sent_to_sign_in(site: Site, path: str) -> None:
    site.as_role(None)
    response = site.client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("practitioner", "/portal"),
        ("practitioner", "/portal/new"),
        ("practitioner", "/admin"),
        ("organisation", "/admin"),
    ],
)
def test_other_roles_get_a_403_page(site: Site, role: str, path: str) -> None:
    site.as_role(role)
    response = site.client.get(path)
    assert response.status_code == 403
    assert "Not available to you" in response.text


def test_signing_in_through_the_form_lands_on_the_portal(site: Site) -> None:
    site.as_role(None)
    signed = site.client.post("/sign-in", data={"token": site.tokens["organisation"]}, headers=OURS)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/portal"
    assert site.client.get("/portal").status_code == 200


def test_an_organisation_sees_only_its_own_listings_with_badges(site: Site) -> None:
    site.as_role("organisation")
    page = site.client.get("/portal")
    assert page.status_code == 200
    assert "Allotment Club" in page.text
    assert "Knit and Natter" in page.text
    assert "Harmony Choir" not in page.text
    assert "Walking Football" not in page.text
    assert page.text.count('class="badge pending"') == 1  # Knit and Natter
    assert page.text.count('class="badge stale"') == 2  # neither was ever confirmed
    assert page.headers["cache-control"] == "no-store"


def test_admins_see_every_organisations_listings_in_the_portal(site: Site) -> None:
    site.as_role("admin")
    page = site.client.get("/portal")
    assert page.status_code == 200
    assert "Harmony Choir" in page.text and "Allotment Club" in page.text
    assert "<h1>Our listings — all organisations</h1>" in page.text
    assert listing_count(page.text) == "4 listings; 4 need confirming: " + CONFIRM_HINT


def test_the_listings_page_names_the_organisation_and_how_many_need_confirming(
    site: Site,
) -> None:
    site.as_role("organisation")
    page = site.client.get("/portal")
    assert "<title>Our listings — A Trust · geo-assets</title>" in page.text
    assert "<h1>Our listings — A Trust</h1>" in page.text
    marked = page.text.count('class="badge stale"')
    assert listing_count(page.text) == f"2 listings; {marked} need confirming: " + CONFIRM_HINT


def test_the_count_needing_confirming_is_singular_for_one_and_none_for_none(site: Site) -> None:
    site.as_role("organisation")
    site.client.post("/portal/own-live/confirm", headers=OURS)
    page = site.client.get("/portal")
    assert page.text.count('class="badge stale"') == 1
    assert listing_count(page.text) == "2 listings; 1 needs confirming: " + CONFIRM_HINT
    site.client.post("/portal/own-waiting/confirm", headers=OURS)
    page = site.client.get("/portal")
    assert 'class="badge stale"' not in page.text
    assert listing_count(page.text) == "2 listings; none need confirming."


def test_the_count_needing_confirming_covers_every_page(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal_pages, "PER_PAGE", 1)
    site.as_role("organisation")
    marked = sum(
        site.client.get(f"/portal?page={n}").text.count('class="badge stale"') for n in (1, 2)
    )
    page = site.client.get("/portal")
    assert page.text.count('class="badge stale"') == 1
    assert listing_count(page.text) == f"2 listings; {marked} need confirming: " + CONFIRM_HINT


def _names_listed(html_text: str) -> list[str]:
    """The names in the listings table, in its order."""
    return re.findall(r'<td data-label="Name">([^<]*)</td>', html_text)


def test_the_listings_that_need_confirming_can_be_listed_alone(site: Site) -> None:
    site.as_role("organisation")
    site.client.post("/portal/own-live/confirm", headers=OURS)
    everything = site.client.get("/portal")
    assert _names_listed(everything.text) == ["Allotment Club", "Knit and Natter"]
    link = elements(everything.text)["show-unconfirmed"]
    assert " ".join(link["text"].split()) == "Show only the one that needs confirming"
    assert "show-all" not in elements(everything.text)

    only = site.client.get(html.unescape(link["attrs"]["href"]))
    assert only.status_code == 200
    assert _names_listed(only.text) == ["Knit and Natter"]
    assert only.text.count('class="badge stale"') == 1
    # What it says of every listing is unchanged; a link goes back to them all.
    assert listing_count(only.text) == listing_count(everything.text)
    assert elements(only.text)["show-all"]["attrs"]["href"] == "/portal"


def test_an_admin_lists_every_organisations_listings_that_need_confirming(site: Site) -> None:
    site.as_role("admin")
    site.client.post("/portal/b-live/confirm", headers=OURS)
    only = site.client.get("/portal?needs_confirming=true")
    assert _names_listed(only.text) == ["Allotment Club", "Harmony Choir", "Knit and Natter"]
    assert listing_count(only.text) == "4 listings; 3 need confirming: " + CONFIRM_HINT


def test_confirming_from_the_short_list_returns_to_it_until_none_are_left(site: Site) -> None:
    site.as_role("organisation")
    only = site.client.get("/portal?needs_confirming=true")
    assert _names_listed(only.text) == ["Allotment Club", "Knit and Natter"]
    assert 'action="/portal/own-live/confirm?needs_confirming=true"' in only.text
    done = site.client.post("/portal/own-live/confirm?needs_confirming=true", headers=OURS)
    assert done.status_code == 303
    assert done.headers["location"] == (
        "/portal?needs_confirming=true&done=confirmed&asset=own-live"
    )
    back = site.client.get(done.headers["location"])
    assert _names_listed(back.text) == ["Knit and Natter"]
    assert "Allotment Club" in elements(back.text)["notice"]["text"]

    site.client.post("/portal/own-waiting/confirm?needs_confirming=true", headers=OURS)
    last = site.client.get("/portal?needs_confirming=true")
    assert _names_listed(last.text) == []
    assert listing_count(last.text) == "2 listings; none need confirming."
    assert "none need confirming" in elements(last.text)["all-confirmed"]["text"]
    assert "show-unconfirmed" not in elements(site.client.get("/portal").text)


def test_the_short_lists_pages_keep_to_it(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portal_pages, "PER_PAGE", 1)
    site.as_role("organisation")
    first = site.client.get("/portal?needs_confirming=true")
    assert '<a href="/portal?needs_confirming=true&amp;page=2">Next page</a>' in first.text
    second = site.client.get("/portal?needs_confirming=true&page=2")
    assert _names_listed(first.text) + _names_listed(second.text) == [
        "Allotment Club",
        "Knit and Natter",
    ]
    assert '<a href="/portal?page=2">Next page</a>' in site.client.get("/portal").text


def test_an_admin_narrows_the_list_to_one_organisation_and_it_stays_narrowed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.store.create_asset(make_asset(id="b-more", name="Bowls", organisation_id="org-b"))
    site.as_role("admin")
    page = site.client.get("/portal?needs_confirming=true&organisation=org-b")
    assert page.status_code == 200
    assert "Our listings — B Trust" in page.text
    assert _names_listed(page.text) == ["Bowls", "Harmony Choir", "Walking Football"]
    assert listing_count(page.text) == "3 listings; 3 need confirming: " + CONFIRM_HINT
    found = elements(page.text)
    assert html.unescape(found["show-all"]["attrs"]["href"]) == "/portal?organisation=org-b"
    action = "/portal/b-live/confirm?needs_confirming=true&amp;organisation=org-b"
    assert f'action="{action}"' in page.text

    done = site.client.post(html.unescape(action), headers=OURS)
    assert done.headers["location"] == (
        "/portal?needs_confirming=true&organisation=org-b&done=confirmed&asset=b-live"
    )
    back = site.client.get(done.headers["location"])
    assert _names_listed(back.text) == ["Bowls", "Harmony Choir"]

    whole = site.client.get("/portal?organisation=org-b")
    assert _names_listed(whole.text) == ["Bowls", "Harmony Choir", "Walking Football"]
    show = html.unescape(elements(whole.text)["show-unconfirmed"]["attrs"]["href"])
    assert show == "/portal?needs_confirming=true&organisation=org-b"

    monkeypatch.setattr(portal_pages, "PER_PAGE", 1)
    first = site.client.get("/portal?needs_confirming=true&organisation=org-b")
    assert "/portal?needs_confirming=true&amp;organisation=org-b&amp;page=2" in first.text


def test_an_organisation_cannot_list_another_organisations_listings(site: Site) -> None:
    site.as_role("organisation")
    for query in ("organisation=org-b", "needs_confirming=true&organisation=org-b"):
        page = site.client.get(f"/portal?{query}")
        assert page.status_code == 403
        assert "Harmony Choir" not in page.text and "Walking Football" not in page.text
    own = site.client.get("/portal?organisation=org-a")
    assert _names_listed(own.text) == ["Allotment Club", "Knit and Natter"]


def test_an_unknown_organisation_is_not_found(site: Site) -> None:
    site.as_role("admin")
    page = site.client.get("/portal?organisation=org-nowhere")
    assert page.status_code == 404
    assert "There is no such organisation." in page.text


def test_a_listing_near_a_lookalike_wears_the_possible_duplicate_badge(site: Site) -> None:
    site.store.create_asset(
        make_asset(id="own-copy", name="The Allotment Club", organisation_id="org-a")
    )
    site.as_role("organisation")
    page = site.client.get("/portal")
    assert page.text.count('class="badge duplicate"') == 2
    assert "Looks like “Allotment Club”" in page.text


def test_a_listing_pinned_at_an_areas_centre_says_so(site: Site) -> None:
    """So the organisation knows to move the pin to where the activity meets."""
    centre = {"lat": 53.80, "lon": -1.77, "place": "Manningham", "precision": "area"}
    site.store.create_asset(
        make_asset(id="rough", name="Manningham Chess", organisation_id="org-a", location=centre)
    )
    site.as_role("organisation")
    page = html.unescape(site.client.get("/portal").text)
    assert page.count('class="badge rough"') == 1
    row = page[page.index("Manningham Chess") :]
    assert row.index("Pin at the area's centre") < row.index("</tr>")


# --- forged posts ---------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [None, "http://evil.example"])
def test_posts_from_another_site_are_refused_and_change_nothing(
    site: Site, origin: str | None
) -> None:
    headers = {} if origin is None else {"origin": origin}
    site.as_role("organisation")
    confirm = site.client.post("/portal/own-live/confirm", headers=headers)
    created = site.client.post("/portal/new", data=listing_form(), headers=headers)
    site.as_role("admin")
    published = site.client.post("/admin/b-waiting/publish", headers=headers)
    archived = site.client.post("/admin/b-live/archive", headers=headers)
    for response in (confirm, created, published, archived):
        assert response.status_code == 403
        assert "Form refused" in response.text
    assert site.store.get_asset("own-live").last_verified_at is None
    assert site.store.get_asset("b-waiting").status == "pending"
    assert site.store.get_asset("b-live").status == "published"
    assert len(site.all_assets()) == 4


# --- add and edit ---------------------------------------------------------------------------


def test_a_new_listing_is_saved_pending_under_the_organisation(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(status="published", organisation_id="org-b")  # both ignored
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    new_id = response.headers["location"].rsplit("asset=", 1)[1]
    asset = site.store.get_asset(new_id)
    assert asset.status == "pending"
    assert asset.organisation_id == "org-a"
    assert asset.name == "Tuesday Craft Circle"
    assert asset.categories == ["social", "arts"]
    assert asset.point == pytest.approx(MANNINGHAM)
    session = asset.sessions[0]
    assert (session.weekdays, f"{session.start:%H:%M}", f"{session.end:%H:%M}") == (
        ["tu", "th"],
        "10:00",
        "12:00",
    )
    assert session.frequency == "weekly"
    assert (asset.cost.amount, asset.cost.per) == (2.5, "session")
    assert asset.accessibility.features == ["hearing_loop", "wheelchair"]
    assert (asset.eligibility.min_age, asset.eligibility.groups) == (18, ["carers", "veterans"])
    assert asset.contact.email == "craft@example.org"
    # Adding it vouches that it runs: confirmed now, so not flagged stale at once.
    assert asset.last_verified_at is not None
    assert (utcnow() - asset.last_verified_at).total_seconds() < 60
    listed = site.client.get(response.headers["location"])
    assert "“Tuesday Craft Circle” is saved" in listed.text
    audit = site.store.list_audit(new_id).items
    assert audit and audit[0].actor == site.users["organisation"].id


def test_a_listing_says_its_languages_group_size_and_what_it_is_good_for(site: Site) -> None:
    """What practitioners search by: the person's languages, a small group, bringing a
    supporter, the kind of connection."""
    site.as_role("organisation")
    form = listing_form(
        languages="English, urdu and Polish",
        group_size="8",
        companion_welcome="",  # unticked: not sent
        connection_types=["interest", "local", "bogus"],
    )
    form.pop("companion_welcome")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    asset = site.store.get_asset(response.headers["location"].rsplit("asset=", 1)[1])
    assert asset.languages == ["en", "ur", "pl"]
    assert asset.group_size == 8
    assert asset.companion_welcome is False
    assert asset.connection_types == ["local", "interest"]
    found = elements(site.client.get(f"/portal/{asset.id}/edit").text)
    assert found["languages"]["attrs"]["value"] == "English, Urdu, Polish"
    assert found["group_size"]["attrs"]["value"] == "8"
    assert "checked" not in found["companion_welcome"]["attrs"]
    assert "checked" in found["connection-local"]["attrs"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [("English, Klingon", "'Klingon' is not a language we know"), (" ", "Say which languages")],
)
def test_a_language_the_form_cannot_read_is_named_beside_it(
    site: Site, typed: str, message: str
) -> None:
    site.as_role("organisation")
    response = site.client.post("/portal/new", data=listing_form(languages=typed), headers=OURS)
    assert response.status_code == 422
    assert message in field_error(response.text, "languages")
    assert len(site.all_assets()) == 4


def test_a_place_name_sets_the_location_when_no_point_was_chosen(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(lat="", lon="", place="Manningham")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    asset = site.store.get_asset(response.headers["location"].rsplit("asset=", 1)[1])
    assert asset.location.lat == pytest.approx(53.80, abs=0.02)
    assert asset.location.lon == pytest.approx(-1.77, abs=0.02)
    assert asset.location.precision == "area"  # the place's centre, not where it meets


HIDDEN_PRECISION = re.compile(r'<input type="hidden" name="(precision(?:_at)?)" value="([^"]*)"')


def _hidden(page: str) -> dict[str, str]:
    return dict(HIDDEN_PRECISION.findall(page))


@pytest.mark.parametrize("moved", [False, True])
def test_a_point_found_by_place_stays_approximate_until_it_is_moved(site: Site, moved) -> None:
    """ "Find" then "Save" keeps what the lookup found; a point moved after it (typed, or
    picked on the map) is where the activity is."""
    site.as_role("organisation")
    found = site.client.post(
        "/portal/new",
        data=listing_form(action="locate", lat="", lon="", place="Manningham"),
        headers=OURS,
    )
    hidden = _hidden(found.text)
    assert hidden["precision"] == "area"
    lat, lon = hidden["precision_at"].split(",")
    if moved:
        lat = f"{float(lat) + 0.001:.6f}"
    form = listing_form(lat=lat, lon=lon, place="Manningham", **hidden)
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    asset = site.store.get_asset(response.headers["location"].rsplit("asset=", 1)[1])
    assert asset.location.precision == ("point" if moved else "area")


def test_the_find_button_fills_the_point_without_saving(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(action="locate", lat="", lon="", place="Manningham")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 200
    found = elements(response.text)
    assert float(found["lat"]["attrs"]["value"]) == pytest.approx(53.80, abs=0.02)
    assert "Found Manningham" in found["notice"]["text"]
    assert len(site.all_assets()) == 4


def test_an_unknown_place_is_reported_next_to_its_field(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(lat="", lon="", place="Nowhere In Particular Xyzzy")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 422
    assert "was not found" in field_error(response.text, "place")
    assert len(site.all_assets()) == 4


def test_invalid_fields_come_back_with_their_messages_and_nothing_is_stored(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(
        name="",
        **{"s0-start": "13:00", "s0-end": "12:00", "contact-email": "not-an-address"},
        category=["", "", ""],
        lat="95",
    )
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 422
    assert field_error(response.text, "name") == "Enter the name of the activity"
    assert "must be after start" in field_error(response.text, "s0-end")
    assert "email address" in field_error(response.text, "contact-email")
    assert "at least one category" in field_error(response.text, "category-1")
    assert "less than or equal to 90" in field_error(response.text, "lat")
    found = elements(response.text)
    assert "There is a problem" in found["error-summary"]["text"]
    assert found["contact-email"]["attrs"]["value"] == "not-an-address"  # kept as typed
    assert len(site.all_assets()) == 4


def test_a_session_without_days_is_refused(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(**{"s0-days": []})
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 422
    assert "Choose the day" in elements(response.text)["s0-days-error"]["text"]
    assert len(site.all_assets()) == 4


def test_add_another_session_shows_one_more_row(site: Site) -> None:
    site.as_role("organisation")
    form = listing_form(action="add_session")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 200
    found = elements(response.text)
    assert "s1-day-mo" in found and "s1-start" in found
    assert found["s0-start"]["attrs"]["value"] == "10:00"
    assert len(site.all_assets()) == 4


def test_editing_keeps_the_status_and_records_the_change(site: Site) -> None:
    """On a listing awaiting approval every change is made at once (the moderator has yet
    to check any of it); a published one's are in the tests of held changes below."""
    site.as_role("organisation")
    page = site.client.get("/portal/own-waiting/edit")
    assert page.status_code == 200
    found = elements(page.text)
    assert found["name"]["attrs"]["value"] == "Knit and Natter"
    assert "held-notice" not in found
    version = site.store.get_asset("own-waiting").version
    assert found["listing-form"]["attrs"]["action"] == "/portal/own-waiting/edit"
    form = listing_form(name="Knit and Natter (Tuesdays)", version=str(version))
    response = site.client.post("/portal/own-waiting/edit", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal?done=saved&asset=own-waiting"
    after = site.store.get_asset("own-waiting")
    assert after.name == "Knit and Natter (Tuesdays)"
    assert after.status == "pending"
    assert after.version == version + 1
    assert site.store.get_held_changes("own-waiting") is None
    assert site.store.list_audit("own-waiting").items[-1].actor == site.users["organisation"].id


def test_an_edit_of_a_listing_changed_meanwhile_is_refused_with_409(site: Site) -> None:
    site.as_role("organisation")
    stale_version = site.store.get_asset("own-live").version
    site.store.update_asset("own-live", {"description": "changed elsewhere"})
    form = listing_form(name="Lost update", version=str(stale_version))
    response = site.client.post("/portal/own-live/edit", data=form, headers=OURS)
    assert response.status_code == 409
    assert "Someone changed this listing" in response.text
    assert site.store.get_asset("own-live").name == "Allotment Club"


def test_another_organisations_listings_cannot_be_edited(site: Site) -> None:
    site.as_role("organisation")
    assert site.client.get("/portal/b-waiting/edit").status_code == 404  # unpublished: unseen
    assert site.client.get("/portal/b-live/edit").status_code == 403
    form = listing_form(name="Taken over", version="1")
    assert site.client.post("/portal/b-live/edit", data=form, headers=OURS).status_code == 403
    assert site.store.get_asset("b-live").name == "Walking Football"


def test_a_stay_and_play_listing_says_children_come_with_a_parent_or_carer(site: Site) -> None:
    site.as_role("organisation")
    stay_and_play = {"name": "Stay and Play", "min_age": "0", "max_age": "5", "groups": ""}
    form = listing_form(**stay_and_play, with_carers="yes")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    new_id = response.headers["location"].rsplit("asset=", 1)[1]
    asset = site.store.get_asset(new_id)
    assert asset.eligibility.with_carers is True
    assert (asset.eligibility.min_age, asset.eligibility.max_age) == (0, 5)
    box = elements(site.client.get(f"/portal/{new_id}/edit").text)["with_carers"]["attrs"]
    assert (box["type"], box["value"], "checked" in box) == ("checkbox", "yes", True)
    shown = elements(site.client.get(f"/listings/{new_id}").text)["who"]["text"]
    assert shown == "Children aged 0–5, with a parent or carer"
    # An unticked box is not sent at all: saving without it clears it.
    form = listing_form(**stay_and_play, version=str(asset.version))
    assert site.client.post(f"/portal/{new_id}/edit", data=form, headers=OURS).status_code == 303
    assert site.store.get_asset(new_id).eligibility.with_carers is False
    box = elements(site.client.get(f"/portal/{new_id}/edit").text)["with_carers"]["attrs"]
    assert "checked" not in box
    shown = elements(site.client.get(f"/listings/{new_id}").text)["who"]["text"]
    assert shown == "Aged 0–5"


def test_a_group_for_dads_with_their_children_says_so_once(site: Site) -> None:
    site.as_role("organisation")
    dads = {"name": "Dads and Kids", "min_age": "0", "max_age": "11"}
    form = listing_form(**dads, groups="dads and male carers", with_carers="yes")
    response = site.client.post("/portal/new", data=form, headers=OURS)
    assert response.status_code == 303, response.text
    new_id = response.headers["location"].rsplit("asset=", 1)[1]
    shown = elements(site.client.get(f"/listings/{new_id}").text)["who"]["text"]
    assert shown == "Dads and male carers, bringing children aged 0–11"


def test_the_form_offers_men_only_and_saves_it(site: Site) -> None:
    site.as_role("organisation")
    page = site.client.get("/portal/new").text
    select = page[
        page.index('<select id="gender"') : page.index("</select>", page.index('id="gender"'))
    ]
    assert re.findall(r'<option value="(\w+)"', select) == ["any", "women", "men"]
    response = site.client.post("/portal/new", data=listing_form(gender="men"), headers=OURS)
    assert response.status_code == 303, response.text
    asset = site.store.get_asset(response.headers["location"].rsplit("asset=", 1)[1])
    assert asset.eligibility.gender == "men"
    shown = elements(site.client.get(f"/listings/{asset.id}").text)["who"]["text"]
    assert shown == "Men only; aged 18 and over; for carers, veterans"


def _posted(values: dict[str, Any]) -> FormData:
    """The form a browser would post for ``values`` (what the edit page shows)."""
    items: list[tuple[str, Any]] = [("session_rows", str(len(values["sessions"])))]
    for i, session in enumerate(values["sessions"]):
        items += [(f"s{i}-days", day) for day in session["days"]]
        items += [(f"s{i}-{part}", session[part]) for part in ("start", "end", "often", "notes")]
        items += [(f"s{i}-{key}", day) for key, day in session["keep"].items()]
    for name, value in values.items():
        if isinstance(value, list) and name != "sessions":
            items += [(name, item) for item in value]
        elif isinstance(value, str):
            items.append((name, value))
        elif value is True:  # a ticked box; an unticked one is not sent
            items.append((name, "yes"))
    return FormData(items)


@pytest.mark.parametrize("with_carers", [False, True])
def test_saving_an_edit_form_unchanged_keeps_every_field(with_carers: bool) -> None:
    terms = pick_terms().all_ids
    asset = rich_asset(categories=[terms[0], terms[5], terms[9], terms[12]])  # 4: one more
    asset = asset.model_copy(
        update={"eligibility": asset.eligibility.model_copy(update={"with_carers": with_carers})}
    )
    check = changes_of(read_form(_posted(values_of(asset))), asset)
    assert check.errors == {}
    assert check.asset is not None
    assert check.asset.model_dump() == asset.model_dump()


# --- changes held for review ----------------------------------------------------------------


class _FormFields(HTMLParser):
    """What a browser posts from the page's listing form: each field's value as shown,
    ticked boxes only, each select's chosen option (else its first)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def _add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = a.get("id") == "listing-form"
        elif not self._in_form:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._add(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select:
            chosen = [value for value, selected in self._options if selected]
            self._add(self._select, (chosen or [v for v, _ in self._options] or [""])[0])
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._add(self._textarea, self._text)
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def opened_form(site: Site, asset_id: str) -> dict[str, list[str]]:
    """The edit form of ``asset_id`` as its page fills it in, ready to post with "Save"."""
    page = site.client.get(f"/portal/{asset_id}/edit")
    assert page.status_code == 200, page.text
    parser = _FormFields()
    parser.feed(page.text)
    return parser.fields | {"action": ["save"]}


def save_form(site: Site, asset_id: str, form: dict[str, list[str]]) -> Any:
    return site.client.post(f"/portal/{asset_id}/edit", data=form, headers=OURS)


def said(html_text: str, element_id: str) -> str:
    """The text of the element with ``element_id``, whitespace folded."""
    return " ".join(elements(html_text)[element_id]["text"].split())


HELD_NOTICE = (
    "Your changes to “Allotment Club” are saved. Changes to its name wait for a moderator "
    "to check them: until then, the listing keeps the version a moderator checked."
)


def test_a_new_name_for_a_published_listing_waits_for_a_moderator(site: Site) -> None:
    site.as_role("organisation")
    form = opened_form(site, "own-live")
    version = site.store.get_asset("own-live").version
    response = save_form(site, "own-live", form | {"name": ["Allotment Club (Tuesdays)"]})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal?done=held&asset=own-live"
    stored = site.store.get_asset("own-live")
    assert (stored.name, stored.status) == ("Allotment Club", "published")
    held = site.store.get_held_changes("own-live")
    assert held is not None
    # Only what the organisation changed is proposed, though the form sends every field.
    assert held.changes == {"name": "Allotment Club (Tuesdays)"}
    assert (held.proposed_by, held.revision) == (site.users["organisation"].id, 1)
    (audit,) = [e for e in site.store.list_audit("own-live").items if e.action == "propose"]
    assert audit.actor == site.users["organisation"].id
    assert audit.changes["proposed"] == ["name"]
    # What practitioners and the public see is still the checked listing.
    site.as_role(None)
    public = site.client.get("/listings/own-live")
    assert public.status_code == 200
    assert "<h1>Allotment Club</h1>" in public.text
    assert "Allotment Club (Tuesdays)" not in public.text
    # The organisation is told, in words, what waits and what shows meanwhile.
    site.as_role("organisation")
    listings = site.client.get(response.headers["location"])
    assert said(listings.text, "notice") == HELD_NOTICE
    row = listings.text[listings.text.index(">Allotment Club<") :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge held">Changes awaiting review</span>' in row
    assert "Changes to its name wait for a moderator" in row
    other = listings.text[listings.text.index(">Knit and Natter<") :]
    assert "Changes awaiting review" not in other[: other.index("</tr>")]
    assert site.store.get_asset("own-live").version == version + 1  # the rest was saved


def test_the_form_shows_the_proposal_so_saving_again_keeps_it(site: Site) -> None:
    site.as_role("organisation")
    form = opened_form(site, "own-live")
    save_form(site, "own-live", form | {"name": ["Allotment Club (Tuesdays)"]})
    page = site.client.get("/portal/own-live/edit")
    found = elements(page.text)
    assert found["name"]["attrs"]["value"] == "Allotment Club (Tuesdays)"
    notice = said(page.text, "held-notice")
    assert notice.startswith("Changes awaiting review. Your changes to its name wait for a")
    assert "the listing keeps the version a moderator checked" in notice
    # Saved again as shown, with a new contact too: the name stays proposed, one revision on.
    form = opened_form(site, "own-live")
    assert form["held_revision"] == ["1"]
    response = save_form(site, "own-live", form | {"contact-phone": ["0113 496 0001"]})
    assert response.headers["location"] == "/portal?done=held&asset=own-live"
    held = site.store.get_held_changes("own-live")
    assert held is not None and held.fields() == ["name", "contact"]
    assert held.changes["name"] == "Allotment Club (Tuesdays)"
    assert held.changes["contact"]["phone"] == "0113 496 0001"
    listed = site.client.get(response.headers["location"])
    assert "Changes to its name and contact details wait" in said(listed.text, "notice")
    assert site.store.get_asset("own-live").name == "Allotment Club"
    # Putting the published values back takes the proposals back.
    form = opened_form(site, "own-live")
    assert form["held_revision"] == ["2"]
    form |= {"name": ["Allotment Club"], "contact-phone": [""]}
    response = save_form(site, "own-live", form)
    assert response.headers["location"] == "/portal?done=saved&asset=own-live"
    assert site.store.get_held_changes("own-live") is None
    assert "held-notice" not in elements(site.client.get("/portal/own-live/edit").text)


def test_a_session_change_to_a_published_listing_goes_live_at_once(site: Site) -> None:
    site.as_role("organisation")
    form = opened_form(site, "own-live")
    form |= {"s0-days": ["we"], "s0-start": ["18:00"], "s0-end": ["19:30"], "concessions": ["Free"]}
    response = save_form(site, "own-live", form)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal?done=saved&asset=own-live"
    stored = site.store.get_asset("own-live")
    session = stored.sessions[0]
    assert (session.weekdays, f"{session.start:%H:%M}") == (["we"], "18:00")
    assert stored.cost.concessions == "Free"
    assert site.store.get_held_changes("own-live") is None
    listed = site.client.get(response.headers["location"])
    assert said(listed.text, "notice") == "Your changes to “Allotment Club” are saved."
    assert "Changes awaiting review" not in listed.text


def test_a_session_change_goes_live_while_a_new_name_waits(site: Site) -> None:
    site.as_role("organisation")
    form = opened_form(site, "own-live")
    form |= {"name": ["Allotment Club (Evenings)"], "s0-days": ["fr"], "s0-start": ["18:00"]}
    form |= {"s0-end": ["20:00"]}
    assert save_form(site, "own-live", form).status_code == 303
    stored = site.store.get_asset("own-live")
    assert (stored.name, stored.sessions[0].weekdays) == ("Allotment Club", ["fr"])
    held = site.store.get_held_changes("own-live")
    assert held is not None and held.changes == {"name": "Allotment Club (Evenings)"}


def test_an_admin_editing_in_the_portal_is_never_held(site: Site) -> None:
    site.store.update_asset(
        "own-live", {}, actor=site.users["organisation"].id, hold={"name": "Proposed name"}
    )
    site.as_role("admin")
    page = site.client.get("/portal/own-live/edit")
    found = elements(page.text)
    assert found["name"]["attrs"]["value"] == "Allotment Club"  # the published listing
    notice = said(page.text, "held-notice")
    assert "The organisation has proposed changes to its name" in notice
    assert 'href="/admin#held-heading"' in page.text
    form = opened_form(site, "own-live") | {"description": ["Checked by the council."]}
    response = save_form(site, "own-live", form | {"contact-email": ["plots@example.org"]})
    assert response.headers["location"] == "/portal?done=saved&asset=own-live"
    stored = site.store.get_asset("own-live")
    assert (stored.description, stored.contact.email) == (
        "Checked by the council.",
        "plots@example.org",
    )
    held = site.store.get_held_changes("own-live")  # the organisation's proposal still waits
    assert held is not None and held.changes == {"name": "Proposed name"}


@pytest.mark.parametrize("meanwhile", ["proposed", "rejected"])
def test_a_form_opened_before_the_held_changes_changed_is_refused_with_409(
    site: Site, meanwhile: str
) -> None:
    """A proposal alone leaves the listing's version as it is; saving a form opened before
    it would take it back unseen (or, after a rejection, propose it again)."""
    org_user = site.users["organisation"].id
    if meanwhile == "rejected":
        site.store.update_asset("own-live", {}, actor=org_user, hold={"name": "First idea"})
    site.as_role("organisation")
    form = opened_form(site, "own-live")
    if meanwhile == "proposed":
        site.store.update_asset("own-live", {}, actor=org_user, hold={"name": "Colleague's name"})
    else:
        site.store.resolve_held_changes("own-live", approve=False, revision=1)
    response = save_form(site, "own-live", form | {"concessions": ["Free for carers"]})
    assert response.status_code == 409
    assert "Someone changed this listing after you opened it" in response.text
    stored = site.store.get_asset("own-live")
    assert (stored.name, stored.cost.concessions) == ("Allotment Club", None)
    held = site.store.get_held_changes("own-live")
    assert (held.changes if held else None) == (
        {"name": "Colleague's name"} if meanwhile == "proposed" else None
    )


# --- still running --------------------------------------------------------------------------


def test_still_running_sets_last_verified_at_and_says_so(site: Site) -> None:
    site.as_role("organisation")
    before = utcnow()
    response = site.client.post("/portal/own-live/confirm", headers=OURS)
    assert response.status_code == 303
    verified = site.store.get_asset("own-live").last_verified_at
    assert verified is not None and before - timedelta(seconds=1) <= verified <= utcnow()
    assert site.store.list_audit("own-live").items[-1].actor == site.users["organisation"].id
    page = site.client.get(response.headers["location"])
    assert "“Allotment Club” is confirmed as still running" in page.text
    assert page.text.count('class="badge stale"') == 1  # only the unconfirmed one now


def test_still_running_is_refused_for_another_organisations_listing(site: Site) -> None:
    site.as_role("organisation")
    response = site.client.post("/portal/b-live/confirm", headers=OURS)
    assert response.status_code == 403
    assert site.store.get_asset("b-live").last_verified_at is None


# --- spreadsheet upload ---------------------------------------------------------------------


def test_an_upload_with_a_bad_row_names_the_row_and_saves_nothing(site: Site) -> None:
    site.as_role("organisation")
    rows = [sheet_row("Good Row Group"), sheet_row("Bad Row Group", lat="north-ish")]
    response = upload(site, rows)
    assert response.status_code == 422
    # The header is row 1, so the second data row is row 3.
    assert '<td data-label="Row">3</td><td data-label="Column">lat</td>' in response.text
    assert "not a number" in elements(response.text)["problems"]["text"]
    assert "Nothing was saved" in response.text
    assert len(site.all_assets()) == 4


def test_a_good_upload_creates_pending_listings_for_this_organisation_only(site: Site) -> None:
    site.as_role("organisation")
    organisations_before = site.store.list_organisations().total
    response = upload(site, [sheet_row("Upload One"), sheet_row("Upload Two")])
    assert response.status_code == 200, response.text
    assert "2 new listings" in response.text
    made = [a for a in site.all_assets() if a.name.startswith("Upload")]
    assert len(made) == 2
    assert {a.status for a in made} == {"pending"}
    assert {a.organisation_id for a in made} == {"org-a"}
    assert {a.source for a in made} == {organisation_source("org-a")}
    assert site.store.list_organisations().total == organisations_before
    assert "organisation` column is ignored" in response.text

    again = upload(site, [sheet_row("Upload One"), sheet_row("Upload Two")])
    assert again.status_code == 200
    assert "0 new listings and\n    2 updated" in again.text
    assert len(site.all_assets()) == 6


def test_an_upload_says_who_can_come_with_men_only_and_with_carers(site: Site) -> None:
    site.as_role("organisation")
    page = site.client.get("/portal/upload").text  # the column help comes from COLUMNS
    assert "<code>men_only</code>" in page and "<code>with_carers</code>" in page
    assert "(parent and toddler, stay and play)" in page
    play = sheet_row("Stay and Play", min_age="0", max_age="5", with_carers="yes")
    mixed = sheet_row("Mixed Up", women_only="yes", men_only="yes")
    refused = upload(site, [play, mixed])
    assert refused.status_code == 422
    row = '<td data-label="Row">3</td><td data-label="Column">women_only, men_only</td>'
    assert row in refused.text
    assert len(site.all_assets()) == 4, "one bad row: nothing saved"
    saved = upload(site, [play, sheet_row("Men's Shed", men_only="yes")])
    assert saved.status_code == 200, saved.text
    made = {a.name: a.eligibility for a in site.all_assets()}
    assert made["Stay and Play"].with_carers and made["Stay and Play"].gender == "any"
    assert made["Men's Shed"].gender == "men" and not made["Men's Shed"].with_carers


def test_an_upload_row_without_lat_lon_is_placed_by_its_postcode(site: Site) -> None:
    site.as_role("organisation")
    site.store.upsert_postcodes([("BD8 7QU", 53.8012, -1.7634)])
    rows = [sheet_row("Placed By Postcode", lat="", lon="", postcode="bd8 7qu")]
    response = upload(site, rows)
    assert response.status_code == 200, response.text
    assert "placed at their postcode" in response.text
    (made,) = [a for a in site.all_assets() if a.name == "Placed By Postcode"]
    location = made.location
    assert (location.lat, location.lon, location.precision) == (53.8012, -1.7634, "postcode")
    unknown = upload(site, [sheet_row("Nowhere Group", lat="", lon="", postcode="BD9 9ZZ")])
    assert unknown.status_code == 422
    assert '<td data-label="Column">postcode</td>' in unknown.text
    assert not [a for a in site.all_assets() if a.name == "Nowhere Group"]


def test_a_reupload_keeps_a_published_listings_status(site: Site) -> None:
    """...and holds its new description for review, as the form does."""
    site.as_role("organisation")
    upload(site, [sheet_row("Upload One", source_id="u-1")])
    made = next(a for a in site.all_assets() if a.name == "Upload One")
    site.store.update_asset(made.id, {"status": "published"})
    again = upload(
        site, [sheet_row("Upload One", source_id="u-1", description="new words", cost="2.50")]
    )
    after = site.store.get_asset(made.id)
    assert (after.status, after.description) == ("published", made.description)
    assert after.cost.amount == 2.5  # the rest went live
    held = site.store.get_held_changes(made.id)
    assert held is not None and held.changes == {"description": "new words"}
    assert (
        "changes to the description of 1 listing a moderator checked wait for a moderator; "
        "it keeps its checked version until then"
    ) in html.unescape(again.text)
    # Only what the row changed was proposed, and so audited.
    proposed = [e for e in site.store.list_audit(made.id).items if e.action == "propose"]
    assert [e.changes["proposed"] for e in proposed] == [["description"]]
    # The same sheet again proposes nothing new; the published words take the change back.
    upload(site, [sheet_row("Upload One", source_id="u-1", description="new words")])
    assert site.store.get_held_changes(made.id) == held
    upload(site, [sheet_row("Upload One", source_id="u-1", description=made.description)])
    assert site.store.get_held_changes(made.id) is None


def test_organisations_sharing_a_row_reference_do_not_overwrite_each_other(site: Site) -> None:
    site.as_role("organisation")
    upload(site, [sheet_row("A's Group", source_id="row-1")])
    site.as_role("other_organisation")
    upload(site, [sheet_row("B's Group", source_id="row-1")])
    names = {a.name: a.organisation_id for a in site.all_assets()}
    assert names["A's Group"] == "org-a"
    assert names["B's Group"] == "org-b"


def test_an_excel_upload_is_read_as_a_workbook(site: Site, tmp_path: Path) -> None:
    book = tmp_path / "sheet.xlsx"
    write_xlsx(book, [sheet_row("Workbook Group")])
    site.as_role("organisation")
    files = {"file": ("activities.xlsx", book.read_bytes(), "application/octet-stream")}
    response = site.client.post("/portal/upload", files=files, headers=OURS)
    assert response.status_code == 200, response.text
    made = [a for a in site.all_assets() if a.name == "Workbook Group"]
    assert [(a.organisation_id, a.status) for a in made] == [("org-a", "pending")]


def test_an_upload_of_another_kind_of_file_is_refused(site: Site) -> None:
    site.as_role("organisation")
    files = {"file": ("notes.txt", b"hello", "text/plain")}
    response = site.client.post("/portal/upload", files=files, headers=OURS)
    assert response.status_code == 422
    assert "is not a .csv or .xlsx file" in response.text
    empty = site.client.post("/portal/upload", headers=OURS, files={"file": ("a.csv", b"")})
    assert empty.status_code == 422
    assert "Choose a CSV or Excel file" in empty.text


def test_the_blank_templates_download(site: Site) -> None:
    site.as_role("organisation")
    blank = site.client.get("/portal/template.csv")
    assert blank.status_code == 200
    header = next(csv.reader(io.StringIO(blank.content.decode("utf-8-sig"))))
    assert tuple(header) == COLUMN_NAMES
    workbook = site.client.get("/portal/template.xlsx")
    assert workbook.status_code == 200 and workbook.content.startswith(b"PK")


def test_what_waits_on_another_organisations_listing_is_not_shown(site: Site) -> None:
    site.store.update_asset("b-live", {}, actor="someone", hold={"name": "Walking Netball"})
    site.as_role("organisation")  # org-a
    page = site.client.get("/portal?done=held&asset=b-live")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Changes to its name" not in text and "Walking Netball" not in text


def test_a_reupload_keeps_what_the_template_cannot_say(site: Site) -> None:
    site.as_role("organisation")
    upload(site, [sheet_row("Park Run Club", source_id="u-2")])
    made = next(a for a in site.all_assets() if a.name == "Park Run Club")
    grounds = {
        "type": "Polygon",
        "coordinates": [[[-1.5, 53.8], [-1.49, 53.8], [-1.5, 53.81], [-1.5, 53.8]]],
    }
    location = made.location.model_dump(mode="json") | {"footprint": grounds}
    site.store.update_asset(
        made.id, {"status": "published", "venue_id": "own-live", "location": location}
    )
    eligibility = made.eligibility.model_dump(mode="json") | {"notes": "Runners of any pace"}
    sessions = [s.model_dump(mode="json") | {"notes": "Meet at the gate"} for s in made.sessions]
    site.store.update_asset(made.id, {"eligibility": eligibility, "sessions": sessions})
    upload(site, [sheet_row("Park Run Club", source_id="u-2", cost="3")])
    after = site.store.get_asset(made.id)
    assert after.venue_id == "own-live" and after.location.footprint == grounds
    assert after.eligibility.notes == "Runners of any pace"
    assert [s.notes for s in after.sessions] == ["Meet at the gate"] * len(made.sessions)
    assert after.merged_from == made.merged_from
    assert after.cost.amount == 3
    assert site.store.get_held_changes(made.id) is None  # nothing was proposed
    # Moved elsewhere, it is no longer at that venue, nor on those grounds: that waits.
    upload(site, [sheet_row("Park Run Club", source_id="u-2", cost="3", lat="53.7", lon="-1.6")])
    held = site.store.get_held_changes(made.id)
    assert held is not None and held.changes["venue_id"] is None
    assert held.changes["location"]["footprint"] is None


def test_an_upload_refuses_a_listing_a_moderator_changed_while_it_was_read(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.as_role("organisation")
    upload(site, [sheet_row("Upload Two", source_id="u-3")])
    made = next(a for a in site.all_assets() if a.name == "Upload Two")
    site.store.update_asset(made.id, {"status": "published"})
    decide = organisation_upload._for_organisation

    def decide_then_moderator_edits(*args: Any, **kwargs: Any) -> Any:
        feed = decide(*args, **kwargs)
        site.store.update_asset(made.id, {"description": "Moderated words"}, actor="admin")
        return feed

    monkeypatch.setattr(organisation_upload, "_for_organisation", decide_then_moderator_edits)
    response = upload(site, [sheet_row("Upload Two", source_id="u-3", description="Mine")])
    assert response.status_code == 409
    assert "Someone changed one of these listings" in html.unescape(response.text)
    after = site.store.get_asset(made.id)
    assert (after.description, after.status) == ("Moderated words", "published")
    assert site.store.get_held_changes(made.id) is None


def test_an_untouched_description_of_several_lines_is_not_proposed(site: Site) -> None:
    """Browsers send a text box's line breaks as CR LF: the stored description (LF) must
    not look changed, or each save would propose it for review again."""
    site.store.update_asset("own-live", {"description": "Plots to share.\nTea on Sundays."})
    site.as_role("organisation")
    form = opened_form(site, "own-live")
    form["description"] = [form["description"][0].replace("\n", "\r\n")]
    assert "\r\n" in form["description"][0]
    form["name"] = ["Allotment Club (Tuesdays)"]
    assert save_form(site, "own-live", form).status_code == 303
    held = site.store.get_held_changes("own-live")
    assert held is not None and held.fields() == ["name"]


def test_the_ignored_organisation_column_does_not_key_an_uploaded_row(site: Site) -> None:
    """ "Knit Club" under "A Trust", then "", then "A Trust Ltd" made three listings: the
    column nobody reads still made each row's key."""
    site.as_role("organisation")
    for i, organisation in enumerate(["A Trust", "", "A Trust Ltd"]):
        response = upload(site, [sheet_row("Knit Club", organisation=organisation)])
        assert response.status_code == 200, response.text
        assert ("1 new listing" if i == 0 else "1 updated") in response.text
    (made,) = [a for a in site.all_assets() if a.name == "Knit Club"]
    assert (made.organisation_id, made.source_id) == ("org-a", "/knit-club/")


def test_a_listing_an_older_upload_keyed_with_the_organisation_is_still_updated(
    site: Site,
) -> None:
    old = make_asset(
        name="Knit Club",
        organisation_id="org-a",
        source=organisation_source("org-a"),
        source_id="someone-else-entirely/knit-club/",
        status="pending",
    )
    site.store.create_asset(old)
    site.as_role("organisation")
    response = upload(site, [sheet_row("Knit Club", organisation="A Trust", cost="£2")])
    assert response.status_code == 200, response.text
    (made,) = [a for a in site.all_assets() if a.name == "Knit Club"]
    assert (made.id, made.source_id, made.cost.amount) == (old.id, old.source_id, 2.0)


def test_an_admins_upload_lists_rows_under_the_stored_organisation_they_name(
    site: Site,
) -> None:
    """The organisations the site made have ids of their own, not the one an import makes
    from the name, so a row naming "A Trust" made a second "A Trust"."""
    site.as_role("admin")
    before = site.store.list_organisations().total
    response = upload(
        site,
        [
            sheet_row("Harvest Supper", organisation="a  trust"),
            sheet_row("Choir Night", organisation="C Trust"),
        ],
    )
    assert response.status_code == 200, response.text
    made = {a.name: a.organisation_id for a in site.all_assets()}
    assert made["Harvest Supper"] == "org-a"
    assert made["Choir Night"] not in ("org-a", "org-b")
    assert site.store.list_organisations().total == before + 1
