"""GeoJSON and GeoPackage export/import: QGIS-ready layers and lossless round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyogrio
import pytest

from geo_assets.ingest import run_import
from geo_assets.ingest.geo import (
    _views_problem,
    export_geojson,
    export_gpkg,
    parse_geojson,
    parse_gpkg,
)
from geo_assets.ingest.spreadsheet import EXAMPLE_CSV, parse_csv
from geo_assets.model import Asset
from geo_assets.store.base import Store

_OWNED = {"id", "created_at", "updated_at", "version", "moderated"}


def _content(assets: list[Asset]) -> list[dict[str, Any]]:
    return sorted(
        (a.model_dump(mode="json", exclude=_OWNED) for a in assets), key=lambda d: d["source_id"]
    )


def _with_footprint(store: Store) -> None:
    asset = next(a for a in store.list_assets().items if a.kind == "venue")
    lat, lon = asset.location.lat, asset.location.lon
    ring = [[lon - 1e-3, lat - 1e-3], [lon + 1e-3, lat - 1e-3], [lon + 1e-3, lat + 1e-3],
            [lon - 1e-3, lat + 1e-3], [lon - 1e-3, lat - 1e-3]]  # fmt: skip
    store.update_asset(
        asset.id, {"location": {"footprint": {"type": "Polygon", "coordinates": [ring]}}}
    )
    group = next(a for a in store.list_assets().items if a.kind != "venue")
    store.update_asset(group.id, {"location": {"precision": "postcode"}})  # survives, too


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_export_is_a_qgis_ready_point_layer_and_round_trips(
    fmt: str, store: Store, tmp_path: Path
) -> None:
    run_import(store, parse_csv(EXAMPLE_CSV))
    _with_footprint(store)
    before = _content(store.list_assets().items)
    path = tmp_path / f"assets.{fmt}"
    export, parse = (export_geojson, parse_geojson) if fmt == "geojson" else (
        export_gpkg, parse_gpkg)  # fmt: skip
    assert export(store, path) == 5
    info = pyogrio.read_info(path, layer="assets")
    assert info["crs"] == "EPSG:4326"
    assert info["geometry_type"] == "Point"
    assert info["features"] == 5
    assert {
        "name",
        "kind",
        "categories_text",
        "sessions_text",
        "postcode",
        "location_precision",
    } <= set(info["fields"])
    frame = pyogrio.read_dataframe(path)
    knit = frame[frame["name"] == "Knit and Natter"].iloc[0]
    assert (round(knit.geometry.x, 4), round(knit.geometry.y, 4)) == (-1.7634, 53.8012)
    feed = parse(path)
    assert feed.errors == []
    assert _content([Asset.model_validate(r) for _, r in feed.records]) == before
    again = run_import(store, feed)
    assert (again.inserted, again.updated) == (0, 5)
    assert _content(store.list_assets().items) == before


def test_empty_export_is_still_a_layer(sqlite_store: Store, tmp_path: Path) -> None:
    assert export_gpkg(sqlite_store, tmp_path / "empty.gpkg") == 0
    assert pyogrio.read_info(tmp_path / "empty.gpkg", layer="assets")["features"] == 0
    assert export_geojson(sqlite_store, tmp_path / "empty.geojson") == 0
    assert parse_geojson(tmp_path / "empty.geojson").errors == []


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _write(path: Path, features: list[dict[str, Any]], crs: str | None = None) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_foreign_geojson_polygons_names_and_errors(tmp_path: Path) -> None:
    square = {"type": "Polygon", "coordinates": [[[-1.76, 53.79], [-1.75, 53.79],
              [-1.75, 53.80], [-1.76, 53.80], [-1.76, 53.79]]]}  # fmt: skip
    path = _write(tmp_path / "parks.geojson", [
        _feature(square, name="Lister Park", categories="parks; allotments", id="p1"),
        _feature({"type": "Point", "coordinates": [-1.7, 53.8]}, name="Hall", categories="halls",
                 sessions_text="Tuesdays 10-12", source_id="h1"),
        _feature({"type": "Point", "coordinates": [-1.7, 53.8]}, name="No id", categories="parks"),
        _feature({"type": "Point", "coordinates": [-1.7, 53.8]}, name="X", categories="zorbing",
                 id="x"),
        _feature({"type": "LineString", "coordinates": [[-1.7, 53.8], [-1.6, 53.8]]}, name="Y",
                 categories="parks", id="y"),
    ])  # fmt: skip
    feed = parse_geojson(path)
    assert [(e.row, e.field) for e in feed.errors] == [
        (3, "source_id"), (4, "categories"), (5, "geometry"),
    ]  # fmt: skip
    park = Asset.model_validate(feed.records[0][1])
    assert park.kind == "venue" and park.source == "geojson" and park.source_id == "p1"
    assert park.categories == ["nature.parks", "nature.gardening.allotments"]
    assert park.location.footprint is not None
    assert -1.76 < park.location.lon < -1.75 and 53.79 < park.location.lat < 53.80
    hall = Asset.model_validate(feed.records[1][1])
    assert [s.describe() for s in hall.sessions] == ["Tuesdays 10:00-12:00"]


def test_without_a_precision_column_a_postcode_centre_is_read_as_one(
    store: Store, tmp_path: Path
) -> None:
    store.upsert_postcodes([("BD1 1QY", 53.802662, -1.750471)])
    at_centre = {"type": "Point", "coordinates": [-1.750471, 53.802662]}
    features = [
        _feature(at_centre, name="Centre", categories="halls", id="c", postcode="BD1 1QY"),
        _feature(at_centre, name="Door", categories="halls", id="d", postcode="BD1 1QY",
                 location_precision="point"),
    ]  # fmt: skip
    report = run_import(store, parse_geojson(_write(tmp_path / "a.geojson", features[:1])))
    assert report.ok and any("postcode's centre" in w for w in report.warnings)
    # A file that has the column says what each point is, and is taken at its word.
    report = run_import(store, parse_geojson(_write(tmp_path / "b.geojson", features[1:])))
    assert report.ok and report.warnings == []
    precision = {a.name: a.location.precision for a in store.list_assets().items}
    assert precision == {"Centre": "postcode", "Door": "point"}
    bad = _feature(at_centre, name="Bad", categories="halls", id="b", location_precision="door")
    feed = parse_geojson(_write(tmp_path / "c.geojson", [bad]))
    refused = run_import(store, feed)
    assert [(e.row, e.field) for e in refused.errors] == [(1, "location.precision")]


def test_other_crs_is_reprojected_with_a_warning(tmp_path: Path) -> None:
    x, y = -194_700.0, 7_129_000.0  # about (-1.749, 53.782) in Web Mercator metres
    path = _write(tmp_path / "m.geojson", [
        _feature({"type": "Point", "coordinates": [x, y]}, name="A", categories="parks", id="a"),
    ], crs="urn:ogc:def:crs:EPSG::3857")  # fmt: skip
    feed = parse_geojson(path)
    assert feed.errors == []
    assert any("reprojected" in w for w in feed.warnings)
    loc = feed.records[0][1]["location"]
    assert round(loc["lon"], 3) == -1.749 and round(loc["lat"], 3) == 53.782


def test_not_geo_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "a.geojson"
    text.write_text("name,lat\nA,1\n", encoding="utf-8")
    assert "not GeoJSON" in parse_geojson(text).errors[0].message
    assert "not a GeoPackage" in parse_gpkg(text).errors[0].message
    broken = tmp_path / "b.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    error = parse_geojson(broken).errors[0]
    assert (error.row, error.field) == (0, "(file)")


# --- hostile files (a security review) --------------------------------------------------------


@pytest.fixture
def listener() -> Any:
    """A local HTTP server that records the paths it is asked for."""
    import http.server
    import threading

    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()


@pytest.mark.parametrize("kind", ["link", "url"])
def test_a_coordinate_system_by_link_is_refused_and_never_fetched(
    tmp_path: Path, listener: Any, kind: str
) -> None:
    """GDAL fetched the URL of a 2008 GeoJSON "crs" link: a file could make the service
    request addresses inside a council's network."""
    from geo_assets.coverage.demand import read_demand
    from geo_assets.errors import InvalidInputError

    base, asked = listener
    key = "href" if kind == "link" else "url"
    point = {"type": "Point", "coordinates": [-1.75, 53.79]}
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": kind, "properties": {key: f"{base}/probe", "type": "proj4"}},
        "features": [_feature(point, name="A", categories="parks", id="a", population=10)],
    }
    path = tmp_path / "linked.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    error = parse_geojson(path).errors[0]
    assert (error.row, error.field) == (0, "(file)") and "by a link" in error.message
    with pytest.raises(InvalidInputError, match="by a link") as info:
        read_demand(path, population="population")
    assert info.value.field == "demand"
    # Nor by a byte that is not UTF-8, more than a kilobyte of leading spaces, or a zip.
    latin = tmp_path / "latin.geojson"
    latin.write_bytes(
        json.dumps(doc).replace('"A"', '"Caf\\u00e9"').encode().replace(b"\\u00e9", b"\xe9")
    )
    assert "by a link" in parse_geojson(latin).errors[0].message
    spaced = tmp_path / "spaced.geojson"
    spaced.write_text(" " * 4096 + json.dumps(doc), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="by a link"):
        read_demand(spaced, population="population")
    import zipfile

    zipped = tmp_path / "demand.zip"
    with zipfile.ZipFile(zipped, "w") as packed:
        packed.write(path, "linked.geojson")
    with pytest.raises(InvalidInputError, match="zip archive"):
        read_demand(zipped, population="population")
    assert asked == []


