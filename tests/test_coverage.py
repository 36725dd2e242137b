"""Coverage analysis: hand-worked measures, PySAL cross-checks, demand, gaps, sites, CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import make_asset
from typer.testing import CliRunner

from geo_assets.coverage import (
    CoverageCache,
    CoverageParams,
    Demand,
    GapDefinition,
    Supply,
    analyse,
    build_cost_table,
    cells_over_area,
    dataset_version,
    polygons_to_cells,
    read_demand,
    resample_cells,
    suggest_sites,
    write_result,
)
from geo_assets.coverage import measures as m
from geo_assets.coverage.costs import ecef_m
from geo_assets.coverage.gaps import lack_of_access, weighted_percentile
from geo_assets.coverage.population import (
    BRADFORD_POPULATION,
    POPULATION_PATH,
    generate_population,
    population_csv,
    sample_population,
)
from geo_assets.coverage.service import run_coverage
from geo_assets.coverage.sites import (
    candidates_from_cells,
    candidates_from_venues,
    coverage_matrix,
    greedy_max_cover,
)
from geo_assets.errors import InvalidInputError
from geo_assets.store import Store
from geo_assets.travel import StraightLineTravel

BRADFORD = (53.795, -1.752)
M_PER_DEG_LAT = 111_320.0

# A hand-worked instance: 3 demand units, 2 sites, threshold d0 = 30 minutes.
# Pairs (i, j, d_ij); the (0, 1) pair at 35 minutes lies beyond the catchment.
I_ = np.array([0, 1, 1, 2, 0])
J = np.array([0, 0, 1, 1, 1])
D = np.array([5.0, 15.0, 25.0, 8.0, 35.0])
P = np.array([100.0, 200.0, 300.0])
S = np.array([1.0, 2.0])


def _points(n: int, seed: int, spread_m: float = 2500.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = BRADFORD[0] + rng.normal(0, spread_m, n) / M_PER_DEG_LAT
    lon = BRADFORD[1] + rng.normal(0, spread_m, n) / (
        M_PER_DEG_LAT * math.cos(math.radians(BRADFORD[0]))
    )
    return lat, lon


# --- hand-worked measures -----------------------------------------------------------------


def test_nearest_minutes_by_hand() -> None:
    assert m.nearest_minutes(I_, D, 4).tolist() == [5.0, 15.0, 8.0, math.inf]


def test_cumulative_opportunities_by_hand() -> None:
    assert m.cumulative_opportunities(I_, J, D, 3, 30).tolist() == [1, 2, 1]
    assert m.cumulative_opportunities(I_, J, D, 3, 10).tolist() == [1, 0, 1]
    assert m.cumulative_opportunities(I_, J, D, 3, 30, S_j=S).tolist() == [1, 3, 2]


def test_two_step_fca_by_hand() -> None:
    # R_0 = 1 / (100 + 200); R_1 = 2 / (200 + 300).
    A = m.two_step_fca(I_, J, D, P, S, 30)
    np.testing.assert_allclose(A, [1 / 300, 1 / 300 + 2 / 500, 2 / 500], rtol=1e-12)


def test_enhanced_two_step_fca_by_hand() -> None:
    # Weights: 5 min -> 1.00, 15 -> 0.68, 25 -> 0.22, 8 -> 1.00.
    R_0 = 1 / (100 * 1.00 + 200 * 0.68)
    R_1 = 2 / (200 * 0.22 + 300 * 1.00)
    A = m.enhanced_two_step_fca(I_, J, D, P, S, 30)
    np.testing.assert_allclose(A, [R_0, 0.68 * R_0 + 0.22 * R_1, R_1], rtol=1e-12)


def test_gaussian_two_step_fca_by_hand() -> None:
    def g(d: float) -> float:
        return (math.exp(-0.5 * (d / 30) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))

    R_0 = 1 / (100 * g(5) + 200 * g(15))
    R_1 = 2 / (200 * g(25) + 300 * g(8))
    A = m.gaussian_two_step_fca(I_, J, D, P, S, 30)
    np.testing.assert_allclose(A, [g(5) * R_0, g(15) * R_0 + g(25) * R_1, g(8) * R_1])
    assert m.gaussian_weights(np.array([0.0, 30.0, 31.0]), 30).tolist() == [1.0, 0.0, 0.0]


def test_step_weights_scale_with_the_threshold_and_keep_edges_in_their_zone() -> None:
    d = np.array([0, 10, 10.001, 20, 20.001, 30, 30.001])
    assert m.step_weights(d, 30).tolist() == [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0]
    assert m.step_weights(np.array([5, 5.5, 10, 15, 16]), 15).tolist() == [
        1.0,
        0.68,
        0.68,
        0.22,
        0.0,
    ]


def test_site_with_no_population_in_reach_serves_nobody() -> None:
    A, R = m.floating_catchment(np.array([0]), np.array([0]), np.ones(1), np.zeros(1), S[:1])
    assert R.tolist() == [0.0] and A.tolist() == [0.0]


def test_journey_time_summary_by_hand() -> None:
    nearest = np.array([5.0, 15.0, math.inf])
    need = np.array([1.0, 2.0, 1.0])
    s = m.journey_time_summary(P, need, nearest, 10, bands=[10, 20])
    assert s["pct_population_within"] == pytest.approx(100 * 100 / 600)
    # population x need: 100, 400, 300; within 10 min only the first.
    assert s["pct_need_within"] == pytest.approx(100 * 100 / 800)
    assert s["bands"][1]["pct_population_within"] == pytest.approx(50.0)


# --- the sparse cost table ----------------------------------------------------------------


def test_ecef_chord_never_exceeds_the_geodesic() -> None:
    lat, lon = _points(50, 1, spread_m=20_000)
    xyz = ecef_m(lat, lon)
    from geo_assets.geodesy import WGS84

    _, _, geo = WGS84.inv(np.full(49, lon[0]), np.full(49, lat[0]), lon[1:], lat[1:])
    chord = np.linalg.norm(xyz[1:] - xyz[0], axis=1)
    assert np.all(chord <= geo + 1e-6)
    assert np.all(chord > geo * 0.999)


def _sorted(table: object) -> tuple[list[int], list[int], np.ndarray]:
    order = np.lexsort((table.j, table.i))  # type: ignore[attr-defined]
    return (
        table.i[order].tolist(),  # type: ignore[attr-defined]
        table.j[order].tolist(),  # type: ignore[attr-defined]
        table.minutes[order],  # type: ignore[attr-defined]
    )


def test_chord_gives_the_geodesic_within_a_centimetre() -> None:
    from geo_assets.coverage.costs import chord_to_geodesic_m, mean_radius_m
    from geo_assets.geodesy import WGS84

    rng = np.random.default_rng(8)
    for lat0 in (0.0, 53.0, 80.0):
        lat1 = lat0 + rng.uniform(-1, 1, 2000)
        lon1 = rng.uniform(-180, 180, 2000)
        dist = rng.uniform(0, 100_000, 2000)
        lon2, lat2, _ = WGS84.fwd(lon1, lat1, rng.uniform(0, 360, 2000), dist)
        chord = np.linalg.norm(ecef_m(lat1, lon1) - ecef_m(lat2, lon2), axis=1)
        geodesic = chord_to_geodesic_m(chord, mean_radius_m(lat1))
        assert np.max(np.abs(geodesic - dist)) < 0.01
        assert np.max(np.abs(geodesic - dist) / np.maximum(dist, 1.0)) < 2e-7


@pytest.mark.parametrize("mode", ["walk", "car"])
def test_cost_table_equals_the_dense_travel_model(mode: str) -> None:
    d_lat, d_lon = _points(120, 2)
    s_lat, s_lon = _points(40, 3)
    travel = StraightLineTravel()
    table = build_cost_table(d_lat, d_lon, s_lat, s_lon, mode=mode, max_minutes=12, chunk=17)
    dense = np.array(
        [
            travel.minutes((a, b), np.column_stack([s_lat, s_lon]), mode)
            for a, b in zip(d_lat, d_lon, strict=True)
        ]
    )
    want_i, want_j = np.nonzero(dense <= 12)
    got_i, got_j, minutes = _sorted(table)
    assert got_i == want_i.tolist() and got_j == want_j.tolist()
    np.testing.assert_allclose(minutes, dense[want_i, want_j], rtol=1e-8)


def test_long_reach_uses_the_exact_geodesic() -> None:
    fast_car = StraightLineTravel().with_speed("car", speed_kmh=120.0)
    assert fast_car.reach_m("car", 90) > 100_000
    d_lat, d_lon = _points(40, 9, spread_m=60_000)
    s_lat, s_lon = _points(10, 10, spread_m=60_000)
    table = build_cost_table(
        d_lat, d_lon, s_lat, s_lon, mode="car", max_minutes=90, travel=fast_car
    )
    i, j, minutes = _sorted(table)
    dense = np.array(
        [
            fast_car.minutes((d_lat[a], d_lon[a]), np.column_stack([s_lat, s_lon]), "car")
            for a in range(40)
        ]
    )
    want_i, want_j = np.nonzero(dense <= 90)
    assert i == want_i.tolist() and j == want_j.tolist()
    np.testing.assert_allclose(minutes, dense[want_i, want_j], rtol=1e-12)


def test_any_travel_model_gives_the_same_table() -> None:
    class Wrapped:
        """Not a StraightLineTravel, so the per-origin path runs."""

        name = "wrapped"

        def __init__(self) -> None:
            self.inner = StraightLineTravel()

        def minutes(self, origin, destinations, mode, *, max_minutes=None):  # type: ignore[no-untyped-def]
            return self.inner.minutes(origin, destinations, mode)

        def reach_m(self, mode: str, minutes: float) -> float:
            return self.inner.reach_m(mode, minutes)

    d_lat, d_lon = _points(60, 4)
    s_lat, s_lon = _points(20, 5)
    fast = build_cost_table(d_lat, d_lon, s_lat, s_lon, mode="cycle", max_minutes=6)
    slow = build_cost_table(
        d_lat, d_lon, s_lat, s_lon, mode="cycle", max_minutes=6, travel=Wrapped()
    )
    fast_i, fast_j, fast_min = _sorted(fast)
    slow_i, slow_j, slow_min = _sorted(slow)
    assert fast_i == slow_i and fast_j == slow_j
    np.testing.assert_allclose(fast_min, slow_min, rtol=1e-8)


def test_network_travel_runs_through_the_generic_path() -> None:
    from geo_assets.network import NetworkTravel, graph_from_edges

    # A 12 x 12 street grid, 150 m between junctions, around central Bradford.
    n = 12
    step_lat = 150 / M_PER_DEG_LAT
    step_lon = 150 / (M_PER_DEG_LAT * math.cos(math.radians(BRADFORD[0])))
    rows, cols = np.divmod(np.arange(n * n), n)
    lat = BRADFORD[0] + (rows - n / 2) * step_lat
    lon = BRADFORD[1] + (cols - n / 2) * step_lon
    right = [(k, k + 1) for k in range(n * n) if k % n < n - 1]
    up = [(k, k + n) for k in range(n * n - n)]
    u, v = np.array(right + up).T
    graph = graph_from_edges(np.arange(n * n), lat, lon, u, v, np.full(len(u), 150.0))
    travel = NetworkTravel({"walk": graph})
    d_lat, d_lon = _points(30, 13, spread_m=500)
    s_lat, s_lon = _points(8, 14, spread_m=500)
    table = build_cost_table(d_lat, d_lon, s_lat, s_lon, mode="walk", max_minutes=15, travel=travel)
    dense = np.array(
        [
            travel.minutes((a, b), np.column_stack([s_lat, s_lon]), "walk")
            for a, b in zip(d_lat, d_lon, strict=True)
        ]
    )
    want_i, want_j = np.nonzero(dense <= 15)
    i, j, minutes = _sorted(table)
    assert len(i) > 0 and i == want_i.tolist() and j == want_j.tolist()
    np.testing.assert_allclose(minutes, dense[want_i, want_j], rtol=1e-12)
    # Streets are never shorter than straight lines.
    straight = build_cost_table(d_lat, d_lon, s_lat, s_lon, mode="walk", max_minutes=15)
    assert len(straight) >= len(table)


def test_cost_table_refuses_more_pairs_than_allowed() -> None:
    lat, lon = _points(30, 6, spread_m=100)
    with pytest.raises(InvalidInputError, match="pairs"):
        build_cost_table(lat, lon, lat, lon, mode="walk", max_minutes=20, max_pairs=100)


def test_cost_table_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="`mode`"):
        build_cost_table([53.8], [-1.7], [53.8], [-1.7], mode="horse", max_minutes=10)
    with pytest.raises(InvalidInputError, match="demand"):
        build_cost_table([95.0], [-1.7], [53.8], [-1.7], mode="walk", max_minutes=10)


# --- PySAL access: the same cost table, weights and max cost give the same numbers -------


def _access_model(seed: int) -> tuple[object, Demand, Supply, object]:
    from access import Access

    d_lat, d_lon = _points(80, seed)
    s_lat, s_lon = _points(15, seed + 100)
    rng = np.random.default_rng(seed)
    demand = Demand.from_points(d_lat, d_lon, rng.integers(50, 3000, 80).astype(float))
    supply = Supply.from_points(
        s_lat, s_lon, ids=[f"s{k}" for k in range(15)], capacity=rng.integers(1, 5, 15)
    )
    table = build_cost_table(d_lat, d_lon, s_lat, s_lon, mode="walk", max_minutes=30)
    model = Access(
        demand_df=pd.DataFrame({"geoid": demand.ids, "pop": demand.population}),
        demand_index="geoid",
        demand_value="pop",
        supply_df=pd.DataFrame({"geoid": supply.ids, "cap": supply.capacity}),
        supply_index="geoid",
        supply_value="cap",
        cost_df=table.to_frame(demand.ids, supply.ids),
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    return model, demand, supply, table


def _theirs(frame: pd.DataFrame, column: str, demand: Demand) -> np.ndarray:
    # access leaves out units with no site in reach: their access is 0.
    return frame[column].reindex(demand.ids).fillna(0.0).to_numpy()


@pytest.mark.filterwarnings("ignore:The inplace keyword")
@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("d0", [30.0, 20.0])
def test_fca_family_equals_pysal_access(seed: int, d0: float) -> None:
    from access import weights

    model, demand, supply, table = _access_model(seed)
    args = (table.i, table.j, table.minutes, demand.population, supply.capacity, d0)
    assert len(table) > 50

    two = model.two_stage_fca(name="t", max_cost=d0)  # type: ignore[attr-defined]
    ours = m.two_step_fca(*args)
    np.testing.assert_allclose(ours, _theirs(two, "t_cap", demand), rtol=1e-9, atol=1e-9)

    b = m.step_breaks(d0)
    fn = weights.step_fn({b[0]: 1.00, b[1]: 0.68, b[2]: 0.22})
    enhanced = model.enhanced_two_stage_fca(name="e", max_cost=d0, weight_fn=fn)  # type: ignore[attr-defined]
    ours = m.enhanced_two_step_fca(*args)
    np.testing.assert_allclose(ours, _theirs(enhanced, "e_cap", demand), rtol=1e-9, atol=1e-9)
    assert np.count_nonzero(ours) > 20

    gauss = model.two_stage_fca(  # type: ignore[attr-defined]
        name="g", max_cost=d0, weight_fn=lambda d: float(m.gaussian_weights(np.array([d]), d0)[0])
    )
    ours = m.gaussian_two_step_fca(*args)
    np.testing.assert_allclose(ours, _theirs(gauss, "g_cap", demand), rtol=1e-9, atol=1e-9)


# --- demand -------------------------------------------------------------------------------


def test_population_file_is_what_the_generator_writes() -> None:
    assert POPULATION_PATH.read_text(encoding="utf-8") == population_csv(generate_population())


def test_sample_population_is_plausible() -> None:
    demand = sample_population()
    assert demand.resolution == 8
    assert demand.population.sum() == BRADFORD_POPULATION
    assert demand.need.min() >= 0.5 and demand.need.max() <= 1.5
    # Denser and needier in inner Bradford than on the edge of the extent.
    import h3

    centre = h3.latlng_to_cell(*BRADFORD, 8)
    inner = demand.population[demand.ids == centre][0]
    assert inner > 4 * np.median(demand.population)
    ilkley = h3.latlng_to_cell(53.925, -1.822, 8)
    assert demand.need[demand.ids == ilkley][0] < demand.need[demand.ids == centre][0]


def test_demand_within_a_study_area() -> None:
    import shapely

    demand = sample_population()
    inner = demand.within(shapely.box(-1.80, 53.77, -1.70, 53.82))
    assert 0 < len(inner) < len(demand)
    assert np.all((inner.lon > -1.80) & (inner.lon < -1.70))


def test_resampling_conserves_population() -> None:
    demand = sample_population()
    coarse = resample_cells(demand, 7)
    fine = resample_cells(demand, 9)
    assert coarse.resolution == 7 and fine.resolution == 9
    assert coarse.population.sum() == pytest.approx(BRADFORD_POPULATION)
    assert fine.population.sum() == pytest.approx(BRADFORD_POPULATION)
    assert len(fine) == 7 * len(demand)
    assert coarse.weight.sum() == pytest.approx(demand.weight.sum())


def test_cells_over_area_and_bad_resolution() -> None:
    import shapely

    cells = cells_over_area(shapely.box(-1.8, 53.7, -1.7, 53.8), 8)
    assert cells == sorted(cells) and len(cells) > 50
    with pytest.raises(InvalidInputError, match="resolution"):
        cells_over_area(shapely.box(-1.8, 53.7, -1.7, 53.8), 16)


def _two_squares() -> object:
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"code": ["A", "B"], "pop": [1000.0, 500.0], "imd": [1.4, 0.6]},
        geometry=[shapely.box(-1.80, 53.78, -1.76, 53.80), shapely.box(-1.76, 53.78, -1.72, 53.80)],
        crs="EPSG:4326",
    )


def test_polygon_population_spreads_over_cells_by_area() -> None:
    cells = polygons_to_cells(_two_squares(), 8, population="pop", need="imd")
    assert cells.resolution == 8
    # Only floating-point slivers between projected cells may lose any people.
    assert cells.population.sum() == pytest.approx(1500.0, rel=1e-6)
    assert cells.need.min() >= 0.6 - 1e-6 and cells.need.max() <= 1.4 + 1e-6
    west = cells.lon < -1.765
    assert cells.population[west].sum() > cells.population[cells.lon > -1.755].sum()


def test_read_demand_from_files(tmp_path: Path) -> None:
    frame = _two_squares()
    frame.to_file(tmp_path / "areas.gpkg", driver="GPKG", engine="pyogrio")
    areas = read_demand(tmp_path / "areas.gpkg", population="pop", need="imd", id_column="code")
    assert areas.ids.tolist() == ["A", "B"] and areas.need.tolist() == [1.4, 0.6]
    assert areas.geometry is not None and areas.lat[0] == pytest.approx(53.79)

    pd.DataFrame({"lat": [53.8, 53.81], "lon": [-1.75, -1.76], "people": [10, 20]}).to_csv(
        tmp_path / "points.csv", index=False
    )
    points = read_demand(tmp_path / "points.csv")
    assert points.population.tolist() == [10.0, 20.0] and not points.is_h3

    frame.assign(wkt=frame.geometry.to_wkt()).drop(columns="geometry").to_csv(
        tmp_path / "areas.csv", index=False
    )
    from_wkt = read_demand(tmp_path / "areas.csv", population="pop")
    assert from_wkt.ids.tolist() == ["A", "B"]

    pd.DataFrame({"lat": [53.8], "lon": [-1.75], "count": [3]}).to_csv(
        tmp_path / "unnamed.csv", index=False
    )
    with pytest.raises(InvalidInputError, match="population"):
        read_demand(tmp_path / "unnamed.csv")
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_demand(tmp_path / "nope.csv")


# --- analysis, gaps, cache ----------------------------------------------------------------


def _sample_supply() -> Supply:
    lat, lon = _points(25, 21, spread_m=4000)
    return Supply.from_points(lat, lon, ids=[f"a{k}" for k in range(25)])


def test_analyse_ranks_gaps_by_population_need_and_lack() -> None:
    demand = sample_population()
    result = analyse(demand, _sample_supply(), CoverageParams(mode="walk", minutes=15))
    cells = result.cells
    assert len(cells) == len(demand) and result.pairs > 0
    gaps = result.gaps()
    assert (gaps["nearest_min"] > 15).all()
    assert gaps["gap_score"].is_monotonic_decreasing
    assert gaps["gap_rank"].tolist() == list(range(1, len(gaps) + 1))
    expected = gaps["population"] * gaps["need"]
    np.testing.assert_allclose(gaps["gap_score"], expected)
    s = result.summary
    within = cells.loc[cells["nearest_min"] <= 15, "population"].sum()
    assert s["pct_population_within"] == pytest.approx(100 * within / BRADFORD_POPULATION)
    assert s["gap_population"] == pytest.approx(BRADFORD_POPULATION - within)


def test_below_percentile_gaps() -> None:
    access = np.array([0.0, 1.0, 2.0, 4.0])
    pop = np.ones(4)
    assert weighted_percentile(access, pop, 50) == 1.0
    lack = lack_of_access(access, np.zeros(4), 10, pop, GapDefinition("below_percentile", 60))
    assert lack.tolist() == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(InvalidInputError, match="percentile"):
        GapDefinition("below_percentile", 100)
    with pytest.raises(InvalidInputError, match="nearest"):
        CoverageParams(measure="nearest", gap=GapDefinition("below_percentile"))


def test_cache_keys_on_version_and_parameters() -> None:
    from geo_assets.synthetic import generate_sample

    cache = CoverageCache(max_entries=2)
    calls: list[int] = []
    params = CoverageParams(categories=("nature",)).as_dict()
    assert cache.get_or_compute("v1", params, lambda: calls.append(1) or "r1") == "r1"
    assert cache.get_or_compute("v1", dict(reversed(params.items())), lambda: "again") == "r1"
    assert cache.get_or_compute("v2", params, lambda: "r2") == "r2"
    cache.put("v3", params, "r3")
    assert len(cache) == 2 and cache.get("v1", params) is None
    _, assets = generate_sample()
    version = dataset_version(assets[:50])
    assert version == dataset_version(list(reversed(assets[:50])))
    bumped = [assets[0].model_copy(update={"version": 2}), *assets[1:50]]
    assert dataset_version(bumped) != version


def test_the_same_run_is_computed_once_when_asked_for_twice_at_once() -> None:
    import threading
    import time

    cache = CoverageCache()
    params = CoverageParams(categories=("nature",)).as_dict()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "result"

    got: list[str] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get_or_compute("v1", params, slow)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["result"] * 4 and len(calls) == 1 and cache.computed == 1


# --- site suggestion ----------------------------------------------------------------------


def test_greedy_max_cover_by_hand() -> None:
    # Site 0 covers units {0, 1}, site 1 {1, 2, 3}, site 2 {3}; weights 5, 1, 1, 1.
    N = coverage_matrix(np.array([0, 1, 1, 2, 3, 3]), np.array([0, 0, 1, 1, 1, 2]), 4, 3)
    a = np.array([5.0, 1.0, 1.0, 1.0])
    assert greedy_max_cover(N, a, 2) == [(0, 6.0), (1, 2.0)]
    assert greedy_max_cover(N, a, 3, covered=np.array([True, False, False, False])) == [(1, 3.0)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_greedy_covers_at_least_95_percent_of_spopt_exact_mclp() -> None:
    import pulp
    from spopt.locate import MCLP

    d_lat, d_lon = _points(150, 31, spread_m=3000)
    c_lat, c_lon = _points(30, 32, spread_m=3000)
    weight = np.random.default_rng(33).integers(10, 500, 150).astype(float)
    d0 = 10.0
    table = build_cost_table(d_lat, d_lon, c_lat, c_lon, mode="walk", max_minutes=d0)
    dense = np.full((150, 30), 1e9)
    dense[table.i, table.j] = table.minutes
    for p in (2, 4):
        exact = MCLP.from_cost_matrix(dense, weight, service_radius=d0, p_facilities=p)
        exact = exact.solve(pulp.PULP_CBC_CMD(msg=False))
        optimum = pulp.value(exact.problem.objective)
        N = coverage_matrix(table.i, table.j, 150, 30)
        greedy = sum(g for _, g in greedy_max_cover(N, weight, p))
        assert greedy >= 0.95 * optimum, (p, greedy, optimum)
        assert greedy <= optimum + 1e-6


def test_suggest_sites_counts_only_newly_covered_people() -> None:
    demand = sample_population()
    existing = _sample_supply()
    suggestion = suggest_sites(
        demand, existing, candidates_from_cells(demand), mode="walk", minutes=15, k=3
    )
    table = suggestion.table
    assert table["rank"].tolist() == [1, 2, 3]
    assert suggestion.covered_before > 0
    assert suggestion.covered_after == pytest.approx(
        suggestion.covered_before + table["new_population"].sum()
    )
    assert table["new_need"].is_monotonic_decreasing


def test_candidate_venues_exclude_those_already_offering_the_category() -> None:
    from geo_assets.synthetic import generate_sample

    _, assets = generate_sample()
    venues = [a for a in assets if a.kind == "venue" and a.status == "published"]
    some = venues[0].categories[0]
    pool = candidates_from_venues(assets, [some])
    assert 0 < len(pool) < len(venues)
    assert venues[0].id not in set(pool.ids)


# --- command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_db(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> str:
    return sample_sqlite(tmp_path_factory.mktemp("coverage"))


def test_cli_writes_files_that_read_back(sample_db: str, tmp_path: Path) -> None:
    import pyogrio

    from geo_assets.cli import app

    runner = CliRunner()
    base = ["--database-url", sample_db, "coverage", "--category", "nature", "--minutes", "20"]
    gpkg = tmp_path / "coverage.gpkg"
    result = runner.invoke(
        app,
        [
            *base,
            "--out",
            str(gpkg),
            "--chart",
            str(tmp_path / "a.png"),
            "--sites",
            "2",
            "--measure",
            "2sfca",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "of 550,000 people" in result.output
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"coverage", "gaps", "assets", "sites"} <= set(layers)
    cells = pyogrio.read_dataframe(gpkg, layer="coverage")
    assert len(cells) == len(sample_population()) and cells.crs.to_epsg() == 4326
    assert {"nearest_min", "two_sfca", "e2sfca", "gap_rank"} <= set(cells.columns)
    assert len(pyogrio.read_dataframe(gpkg, layer="sites")) == 2
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    for suffix in (".geojson", ".csv"):
        out = tmp_path / f"coverage{suffix}"
        result = runner.invoke(app, [*base, "--out", str(out), "--resolution", "7"])
        assert result.exit_code == 0, result.output
        back = pyogrio.read_dataframe(out)
        assert len(back) == len(resample_cells(sample_population(), 7))


def test_cli_json_and_bad_input(sample_db: str) -> None:
    from geo_assets.cli import app

    runner = CliRunner()
    base = ["--database-url", sample_db, "coverage", "--category", "sport", "--json"]
    result = runner.invoke(app, [*base, "--mode", "cycle", "--top", "3"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["summary"]["params"]["mode"] == "cycle" and len(payload["gaps"]) <= 3
    bad = runner.invoke(app, [*base, "--measure", "magic"])
    assert bad.exit_code == 2 and "measure" in bad.output
    bad = runner.invoke(app, [*base[:3], "no.such.term"])
    assert bad.exit_code == 2


def test_cli_with_user_polygons_and_venue_candidates(sample_db: str, tmp_path: Path) -> None:
    import pyogrio

    from geo_assets.cli import app

    areas = tmp_path / "areas.gpkg"
    _two_squares().to_file(areas, driver="GPKG", engine="pyogrio")  # type: ignore[attr-defined]
    out = tmp_path / "areas_out.gpkg"
    args = ["--database-url", sample_db, "coverage", "--category", "arts", "--demand", str(areas)]
    args += ["--population-column", "pop", "--need-column", "imd", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--sites", "1", "--candidates", "venues"])
    assert result.exit_code == 0, result.output
    units = pyogrio.read_dataframe(out, layer="coverage")
    assert sorted(units["id"]) == ["A", "B"] and units["population"].sum() == 1500
    result = CliRunner().invoke(app, [*args, "--resolution", "8"])
    assert result.exit_code == 0, result.output
    cells = pyogrio.read_dataframe(out, layer="coverage")
    assert len(cells) > 2 and abs(cells["population"].sum() - 1500) < 1e-3


NEAR = {"lat": 53.80, "lon": -1.75}
FAR = {"lat": 53.90, "lon": -1.95}


def test_venue_candidates_are_every_published_venue_whatever_its_categories(
    sqlite_store: Store,
) -> None:
    """A sports hall filed under sport (as the OSM importer files them) can host a group."""
    hall = sqlite_store.create_asset(
        make_asset(kind="venue", name="Sports Hall", categories=["sport"], location=NEAR)
    )
    sqlite_store.create_asset(
        make_asset(
            kind="venue", name="Closed Hall", categories=["sport"], location=NEAR, status="draft"
        )
    )
    sqlite_store.create_asset(
        make_asset(kind="group", name="Walkers", categories=["nature"], location=FAR)
    )
    demand = Demand.from_points([53.80, 53.90], [-1.75, -1.95], [1000, 10], ids=["near", "far"])
    run = run_coverage(
        sqlite_store, CoverageParams(categories=("nature",)), demand=demand, candidates="venues"
    )
    table = run.suggest(2).table
    assert table["id"].tolist() == [hall.id] and table["new_population"].tolist() == [1000.0]


def test_csv_export_guards_text_that_a_spreadsheet_would_run(tmp_path: Path) -> None:
    demand = Demand.from_points(
        [53.79, 53.95, 53.80],
        [-1.75, -2.0, -1.76],
        [100, 50, 10],
        ids=['=HYPERLINK("http://evil")', "+SUM(1)", "-5"],
    )
    result = analyse(demand, _sample_supply(), CoverageParams())
    out = tmp_path / "coverage.csv"
    write_result(result, out)
    ids = pd.read_csv(out, dtype={"id": str})["id"].tolist()
    assert ids == ['\'=HYPERLINK("http://evil")', "'+SUM(1)", "-5"]  # a number stays one


def test_cli_says_when_no_new_site_would_help(sample_db: str) -> None:
    from geo_assets.cli import app

    args = ["--database-url", sample_db, "coverage", "--category", "nature", "--mode", "car"]
    result = CliRunner().invoke(app, [*args, "--minutes", "240", "--sites", "2", "--top", "0"])
    assert result.exit_code == 0, result.output
    assert "100.0% of 550,000 people" in result.output
    assert "No new site would bring anyone more within reach." in result.output
    assert "Suggested new sites" not in result.output
