"""Coverage over HTTP (``/coverage/*``, planner role) and the planner page's routes, over the
sample data in SQLite: the numbers are the engine's, files read back, bad input names its
field, and runs are cached per (dataset version, parameters)."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.coverage import (
    CoverageParams,
    Supply,
    analyse,
    candidates_from_cells,
    dataset_version,
    published_assets,
    sample_population,
    suggest_sites,
)
from geo_assets.coverage import service as coverage_service
from geo_assets.errors import GeoAssetsError, InvalidInputError
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.taxonomy import default_taxonomy

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NATURE = {"category": "nature", "mode": "walk", "minutes": 20, "measure": "e2sfca"}
ENDPOINTS = [
    "/coverage/summary",
    "/coverage/cells",
    "/coverage/gaps",
    "/coverage/sites",
    "/coverage/export.gpkg",
    "/coverage/export.geojson",
    "/coverage/export.csv",
    "/coverage/chart.png",
]


@dataclass
class Site:
    client: TestClient
    store: Store
    auth: dict[str, dict[str, str]]
    tokens: dict[str, str]
    url: str

    def get(self, path: str, role: str | None = "planner", **params: Any) -> Any:
        headers = self.auth[role] if role else {}
        return self.client.get(path, params=params, headers=headers)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> Iterator[Site]:
    url = sample_sqlite(tmp_path_factory.mktemp("coverage_api"))
    store = open_store(url)
    auth: dict[str, dict[str, str]] = {}
    tokens: dict[str, str] = {}
    for role in ("practitioner", "planner", "admin"):
        user = store.create_user(User(name=role.title(), role=role))
        tokens[role] = issue_token(store, user.id)
        auth[role] = {"Authorization": f"Bearer {tokens[role]}"}
    app = create_app(
        Settings(database_url=url, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
    )
    with TestClient(app) as client:
        yield Site(client, store, auth, tokens, url)
    store.close()


def _direct(store: Store, category: str, **kwargs: Any) -> tuple[Any, str]:
    """The engine's own result for the sample population and the category's listings."""
    assets = published_assets(store, [category])
    params = CoverageParams(categories=(category,), **kwargs)
    return analyse(sample_population(), Supply.from_assets(assets), params), dataset_version(assets)


def _problem(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["field"] == field


# --- who may ask ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_callers_get_401_and_practitioners_403(site: Site, path: str) -> None:
    anonymous = site.get(path, role=None, **NATURE)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith(PROBLEM)
    assert "Bearer" in anonymous.headers["www-authenticate"]
    assert site.get(path, role="practitioner", **NATURE).status_code == 403


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_planners_and_admins_are_answered(site: Site, role: str) -> None:
    for path in ("/coverage/summary", "/coverage/gaps"):
        assert site.get(path, role=role, **NATURE).status_code == 200


# --- the numbers ----------------------------------------------------------------------------


def test_summary_is_what_the_engine_computes(site: Site) -> None:
    query = {**NATURE, "mode": "cycle", "minutes": 12.5, "measure": "2sfca"}
    body = site.get("/coverage/summary", **query).json()
    result, version = _direct(site.store, "nature", mode="cycle", minutes=12.5, measure="2sfca")
    expected = result.summary
    assert body["dataset_version"] == version
    assert body["query"] == {**query, "minutes": 12.5}
    for key in ("population", "population_within", "units", "units_within", "assets", "pairs"):
        assert body[key] == expected[key], key
    for key in ("pct_population_within", "pct_need_within", "mean_access", "gap_population"):
        assert body[key] == pytest.approx(expected[key], rel=1e-12), key
    assert body["gap_units"] == expected["gap_units"] > 0
    assert 0 < body["pct_population_within"] < 100
    assert [b["minutes"] for b in body["bands"]] == [3.125, 6.25, 9.375, 12.5]
    assert body["params"]["measure"] == "2sfca" and body["params"]["categories"] == ["nature"]


def test_all_categories_count_every_published_listing(site: Site) -> None:
    body = site.get("/coverage/summary", category="all", minutes=15).json()
    assert body["query"]["category"] == "all"
    assert body["assets"] == len(published_assets(site.store)) > 0
    nature = site.get("/coverage/summary", category="nature", minutes=15).json()
    assert body["pct_population_within"] > nature["pct_population_within"]


def test_cells_are_a_geojson_feature_collection_with_the_measures(site: Site) -> None:
    response = site.get("/coverage/cells", **NATURE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    result, version = _direct(site.store, "nature")
    assert body["type"] == "FeatureCollection" and body["dataset_version"] == version
    assert len(body["features"]) == len(result.cells) == len(sample_population())
    by_id = result.cells.set_index("id")
    for feature in body["features"][::97]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 7  # closed hexagon (or pentagon)
        lon, lat = np.mean(ring[:-1], axis=0)
        assert 53.7 < lat < 54.0 and -2.1 < lon < -1.6  # [lon, lat] order, in the sample area
        props = feature["properties"]
        row = by_id.loc[feature["id"]]
        assert props["id"] == feature["id"]
        assert props["population"] == row["population"]
        for name in ("e2sfca", "two_sfca", "g2sfca", "opportunities", "access", "gap_score"):
            assert props[name] == pytest.approx(row[name]), name
        if math.isinf(row["nearest_min"]):
            assert props["nearest_min"] is None and props["gap_rank"] >= 1
        else:
            assert props["nearest_min"] == pytest.approx(row["nearest_min"])


def test_gaps_come_worst_first(site: Site) -> None:
    body = site.get("/coverage/gaps", top=25, **NATURE).json()
    rows = body["gaps"]
    assert len(rows) == 25 and body["total"] >= 25
    assert [r["rank"] for r in rows] == list(range(1, 26))
    scores = [r["gap_score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    for r in rows:
        assert r["gap_score"] == pytest.approx(r["population"] * r["need"])  # no_asset: lack 1
        assert r["nearest_min"] is None and r["near"]
    result, _ = _direct(site.store, "nature")
    assert [r["id"] for r in rows] == result.gaps(25)["id"].tolist()


def test_sites_are_the_greedy_picks_and_a_shorter_list_is_their_start(site: Site) -> None:
    five = site.get("/coverage/sites", k=5, **NATURE).json()
    three = site.get("/coverage/sites", k=3, **NATURE).json()
    result, _ = _direct(site.store, "nature")
    direct = suggest_sites(
        result.demand,
        result.supply,
        candidates_from_cells(result.demand),
        mode="walk",
        minutes=20,
        k=3,
    )
    assert [s["id"] for s in three["sites"]] == direct.table["id"].tolist()
    assert [s["id"] for s in five["sites"][:3]] == [s["id"] for s in three["sites"]]
    assert three["covered_after"] == pytest.approx(direct.covered_after)
    assert five["covered_before"] == pytest.approx(result.summary["population_within"])
    gains = [s["new_need"] for s in five["sites"]]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0  # greedy gains never grow
    covered = [s["covered_population"] for s in five["sites"]]
    assert covered == sorted(covered) and five["covered_after"] == covered[-1]


# --- downloads and the chart ----------------------------------------------------------------


def test_geopackage_download_reads_back(site: Site, tmp_path: Path) -> None:
    import pyogrio

    response = site.get("/coverage/export.gpkg", **NATURE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="coverage-nature-walk-20min-e2sfca.gpkg"'
    path = tmp_path / "coverage.gpkg"
    path.write_bytes(response.content)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"coverage", "gaps", "assets", "sites"} <= layers
    cells = pyogrio.read_dataframe(path, layer="coverage")
    result, _ = _direct(site.store, "nature")
    assert len(cells) == len(result.cells) and cells.crs.to_epsg() == 4326
    assert {"id", "population", "need", "nearest_min", "e2sfca", "access", "gap_rank"} <= set(
        cells.columns
    )
    assert set(cells.geom_type) == {"Polygon"}
    gaps = pyogrio.read_dataframe(path, layer="gaps")
    assert len(gaps) == result.summary["gap_units"]
    assert len(pyogrio.read_dataframe(path, layer="sites")) == 5
    assert len(pyogrio.read_dataframe(path, layer="assets")) == result.summary["assets"]


def test_geojson_and_csv_downloads_parse(site: Site, tmp_path: Path) -> None:
    import pyogrio

    units = len(sample_population())
    geojson = site.get("/coverage/export.geojson", **NATURE)
    assert geojson.headers["content-type"].startswith("application/geo+json")
    assert geojson.headers["content-disposition"].endswith('.geojson"')
    path = tmp_path / "coverage.geojson"
    path.write_bytes(geojson.content)
    assert len(pyogrio.read_dataframe(path)) == units

    csv = site.get("/coverage/export.csv", **NATURE)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"].endswith('.csv"')
    table = pd.read_csv(io.BytesIO(csv.content))
    assert len(table) == units
    assert {"id", "lat", "lon", "population", "need", "access", "gap_score"} <= set(table.columns)
    assert table["population"].sum() == pytest.approx(sample_population().population.sum())


def test_chart_is_a_png(site: Site) -> None:
    response = site.get("/coverage/chart.png", **NATURE)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content[:8] == PNG_MAGIC and len(response.content) > 10_000


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/coverage/summary", {"category": "no.such.term"}, "category"),
        ("/coverage/cells", {"category": ""}, "category"),
        ("/coverage/summary", {"mode": "boat"}, "mode"),
        ("/coverage/summary", {"minutes": 0}, "minutes"),
        ("/coverage/gaps", {"minutes": 241}, "minutes"),
        ("/coverage/summary", {"minutes": "nan"}, "minutes"),
        ("/coverage/summary", {"measure": "magic"}, "measure"),
        ("/coverage/gaps", {"top": 0}, "top"),
        ("/coverage/sites", {"k": 101}, "k"),
        ("/coverage/export.csv", {"mode": "teleport"}, "mode"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    site: Site, path: str, query: dict[str, Any], field: str
) -> None:
    _problem(site.get(path, **query), field)


# --- caching --------------------------------------------------------------------------------


@pytest.fixture
def analyse_calls(monkeypatch: pytest.MonkeyPatch) -> list[CoverageParams]:
    """Records every coverage run the service starts."""
    calls: list[CoverageParams] = []
    real = coverage_service.analyse

    def counting(demand: Any, supply: Any, params: CoverageParams, **kwargs: Any) -> Any:
        calls.append(params)
        return real(demand, supply, params, **kwargs)

    monkeypatch.setattr(coverage_service, "analyse", counting)
    return calls


def _outside(store: Store, category: str) -> Any:
    """A published listing in none of ``category``'s terms."""
    terms = set(default_taxonomy().descendants(category, include_self=True))
    return next(a for a in published_assets(store) if not terms & set(a.categories))


