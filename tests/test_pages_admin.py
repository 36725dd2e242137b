"""The moderation queue over HTTP: what waits, oldest first; publish and archive, audited;
and the organisations to remind of listings nobody has confirmed lately.

Runs on the small two-organisation site of ``test_pages_portal`` (``make_site``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_asset, make_org
from test_pages_portal import OURS, Site, _names_listed, elements, make_site

import geo_assets.store.base as store_base
from api.routers import admin_pages
from geo_assets.model import utcnow


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
    response = site.client.post("/admin/b-waiting/publish", headers=OURS)
    assert response.status_code == 303
    assert site.store.get_asset("b-waiting").status == "published"
    assert site.store.list_audit("b-waiting").items[-1].actor == site.users["admin"].id
    page = site.client.get(response.headers["location"])
    assert "Published “Harmony Choir”" in page.text
    assert 'action="/admin/b-waiting/publish"' not in page.text


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
    response = site.client.post("/admin/own-waiting/publish", headers=OURS)
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
