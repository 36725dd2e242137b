"""The moderation queue over HTTP: what waits, oldest first; publish and archive, audited;
organisations' changes to published listings, held for review, approved or rejected;
and the organisations to remind of listings nobody has confirmed lately.

Runs on the small two-organisation site of ``test_pages_portal`` (``make_site``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import LEEDS, make_asset, make_org
from test_pages_portal import OURS, Site, _names_listed, elements, make_site

import geo_assets.review as review
import geo_assets.store.base as store_base
from api.routers import admin_pages
from geo_assets.model import utcnow
from geo_assets.review import HeldChanges


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from make_site(tmp_path)


def test_the_queue_lists_pending_listings_oldest_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = utcnow() - timedelta(days=30)
    monkeypatch.setattr(store_base, "utcnow", lambda: long_ago)
    site.store.create_asset(
        make_asset(id="old-one", name="Zebra Walks", status="pending", organisation_id="org-b")
    )
    monkeypatch.undo()
    site.as_role("admin")
    page = site.client.get("/admin")
    assert page.status_code == 200
    text = page.text
    assert text.index("Zebra Walks") < text.index("Knit and Natter")
    assert text.index("Zebra Walks") < text.index("Harmony Choir")
    assert "Allotment Club" not in text  # published
    assert "B Trust" in text and "A Trust" in text


def test_publishing_from_the_queue_publishes_and_audits(site: Site) -> None:
    site.as_role("admin")
    response = site.client.post("/admin/b-waiting/publish", data={"version": "1"}, headers=OURS)
    assert response.status_code == 303
    assert site.store.get_asset("b-waiting").status == "published"
    assert site.store.list_audit("b-waiting").items[-1].actor == site.users["admin"].id
    page = site.client.get(response.headers["location"])
    assert "Published “Harmony Choir”" in page.text
    assert 'action="/admin/b-waiting/publish"' not in page.text


def test_a_listing_changed_after_the_queue_was_shown_is_not_published_unseen(
    site: Site,
) -> None:
    site.as_role("admin")
    queue = site.client.get("/admin")
    assert 'name="version" value="1"' in queue.text  # what the publish button sends
    site.store.update_asset("b-waiting", {"name": "Harmony Choir (call 0900 000000)"})
    response = site.client.post("/admin/b-waiting/publish", data={"version": "1"}, headers=OURS)
    assert response.status_code == 409
    assert "was changed after this page was shown" in html.unescape(response.text)
    assert site.store.get_asset("b-waiting").status == "pending"
    unversioned = site.client.post("/admin/b-waiting/publish", headers=OURS)
    assert unversioned.status_code == 409
    again = site.client.post("/admin/b-waiting/publish", data={"version": "2"}, headers=OURS)
    assert again.status_code == 303
    assert site.store.get_asset("b-waiting").status == "published"


def test_archiving_from_the_queue_archives_and_audits(site: Site) -> None:
    site.as_role("admin")
    response = site.client.post("/admin/own-waiting/archive", headers=OURS)
    assert response.status_code == 303
    assert site.store.get_asset("own-waiting").status == "archived"
    entry = site.store.list_audit("own-waiting").items[-1]
    assert (entry.actor, entry.action) == (site.users["admin"].id, "archive")
    assert "Archived “Knit and Natter”" in site.client.get(response.headers["location"]).text


def test_only_admins_can_publish(site: Site) -> None:
    site.as_role("organisation")
    response = site.client.post("/admin/own-waiting/publish", data={"version": "1"}, headers=OURS)
    assert response.status_code == 403
    assert site.store.get_asset("own-waiting").status == "pending"


def test_publishing_an_archived_listing_from_the_queue_is_refused(site: Site) -> None:
    site.store.archive_asset("b-waiting")
    site.as_role("admin")
    response = site.client.post("/admin/b-waiting/publish", headers=OURS)
    assert response.status_code == 409
    assert site.store.get_asset("b-waiting").status == "archived"


# --- organisations to remind -----------------------------------------------------------------


def _chase_rows(html_text: str) -> list[tuple[str, str, str]]:
    """(organisation, count, contact) of each row of the table, whitespace folded."""
    table = html_text[html_text.index('id="chase"') :]
    table = table[: table.index("</table>")]
    cells = re.findall(r'<td data-label="[^"]+">(.*?)</td>', table, flags=re.S)
    words = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]
    return [tuple(words[i : i + 3]) for i in range(0, len(words), 3)]  # type: ignore[misc]


def _said(html_text: str, element_id: str) -> str:
    return " ".join(elements(html_text)[element_id]["text"].split())


def test_the_admin_sees_whom_to_remind_of_listings_that_need_confirming(site: Site) -> None:
    store = site.store
    store.create_organisation(
        make_org(id="org-c", name="C Club", email="hello@c-club.org.uk", phone="0113 496 0000")
    )
    for n in range(3):
        store.create_asset(make_asset(id=f"c-{n}", name=f"C{n}", organisation_id="org-c"))
    store.create_asset(
        make_asset(id="c-draft", name="C draft", organisation_id="org-c", status="draft")
    )
    store.create_asset(make_asset(id="feed-1", name="From a feed"))  # no organisation
    site.as_role("organisation")
    site.client.post("/portal/own-live/confirm", headers=OURS)  # A Trust: one left
    store.archive_asset("b-live")  # B Trust: one live listing left

    site.as_role("admin")
    page = site.client.get("/admin")
    assert page.status_code == 200
    assert _chase_rows(page.text) == [
        ("C Club", "3", "hello@c-club.org.uk 0113 496 0000"),
        ("A Trust", "1", "None on record"),
        ("B Trust", "1", "None on record"),
    ]
    assert _said(page.text, "chase-unowned") == (
        "1 of them belongs to no organisation: check it yourselves."
    )
    assert 'href="mailto:hello@c-club.org.uk"' in page.text
    assert _said(page.text, "chase-count").startswith(
        "6 live listings have not been confirmed in the last 180 days"
    )
    link = elements(page.text)["chase-all"]["attrs"]["href"]
    assert link == "/portal?needs_confirming=true"
    # Each organisation's name opens its own short list.
    c_club = site.client.get("/portal?needs_confirming=true&organisation=org-c")
    assert 'href="/portal?needs_confirming=true&amp;organisation=org-c"' in page.text
    assert _names_listed(c_club.text) == ["C0", "C1", "C2"]
    assert "chase-more" not in elements(page.text)


def test_the_table_keeps_to_the_organisations_with_the_most(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "CHASE_ROWS", 2)
    for org_id, name, n in (("org-y", "A Better Start", 2), ("org-d", "D Group", 4)):
        site.store.create_organisation(make_org(id=org_id, name=name))
        for i in range(n):
            site.store.create_asset(make_asset(id=f"{org_id}-{i}", organisation_id=org_id))
    site.as_role("admin")
    page = site.client.get("/admin")
    # D has 4; A Trust, B Trust and A Better Start have 2 each: of the tied, A Better Start
    # comes first, though its id sorts last.
    assert [row[:2] for row in _chase_rows(page.text)] == [
        ("D Group", "4"),
        ("A Better Start", "2"),
    ]
    assert _said(page.text, "chase-more") == "And 2 more organisations."


def test_when_every_listing_is_confirmed_the_admin_is_told_so(site: Site) -> None:
    site.as_role("admin")
    for ident in ("own-live", "own-waiting", "b-waiting", "b-live"):
        site.client.post(f"/portal/{ident}/confirm", headers=OURS)
    page = site.client.get("/admin")
    assert _said(page.text, "chase-none") == (
        "Every live listing has been confirmed in the last 180 days."
    )
    assert 'id="chase"' not in page.text


def test_only_admins_see_whom_to_remind(site: Site) -> None:
    site.as_role("organisation")
    assert site.client.get("/admin").status_code == 403


# --- changes held for review -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def each_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The site on each store: a decision on held changes is each store's own transaction."""
    url = None
    if request.param == "postgis":
        request.getfixturevalue("postgis_store")  # upgraded, and emptied for this test
        url = request.getfixturevalue("postgis_db_url")
    yield from make_site(tmp_path, url)


