"""Travel-time models: how many minutes from a person's home to each asset, per mode.

Two models share one interface, ``minutes(origin, destinations, mode) -> array``:

- ``StraightLineTravel``: geodesic distance x circuity / speed (+ a fixed wait or
  parking time). Defaults are published figures (DESIGN section 6): walking
  4.8 km/h, cycling 16 km/h, car 30 km/h urban average; circuity measured on OSM
  (walk 1.34, cycle 1.27, drive 1.28; Newell 1980 gives ~1.2 for urban grids).
- ``NetworkTravel`` (``geo_assets.network``): shortest paths over an OpenStreetMap graph.

Points are (lat, lon) degrees, WGS84. Unreachable destinations get ``inf`` minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from geo_assets.errors import InvalidInputError
from geo_assets.geodesy import geodesic_m, pair_geodesic_m

Mode = Literal["walk", "cycle", "public_transport", "car", "wheelchair"]
MODES: tuple[str, ...] = Mode.__args__  # type: ignore[attr-defined]
MAX_MINUTES = 240
# A journey most people would call an ordinary one, by each mode: the search form's
# defaults, and how long a bus is tried for someone who did not say they take one.
USUAL_MINUTES: dict[str, int] = {
    "walk": 20,
    "public_transport": 30,
    "cycle": 20,
    "car": 20,
    "wheelchair": 15,
}
# How each mode reads after a number of minutes ("14 min walk", "9 min by bike").
MODE_WORDS: dict[str, str] = {
    "walk": "walk",
    "wheelchair": "by wheelchair",
    "cycle": "by bike",
    "car": "by car",
    "public_transport": "by bus or train",
}


@dataclass(frozen=True)
class ModeSpeed:
    """How a mode moves: door-to-door speed, route circuity and fixed overhead.

    ``fixed_minutes`` covers waiting for a bus, or parking; it is added once.
    """

    speed_kmh: float
    circuity: float
    fixed_minutes: float = 0.0

    @property
    def metres_per_minute(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0


DEFAULT_MODE_SPEEDS: dict[str, ModeSpeed] = {
    # 4.8 km/h: the usual planning walking speed (1.33 m/s).
    "walk": ModeSpeed(speed_kmh=4.8, circuity=1.34),
    # Manual wheelchair users average about 1 m/s on pavements (3.6 km/h).
    "wheelchair": ModeSpeed(speed_kmh=3.6, circuity=1.34),
    "cycle": ModeSpeed(speed_kmh=16.0, circuity=1.27),
    # ~30 km/h urban average plus 3 minutes to park and walk in.
    "car": ModeSpeed(speed_kmh=30.0, circuity=1.28, fixed_minutes=3.0),
    # Bus as an effective door-to-door speed (walk legs and stops included)
    # plus an average wait of half a 15-minute headway.
    "public_transport": ModeSpeed(speed_kmh=14.0, circuity=1.3, fixed_minutes=7.5),
}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidInputError(f"`mode` must be one of {set(MODES)}, not {mode!r}", field="mode")
    return mode


def check_minutes(minutes: float, *, field: str = "minutes") -> float:
    if not (0 < minutes <= MAX_MINUTES):
        raise InvalidInputError(
            f"`{field}` must be more than 0 and at most {MAX_MINUTES}, not {minutes!r}",
            field=field,
        )
    return float(minutes)


@runtime_checkable
class TravelModel(Protocol):
    """Minutes from one origin to many destinations for one mode."""

    name: str

    def minutes(
        self,
        origin: tuple[float, float],
        destinations: np.ndarray,
        mode: str,
        *,
        max_minutes: float | None = None,
    ) -> np.ndarray:
        """``max_minutes`` lets a model stop searching early; results beyond it may be ``inf``."""
        ...

    def reach_m(self, mode: str, minutes: float) -> float:
        """Straight-line radius (metres) that surely contains everything reachable."""
        ...


@runtime_checkable
class PairTravel(Protocol):
    """A travel model that times many (origin, destination) pairs in one call, faster than
    one ``minutes`` call per origin (coverage asks for thousands of origins)."""

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
        """Minutes from ``origins[i[k]]`` to ``destinations[j[k]]`` for each k, exactly as
        ``minutes`` gives them (points are (lat, lon) rows)."""
        ...


class StraightLineTravel:
    """Geodesic distance x circuity / speed, plus the mode's fixed minutes."""

    name = "straight_line"

    def __init__(self, speeds: Mapping[str, ModeSpeed] | None = None) -> None:
        self.speeds: dict[str, ModeSpeed] = {**DEFAULT_MODE_SPEEDS, **(speeds or {})}

    def with_speed(self, mode: str, **changes: float) -> StraightLineTravel:
        """A copy with one mode's parameters changed (speed_kmh, circuity, fixed_minutes)."""
        check_mode(mode)
        return StraightLineTravel({**self.speeds, mode: replace(self.speeds[mode], **changes)})

    def minutes(
        self,
        origin: tuple[float, float],
        destinations: np.ndarray,
        mode: str,
        *,
        max_minutes: float | None = None,
    ) -> np.ndarray:
        return self.minutes_over(geodesic_m(origin, destinations), mode)

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
        origins = np.asarray(origins, dtype=float).reshape(-1, 2)
        destinations = np.asarray(destinations, dtype=float).reshape(-1, 2)
        return self.minutes_over(pair_geodesic_m(origins[i], destinations[j]), mode)

    def minutes_over(self, metres: np.ndarray, mode: str) -> np.ndarray:
        """Minutes for geodesic distances already measured (a store's ``nearby`` gives them)."""
        spec = self.speeds[check_mode(mode)]
        return metres * spec.circuity / spec.metres_per_minute + spec.fixed_minutes

    def reach_m(self, mode: str, minutes: float) -> float:
        spec = self.speeds[check_mode(mode)]
        moving = max(0.0, minutes - spec.fixed_minutes)
        return moving * spec.metres_per_minute / spec.circuity


