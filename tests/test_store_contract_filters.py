"""Contract tests for the schedule, age, cost and spatial filters of ``AssetFilters``.

Run against both stores through the ``store`` fixture. Each expected answer is worked
out in plain Python from the documents (``reference``), restating the rules in
``AssetFilters``' docstring: ``weekdays`` (any session on any of the days), ``verified_before``
(never confirmed, or confirmed before that instant), ``age_min`` /
``age_max`` (the asset admits that age range), ``free_only`` (cost 0), ``precisions``
(how the point was found), ``bbox`` (edges included, antimeridian aware) and ``near``
(WGS84 geodesic metres).
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, time, timedelta
from typing import Any, get_args

import psycopg
import pytest
from factories import (
    EDGE_TOL_M,
    FIJI,
    LEEDS,
    distances_m,
    ids,
    in_box,
    load,
    matches,
    name_ordered,
    nearby_problems,
    pick_terms,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from geo_assets.model import WEEKDAYS, AccessFeature, Asset, BBox, features_meeting
from geo_assets.store import open_store
from geo_assets.store.base import (
    ACCESS_BITS,
    AssetFilters,
    NearQuery,
    Store,
    access_mask,
    need_masks,
    weekday_mask,
)

FEW = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Corners of a box around Leeds that some assets sit exactly on (edges are inclusive).
BOX = BBox(west=-1.60, south=53.78, east=-1.50, north=53.82)


# --- the data ---------------------------------------------------------------------------------


def _sessions(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        days = rng.sample(WEEKDAYS, k=rng.choice((1, 1, 2, 3)))
        start = rng.choice((9, 10, 14, 18))
        session: dict[str, Any] = {"weekdays": days, "start": time(start), "end": time(start + 2)}
        if rng.random() < 0.2:
            session |= {"frequency": "monthly", "weeks_of_month": [1]}
        out.append(session)
    return out


def _eligibility(rng: random.Random) -> dict[str, Any]:
    low = rng.choice((None, None, 0, 5, 16, 18, 50, 65))
    high = rng.choice((None, None, 11, 17, 25, 64, 99, 120))
    if low is not None and high is not None and high < low:
        low, high = high, low
    return {"min_age": low, "max_age": high}


def filter_dataset(seed: int = 20260404) -> list[Asset]:
    """~150 assets around Leeds (some exactly on ``BOX``'s edges) and across the antimeridian,
    with varied sessions, age limits, costs, kinds, statuses and location precisions."""
    rng = random.Random(seed)
    terms = pick_terms()
    points: list[tuple[float, float]] = [
        (round(LEEDS[0] + rng.gauss(0, 0.03), 7), round(LEEDS[1] + rng.gauss(0, 0.06), 7))
        for _ in range(120)
    ]
    points += [(BOX.south, BOX.west), (BOX.north, BOX.east), (BOX.south, -1.55), (53.8, BOX.east)]
    points += [(BOX.south - 1e-7, -1.55), (53.8, BOX.east + 1e-7)]  # just outside
    for _ in range(20):
        lon = FIJI[1] + rng.gauss(0, 0.05)
        points.append((round(FIJI[0] + rng.gauss(0, 0.03), 7), round(lon - 360 * (lon > 180), 7)))
    points += [(FIJI[0], 180.0), (FIJI[0], -180.0)]
    out = []
    for i, (lat, lon) in enumerate(points):
        out.append(
            Asset.model_validate(
                {
                    "id": f"f{rng.randrange(16**6):06x}-{i:03d}",
                    "kind": rng.choice(("group", "club", "venue", "activity")),
                    "status": rng.choice(("published",) * 4 + ("draft", "archived")),
                    "name": rng.choice(("Knit Club", "Walking Group", "Choir", "Café", "Bowls")),
                    "description": rng.choice(("Tea and chat.", "Outdoor walks.", "Singing.")),
                    "categories": rng.sample(terms.all_ids, k=rng.choice((1, 2))),
                    "location": {"lat": lat, "lon": lon, "precision": _PRECISIONS[i % 5]},
                    "sessions": _sessions(rng),
                    "eligibility": {
                        **_eligibility(rng),
                        "gender": _GENDERS[i % 7],
                        "with_carers": i % 8 == 3,
                    },
                    "accessibility": {"features": _FEATURES[i % 6]},
                    "cost": {
                        "amount": rng.choice((0.0, 0.0, None, 2.5, 10.0)),
                        "per": _PERIODS[i % 4],
                    },
                    "last_verified_at": _VERIFIED[i % 6],
                    "source": "fixture-filters",
                    "source_id": f"flt-{i:03d}",
                }
            )
        )
    return out


# When each listing was last confirmed: around a whole second (which a document writes
# without a fraction) and a microsecond either side of it.
NOON = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
_VERIFIED = (
    None,
    NOON,
    NOON - timedelta(microseconds=1),
    NOON + timedelta(microseconds=1),
    NOON - timedelta(days=200),
    NOON + timedelta(seconds=1),
)
# Every fifth point is a postcode's centre, every fifth an area's (not drawn from the
# seeded generator, so the rest of the data is what it was before precisions existed).
_PRECISIONS = ("point", "postcode", "point", "area", "point")
# Likewise, who may come: mostly anyone, some women only, some men only.
_GENDERS = ("any", "any", "women", "any", "men", "any", "women")
# Every eighth listing's ages are its children's, who come with a parent or carer.
# And the period a cost is for (a monthly 10.0 is 2.5 a session).
_PERIODS = ("session", "month", "session", "week")
# And access features, wheelchair access among them (which is step-free too).
_FEATURES: tuple[list[str], ...] = (
    [], ["wheelchair", "hearing_loop"], ["step_free"], ["bsl", "easy_read", "wheelchair"],
    [], ["easy_read"],
)  # fmt: skip


def _days(asset: Asset) -> set[str]:
    return {d for s in asset.sessions for d in s.weekdays}


def admits(asset: Asset, filters: AssetFilters) -> bool:
    """The new filters' rules, in plain Python."""
    low, high = asset.eligibility.min_age, asset.eligibility.max_age
    if filters.weekdays is not None and not _days(asset) & set(filters.weekdays):
        return False
    verified = asset.last_verified_at
    if filters.verified_before is not None and not (
        verified is None or verified < filters.verified_before
    ):
        return False
    in_range = (filters.age_min is None or low is None or low <= filters.age_min) and (
        filters.age_max is None or high is None or high >= filters.age_max
    )
    grown_up = (filters.age_min is not None and filters.age_min >= 18) or (
        filters.age_min is None and filters.age_max is not None
    )
    if filters.children_ages and asset.eligibility.with_carers:
        # Its ages are the children's: one child of them, or the range itself when given.
        bounded = filters.age_min is not None or filters.age_max is not None
        if not (
            bounded
            and in_range
            or any(
                (low is None or low <= child) and (high is None or high >= child)
                for child in filters.children_ages
            )
        ):
            return False
    elif not (in_range or asset.eligibility.with_carers and grown_up):
        return False
    if filters.free_only and asset.cost.amount != 0:
        return False
    per_session = asset.cost.per_session
    if filters.max_session_cost is not None and (
        per_session is None or per_session > filters.max_session_cost
    ):
        return False
    if filters.precisions is not None and asset.location.precision not in filters.precisions:
        return False
    if filters.genders is not None and asset.eligibility.gender not in filters.genders:
        return False
    features = set(asset.accessibility.features)
    if any(not features_meeting(need) & features for need in filters.access_needs or []):
        return False
    return filters.bbox is None or in_box(asset, filters.bbox)


def reference(assets: list[Asset], filters: AssetFilters, *, sure_only: bool = False) -> list[str]:
    """Ids in list order. With ``near``: ``sure_only`` leaves out assets within
    ``EDGE_TOL_M`` of the radius (either answer is right for them)."""
    keep = [a for a in assets if matches(a, filters) and admits(a, filters)]
    if filters.near is not None and keep:
        n = filters.near
        dist = distances_m(keep, n.lat, n.lon)
        limit = n.radius_m - EDGE_TOL_M if sure_only else n.radius_m + EDGE_TOL_M
        keep = [a for a, d in zip(keep, dist, strict=True) if d <= limit]
    return name_ordered(keep)


def _edge_ids(assets: list[Asset], near: NearQuery) -> set[str]:
    dist = distances_m(assets, near.lat, near.lon)
    return {a.id for a, d in zip(assets, dist, strict=True) if abs(d - near.radius_m) <= EDGE_TOL_M}


@pytest.fixture
def loaded(store: Store) -> tuple[Store, list[Asset]]:
    data = filter_dataset()
    load(store, data)
    return store, data


def check_list(store: Store, assets: list[Asset], filters: AssetFilters) -> list[str]:
    """How list_assets and count_assets differ from the reference (empty when they agree)."""
    got = store.list_assets(filters, per_page=1000)
    count = store.count_assets(filters)
    out = []
    if filters.near is None:
        expected = reference(assets, filters)
        if ids(got.items) != expected:
            out.append(f"{filters}: got {ids(got.items)}, want {expected}")
    else:
        sure, allowed = reference(assets, filters, sure_only=True), reference(assets, filters)
        edge = _edge_ids(assets, filters.near)
        if [i for i in ids(got.items) if i not in edge] != sure or not set(ids(got.items)) <= set(
            allowed
        ):
            out.append(f"{filters}: got {ids(got.items)}, want {sure} (+ edge cases)")
    if not count == got.total == len(got.items):
        out.append(f"{filters}: count {count}, total {got.total}, listed {len(got.items)}")
    return out


# --- one filter at a time -------------------------------------------------------------------------

CASES: dict[str, dict[str, Any]] = {
    "monday": {"weekdays": ["mo"]},
    "weekend": {"weekdays": ["sa", "su"]},
    "every-day": {"weekdays": list(WEEKDAYS)},
    "no-days": {"weekdays": []},  # an empty list matches nothing
    "unconfirmed-since-noon": {"verified_before": NOON},
    # A cutoff with a fraction, against listings confirmed at a whole second.
    "unconfirmed-since-half-past-noon": {"verified_before": NOON + timedelta(milliseconds=500)},
    "unconfirmed-since-a-microsecond-past-noon": {
        "verified_before": NOON + timedelta(microseconds=1)
    },
    "unconfirmed-and-live": {
        "verified_before": NOON,
        "statuses": ["published", "pending"],
        "kinds": ["group", "club"],
    },
    "age-min-0": {"age_min": 0},
    "age-min-18": {"age_min": 18},
    "age-max-70": {"age_max": 70},
    "age-max-120": {"age_max": 120},
    "one-person-aged-16": {"age_min": 16, "age_max": 16},
    "range-18-64": {"age_min": 18, "age_max": 64},
    "bringing-a-child-of-2": {"children_ages": [2]},
    "aged-31-bringing-children-of-2-and-9": {"age_min": 31, "age_max": 31, "children_ages": [9, 2]},
    "aged-16-bringing-a-child-of-1": {"age_min": 16, "age_max": 16, "children_ages": [1]},
    "up-to-70-bringing-a-child-of-12": {"age_max": 70, "children_ages": [12]},
    "from-40-bringing-a-child-of-5": {"age_min": 40, "children_ages": [5]},
    "free": {"free_only": True},
    "not-only-free": {"free_only": False},
    "at-most-2.50-a-session": {"max_session_cost": 2.5},
    "nothing-to-spend": {"max_session_cost": 0},
    "rough-points": {"precisions": ["postcode", "area"]},
    "area-centres": {"precisions": ["area"]},
    "exact-points": {"precisions": ["point"]},
    "any-precision": {"precisions": ["point", "postcode", "area"]},
    "no-precisions": {"precisions": []},  # an empty list matches nothing
    "open-to-a-woman": {"genders": ["any", "women"]},
    "women-only": {"genders": ["women"]},
    "any-gender": {"genders": ["any", "women", "men"]},
    "no-genders": {"genders": []},  # an empty list matches nothing
    "step-free": {"access_needs": ["step_free"]},  # wheelchair access counts
    "wheelchair": {"access_needs": ["wheelchair"]},
    "bsl+easy-read": {"access_needs": ["bsl", "easy_read"]},
    "no-needs": {"access_needs": []},  # an empty list asks for nothing
    "near+easy-read+women": {
        "near": NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=4_000),
        "access_needs": ["easy_read"],
        "genders": ["any", "women"],
    },
    "near+women-only": {
        "near": NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=4_000),
        "genders": ["women"],
    },
    "near+rough": {
        "near": NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=3_000),
        "precisions": ["postcode", "area"],
    },
    "box": {"bbox": BOX},
    "box-antimeridian": {"bbox": BBox(west=179.95, south=-17.0, east=-179.95, north=-16.6)},
    "box-east-of-180": {"bbox": BBox(west=-180.0, south=-17.0, east=-179.9, north=-16.6)},
    "near-2km": {"near": NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=2_000)},
    "near-fiji": {"near": NearQuery(lat=FIJI[0], lon=FIJI[1], radius_m=6_000)},
    "day+free+published": {"weekdays": ["tu"], "free_only": True, "statuses": ["published"]},
    "age+box+kind": {"age_min": 30, "age_max": 30, "bbox": BOX, "kinds": ["group", "club"]},
    "near+day+text": {
        "near": NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=5_000),
        "weekdays": ["we", "th"],
        "text": "walk",
    },
    "box+near": {"bbox": BOX, "near": NearQuery(lat=53.8, lon=-1.5, radius_m=3_000)},
}


