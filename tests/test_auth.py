"""Tokens, the verification cache and the authorisation rules (core, then the HTTP deps)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from factories import make_asset, make_org
from fastapi import Depends, FastAPI

from api.deps import CurrentUser, require_roles
from api.errors import install_error_handlers
from geo_assets import auth
from geo_assets.auth import (
    User,
    VerifiedTokens,
    authenticate,
    authorise_asset_write,
    authorise_organisation_write,
    can_read_asset,
    issue_token,
    new_token,
    parse_token,
    readable_filters,
    require_role,
    start_session,
)
from geo_assets.errors import AuthenticationRequired, PermissionDenied
from geo_assets.store import AssetFilters, Store, open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN = User(id="admin", name="Admin", role="admin")
PRACTITIONER = User(id="prac", name="Pat", role="practitioner")
PLANNER = User(id="plan", name="Pam", role="planner")
ORG_A = User(id="orga", name="Olu", role="organisation", organisation_id="org-a")


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'auth.sqlite'}")
    store.upgrade()
    yield store
    store.close()


# --- tokens -----------------------------------------------------------------------------------


def test_token_shape_and_parsing() -> None:
    token_id, secret, token = new_token()
    assert token == f"ga_{token_id}_{secret}"
    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert parse_token(token) == (token_id, secret)
    for bad in ["", "ga_", "xx_0011223344556677_s", "ga_0011_s", "ga_00112233445566zz_s",
                "ga_0011223344556677_", "ga_0011223344556677", "ga_" + "a" * 300]:  # fmt: skip
        with pytest.raises(AuthenticationRequired) as info:
            parse_token(bad)
        assert info.value.invalid_token


def test_hash_uses_owasp_minimum_argon2id() -> None:
    stored = auth.hash_secret("s3cret")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert auth.verify_secret(stored, "s3cret")
    assert not auth.verify_secret(stored, "other")
    assert not auth.verify_secret("not a hash", "s3cret")


def test_authenticate_checks_secret_and_revocation(sqlite: Store) -> None:
    sqlite.create_user(PRACTITIONER)
    token = issue_token(sqlite, PRACTITIONER.id)
    cache = VerifiedTokens()
    assert authenticate(sqlite, token, cache=cache).id == PRACTITIONER.id
    token_id, _ = parse_token(token)
    forged = f"ga_{token_id}_{'x' * 43}"
    with pytest.raises(AuthenticationRequired):
        authenticate(sqlite, forged, cache=cache)
    with pytest.raises(AuthenticationRequired):
        authenticate(sqlite, "ga_0011223344556677_nope", cache=cache)
    # Revocation is immediate even though the token's secret check is cached.
    assert cache.get(token) is not None
    sqlite.revoke_user(PRACTITIONER.id)
    with pytest.raises(AuthenticationRequired, match="revoked"):
        authenticate(sqlite, token, cache=cache)


def test_a_token_with_an_expiry_is_refused_from_then_on(sqlite: Store) -> None:
    from datetime import timedelta

    from geo_assets.model import utcnow

    sqlite.create_user(PRACTITIONER)
    cache = VerifiedTokens()
    later = issue_token(sqlite, PRACTITIONER.id, expires_at=utcnow() + timedelta(hours=1))
    assert authenticate(sqlite, later, cache=cache).id == PRACTITIONER.id
    ended = issue_token(sqlite, PRACTITIONER.id, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(AuthenticationRequired, match="bearer token has expired"):
        authenticate(sqlite, ended, cache=cache)
    session_ended, _ = start_session(
        sqlite, PRACTITIONER.id, parse_token(later)[0], utcnow() - timedelta(seconds=1)
    )
    with pytest.raises(AuthenticationRequired, match="session has ended: sign in again"):
        authenticate(sqlite, session_ended, cache=cache)


def test_cache_skips_argon2_but_not_the_store(sqlite: Store, monkeypatch) -> None:
    sqlite.create_user(PLANNER)
    token = issue_token(sqlite, PLANNER.id)
    cache = VerifiedTokens(ttl_s=60)
    calls: list[str] = []
    real_verify = auth.verify_secret
    monkeypatch.setattr(auth, "verify_secret", lambda h, s: calls.append(s) or real_verify(h, s))
    for _ in range(3):
        authenticate(sqlite, token, cache=cache)
    assert len(calls) == 1
    assert token.encode() not in b"".join(cache._items)  # keyed by a digest, not the token
    expired = VerifiedTokens(ttl_s=-1)
    authenticate(sqlite, token, cache=expired)
    authenticate(sqlite, token, cache=expired)
    assert len(calls) == 3


def test_cache_stays_bounded() -> None:
    cache = VerifiedTokens(max_entries=3)
    for i in range(10):
        cache.put(f"t{i}", f"id{i}", "u")
    assert len(cache._items) <= 3 and cache.get("t9") == ("id9", "u")


# --- rules ------------------------------------------------------------------------------------


def test_require_role() -> None:
    with pytest.raises(AuthenticationRequired):
        require_role(None, "practitioner")
    with pytest.raises(PermissionDenied, match="planner"):
        require_role(PLANNER, "practitioner")
    assert require_role(ADMIN, "practitioner") is ADMIN
    assert require_role(PRACTITIONER, "practitioner") is PRACTITIONER
    with pytest.raises(ValueError, match="wizard"):
        require_role(ADMIN, "wizard")


def test_asset_write_rules() -> None:
    own = make_asset(id="a1", organisation_id="org-a", status="draft")
    other = make_asset(id="a2", organisation_id="org-b", status="draft")
    # Creation by an organisation user: forced to pending, own organisation filled in.
    created = authorise_asset_write(ORG_A, None, make_asset(status="published"))
    assert (created.status, created.organisation_id) == ("pending", "org-a")
    with pytest.raises(PermissionDenied):
        authorise_asset_write(ORG_A, None, make_asset(organisation_id="org-b"))
    renamed = own.model_copy(update={"name": "New"})
    assert authorise_asset_write(ORG_A, own, renamed) is renamed
    with pytest.raises(PermissionDenied, match="another organisation"):
        authorise_asset_write(ORG_A, other, other.model_copy(update={"name": "x"}))
    with pytest.raises(PermissionDenied):  # moving its asset to another organisation
        authorise_asset_write(ORG_A, own, own.model_copy(update={"organisation_id": "org-b"}))
    with pytest.raises(PermissionDenied, match="publish"):
        authorise_asset_write(ORG_A, own, own.model_copy(update={"status": "published"}))
    archived = own.model_copy(update={"status": "archived"})
    assert authorise_asset_write(ORG_A, own, archived) is archived
    published = own.model_copy(update={"status": "published"})
    assert authorise_asset_write(ADMIN, own, published) is published
    assert authorise_asset_write(ADMIN, None, published).status == "published"
    for user in (PRACTITIONER, PLANNER):
        with pytest.raises(PermissionDenied):
            authorise_asset_write(user, own, renamed)
    with pytest.raises(AuthenticationRequired):
        authorise_asset_write(None, None, own)


def test_organisation_write_rules() -> None:
    org_a, org_b = make_org(id="org-a"), make_org(id="org-b")
    edit = org_a.model_copy(update={"name": "A2"})
    assert authorise_organisation_write(ORG_A, org_a, edit) is edit
    with pytest.raises(PermissionDenied):
        authorise_organisation_write(ORG_A, org_b, org_b)
    with pytest.raises(PermissionDenied):
        authorise_organisation_write(ORG_A, None, org_a)
    with pytest.raises(PermissionDenied):
        authorise_organisation_write(ORG_A, org_a, org_a.model_copy(update={"status": "archived"}))
    assert authorise_organisation_write(ADMIN, None, org_b) is org_b
    with pytest.raises(PermissionDenied):
        authorise_organisation_write(PRACTITIONER, org_a, edit)


def test_read_rules() -> None:
    draft_a = make_asset(organisation_id="org-a", status="draft")
    published = make_asset(status="published")
    assert can_read_asset(None, published)
    assert not can_read_asset(None, draft_a) and not can_read_asset(PLANNER, draft_a)
    assert can_read_asset(ORG_A, draft_a) and can_read_asset(ADMIN, draft_a)
    public = AssetFilters(statuses=["published"])
    assert readable_filters(None, public) is public
    drafts = AssetFilters(statuses=["draft"])
    with pytest.raises(AuthenticationRequired):
        readable_filters(None, drafts)
    with pytest.raises(AuthenticationRequired):
        readable_filters(None, AssetFilters())  # no statuses = all statuses
    with pytest.raises(PermissionDenied):
        readable_filters(PRACTITIONER, drafts)
    assert readable_filters(ORG_A, drafts).organisation_id == "org-a"
    with pytest.raises(PermissionDenied):
        readable_filters(ORG_A, AssetFilters(statuses=["draft"], organisation_id="org-b"))
    assert readable_filters(ADMIN, drafts) is drafts


# --- HTTP dependencies ------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    store = open_store(f"sqlite:///{tmp_path / 'deps.sqlite'}")
    store.upgrade()
    store.create_user(PRACTITIONER)
    store.create_user(PLANNER)
    tokens = {u.id: issue_token(store, u.id) for u in (PRACTITIONER, PLANNER)}
    app = FastAPI()
    app.state.store = store
    install_error_handlers(app)

    @app.get("/whoami")
    def whoami(user: CurrentUser) -> dict[str, str | None]:
        return {"id": user.id if user else None}

    @app.post("/match-only")
    def match_only(
        user: Annotated[User, Depends(require_roles("practitioner"))],
    ) -> dict[str, str]:
        return {"id": user.id}

    with TestClient(app) as test_client:
        yield test_client, tokens
    store.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_current_user_and_require_roles(client: tuple[TestClient, dict[str, str]]) -> None:
    http, tokens = client
    assert http.get("/whoami").json() == {"id": None}
    assert http.get("/whoami", headers=_bearer(tokens["prac"])).json() == {"id": "prac"}
    for headers in (_bearer("garbage"), {"Authorization": "Basic dXNlcjpwdw=="},
                    _bearer("ga_0011223344556677_unknown")):  # fmt: skip
        response = http.get("/whoami", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    anonymous = http.post("/match-only")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="geo-assets"'
    assert http.post("/match-only", headers=_bearer(tokens["prac"])).status_code == 200
    denied = http.post("/match-only", headers=_bearer(tokens["plan"]))
    assert denied.status_code == 403 and denied.json()["type"].endswith("permission-denied")
    with pytest.raises(ValueError):
        require_roles("wizard")