def minutes_by_mode(
    model: TravelModel,
    origin: tuple[float, float],
    destinations: np.ndarray,
    limits: Sequence[tuple[str, float]],
    *,
    metres: np.ndarray | None = None,
) -> np.ndarray:
    """Minutes to each destination per allowed mode: row ``i`` for ``limits[i]``, ``inf``
    where that mode takes longer than its limit (or cannot get there at all).

    ``limits`` is a list of (mode, max minutes). ``metres``, the geodesic distance to
    each destination when the caller has it (a store's ``nearby`` measured it), is what
    the straight-line model then uses instead of measuring again.
    """
    n = np.asarray(destinations).reshape(-1, 2).shape[0]
    if isinstance(model, StraightLineTravel):  # one measurement serves every mode
        metres = geodesic_m(origin, destinations) if metres is None else metres
        per_mode = [model.minutes_over(metres, mode) for mode, _ in limits]
    else:
        per_mode = [model.minutes(origin, destinations, m, max_minutes=t) for m, t in limits]
    out = np.full((len(limits), n), np.inf)
    for i, ((_, max_minutes), mins) in enumerate(zip(limits, per_mode, strict=True)):
        out[i] = np.where(mins <= max_minutes, mins, np.inf)
    return out


def best_mode(
    model: TravelModel,
    origin: tuple[float, float],
    destinations: np.ndarray,
    limits: Sequence[tuple[str, float]],
    *,
    metres: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each destination, the quickest allowed mode within its limit.

    Takes what ``minutes_by_mode`` takes. Returns (minutes, index into ``limits``);
    destinations no mode reaches in time get ``inf`` and -1. Ties go to the mode
    listed first.
    """
    return pick_best(minutes_by_mode(model, origin, destinations, limits, metres=metres))


def pick_best(per_mode: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``best_mode`` of minutes already worked out per mode (``minutes_by_mode``)."""
    n = per_mode.shape[1]
    if per_mode.shape[0] == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=int)
    which = np.argmin(per_mode, axis=0)  # the first of equal minima: ties to the first mode
    best = per_mode[which, np.arange(n)]
    return best, np.where(np.isfinite(best), which, -1)
