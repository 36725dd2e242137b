"""`geo-assets users ...` (add, list, token(s), revoke, revoke-token) through typer's CliRunner."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_org
from typer.testing import CliRunner

from geo_assets.auth import TOKEN_PREFIX, User, VerifiedTokens, authenticate
from geo_assets.cli import app
from geo_assets.errors import AuthenticationRequired
from geo_assets.model import utcnow
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


def _token_id(token: str) -> str:
    return token.strip()[len(TOKEN_PREFIX) :].split("_")[0]


def _added(url: str, name: str) -> tuple[str, User]:
    """A new practitioner's first token and the user it signs in as."""
    code, out, err = _run(url, "add", name, "--role", "practitioner")
    assert code == 0, err
    store = open_store(url)
    try:
        return out.strip(), authenticate(store, out.strip(), cache=VerifiedTokens())
    finally:
        store.close()


def test_a_token_can_end_after_some_days(url: str) -> None:
    code, out, err = _run(url, "add", "Cy", "--role", "planner", "--expires-days", "30")
    assert code == 0, err
    assert "valid until 20" in err  # a date, not "until revoked"
    store = open_store(url)
    try:
        user = authenticate(store, out.strip(), cache=VerifiedTokens())
        (record,) = store.list_tokens(user.id)
        assert record.expires_at is not None
        assert timedelta(days=29, hours=23) < record.expires_at - utcnow() <= timedelta(days=30)
    finally:
        store.close()
    code, out, err = _run(url, "token", user.id)
    assert code == 0 and "valid until revoked" in err
    for days in ("0", "3651", "soon"):
        code, _, err = _run(url, "token", user.id, "--expires-days", days)
        assert code == 2 and "--expires-days" in err


def test_tokens_are_listed_without_secrets_and_revoked_one_at_a_time(url: str) -> None:
    first, user = _added(url, "Di")
    _, second, _ = _run(url, "token", user.id, "--expires-days", "7")
    code, out, err = _run(url, "tokens", user.id)
    assert code == 0, err
    header, *lines = out.strip().splitlines()
    assert header.split()[:4] == ["token", "id", "kind", "state"]
    by_id = {line.split()[0]: line for line in lines}  # the order: the stores' contract
    assert by_id.keys() == {_token_id(first), _token_id(second)}
    assert all(line.split()[1:3] == ["api", "live"] for line in lines)
    assert "until revoked" in by_id[_token_id(first)]
    assert "until revoked" not in by_id[_token_id(second)]
    assert first.strip() not in out and "argon2" not in out
    # By id, or pasting the whole token; the other one keeps working.
    code, out, err = _run(url, "revoke-token", first.strip())
    assert code == 0 and f"revoked token {_token_id(first)} of user {user.id}" in out, err
    code, out, _ = _run(url, "revoke-token", _token_id(first))
    assert code == 0 and "already revoked" in out
    store = open_store(url)
    try:
        with pytest.raises(AuthenticationRequired):
            authenticate(store, first.strip(), cache=VerifiedTokens())
        assert authenticate(store, second.strip(), cache=VerifiedTokens()).id == user.id
        audit = store.list_audit(user.id).items
        assert (audit[0].action, audit[0].changes) == ("revoke", {"token_id": _token_id(first)})
        assert audit[0].actor.startswith("cli")
    finally:
        store.close()
    code, out, _ = _run(url, "tokens", user.id, "--json")
    rows = json.loads(out)
    assert sorted((r["token_id"], r["state"]) for r in rows) == sorted(
        [(_token_id(first), "revoked"), (_token_id(second), "live")]
    )
    assert [r["token_id"] for r in rows] == [
        r["token_id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["token_id"]))
    ]
    assert set(rows[0]) == {
        "token_id",
        "kind",
        "started_by",
        "state",
        "created_at",
        "expires_at",
        "revoked_at",
    }
    code, _, err = _run(url, "revoke-token", "ffffffffffffffff")
    assert code == 1 and "ffffffffffffffff" in err
    for bad in ("not-a-token", "ga_zzzz", "ABCDEF0123456789"):
        code, _, err = _run(url, "revoke-token", bad)
        assert code == 2 and "token" in err
    code, _, err = _run(url, "tokens", "nobody")
    assert code == 1 and "nobody" in err


def test_replace_issues_a_new_token_and_ends_every_other(url: str) -> None:
    first, user = _added(url, "Ed")
    store = open_store(url)
    try:
        _, second, _ = _run(url, "token", user.id)
        code, third, err = _run(url, "token", user.id, "--replace")
        assert code == 0 and "revoked 2 other token(s)" in err
        for token in (first, second):
            with pytest.raises(AuthenticationRequired):
                authenticate(store, token.strip(), cache=VerifiedTokens())
        assert authenticate(store, third.strip(), cache=VerifiedTokens()).id == user.id
    finally:
        store.close()
    code, _, err = _run(url, "token", user.id, "--replace")
    assert code == 0 and "revoked 1 other token(s)" in err
