"""Network travel model: shortest paths over an OpenStreetMap street graph.

The graph is read from an ``.osm.pbf`` extract with pyrosm and routed with
scipy's sparse Dijkstra. Origins and destinations snap to their nearest graph
node; the straight access legs to and from those nodes are added at the mode's
speed. Edge lengths are WGS84 geodesic lengths of the edge geometry, so a
network route is never shorter than the straight line between its ends.

Modes without a graph of their own fall back to a straight-line model:
wheelchair uses the walking graph at wheelchair speed; public transport needs a
timetable (GTFS), which is not modelled yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo_assets.geodesy import WGS84, pair_geodesic_m
from geo_assets.travel import (
    DEFAULT_MODE_SPEEDS,
    ModeSpeed,
    StraightLineTravel,
    check_minutes,
    check_mode,
)

# Which pyrosm network serves each mode; modes missing here use the fallback model.
PYROSM_NETWORK = {"walk": "walking", "wheelchair": "walking", "cycle": "cycling", "car": "driving"}
_EARTH_RADIUS_M = 6_371_008.8
# Isochrone shape: concave-hull ratio (0 hugs the reached nodes, 1 = convex hull) and the
# metres added around it for the last steps from a street to a door.
ISOCHRONE_CONCAVITY = 0.3
ISOCHRONE_MARGIN_M = 50.0
# Memory for one block of searches in ``pair_minutes``: a row of 8-byte distances to every
# node per origin node (about 80 origins at a time on a graph of 100,000 nodes).
DIJKSTRA_BLOCK_BYTES = 64 * 1024 * 1024


@dataclass
class StreetGraph:
    """A routable graph: node coordinates (degrees) and a CSR matrix of edge lengths (metres)."""

    lat: np.ndarray
    lon: np.ndarray
    lengths: csr_matrix
    _tree: cKDTree | None = None

    @property
    def n_nodes(self) -> int:
        return len(self.lat)

    def _xy(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        # Local equirectangular metres: only used to find the nearest node.
        lat0 = float(np.mean(self.lat)) if self.n_nodes else 0.0
        x = np.radians(lon) * np.cos(np.radians(lat0)) * _EARTH_RADIUS_M
        y = np.radians(lat) * _EARTH_RADIUS_M
        return np.column_stack([x, y])

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each (lat, lon) point and the geodesic access distance (metres)."""
        if self._tree is None:
            self._tree = cKDTree(self._xy(self.lat, self.lon))
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        _, idx = self._tree.query(self._xy(pts[:, 0], pts[:, 1]))
        return idx, pair_geodesic_m(pts, np.column_stack([self.lat[idx], self.lon[idx]]))

    def distances_from(self, node: int | np.ndarray, limit_m: float = np.inf) -> np.ndarray:
        """Shortest-path metres from one node (or a row per node of an array) to every
        node, ``inf`` beyond ``limit_m``."""
        return dijkstra(self.lengths, directed=True, indices=node, limit=limit_m)


def _edge_lengths_m(geometries: np.ndarray) -> np.ndarray:
    """Geodesic length of each LineString (lon/lat), summed segment by segment."""
    coords, owner = shapely.get_coordinates(geometries, return_index=True)
    same = owner[1:] == owner[:-1]
    _, _, seg = WGS84.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    seg = np.where(same, seg, 0.0)
    return np.bincount(owner[:-1], weights=seg, minlength=len(geometries))


def graph_from_edges(
    node_ids: np.ndarray,
    node_lat: np.ndarray,
    node_lon: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    length_m: np.ndarray,
    *,
    forward_only: np.ndarray | None = None,
) -> StreetGraph:
    """Build a graph from an edge list; edges are two-way unless ``forward_only`` says not.

    Parallel edges keep the shortest length.
    """
    index = {int(n): i for i, n in enumerate(node_ids)}
    ui = np.fromiter((index.get(int(x), -1) for x in u), dtype=np.int64, count=len(u))
    vi = np.fromiter((index.get(int(x), -1) for x in v), dtype=np.int64, count=len(v))
    keep = (ui >= 0) & (vi >= 0) & (ui != vi)
    ui, vi, w = ui[keep], vi[keep], np.asarray(length_m, dtype=float)[keep]
    one_way = np.zeros(len(ui), dtype=bool) if forward_only is None else forward_only[keep]
    rows = np.concatenate([ui, vi[~one_way]])
    cols = np.concatenate([vi, ui[~one_way]])
    weights = np.concatenate([w, w[~one_way]])
    # Sort so the shortest of parallel edges comes first, then keep the first of each pair.
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    n = len(node_ids)
    # A zero-length edge would vanish from a sparse matrix: give it a millimetre.
    weights = np.maximum(weights[first], 1e-3)
    matrix = csr_matrix((weights, (rows[first], cols[first])), shape=(n, n))
    keep_nodes = _largest_component(matrix)
    matrix = matrix[keep_nodes][:, keep_nodes].tocsr()
    lat = np.asarray(node_lat, float)[keep_nodes]
    lon = np.asarray(node_lon, float)[keep_nodes]
    return StreetGraph(lat, lon, matrix)