def test_repeat_requests_reuse_the_run_until_a_listing_changes(
    site: Site, analyse_calls: list[CoverageParams]
) -> None:
    query = {**NATURE, "minutes": 17}  # parameters no other test asks for
    first = site.get("/coverage/summary", **query).json()
    for path in ("/coverage/summary", "/coverage/gaps", "/coverage/cells", "/coverage/sites"):
        assert site.get(path, **query).status_code == 200
    assert len(analyse_calls) == 1

    # A listing of another category leaves the nature run as it was.
    other = _outside(site.store, "nature")
    site.store.update_asset(other.id, {"name": other.name + " (renamed)"})
    assert site.get("/coverage/summary", **query).json() == first
    assert len(analyse_calls) == 1

    # Archiving a nature listing changes the dataset version: the next request runs again.
    nature = published_assets(site.store, ["nature"])[0]
    site.store.archive_asset(nature.id)
    after = site.get("/coverage/summary", **query).json()
    assert len(analyse_calls) == 2
    assert after["dataset_version"] != first["dataset_version"]
    assert after["assets"] == first["assets"] - 1
    assert after["dataset_version"] == dataset_version(published_assets(site.store, ["nature"]))
    site.get("/coverage/gaps", **query)
    assert len(analyse_calls) == 2


def test_the_cache_lives_on_the_app_and_keys_on_the_parameters(
    site: Site, analyse_calls: list[CoverageParams]
) -> None:
    query = {**NATURE, "minutes": 23, "mode": "wheelchair"}
    site.get("/coverage/summary", **query)
    cache = site.client.app.state.coverage_cache  # type: ignore[attr-defined]
    hits = cache.hits
    site.get("/coverage/summary", **query)
    assert cache.hits == hits + 1
    site.get("/coverage/summary", **{**query, "measure": "nearest"})
    assert [p.measure for p in analyse_calls] == ["e2sfca", "nearest"]