@pytest.mark.parametrize("label", CASES)
def test_filter_matches_reference(loaded: tuple[Store, list[Asset]], label: str) -> None:
    store, assets = loaded
    filters = AssetFilters(**CASES[label])
    assert not check_list(store, assets, filters)


def test_the_cases_are_not_trivial(loaded: tuple[Store, list[Asset]]) -> None:
    """Every case keeps some assets and drops others (except the deliberate extremes)."""
    _, assets = loaded
    for label, spec in CASES.items():
        kept = len(reference(assets, AssetFilters(**spec)))
        if label in ("no-days", "no-precisions", "no-genders"):
            assert kept == 0
        elif label in ("not-only-free", "any-precision", "any-gender", "no-needs"):
            assert kept == len(assets)
        else:
            assert 0 < kept < len(assets), label


def test_box_edges_are_inclusive(loaded: tuple[Store, list[Asset]]) -> None:
    store, assets = loaded
    got = set(ids(store.list_assets(AssetFilters(bbox=BOX), per_page=1000).items))
    on_edges = {a.id for a in assets if a.source_id in ("flt-120", "flt-121", "flt-122", "flt-123")}
    just_outside = {a.id for a in assets if a.source_id in ("flt-124", "flt-125")}
    assert on_edges <= got
    assert not just_outside & got