def propose(site: Site, asset_id: str, role: str = "organisation", **changes: Any) -> None:
    """Hold ``changes`` (whole values, as the portal sends them) on a published listing,
    proposed by the user of ``role``."""
    site.store.update_asset(asset_id, {}, actor=site.users[role].id, hold=changes)


def decide(site: Site, asset_id: str, decision: str, revision: int, **headers: str) -> Any:
    return site.client.post(
        f"/admin/{asset_id}/held-changes",
        data={"decision": decision, "revision": str(revision)},
        headers=headers or OURS,
    )


def _held_rows(html_text: str, n: int) -> list[tuple[str, str, str]]:
    """(field, published, proposed) of the ``n``th listing's held changes; the lines of a
    value joined with " | "."""
    section = html_text[html_text.index(f'id="held-{n}"') :]
    section = section[: section.index("</section>")]
    cells = re.findall(r'<td data-label="[^"]+">(.*?)</td>', section, flags=re.S)
    words = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c.replace("<br>", " | "))).split())
        for c in cells
    ]
    return [tuple(words[i : i + 3]) for i in range(0, len(words), 3)]  # type: ignore[misc]


def test_the_queue_sets_each_published_value_beside_the_proposed_one_oldest_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    propose(site, "b-live", "other_organisation", name="Walking Football for All")
    published = site.store.get_asset("own-live").model_dump(mode="json")
    monkeypatch.setattr(review, "utcnow", lambda: utcnow() - timedelta(days=2))
    propose(
        site,
        "own-live",
        name="Allotment Club (Tuesdays)",
        categories=["social", "hobbies"],
        location={**published["location"], "address": "2 Lumb Lane", "lat": 53.8, "lon": -1.76},
        contact={"name": "Amina", "email": "plots@example.org", "phone": None, "url": None},
        eligibility={**published["eligibility"], "gender": "women", "min_age": 18},
    )
    monkeypatch.undo()
    site.as_role("admin")
    page = site.client.get("/admin")
    assert page.status_code == 200
    text = page.text
    assert _said(text, "held-count").startswith(
        "2 published listings have changes awaiting review, the longest-waiting first."
    )
    # Proposed two days ago, so first, though proposed last.
    assert _said(text, "held-1-name") == "Allotment Club"
    assert 'href="/listings/own-live"' in text[text.index('id="held-1"') :]
    assert _said(text, "held-2-name") == "Walking Football"
    first = text[text.index('id="held-1"') : text.index('id="held-2"')]
    assert "A Trust: proposed by Olu," in " ".join(first.split())
    assert _held_rows(text, 1) == [
        ("Name", "Allotment Club", "Allotment Club (Tuesdays)"),
        (
            "Categories",
            "Social and peer groups",
            "Social and peer groups | Hobbies, crafts and games",
        ),
        (
            "Place",
            f"Latitude, longitude: {LEEDS[0]:.5f}, {LEEDS[1]:.5f} | Pin: where it meets",
            "Address: 2 Lumb Lane | Latitude, longitude: 53.80000, -1.76000 | Pin: where it meets",
        ),
        ("Contact details", "None", "Who to ask: Amina | Email: plots@example.org"),
        ("Who it is for", "Who can come: Everyone", "Who can come: Women only; aged 18 and over"),
    ]
    assert _held_rows(text, 2) == [("Name", "Walking Football", "Walking Football for All")]
    assert '<input type="hidden" name="revision" value="1">' in first
    assert 'action="/admin/own-live/held-changes"' in first


