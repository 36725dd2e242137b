"""GeoJSON and GeoPackage, so planners can open the directory in QGIS (via pyogrio).

Every asset is one Point feature at its location, EPSG:4326 (lon/lat order in the
geometry). The GeoPackage layer is called ``assets``. Properties are the asset's flat
fields as plain columns (``name``, ``kind``, ``status``, ``address``, ``postcode``,
``location_precision``..., ``categories_text`` and ``sessions_text`` for people) and its
nested fields as JSON text (``categories``, ``sessions``, ``cost``, ``accessibility``,
``eligibility``, ``contact``, ``languages``, ``connection_types``, ``footprint``), so an
export imports back unchanged.

Importing other people's files: a feature needs ``name`` and ``categories`` (a JSON
list, or ids/names/synonyms separated by ';'); ``kind`` defaults to ``venue``; records
are keyed by ``source`` (default: the format name) and ``source_id`` (or ``id``).
Polygons become their representative point with the polygon kept as the footprint.
Files in another CRS are reprojected to EPSG:4326 with a warning. A file with no
``location_precision`` column does not say how its points were found: those at their own
postcode's centre are read as placed by postcode (``ingest.base.read_postcode_centres``).
"""

from __future__ import annotations

import json
import math
import sqlite3
import warnings
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from geo_assets.errors import InvalidInputError, RowError
from geo_assets.ingest.base import ParsedFeed
from geo_assets.ingest.categories import CategoryResolver
from geo_assets.ingest.sessions import format_sessions, parse_sessions
from geo_assets.model import Asset
from geo_assets.store.base import AssetFilters, Store, iter_assets

LAYER = "assets"
CRS = "EPSG:4326"
_JSON_FIELDS = (
    "categories",
    "connection_types",
    "sessions",
    "cost",
    "accessibility",
    "eligibility",
    "languages",
    "contact",
)
_FLAT_FIELDS = (
    "organisation_id",
    "kind",
    "name",
    "description",
    "venue_id",
    "group_size",
    "attendance",
    "companion_welcome",
    "status",
    "last_verified_at",
    "source",
    "source_id",
)
_LOCATION_FIELDS = ("address", "postcode", "place")
# How the point was found (Location.precision): point, postcode or area.
_PRECISION_COLUMN = "location_precision"
# Columns we write for people only; ignored on import.
_DISPLAY_ONLY = ("categories_text", "sessions_text", "id", "created_at", "updated_at", "version")


# --- export ----------------------------------------------------------------------------------


def asset_properties(asset: Asset) -> dict[str, Any]:
    """Flat columns plus JSON text for nested fields (see the module docstring)."""
    doc = asset.model_dump(mode="json")
    props: dict[str, Any] = {"id": asset.id}
    for name in _FLAT_FIELDS:
        props[name] = doc.get(name)
    for name in _LOCATION_FIELDS:
        props[name] = doc["location"].get(name)
    props[_PRECISION_COLUMN] = asset.location.precision
    footprint = doc["location"].get("footprint")
    props["footprint"] = json.dumps(footprint) if footprint else None
    for name in _JSON_FIELDS:
        props[name] = json.dumps(doc[name], ensure_ascii=False)
    props["categories_text"] = "; ".join(asset.categories)
    props["sessions_text"] = format_sessions(asset.sessions)
    props["created_at"] = doc.get("created_at")
    props["updated_at"] = doc.get("updated_at")
    props["version"] = asset.version
    return props


def _frame(store: Store, filters: AssetFilters | None) -> Any:
    import geopandas as gpd
    from shapely.geometry import Point

    rows, points = [], []
    for asset in iter_assets(store, filters):
        rows.append(asset_properties(asset))
        points.append(Point(asset.location.lon, asset.location.lat))
    if not rows:
        return gpd.GeoDataFrame(
            {k: [] for k in _empty_columns()}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS
        )
    return gpd.GeoDataFrame(rows, geometry=points, crs=CRS)


def _empty_columns() -> list[str]:
    return ["id", *_FLAT_FIELDS, *_LOCATION_FIELDS, _PRECISION_COLUMN, "footprint", *_JSON_FIELDS,
            "categories_text", "sessions_text", "created_at", "updated_at", "version"]  # fmt: skip


def _write(store: Store, path: str | Path, filters: AssetFilters | None, driver: str) -> int:
    import pyogrio

    frame = _frame(store, filters)
    target = Path(path)
    if target.exists():
        target.unlink()  # a fresh file, not a layer appended to an old one
    pyogrio.write_dataframe(frame, target, layer=LAYER, driver=driver, geometry_type="Point")
    return len(frame)


def export_geojson(store: Store, path: str | Path, filters: AssetFilters | None = None) -> int:
    """Write a GeoJSON FeatureCollection of points (EPSG:4326)."""
    return _write(store, path, filters, "GeoJSON")


def export_gpkg(store: Store, path: str | Path, filters: AssetFilters | None = None) -> int:
    """Write a GeoPackage with one point layer ``assets`` (EPSG:4326)."""
    return _write(store, path, filters, "GPKG")


# --- import ----------------------------------------------------------------------------------