def test_filters_apply_to_nearby_and_within(loaded: tuple[Store, list[Asset]]) -> None:
    store, assets = loaded
    filters = AssetFilters(weekdays=["mo", "fr"], age_min=20, free_only=False, age_max=40)
    hits = store.nearby(LEEDS[0], LEEDS[1], 4_000, filters)
    keep = [a for a in assets if admits(a, filters)]
    assert not nearby_problems(hits, keep, LEEDS[0], LEEDS[1], 4_000, filters)
    assert hits, "the case keeps some assets"
    boxed = store.within(BOX, AssetFilters(free_only=True))
    assert ids(boxed) == reference(assets, AssetFilters(free_only=True, bbox=BOX))
    # Only listings at a centre: the SQLite store reads them through their own index.
    for rough in (["postcode", "area"], ["area"], ["point", "area"]):
        filters = AssetFilters(precisions=rough, statuses=["published"])
        keep = [a for a in assets if admits(a, filters)]
        for lat, lon, radius_m in ((*LEEDS, 4_000.0), (*FIJI, 10_000.0)):
            hits = store.nearby(lat, lon, radius_m, filters)
            assert not nearby_problems(hits, keep, lat, lon, radius_m, filters)
            limited = store.nearby(lat, lon, radius_m, filters, limit=3)
            assert ids([h.asset for h in limited]) == ids([h.asset for h in hits])[:3]
        assert store.nearby(*LEEDS, 4_000.0, filters), "the case keeps some assets"
    # A `near` filter inside nearby() narrows it further.
    inner = AssetFilters(near=NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=1_500))
    both = store.nearby(LEEDS[0], LEEDS[1], 4_000, inner)
    assert all(h.distance_m <= 1_500 + EDGE_TOL_M for h in both)
    assert len(both) == store.count_assets(inner)


