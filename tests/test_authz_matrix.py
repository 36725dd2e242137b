"""The authorisation matrix: every caller x every write endpoint -> the expected status.

Callers: anonymous, each role, an organisation user on its own and on another
organisation's records, a revoked token and a garbage token. Every successful write
must leave an audit row naming who did it, when, and what changed; every refused one
must change nothing. Runs on both stores.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import LEEDS, make_asset, make_org, pick_terms
from postgis_harness import empty_database

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.model import utcnow
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OK = "2xx"
ORG_A, ORG_B = "org-a", "org-b"
CALLERS = (
    "anonymous",
    "practitioner",
    "organisation-own",
    "organisation-other",
    "planner",
    "admin",
    "revoked",
    "garbage",
)
# Expected outcome per endpoint, in CALLERS order. "Own" means the target belongs to
# ORG_A, the organisation of `organisation-own`; `organisation-other` belongs to ORG_B.
# fmt: off
MATRIX: dict[str, tuple[str | int, ...]] = {
    #                       anon prac  own  other plan admin revoked garbage
    "create_asset":         (401, 403, OK,  403, 403, OK,  401, 401),
    "patch_asset":          (401, 403, OK,  403, 403, OK,  401, 401),
    "rename_published":     (401, 403, OK,  403, 403, OK,  401, 401),
    "approve_held":         (401, 403, 403, 403, 403, OK,  401, 401),
    "reject_held":          (401, 403, 403, 403, 403, OK,  401, 401),
    "publish_asset":        (401, 403, 403, 403, 403, OK,  401, 401),
    "archive_asset":        (401, 403, OK,  403, 403, OK,  401, 401),
    "create_organisation":  (401, 403, 403, 403, 403, OK,  401, 401),
    "patch_organisation":   (401, 403, OK,  403, 403, OK,  401, 401),
    "approve_org_held":     (401, 403, 403, 403, 403, OK,  401, 401),
    "reject_org_held":      (401, 403, 403, 403, 403, OK,  401, 401),
    "match":                (401, OK,  403, 403, 403, OK,  401, 401),
}
# fmt: on
CELLS = [
    pytest.param(endpoint, caller, expected[i], id=f"{endpoint}-{caller}")
    for endpoint, expected in MATRIX.items()
    for i, caller in enumerate(CALLERS)
]


@dataclass
class World:
    client: TestClient
    store: Store
    headers: dict[str, dict[str, str]]  # caller -> request headers
    users: dict[str, User]  # caller -> user (signed-in callers only)
    proposed_phone: str = ""  # the phone number last proposed for ORG_A


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('authz')) / 'authz.sqlite'}"
    else:
        url = request.getfixturevalue("postgis_db_url")
    store = open_store(url)
    store.upgrade()
    if request.param == "postgis":
        empty_database(url)
    store.create_organisation(make_org(id=ORG_A, name="A Trust"))
    store.create_organisation(make_org(id=ORG_B, name="B Trust"))
    people = {
        "practitioner": User(name="Pat", role="practitioner"),
        "organisation-own": User(name="Olu", role="organisation", organisation_id=ORG_A),
        "organisation-other": User(name="Oto", role="organisation", organisation_id=ORG_B),
        "planner": User(name="Pam", role="planner"),
        "admin": User(name="Ada", role="admin"),
        "revoked": User(name="Rex", role="admin"),
    }
    headers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "garbage": {"Authorization": "Bearer ga_0123456789abcdef_not-a-real-secret"},
    }
    users: dict[str, User] = {}
    for caller, person in people.items():
        users[caller] = store.create_user(person)
        headers[caller] = {"Authorization": f"Bearer {issue_token(store, person.id)}"}
    store.revoke_user(users["revoked"].id)
    # Writes and /match are rate-limited per token; the matrix must not trip the limit.
    settings = Settings(database_url=url, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as client:
        yield World(client, store, headers, users)
    store.close()


def _asset_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "group",
        "name": "Matrix choir",
        "categories": [pick_terms().root],
        "location": {"lat": LEEDS[0], "lon": LEEDS[1]},
        "organisation_id": ORG_A,
        "status": "published",
    }
    return {**body, **overrides}


def _target_asset(store: Store, status: str = "draft") -> str:
    """A fresh asset of ORG_A for one cell, written without an actor (so unaudited)."""
    asset = make_asset(id=f"m-{uuid.uuid4().hex[:12]}", organisation_id=ORG_A, status=status)
    return store.create_asset(asset).id


PROFILE = {
    "origin": {"lat": LEEDS[0], "lon": LEEDS[1]},
    "interests": ["singing"],
    "travel": [{"mode": "walk", "max_minutes": 20}],
}


_NOBODY = User(name="nobody", role="practitioner")


def _request(world: World, endpoint: str, caller: str) -> tuple[Any, str | None, str | None]:
    """Send one cell's request; returns (response, entity id targeted, expected action)."""
    http, headers = world.client, world.headers[caller]
    if endpoint == "create_asset":
        return http.post("/assets", json=_asset_body(), headers=headers), None, "create"
    if endpoint == "patch_asset":
        asset_id = _target_asset(world.store)
        body = {"name": "Renamed choir"}
        return http.patch(f"/assets/{asset_id}", json=body, headers=headers), asset_id, "update"
    if endpoint == "rename_published":  # an organisation's rename waits for a moderator
        asset_id = _target_asset(world.store, "published")
        body = {"name": "Renamed choir"}
        action = "propose" if world.users.get(caller, _NOBODY).role == "organisation" else "update"
        return http.patch(f"/assets/{asset_id}", json=body, headers=headers), asset_id, action
    if endpoint in ("approve_held", "reject_held"):
        asset_id = _target_asset(world.store, "published")
        world.store.update_asset(asset_id, {}, hold={"name": "Renamed choir"})
        decision = endpoint.removesuffix("_held")
        path = f"/assets/{asset_id}/held-changes/{decision}"
        return http.post(path, json={"revision": 1}, headers=headers), asset_id, decision
    if endpoint == "publish_asset":
        asset_id = _target_asset(world.store, "pending")
        body = {"status": "published"}
        return http.patch(f"/assets/{asset_id}", json=body, headers=headers), asset_id, "update"
    if endpoint == "archive_asset":
        asset_id = _target_asset(world.store, "published")
        return http.delete(f"/assets/{asset_id}", headers=headers), asset_id, "archive"
    if endpoint == "create_organisation":
        body = {"name": f"New org {uuid.uuid4().hex[:6]}"}
        return http.post("/organisations", json=body, headers=headers), None, "create"
    if endpoint == "patch_organisation":  # an organisation's edit waits for a moderator
        body = {"description": f"Edited {uuid.uuid4().hex[:6]}"}
        action = "propose" if world.users.get(caller, _NOBODY).role == "organisation" else "update"
        return http.patch(f"/organisations/{ORG_A}", json=body, headers=headers), ORG_A, action
    if endpoint in ("approve_org_held", "reject_org_held"):
        # The world is shared: other cells may have proposed to ORG_A (or decided) before.
        world.proposed_phone = f"0113 496 {uuid.uuid4().int % 10_000:04d}"
        world.store.update_organisation(ORG_A, {}, hold={"phone": world.proposed_phone})
        held = world.store.get_held_organisation_changes(ORG_A)
        assert held is not None
        decision = endpoint.removesuffix("_org_held")
        path = f"/organisations/{ORG_A}/held-changes/{decision}"
        body = {"revision": held.revision}
        return http.post(path, json=body, headers=headers), ORG_A, decision
    if endpoint == "match":
        return http.post("/match", json=PROFILE, headers=headers), None, None
    raise AssertionError(endpoint)


