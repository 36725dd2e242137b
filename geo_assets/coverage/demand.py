"""Demand units for coverage analysis: H3 cells or user polygons, with population and need.

A unit is a point where its people are taken to start their journeys (an H3 cell's
centre, a polygon's centroid), its population ``P`` and a need weight (1 when not given:
e.g. a deprivation index or a prevalence ratio). Units come from

- H3 cells (h3 v4) over a study area, with population given per cell;
- polygons (census areas, wards) from GeoJSON, GeoPackage or CSV, used as they are, or
  spread over H3 cells by area with tobler's areal interpolation;
- a CSV of cells (``h3`` column) or points (``lat``/``lon`` columns).

Coordinates are WGS84: (lat, lon) at the edges, (lon, lat) inside geometries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import shapely

from geo_assets.errors import InvalidInputError
from geo_assets.ingest.geo import refuse_linked_crs

MIN_RESOLUTION = 0
MAX_RESOLUTION = 15
WGS84_CRS = "EPSG:4326"
# Columns looked for when a file does not name them.
POPULATION_COLUMNS = ("population", "pop", "usual_residents", "people")
CSV_GEOMETRY_COLUMNS = ("wkt", "geometry", "geom")
# A CSV's first record is row 2 as a spreadsheet shows it (the header is row 1).
CSV_FIRST_ROW = 2


@dataclass(frozen=True)
class Demand:
    """Demand units: ids, (lat, lon) degrees, population ``P_k`` and need weight (default 1).

    ``geometry`` holds each unit's polygon (lon/lat) when it has one; H3 units build theirs
    from ``ids`` on request (:meth:`polygons`). ``resolution`` is set for H3 units.
    """

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    need: np.ndarray
    geometry: np.ndarray | None = None
    resolution: int | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def weight(self) -> np.ndarray:
        """Population x need: how much each unit counts in need-weighted figures."""
        return self.population * self.need

    @property
    def is_h3(self) -> bool:
        return self.resolution is not None

    def polygons(self) -> np.ndarray:
        """Each unit's polygon (lon/lat): H3 cell boundaries, the user's polygons, or points."""
        if self.geometry is not None:
            return self.geometry
        if self.is_h3:
            return cell_polygons(self.ids)
        return shapely.points(self.lon, self.lat)

    def subset(self, keep: np.ndarray) -> Demand:
        geom = None if self.geometry is None else self.geometry[keep]
        return Demand(
            self.ids[keep],
            self.lat[keep],
            self.lon[keep],
            self.population[keep],
            self.need[keep],
            geom,
            self.resolution,
        )

    def within(self, area: Any) -> Demand:
        """The units whose start point lies in ``area`` (shapely geometry or GeoJSON, lon/lat)."""
        geom = area if isinstance(area, shapely.Geometry) else shapely.geometry.shape(area)
        return self.subset(shapely.intersects_xy(geom, self.lon, self.lat))

    # --- constructors ---------------------------------------------------------------------

    @classmethod
    def from_points(
        cls,
        lat: Sequence[float] | np.ndarray,
        lon: Sequence[float] | np.ndarray,
        population: Sequence[float] | np.ndarray,
        need: Sequence[float] | np.ndarray | None = None,
        *,
        ids: Sequence[str] | np.ndarray | None = None,
        geometry: np.ndarray | None = None,
        resolution: int | None = None,
    ) -> Demand:
        lat_a, lon_a = check_coordinates(lat, lon)
        n = len(lat_a)
        ids_a = np.asarray(
            list(ids) if ids is not None else [str(k) for k in range(n)], dtype=object
        )
        pop = _check_values(population, n, "population")
        need_a = np.ones(n) if need is None else _check_values(need, n, "need")
        if len(lon_a) != n or len(ids_a) != n:
            raise InvalidInputError("`lat`, `lon` and `ids` need one value per unit", field="ids")
        if len(set(ids_a.tolist())) != n:
            raise InvalidInputError("demand unit ids must be unique", field="ids")
        return cls(ids_a, lat_a, lon_a, pop, need_a, geometry, resolution)

    @classmethod
    def from_cells(
        cls,
        cells: Sequence[str],
        population: Sequence[float] | np.ndarray,
        need: Sequence[float] | np.ndarray | None = None,
    ) -> Demand:
        """H3 cells (v4 string ids, one resolution) with population per cell."""
        ids = [str(c) for c in cells]
        resolution = check_cells(ids)
        centres = np.array([h3.cell_to_latlng(c) for c in ids], dtype=float).reshape(-1, 2)
        return cls.from_points(
            centres[:, 0], centres[:, 1], population, need, ids=ids, resolution=resolution
        )

    @classmethod
    def from_polygons(
        cls,
        frame: Any,
        *,
        population: str | None = None,
        need: str | None = None,
        id_column: str | None = None,
    ) -> Demand:
        """Polygons of a GeoDataFrame as the units, each starting at its centroid."""
        gdf = _to_wgs84(frame)
        pop_col = _population_column(gdf, population)
        geom = _geometries(gdf)
        centre = shapely.centroid(geom)
        ids = gdf[id_column].astype(str).to_numpy() if id_column else _default_ids(gdf)
        return cls.from_points(
            shapely.get_y(centre),
            shapely.get_x(centre),
            _check_values(gdf[pop_col], len(gdf), "population"),
            None
            if need is None
            else _check_values(gdf[_column(gdf, need, "need")], len(gdf), "need"),
            ids=ids,
            geometry=None if np.all(shapely.get_type_id(geom) == 0) else geom,
        )

    def to_frame(self) -> Any:
        """A pandas frame: id, lat, lon, population, need."""
        import pandas as pd

        return pd.DataFrame(
            {
                "id": self.ids,
                "lat": self.lat,
                "lon": self.lon,
                "population": self.population,
                "need": self.need,
            }
        )


def _check_values(
    values: Sequence[float] | np.ndarray, n: int, field: str, *, first_row: int = 1
) -> np.ndarray:
    """``values`` as floats; a bad one fails naming ``field``, its column and its row
    (``first_row`` is the first value's row: a planner must find it in their file)."""
    arr = _numbers(values, field, first_row=first_row)
    if len(arr) != n:
        raise InvalidInputError(f"`{field}` needs one value per unit ({n})", field=field)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise InvalidInputError(
            f"{_named(field, values)} must be a finite number, not negative; "
            f"{_row_has(values, int(np.argmax(bad)), first_row)}",
            field=field,
        )
    return arr


def check_coordinates(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    field: str | None = None,
    first_row: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) degrees as floats; a value that is missing, not a number or out of range
    fails naming the column and row, and ``field`` (default: the column) for the caller."""
    out = []
    for name, values, limit in (("lat", lat, 90), ("lon", lon, 180)):
        arr = _numbers(values, name, field=field, first_row=first_row)
        bad = ~(np.abs(arr) <= limit)  # also nan
        if bad.any():
            raise InvalidInputError(
                f"{'' if field is None else f'`{field}`: '}`{name}` must be degrees from "
                f"-{limit} to {limit}; {_row_has(values, int(np.argmax(bad)), first_row)}",
                field=field or name,
            )
        out.append(arr)
    if len(out[0]) != len(out[1]):
        raise InvalidInputError("`lat` and `lon` need one value per unit", field=field or "lon")
    return out[0], out[1]


def _numbers(values: Any, name: str, *, field: str | None = None, first_row: int = 1) -> np.ndarray:
    """``values`` as floats; text that is no number ("1,234") fails naming its row."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        pass
    items = np.asarray(values, dtype=object).ravel()
    for k, value in enumerate(items):
        try:
            float(value)
        except (TypeError, ValueError):
            where = "" if field is None or field == name else f"`{field}`: "
            raise InvalidInputError(
                f"{where}{_named(name, values)} must be a number; {_row_has(values, k, first_row)}",
                field=field or name,
            ) from None
    return np.array([float(v) for v in items], dtype=float)


def _named(field: str, values: Any) -> str:
    """``population``, or ``population`` (column ``people``) when the column says otherwise."""
    column = getattr(values, "name", None)
    return (
        f"`{field}`" if column is None or str(column) == field else f"`{field}` (column `{column}`)"
    )


def _row_has(values: Any, k: int, first_row: int) -> str:
    import pandas as pd

    value = np.asarray(values, dtype=object).ravel()[k]
    missing = bool(pd.isna(value)) or str(value).strip() == ""
    shown = "no value" if missing else repr(_plain(value))
    return f"row {k + first_row} has {shown}"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_resolution(resolution: int) -> int:
    if not isinstance(resolution, int | np.integer) or not (
        MIN_RESOLUTION <= resolution <= MAX_RESOLUTION
    ):
        raise InvalidInputError(
            f"`resolution` must be an H3 resolution from {MIN_RESOLUTION} to {MAX_RESOLUTION}, "
            f"not {resolution!r}",
            field="resolution",
        )
    return int(resolution)


def check_cells(cells: Sequence[str]) -> int | None:
    """Validate H3 ids; returns their common resolution (None for no cells)."""
    bad = [c for c in cells if not h3.is_valid_cell(c)]
    if bad:
        raise InvalidInputError(f"not H3 cell ids: {bad[:3]}", field="h3")
    resolutions = {h3.get_resolution(c) for c in cells}
    if len(resolutions) > 1:
        raise InvalidInputError(
            f"H3 cells must share one resolution, found {sorted(resolutions)}", field="h3"
        )
    return resolutions.pop() if resolutions else None


def cells_over_area(area: Any, resolution: int) -> list[str]:
    """Sorted H3 cells whose centres lie in ``area`` (a shapely geometry or GeoJSON, lon/lat)."""
    check_resolution(resolution)
    geom = area if isinstance(area, shapely.Geometry) else shapely.geometry.shape(area)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError("the study area must be a Polygon or MultiPolygon", field="area")
    return sorted(h3.geo_to_cells(geom, resolution))


def cell_polygons(cells: Sequence[str] | np.ndarray) -> np.ndarray:
    """Shapely polygons (lon/lat) of H3 cells."""
    return np.array(
        [shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in cells],
        dtype=object,
    )


def resample_cells(demand: Demand, resolution: int) -> Demand:
    """The same H3 demand at another resolution, population conserved.

    A finer resolution shares each cell's population equally among its children (same
    need); a coarser one sums population into parents, need as a population-weighted mean.
    """
    check_resolution(resolution)
    if not demand.is_h3:
        raise InvalidInputError("only H3 demand can change resolution", field="resolution")
    if resolution == demand.resolution:
        return demand
    assert demand.resolution is not None
    if resolution > demand.resolution:
        ids: list[str] = []
        pop: list[float] = []
        need: list[float] = []
        for cell, p, w in zip(demand.ids, demand.population, demand.need, strict=True):
            children = sorted(h3.cell_to_children(cell, resolution))
            ids.extend(children)
            pop.extend([p / len(children)] * len(children))
            need.extend([w] * len(children))
        return Demand.from_cells(ids, pop, need)
    parents = np.array([h3.cell_to_parent(c, resolution) for c in demand.ids], dtype=object)
    return _sum_by_cell(parents, demand.population, demand.need, resolution)


def _sum_by_cell(
    cells: np.ndarray, population: np.ndarray, need: np.ndarray, resolution: int
) -> Demand:
    """One unit per distinct cell: population summed, need as a population-weighted mean
    (the plain mean where nobody lives)."""
    if len(cells) == 0:
        return Demand.from_points([], [], [], ids=[], resolution=resolution)
    keys, inverse = np.unique(np.asarray(cells, dtype=object), return_inverse=True)
    pop_sum = np.bincount(inverse, weights=population, minlength=len(keys))
    weighted = np.bincount(inverse, weights=population * need, minlength=len(keys))
    plain = np.bincount(inverse, weights=need, minlength=len(keys)) / np.bincount(inverse)
    need_mean = np.divide(weighted, pop_sum, out=plain.copy(), where=pop_sum > 0)
    return Demand.from_cells(keys.tolist(), pop_sum, need_mean)


def polygons_to_cells(
    frame: Any,
    resolution: int,
    *,
    population: str | None = None,
    need: str | None = None,
) -> Demand:
    """Spread polygon population over H3 cells by overlapping area (tobler).

    Population is extensive (split by the share of each polygon's area in each cell); need is
    intensive (the area-weighted mean of the polygons a cell overlaps). Cells that touch the
    polygons only at their edges, or not at all, are dropped. Areas are measured in a Lambert
    azimuthal equal-area projection centred on the polygons. Points (and any other shape
    without area) put their people in the cell they lie in: no one is lost.
    """
    check_resolution(resolution)
    gdf = _to_wgs84(frame)
    pop_col = _population_column(gdf, population)
    geom = _geometries(gdf)
    pop = _check_values(gdf[pop_col], len(gdf), "population")
    needs = (
        np.ones(len(gdf))
        if need is None
        else _check_values(gdf[_column(gdf, need, "need")], len(gdf), "need")
    )
    areal = shapely.area(geom) > 0
    cells, people, weights = _spread_by_area(
        geom[areal], pop[areal], None if need is None else needs[areal], resolution
    )
    spots = shapely.get_coordinates(shapely.point_on_surface(geom[~areal]))
    at = np.array([h3.latlng_to_cell(lat, lon, resolution) for lon, lat in spots], dtype=object)
    return _sum_by_cell(
        np.concatenate([cells, at]),
        np.concatenate([people, pop[~areal]]),
        np.concatenate([weights, needs[~areal]]),
        resolution,
    )


def _spread_by_area(
    geom: np.ndarray, pop: np.ndarray, need: np.ndarray | None, resolution: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells, population, need) of polygons spread over the cells they overlap; need 1
    where not given."""
    if len(geom) == 0:
        return np.array([], dtype=object), np.zeros(0), np.zeros(0)
    import geopandas as gpd
    from tobler.area_weighted import area_interpolate

    union = shapely.union_all(geom)
    ids = covering_cells(union, resolution)
    target = gpd.GeoDataFrame({"h3": ids}, geometry=list(cell_polygons(ids)), crs=WGS84_CRS)
    centre = union.centroid
    equal_area = f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m +no_defs"
    values = {"population": pop} if need is None else {"population": pop, "need": need}
    source = gpd.GeoDataFrame(values, geometry=list(geom), crs=WGS84_CRS).to_crs(equal_area)
    target = target.to_crs(equal_area)
    out = area_interpolate(
        source,
        target,
        extensive_variables=["population"],
        intensive_variables=None if need is None else ["need"],
    )
    overlap = shapely.area(
        shapely.intersection(
            np.asarray(target.geometry.values, dtype=object),
            shapely.union_all(np.asarray(source.geometry.values, dtype=object)),
        )
    )
    keep = overlap > 0
    return (
        np.asarray(ids, dtype=object)[keep],
        out["population"].to_numpy(dtype=float)[keep],
        np.ones(int(keep.sum())) if need is None else out["need"].to_numpy(dtype=float)[keep],
    )


def covering_cells(area: Any, resolution: int) -> list[str]:
    """Sorted H3 cells that together cover ``area`` (polygons, lon/lat).

    The cells whose centres lie in it, the cell of a point inside each part (a part can be
    smaller than a cell, with no centre inside), a ring around them all for the edges, and
    then cells around whatever is still left out until nothing is: a cell missing under a
    polygon would lose the people who live there.
    """
    parts = [p for p in getattr(area, "geoms", [area]) if p.area > 0]
    seeds: set[str] = set()
    for part in parts:
        seeds.update(h3.geo_to_cells(part, resolution))
        inside = part.representative_point()
        seeds.add(h3.latlng_to_cell(inside.y, inside.x, resolution))
    cells = {n for c in seeds for n in h3.grid_disk(c, 1)}
    while cells:
        covered = shapely.geometry.shape(h3.cells_to_h3shape(sorted(cells)))
        missing = shapely.difference(area, covered)
        more: set[str] = set()
        for piece in getattr(missing, "geoms", [missing]):
            if piece.area > 0:
                inside = piece.representative_point()
                more.update(h3.grid_disk(h3.latlng_to_cell(inside.y, inside.x, resolution), 1))
        if more <= cells:  # only rounding slivers along the cells' shared edges are left
            break
        cells |= more
    return sorted(cells)


def _geometries(gdf: Any) -> np.ndarray:
    geom = np.asarray(gdf.geometry.values, dtype=object)
    bad = shapely.is_missing(geom) | shapely.is_empty(geom)
    if bad.any():
        raise InvalidInputError(
            f"every demand unit needs a geometry; row {int(np.argmax(bad)) + 1} has none",
            field="geometry",
        )
    return geom


def read_demand(
    path: str | Path,
    *,
    population: str | None = None,
    need: str | None = None,
    id_column: str | None = None,
    layer: str | None = None,
) -> Demand:
    """Demand units from a file.

    CSV: an ``h3`` column gives H3 cells; ``lat``/``lon`` columns give points; a ``wkt``
    (or ``geometry``) column gives polygons. GeoJSON, GeoPackage and other OGR formats are
    read with pyogrio; polygons become units, points too. Population is the column named
    by ``population`` (default: the first of population, pop, usual_residents, people);
    ``need`` names an optional need column. Files without a CRS are taken as WGS84.
    """
    units = _read_units(path, population=population, need=need, id_column=id_column, layer=layer)
    if isinstance(units, Demand):
        return units
    return Demand.from_polygons(units, population=population, need=need, id_column=id_column)


def _read_units(
    path: str | Path,
    *,
    population: str | None,
    need: str | None,
    id_column: str | None = None,
    layer: str | None = None,
) -> Any:
    """A file's H3 cells or points as :class:`Demand`, or its shapes as a GeoDataFrame
    (numbers checked) for the caller to use as they are or spread over cells."""
    import geopandas as gpd

    file = Path(path)
    if not file.exists():
        raise InvalidInputError(f"demand file {str(file)!r} does not exist", field="demand")
    if file.suffix.lower() not in (".csv", ".txt"):
        try:
            refuse_linked_crs(Path(file), "demand")
            return gpd.read_file(file, layer=layer, engine="pyogrio")
        except Exception as exc:  # pyogrio raises several unrelated classes
            raise InvalidInputError(
                f"cannot read demand file {str(file)!r}: {exc}", field="demand"
            ) from exc
    table = read_csv(file, "demand")
    columns = {str(c).lower(): c for c in table.columns}
    pop_col = _population_column(table, population)
    n = len(table)
    # Rows counted as a spreadsheet shows them, so a bad value can be found.
    table[pop_col] = _check_values(table[pop_col], n, "population", first_row=CSV_FIRST_ROW)
    need_col = None if need is None else _column(table, need, "need")
    if need_col is not None:
        table[need_col] = _check_values(table[need_col], n, "need", first_row=CSV_FIRST_ROW)
    need_values = None if need_col is None else table[need_col]
    if "h3" in columns:
        return Demand.from_cells(
            table[columns["h3"]].astype(str).tolist(), table[pop_col], need_values
        )
    if "lat" in columns and "lon" in columns:
        lat, lon = check_coordinates(
            table[columns["lat"]], table[columns["lon"]], first_row=CSV_FIRST_ROW
        )
        ids = table[id_column].astype(str) if id_column else _default_ids(table)
        return Demand.from_points(lat, lon, table[pop_col], need_values, ids=ids)
    wkt = next((columns[c] for c in CSV_GEOMETRY_COLUMNS if c in columns), None)
    if wkt is None:
        raise InvalidInputError(
            "a demand CSV needs an `h3` column, `lat` and `lon` columns, or a `wkt` column",
            field="demand",
        )
    return gpd.GeoDataFrame(
        table.drop(columns=[wkt]), geometry=_from_wkt(table[wkt]), crs=WGS84_CRS
    )


def read_csv(path: Path, field: str) -> Any:
    """A CSV file as a pandas frame; one that cannot be parsed fails naming ``field``."""
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"cannot read {field} file {str(path)!r}: {exc}", field=field
        ) from exc


def _from_wkt(values: Any) -> np.ndarray:
    text = np.array([v if isinstance(v, str) else None for v in values], dtype=object)
    geom = shapely.from_wkt(text, on_invalid="ignore")
    bad = shapely.is_missing(geom)
    if bad.any():
        k = int(np.argmax(bad))
        raise InvalidInputError(
            f"`{values.name}` must be a WKT geometry; {_row_has(values, k, CSV_FIRST_ROW)}",
            field=str(values.name),
        )
    return np.asarray(geom, dtype=object)


def _to_wgs84(frame: Any) -> Any:
    import geopandas as gpd

    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInputError("polygons must come as a GeoDataFrame", field="geometry")
    if frame.crs is None:
        return frame.set_crs(WGS84_CRS)
    return frame if frame.crs.to_epsg() == 4326 else frame.to_crs(WGS84_CRS)


def _column(table: Any, name: str, field: str) -> str:
    if name in table.columns:
        return name
    lower = {str(c).lower(): c for c in table.columns}
    if name.lower() in lower:
        return str(lower[name.lower()])
    raise InvalidInputError(
        f"`{field}` column {name!r} not found; the columns are {list(table.columns)}", field=field
    )


def _population_column(table: Any, name: str | None) -> str:
    if name is not None:
        return _column(table, name, "population")
    lower = {str(c).lower(): c for c in table.columns}
    for candidate in POPULATION_COLUMNS:
        if candidate in lower:
            return str(lower[candidate])
    raise InvalidInputError(
        f"no population column: name one, or use one of {list(POPULATION_COLUMNS)}",
        field="population",
    )


def _default_ids(table: Any) -> np.ndarray:
    for name in ("id", "code", "geoid", "name"):
        if name in table.columns and table[name].is_unique:
            return np.asarray(table[name].astype(str), dtype=object)
    return np.asarray([str(k) for k in range(len(table))], dtype=object)


def demand_summary(demand: Demand) -> Mapping[str, float]:
    """Units, total population and the population-weighted mean need."""
    total = float(demand.population.sum())
    return {
        "units": float(len(demand)),
        "population": total,
        "mean_need": float(demand.weight.sum() / total) if total > 0 else 1.0,
    }


def load_demand(
    path: Path | None,
    resolution: int | None = None,
    population: str | None = None,
    need: str | None = None,
) -> Demand | None:
    """The demand units of a planner's file, or None for the default (the sample population).

    With ``resolution``, polygons are spread over H3 cells of that size (from any file
    type; points among them go to the cell they lie in) and H3 cells are resampled to it
    (the sample population too); a file of points only stays points, CSV or not."""
    from geo_assets.coverage.population import sample_population

    if path is None:
        return None if resolution is None else sample_population(resolution)
    units = _read_units(path, population=population, need=need)
    if isinstance(units, Demand):
        return (
            resample_cells(units, resolution) if resolution is not None and units.is_h3 else units
        )
    if resolution is not None and bool((shapely.area(_geometries(units)) > 0).any()):
        return polygons_to_cells(units, resolution, population=population, need=need)
    return Demand.from_polygons(units, population=population, need=need)
