"""`geo-assets users add/list/token/revoke`, driven in-process through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_org
from typer.testing import CliRunner

from geo_assets.auth import TOKEN_PREFIX, VerifiedTokens, authenticate
from geo_assets.cli import app
from geo_assets.errors import AuthenticationRequired
from geo_assets.store import open_store

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    store = open_store(url)
    store.upgrade()
    store.create_organisation(make_org(id="org-1"))
    store.close()
    return url


def _run(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, "users", *args])
    return result.exit_code, result.stdout, result.stderr


def test_add_prints_a_working_token_once_and_stores_only_its_hash(url: str) -> None:
    code, out, err = _run(url, "add", "Ada Lovelace", "--role", "admin")
    assert code == 0, err
    token = out.strip()
    assert token.startswith(TOKEN_PREFIX) and len(out.strip().splitlines()) == 1
    assert "shown only this once" in err and "created user" in err
    store = open_store(url)
    try:
        user = authenticate(store, token, cache=VerifiedTokens())
        assert (user.name, user.role, user.active) == ("Ada Lovelace", "admin", True)
        secret = token.split("_", 2)[2]
        with store._read() as conn:  # type: ignore[attr-defined]
            stored = [r[0] for r in conn.execute("SELECT secret_hash FROM tokens")]
        assert len(stored) == 1 and stored[0].startswith("$argon2id$")
        assert secret not in stored[0]
        audit = store.list_audit(user.id).items
        assert [(e.action, e.actor.startswith("cli")) for e in audit] == [("create", True)]
    finally:
        store.close()
    # The listing never shows a token or a hash.
    code, out, _ = _run(url, "list")
    assert code == 0 and "Ada Lovelace" in out and user.id in out
    assert token not in out and "argon2" not in out and secret not in out


def test_organisation_role_needs_an_existing_organisation(url: str) -> None:
    code, _, err = _run(url, "add", "Org user", "--role", "organisation")
    assert code == 2 and "organisation_id" in err
    code, _, err = _run(url, "add", "Org user", "--role", "organisation", "--organisation", "nope")
    assert code == 2 and "organisation_id" in err
    code, _, err = _run(url, "add", "Planner", "--role", "planner", "--organisation", "org-1")
    assert code == 2 and "organisation_id" in err
    code, _, err = _run(url, "add", "Wizard", "--role", "wizard")
    assert code == 2 and "role" in err
    code, out, err = _run(
        url, "add", "Org user", "--role", "organisation", "--organisation", "org-1"
    )
    assert code == 0, err
    code, out, _ = _run(url, "list", "--json")
    users = json.loads(out)
    assert [(u["name"], u["role"], u["organisation_id"]) for u in users] == [
        ("Org user", "organisation", "org-1")
    ]
    assert set(users[0]) == {"id", "name", "role", "organisation_id", "active", "created_at",
                             "revoked_at"}  # fmt: skip


def test_revoke_disables_every_token(url: str) -> None:
    _, first, _ = _run(url, "add", "Bo", "--role", "practitioner")
    store = open_store(url)
    try:
        user = authenticate(store, first.strip(), cache=VerifiedTokens())
        code, second, err = _run(url, "token", user.id)
        assert code == 0, err
        assert second.strip() != first.strip()
        assert authenticate(store, second.strip(), cache=VerifiedTokens()).id == user.id
        code, out, _ = _run(url, "revoke", user.id)
        assert code == 0 and "revoked user" in out
        for token in (first, second):
            with pytest.raises(AuthenticationRequired):
                authenticate(store, token.strip(), cache=VerifiedTokens())
    finally:
        store.close()
    code, out, _ = _run(url, "revoke", user.id)
    assert code == 0 and "already revoked" in out
    code, _, err = _run(url, "token", user.id)
    assert code == 1 and "revoked" in err
    code, out, _ = _run(url, "list")
    assert "revoked" in out
    code, _, err = _run(url, "revoke", "nobody")
    assert code == 1 and "nobody" in err


def test_list_on_an_empty_store(url: str) -> None:
    code, out, _ = _run(url, "list")
    assert code == 0 and "no users yet" in out