def test_repeat_requests_count_instead_of_reading_every_listing(
    site: Site, analyse_calls: list[CoverageParams], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[str, ...]] = []
    real_read = coverage_service.Published.read.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, store: Any, categories: Any) -> Any:
        reads.append(tuple(categories))
        return real_read(cls, store, categories)

    monkeypatch.setattr(coverage_service.Published, "read", classmethod(counting))
    query = {**NATURE, "minutes": 17}
    first = site.get("/coverage/summary", **query).json()
    site.get("/coverage/gaps", **query)
    site.get("/coverage/summary", **{**query, "measure": "nearest"})
    assert reads.count(("nature",)) <= 2  # the first version read, and the new run's own
    before = len(reads)
    site.get("/coverage/summary", **query)
    assert len(reads) == before
    # Renaming a listing keeps the count but not its updated_at: the version is re-read.
    nature = published_assets(site.store, ["nature"])[0]
    site.store.update_asset(nature.id, {"name": nature.name + " (renamed)"})
    again = site.get("/coverage/summary", **query).json()
    assert len(reads) > before
    assert again["dataset_version"] != first["dataset_version"]
    assert again["dataset_version"] == dataset_version(published_assets(site.store, ["nature"]))


# --- the planner page's own routes (cookie session) -----------------------------------------


