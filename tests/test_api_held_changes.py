"""Held changes over HTTP: an organisation's PATCH of what a moderator checked on a
published listing waits (202) while the rest goes live; an admin approves or rejects the
revision read; organisations see only their own. Both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_asset
from postgis_harness import empty_database
from test_api_assets import Site, _problem, _site


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    if request.param == "sqlite":
        yield from _site(f"sqlite:///{tmp_path / 'held.sqlite'}", sample=False)
        return
    url = request.getfixturevalue("postgis_db_url")
    empty_database(url)
    yield from _site(url, sample=False)


@pytest.fixture
def published(site: Site) -> str:
    asset = make_asset(
        id="knit-1",
        name="Knit and Natter",
        organisation_id="org-a",
        location={"lat": 53.8, "lon": -1.75, "address": "1 High St"},
    )
    return site.store.create_asset(asset).id


def test_an_organisations_rename_of_a_published_listing_waits(site: Site, published: str) -> None:
    org = site.auth["organisation"]
    response = site.client.patch(
        f"/assets/{published}",
        json={"name": "Knit Club", "location": {"address": "2 Low St"}, "group_size": 8},
        headers=org,
    )
    assert response.status_code == 202, response.text
    assert response.headers["held-for-review"] == "name, location"
    assert response.headers["location"] == f"/assets/{published}/held-changes"
    body = response.json()
    assert (body["name"], body["group_size"]) == ("Knit and Natter", 8)  # the rest went live
    public = site.client.get(f"/assets/{published}").json()
    assert public["name"] == "Knit and Natter"
    assert public["location"]["address"] == "1 High St"
    held = site.client.get(response.headers["location"], headers=org)
    assert held.status_code == 200, held.text
    got = held.json()
    assert got["changes"]["name"] == "Knit Club"
    assert got["changes"]["location"]["address"] == "2 Low St"
    assert got["changes"]["location"]["lat"] == 53.8  # the whole place, not the patch
    assert got["revision"] == 1


def test_live_fields_and_admins_are_not_held(site: Site, published: str) -> None:
    live = site.client.patch(
        f"/assets/{published}", json={"group_size": 5}, headers=site.auth["organisation"]
    )
    assert live.status_code == 200 and "held-for-review" not in live.headers
    admin = site.client.patch(
        f"/assets/{published}", json={"name": "Knit Club"}, headers=site.auth["admin"]
    )
    assert admin.status_code == 200 and admin.json()["name"] == "Knit Club"
    assert site.store.get_held_changes(published) is None


def test_an_unpublished_listing_is_changed_at_once(site: Site) -> None:
    asset = site.store.create_asset(make_asset(id="p-1", organisation_id="org-a", status="pending"))
    response = site.client.patch(
        f"/assets/{asset.id}", json={"name": "Renamed"}, headers=site.auth["organisation"]
    )
    assert response.status_code == 200 and response.json()["name"] == "Renamed"


def test_proposing_the_published_value_takes_it_back(site: Site, published: str) -> None:
    org = site.auth["organisation"]
    site.client.patch(f"/assets/{published}", json={"name": "Knit Club"}, headers=org)
    back = site.client.patch(f"/assets/{published}", json={"name": "Knit and Natter"}, headers=org)
    assert back.status_code == 200 and "held-for-review" not in back.headers
    _problem(site.client.get(f"/assets/{published}/held-changes", headers=org), 404, None)


def test_admin_approves_the_revision_it_read(site: Site, published: str) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(f"/assets/{published}", json={"name": "Knit Club"}, headers=org)
    listed = site.client.get("/held-changes", headers=admin).json()
    assert [h["asset_id"] for h in listed] == [published]
    site.client.patch(f"/assets/{published}", json={"description": "Tea too"}, headers=org)
    path = f"/assets/{published}/held-changes"
    stale = site.client.post(f"{path}/approve", json={"revision": 1}, headers=admin)
    _problem(stale, 409, None)
    assert site.store.get_asset(published).name == "Knit and Natter"
    done = site.client.post(f"{path}/approve", json={"revision": 2}, headers=admin)
    assert done.status_code == 200, done.text
    assert (done.json()["name"], done.json()["description"]) == ("Knit Club", "Tea too")
    assert site.client.get(f"/assets/{published}").json()["name"] == "Knit Club"
    _problem(site.client.get(path, headers=admin), 404, None)
    again = site.client.post(f"{path}/approve", json={"revision": 2}, headers=admin)
    _problem(again, 404, None)


def test_admin_rejects(site: Site, published: str) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(f"/assets/{published}", json={"name": "Elsewhere"}, headers=org)
    path = f"/assets/{published}/held-changes"
    done = site.client.post(f"{path}/reject", json={"revision": 1}, headers=admin)
    assert done.status_code == 200 and done.json()["name"] == "Knit and Natter"
    assert site.store.get_held_changes(published) is None
    entries = site.store.list_audit(published).items
    assert [e.action for e in entries][:2] == ["reject", "propose"]


def test_who_may_read_and_decide(site: Site, published: str) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(f"/assets/{published}", json={"name": "Knit Club"}, headers=org)
    path = f"/assets/{published}/held-changes"
    assert site.client.get(path).status_code == 401
    assert site.client.get(path, headers=site.auth["practitioner"]).status_code == 403
    for who in ("organisation", "practitioner"):
        refused = site.client.post(f"{path}/approve", json={"revision": 1}, headers=site.auth[who])
        assert refused.status_code == 403, refused.text
    assert site.client.post(f"{path}/approve", json={"revision": 1}).status_code == 401
    assert site.store.get_asset(published).name == "Knit and Natter"
    # Another organisation's user sees none of it.
    other = site.store.create_asset(make_asset(id="b-1", organisation_id="org-b"))
    site.client.patch(f"/assets/{other.id}", json={"name": "B's"}, headers=admin)
    site.store.update_asset(other.id, {}, actor="someone", hold={"name": "B's new"})
    mine = site.client.get("/held-changes", headers=org).json()
    assert [h["asset_id"] for h in mine] == [published]
    asked = site.client.get("/held-changes?organisation_id=org-b", headers=org).json()
    assert [h["asset_id"] for h in asked] == [published]  # its own, whatever it asks
    theirs = site.client.get(f"/assets/{other.id}/held-changes", headers=org)
    assert theirs.status_code == 403
    everything = site.client.get("/held-changes", headers=admin).json()
    assert {h["asset_id"] for h in everything} == {published, other.id}


def test_bad_decisions_are_clear(site: Site, published: str) -> None:
    admin = site.auth["admin"]
    path = f"/assets/{published}/held-changes"
    _problem(site.client.post(f"{path}/approve", json={}, headers=admin), 422, "revision")
    _problem(
        site.client.post(f"{path}/approve", json={"revision": 0}, headers=admin), 422, "revision"
    )
    assert (
        site.client.post(f"{path}/publish", json={"revision": 1}, headers=admin).status_code == 422
    )
    _problem(site.client.post(f"{path}/approve", json={"revision": 1}, headers=admin), 404, None)


def test_part_of_a_field_adds_to_what_waits(site: Site, published: str) -> None:
    org = site.auth["organisation"]
    first = site.client.patch(
        f"/assets/{published}", json={"contact": {"phone": "0113 000 0000"}}, headers=org
    )
    second = site.client.patch(
        f"/assets/{published}", json={"contact": {"email": "hello@knit.example"}}, headers=org
    )
    assert (first.status_code, second.status_code) == (202, 202)
    held = site.store.get_held_changes(published)
    assert held is not None and held.revision == 2
    contact = held.changes["contact"]
    assert (contact["phone"], contact["email"]) == ("0113 000 0000", "hello@knit.example")


def test_a_listing_published_after_it_was_read_is_not_changed_live(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The organisation's PATCH reads a pending listing (changed at once); an admin
    publishes it before the write: the write must not land, unreviewed, on it."""
    site.store.create_asset(make_asset(id="p-2", organisation_id="org-a", status="pending"))
    app_store = site.client.app.state.store  # type: ignore[attr-defined]
    read = app_store.get_asset

    def read_then_publish(asset_id: str):
        asset = read(asset_id)
        site.store.update_asset(asset_id, {"status": "published"}, actor="admin-elsewhere")
        return asset

    monkeypatch.setattr(app_store, "get_asset", read_then_publish)
    response = site.client.patch(
        "/assets/p-2", json={"name": "Call 0900 000000"}, headers=site.auth["organisation"]
    )
    _problem(response, 409, None)
    stored = site.store.get_asset("p-2")
    assert (stored.status, stored.name) == ("published", "Test Group")


