"""Supply points and the sparse cost table: (demand i, supply j, minutes) for pairs within reach.

A region-wide all-pairs matrix would not fit in memory (200,000 cells x 20,000 assets is
4 billion pairs), while the pairs that matter, those within the travel threshold, are a
tiny share of it. So candidate pairs come from a KD-tree search within the travel model's
reachable radius (``reach_m``), demand in chunks, and only pairs whose travel time is at
most the threshold are kept.

The KD-tree works on Earth-centred (ECEF) coordinates in metres on the WGS84 ellipsoid. A
straight chord through the Earth is never longer than the geodesic over its surface, so a
chord search with the reachable radius finds every point within that geodesic distance,
anywhere on Earth, with no map projection to choose. The search returns each pair's chord,
and for the straight-line model the geodesic follows from it (:func:`chord_to_geodesic_m`)
at no further cost. Points are (lat, lon) degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from geo_assets.coverage.demand import check_coordinates
from geo_assets.errors import InvalidInputError
from geo_assets.model import Asset
from geo_assets.travel import (
    PairTravel,
    StraightLineTravel,
    TravelModel,
    check_minutes,
    check_mode,
)

# WGS84 ellipsoid: semi-major axis (metres) and first eccentricity squared.
WGS84_A_M = 6_378_137.0
WGS84_E2 = 6.694379990141317e-3
# Demand points per KD-tree chunk: bounds the transient memory of one neighbour search.
DEFAULT_CHUNK = 4096
# Up to this reach the chord gives the geodesic to within about a centimetre (1e-7 relative);
# beyond it, distances come from pyproj's geodesic.
CHORD_LIMIT_M = 100_000.0
# Refuse tables that would not fit comfortably in memory (16 bytes a pair: about 1.6 GB).
DEFAULT_MAX_PAIRS = 100_000_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Supply:
    """Supply points (assets): ids, (lat, lon) degrees and capacity ``S_j`` (default 1 each)."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    capacity: np.ndarray
    names: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_points(
        cls,
        lat: Sequence[float] | np.ndarray,
        lon: Sequence[float] | np.ndarray,
        *,
        ids: Sequence[str] | np.ndarray | None = None,
        capacity: Sequence[float] | np.ndarray | None = None,
        names: Sequence[str] | np.ndarray | None = None,
    ) -> Supply:
        lat_a = np.asarray(lat, dtype=float).ravel()
        lon_a = np.asarray(lon, dtype=float).ravel()
        n = len(lat_a)
        if len(lon_a) != n:
            raise InvalidInputError("`lat` and `lon` must have the same length", field="lon")
        ids_a = np.asarray(ids if ids is not None else [str(k) for k in range(n)], dtype=object)
        cap = np.ones(n) if capacity is None else np.asarray(capacity, dtype=float).ravel()
        if len(ids_a) != n or len(cap) != n:
            raise InvalidInputError("`ids` and `capacity` need one value per point", field="ids")
        if np.any(~np.isfinite(cap)) or np.any(cap < 0):
            raise InvalidInputError("`capacity` must be finite and not negative", field="capacity")
        names_a = np.asarray(names if names is not None else ids_a, dtype=object)
        return cls(ids_a, lat_a, lon_a, cap, names_a)

    @classmethod
    def from_assets(
        cls, assets: Sequence[Asset], *, capacity: Callable[[Asset], float] | None = None
    ) -> Supply:
        """Supply from assets; ``capacity`` maps an asset to ``S_j`` (default: 1 each)."""
        return cls.from_points(
            [a.location.lat for a in assets],
            [a.location.lon for a in assets],
            ids=[a.id for a in assets],
            capacity=None if capacity is None else [capacity(a) for a in assets],
            names=[a.name for a in assets],
        )


@dataclass(frozen=True)
class CostTable:
    """Sparse travel costs: pair k joins demand ``i[k]`` to supply ``j[k]`` in ``minutes[k]``.

    Holds only pairs with ``minutes <= max_minutes``; every missing pair is beyond reach.
    The order of the pairs carries no meaning.
    """

    i: np.ndarray
    j: np.ndarray
    minutes: np.ndarray
    n_demand: int
    n_supply: int
    max_minutes: float

    def __len__(self) -> int:
        return len(self.i)

    def within(self, minutes: float) -> CostTable:
        """The pairs within a shorter threshold."""
        keep = self.minutes <= minutes
        return CostTable(
            self.i[keep], self.j[keep], self.minutes[keep], self.n_demand, self.n_supply, minutes
        )

    def to_frame(self, demand_ids: np.ndarray, supply_ids: np.ndarray) -> object:
        """A pandas frame (origin, dest, cost) with the units' ids, e.g. for PySAL ``access``."""
        import pandas as pd

        return pd.DataFrame(
            {"origin": demand_ids[self.i], "dest": supply_ids[self.j], "cost": self.minutes}
        )