def _page(site: Site, path: str, role: str | None, **params: Any) -> Any:
    site.client.cookies.clear()
    if role:
        site.client.cookies.set("ga_session", site.tokens[role])
    try:
        return site.client.get(path, params=params, follow_redirects=False)
    finally:
        site.client.cookies.clear()


def test_planner_page_asks_to_sign_in_and_refuses_other_roles(site: Site) -> None:
    anonymous = _page(site, "/planner", None)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in"
    assert _page(site, "/planner/export.csv", None, **NATURE).status_code == 303
    assert _page(site, "/planner", "practitioner").status_code == 403
    assert _page(site, "/planner/chart.png", "practitioner", **NATURE).status_code == 403


def test_planner_page_shows_the_figures_and_links_its_downloads(site: Site) -> None:
    response = _page(site, "/planner", "planner", **NATURE)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    html = response.text
    result, _ = _direct(site.store, "nature")
    assert f"{result.summary['pct_population_within']:.1f}%" in html
    assert 'href="/planner/export.gpkg?category=nature&amp;mode=walk&amp;minutes=20' in html
    assert html.count('<tr>\n            <td class="num">') == 10  # ten worst gaps
    assert result.gaps(1)["id"].iloc[0] in html
    download = _page(site, "/planner/export.csv", "planner", **NATURE)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert _page(site, "/planner", "admin").status_code == 200


def test_planner_page_keeps_a_narrower_category_asked_for_by_link(site: Site) -> None:
    response = _page(site, "/planner", "planner", category="social.lunch-clubs")
    assert response.status_code == 200
    assert '<option value="social.lunch-clubs" selected>Lunch clubs</option>' in response.text
    assert "a listing in Lunch clubs" in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"minutes": "soon"}, "Enter the minutes as a number"),
        ({"minutes": "500"}, "at most 240"),
        ({"category": "no.such.term"}, "unknown category"),
        ({"mode": "boat"}, "`mode` must be one of"),
    ],
)
def test_planner_page_explains_bad_choices(site: Site, query: dict[str, str], message: str) -> None:
    response = _page(site, "/planner", "planner", **query)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and message in response.text
    assert 'aria-invalid="true"' in response.text
    assert "folium-map" not in response.text and 'map-frame"' not in response.text


# --- a deployment's own population ----------------------------------------------------------


AREAS = [("E01-CENTRE", 53.7946, -1.7524), ("E01-NORTH", 53.86, -1.76), ("E01-WEST", 53.79, -1.88)]