def test_near_filter_counts_what_nearby_returns(loaded: tuple[Store, list[Asset]]) -> None:
    store, _ = loaded
    for lat, lon, radius_m in ((*LEEDS, 800.0), (*LEEDS, 3_000.0), (*FIJI, 10_000.0)):
        near = NearQuery(lat=lat, lon=lon, radius_m=radius_m)
        filters = AssetFilters(statuses=["published"], near=near)
        hits = store.nearby(lat, lon, radius_m, AssetFilters(statuses=["published"]))
        assert store.count_assets(filters) == len(hits)
        listed = store.list_assets(filters, per_page=1000).items
        assert sorted(ids(listed)) == sorted(ids(hits))


@FEW
@given(
    days=st.none() | st.lists(st.sampled_from(WEEKDAYS), max_size=3, unique=True),
    age_min=st.none() | st.integers(0, 120),
    age_span=st.none() | st.integers(0, 80),
    children=st.none() | st.lists(st.integers(0, 17), max_size=3),
    free_only=st.booleans(),
    budget=st.none() | st.sampled_from([0.0, 0.625, 2.5, 3.0, 10.0]),
    precisions=st.none()
    | st.lists(st.sampled_from(["point", "postcode", "area"]), min_size=1, unique=True),
    genders=st.none() | st.lists(st.sampled_from(["any", "women", "men"]), min_size=1, unique=True),
    needs=st.none()
    | st.lists(st.sampled_from(["wheelchair", "step_free", "bsl", "easy_read"]), unique=True),
    statuses=st.none() | st.lists(st.sampled_from(["published", "draft"]), min_size=1),
    boxed=st.booleans(),
    page=st.integers(1, 4),
    per_page=st.integers(1, 40),
)
def test_combined_filters_property(
    loaded: tuple[Store, list[Asset]],
    days: list[str] | None,
    age_min: int | None,
    age_span: int | None,
    children: list[int] | None,
    free_only: bool,
    budget: float | None,
    precisions: list[str] | None,
    genders: list[str] | None,
    needs: list[str] | None,
    statuses: list[str] | None,
    boxed: bool,
    page: int,
    per_page: int,
) -> None:
    store, assets = loaded
    age_max = None if age_span is None else min(120, (age_min or 0) + age_span)
    filters = AssetFilters(
        weekdays=days,
        age_min=age_min,
        age_max=age_max,
        children_ages=children,
        free_only=free_only,
        max_session_cost=budget,
        precisions=precisions,
        genders=genders,
        access_needs=needs,
        statuses=statuses,
        bbox=BOX if boxed else None,
    )
    expected = reference(assets, filters)
    got = store.list_assets(filters, page=page, per_page=per_page)
    start = (page - 1) * per_page
    assert ids(got.items) == expected[start : start + per_page]
    assert got.total == len(expected) == store.count_assets(filters)


