"""What the benchmarks rest on: fair turns between ours and the baseline, the speed line,
and baselines that answer the question their issue names."""

from __future__ import annotations

import re

import pytest

import benchmarks.common
from benchmarks.bench_match import TimedStore, connect_baseline, interest_categories
from benchmarks.common import machine_speed, timed_in_turn
from geo_assets import synthetic
from geo_assets.geodesy import geodesics_from
from geo_assets.matching import match, reach_radius_m
from geo_assets.model import Profile
from geo_assets.store import Store
from geo_assets.store.sqlite import SQLiteStore
from geo_assets.travel import StraightLineTravel


def test_ours_and_the_bare_query_take_turns_at_going_first() -> None:
    order: list[str] = []
    for turn in range(4):
        ours_ms, bare_ms = timed_in_turn(
            [lambda: order.append("ours"), lambda: order.append("bare")], turn
        )
        assert ours_ms >= 0 and bare_ms >= 0
    assert order == ["ours", "bare", "bare", "ours", "ours", "bare", "bare", "ours"]


def test_three_go_round_and_their_times_come_back_in_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    monkeypatch.setattr(benchmarks.common.time, "perf_counter", lambda: clock[0])
    order: list[str] = []

    def step(name: str, seconds: float) -> None:
        order.append(name)
        clock[0] += seconds

    for turn in range(3):
        times = timed_in_turn(
            [lambda: step("a", 0.001), lambda: step("b", 0.002), lambda: step("c", 0.003)], turn
        )
        assert times == pytest.approx([1.0, 2.0, 3.0])
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


@pytest.mark.postgis
def test_the_machine_speed_line_times_python_and_the_database(postgis_db_url: str) -> None:
    line = machine_speed(postgis_db_url)
    figures = re.fullmatch(
        r"machine: decoding a [\d,]+-byte listing ([\d.]+) us;"
        r" PostgreSQL counting 1,000,000 generated rows ([\d.]+) ms",
        line,
    )
    assert figures is not None, line
    assert all(float(x) > 0 for x in figures.groups())


@pytest.fixture
def baseline_on(request: pytest.FixtureRequest, store: Store, tmp_path):
    """``bench_match``'s baseline query on the store under test."""
    if isinstance(store, SQLiteStore):
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        url = request.getfixturevalue("postgis_db_url")
    baseline, conn = connect_baseline(url)
    yield baseline
    conn.close()


def test_the_match_baseline_is_the_nearest_published_listings_in_the_interests(
    store: Store, baseline_on
) -> None:
    """The bare query the match benchmark compares against must answer the question the
    issue names, on each store: else its ratios mean nothing."""
    assets = list(synthetic.national_assets(5_000))
    # Some listings not published, which the baseline must leave out.
    assets = [
        a.model_copy(update={"status": "draft"}) if i % 7 == 0 else a for i, a in enumerate(assets)
    ]
    store.bulk_upsert(assets)
    centre = synthetic.densest_town()
    profile = Profile.model_validate(
        {
            "origin": {"lat": centre.lat + 0.01, "lon": centre.lon - 0.01},
            "interests": ["gardening", "walking group", "coffee morning", "footy"],
            "travel": [{"mode": "public_transport", "max_minutes": 35}],
        }
    )
    travel = StraightLineTravel()
    radius = reach_radius_m(profile, travel)
    wanted = set(interest_categories(profile))
    metres = geodesics_from(
        profile.origin.lat,
        profile.origin.lon,
        [a.location.lat for a in assets],
        [a.location.lon for a in assets],
    )
    eligible = sorted(
        (float(d), a.id)
        for a, d in zip(assets, metres, strict=True)
        if a.status == "published" and wanted & set(a.categories) and d <= radius
    )
    assert len(eligible) > 20  # the limit bites
    got = [row[0] for row in baseline_on(profile, travel)]
    assert len(got) == 20
    by_id = {a.id: float(d) for a, d in zip(assets, metres, strict=True)}
    twentieth = eligible[19][0]
    # SQLite's bare query measures on a flat projection: allow it a 0.5% slack.
    assert {i for d, i in eligible if d < twentieth * 0.995} <= set(got)
    assert all(by_id[i] <= twentieth * 1.005 for i in got)
    assert set(got) <= {i for _, i in eligible}


def test_the_timed_store_times_a_match_s_radius_queries_and_changes_nothing(
    sqlite_store: Store,
) -> None:
    sqlite_store.bulk_upsert(list(synthetic.national_assets(500)))
    centre = synthetic.densest_town()
    profile = Profile.model_validate(
        {
            "origin": {"lat": centre.lat, "lon": centre.lon},
            "interests": ["gardening", "chess"],
            "travel": [{"mode": "walk", "max_minutes": 20}],
        }
    )
    timed = TimedStore(sqlite_store)
    assert timed.last_ms == 0.0
    got = match(timed, profile, limit=20)  # type: ignore[arg-type]
    assert timed.last_ms > 0.0
    assert [m.asset.id for m in got] == [m.asset.id for m in match(sqlite_store, profile, limit=20)]
    assert timed.get_asset(got[0].asset.id) == got[0].asset  # everything else goes through
