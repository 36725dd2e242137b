"""Planners' own files for coverage: demand (points, polygons, WKT) and candidate sites.

Everyone in a file is counted whatever its shapes and ``--resolution``, and a bad value
is refused naming its column and row, never with a parser's traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from geo_assets.coverage import polygons_to_cells, read_demand
from geo_assets.coverage.demand import covering_cells, load_demand
from geo_assets.coverage.service import DemandSource
from geo_assets.coverage.sites import read_candidates
from geo_assets.errors import GeoAssetsError, InvalidInputError

BIG = (-1.80, 53.78, -1.74, 53.82)  # a ward of a few km
SMALL = (-1.60, 53.90, -1.599, 53.9006)  # a 70 x 70 m square 10 km away


def _frame(rows: list[tuple[str, float, object]]) -> object:
    import geopandas as gpd

    codes, people, shapes = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"code": list(codes), "population": list(people)}, geometry=list(shapes), crs="EPSG:4326"
    )


def _write_geojson(path: Path, features: list[tuple[str, object, dict[str, object]]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"code": c, "population": n}, "geometry": g}
                    for c, n, g in features
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


# --- everyone counts --------------------------------------------------------------------------


def test_points_stay_people_with_a_resolution_in_every_file_type(tmp_path: Path) -> None:
    """``--resolution`` spreads polygons; points stay points, from GeoJSON as from CSV."""
    points = [(53.79, -1.75, "A", 100), (53.85, -1.90, "B", 50)]
    geojson = _write_geojson(
        tmp_path / "points.geojson",
        [(c, n, {"type": "Point", "coordinates": [lon, lat]}) for lat, lon, c, n in points],
    )
    csv = tmp_path / "points.csv"
    csv.write_text(
        "code,lat,lon,population\n" + "".join(f"{c},{la},{lo},{n}\n" for la, lo, c, n in points)
    )
    for path in (geojson, csv):
        units = load_demand(path, resolution=8)
        assert units is not None and not units.is_h3, path
        assert units.population.sum() == 150 and sorted(units.ids) == ["A", "B"]
        np.testing.assert_allclose(sorted(units.lat), [53.79, 53.85])


def test_points_among_polygons_go_to_their_cell() -> None:
    import h3
    import shapely

    frame = _frame(
        [("ward", 1000.0, shapely.box(*BIG)), ("hamlet", 40.0, shapely.Point(-1.60, 53.90))]
    )
    cells = polygons_to_cells(frame, 8)
    assert cells.population.sum() == pytest.approx(1040.0, rel=1e-6)
    hamlet = h3.latlng_to_cell(53.90, -1.60, 8)
    assert cells.population[cells.ids == hamlet].tolist() == [40.0]


@pytest.mark.parametrize("resolution", [7, 8, 9, 10])
def test_a_small_polygon_far_from_the_others_keeps_its_people(resolution: int) -> None:
    """A part with no cell centre inside, more than a ring from the rest, is covered too."""
    import shapely

    frame = _frame([("big", 10000.0, shapely.box(*BIG)), ("small", 500.0, shapely.box(*SMALL))])
    cells = polygons_to_cells(frame, resolution)
    assert cells.population.sum() == pytest.approx(10500.0, rel=1e-6)
    small = shapely.box(*SMALL)
    near = shapely.intersects_xy(small.buffer(0.02), cells.lon, cells.lat)
    assert cells.population[near].sum() == pytest.approx(500.0, rel=1e-6)


def test_covering_cells_cover_a_long_thin_strip_at_a_fine_resolution() -> None:
    import h3
    import shapely

    strip = shapely.box(-1.74, 53.800, -1.60, 53.8002)  # 9 km long, 22 m wide
    cells = covering_cells(strip, 10)
    assert shapely.geometry.shape(h3.cells_to_h3shape(cells)).covers(strip)
    frame = _frame([("strip", 800.0, strip)])
    assert polygons_to_cells(frame, 10).population.sum() == pytest.approx(800.0, rel=1e-6)


WARDS = [
    ("W1", 1000, 1.0, "POLYGON((-1.80 53.78,-1.74 53.78,-1.74 53.82,-1.80 53.82,-1.80 53.78))"),
    ("W2", 500, 1.2, "MULTIPOLYGON(((-1.70 53.78,-1.68 53.78,-1.68 53.80,-1.70 53.80,-1.70 53.78)),"
     "((-1.66 53.78,-1.64 53.78,-1.64 53.80,-1.66 53.80,-1.66 53.78)))"),
]  # fmt: skip


def test_a_csv_of_wkt_polygons_is_spread_over_cells_with_a_resolution(tmp_path: Path) -> None:
    import shapely

    wards = tmp_path / "wards.csv"
    wards.write_text(
        "code,population,need,wkt\n" + "".join(f'{c},{p},{n},"{w}"\n' for c, p, n, w in WARDS)
    )
    as_they_are = load_demand(wards)
    assert as_they_are is not None and as_they_are.ids.tolist() == ["W1", "W2"]
    cells = load_demand(wards, resolution=8, need="need")
    assert cells is not None and cells.resolution == 8 and len(cells) > 20
    assert cells.population.sum() == pytest.approx(1500.0, rel=1e-6)
    assert cells.need.min() >= 1.0 - 1e-6 and cells.need.max() <= 1.2 + 1e-6
    # The same wards from a GeoPackage give the same cells.
    gpkg = tmp_path / "wards.gpkg"
    frame = _frame([(c, float(p), shapely.from_wkt(w)) for c, p, _, w in WARDS])
    frame.to_file(gpkg, driver="GPKG", engine="pyogrio")  # type: ignore[attr-defined]
    again = load_demand(gpkg, resolution=8)
    assert again is not None and again.ids.tolist() == cells.ids.tolist()
    np.testing.assert_allclose(again.population, cells.population)


# --- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "said"),
    [
        ('code,lat,lon,people\nA,53.79,-1.75,"1,234"\nB,53.85,-1.9,50\n', "population",
         "`population` (column `people`) must be a number; row 2 has '1,234'"),
        ("code,lat,lon,people\nA,53.79,-1.75,5\nB,,-1.9,50\n", "lat", "row 3 has no value"),
        ("code,lat,lon,people\nA,abc,-1.75,5\n", "lat", "`lat` must be a number; row 2 has 'abc'"),
        ("code,lat,lon,people\nA,53.79,-1.75,5\nB,53.8,-1.9,-3\n", "population",
         "must be a finite number, not negative; row 3 has -3"),
        ("code,lat,lon,people,imd\nA,53.79,-1.75,5,high\n", "need", "row 2 has 'high'"),
        ('code,people,wkt\nA,5,"POLYGON((0 0, 1 1\n', "demand", "cannot read demand file"),
        ('code,people,wkt\nA,5,"POLYGON((0 0, 1 0, 1 1, 0 0))"\nB,6,"POLYGON((0 0, 1 1"\n',
         "wkt", "`wkt` must be a WKT geometry; row 3 has 'POLYGON((0 0, 1 1'"),
        ("", "demand", "cannot read demand file"),
    ],
)  # fmt: skip
def test_bad_values_name_the_column_and_row(
    tmp_path: Path, text: str, field: str, said: str
) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(text, encoding="utf-8")
    need = "imd" if "imd" in text else None
    with pytest.raises(InvalidInputError, match=_escape(said)) as caught:
        load_demand(path, population="people", need=need)
    assert caught.value.field == field
    # A deployment's file: the app's start stops naming the setting (a server fault).
    source = DemandSource(path, "people", need)
    with pytest.raises(GeoAssetsError, match="coverage_demand_file"):
        source.load()


def _escape(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.filterwarnings("ignore:Could not parse column:UserWarning")
def test_bad_values_in_a_geojson_name_the_feature(tmp_path: Path) -> None:
    path = _write_geojson(
        tmp_path / "areas.geojson",
        [
            ("A", 5, {"type": "Point", "coordinates": [-1.75, 53.79]}),
            ("B", "1,234", {"type": "Point", "coordinates": [-1.76, 53.80]}),
        ],
    )
    for resolution in (None, 8):
        with pytest.raises(InvalidInputError, match="row 2 has '1,234'"):
            load_demand(path, resolution=resolution)
    with pytest.raises(InvalidInputError, match="row 2 has '1,234'"):
        read_demand(path)


@pytest.fixture(scope="module")
def sample_db(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> str:
    return sample_sqlite(tmp_path_factory.mktemp("coverage_inputs"))


def test_the_command_line_says_what_is_wrong_in_one_line(sample_db: str, tmp_path: Path) -> None:
    from geo_assets.cli import app

    path = tmp_path / "areas.csv"
    path.write_text('code,lat,lon,population\nA,53.79,-1.75,"1,234"\n', encoding="utf-8")
    base = ["--database-url", sample_db, "coverage", "--category", "nature"]
    result = CliRunner().invoke(app, [*base, "--demand", str(path)])
    assert result.exit_code == 2, result.output
    assert "error: `population` must be a number; row 2 has '1,234'" in result.output
    assert "Traceback" not in result.output


# --- candidate sites --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ("Hall,53.80,-1.75\nBlank,,-1.8\n", "`candidates`: `lat` must be degrees from -90 to 90; "
         "row 3 has no value"),
        ("Hall,95,-1.75\n", "row 2 has 95"),
        ("Hall,north,-1.75\n", "`candidates`: `lat` must be a number; row 2 has 'north'"),
    ],
)  # fmt: skip
def test_bad_candidate_coordinates_name_the_candidates(
    tmp_path: Path, rows: str, said: str
) -> None:
    path = tmp_path / "candidates.csv"
    path.write_text("name,lat,lon\n" + rows, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=_escape(said)) as caught:
        read_candidates(path)
    assert caught.value.field == "candidates"
