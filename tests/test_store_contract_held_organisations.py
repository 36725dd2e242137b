"""Store contract for changes to an organisation's record held for review
(``geo_assets.review``): both stores.

An organisation user's change to a reviewed field of its own record (name, description,
e-mail, phone, web site) is held, not applied; a later proposal merges in field by field;
a moderator approves (applies) or rejects the revision they read; each step is audited
and happens in one transaction. Held organisation changes live apart from a listing's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from geo_assets import review
from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError
from geo_assets.review import ORGANISATION_REVIEWED_FIELDS, HeldOrganisationChanges
from geo_assets.store import Store
from tests.factories import make_asset, make_org

ORG_USER = "user-org"
ADMIN = "user-admin"


@pytest.fixture
def org(store: Store):
    store.create_organisation(
        make_org(
            id="org-a",
            name="Org A",
            description="Runs groups.",
            email="hello@org-a.example",
            phone="0113 000 0000",
            url="https://org-a.example",
        ),
        actor=ADMIN,
    )
    store.create_organisation(make_org(id="org-b", name="Org B"))
    return store.get_organisation("org-a")


def test_the_reviewed_fields_are_what_an_admin_checked() -> None:
    assert ORGANISATION_REVIEWED_FIELDS == ("name", "description", "email", "phone", "url")
    assert review.needs_review("organisation", make_org(id="x"))
    assert not review.needs_review("admin", make_org(id="x"))


def test_held_fields_are_not_applied(store: Store, org) -> None:
    after = store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    assert after == org
    assert store.get_organisation("org-a") == org
    held = store.get_held_organisation_changes("org-a")
    assert isinstance(held, HeldOrganisationChanges)
    assert held.organisation_id == "org-a"
    assert held.changes == {"name": "Org A Trust"}
    assert held.proposed_by == ORG_USER and held.revision == 1
    assert held.fields() == ["name"] and held.waiting() is held
    assert store.get_held_organisation_changes("org-b") is None


def test_a_proposal_alone_does_not_write_the_record(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"phone": "0113 111 1111"})
    stored = store.get_organisation("org-a")
    assert stored.version == org.version
    assert stored.updated_at == org.updated_at
    assert [e.action for e in store.list_audit("org-a").items] == ["propose", "create"]


def test_live_changes_apply_beside_what_is_held(store: Store, org) -> None:
    after = store.update_organisation(
        "org-a", {"source": "feed", "source_id": "k1"}, actor=ORG_USER, hold={"url": None}
    )
    assert (after.source, after.source_id, after.url) == ("feed", "k1", org.url)
    assert after.version == org.version + 1
    assert store.get_organisation("org-a") == after
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"url": None}


def test_get_held_changes_of_unknown_organisation(store: Store, org) -> None:
    with pytest.raises(NotFoundError):
        store.get_held_organisation_changes("nope")


def test_proposals_merge_field_by_field_and_can_be_taken_back(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "New name"})
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"email": "new@org-a.example"})
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.revision == 2
    assert held.changes == {"name": "New name", "email": "new@org-a.example"}
    assert held.fields() == ["name", "email"]
    # Proposing the current value takes the field back.
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A"})
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"email": "new@org-a.example"}
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"email": org.email})
    assert store.get_held_organisation_changes("org-a") is None
    assert store.list_held_organisation_changes() == []
    assert store.get_organisation("org-a") == org


def test_proposing_the_current_value_holds_nothing(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"phone": org.phone})
    assert store.get_held_organisation_changes("org-a") is None
    assert store.list_held_organisation_changes() == []


def test_approve_applies_the_held_changes(store: Store, org) -> None:
    store.update_organisation(
        "org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust", "phone": "0113 222 2222"}
    )
    approved = store.resolve_held_organisation_changes(
        "org-a", approve=True, revision=1, actor=ADMIN
    )
    assert (approved.name, approved.phone) == ("Org A Trust", "0113 222 2222")
    assert approved.email == org.email
    assert approved.version == org.version + 1
    assert store.get_organisation("org-a") == approved
    assert store.get_held_organisation_changes("org-a") is None
    assert store.list_held_organisation_changes() == []


def test_reject_drops_them(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Elsewhere Ltd"})
    kept = store.resolve_held_organisation_changes("org-a", approve=False, revision=1, actor=ADMIN)
    assert kept == org
    assert store.get_organisation("org-a") == org
    assert store.get_held_organisation_changes("org-a") is None
    assert store.list_held_organisation_changes() == []


def test_a_newer_revision_is_not_decided_unseen(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"url": "https://evil.example"})
    with pytest.raises(ConflictError, match="revision 2"):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    assert store.get_organisation("org-a") == org
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.revision == 2
    assert held.changes == {"name": "Org A Trust", "url": "https://evil.example"}


def test_deciding_nothing_held_is_not_found(store: Store, org) -> None:
    with pytest.raises(NotFoundError, match="held changes"):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    with pytest.raises(NotFoundError):
        store.resolve_held_organisation_changes("nope", approve=False, revision=1, actor=ADMIN)
    assert store.get_organisation("org-a") == org


def test_a_decided_revision_cannot_be_decided_again(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.resolve_held_organisation_changes("org-a", approve=False, revision=1, actor=ADMIN)
    with pytest.raises(NotFoundError):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    assert store.get_organisation("org-a") == org


def test_a_proposal_must_make_a_valid_organisation(store: Store, org) -> None:
    with pytest.raises(InvalidInputError, match="email"):
        store.update_organisation("org-a", {}, actor=ORG_USER, hold={"email": "not an address"})
    with pytest.raises(InvalidInputError, match="name"):
        store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": ""})
    with pytest.raises(InvalidInputError, match="url"):
        store.update_organisation(
            "org-a", {"source": "feed", "source_id": "k1"}, actor=ORG_USER, hold={"url": "ftp:x"}
        )
    assert store.get_organisation("org-a") == org  # the live part was not made either
    assert store.get_held_organisation_changes("org-a") is None
    assert [e.action for e in store.list_audit("org-a").items] == ["create"]


def test_a_refused_proposal_keeps_what_already_waits(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    with pytest.raises(InvalidInputError):
        store.update_organisation("org-a", {}, actor=ORG_USER, hold={"email": "nope"})
    held = store.get_held_organisation_changes("org-a")
    assert held is not None
    assert (held.changes, held.revision) == ({"name": "Org A Trust"}, 1)


def test_the_queue_keeps_the_first_proposals_time(
    store: Store, org, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter([datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 2, 9, tzinfo=UTC)])
    monkeypatch.setattr(review, "utcnow", lambda: next(ticks))
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.update_organisation("org-a", {}, actor="user-org-2", hold={"description": "More"})
    held = store.get_held_organisation_changes("org-a")
    assert held is not None
    assert (held.proposed_at, held.proposed_by, held.revision) == (
        datetime(2026, 5, 1, 9, tzinfo=UTC),
        "user-org-2",
        2,
    )


def test_a_moderators_live_change_prunes_what_it_made_true(store: Store, org) -> None:
    store.update_organisation(
        "org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust", "description": "d"}
    )
    store.update_organisation("org-a", {"name": "Org A Trust"}, actor=ADMIN)
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"description": "d"}
    assert held.proposed_by == ORG_USER
    assert held.revision == 2  # what waits changed: a decision on revision 1 would be stale
    with pytest.raises(ConflictError):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    store.update_organisation("org-a", {"description": "d"}, actor=ADMIN)
    assert store.get_held_organisation_changes("org-a") is None
    assert store.list_held_organisation_changes() == []


def test_a_moderators_unrelated_change_leaves_what_waits(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.update_organisation("org-a", {"phone": "0113 999 9999"}, actor=ADMIN)
    held = store.get_held_organisation_changes("org-a")
    assert held is not None
    assert (held.changes, held.revision) == ({"name": "Org A Trust"}, 1)


def test_list_is_oldest_first_then_by_id(
    store: Store, org, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_organisation(make_org(id="org-c", name="Org C"))
    nine, ten = datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 1, 10, tzinfo=UTC)
    ticks = iter([ten, nine, ten])
    monkeypatch.setattr(review, "utcnow", lambda: next(ticks))
    store.update_organisation("org-c", {}, actor="user-c", hold={"name": "C Trust"})
    store.update_organisation("org-b", {}, actor="user-b", hold={"name": "B Trust"})
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "A Trust"})
    listed = store.list_held_organisation_changes()
    assert [h.organisation_id for h in listed] == ["org-b", "org-a", "org-c"]
    assert all(isinstance(h, HeldOrganisationChanges) for h in listed)
    # A later proposal keeps its place; a decided one leaves the queue.
    store.update_organisation("org-b", {}, actor="user-b", hold={"phone": "1"})
    store.resolve_held_organisation_changes("org-a", approve=False, revision=1, actor=ADMIN)
    assert [h.organisation_id for h in store.list_held_organisation_changes()] == [
        "org-b",
        "org-c",
    ]


def test_a_fresh_proposal_after_a_decision_joins_the_back_of_the_queue(
    store: Store, org, monkeypatch: pytest.MonkeyPatch
) -> None:
    hours = iter(datetime(2026, 5, 1, h, tzinfo=UTC) for h in (9, 10, 11))
    monkeypatch.setattr(review, "utcnow", lambda: next(hours))
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "A1"})
    store.update_organisation("org-b", {}, actor="user-b", hold={"name": "B1"})
    store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "A2"})
    listed = store.list_held_organisation_changes()
    assert [h.organisation_id for h in listed] == ["org-b", "org-a"]
    assert listed[1].proposed_at == datetime(2026, 5, 1, 11, tzinfo=UTC)


def test_a_revision_number_is_never_used_twice(store: Store, org) -> None:
    """A moderator who read revision 1 (a harmless rename) must not approve what the
    organisation proposed after taking that back, or after a decision."""
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": org.name})  # taken back
    assert store.get_held_organisation_changes("org-a") is None
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"url": "https://evil.example"})
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.revision == 3
    with pytest.raises(ConflictError):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    store.resolve_held_organisation_changes("org-a", approve=False, revision=3, actor=ADMIN)
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Again"})
    again = store.get_held_organisation_changes("org-a")
    assert again is not None and again.revision == 4
    with pytest.raises(ConflictError):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=3, actor=ADMIN)
    approved = store.resolve_held_organisation_changes(
        "org-a", approve=True, revision=4, actor=ADMIN
    )
    assert approved.name == "Again"
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"phone": "0113 555 5555"})
    after_approval = store.get_held_organisation_changes("org-a")
    assert after_approval is not None and after_approval.revision == 5
    assert [h.organisation_id for h in store.list_held_organisation_changes()] == ["org-a"]


def test_a_proposal_is_audited(store: Store, org) -> None:
    store.update_organisation(
        "org-a", {}, actor=ORG_USER, hold={"phone": "0113 222 2222", "name": "Org A Trust"}
    )
    entry = store.list_audit("org-a").items[0]
    assert (entry.actor, entry.action, entry.entity, entry.entity_id) == (
        ORG_USER,
        "propose",
        "organisation",
        "org-a",
    )
    assert entry.changes == {
        "proposed": ["name", "phone"],
        "held": ["name", "phone"],
        "revision": 1,
    }
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"url": None})
    entry = store.list_audit("org-a").items[0]
    assert entry.changes == {
        "proposed": ["url"],
        "held": ["name", "phone", "url"],
        "revision": 2,
    }


def test_a_proposal_without_an_actor_is_not_audited(store: Store, org) -> None:
    store.update_organisation("org-a", {}, hold={"name": "Org A Trust"})
    assert [e.action for e in store.list_audit("org-a").items] == ["create"]
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"name": "Org A Trust"}


def test_approve_and_reject_are_audited(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    approve = store.list_audit("org-a").items[0]
    assert (approve.actor, approve.action, approve.entity, approve.entity_id) == (
        ADMIN,
        "approve",
        "organisation",
        "org-a",
    )
    assert approve.changes["revision"] == 1
    assert approve.changes["fields"] == ["name"]
    assert approve.changes["changes"] == {"name": ["Org A", "Org A Trust"]}
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"email": "x@y.example"})
    store.resolve_held_organisation_changes("org-a", approve=False, revision=2, actor=ADMIN)
    reject = store.list_audit("org-a").items[0]
    assert (reject.actor, reject.action, reject.entity) == (ADMIN, "reject", "organisation")
    assert reject.changes == {"revision": 2, "fields": ["email"]}
    entries = store.list_audit("org-a").items
    assert [e.action for e in entries] == ["reject", "propose", "approve", "propose", "create"]
    json.dumps([e.changes for e in entries])  # plain JSON


def test_a_refused_decision_is_not_audited(store: Store, org) -> None:
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"phone": "1"})
    with pytest.raises(ConflictError):
        store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    assert [e.action for e in store.list_audit("org-a").items] == ["propose", "propose", "create"]


def test_organisation_and_listing_held_changes_are_apart(store: Store, org) -> None:
    store.create_asset(make_asset(id="a1", name="Knit and Natter", organisation_id="org-a"))
    store.update_organisation("org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"})
    assert store.list_held_changes() == []
    assert store.list_held_changes(organisation_id="org-a") == []
    assert store.get_held_changes("a1") is None
    with pytest.raises(NotFoundError):
        store.resolve_held_changes("a1", approve=True, revision=1, actor=ADMIN)
    store.update_asset("a1", {}, actor=ORG_USER, hold={"name": "Knit Club"})
    assert [h.organisation_id for h in store.list_held_organisation_changes()] == ["org-a"]
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and held.changes == {"name": "Org A Trust"}
    assert [h.asset_id for h in store.list_held_changes()] == ["a1"]
    # Deciding one leaves the other waiting.
    store.resolve_held_organisation_changes("org-a", approve=True, revision=1, actor=ADMIN)
    assert store.get_asset("a1").name == "Knit and Natter"
    listing = store.get_held_changes("a1")
    assert listing is not None and listing.changes == {"name": "Knit Club"}
    store.resolve_held_changes("a1", approve=False, revision=1, actor=ADMIN)
    assert store.get_organisation("org-a").name == "Org A Trust"
    assert store.list_held_organisation_changes() == []


def test_an_organisation_and_a_listing_with_the_same_id_do_not_share(store: Store, org) -> None:
    store.create_asset(make_asset(id="org-b", name="Chess Club", organisation_id="org-b"))
    store.update_asset("org-b", {}, actor=ORG_USER, hold={"name": "Chess and Draughts"})
    assert store.get_held_organisation_changes("org-b") is None
    assert store.list_held_organisation_changes() == []
    with pytest.raises(NotFoundError):
        store.resolve_held_organisation_changes("org-b", approve=True, revision=1, actor=ADMIN)
    store.update_organisation("org-b", {}, actor=ORG_USER, hold={"phone": "0113 333 3333"})
    asset_held = store.get_held_changes("org-b")
    org_held = store.get_held_organisation_changes("org-b")
    assert asset_held is not None and asset_held.changes == {"name": "Chess and Draughts"}
    assert org_held is not None and org_held.changes == {"phone": "0113 333 3333"}
    assert (asset_held.revision, org_held.revision) == (1, 1)


def test_a_proposal_can_insist_on_the_revision_and_version_it_read(store: Store, org) -> None:
    store.update_organisation(
        "org-a", {}, actor=ORG_USER, hold={"name": "Org A Trust"}, held_revision=0
    )
    with pytest.raises(ConflictError, match="revision 1, not 0"):
        store.update_organisation(
            "org-a",
            {"source": "feed", "source_id": "k1"},
            actor=ORG_USER,
            hold={"name": "Other"},
            held_revision=0,
        )
    with pytest.raises(ConflictError):
        store.update_organisation(
            "org-a", {}, actor=ORG_USER, hold={"name": "Other"}, expected_version=org.version + 1
        )
    assert store.get_organisation("org-a") == org  # nothing of them made
    store.update_organisation(
        "org-a",
        {},
        actor=ORG_USER,
        hold={"name": "Other"},
        held_revision=1,
        expected_version=org.version,
    )
    held = store.get_held_organisation_changes("org-a")
    assert held is not None and (held.changes, held.revision) == ({"name": "Other"}, 2)