def parse_geojson(path: str | Path, *, source: str | None = None) -> ParsedFeed:
    return _parse(path, source or "geojson", layer=None)


def parse_gpkg(path: str | Path, *, source: str | None = None) -> ParsedFeed:
    return _parse(path, source or "gpkg", layer=LAYER)


def _parse(path: str | Path, source: str, *, layer: str | None) -> ParsedFeed:
    import geopandas as gpd
    import pyogrio

    feed = ParsedFeed()
    problem = _signature_problem(Path(path), gpkg=layer is not None)
    if problem:
        feed.errors.append(RowError(0, "(file)", problem))
        return feed
    try:
        if layer is not None:
            names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            if layer not in names:
                if len(names) != 1:
                    raise InvalidInputError(
                        f"no layer {layer!r}; the file has {', '.join(names) or 'no layers'}"
                    )
                feed.warnings.append(f"no layer {layer!r}; read the only layer {names[0]!r}")
                layer = names[0]
            if problem := _views_problem(Path(path), layer):
                raise InvalidInputError(problem)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on odd input
            frame = pyogrio.read_dataframe(path, layer=layer)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise InvalidInputError("the layer has no geometry column")
    except InvalidInputError as exc:
        feed.errors.append(RowError(0, "(file)", str(exc)))
        return feed
    except Exception as exc:  # GDAL reports unreadable files with several error types
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        feed.errors.append(RowError(0, "(file)", f"cannot read the file as {source}: {first}"))
        return feed
    if frame.crs is None:
        feed.warnings.append("the file has no CRS; coordinates taken as EPSG:4326 lon/lat")
    elif frame.crs.to_epsg() != 4326:
        feed.warnings.append(f"reprojected from {frame.crs.to_string()} to EPSG:4326")
        frame = frame.to_crs(CRS)
    resolver = CategoryResolver()
    columns = [c for c in frame.columns if c != frame.geometry.name]
    records: list[tuple[int, dict[str, Any]]] = []
    for row, (geom, values) in enumerate(
        zip(frame.geometry, frame[columns].itertuples(index=False, name=None), strict=True),
        start=1,
    ):
        props = {c: _plain(v) for c, v in zip(columns, values, strict=True)}
        try:
            records.append((row, _record(props, geom, source, resolver)))
        except _FieldError as exc:
            feed.errors.append(RowError(row, exc.field, str(exc)))
    feed.records = records
    feed.precision_given = _PRECISION_COLUMN in columns
    return feed


def _signature_problem(path: Path, *, gpkg: bool) -> str | None:
    """Refuse files that are plainly not GeoJSON/GeoPackage before GDAL guesses a driver."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if gpkg:
        if not head.startswith(b"SQLite format 3\x00"):
            return "not a GeoPackage (a GeoPackage is an SQLite database file)"
        return _views_problem(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return "not GeoJSON: a GeoJSON file starts with '{' (a FeatureCollection)"
    return linked_crs_problem(path)


def _views_problem(path: Path, layer: str | None = None) -> str | None:
    """A view is a query, and a hostile one (a recursive one, say) runs for as long as it
    likes while GDAL reads it: a GeoPackage whose own tables (``gpkg_*``, read on opening)
    are views is refused, and so is a ``layer`` that is one. Only ``sqlite_master`` is
    read here, so this check runs no query of the file's."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            views = {
                str(name).casefold(): str(name)
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")
            }
    except sqlite3.Error:
        return None  # not readable as one: GDAL reports what is wrong
    own = [name for folded, name in views.items() if folded.startswith("gpkg_")]
    if own:
        return f"the GeoPackage's own table(s) {', '.join(own[:5])} are views"
    if layer is not None and layer.casefold() in views:
        return f"the layer {layer!r} is a view: give it as a table"
    return None


def refuse_linked_crs(path: Path, field: str) -> None:
    """``InvalidInputError`` naming ``field`` for a file ``linked_crs_problem`` refuses, and
    for a zip archive (GDAL reads inside one unchecked): unzip it first."""
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":
            raise InvalidInputError(
                f"{path.name}: a zip archive is not read: unzip it", field=field
            )
    if problem := linked_crs_problem(path):
        raise InvalidInputError(f"{path.name}: {problem}", field=field)


_CHUNK = 1 << 20
_LINKED = (
    "the file names its coordinate system by a link, which would be fetched from the "
    "network: give it as a name (EPSG:27700), or leave it out for WGS84 longitude/latitude"
)


