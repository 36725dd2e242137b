"""Isochrones over a hand-made street grid, where the right answer is a diamond.

On a square grid a walker goes along the streets, so the area reachable in T minutes
is the set of corners within a Manhattan (L1) distance of speed x T: a diamond, not
a disc. Corners of the square at the same straight-line distance are out of reach.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from geo_assets.errors import InvalidInputError
from geo_assets.geodesy import geodesic_m
from geo_assets.network import NetworkTravel, geodesic_disc, graph_from_edges

LAT0, LON0 = 53.8, -1.75
SPACING_M = 100.0
HALF = 15  # nodes each side of the centre: a 3 km x 3 km grid
M_PER_DEG_LAT = 111_195.0


def _grid() -> tuple[NetworkTravel, dict[tuple[int, int], tuple[float, float]]]:
    coords: dict[tuple[int, int], tuple[float, float]] = {}
    ids, lats, lons = [], [], []
    for i in range(-HALF, HALF + 1):
        for j in range(-HALF, HALF + 1):
            lat = LAT0 + j * SPACING_M / M_PER_DEG_LAT
            lon = LON0 + i * SPACING_M / (M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
            coords[(i, j)] = (lat, lon)
            ids.append(len(ids))
            lats.append(lat)
            lons.append(lon)
    index = {key: n for n, key in enumerate(coords)}
    u, v, length = [], [], []
    for (i, j), n in index.items():
        for di, dj in ((1, 0), (0, 1)):
            other = index.get((i + di, j + dj))
            if other is not None:
                u.append(n)
                v.append(other)
                length.append(SPACING_M)
    graph = graph_from_edges(
        np.array(ids), np.array(lats), np.array(lons), np.array(u), np.array(v), np.array(length)
    )
    return NetworkTravel({"walk": graph}), coords


@pytest.fixture(scope="module")
def grid() -> tuple[NetworkTravel, dict[tuple[int, int], tuple[float, float]]]:
    return _grid()


def _inside(polygon: shapely.Polygon, latlon: tuple[float, float]) -> bool:
    return bool(polygon.covers(shapely.Point(latlon[1], latlon[0])))


def test_walking_isochrone_on_a_grid_is_a_diamond(grid):
    travel, coords = grid
    minutes = 10.0  # 4.8 km/h -> 800 m of street
    reach_m = travel.reach_m("walk", minutes)
    assert reach_m == pytest.approx(800.0)
    area = travel.isochrone((LAT0, LON0), "walk", minutes)
    assert isinstance(area, shapely.Polygon) and area.is_valid
    for (i, j), point in coords.items():
        street_m = (abs(i) + abs(j)) * SPACING_M
        if street_m <= reach_m - SPACING_M:
            assert _inside(area, point), (i, j)
        elif street_m >= reach_m + 2 * SPACING_M:
            assert not _inside(area, point), (i, j)
    # The corner at (500 m, 500 m) is 707 m away as the crow flies but 1 km by street.
    assert not _inside(area, coords[(5, 5)])
    assert _inside(area, coords[(7, 0)]) and _inside(area, coords[(0, -7)])


def test_isochrone_never_exceeds_the_straight_line_reach(grid):
    travel, _ = grid
    area = travel.isochrone((LAT0, LON0), "walk", 15.0)
    ring = np.asarray(area.exterior.coords)
    dist = geodesic_m((LAT0, LON0), ring[:, ::-1])
    assert dist.max() <= travel.reach_m("walk", 15.0) + 1.0


def test_longer_time_reaches_more(grid):
    travel, _ = grid
    small = travel.isochrone((LAT0, LON0), "walk", 5.0)
    large = travel.isochrone((LAT0, LON0), "walk", 12.0)
    assert large.area > small.area
    assert large.buffer(1e-9).covers(small.buffer(-1e-6))


def test_modes_without_a_graph_get_the_straight_line_disc(grid):
    travel, _ = grid
    area = travel.isochrone((LAT0, LON0), "public_transport", 20.0)
    radius_m = travel.fallback.reach_m("public_transport", 20.0)
    ring = np.asarray(area.exterior.coords)
    dist = geodesic_m((LAT0, LON0), ring[:, ::-1])
    assert dist == pytest.approx(np.full(len(dist), radius_m), rel=1e-6)


def test_isochrone_checks_its_arguments(grid):
    travel, _ = grid
    with pytest.raises(InvalidInputError, match="`mode`"):
        travel.isochrone((LAT0, LON0), "teleport", 10.0)
    with pytest.raises(InvalidInputError, match="`minutes`"):
        travel.isochrone((LAT0, LON0), "walk", 0.0)


def test_geodesic_disc_has_the_radius_asked_for():
    disc = geodesic_disc((LAT0, LON0), 1_000.0)
    ring = np.asarray(disc.exterior.coords)
    assert geodesic_m((LAT0, LON0), ring[:, ::-1]) == pytest.approx(1_000.0, rel=1e-9)