def ecef_m(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Earth-centred, Earth-fixed (x, y, z) metres of (lat, lon) degrees on the WGS84 ellipsoid."""
    phi = np.radians(np.asarray(lat, dtype=float))
    lam = np.radians(np.asarray(lon, dtype=float))
    sin_phi = np.sin(phi)
    n_m = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_phi**2)  # prime-vertical radius
    cos_phi = np.cos(phi)
    return np.column_stack(
        [n_m * cos_phi * np.cos(lam), n_m * cos_phi * np.sin(lam), n_m * (1 - WGS84_E2) * sin_phi]
    )


def mean_radius_m(lat: np.ndarray) -> np.ndarray:
    """Gaussian mean radius of curvature ``sqrt(M N)`` of the WGS84 ellipsoid at ``lat``, metres."""
    sin2 = np.sin(np.radians(np.asarray(lat, dtype=float))) ** 2
    w = 1.0 - WGS84_E2 * sin2
    return WGS84_A_M * np.sqrt(1.0 - WGS84_E2) / w


def chord_to_geodesic_m(chord_m: np.ndarray, radius_m: np.ndarray | float) -> np.ndarray:
    """Surface distance from the straight chord between two nearby points, metres.

    An arc of a circle of radius ``rho`` whose chord is ``c`` has length
    ``2 rho asin(c / (2 rho))``; with ``rho`` the ellipsoid's mean radius of curvature where
    the pair lies, this matches the WGS84 geodesic to within 1e-8 of the distance up to
    50 km and 3e-7 up to 200 km (checked against pyproj in the tests).
    """
    rho = np.asarray(radius_m, dtype=float)
    return 2.0 * rho * np.arcsin(np.minimum(1.0, np.asarray(chord_m) / (2.0 * rho)))


def build_cost_table(
    demand_lat: np.ndarray,
    demand_lon: np.ndarray,
    supply_lat: np.ndarray,
    supply_lon: np.ndarray,
    *,
    mode: str,
    max_minutes: float,
    travel: TravelModel | None = None,
    chunk: int = DEFAULT_CHUNK,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    progress: Progress | None = None,
) -> CostTable:
    """Travel minutes from each demand point to each supply point it reaches within ``max_minutes``.

    Parameters
    ----------
    demand_lat, demand_lon, supply_lat, supply_lon
        Degrees, WGS84.
    mode
        One of the travel modes (walk, cycle, public_transport, car, wheelchair).
    max_minutes
        The threshold ``d0``; pairs over it are left out.
    travel
        The travel model (default: ``StraightLineTravel()``). The straight-line model and
        any :class:`~geo_assets.travel.PairTravel` (the street network) are computed for
        all pairs at once; any other model is asked once per demand point, about its
        candidate destinations only.
    chunk
        Demand points per neighbour search: bounds the transient memory.
    max_pairs
        Stop with ``InvalidInputError`` rather than exhaust memory.
    progress
        Called as ``progress(done, total)`` in demand points after each chunk.
    """
    check_mode(mode)
    t0 = check_minutes(max_minutes, field="max_minutes")
    model: TravelModel = travel or StraightLineTravel()
    d_lat, d_lon = check_coordinates(demand_lat, demand_lon, field="demand")
    s_lat, s_lon = check_coordinates(supply_lat, supply_lon, field="supply")
    n_d, n_s = len(d_lat), len(s_lat)
    reach_m = float(model.reach_m(mode, t0))
    empty = CostTable(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), n_d, n_s, t0)
    if n_d == 0 or n_s == 0 or reach_m <= 0:
        if progress:
            progress(n_d, n_d)
        return empty
    supply_tree = cKDTree(ecef_m(s_lat, s_lon))
    # A hair over the radius: the ECEF round trip may lose a few nanometres.
    radius_m = reach_m * (1 + 1e-9) + 1e-6
    straight = model if isinstance(model, StraightLineTravel) else None
    rho_m = mean_radius_m(d_lat)
    parts_i: list[np.ndarray] = []
    parts_j: list[np.ndarray] = []
    parts_c: list[np.ndarray] = []
    total = 0
    for start in range(0, n_d, chunk):
        stop = min(n_d, start + chunk)
        chunk_tree = cKDTree(ecef_m(d_lat[start:stop], d_lon[start:stop]))
        pairs = chunk_tree.sparse_distance_matrix(supply_tree, radius_m, output_type="ndarray")
        ci = pairs["i"].astype(np.int64) + start
        cj = pairs["j"].astype(np.int64)
        if straight is not None and reach_m <= CHORD_LIMIT_M:
            cost = straight.minutes_over(chord_to_geodesic_m(pairs["v"], rho_m[ci]), mode)
        else:
            cost = _model_minutes(model, mode, t0, d_lat, d_lon, s_lat, s_lon, ci, cj)
        keep = cost <= t0
        total += int(keep.sum())
        if total > max_pairs:
            raise InvalidInputError(
                f"more than {max_pairs:,} demand-supply pairs lie within {t0:g} minutes; "
                "use fewer or coarser demand units, or a shorter `minutes`",
                field="minutes",
            )
        parts_i.append(ci[keep])
        parts_j.append(cj[keep])
        parts_c.append(cost[keep])
        if progress:
            progress(stop, n_d)
    # Pairs come grouped by demand chunk, in the trees' order within one: the same inputs
    # always give the same table, and no measure depends on the order.
    return CostTable(
        np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_c), n_d, n_s, t0
    )


def _model_minutes(
    model: TravelModel,
    mode: str,
    t0: float,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    s_lat: np.ndarray,
    s_lon: np.ndarray,
    ci: np.ndarray,
    cj: np.ndarray,
) -> np.ndarray:
    """Any travel model: all pairs at once where it can (straight lines beyond the chord's
    reach, street networks), else one call per demand point with its candidate destinations."""
    cost = np.full(len(ci), np.inf)
    if len(ci) == 0:
        return cost
    if isinstance(model, PairTravel):
        demand, supply = np.column_stack([d_lat, d_lon]), np.column_stack([s_lat, s_lon])
        return model.pair_minutes(demand, supply, ci, cj, mode, max_minutes=t0)
    order = np.argsort(ci, kind="stable")
    bounds = np.flatnonzero(np.diff(ci[order])) + 1
    for group in np.split(order, bounds):
        origin = (float(d_lat[ci[group[0]]]), float(d_lon[ci[group[0]]]))
        dest = np.column_stack([s_lat[cj[group]], s_lon[cj[group]]])
        cost[group] = model.minutes(origin, dest, mode, max_minutes=t0)
    return cost