def test_a_live_change_does_not_wait_on_a_colleagues_proposal(
    site: Site, published: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_store = site.client.app.state.store  # type: ignore[attr-defined]
    read = app_store.get_held_changes

    def read_then_colleague_proposes(asset_id: str):
        held = read(asset_id)
        site.store.update_asset(asset_id, {}, actor="colleague", hold={"name": "Knit Club"})
        return held

    monkeypatch.setattr(app_store, "get_held_changes", read_then_colleague_proposes)
    response = site.client.patch(
        f"/assets/{published}", json={"group_size": 9}, headers=site.auth["organisation"]
    )
    assert response.status_code == 200, response.text
    assert site.store.get_asset(published).group_size == 9


def test_a_listing_taken_off_the_directory_and_renamed_comes_back_checked(
    site: Site, published: str
) -> None:
    """Pending again, a published listing's rename still waits: publishing it again
    brings back the checked name, and the rename only with a moderator's approval."""
    org, admin = site.auth["organisation"], site.auth["admin"]
    taken_off = site.client.patch(f"/assets/{published}", json={"status": "pending"}, headers=org)
    assert taken_off.status_code == 200 and taken_off.json()["moderated"] is True
    renamed = site.client.patch(
        f"/assets/{published}", json={"name": "Call 0900 000000"}, headers=org
    )
    assert renamed.status_code == 202, renamed.text
    assert renamed.headers["held-for-review"] == "name"
    back = site.client.patch(f"/assets/{published}", json={"status": "published"}, headers=admin)
    assert back.status_code == 200 and back.json()["name"] == "Knit and Natter"
    assert site.client.get(f"/assets/{published}").json()["name"] == "Knit and Natter"
    held = site.client.get(f"/assets/{published}/held-changes", headers=admin).json()
    assert held["changes"] == {"name": "Call 0900 000000"}
    refused = site.client.patch(f"/assets/{published}", json={"moderated": False}, headers=admin)
    _problem(refused, 422, "moderated")
