"""Store contract for users, tokens and the audit log: one suite, both stores (``store``)."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import psycopg
import pytest
from factories import bulk_records, make_asset, make_org

from geo_assets.auth import User
from geo_assets.errors import (
    BulkValidationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from geo_assets.model import utcnow
from geo_assets.store import Store, open_store
from geo_assets.store.base import audit_changes

ACTOR = "user-admin"


# --- users and tokens -------------------------------------------------------------------------


def test_user_round_trip_and_conflict(store: Store) -> None:
    org = store.create_organisation(make_org(id="org-1"))
    created = store.create_user(
        User(id="u1", name="Ada", role="organisation", organisation_id=org.id)
    )
    assert created.created_at is not None and created.active
    assert store.get_user("u1") == created
    with pytest.raises(ConflictError):
        store.create_user(User(id="u1", name="Other", role="planner"))
    with pytest.raises(NotFoundError) as info:
        store.get_user("nobody")
    assert info.value.kind == "user"


def test_user_with_unknown_organisation_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInputError) as info:
        store.create_user(User(name="Bo", role="organisation", organisation_id="missing"))
    assert info.value.field == "organisation_id"
    assert store.list_users().total == 0


def test_user_model_needs_organisation_iff_role_is_organisation() -> None:
    with pytest.raises(ValueError, match="organisation_id"):
        User(name="X", role="organisation")
    with pytest.raises(ValueError, match="organisation_id"):
        User(name="X", role="planner", organisation_id="org-1")
    with pytest.raises(ValueError):
        User(name="X", role="superuser")  # type: ignore[arg-type]


def test_list_users_order_and_paging(store: Store) -> None:
    for i, name in enumerate(["carol", "Alice", "bob", "alice"]):
        store.create_user(User(id=f"u{i}", name=name, role="practitioner"))
    first = store.list_users(page=1, per_page=3)
    second = store.list_users(page=2, per_page=3)
    assert first.total == second.total == 4
    names = [u.name for u in first.items + second.items]
    assert names == ["Alice", "alice", "bob", "carol"]
    with pytest.raises(InvalidInputError):
        store.list_users(page=0)


def test_tokens_are_found_by_id_and_keep_only_the_hash(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    record = store.add_token("u1", "00112233aabbccdd", "$argon2id$fake")
    found = store.find_token("00112233aabbccdd")
    assert found == record
    assert found is not None and found.revoked_at is None and found.user_id == "u1"
    assert store.find_token("ffffffffffffffff") is None
    with pytest.raises(ConflictError):
        store.add_token("u1", "00112233aabbccdd", "$argon2id$other")
    with pytest.raises(NotFoundError):
        store.add_token("nobody", "0011223344556677", "$argon2id$x")


def test_a_sessions_token_expires_is_revoked_alone_and_is_deleted_once_ended(
    store: Store,
) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    now = utcnow().replace(microsecond=0)
    api = store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    ended = store.add_token(
        "u1", "aaaaaaaaaaaaaaa2", "h2", expires_at=now - timedelta(hours=1), session_of=api.token_id
    )
    live = store.add_token(
        "u1",
        "aaaaaaaaaaaaaaa3",
        "h3",
        expires_at=now + timedelta(hours=12),
        session_of=api.token_id,
    )
    assert (live.kind, live.parent_id, api.kind, api.parent_id) == (
        "session",
        api.token_id,
        "api",
        None,
    )
    assert store.find_token(live.token_id) == live and live.expires_at == now + timedelta(hours=12)
    assert api.expires_at is None and store.find_token(api.token_id) == api
    store.revoke_token(live.token_id)
    store.revoke_token(live.token_id)  # again: nothing more
    store.revoke_token("ffffffffffffffff")  # unknown: nothing
    revoked = store.find_token(live.token_id)
    assert revoked is not None and revoked.revoked_at is not None
    untouched = store.find_token(api.token_id)
    assert untouched is not None and untouched.revoked_at is None
    assert store.delete_expired_tokens(now) == 1
    assert store.find_token(ended.token_id) is None
    assert store.find_token(api.token_id) is not None  # never expires, never deleted
    assert store.find_token(live.token_id) is not None  # not ended yet
    assert store.delete_expired_tokens(now) == 0


def test_an_api_token_that_ended_is_kept_to_be_listed(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    past = utcnow() - timedelta(days=1)
    ended = store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1", expires_at=past)
    assert ended.kind == "api"
    assert store.delete_expired_tokens(utcnow()) == 0
    assert store.list_tokens("u1") == [ended]


def test_only_a_users_own_live_api_token_starts_a_session(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    store.create_user(User(id="u2", name="Bo", role="practitioner"))
    later = utcnow() + timedelta(hours=12)
    api = store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    other = store.add_token("u2", "bbbbbbbbbbbbbbb1", "h2")
    ended = store.add_token("u1", "aaaaaaaaaaaaaaa2", "h3", expires_at=utcnow() - timedelta(1))
    session = store.add_token(
        "u1", "aaaaaaaaaaaaaaa3", "h4", expires_at=later, session_of=api.token_id
    )
    for parent, problem in (
        ("ffffffffffffffff", "not known"),
        (other.token_id, "not known"),  # another user's
        (ended.token_id, "expired"),
        (session.token_id, "cannot start another"),
    ):
        with pytest.raises(ConflictError, match=problem):
            store.add_token("u1", "cccccccccccccccc", "h", expires_at=later, session_of=parent)
    store.revoke_token(api.token_id)
    with pytest.raises(ConflictError, match="revoked"):
        store.add_token("u1", "cccccccccccccccc", "h", expires_at=later, session_of=api.token_id)
    assert store.find_token("cccccccccccccccc") is None


def test_a_session_ends_no_later_than_the_token_that_started_it(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    now = utcnow()
    soon = store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1", expires_at=now + timedelta(minutes=5))
    lasting = store.add_token("u1", "aaaaaaaaaaaaaaa2", "h2")
    for parent, ends in ((soon, now + timedelta(minutes=5)), (lasting, now + timedelta(hours=12))):
        session = store.add_token(
            "u1",
            "bbbbbbbbbbbbbbb" + parent.token_id[-1],
            "h",
            expires_at=now + timedelta(hours=12),
            session_of=parent.token_id,
        )
        assert session.expires_at == ends
        assert store.find_token(session.token_id) == session


def test_revoking_a_token_ends_the_sessions_it_started(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    later = utcnow() + timedelta(hours=12)
    leaked = store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    kept = store.add_token("u1", "aaaaaaaaaaaaaaa2", "h2")
    for token_id, parent in (("aaaaaaaaaaaaaab1", leaked), ("aaaaaaaaaaaaaab2", kept)):
        store.add_token("u1", token_id, "h", expires_at=later, session_of=parent.token_id)
    assert store.revoke_token(leaked.token_id, actor="cli:admin") is True
    state = {t.token_id: t.revoked_at is not None for t in store.list_tokens("u1")}
    assert state == {
        leaked.token_id: True,
        "aaaaaaaaaaaaaab1": True,  # its session
        kept.token_id: False,
        "aaaaaaaaaaaaaab2": False,
    }
    (entry,) = store.list_audit("u1").items
    assert entry.changes == {"token_id": leaked.token_id, "sessions_ended": 1}


def test_a_users_tokens_are_revoked_all_but_one_at_once(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    store.create_user(User(id="u2", name="Bo", role="practitioner"))
    hour = utcnow() + timedelta(hours=1)
    first = store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    store.add_token("u1", "aaaaaaaaaaaaaaa2", "h2", expires_at=hour)
    store.add_token("u1", "aaaaaaaaaaaaaaa3", "h3", expires_at=hour, session_of=first.token_id)
    new = store.add_token("u1", "aaaaaaaaaaaaaaa4", "h4")
    other = store.add_token("u2", "bbbbbbbbbbbbbbb1", "h5")
    assert store.revoke_user_tokens("u1", keep=new.token_id, actor="cli:admin") == 3
    live = [t.token_id for t in store.list_tokens("u1") if t.revoked_at is None]
    assert live == [new.token_id]
    assert store.get_user("u1").active
    assert store.find_token(other.token_id) == other
    assert store.revoke_user_tokens("u1", keep=new.token_id) == 0
    changes = store.list_audit("u1").items[0].changes
    assert changes == {"tokens_revoked": 3, "token_kept": new.token_id}
    assert store.revoke_user_tokens("u1") == 1  # keeping none
    with pytest.raises(NotFoundError):
        store.revoke_user_tokens("nobody")


def test_a_users_tokens_are_listed_oldest_first_and_revoked_one_by_one(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    store.create_user(User(id="u2", name="Bo", role="practitioner"))
    assert store.list_tokens("u1") == []
    first = store.add_token("u1", "fffffffffffffff1", "h1")
    other = store.add_token("u2", "bbbbbbbbbbbbbbb1", "h2")
    time.sleep(1.01 - time.time() % 1)  # the next second: times are kept to the second
    second = store.add_token("u1", "aaaaaaaaaaaaaaa2", "h3", expires_at=utcnow())
    assert store.list_tokens("u1") == [first, second]  # oldest first, whatever the ids
    assert store.list_tokens("u2") == [other]
    with pytest.raises(NotFoundError):
        store.list_tokens("nobody")
    assert store.revoke_token(first.token_id, actor="cli:admin") is True
    assert store.revoke_token(first.token_id, actor="cli:admin") is False  # already
    assert store.revoke_token("ffffffffffffffff", actor="cli:admin") is False  # unknown
    listed = store.list_tokens("u1")
    assert [t.revoked_at is not None for t in listed] == [True, False]
    assert store.list_tokens("u2")[0].revoked_at is None
    audit = store.list_audit("u1").items
    assert [(e.action, e.entity, e.actor, e.changes) for e in audit] == [
        ("revoke", "user", "cli:admin", {"token_id": first.token_id})
    ]
    assert store.revoke_token(second.token_id) is True  # no actor (a sign-out): not audited
    assert len(store.list_audit("u1").items) == 1


def test_revoke_user_disables_every_token(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    store.create_user(User(id="u2", name="Bo", role="practitioner"))
    store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    store.add_token("u1", "aaaaaaaaaaaaaaa2", "h2")
    store.add_token("u2", "bbbbbbbbbbbbbbb1", "h3")
    revoked = store.revoke_user("u1", actor=ACTOR)
    assert not revoked.active and revoked.revoked_at is not None
    assert store.get_user("u1") == revoked
    for token_id in ("aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa2"):
        token = store.find_token(token_id)
        assert token is not None and token.revoked_at is not None
    other = store.find_token("bbbbbbbbbbbbbbb1")
    assert other is not None and other.revoked_at is None and store.get_user("u2").active
    # Revoking again changes nothing; a revoked user gets no new tokens.
    assert store.revoke_user("u1", actor=ACTOR) == revoked
    with pytest.raises(ConflictError):
        store.add_token("u1", "aaaaaaaaaaaaaaa3", "h4")
    entries = store.list_audit("u1").items
    assert [(e.action, e.entity, e.actor) for e in entries] == [("revoke", "user", ACTOR)]
    assert entries[0].changes["active"] == [True, False]


# --- the audit log ----------------------------------------------------------------------------


def test_writes_without_actor_are_not_audited(store: Store) -> None:
    org = store.create_organisation(make_org())
    asset = store.create_asset(make_asset(organisation_id=org.id))
    store.update_asset(asset.id, {"name": "Renamed"})
    store.bulk_upsert(bulk_records(2))
    assert store.list_audit().total == 0


def test_every_write_with_actor_leaves_one_audit_row(store: Store) -> None:
    before = utcnow()
    org = store.create_organisation(make_org(id="org-1", name="Trust"), actor=ACTOR)
    store.update_organisation("org-1", {"name": "Trust Two"}, actor=ACTOR)
    asset = store.create_asset(make_asset(id="a1", organisation_id=org.id), actor="u2")
    store.update_asset("a1", {"name": "Chess", "location": {"lat": 53.5}}, actor="u2")
    store.archive_asset("a1", actor=ACTOR)
    store.archive_organisation("org-1", actor=ACTOR)
    report = store.bulk_upsert(bulk_records(3), actor="loader")
    store.create_user(User(id="u9", name="Ann", role="planner"), actor=ACTOR)

    log = store.list_audit(per_page=100)
    assert log.total == 8
    got = [(e.action, e.entity, e.entity_id, e.actor) for e in reversed(log.items)]
    assert got == [
        ("create", "organisation", "org-1", ACTOR),
        ("update", "organisation", "org-1", ACTOR),
        ("create", "asset", "a1", "u2"),
        ("update", "asset", "a1", "u2"),
        ("archive", "asset", "a1", ACTOR),
        ("archive", "organisation", "org-1", ACTOR),
        ("bulk_upsert", "asset", None, "loader"),
        ("create", "user", "u9", ACTOR),
    ]
    seqs = [e.seq for e in log.items]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 8
    for entry in log.items:
        assert before - timedelta(seconds=1) <= entry.at <= utcnow() + timedelta(seconds=1)
        assert entry.at.utcoffset() == timedelta(0)
    by_kind = {(e.action, e.entity): e.changes for e in log.items}
    assert by_kind[("create", "asset")] == asset.model_dump(mode="json")
    assert by_kind[("update", "organisation")] == {"name": ["Trust", "Trust Two"]}
    update = by_kind[("update", "asset")]
    assert update["name"] == ["Test Group", "Chess"]
    assert update["location.lat"] == [asset.location.lat, 53.5]
    assert "location.lon" not in update and "updated_at" not in update
    assert by_kind[("archive", "asset")] == {"status": ["published", "archived"]}
    assert by_kind[("bulk_upsert", "asset")] == {"inserted": 3, "updated": 0, "ids": report.ids}
    assert [e.entity_id for e in store.list_audit("a1").items] == ["a1"] * 3


def test_failing_write_leaves_no_audit_row(store: Store) -> None:
    org = store.create_organisation(make_org(id="org-1"), actor=ACTOR)
    store.create_asset(make_asset(id="a1", organisation_id=org.id), actor=ACTOR)
    store.create_asset(make_asset(id="a2", source="s", source_id="1"), actor=ACTOR)
    assert store.list_audit().total == 3
    with pytest.raises(InvalidInputError):
        store.update_asset("a1", {"categories": []}, actor=ACTOR)  # invalid patch
    with pytest.raises(InvalidInputError):
        store.update_asset("a1", {"organisation_id": "missing"}, actor=ACTOR)
    with pytest.raises(ConflictError):  # clashes with a2's (source, source_id)
        store.update_asset("a1", {"source": "s", "source_id": "1"}, actor=ACTOR)
    with pytest.raises(ConflictError):
        store.create_asset(make_asset(id="a1"), actor=ACTOR)
    with pytest.raises(InvalidInputError):
        store.create_asset(make_asset(organisation_id="missing"), actor=ACTOR)
    with pytest.raises(ConflictError):
        store.create_organisation(make_org(id="org-1"), actor=ACTOR)
    with pytest.raises(NotFoundError):
        store.archive_asset("missing", actor=ACTOR)
    bad = [*bulk_records(2), {"kind": "group"}]
    with pytest.raises(BulkValidationError):
        store.bulk_upsert(bad, actor=ACTOR)
    assert store.list_audit().total == 3
    assert store.get_asset("a1").version == 1


def test_list_audit_paging_and_entity_filter(store: Store) -> None:
    store.create_organisation(make_org(id="org-1"), actor=ACTOR)
    for i in range(5):
        store.update_organisation("org-1", {"description": f"v{i}"}, actor=ACTOR)
    store.create_organisation(make_org(id="org-2"), actor=ACTOR)
    all_rows = store.list_audit(per_page=100).items
    pages = [store.list_audit(page=p, per_page=3) for p in (1, 2, 3)]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert all(p.total == 7 and p.pages == 3 for p in pages)
    assert [e.seq for p in pages for e in p.items] == [e.seq for e in all_rows]
    assert all_rows[0].entity_id == "org-2"  # newest first
    org1 = store.list_audit("org-1", page=2, per_page=4)
    assert org1.total == 6 and len(org1.items) == 2
    assert org1.items[-1].action == "create"
    assert store.list_audit("nothing").total == 0
    assert store.list_audit(page=9).items == []
    with pytest.raises(InvalidInputError):
        store.list_audit(per_page=0)


def test_audit_changes_diffs_nested_fields() -> None:
    a = make_asset(id="x", name="A")
    b = a.model_copy(update={"name": "B", "version": 2, "languages": ["en", "ur"]})
    assert audit_changes(a, b) == {"name": ["A", "B"], "languages": [["en"], ["en", "ur"]]}
    assert audit_changes({"cost": {"free": True}}, {"cost": {"free": False, "amount": 2}}) == {
        "cost.amount": [None, 2],
        "cost.free": [True, False],
    }
    assert audit_changes(a, a) == {}


def test_upgrading_tells_web_sessions_from_api_tokens(store: Store) -> None:
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    store.add_token("u1", "aaaaaaaaaaaaaaa2", "h2", expires_at=utcnow() + timedelta(hours=12))
    store.add_token("u1", "aaaaaaaaaaaaaaa3", "h3", expires_at=utcnow() + timedelta(days=30))
    # `--expires-days 1` where the clock ticked between the end's reckoning and the making.
    a_day = utcnow() + timedelta(days=1, seconds=-1)
    store.add_token("u1", "aaaaaaaaaaaaaaa4", "h4", expires_at=a_day)
    statements = [
        "DROP INDEX tokens_parent_idx",
        "ALTER TABLE tokens DROP COLUMN parent_id",
        "ALTER TABLE tokens DROP COLUMN kind",
        "DELETE FROM schema_migrations WHERE version = '0014'",
    ]
    if store.url.startswith("sqlite:"):
        conn = sqlite3.connect(store.url.removeprefix("sqlite:///"))
        try:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as pg:
            for statement in statements:
                pg.execute(statement)
    upgraded = open_store(store.url)  # fresh connections: none may know the old table shape
    try:
        assert upgraded.upgrade() == ["0014"]
        kinds = [(t.kind, t.parent_id) for t in upgraded.list_tokens("u1")]
        # A 12-hour token was a session's; one made to last a day or more, an administrator's.
        assert kinds == [("api", None), ("session", None), ("api", None), ("api", None)]
        assert upgraded.delete_expired_tokens(utcnow() + timedelta(days=60)) == 1
    finally:
        upgraded.close()