def _largest_component(matrix: csr_matrix) -> np.ndarray:
    """Indices of the largest strongly connected component.

    Snapping to a fragment (a private yard, a footpath island) would make every
    destination unreachable, so like most routing tools we route on the main graph.
    """
    _, labels = connected_components(matrix, directed=True, connection="strong")
    biggest = np.bincount(labels).argmax()
    return np.flatnonzero(labels == biggest)


def load_street_graph(pbf_path: str | Path, network_type: str) -> StreetGraph:
    """Read one pyrosm network ("walking", "cycling", "driving") from an .osm.pbf file."""
    import pyrosm

    osm = pyrosm.OSM(str(pbf_path))
    nodes, edges = osm.get_network(network_type=network_type, nodes=True)
    lengths = _edge_lengths_m(edges.geometry.values)
    forward_only = None
    if network_type == "driving" and "oneway" in edges:
        oneway = edges["oneway"].fillna("").astype(str).str.lower()
        # "-1" means one-way against the drawing direction: swap those ends.
        backwards = (oneway == "-1").to_numpy()
        u = np.where(backwards, edges["v"].to_numpy(), edges["u"].to_numpy())
        v = np.where(backwards, edges["u"].to_numpy(), edges["v"].to_numpy())
        forward_only = oneway.isin(["yes", "true", "1", "-1"]).to_numpy()
    else:
        u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    return graph_from_edges(
        nodes["id"].to_numpy(),
        nodes["lat"].to_numpy(),
        nodes["lon"].to_numpy(),
        u,
        v,
        lengths,
        forward_only=forward_only,
    )