def test_a_property_called_crs_is_data_and_a_named_crs_is_read(tmp_path: Path) -> None:
    point = {"type": "Point", "coordinates": [-1.75, 53.79]}
    odd = {"type": "link", "properties": {"href": "http://127.0.0.1:9/x"}}
    path = _write(tmp_path / "p.geojson", [
        _feature(point, name="A", categories="parks", id="a", crs=odd),
    ], crs="urn:ogc:def:crs:OGC:1.3:CRS84")  # fmt: skip
    feed = parse_geojson(path)
    assert feed.errors == [] and len(feed.records) == 1


def test_a_geopackage_layer_that_is_a_view_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    """A view is a query: a recursive one ran for as long as it liked while being read."""
    import sqlite3

    run_import(sqlite_store, parse_csv(EXAMPLE_CSV))
    path = tmp_path / "views.gpkg"
    export_gpkg(sqlite_store, path)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE assets RENAME TO assets_table")
        conn.execute("CREATE VIEW assets AS SELECT * FROM assets_table")
    feed = parse_gpkg(path)
    assert [(e.row, e.field) for e in feed.errors] == [(0, "(file)")]
    assert "is a view" in feed.errors[0].message and not feed.records


def _gpkg_with(sqlite_store: Store, tmp_path: Path, *statements: str) -> Path:
    import sqlite3

    run_import(sqlite_store, parse_csv(EXAMPLE_CSV))
    path = tmp_path / "x.gpkg"
    export_gpkg(sqlite_store, path)
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    return path