@pytest.mark.parametrize(("endpoint", "caller", "expected"), CELLS)
def test_authorisation_matrix(
    world: World, endpoint: str, caller: str, expected: str | int
) -> None:
    audit_before = world.store.list_audit(per_page=1).total
    started = utcnow()
    response, entity_id, action = _request(world, endpoint, caller)
    if expected != OK:
        assert response.status_code == expected, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        # A refused write changes nothing and is not audited.
        assert world.store.list_audit(per_page=1).total == audit_before
        if entity_id is not None and entity_id not in (ORG_A, ORG_B):
            assert world.store.get_asset(entity_id).version == 1
        if endpoint in ("approve_org_held", "reject_org_held"):  # still waits, undecided
            held = world.store.get_held_organisation_changes(ORG_A)
            assert held is not None and held.changes.get("phone") == world.proposed_phone
            assert world.store.get_organisation(ORG_A).phone != world.proposed_phone
        return
    assert 200 <= response.status_code < 300, response.text
    if action is None:  # POST /match writes nothing
        assert world.store.list_audit(per_page=1).total == audit_before
        return
    if entity_id is None:
        entity_id = response.json()["id"]
    entries = world.store.list_audit(entity_id).items
    assert entries, f"no audit row for {endpoint} by {caller}"
    entry = entries[0]
    user = world.users[caller]
    assert (entry.actor, entry.action) == (user.id, action)  # who, and what kind of write
    assert started - timedelta(seconds=2) <= entry.at <= utcnow() + timedelta(seconds=2)  # when
    assert entry.changes  # what
    assert world.store.list_audit(per_page=1).total == audit_before + 1
    if endpoint == "create_asset":
        stored = world.store.get_asset(entity_id)
        # Organisation users' new assets wait for moderation, whatever status they sent.
        assert stored.status == ("published" if caller == "admin" else "pending")
        assert entry.changes["status"] == stored.status
    if endpoint == "patch_asset" or (endpoint == "rename_published" and caller == "admin"):
        assert entry.changes["name"] == ["Test Group", "Renamed choir"]
    if endpoint == "rename_published" and caller != "admin":
        assert response.status_code == 202
        assert world.store.get_asset(entity_id).name == "Test Group"
        assert entry.changes["held"] == ["name"]
    if endpoint == "approve_held":
        assert world.store.get_asset(entity_id).name == "Renamed choir"
        assert entry.changes["changes"]["name"] == ["Test Group", "Renamed choir"]
    if endpoint == "reject_held":
        assert world.store.get_asset(entity_id).name == "Test Group"
        assert entry.changes["fields"] == ["name"]
    if endpoint == "patch_organisation":
        description = world.store.get_organisation(ORG_A).description
        if caller == "admin":
            assert description.startswith("Edited")
        else:
            assert response.status_code == 202 and not description.startswith("Edited")
            assert "description" in entry.changes["held"]
    if endpoint == "approve_org_held":
        assert world.store.get_organisation(ORG_A).phone == world.proposed_phone
    if endpoint == "reject_org_held":
        assert world.store.get_organisation(ORG_A).phone != world.proposed_phone
        assert "phone" in entry.changes["fields"]
    if endpoint == "publish_asset":
        assert entry.changes["status"] == ["pending", "published"]
    if endpoint == "archive_asset":
        assert entry.changes["status"] == ["published", "archived"]


