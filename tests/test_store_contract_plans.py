"""Store contract for saved connection plans: one suite, both stores (``store``).

A saved plan is pseudonymous: a reference code, the activities and the travel time.
It is listed newest first per owner, never shown to another owner's listing, and a
deleted plan is gone (with only its id in the audit log)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from geo_assets.auth import User
from geo_assets.errors import InvalidInputError, NotFoundError
from geo_assets.model import utcnow
from geo_assets.plans import PlanItem, SavedPlan, journey_band, new_plan
from geo_assets.store import Store, open_store
from tests.factories import raw_connection, run_migration, store_dialect

ACTOR = "user-admin"


def _items(*names: str) -> list[PlanItem]:
    return [
        PlanItem(
            asset_id=f"asset-{i}",
            name=name,
            when="Tuesdays 10:00-12:00",
            travel="under 15 min walk",
            mode="walk",
        )
        for i, name in enumerate(names, start=1)
    ]


@pytest.fixture
def owners(store: Store) -> tuple[str, str]:
    a = store.create_user(User(id="prac-a", name="Ann", role="practitioner"))
    b = store.create_user(User(id="prac-b", name="Bob", role="practitioner"))
    return a.id, b.id


def test_plan_round_trip(store: Store, owners: tuple[str, str]) -> None:
    plan = new_plan("AB-0427", owners[0], _items("Allotment club", "Community choir"))
    saved = store.save_plan(plan, actor=owners[0])
    assert saved == plan
    got = store.get_plan(plan.id)
    assert got == plan
    assert [i.name for i in got.items] == ["Allotment club", "Community choir"]
    assert got.items[1].travel == "under 15 min walk" and got.items[1].mode == "walk"
    assert got.created_at.tzinfo is not None


def test_plans_are_listed_newest_first_per_owner(store: Store, owners: tuple[str, str]) -> None:
    a, b = owners
    start = utcnow() - timedelta(days=3)
    for day, ref in enumerate(["OLD-1", "MID-2", "NEW-3"]):
        plan = SavedPlan(
            reference=ref, owner_id=a, created_at=start + timedelta(days=day), items=_items("X")
        )
        store.save_plan(plan)
    store.save_plan(new_plan("B-1", b, _items("Y")))
    listed = store.list_plans(a)
    assert listed.total == 3
    assert [p.reference for p in listed.items] == ["NEW-3", "MID-2", "OLD-1"]
    second = store.list_plans(a, page=2, per_page=2)
    assert [p.reference for p in second.items] == ["OLD-1"] and second.pages == 2
    # Saved in the same second: the later one still comes first.
    now = utcnow()
    for ref in ("SAME-1", "SAME-2"):
        store.save_plan(SavedPlan(reference=ref, owner_id=b, created_at=now, items=_items("Z")))
    assert [p.reference for p in store.list_plans(b).items][:2] == ["SAME-2", "SAME-1"]
    with pytest.raises(InvalidInputError):
        store.list_plans(a, page=0)


def test_owners_see_only_their_own_plans(store: Store, owners: tuple[str, str]) -> None:
    a, b = owners
    mine = store.save_plan(new_plan("A-1", a, _items("X")))
    assert [p.id for p in store.list_plans(a).items] == [mine.id]
    assert store.list_plans(b).total == 0
    assert store.list_plans("nobody").items == []


def test_delete_removes_the_plan_and_audits_only_its_id(
    store: Store, owners: tuple[str, str]
) -> None:
    a, _ = owners
    plan = store.save_plan(new_plan("SECRET-REF-9", a, _items("Hidden club")), actor=ACTOR)
    store.delete_plan(plan.id, actor=ACTOR)
    with pytest.raises(NotFoundError) as info:
        store.get_plan(plan.id)
    assert info.value.kind == "plan"
    assert store.list_plans(a).total == 0
    with pytest.raises(NotFoundError):
        store.delete_plan(plan.id)
    audit = store.list_audit(plan.id).items
    assert [(e.action, e.entity, e.actor) for e in audit] == [
        ("delete", "plan", ACTOR),
        ("create", "plan", ACTOR),
    ]
    text = json.dumps([e.changes for e in audit])
    assert "SECRET-REF" not in text and "Hidden club" not in text and "asset-1" not in text


def test_missing_plans_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get_plan("no-such-plan")
    with pytest.raises(NotFoundError):
        store.delete_plan("no-such-plan")


def test_a_plan_needs_a_known_owner(store: Store) -> None:
    with pytest.raises(InvalidInputError) as info:
        store.save_plan(new_plan("A-1", "nobody", _items("X")))
    assert info.value.field == "owner_id"


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("", "required"),
        ("x" * 41, "at most 40"),
        ("jo.smith@example.org", "email"),
        ("07700 900123", "phone"),
        ("+44 7700 900 123", "phone"),
        ("BD1 1HY", "postcode"),
        ("client bd11hy", "postcode"),
        ("line\nbreak", "one line"),
    ],
)
def test_references_that_look_like_personal_details_are_refused(
    store: Store, owners: tuple[str, str], reference: str, words: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        new_plan(reference, owners[0], _items("X"))
    assert info.value.field == "reference"
    message = str(info.value)
    assert "`reference`" in message and words in message and "use a code" in message
    assert store.list_plans(owners[0]).total == 0


@pytest.mark.parametrize("reference", ["AB-0427", "2025/11 #3", "Team B case 17", "x"])
def test_codes_are_accepted(reference: str) -> None:
    assert new_plan(reference, "u", _items("X")).reference == reference


def test_a_plan_holds_one_to_ten_items_and_nothing_else() -> None:
    with pytest.raises(InvalidInputError) as info:
        new_plan("A-1", "u", [])
    assert info.value.field == "items"
    with pytest.raises(InvalidInputError):
        new_plan("A-1", "u", _items(*[f"n{i}" for i in range(11)]))
    with pytest.raises(ValueError):
        SavedPlan.model_validate(
            {"reference": "A-1", "owner_id": "u", "items": [], "origin": {"lat": 1, "lon": 2}}
        )


def _saved_days_ago(store: Store, owner: str, reference: str, days: float) -> SavedPlan:
    plan = SavedPlan(
        reference=reference,
        owner_id=owner,
        created_at=utcnow() - timedelta(days=days),
        items=_items("X"),
    )
    return store.save_plan(plan)


def test_purge_deletes_plans_saved_before_a_time(store: Store, owners: tuple[str, str]) -> None:
    a, b = owners
    old_a = _saved_days_ago(store, a, "OLD-A", 400)
    old_b = _saved_days_ago(store, b, "OLD-B", 366)
    young = _saved_days_ago(store, a, "NEW-A", 364)
    assert store.purge_plans(before=utcnow() - timedelta(days=365), actor=ACTOR) == 2
    for gone in (old_a, old_b):
        with pytest.raises(NotFoundError):
            store.get_plan(gone.id)
        assert [(e.action, e.entity, e.changes) for e in store.list_audit(gone.id).items] == [
            ("delete", "plan", {"owner_id": gone.owner_id})
        ]
    assert store.get_plan(young.id) == young
    assert store.purge_plans(before=utcnow() - timedelta(days=365)) == 0


def test_purge_deletes_every_plan_of_one_owner(store: Store, owners: tuple[str, str]) -> None:
    """When a practitioner leaves: their plans go, nobody else's."""
    a, b = owners
    for i, days in enumerate((1, 10, 500)):
        _saved_days_ago(store, a, f"A-{i}", days)
    kept = _saved_days_ago(store, b, "B-1", 500)
    assert store.purge_plans(owner_id=a) == 3
    assert store.list_plans(a).total == 0
    assert [p.id for p in store.list_plans(b).items] == [kept.id]


