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
        lat_a = np.asarray(lat, dtype=float).ravel()
        lon_a = np.asarray(lon, dtype=float).ravel()
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
        geom = np.asarray(gdf.geometry.values, dtype=object)
        if np.any(shapely.is_missing(geom)) or np.any(shapely.is_empty(geom)):
            raise InvalidInputError("every demand unit needs a geometry", field="geometry")
        centre = shapely.centroid(geom)
        ids = gdf[id_column].astype(str).to_numpy() if id_column else _default_ids(gdf)
        return cls.from_points(
            shapely.get_y(centre),
            shapely.get_x(centre),
            gdf[pop_col].to_numpy(dtype=float),
            None if need is None else gdf[_column(gdf, need, "need")].to_numpy(dtype=float),
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


def _check_values(values: Sequence[float] | np.ndarray, n: int, field: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if len(arr) != n:
        raise InvalidInputError(f"`{field}` needs one value per unit ({n})", field=field)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidInputError(f"`{field}` must be finite and not negative", field=field)
    return arr


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
    keys, inverse = np.unique(parents, return_inverse=True)
    pop_sum = np.bincount(inverse, weights=demand.population, minlength=len(keys))
    weighted = np.bincount(inverse, weights=demand.weight, minlength=len(keys))
    plain = np.bincount(inverse, weights=demand.need, minlength=len(keys)) / np.bincount(inverse)
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
    azimuthal equal-area projection centred on the polygons.
    """
    from tobler.area_weighted import area_interpolate

    check_resolution(resolution)
    gdf = _to_wgs84(frame)
    pop_col = _population_column(gdf, population)
    need_col = None if need is None else _column(gdf, need, "need")
    union = shapely.union_all(gdf.geometry.values)
    cells: set[str] = set()
    for part in getattr(union, "geoms", [union]):
        if part.geom_type == "Polygon":
            cells.update(h3.geo_to_cells(part, resolution))
    # Cells whose centres fall outside but which still overlap the edge.
    seeds = cells or {h3.latlng_to_cell(union.centroid.y, union.centroid.x, resolution)}
    ring = {n for c in seeds for n in h3.grid_disk(c, 1)}
    if not cells:  # tiny polygons: grow until they are covered
        while not shapely.covers(shapely.union_all(cell_polygons(sorted(ring))), union):
            ring = {n for c in ring for n in h3.grid_disk(c, 1)}
    ids = sorted(cells | ring)

    import geopandas as gpd

    target = gpd.GeoDataFrame({"h3": ids}, geometry=list(cell_polygons(ids)), crs=WGS84_CRS)
    centre = union.centroid
    equal_area = f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m +no_defs"
    source = gdf[[pop_col, *([need_col] if need_col else []), "geometry"]].to_crs(equal_area)
    out = area_interpolate(
        source,
        target.to_crs(equal_area),
        extensive_variables=[pop_col],
        intensive_variables=[need_col] if need_col else None,
    )
    overlap = shapely.area(
        shapely.intersection(
            np.asarray(target.to_crs(equal_area).geometry.values, dtype=object),
            shapely.union_all(np.asarray(source.geometry.values, dtype=object)),
        )
    )
    keep = overlap > 0
    pops = out[pop_col].to_numpy(dtype=float)[keep]
    needs = out[need_col].to_numpy(dtype=float)[keep] if need_col else None
    return Demand.from_cells(np.asarray(ids, dtype=object)[keep].tolist(), pops, needs)


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
    import geopandas as gpd
    import pandas as pd

    file = Path(path)
    if not file.exists():
        raise InvalidInputError(f"demand file {str(file)!r} does not exist", field="demand")
    if file.suffix.lower() in (".csv", ".txt"):
        table = pd.read_csv(file)
        columns = {c.lower(): c for c in table.columns}
        pop_col = _population_column(table, population)
        need_values = None if need is None else table[_column(table, need, "need")]
        if "h3" in columns:
            return Demand.from_cells(
                table[columns["h3"]].astype(str).tolist(), table[pop_col], need_values
            )
        if "lat" in columns and "lon" in columns:
            ids = table[id_column].astype(str) if id_column else _default_ids(table)
            return Demand.from_points(
                table[columns["lat"]], table[columns["lon"]], table[pop_col], need_values, ids=ids
            )
        wkt = next((columns[c] for c in CSV_GEOMETRY_COLUMNS if c in columns), None)
        if wkt is None:
            raise InvalidInputError(
                "a demand CSV needs an `h3` column, `lat` and `lon` columns, or a `wkt` column",
                field="demand",
            )
        frame = gpd.GeoDataFrame(
            table.drop(columns=[wkt]),
            geometry=gpd.GeoSeries.from_wkt(table[wkt]),
            crs=WGS84_CRS,
        )
        return Demand.from_polygons(frame, population=pop_col, need=need, id_column=id_column)
    try:
        refuse_linked_crs(Path(file), "demand")
        frame = gpd.read_file(file, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated classes
        raise InvalidInputError(
            f"cannot read demand file {str(file)!r}: {exc}", field="demand"
        ) from exc
    return Demand.from_polygons(frame, population=population, need=need, id_column=id_column)


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

    With ``resolution``, polygons are spread over H3 cells of that size and H3 cells are
    resampled to it (the sample population too); points stay points."""
    from geo_assets.coverage.population import sample_population

    if path is None:
        return None if resolution is None else sample_population(resolution)
    if resolution is not None and path.suffix.lower() != ".csv":
        import geopandas as gpd

        refuse_linked_crs(Path(path), "demand")
        frame = gpd.read_file(path, engine="pyogrio")
        return polygons_to_cells(frame, resolution, population=population, need=need)
    units = read_demand(path, population=population, need=need)
    if resolution is not None and units.is_h3:
        units = resample_cells(units, resolution)
    return units
