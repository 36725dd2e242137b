"""``/organisations``: paged list with totals, create (201 + Location), read, patch."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import make_org

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.store.base import sort_name

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
NAMES = ["Zeta Trust", "alpha club", "Beta Society", "Álava Friends", "beta society", "Gamma"]


@dataclass
class Site:
    client: TestClient
    store: Store
    auth: dict[str, dict[str, str]]
    ids: list[str]  # organisation ids, in NAMES order


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path / 'orgs.sqlite'}"
    store = open_store(url)
    store.upgrade()
    ids = [
        store.create_organisation(make_org(id=f"org-{i}", name=n)).id for i, n in enumerate(NAMES)
    ]
    people = {
        "admin": User(name="Ada", role="admin"),
        "organisation": User(name="Olu", role="organisation", organisation_id=ids[0]),
        "practitioner": User(name="Pat", role="practitioner"),
    }
    auth = {}
    for role, person in people.items():
        store.create_user(person)
        auth[role] = {"Authorization": f"Bearer {issue_token(store, person.id)}"}
    with TestClient(
        create_app(
            Settings(database_url=url, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
        )
    ) as client:
        yield Site(client, store, auth, ids)
    store.close()


def _problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    if field is not None:
        assert body["field"] == field and f"`{field}`" in body["detail"]
    return body


def test_list_is_paged_by_name_with_totals(site: Site) -> None:
    expected = [
        i for _, i in sorted((sort_name(n), i) for n, i in zip(NAMES, site.ids, strict=True))
    ]
    whole = site.client.get("/organisations").json()
    assert [o["id"] for o in whole["items"]] == expected
    assert (whole["total"], whole["page"], whole["per_page"], whole["pages"]) == (6, 1, 50, 1)
    second = site.client.get("/organisations", params={"page": 2, "per_page": 4}).json()
    assert [o["id"] for o in second["items"]] == expected[4:]
    assert (second["total"], second["pages"]) == (6, 2)
    beyond = site.client.get("/organisations", params={"page": 9, "per_page": 4}).json()
    assert beyond["items"] == [] and beyond["total"] == 6
    _problem(site.client.get("/organisations", params={"per_page": 0}), 422, "per_page")
    _problem(site.client.get("/organisations", params={"page": "x"}), 422, "page")


def test_admin_creates_with_location(site: Site) -> None:
    body = {"name": "New Trust", "email": "hello@new.example", "version": 7}
    response = site.client.post("/organisations", json=body, headers=site.auth["admin"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/organisations/{created['id']}"
    assert created["version"] == 1  # the store's, whatever was sent
    fetched = site.client.get(response.headers["location"])
    assert fetched.status_code == 200 and fetched.json() == created
    assert site.store.list_audit(created["id"]).items[0].action == "create"
    given = site.client.post(
        "/organisations", json={"id": "trust-2.b_c~d", "name": "Odd"}, headers=site.auth["admin"]
    )
    assert given.headers["location"] == "/organisations/trust-2.b_c~d"
    assert site.client.get(given.headers["location"]).json()["name"] == "Odd"


def test_create_refusals(site: Site) -> None:
    admin = site.auth["admin"]
    _problem(site.client.post("/organisations", json={"name": "X"}), 401)
    _problem(
        site.client.post("/organisations", json={"name": "X"}, headers=site.auth["practitioner"]),
        403,
    )
    _problem(
        site.client.post("/organisations", json={"name": "X"}, headers=site.auth["organisation"]),
        403,
    )
    _problem(
        site.client.post("/organisations", json={"id": site.ids[0], "name": "X"}, headers=admin),
        409,
    )
    _problem(site.client.post("/organisations", json={"name": ""}, headers=admin), 422, "name")
    _problem(
        site.client.post("/organisations", json={"id": "a b/c", "name": "X"}, headers=admin),
        422,
        "id",
    )
    _problem(
        site.client.post("/organisations", json={"name": "X", "email": "nope"}, headers=admin),
        422,
        "email",
    )
    _problem(
        site.client.post("/organisations", json={"name": "X", "rank": 1}, headers=admin),
        422,
        "rank",
    )


def test_get_one_and_not_found(site: Site) -> None:
    got = site.client.get(f"/organisations/{site.ids[2]}")
    assert got.status_code == 200 and got.json()["name"] == NAMES[2]
    body = _problem(site.client.get("/organisations/nobody"), 404)
    assert "nobody" in body["detail"]


def test_patch(site: Site) -> None:
    own = f"/organisations/{site.ids[0]}"
    response = site.client.patch(
        own, json={"description": "Now bigger"}, headers=site.auth["admin"]
    )
    assert response.status_code == 200, response.text
    assert (response.json()["description"], response.json()["version"]) == ("Now bigger", 2)
    entry = site.store.list_audit(site.ids[0]).items[0]
    assert entry.changes == {"description": ["Runs groups.", "Now bigger"]}
    # Not its status, nor another organisation; admins may.
    _problem(
        site.client.patch(own, json={"status": "archived"}, headers=site.auth["organisation"]), 403
    )
    other = f"/organisations/{site.ids[1]}"
    _problem(
        site.client.patch(other, json={"description": "x"}, headers=site.auth["organisation"]), 403
    )
    archived = site.client.patch(other, json={"status": "archived"}, headers=site.auth["admin"])
    assert archived.json()["status"] == "archived"
    # Refusals change nothing.
    _problem(site.client.patch(own, json={"id": "new-id"}, headers=site.auth["admin"]), 422, "id")
    _problem(
        site.client.patch(own, json={"url": "ftp://x"}, headers=site.auth["admin"]), 422, "url"
    )
    _problem(site.client.patch(own, json={"name": "x"}), 401)
    _problem(
        site.client.patch("/organisations/nobody", json={"name": "x"}, headers=site.auth["admin"]),
        404,
    )
    assert site.store.get_organisation(site.ids[0]).version == 2
    unchanged = site.client.patch(own, json={}, headers=site.auth["admin"])
    assert unchanged.json()["version"] == 2


def test_openapi_documents_the_organisation_routes(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    assert set(paths["/organisations"]) == {"get", "post"}
    assert set(paths["/organisations/{org_id}"]) == {"get", "patch"}
    listing = paths["/organisations"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listing["schema"] == {"$ref": "#/components/schemas/OrganisationPage"}
    assert "Location" in paths["/organisations"]["post"]["responses"]["201"]["headers"]
