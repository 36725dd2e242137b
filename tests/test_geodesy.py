"""The shared WGS84 distances: every variant gives pyproj's geodesic."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from geo_assets.geodesy import geodesic_m, geodesics_from, pair_geodesic_m, point_geodesic_m

LEEDS = (53.8008, -1.5491)
GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("n", [1, 15, 16, 40])
def test_geodesics_from_agrees_with_one_array_call_below_and_above_its_switch(n: int) -> None:
    rng = np.random.default_rng(n)
    lats = (LEEDS[0] + rng.normal(0, 0.05, n)).tolist()
    lons = (LEEDS[1] + rng.normal(0, 0.08, n)).tolist()
    _, _, want = GEOD.inv(
        np.full(n, LEEDS[1]), np.full(n, LEEDS[0]), np.array(lons), np.array(lats)
    )
    got = geodesics_from(*LEEDS, lats, lons)
    assert all(isinstance(d, float) for d in got)
    assert got == pytest.approx(want.tolist(), abs=1e-6)


def test_all_forms_give_the_same_metres() -> None:
    rng = np.random.default_rng(5)
    points = np.column_stack([LEEDS[0] + rng.normal(0, 0.2, 30), LEEDS[1] + rng.normal(0, 0.3, 30)])
    one_to_many = geodesic_m(LEEDS, points)
    pairs = pair_geodesic_m(np.tile(LEEDS, (30, 1)), points)
    scalars = [point_geodesic_m(*LEEDS, lat, lon) for lat, lon in points.tolist()]
    assert np.allclose(one_to_many, pairs, atol=1e-9)
    assert np.allclose(one_to_many, scalars, atol=1e-9)
    assert len(pair_geodesic_m(np.zeros((0, 2)), np.zeros((0, 2)))) == 0
