"""Held organisation changes over HTTP: an organisation user's PATCH of what an admin
checked on its own organisation's record (name, description, e-mail, phone, web site)
waits (202); an admin approves or rejects the revision read; organisation users see
only their own, and listings' held changes stay apart. Both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import make_asset
from postgis_harness import empty_database
from test_api_assets import Site, _problem, _site

from geo_assets import review

OWN = "/organisations/org-a"  # the "organisation" user's organisation ("A Trust")
OTHER = "/organisations/org-b"  # another organisation ("B Trust")


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    if request.param == "sqlite":
        yield from _site(f"sqlite:///{tmp_path / 'held_orgs.sqlite'}", sample=False)
        return
    url = request.getfixturevalue("postgis_db_url")
    empty_database(url)
    yield from _site(url, sample=False)


def test_the_organisation_user_is_org_a(site: Site) -> None:
    assert site.org_id == "org-a"
    assert site.client.get(OWN).json()["name"] == "A Trust"
    assert site.client.get(OTHER).json()["name"] == "B Trust"


def test_an_organisation_users_change_to_its_record_waits(site: Site) -> None:
    org = site.auth["organisation"]
    before = site.client.get(OWN).json()
    response = site.client.patch(
        OWN, json={"phone": "0113 496 0000", "name": "A Trust Ltd"}, headers=org
    )
    assert response.status_code == 202, response.text
    assert response.headers["held-for-review"] == "name, phone"
    assert response.headers["location"] == f"{OWN}/held-changes"
    assert response.json() == before  # the record as it stands, without the proposal
    public = site.client.get(OWN).json()
    assert public == before
    assert (public["name"], public["phone"], public["version"]) == ("A Trust", None, 1)
    held = site.client.get(response.headers["location"], headers=org)
    assert held.status_code == 200, held.text
    got = held.json()
    assert got["organisation_id"] == "org-a"
    assert got["changes"] == {"name": "A Trust Ltd", "phone": "0113 496 0000"}
    assert got["revision"] == 1
    assert got["proposed_by"] == site.store.list_audit("org-a").items[0].actor
    assert site.store.list_audit("org-a").items[0].action == "propose"


def test_every_reviewed_field_is_held_in_order(site: Site) -> None:
    change = {
        "url": "https://a.example",
        "email": "hi@a.example",
        "description": "New words",
        "phone": "0113 496 0001",
        "name": "A Trust Ltd",
    }
    response = site.client.patch(OWN, json=change, headers=site.auth["organisation"])
    assert response.status_code == 202, response.text
    assert response.headers["held-for-review"] == "name, description, email, phone, url"
    assert site.store.get_organisation("org-a").name == "A Trust"


def test_an_admins_change_is_live(site: Site) -> None:
    response = site.client.patch(OWN, json={"name": "A Trust Ltd"}, headers=site.auth["admin"])
    assert response.status_code == 200, response.text
    assert "held-for-review" not in response.headers
    assert (response.json()["name"], response.json()["version"]) == ("A Trust Ltd", 2)
    assert site.client.get(OWN).json()["name"] == "A Trust Ltd"
    assert site.store.get_held_organisation_changes("org-a") is None


def test_live_fields_go_live_beside_what_waits(site: Site) -> None:
    org = site.auth["organisation"]
    response = site.client.patch(
        OWN, json={"source": "own-list", "source_id": "7", "name": "A Trust Ltd"}, headers=org
    )
    assert response.status_code == 202, response.text
    assert response.headers["held-for-review"] == "name"
    body = response.json()
    assert (body["source"], body["source_id"], body["name"]) == ("own-list", "7", "A Trust")
    assert body["version"] == 2
    assert site.client.get(OWN).json() == body
    held = site.client.get(f"{OWN}/held-changes", headers=org).json()
    assert held["changes"] == {"name": "A Trust Ltd"}


def test_an_admins_change_prunes_what_it_made_true(site: Site) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(OWN, json={"name": "A Trust Ltd", "phone": "0113 496 0000"}, headers=org)
    site.client.patch(OWN, json={"name": "A Trust Ltd"}, headers=admin)
    held = site.client.get(f"{OWN}/held-changes", headers=admin).json()
    assert (held["changes"], held["revision"]) == ({"phone": "0113 496 0000"}, 2)
    site.client.patch(OWN, json={"phone": "0113 496 0000"}, headers=admin)
    _problem(site.client.get(f"{OWN}/held-changes", headers=admin), 404, None)
    assert site.client.get("/held-changes/organisations", headers=admin).json() == []


def test_resending_the_current_value_holds_nothing(site: Site) -> None:
    org = site.auth["organisation"]
    response = site.client.patch(OWN, json={"name": "A Trust"}, headers=org)
    assert response.status_code == 200, response.text
    assert "held-for-review" not in response.headers
    assert (response.json()["name"], response.json()["version"]) == ("A Trust", 1)
    assert site.client.get(OWN).json()["version"] == 1
    _problem(site.client.get(f"{OWN}/held-changes", headers=org), 404, None)
    assert site.client.get("/held-changes/organisations", headers=site.auth["admin"]).json() == []


def test_proposing_the_current_value_takes_a_proposal_back(site: Site) -> None:
    org = site.auth["organisation"]
    site.client.patch(OWN, json={"name": "A Trust Ltd"}, headers=org)
    back = site.client.patch(OWN, json={"name": "A Trust"}, headers=org)
    assert back.status_code == 200 and "held-for-review" not in back.headers
    _problem(site.client.get(f"{OWN}/held-changes", headers=org), 404, None)


def test_an_invalid_proposal_is_refused(site: Site) -> None:
    response = site.client.patch(
        OWN, json={"email": "not an address"}, headers=site.auth["organisation"]
    )
    _problem(response, 422, "email")
    assert site.store.get_held_organisation_changes("org-a") is None
    assert site.client.get(OWN).json()["version"] == 1


def test_who_may_read_held_changes(site: Site) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(OWN, json={"phone": "0113 496 0000"}, headers=org)
    site.store.update_organisation("org-b", {}, actor="someone", hold={"name": "B Trust Ltd"})
    path = f"{OWN}/held-changes"
    assert site.client.get(path, headers=org).json()["changes"] == {"phone": "0113 496 0000"}
    assert site.client.get(path, headers=admin).json()["changes"] == {"phone": "0113 496 0000"}
    theirs = site.client.get(f"{OTHER}/held-changes", headers=org)
    assert theirs.status_code == 403, theirs.text
    assert "B Trust Ltd" not in theirs.text
    admin_reads = site.client.get(f"{OTHER}/held-changes", headers=admin)
    assert admin_reads.json()["changes"] == {"name": "B Trust Ltd"}
    assert site.client.get(path).status_code == 401
    assert site.client.get(path, headers=site.auth["practitioner"]).status_code == 403


def test_an_organisation_user_cannot_propose_for_another(site: Site) -> None:
    org = site.auth["organisation"]
    refused = site.client.patch(OTHER, json={"name": "B Trust Ltd"}, headers=org)
    assert refused.status_code == 403, refused.text
    assert site.store.get_held_organisation_changes("org-b") is None
    assert site.client.get(OTHER).json()["name"] == "B Trust"


def test_nothing_waiting_is_not_found(site: Site) -> None:
    for who in ("organisation", "admin"):
        _problem(site.client.get(f"{OWN}/held-changes", headers=site.auth[who]), 404, None)
    _problem(
        site.client.get("/organisations/nope/held-changes", headers=site.auth["admin"]), 404, None
    )


def test_admin_approves_the_revision_it_read(site: Site) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(OWN, json={"name": "A Trust Ltd"}, headers=org)
    listed = site.client.get("/held-changes/organisations", headers=admin).json()
    assert [(h["organisation_id"], h["revision"]) for h in listed] == [("org-a", 1)]
    site.client.patch(OWN, json={"url": "https://a.example"}, headers=org)
    path = f"{OWN}/held-changes"
    stale = site.client.post(f"{path}/approve", json={"revision": 1}, headers=admin)
    _problem(stale, 409, None)
    assert site.client.get(OWN).json()["name"] == "A Trust"
    done = site.client.post(f"{path}/approve", json={"revision": 2}, headers=admin)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["name"], body["url"], body["version"]) == ("A Trust Ltd", "https://a.example", 2)
    public = site.client.get(OWN).json()
    assert (public["name"], public["url"]) == ("A Trust Ltd", "https://a.example")
    _problem(site.client.get(path, headers=admin), 404, None)
    again = site.client.post(f"{path}/approve", json={"revision": 2}, headers=admin)
    _problem(again, 404, None)
    assert site.store.list_audit("org-a").items[0].action == "approve"


def test_admin_rejects(site: Site) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(OWN, json={"url": "https://elsewhere.example"}, headers=org)
    path = f"{OWN}/held-changes"
    done = site.client.post(f"{path}/reject", json={"revision": 1}, headers=admin)
    assert done.status_code == 200, done.text
    assert (done.json()["url"], done.json()["version"]) == (None, 1)
    assert site.client.get(OWN).json()["url"] is None
    assert site.store.get_held_organisation_changes("org-a") is None
    entries = site.store.list_audit("org-a").items
    assert [e.action for e in entries][:2] == ["reject", "propose"]
    assert entries[0].changes == {"revision": 1, "fields": ["url"]}


def test_an_organisation_user_cannot_decide(site: Site) -> None:
    org = site.auth["organisation"]
    site.client.patch(OWN, json={"name": "A Trust Ltd"}, headers=org)
    path = f"{OWN}/held-changes"
    for decision in ("approve", "reject"):
        for who in ("organisation", "practitioner"):
            refused = site.client.post(
                f"{path}/{decision}", json={"revision": 1}, headers=site.auth[who]
            )
            assert refused.status_code == 403, refused.text
        assert site.client.post(f"{path}/{decision}", json={"revision": 1}).status_code == 401
    assert site.client.get(OWN).json()["name"] == "A Trust"
    held = site.client.get(path, headers=org).json()
    assert (held["changes"], held["revision"]) == ({"name": "A Trust Ltd"}, 1)


def test_bad_decisions_are_clear(site: Site) -> None:
    admin = site.auth["admin"]
    path = f"{OWN}/held-changes"
    _problem(site.client.post(f"{path}/approve", json={}, headers=admin), 422, "revision")
    _problem(
        site.client.post(f"{path}/approve", json={"revision": 0}, headers=admin), 422, "revision"
    )
    assert (
        site.client.post(f"{path}/publish", json={"revision": 1}, headers=admin).status_code == 422
    )
    _problem(site.client.post(f"{path}/approve", json={"revision": 1}, headers=admin), 404, None)
    _problem(site.client.post(f"{path}/reject", json={"revision": 1}, headers=admin), 404, None)
    unknown = "/organisations/nope/held-changes/approve"
    _problem(site.client.post(unknown, json={"revision": 1}, headers=admin), 404, None)


def test_the_list_for_an_admin_and_for_an_organisation_user(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    hours = iter(datetime(2026, 5, 1, h, tzinfo=UTC) for h in (9, 10))
    monkeypatch.setattr(review, "utcnow", lambda: next(hours))  # fixed, distinct times
    org, admin = site.auth["organisation"], site.auth["admin"]
    assert site.client.get("/held-changes/organisations", headers=org).json() == []
    site.store.update_organisation("org-b", {}, actor="someone", hold={"name": "B Trust Ltd"})
    assert site.client.get("/held-changes/organisations", headers=org).json() == []
    site.client.patch(OWN, json={"phone": "0113 496 0000"}, headers=org)
    everything = site.client.get("/held-changes/organisations", headers=admin)
    assert everything.status_code == 200, everything.text
    assert [h["organisation_id"] for h in everything.json()] == ["org-b", "org-a"]  # oldest first
    mine = site.client.get("/held-changes/organisations", headers=org)
    assert mine.status_code == 200, mine.text
    assert [(h["organisation_id"], h["changes"]) for h in mine.json()] == [
        ("org-a", {"phone": "0113 496 0000"})
    ]
    assert site.client.get("/held-changes/organisations").status_code == 401
    practitioner = site.auth["practitioner"]
    assert site.client.get("/held-changes/organisations", headers=practitioner).status_code == 403


def test_listings_held_changes_leave_out_organisations(site: Site) -> None:
    org, admin = site.auth["organisation"], site.auth["admin"]
    site.client.patch(OWN, json={"name": "A Trust Ltd"}, headers=org)
    for who in (org, admin):
        assert site.client.get("/held-changes", headers=who).json() == []
    listing = site.store.create_asset(make_asset(id="knit-1", organisation_id="org-a"))
    held = site.client.patch(f"/assets/{listing.id}", json={"name": "Knit Club"}, headers=org)
    assert held.status_code == 202, held.text
    assert [h["asset_id"] for h in site.client.get("/held-changes", headers=admin).json()] == [
        "knit-1"
    ]
    orgs = site.client.get("/held-changes/organisations", headers=admin).json()
    assert [(h["organisation_id"], h["changes"]) for h in orgs] == [
        ("org-a", {"name": "A Trust Ltd"})
    ]
    # Approving the organisation's leaves the listing's waiting.
    site.client.post(f"{OWN}/held-changes/approve", json={"revision": 1}, headers=admin)
    assert [h["asset_id"] for h in site.client.get("/held-changes", headers=admin).json()] == [
        "knit-1"
    ]
    assert site.client.get(f"/assets/{listing.id}").json()["name"] == listing.name


def test_openapi_documents_the_new_paths(site: Site) -> None:
    spec = site.client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/held-changes/organisations"]) == {"get"}
    assert set(paths["/organisations/{org_id}/held-changes"]) == {"get"}
    decide = paths["/organisations/{org_id}/held-changes/{decision}"]
    assert set(decide) == {"post"}
    assert {"200", "404", "409"} <= set(decide["post"]["responses"])
    params = {p["name"]: p for p in decide["post"]["parameters"]}
    assert params["decision"]["schema"]["enum"] == ["approve", "reject"]
    patch = paths["/organisations/{org_id}"]["patch"]["responses"]
    assert {"200", "202"} <= set(patch)
    assert {"Location", "Held-For-Review"} <= set(patch["202"]["headers"])
    assert "HeldOrganisationChanges" in spec["components"]["schemas"]


def test_a_record_archived_after_it_was_read_is_not_written_back(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PATCH's rules are checked on one read; an admin archives the organisation before
    the write: the organisation's stale status must not land (409), nor anything else."""
    app_store = site.client.app.state.store  # type: ignore[attr-defined]
    read = app_store.get_organisation

    def read_then_archive(org_id: str):
        org = read(org_id)
        site.store.archive_organisation(org_id, actor="admin-elsewhere")
        return org

    monkeypatch.setattr(app_store, "get_organisation", read_then_archive)
    response = site.client.patch(
        OWN,
        json={"status": "active", "description": "Back again"},
        headers=site.auth["organisation"],
    )
    _problem(response, 409, None)
    stored = site.store.get_organisation("org-a")
    assert (stored.status, stored.description) == ("archived", "Runs groups.")
    assert site.store.get_held_organisation_changes("org-a") is None