# --- the columns follow every write ---------------------------------------------------------------


def test_columns_follow_updates(store: Store) -> None:
    asset = store.create_asset(
        Asset.model_validate(
            {
                "kind": "group",
                "name": "Changing Group",
                "categories": [pick_terms().root],
                "location": {"lat": LEEDS[0], "lon": LEEDS[1]},
                "sessions": [{"weekdays": ["mo"], "start": "10:00", "end": "11:00"}],
                "eligibility": {"min_age": 18},
                "cost": {"amount": 3},
            }
        )
    )

    def found(**spec: Any) -> bool:
        return asset.id in ids(store.list_assets(AssetFilters(**spec)).items)

    assert found(weekdays=["mo"]) and not found(weekdays=["tu"])
    assert not found(free_only=True) and not found(age_min=10) and found(age_min=18)
    store.update_asset(
        asset.id,
        {
            "sessions": [{"weekdays": ["tu", "sa"], "start": "10:00", "end": "11:00"}],
            "eligibility": {"min_age": None, "max_age": 25},
            "cost": {"amount": 0},
        },
    )
    assert found(weekdays=["tu"]) and found(weekdays=["sa"]) and not found(weekdays=["mo"])
    assert found(free_only=True) and found(age_min=10) and not found(age_max=30)
    assert found(precisions=["point"]) and not found(precisions=["area"])
    assert found(genders=["any"]) and not found(genders=["women"])
    store.update_asset(asset.id, {"eligibility": {"min_age": 0, "max_age": 5, "with_carers": True}})
    assert found(age_min=2, age_max=2) and found(age_min=34, age_max=34) and found(age_min=18)
    assert not found(age_min=9, age_max=9) and not found(age_min=4, age_max=30)
    assert found(age_max=70) and not found(age_min=12, age_max=70)
    store.update_asset(asset.id, {"eligibility": {"gender": "women"}})
    assert found(genders=["women"]) and not found(genders=["any", "men"])
    assert not found(access_needs=["step_free"])
    assert found(max_session_cost=0) and found(max_session_cost=1)
    store.update_asset(asset.id, {"cost": {"amount": 12, "per": "month"}})
    assert found(max_session_cost=3) and not found(max_session_cost=2.99)
    store.update_asset(asset.id, {"cost": {"amount": None}})
    assert not found(max_session_cost=100)  # an unstated cost is not within a budget
    store.update_asset(asset.id, {"accessibility": {"features": ["wheelchair", "bsl"]}})
    assert found(access_needs=["step_free", "bsl"]) and not found(access_needs=["easy_read"])
    store.update_asset(
        asset.id, {"location": {"lat": LEEDS[0], "lon": LEEDS[1], "precision": "area"}}
    )
    assert found(precisions=["area"]) and not found(precisions=["point"])
    assert ids(h.asset for h in store.nearby(*LEEDS, 100.0, AssetFilters(precisions=["area"]))) == [
        asset.id
    ]
    store.update_asset(asset.id, {"location": {"lat": FIJI[0], "lon": FIJI[1]}})
    assert not found(bbox=BOX) and found(precisions=["point"])  # a moved point is a point
    assert found(bbox=BBox(west=179.0, south=-17.0, east=-179.0, north=-16.0))