def test_approving_held_changes_makes_them_live_and_audits(each_store: Site) -> None:
    site = each_store
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    site.as_role("admin")
    response = decide(site, "own-live", "approve", 1)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin?done=approved&asset=own-live"
    assert site.store.get_asset("own-live").name == "Allotment Club (Tuesdays)"
    assert site.store.get_held_changes("own-live") is None
    entry = site.store.list_audit("own-live").items[0]  # the newest
    assert (entry.actor, entry.action) == (site.users["admin"].id, "approve")
    page = site.client.get(response.headers["location"])
    assert _said(page.text, "notice") == (
        "Approved the changes to “Allotment Club (Tuesdays)”: the directory now shows them."
    )
    assert _said(page.text, "held-none") == "No changes to published listings await review."
    site.as_role(None)
    assert "<h1>Allotment Club (Tuesdays)</h1>" in site.client.get("/listings/own-live").text


def test_rejecting_held_changes_leaves_the_listing_as_published(each_store: Site) -> None:
    site = each_store
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    version = site.store.get_asset("own-live").version
    site.as_role("admin")
    response = decide(site, "own-live", "reject", 1)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin?done=rejected&asset=own-live"
    stored = site.store.get_asset("own-live")
    assert (stored.name, stored.version) == ("Allotment Club", version)
    assert site.store.get_held_changes("own-live") is None
    entry = site.store.list_audit("own-live").items[0]  # the newest
    assert (entry.actor, entry.action) == (site.users["admin"].id, "reject")
    page = site.client.get(response.headers["location"])
    assert _said(page.text, "notice").startswith("Rejected the changes to “Allotment Club”")


