"""Store contract for changes held for review (``geo_assets.review``): both stores.

An organisation's change to a reviewed field of a published listing is held, not
applied; a later proposal merges in field by field; a moderator approves (applies) or
rejects the revision they read; each step is audited and happens in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from geo_assets import review
from geo_assets.errors import (
    BulkValidationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from geo_assets.store import Store, open_store
from tests.factories import make_asset, make_org, raw_connection, run_migration, store_dialect

ORG_USER = "user-org"
ADMIN = "user-admin"


@pytest.fixture
def listing(store: Store):
    store.create_organisation(make_org(id="org-a", name="Org A"))
    store.create_organisation(make_org(id="org-b", name="Org B"))
    store.create_asset(make_asset(id="a1", name="Knit and Natter", organisation_id="org-a"))
    store.create_asset(make_asset(id="b1", name="Chess Club", organisation_id="org-b"))
    return store.get_asset("a1")


def test_held_fields_are_not_applied(store: Store, listing) -> None:
    after = store.update_asset(
        "a1", {"group_size": 12}, actor=ORG_USER, hold={"name": "Knit, Natter and Cake"}
    )
    assert after.group_size == 12 and after.name == "Knit and Natter"
    assert store.get_asset("a1").name == "Knit and Natter"
    held = store.get_held_changes("a1")
    assert held is not None
    assert held.changes == {"name": "Knit, Natter and Cake"}
    assert held.proposed_by == ORG_USER and held.revision == 1
    assert store.get_held_changes("b1") is None


def test_get_held_changes_of_unknown_listing(store: Store, listing) -> None:
    with pytest.raises(NotFoundError):
        store.get_held_changes("nope")


def test_proposals_merge_field_by_field_and_can_be_taken_back(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "New name"})
    store.update_asset("a1", {}, actor=ORG_USER, hold={"description": "New words"})
    held = store.get_held_changes("a1")
    assert held is not None and held.revision == 2
    assert held.changes == {"name": "New name", "description": "New words"}
    # Proposing the published value takes the field back.
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit and Natter"})
    held = store.get_held_changes("a1")
    assert held is not None and held.changes == {"description": "New words"}
    store.update_asset("a1", {}, actor=ORG_USER, hold={"description": listing.description})
    assert store.get_held_changes("a1") is None
    assert store.list_held_changes() == []


def test_approve_applies_the_held_changes(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    approved = store.resolve_held_changes("a1", approve=True, revision=1, actor=ADMIN)
    assert approved.name == "Knit Club"
    assert approved.version == listing.version + 1
    assert store.get_asset("a1") == approved
    assert store.get_held_changes("a1") is None


def test_reject_drops_them(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    kept = store.resolve_held_changes("a1", approve=False, revision=1, actor=ADMIN)
    assert kept == listing
    assert store.get_asset("a1") == listing
    assert store.get_held_changes("a1") is None


def test_a_newer_revision_is_not_decided_unseen(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Somewhere else"})
    with pytest.raises(ConflictError, match="revision 2"):
        store.resolve_held_changes("a1", approve=True, revision=1, actor=ADMIN)
    assert store.get_asset("a1") == listing
    held = store.get_held_changes("a1")
    assert held is not None and held.revision == 2


def test_deciding_nothing_held_is_not_found(store: Store, listing) -> None:
    with pytest.raises(NotFoundError, match="held changes"):
        store.resolve_held_changes("a1", approve=True, revision=1, actor=ADMIN)


def test_a_proposal_must_make_a_valid_listing(store: Store, listing) -> None:
    with pytest.raises(InvalidInputError, match="venue_id"):
        store.update_asset("a1", {"group_size": 3}, actor=ORG_USER, hold={"venue_id": "a1"})
    with pytest.raises(InvalidInputError, match="name"):
        store.update_asset("a1", {}, actor=ORG_USER, hold={"name": ""})
    assert store.get_asset("a1") == listing  # the live part was not made either
    assert store.get_held_changes("a1") is None


def test_the_queue_keeps_the_first_proposals_time(
    store: Store, listing, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter([datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 2, 9, tzinfo=UTC)])
    monkeypatch.setattr(review, "utcnow", lambda: next(ticks))
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    store.update_asset("a1", {}, actor="user-org-2", hold={"description": "More"})
    held = store.get_held_changes("a1")
    assert held is not None
    assert (held.proposed_at, held.proposed_by, held.revision) == (
        datetime(2026, 5, 1, 9, tzinfo=UTC),
        "user-org-2",
        2,
    )


def test_a_moderators_edit_prunes_what_it_made_true(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club", "description": "d"})
    store.update_asset("a1", {"name": "Knit Club"}, actor=ADMIN)
    held = store.get_held_changes("a1")
    assert held is not None and held.changes == {"description": "d"}
    assert held.proposed_by == ORG_USER


def test_list_is_oldest_first_and_by_organisation(
    store: Store, listing, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter([datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 1, 10, tzinfo=UTC)])
    monkeypatch.setattr(review, "utcnow", lambda: next(ticks))
    store.update_asset("b1", {}, actor="user-b", hold={"name": "Chess and Draughts"})
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    assert [h.asset_id for h in store.list_held_changes()] == ["b1", "a1"]
    assert [h.asset_id for h in store.list_held_changes(organisation_id="org-a")] == ["a1"]


def test_bulk_upsert_holds_in_its_transaction(store: Store, listing) -> None:
    fresh = make_asset(id="c1", name="New Walk", source="s", source_id="1")
    store.bulk_upsert([fresh], actor=ORG_USER, holds={"a1": {"name": "Knit Club"}})
    held = store.get_held_changes("a1")
    assert held is not None and held.changes == {"name": "Knit Club"}
    # A failed load holds nothing.
    bad = make_asset(id="c2", name="Other", source="s", source_id="2").model_dump()
    bad["location"] = {"lat": 95, "lon": 0}
    with pytest.raises(BulkValidationError):
        store.bulk_upsert([bad], actor=ORG_USER, holds={"b1": {"name": "Chess Club 2"}})
    assert store.get_held_changes("b1") is None


def test_each_step_is_audited(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    store.resolve_held_changes("a1", approve=True, revision=1, actor=ADMIN)
    store.update_asset("a1", {}, actor=ORG_USER, hold={"description": "no"})
    store.resolve_held_changes("a1", approve=False, revision=2, actor=ADMIN)
    entries = [e for e in store.list_audit(entity_id="a1").items if e.action != "create"]
    actions = [(e.actor, e.action) for e in entries]
    assert ("user-org", "propose") in actions
    assert ("user-admin", "approve") in actions and ("user-admin", "reject") in actions
    approve = next(e for e in entries if e.action == "approve")
    assert approve.changes["fields"] == ["name"]
    assert approve.changes["changes"]["name"] == ["Knit and Natter", "Knit Club"]
    json.dumps([e.changes for e in entries])  # plain JSON


def test_a_proposal_can_insist_on_the_revision_it_read(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"}, held_revision=0)
    with pytest.raises(ConflictError, match="revision 1, not 0"):
        store.update_asset(
            "a1", {"group_size": 4}, actor=ORG_USER, hold={"name": "Other"}, held_revision=0
        )
    assert store.get_asset("a1").group_size == listing.group_size  # nothing of it made
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Other"}, held_revision=1)
    held = store.get_held_changes("a1")
    assert held is not None and (held.changes, held.revision) == ({"name": "Other"}, 2)


def test_a_revision_number_is_never_used_twice(store: Store, listing) -> None:
    """A moderator who read revision 1 (a harmless rename) must not approve what the
    organisation proposed after taking that back, or after a decision."""
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": listing.name})  # taken back
    assert store.get_held_changes("a1") is None
    store.update_asset("a1", {}, actor=ORG_USER, hold={"contact": {"phone": "0900 000000"}})
    held = store.get_held_changes("a1")
    assert held is not None and held.revision == 3
    with pytest.raises(ConflictError):
        store.resolve_held_changes("a1", approve=True, revision=1, actor=ADMIN)
    store.resolve_held_changes("a1", approve=False, revision=3, actor=ADMIN)
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Again"})
    again = store.get_held_changes("a1")
    assert again is not None and again.revision == 4
    with pytest.raises(ConflictError):
        store.resolve_held_changes("a1", approve=True, revision=3, actor=ADMIN)
    assert store.get_asset("a1") == listing
    assert [h.asset_id for h in store.list_held_changes()] == ["a1"]


def test_a_load_that_makes_a_proposal_true_prunes_it(store: Store, listing) -> None:
    store.update_asset("a1", {"source": "feed", "source_id": "k1"}, actor=ADMIN)
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club", "description": "d"})
    row = store.get_asset("a1").model_copy(update={"name": "Knit Club"})
    store.bulk_upsert([row], actor=ADMIN)
    held = store.get_held_changes("a1")
    assert held is not None and held.changes == {"description": "d"}
    store.bulk_upsert([row.model_copy(update={"description": "d"})], actor=ADMIN)
    assert store.get_held_changes("a1") is None
    assert store.list_held_changes() == []


def test_a_load_whose_hold_is_refused_loads_nothing(store: Store, listing) -> None:
    fresh = make_asset(id="c1", name="New Walk", source="s", source_id="1")
    with pytest.raises(InvalidInputError):
        store.bulk_upsert([fresh], actor=ORG_USER, holds={"a1": {"venue_id": "a1"}})
    with pytest.raises(NotFoundError):
        store.get_asset("c1")
    assert store.get_held_changes("a1") is None


def test_after_a_decision_nothing_waits_so_the_revision_read_is_0(store: Store, listing) -> None:
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    store.resolve_held_changes("a1", approve=False, revision=1, actor=ADMIN)
    with pytest.raises(ConflictError):
        store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Other"}, held_revision=1)
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Other"}, held_revision=0)
    held = store.get_held_changes("a1")
    assert held is not None and held.revision == 2


def test_a_load_refuses_listings_changed_since_they_were_read(store: Store, listing) -> None:
    store.update_asset("a1", {"source": "feed", "source_id": "k1"}, actor=ADMIN)
    read = store.get_asset("a1")
    store.update_asset("a1", {"description": "A moderator's words"}, actor=ADMIN)
    fresh = make_asset(id="c1", name="New Walk", source="feed", source_id="k2")
    row = read.model_copy(update={"group_size": 7})
    with pytest.raises(ConflictError, match="changed after it was read"):
        store.bulk_upsert([row, fresh], actor=ORG_USER, read_at={"a1": read.version})
    assert store.get_asset("a1").description == "A moderator's words"
    with pytest.raises(NotFoundError):
        store.get_asset("c1")
    now = store.get_asset("a1")
    store.bulk_upsert([now.model_copy(update={"group_size": 7})], read_at={"a1": now.version})
    assert store.get_asset("a1").group_size == 7


# --- listings a moderator has published stay under review --------------------------------------


def test_a_listing_is_moderated_once_published_and_stays_so(store: Store) -> None:
    store.create_organisation(make_org(id="org-a", name="Org A"))
    live = store.create_asset(make_asset(id="m1", organisation_id="org-a", moderated=False))
    assert live.moderated  # created published: the store decides, whatever was sent
    waiting = store.create_asset(
        make_asset(id="m2", organisation_id="org-a", status="pending", moderated=True)
    )
    assert not waiting.moderated
    assert not store.update_asset("m2", {"name": "Still waiting"}).moderated
    assert store.update_asset("m2", {"status": "published"}).moderated
    for status in ("pending", "draft", "archived"):
        assert store.update_asset("m1", {"status": status}).moderated
        assert store.get_asset("m1").moderated
    with pytest.raises(InvalidInputError, match="moderated"):
        store.update_asset("m1", {"moderated": False})


def test_a_bulk_load_keeps_a_listing_moderated(store: Store) -> None:
    store.create_organisation(make_org(id="org-a", name="Org A"))

    def row(source_id: str, status: str, **extra: object) -> dict[str, object]:
        asset = make_asset(
            source="sheet", source_id=source_id, organisation_id="org-a", status=status
        )
        return {**asset.model_dump(mode="json"), **extra}

    store.bulk_upsert([row("r1", "published"), row("r2", "pending", moderated=True)])
    first = {a.source_id: a for a in store.list_assets(per_page=10).items}
    assert (first["r1"].moderated, first["r2"].moderated) == (True, False)
    # Taken off the directory by a later load: still moderated. Published by one: so.
    store.bulk_upsert([row("r1", "pending", moderated=False), row("r2", "published")])
    second = {a.source_id: a for a in store.list_assets(per_page=10).items}
    assert (second["r1"].moderated, second["r2"].moderated) == (True, True)
    assert second["r1"].status == "pending"
    # Loaded again while off the directory: it remembers, not only the status it had.
    store.bulk_upsert([row("r1", "draft")])
    third = {a.source_id: a for a in store.list_assets(per_page=10).items}
    assert (third["r1"].status, third["r1"].moderated) == ("draft", True)


def test_a_moderated_listing_taken_off_the_directory_still_holds_changes(store: Store) -> None:
    """An organisation's rename of a listing it took back to pending waits as on a
    published one: it cannot come back to the queue changed but looking checked."""
    store.create_organisation(make_org(id="org-a", name="Org A"))
    store.create_asset(make_asset(id="m1", name="Knit and Natter", organisation_id="org-a"))
    before = store.update_asset("m1", {"status": "pending"}, actor=ORG_USER)
    assert review.needs_review("organisation", before)
    assert not review.needs_review("admin", before)
    store.update_asset("m1", {}, actor=ORG_USER, hold={"name": "Call 0900 000000"})
    assert store.get_asset("m1").name == "Knit and Natter"
    store.update_asset("m1", {"status": "published"}, actor=ADMIN)
    assert store.get_asset("m1").name == "Knit and Natter"  # published again as checked
    held = store.get_held_changes("m1")
    assert held is not None and held.changes == {"name": "Call 0900 000000"}
    fresh = store.create_asset(make_asset(id="m2", organisation_id="org-a", status="pending"))
    assert not review.needs_review("organisation", fresh)  # never checked: changed at once


# Listings stored before `moderated` existed have no such key in their documents.
_SQL = {
    "sqlite": {
        "forget": "UPDATE assets SET doc = json_remove(doc, '$.moderated')",
        "unpublish": "UPDATE assets SET status = 'pending',"
        " doc = json_set(doc, '$.status', 'pending') WHERE id = ?",
    },
    "postgis": {
        "forget": "UPDATE assets SET doc = (doc::jsonb - 'moderated')::json",
        "unpublish": "UPDATE assets SET status = 'pending',"
        ' doc = (doc::jsonb || \'{"status": "pending"}\'::jsonb)::json WHERE id = %s',
    },
}


def _as_before_moderated(store: Store, unpublish: tuple[str, ...] = ()) -> Store:
    """The store's listings as a version without `moderated` left them (``unpublish``:
    taken off the directory then), read through a new store (no cached documents)."""
    sql = _SQL[store_dialect(store)]
    with raw_connection(store) as conn:
        conn.execute(sql["forget"])
        for asset_id in unpublish:
            conn.execute(sql["unpublish"], (asset_id,))
    return open_store(store.url)


def test_a_listing_stored_before_moderated_existed_is_marked_when_taken_off(
    store: Store,
) -> None:
    store.create_organisation(make_org(id="org-a", name="Org A"))
    for i in (1, 2):
        store.create_asset(
            make_asset(id=f"old{i}", organisation_id="org-a", source="sheet", source_id=f"r{i}")
        )
    older = _as_before_moderated(store)
    try:
        assert not older.get_asset("old1").moderated  # published: its status covers it
        assert older.update_asset("old1", {"status": "pending"}).moderated
        row = {**older.get_asset("old2").model_dump(mode="json"), "status": "pending"}
        older.bulk_upsert([row])
        assert older.get_asset("old2").moderated
    finally:
        older.close()


def test_the_migration_marks_listings_published_before_it(store: Store) -> None:
    """0017 marks what is published now, what had changes held, and what the audit log
    shows created or updated as published; not a listing never published."""
    store.create_organisation(make_org(id="org-a", name="Org A"))
    store.create_asset(make_asset(id="live", organisation_id="org-a"))
    store.create_asset(make_asset(id="created-live", organisation_id="org-a"), actor=ADMIN)
    store.create_asset(make_asset(id="published-later", organisation_id="org-a", status="pending"))
    store.update_asset("published-later", {"status": "published"}, actor=ADMIN)
    store.create_asset(make_asset(id="held", organisation_id="org-a"))
    store.update_asset("held", {}, actor=ORG_USER, hold={"name": "Renamed"})
    store.create_asset(make_asset(id="never", organisation_id="org-a", status="pending"))
    taken_off = ("created-live", "published-later", "held")
    older = _as_before_moderated(store, unpublish=taken_off)
    try:
        assert not any(older.get_asset(i).moderated for i in (*taken_off, "live", "never"))
        run_migration(store, "0017_moderated.sql")
    finally:
        older.close()
    migrated = open_store(store.url)
    try:
        marked = {i: migrated.get_asset(i).moderated for i in (*taken_off, "live", "never")}
    finally:
        migrated.close()
    assert marked == {
        "created-live": True,
        "published-later": True,
        "held": True,
        "live": True,
        "never": False,
    }


def test_a_held_change_that_cannot_be_read_leaves_the_rest_of_the_queue(
    store: Store, listing, caplog: pytest.LogCaptureFixture
) -> None:
    """A row edited by hand past reading is left out, named in the log; the others stay."""
    store.create_asset(make_asset(id="a2", name="Choir", organisation_id="org-a"))
    for asset_id in ("a1", "a2"):
        store.update_asset(asset_id, {}, actor=ORG_USER, hold={"name": f"New {asset_id}"})
    store.update_organisation("org-b", {}, actor=ORG_USER, hold={"name": "Org B Ltd"})
    with raw_connection(store) as conn:
        conn.execute("UPDATE held_changes SET doc = '{\"broken\": 1}' WHERE asset_id = 'a1'")
        conn.execute("UPDATE held_organisation_changes SET doc = '{\"broken\": 1}'")
    with caplog.at_level("WARNING", logger="geo_assets.store.base"):
        assert [h.asset_id for h in store.list_held_changes()] == ["a2"]
        assert [h.asset_id for h in store.list_held_changes(organisation_id="org-a")] == ["a2"]
        assert store.list_held_organisation_changes() == []
    assert {"'a1'", "'org-b'"} <= {w.split()[3] for w in caplog.messages}