def test_organisation_user_cannot_move_its_asset_to_another_organisation(world: World) -> None:
    asset_id = _target_asset(world.store)
    response = world.client.patch(
        f"/assets/{asset_id}",
        json={"organisation_id": ORG_B},
        headers=world.headers["organisation-own"],
    )
    assert response.status_code == 403, response.text
    assert world.store.get_asset(asset_id).organisation_id == ORG_A


def test_organisation_user_cannot_create_for_another_organisation(world: World) -> None:
    response = world.client.post(
        "/assets",
        json=_asset_body(organisation_id=ORG_B),
        headers=world.headers["organisation-own"],
    )
    assert response.status_code == 403, response.text


def test_anonymous_reads_see_published_only(world: World) -> None:
    draft_id = _target_asset(world.store, "draft")
    published_id = _target_asset(world.store, "published")
    assert world.client.get(f"/assets/{published_id}").status_code == 200
    hidden = world.client.get(f"/assets/{draft_id}")
    assert hidden.status_code in (401, 403, 404), hidden.text
    listing = world.client.get("/assets", params={"per_page": 1000})
    assert listing.status_code == 200, listing.text
    ids = {f["id"] for f in listing.json().get("features", listing.json().get("items", []))}
    assert published_id in ids and draft_id not in ids
    admin = world.client.get(f"/assets/{draft_id}", headers=world.headers["admin"])
    assert admin.status_code == 200, admin.text