def _write_areas(path: Path, people: list[int]) -> None:
    """Areas of Bradford as points (people per area; a zip cuts extra counts)."""
    lines = ["code,lat,lon,people,deprivation"]
    for i, ((code, lat, lon), n) in enumerate(zip(AREAS, people, strict=False)):
        lines.append(f"{code},{lat},{lon},{n},{1 + i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_deployment_measures_its_own_population(site: Site, tmp_path: Path) -> None:
    """``coverage_demand_file`` replaces the sample population on the API and the page;
    a changed file is read again."""
    areas = tmp_path / "areas.csv"
    _write_areas(areas, [1000, 200, 30])
    settings = Settings(
        database_url=site.url,
        rate_limit_per_minute=0,
        read_rate_limit_per_minute=0,
        coverage_demand_file=areas,
        coverage_population_column="people",
        coverage_need_column="deprivation",
    )
    with TestClient(create_app(settings)) as client:
        headers = site.auth["planner"]
        summary = client.get("/coverage/summary", params=NATURE, headers=headers).json()
        assert summary["population"] == 1230 and summary["units"] == 3
        for path in ENDPOINTS:  # cells, sites, downloads and chart work on points too
            assert client.get(path, params=NATURE, headers=headers).status_code == 200, path
        gaps = client.get("/coverage/gaps", params=NATURE, headers=headers).json()["gaps"]
        assert gaps and {g["near"] for g in gaps} == {None}
        assert {g["id"] for g in gaps} <= {"E01-CENTRE", "E01-NORTH", "E01-WEST"}
        client.cookies.set("ga_session", site.tokens["planner"])
        page = client.get("/planner", params=NATURE).text
        assert "Demand is the population in areas.csv, weighted by its deprivation column" in page
        assert "synthetic" not in page
        client.cookies.clear()
        _write_areas(areas, [5000, 200, 30, 7])
        again = client.get("/coverage/summary", params=NATURE, headers=headers).json()
        assert again["population"] == 5230


def test_a_missing_or_broken_demand_file_stops_the_start(site: Site, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="coverage_demand_file"):
        Settings(database_url=site.url, coverage_demand_file=tmp_path / "missing.gpkg")
    broken = tmp_path / "broken.csv"
    _write_areas(broken, [1, 2, 3])
    settings = Settings(
        database_url=site.url, coverage_demand_file=broken, coverage_population_column="nobody"
    )
    app = create_app(settings)
    with (
        pytest.raises(GeoAssetsError, match=r"coverage_demand_file .*broken\.csv"),
        TestClient(app),
    ):
        pass


def test_an_empty_demand_file_gives_the_page_and_files_with_no_one(
    site: Site, tmp_path: Path
) -> None:
    import pyogrio

    empty = tmp_path / "empty.csv"
    _write_areas(empty, [])
    settings = Settings(
        database_url=site.url,
        rate_limit_per_minute=0,
        read_rate_limit_per_minute=0,
        coverage_demand_file=empty,
        coverage_population_column="people",
    )
    with TestClient(create_app(settings)) as client:
        headers = site.auth["planner"]
        for path in ENDPOINTS:
            assert client.get(path, params=NATURE, headers=headers).status_code == 200, path
        sites = client.get("/coverage/sites", params=NATURE, headers=headers).json()
        assert sites["sites"] == [] and sites["population"] == 0
        gpkg = tmp_path / "empty.gpkg"
        gpkg.write_bytes(
            client.get("/coverage/export.gpkg", params=NATURE, headers=headers).content
        )
        assert "sites" not in dict(pyogrio.list_layers(gpkg))
        client.cookies.set("ga_session", site.tokens["planner"])
        page = client.get("/planner", params=NATURE)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "No new site would bring anyone more within reach." in page.text


@pytest.mark.parametrize(
    ("field", "link"), [("minutes", 'href="#choice-minutes"'), ("candidates", None)]
)
def test_planner_page_explains_a_run_it_cannot_make(
    site: Site, monkeypatch: pytest.MonkeyPatch, field: str, link: str | None
) -> None:
    """A run refused as asked (too many pairs for the minutes, say) is said on the page."""
    from api.routers import planner_pages

    def refuse(*_args: Any) -> Any:
        raise InvalidInputError(f"cannot measure that: check `{field}`", field=field)

    monkeypatch.setattr(planner_pages, "run_for", refuse)
    response = _page(site, "/planner", "planner", **NATURE)
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text and f"check `{field}`" in response.text
    assert "folium-map" not in response.text
    invalid = 'aria-invalid="true" aria-describedby'  # a form field marked
    if link is None:
        assert 'href="#choice-' not in response.text and invalid not in response.text
    else:
        assert link in response.text and invalid in response.text


def test_planner_map_gives_no_access_a_colour_of_its_own(site: Site) -> None:
    """Instrument lessons: most cells have no listing within reach, the rest one; the two
    must not share a colour, and the legend must not say "0 to 1"."""
    import re
    from collections import Counter

    query = {**NATURE, "category": "arts.music.instruments", "measure": "cumulative"}
    cells = site.get("/coverage/cells", **query).json()["features"]
    counts = Counter(f["properties"]["access"] for f in cells)
    assert set(counts) == {0.0, 1.0}
    html = _page(site, "/planner", "planner", **query).text
    fills = Counter(re.findall(r'"_ga_fill": "(#[0-9a-fA-F]{6})"', html))
    assert sorted(fills.values()) == sorted(counts.values())
    assert "0 to 1" not in html


def test_a_demand_file_with_a_bad_number_stops_the_start_naming_it(
    site: Site, tmp_path: Path
) -> None:
    areas = tmp_path / "areas.csv"
    areas.write_text('code,lat,lon,people\nA,53.79,-1.75,"1,234"\n', encoding="utf-8")
    settings = Settings(
        database_url=site.url, coverage_demand_file=areas, coverage_population_column="people"
    )
    with (
        pytest.raises(GeoAssetsError, match=r"areas\.csv: `population` .* row 2 has '1,234'"),
        TestClient(create_app(settings)),
    ):
        pass