def test_columns_follow_bulk_upserts(store: Store) -> None:
    data = filter_dataset()[:30]
    load(store, data)
    flipped = [
        a.model_copy(
            update={"cost": a.cost.model_copy(update={"amount": 0.0 if a.cost.amount else 5.0})}
        )
        for a in data
    ]
    load(store, flipped)
    expected = reference(flipped, AssetFilters(free_only=True))
    assert ids(store.list_assets(AssetFilters(free_only=True), per_page=100).items) == expected
    rough = AssetFilters(precisions=["postcode", "area"])
    moved = [
        a.model_copy(update={"location": a.location.model_copy(update={"precision": "area"})})
        for a in data[:10]
    ]
    load(store, moved)
    expected = reference([*moved, *data[10:]], rough)
    assert len(expected) > 10
    assert ids(store.list_assets(rough, per_page=100).items) == expected


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"weekdays": ["monday"]}, "weekdays"),
        ({"age_min": -1}, "age_min"),
        ({"age_max": 121}, "age_max"),
        ({"age_min": 30, "age_max": 20}, "age_max"),
        ({"bbox": {"west": 0, "south": 10, "east": 1, "north": 5}}, "bbox"),
        ({"near": {"lat": 95, "lon": 0, "radius_m": 10}}, "near"),
        ({"near": {"lat": 50, "lon": 0, "radius_m": 0}}, "near"),
    ],
)
def test_bad_filters_name_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AssetFilters(**spec)
    assert caught.value.errors()[0]["loc"][0] == field


