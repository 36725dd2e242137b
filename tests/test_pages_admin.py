"""The moderation queue over HTTP: what waits, oldest first; publish and archive, audited.

Runs on the small two-organisation site of ``test_pages_portal`` (``make_site``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_asset
from test_pages_portal import OURS, Site, make_site

import geo_assets.store.base as store_base
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