def test_a_decision_on_changes_the_organisation_has_added_to_is_refused_with_409(
    each_store: Site,
) -> None:
    site = each_store
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    propose(site, "own-live", description="Now on Tuesdays too.")  # after the admin read it
    site.as_role("admin")
    for decision in ("approve", "reject"):
        response = decide(site, "own-live", decision, 1)
        assert response.status_code == 409
        assert _said(response.text, "problem") == (
            "The organisation proposed more changes to “Allotment Club” after you opened the "
            "queue, so nothing was decided. Read the changes below again, then decide."
        )
        assert '<input type="hidden" name="revision" value="2">' in response.text
    stored = site.store.get_asset("own-live")
    assert (stored.name, stored.description) == ("Allotment Club", "")
    held = site.store.get_held_changes("own-live")
    assert held is not None and (held.revision, held.fields()) == (2, ["name", "description"])
    assert site.store.list_audit("own-live").items[0].action == "propose"  # the newest


def test_deciding_twice_says_nothing_waits_now(site: Site) -> None:
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    site.as_role("admin")
    assert decide(site, "own-live", "approve", 1).status_code == 303
    again = decide(site, "own-live", "reject", 1)
    assert again.status_code == 409
    assert "No changes to “Allotment Club (Tuesdays)” await review now" in again.text
    assert site.store.get_asset("own-live").name == "Allotment Club (Tuesdays)"


def _hold_unchecked(site: Site, asset_id: str, **changes: Any) -> None:
    """Hold changes that do not make a valid listing, past the store's check on holding:
    as a taxonomy that has since dropped a term, or an older release, could leave them."""
    held = HeldChanges(
        asset_id=asset_id,
        changes=changes,
        proposed_by=site.users["organisation"].id,
        proposed_at=utcnow(),
        revision=1,
    )
    with site.store._write() as conn:  # type: ignore[attr-defined]  # SQLite's own
        site.store._save_held(conn, "asset", held)  # type: ignore[attr-defined]


def test_changes_that_no_longer_make_a_valid_listing_are_not_approved(site: Site) -> None:
    _hold_unchecked(site, "own-live", venue_id="own-live")  # a listing cannot be its own venue
    site.as_role("admin")
    response = decide(site, "own-live", "approve", 1)
    assert response.status_code == 422
    assert _said(response.text, "problem").startswith(
        "The changes to “Allotment Club” cannot be approved:"
    )
    assert site.store.get_asset("own-live").venue_id is None
    assert site.store.get_held_changes("own-live") is not None