def linked_crs_problem(path: Path) -> str | None:
    """A problem when ``path`` is JSON naming a coordinate system by a link (``"crs":
    {"type": "link" | "url", ...}``, GeoJSON of 2008), which GDAL would fetch from the
    network: a file must never make us request a URL (it could point inside a council's
    network). RFC 7946 GeoJSON has no ``crs``; a named one (EPSG:27700) is fine.

    The file is scanned in chunks first and parsed only when it could hold a ``crs`` at
    all (the word, or an escape that could spell it): large boundary files mostly do not.
    GDAL honours a ``crs`` on the document and on geometries; features' properties are
    data, never read as one."""
    try:
        could = _could_name_a_crs(path)
        if not could:
            return None
        text = path.read_bytes().decode("utf-8-sig", errors="replace")  # bad bytes: still read
    except OSError:
        return None  # the reader reports these
    if not text.lstrip().startswith("{"):
        return None  # not JSON: GDAL's other drivers fetch nothing
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return "not usable JSON (malformed, nested too deeply, or a number too long)"
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            crs = node.get("crs")
            if isinstance(crs, dict) and str(crs.get("type", "")).lower() in ("link", "url"):
                return _LINKED
            stack.extend(v for k, v in node.items() if k != "properties")
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _could_name_a_crs(path: Path) -> bool:
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            window = tail + chunk
            if b'"crs"' in window or b"\\u" in window:
                return True
            tail = window[-8:]
    return False


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _plain(value: Any) -> Any:
    """numpy/pandas scalars and missing values as plain Python."""
    import pandas as pd

    if value is None or value is pd.NaT:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return value


def _json(props: Mapping[str, Any], name: str) -> Any:
    value = props.get(name)
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise _FieldError(name, f"is not valid JSON ({exc.msg} at {exc.pos})") from exc
        except (ValueError, RecursionError) as exc:  # huge numbers, deep nesting
            raise _FieldError(name, "is not usable JSON (too deep, or a number too long)") from exc
    return value


def _record(
    props: Mapping[str, Any], geom: Any, source: str, resolver: CategoryResolver
) -> dict[str, Any]:
    data: dict[str, Any] = {k: props[k] for k in _FLAT_FIELDS if props.get(k) not in (None, "")}
    data.setdefault("kind", "venue")
    data.setdefault("source", source)
    if "source_id" not in data and props.get("id") not in (None, ""):
        data["source_id"] = str(props["id"])
    if "source_id" not in data:
        raise _FieldError(
            "source_id",
            "give each feature a `source_id` (or `id`) property so re-imports update "
            "rather than duplicate",
        )
    for name in _JSON_FIELDS:
        value = _json(props, name)
        if value not in (None, ""):
            data[name] = value
    data["categories"] = _categories(data.get("categories"), resolver)
    if isinstance(data.get("sessions"), str):
        data["sessions"] = _sessions(data["sessions"])
    elif "sessions" not in data and props.get("sessions_text"):
        data["sessions"] = _sessions(str(props["sessions_text"]))
    for name in ("languages", "connection_types"):
        if isinstance(data.get(name), str):
            data[name] = [p.strip() for p in data[name].replace(",", ";").split(";") if p.strip()]
    data["location"] = _location(props, geom)
    return data


def _categories(value: Any, resolver: CategoryResolver) -> list[str]:
    if value in (None, ""):
        raise _FieldError("categories", "is empty; give taxonomy ids (see `geo-assets taxonomy`)")
    items = value if isinstance(value, list) else str(value).replace(",", ";").split(";")
    out, unknown = [], []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        term = resolver.resolve(item)
        (out.append(term) if term else unknown.append(item))
    if unknown:
        raise _FieldError(
            "categories",
            f"unknown category {', '.join(map(repr, unknown))}; "
            "use ids, names or synonyms from `geo-assets taxonomy`",
        )
    return out


def _sessions(text: str) -> list[dict[str, Any]]:
    try:
        return [s.model_dump(mode="json") for s in parse_sessions(text)]
    except InvalidInputError as exc:
        raise _FieldError("sessions", str(exc)) from exc


def _location(props: Mapping[str, Any], geom: Any) -> dict[str, Any]:
    from shapely.geometry import mapping

    loc: dict[str, Any] = {k: props[k] for k in _LOCATION_FIELDS if props.get(k) not in (None, "")}
    if props.get(_PRECISION_COLUMN) not in (None, ""):
        loc["precision"] = str(props[_PRECISION_COLUMN]).strip().casefold()
    if geom is None or geom.is_empty:
        raise _FieldError("geometry", "the feature has no geometry; give a point (lon, lat)")
    if geom.geom_type == "Point":
        point = geom
    elif geom.geom_type in ("Polygon", "MultiPolygon"):
        point = geom.representative_point()
        loc["footprint"] = mapping(geom)
    else:
        raise _FieldError("geometry", f"a {geom.geom_type} is not a place; give a Point or Polygon")
    footprint = _json(props, "footprint")
    if isinstance(footprint, dict):
        loc["footprint"] = footprint
    loc["lat"], loc["lon"] = point.y, point.x
    if not (-90 <= point.y <= 90 and -180 <= point.x <= 180):
        raise _FieldError(
            "geometry",
            f"({point.x}, {point.y}) is not lon/lat in degrees; is the CRS missing?",
        )
    if "footprint" in loc:
        loc["footprint"] = json.loads(json.dumps(loc["footprint"]))  # tuples -> lists
    return loc


def iter_features(store: Store, filters: AssetFilters | None = None) -> Iterator[dict[str, Any]]:
    """GeoJSON Feature dicts of the store's assets (for callers that need no file)."""
    for asset in iter_assets(store, filters):
        yield {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [asset.location.lon, asset.location.lat]},
            "properties": asset_properties(asset),
        }