def test_an_unregistered_view_in_any_case_and_views_of_its_own_tables_are_refused(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """GDAL lists views that gpkg_contents does not name, whatever their case; and it reads
    gpkg_contents itself on opening, so that must be a table."""
    unlisted = _gpkg_with(
        sqlite_store,
        tmp_path,
        "ALTER TABLE assets RENAME TO t",
        "CREATE VIEW ASSETS AS SELECT * FROM t",
        "DELETE FROM gpkg_contents WHERE table_name = 'assets'",
    )
    feed = parse_gpkg(unlisted)
    assert not feed.records and "ASSETS" in feed.errors[0].message  # never read
    assert "is a view" in (_views_problem(unlisted, "ASSETS") or "")
    (tmp_path / "own").mkdir()
    own = _gpkg_with(
        sqlite_store,
        tmp_path / "own",
        "ALTER TABLE gpkg_contents RENAME TO contents_table",
        "CREATE VIEW gpkg_contents AS SELECT * FROM contents_table",
    )
    assert "own table(s) gpkg_contents are views" in parse_gpkg(own).errors[0].message


def test_a_harmless_view_beside_the_layer_is_left_alone(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = _gpkg_with(sqlite_store, tmp_path, "CREATE VIEW names AS SELECT name FROM assets")
    feed = parse_gpkg(path)
    assert feed.errors == [] and len(feed.records) == 5


def test_unusable_json_in_a_property_is_a_row_error(tmp_path: Path) -> None:
    point = {"type": "Point", "coordinates": [-1.75, 53.79]}
    path = _write(tmp_path / "odd.geojson", [
        _feature(point, name="A", categories="parks", id="a", sessions="[" + "9" * 5000 + "]"),
        _feature(point, name="B", categories="parks", id="b", sessions="[" * 100_000),
    ])  # fmt: skip
    feed = parse_geojson(path)
    assert [(e.row, e.field) for e in feed.errors] == [(1, "sessions"), (2, "sessions")]