@pytest.mark.parametrize("form", [{"decision": "maybe", "revision": "1"}, {"decision": "approve"}])
def test_a_garbled_decision_changes_nothing(site: Site, form: dict[str, str]) -> None:
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    site.as_role("admin")
    response = site.client.post("/admin/own-live/held-changes", data=form, headers=OURS)
    assert response.status_code == 422
    assert site.store.get_held_changes("own-live") is not None


@pytest.mark.parametrize(
    ("role", "status"), [("organisation", 403), ("practitioner", 403), (None, 303)]
)
def test_only_admins_can_decide_on_held_changes(
    each_store: Site, role: str | None, status: int
) -> None:
    site = each_store
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    site.as_role(role)
    for decision in ("approve", "reject"):
        response = decide(site, "own-live", decision, 1)
        assert response.status_code == status
        if status == 303:
            assert response.headers["location"] == "/sign-in"
        else:
            assert "Not available to you" in response.text
    assert site.store.get_asset("own-live").name == "Allotment Club"
    held = site.store.get_held_changes("own-live")
    assert held is not None and held.revision == 1


@pytest.mark.parametrize("origin", [None, "http://evil.example"])
def test_decisions_posted_from_another_site_are_refused(site: Site, origin: str | None) -> None:
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    site.as_role("admin")
    headers = {} if origin is None else {"origin": origin}
    for decision in ("approve", "reject"):
        response = site.client.post(
            "/admin/own-live/held-changes",
            data={"decision": decision, "revision": "1"},
            headers=headers,
        )
        assert response.status_code == 403
        assert "Form refused" in response.text
    assert site.store.get_asset("own-live").name == "Allotment Club"
    assert site.store.get_held_changes("own-live") is not None


def test_the_held_changes_page_through_oldest_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "PER_PAGE", 1)
    propose(site, "b-live", "other_organisation", name="Later proposal")
    monkeypatch.setattr(review, "utcnow", lambda: utcnow() - timedelta(hours=1))
    propose(site, "own-live", name="Earlier proposal")
    site.as_role("admin")
    first = site.client.get("/admin")
    assert _said(first.text, "held-1-name") == "Allotment Club"
    assert 'href="/admin?page=1&amp;held_page=2#held-heading"' in first.text
    second = site.client.get("/admin?held_page=2")
    assert _said(second.text, "held-1-name") == "Walking Football"
    assert "Allotment Club" not in second.text[second.text.index('id="held-heading"') :]


def test_a_listing_published_before_says_so_in_the_queue(site: Site) -> None:
    site.store.update_asset("own-live", {"status": "pending"})  # taken off the directory
    site.as_role("admin")

    def rows() -> dict[str, str]:
        text = site.client.get("/admin").text
        found = re.findall(r"<tr>.*?</tr>", text[text.index('id="queue"') :], flags=re.S)
        ids = ("own-live", "own-waiting")
        return {
            a: " ".join(next(r for r in found if f"/admin/{a}/publish" in r).split()) for a in ids
        }

    first = rows()
    assert "Published before</span>" in first["own-live"]
    assert "Published before" not in first["own-waiting"]  # pending, never published
    propose(site, "own-live", name="Allotment Club (Tuesdays)")
    assert "Published before: changes to what was checked wait below" in rows()["own-live"]


def test_the_queue_shows_whom_people_will_contact_and_who_can_come(site: Site) -> None:
    site.store.update_asset(
        "b-waiting",
        {
            "contact": {"name": "Sam", "phone": "0113 496 0100"},
            "eligibility": {"gender": "women", "min_age": 18},
        },
    )
    site.as_role("admin")
    text = site.client.get("/admin").text
    cells = re.findall(
        r'<td data-label="Contact and who can come">(.*?)</td>',
        text[text.index('id="queue"') :],
        flags=re.S,
    )
    lines = [html.unescape(c).split("<br>") for c in cells]
    assert [
        "Who to ask: Sam",
        "Phone: 0113 496 0100",
        "Who can come: Women only; aged 18 and over",
    ] in lines
    assert ["No contact details", "Who can come: Everyone"] in lines  # own-waiting