def test_every_access_feature_has_its_own_stored_bit() -> None:
    assert list(ACCESS_BITS) == list(get_args(AccessFeature))  # a new feature needs a bit
    assert sorted(ACCESS_BITS.values()) == [1 << i for i in range(len(ACCESS_BITS))]
    assert access_mask(["bsl", "wheelchair", "bsl"]) == 33
    assert need_masks(["step_free", "bsl", "step_free"]) == [3, 32]  # wheelchair meets it


def test_weekday_mask() -> None:
    assert weekday_mask([]) == 0
    assert weekday_mask(["mo"]) == 1
    assert weekday_mask(["su", "mo", "mo"]) == 65
    assert weekday_mask(WEEKDAYS) == 127


# --- migration 0004 fills the columns of rows stored before it ------------------------------------


# Per migration: the columns it added, and the indexes of them that SQLite must drop first.
_FILTER_MIGRATIONS = {
    "0004": (("session_days", "min_age", "max_age", "is_free"), ()),
    "0007": (("location_precision",), ("assets_rough_idx",)),
    "0008": (("gender",), ()),
    "0009": (("access_mask",), ()),
    "0010": (("session_cost",), ()),
    "0012": (("last_verified_at",), ("assets_verified_idx",)),
}


def forget_filter_columns(url: str, version: str = "0004") -> None:
    """Undo migration ``version`` by hand, keeping the rows: as if they were stored before it."""
    columns, indexes = _FILTER_MIGRATIONS[version]
    drops = [f"DROP INDEX IF EXISTS {index}" for index in indexes]
    drops += [f"ALTER TABLE assets DROP COLUMN {c}" for c in columns]
    forget = f"DELETE FROM schema_migrations WHERE version = '{version}'"
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for statement in (*drops, forget):
                conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
    else:
        with psycopg.connect(url, autocommit=True) as pg:
            for statement in (*drops, forget):
                pg.execute(statement)


@pytest.mark.parametrize("version", sorted(_FILTER_MIGRATIONS))
def test_migration_backfills_stored_rows(store: Store, version: str) -> None:
    data = filter_dataset()[:60]
    load(store, data)
    forget_filter_columns(store.url, version)
    store = open_store(store.url)  # fresh connections: none may know the old table shape
    try:
        assert store.upgrade() == [version]
        _check_backfill(store, data)
    finally:
        store.close()


def _check_backfill(store: Store, data: list[Asset]) -> None:
    for spec in (
        {"weekdays": ["mo"]},
        {"weekdays": ["sa", "su"]},
        {"age_min": 18},
        {"age_max": 64},
        {"free_only": True},
        {"precisions": ["postcode", "area"]},
        {"precisions": ["area"]},
        {"precisions": ["point"]},
        {"genders": ["women"]},
        {"genders": ["any", "men"]},
        {"access_needs": ["step_free"]},
        {"access_needs": ["bsl", "easy_read"]},
        {"max_session_cost": 2.5},
        {"max_session_cost": 0.625},
        {"verified_before": NOON},
        {"verified_before": NOON + timedelta(microseconds=1)},
        {"verified_before": NOON + timedelta(milliseconds=500)},
    ):
        filters = AssetFilters(**spec)
        assert ids(store.list_assets(filters, per_page=1000).items) == reference(data, filters)


def test_childrens_ages_change_what_the_age_cases_keep(loaded: tuple[Store, list[Asset]]) -> None:
    """Each case that gives children's ages keeps other listings than its range alone."""
    _, assets = loaded
    for label, spec in CASES.items():
        if "children_ages" in spec:
            alone = {k: v for k, v in spec.items() if k != "children_ages"}
            with_children = reference(assets, AssetFilters(**spec))
            assert with_children != reference(assets, AssetFilters(**alone)), label