def test_purge_by_owner_and_age_needs_both(store: Store, owners: tuple[str, str]) -> None:
    a, b = owners
    old_a = _saved_days_ago(store, a, "A-OLD", 30)
    young_a = _saved_days_ago(store, a, "A-NEW", 1)
    old_b = _saved_days_ago(store, b, "B-OLD", 30)
    assert store.purge_plans(before=utcnow() - timedelta(days=7), owner_id=a) == 1
    assert {p.id for p in store.list_plans(a).items} == {young_a.id}
    assert store.get_plan(old_b.id) == old_b
    with pytest.raises(NotFoundError):
        store.get_plan(old_a.id)


def test_purge_refuses_to_delete_everything(store: Store, owners: tuple[str, str]) -> None:
    plan = _saved_days_ago(store, owners[0], "KEEP", 1000)
    with pytest.raises(InvalidInputError) as info:
        store.purge_plans()
    assert info.value.field == "before"
    with pytest.raises(InvalidInputError):
        store.purge_plans(before=(utcnow() - timedelta(days=1)).replace(tzinfo=None))
    assert store.get_plan(plan.id) == plan


def test_plans_saved_with_journeys_to_the_minute_keep_them_in_bands_after_upgrade(
    store: Store, owners: tuple[str, str]
) -> None:
    """Migration 0018: a plan saved before bands kept minutes, which put the person's home
    within metres. Its travel is said again in bands, the minutes go, the rest stays."""
    older = [
        ("a1", "First", "14 min walk", 14.9, "walk"),
        ("a2", "Second", "about 15 min by bike", 15.0, "cycle"),
        ("a3", "Third", "13 min by bus or train, or 16 min walk", 44.2, "public_transport"),
        ("a4", "Fourth", "61 min by car", 61.0, "car"),
        ("a5", "Fifth", "130 min by wheelchair", 130.0, "wheelchair"),
        ("a6", "Sixth", "under 15 min walk", None, "walk"),  # minutes unknown: kept as is
    ]
    plan = new_plan("AB-0427", owners[0], _items("X"))
    store.save_plan(plan)
    items = [
        {"asset_id": i, "name": n, "when": "Tuesdays", "travel": t, "minutes": m, "mode": mode}
        for i, n, t, m, mode in older
    ]
    doc = json.dumps(plan.model_dump(mode="json") | {"items": items})
    banded = new_plan("CD-1", owners[0], _items("Y"))
    store.save_plan(banded)
    with raw_connection(store) as conn:
        cast = "?" if store_dialect(store) == "sqlite" else "%s::jsonb"
        mark = "?" if store_dialect(store) == "sqlite" else "%s"
        conn.execute(f"UPDATE plans SET doc = {cast} WHERE id = {mark}", (doc, plan.id))
    run_migration(store, "0018_plan_journey_bands.sql")
    again = open_store(store.url)  # reads the rows afresh
    try:
        got = again.get_plan(plan.id)
        untouched = again.get_plan(banded.id)
    finally:
        again.close()
    assert [(i.asset_id, i.name, i.when, i.mode) for i in got.items] == [
        (i, n, "Tuesdays", mode) for i, n, _, _, mode in older
    ]
    assert [i.travel for i in got.items] == [
        "under 15 min walk",
        "about 15–30 min by bike",
        "30–45 min by bus or train",
        "1–2 hours by car",
        "over 2 hours by wheelchair",
        "under 15 min walk",
    ]
    run_migration(store, "0018_plan_journey_bands.sql")  # again: nothing left to do
    again = open_store(store.url)
    try:
        assert again.get_plan(plan.id) == got
    finally:
        again.close()
    assert untouched == banded


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0, "under 15 min"),
        (14.99, "under 15 min"),
        (15, "15–30 min"),
        (59.9, "45–60 min"),
        (60, "1–2 hours"),
        (119.9, "1–2 hours"),
        (120, "over 2 hours"),
        (240, "over 2 hours"),
    ],
)
def test_journeys_are_kept_in_bands(minutes: float, said: str) -> None:
    assert journey_band(minutes) == said
