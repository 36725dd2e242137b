"""Distances on the WGS84 ellipsoid, the one definition every part of the service uses.

Points are (lat, lon) degrees. Distances are geodesics (Karney's algorithm through
:class:`pyproj.Geod`), the same measure as PostGIS ``geography``, so the stores, the
travel models and the duplicate finder agree to well under a metre.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyproj import Geod

WGS84 = Geod(ellps="WGS84")

# Below this many points one Geod.inv call per point beats one array call, whose
# fixed cost (about 20 us) is that of ten points (measured with pyproj 3.7).
_ARRAY_FROM = 16


def point_geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points."""
    return float(WGS84.inv(lon1, lat1, lon2, lat2)[2])


def geodesics_from(
    lat: float, lon: float, lats: Sequence[float], lons: Sequence[float]
) -> list[float]:
    """Metres from (lat, lon) to each point (lats[i], lons[i]), as Python floats.

    For the few points of a small radius query, where an array call's set-up would
    cost more than the distances themselves.
    """
    if len(lats) < _ARRAY_FROM:
        inv = WGS84.inv
        return [inv(lon, lat, x, y)[2] for x, y in zip(lons, lats, strict=True)]
    return geodesic_m((lat, lon), np.column_stack([lats, lons])).tolist()  # type: ignore[no-any-return]


def geodesic_m(origin: tuple[float, float], destinations: np.ndarray) -> np.ndarray:
    """Metres from one (lat, lon) to an (n, 2) array of (lat, lon)."""
    dest = np.asarray(destinations, dtype=float).reshape(-1, 2)
    return pair_geodesic_m(np.broadcast_to(np.asarray(origin, dtype=float), dest.shape), dest)


def pair_geodesic_m(origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
    """Metres between matching rows of two (n, 2) arrays of (lat, lon)."""
    a = np.asarray(origins, dtype=float).reshape(-1, 2)
    b = np.asarray(destinations, dtype=float).reshape(-1, 2)
    if a.shape[0] == 0:
        return np.zeros(0)
    _, _, dist = WGS84.inv(a[:, 1], a[:, 0], b[:, 1], b[:, 0])
    return np.asarray(dist, dtype=float)