class NetworkTravel:
    """Minutes along the street network for walk, wheelchair, cycle and car."""

    name = "network"

    def __init__(
        self,
        graphs: Mapping[str, StreetGraph],
        speeds: Mapping[str, ModeSpeed] | None = None,
        fallback: StraightLineTravel | None = None,
    ) -> None:
        self.graphs = dict(graphs)
        self.speeds = {**DEFAULT_MODE_SPEEDS, **(speeds or {})}
        self.fallback = fallback or StraightLineTravel(self.speeds)

    @classmethod
    def from_pbf(
        cls,
        pbf_path: str | Path,
        modes: tuple[str, ...] = ("walk", "cycle", "car"),
        speeds: Mapping[str, ModeSpeed] | None = None,
    ) -> NetworkTravel:
        """Load one graph per pyrosm network type needed by ``modes`` (shared where equal)."""
        by_type: dict[str, StreetGraph] = {}
        graphs: dict[str, StreetGraph] = {}
        for mode in modes:
            check_mode(mode)
            network_type = PYROSM_NETWORK.get(mode)
            if network_type is None:
                continue
            if network_type not in by_type:
                by_type[network_type] = load_street_graph(pbf_path, network_type)
            graphs[mode] = by_type[network_type]
        if "walk" in graphs and "wheelchair" not in graphs:
            graphs["wheelchair"] = graphs["walk"]
        return cls(graphs, speeds)

    def network_metres(
        self,
        origin: tuple[float, float],
        destinations: np.ndarray,
        mode: str,
        *,
        limit_m: float = np.inf,
    ) -> np.ndarray:
        """Route length in metres, access legs included; ``inf`` if unreachable."""
        graph = self.graphs[mode]
        dest = np.asarray(destinations, dtype=float).reshape(-1, 2)
        (o_node,), (o_access,) = graph.snap(np.asarray([origin]))
        d_nodes, d_access = graph.snap(dest)
        along = graph.distances_from(int(o_node), limit_m)
        return o_access + along[d_nodes] + d_access

    def minutes(
        self,
        origin: tuple[float, float],
        destinations: np.ndarray,
        mode: str,
        *,
        max_minutes: float | None = None,
    ) -> np.ndarray:
        check_mode(mode)
        if mode not in self.graphs:
            return self.fallback.minutes(origin, destinations, mode)
        spec = self.speeds[mode]
        metres = self.network_metres(
            origin, destinations, mode, limit_m=_search_m(spec, max_minutes)
        )
        return metres / spec.metres_per_minute + spec.fixed_minutes

    def pair_minutes(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        i: np.ndarray,
        j: np.ndarray,
        mode: str,
        *,
        max_minutes: float | None = None,
    ) -> np.ndarray:
        """Minutes from ``origins[i[k]]`` to ``destinations[j[k]]``: what ``minutes`` gives
        origin by origin, with each point snapped once and the searches from a block of
        origin nodes run in one call of scipy's Dijkstra."""
        check_mode(mode)
        if mode not in self.graphs:
            return self.fallback.pair_minutes(origins, destinations, i, j, mode)
        origins = np.asarray(origins, dtype=float).reshape(-1, 2)
        destinations = np.asarray(destinations, dtype=float).reshape(-1, 2)
        i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        graph, spec = self.graphs[mode], self.speeds[mode]
        limit_m = _search_m(spec, max_minutes)
        used_o, at_o = np.unique(i, return_inverse=True)
        used_d, at_d = np.unique(j, return_inverse=True)
        o_node, o_access = graph.snap(origins[used_o])
        d_node, d_access = graph.snap(destinations[used_d])
        # Each pair's origin node, numbered among the distinct ones; pairs in that order.
        sources, source_of = np.unique(o_node[at_o], return_inverse=True)
        order = np.argsort(source_of, kind="stable")
        along = np.empty(len(i))
        block = max(1, DIJKSTRA_BLOCK_BYTES // (8 * max(graph.n_nodes, 1)))
        for start in range(0, len(sources), block):
            stop = min(start + block, len(sources))
            lo, hi = np.searchsorted(source_of[order], [start, stop])
            pairs = order[lo:hi]
            metres = graph.distances_from(sources[start:stop], limit_m)
            along[pairs] = metres[source_of[pairs] - start, d_node[at_d[pairs]]]
        total_m = o_access[at_o] + along + d_access[at_d]
        return total_m / spec.metres_per_minute + spec.fixed_minutes

    def reach_m(self, mode: str, minutes: float) -> float:
        """A route can't beat the straight line, so speed x time bounds the radius."""
        check_mode(mode)
        if mode not in self.graphs:
            return self.fallback.reach_m(mode, minutes)
        spec = self.speeds[mode]
        return max(0.0, minutes - spec.fixed_minutes) * spec.metres_per_minute

    def isochrone(
        self,
        origin: tuple[float, float],
        mode: str,
        minutes: float,
        *,
        concavity: float = ISOCHRONE_CONCAVITY,
        margin_m: float = ISOCHRONE_MARGIN_M,
    ) -> shapely.Polygon:
        """The area reachable from ``origin`` (lat, lon) within ``minutes`` by ``mode``.

        A concave hull (``concavity``: 0 hugs the points, 1 is the convex hull) of the
        graph nodes reachable in time, widened by ``margin_m`` metres for the last steps
        off the street and clipped to the straight-line reach, which no route can beat.
        Modes without a graph get the straight-line disc of ``reach_m``. Returns a
        polygon in lon/lat (EPSG:4326) coordinates.
        """
        check_mode(mode)
        check_minutes(minutes)
        if mode not in self.graphs:
            return geodesic_disc(origin, self.fallback.reach_m(mode, minutes))
        graph = self.graphs[mode]
        budget_m = self.reach_m(mode, minutes)
        disc = geodesic_disc(origin, budget_m)
        (o_node,), (o_access,) = graph.snap(np.asarray([origin]))
        left_m = budget_m - float(o_access)
        if left_m <= 0:
            return disc
        along = graph.distances_from(int(o_node), left_m)
        reached = np.flatnonzero(along <= left_m)
        lat0, lon0 = origin
        xy = _local_xy(graph.lat[reached], graph.lon[reached], lat0, lon0)
        xy = np.vstack([xy, [[0.0, 0.0]]])
        points = shapely.multipoints(xy)
        hull = shapely.concave_hull(points, ratio=concavity) if len(xy) >= 3 else points
        area = shapely.buffer(hull, margin_m)
        lonlat = shapely.transform(area, lambda c: _lonlat(c, lat0, lon0))
        clipped = shapely.intersection(lonlat, disc)
        if isinstance(clipped, shapely.MultiPolygon):
            # Keep the piece around the origin; stray slivers only clutter a map.
            clipped = max(clipped.geoms, key=lambda g: g.area)
        if not isinstance(clipped, shapely.Polygon) or clipped.is_empty:
            return disc
        return clipped


def _search_m(spec: ModeSpeed, max_minutes: float | None) -> float:
    """How far along the streets a search need go to find everything within ``max_minutes``."""
    if max_minutes is None:
        return np.inf
    return max(0.0, max_minutes - spec.fixed_minutes) * spec.metres_per_minute


def geodesic_disc(
    centre: tuple[float, float], radius_m: float, *, segments: int = 72
) -> shapely.Polygon:
    """A WGS84 geodesic circle around ``centre`` (lat, lon) as a lon/lat polygon."""
    azimuths = np.linspace(0.0, 360.0, segments, endpoint=False)
    lat0 = np.full(segments, centre[0])
    lon0 = np.full(segments, centre[1])
    lon, lat, _ = WGS84.fwd(lon0, lat0, azimuths, np.full(segments, max(radius_m, 0.01)))
    return shapely.Polygon(np.column_stack([lon, lat]))


def _local_xy(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Equirectangular metres about (lat0, lon0); accurate to well under 1% at city scale."""
    x = np.radians(np.asarray(lon) - lon0) * np.cos(np.radians(lat0)) * _EARTH_RADIUS_M
    y = np.radians(np.asarray(lat) - lat0) * _EARTH_RADIUS_M
    return np.column_stack([x, y])


def _lonlat(xy: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    lon = lon0 + np.degrees(xy[:, 0] / (_EARTH_RADIUS_M * np.cos(np.radians(lat0))))
    lat = lat0 + np.degrees(xy[:, 1] / _EARTH_RADIUS_M)
    return np.column_stack([lon, lat])
