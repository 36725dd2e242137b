"""Accessibility measures over a sparse cost table, one plain function per formula.

Every function takes the pair arrays of a :class:`~geo_assets.coverage.costs.CostTable`
(demand ``i``, supply ``j``, travel time ``d_ij`` in minutes) and per-unit arrays, and
works with ``numpy.bincount`` over the pairs, so time and memory grow with the number of
pairs within reach, never with demand x supply. Symbols follow the papers:

- ``P_k`` population (demand) at unit k; ``S_j`` capacity (supply) at site j;
- ``d0`` the catchment threshold (minutes); ``W_kj`` the distance-decay weight of a pair;
- ``R_j`` the supply-to-demand ratio of site j; ``A_i`` the accessibility of unit i.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from geo_assets.errors import InvalidInputError

# Luo & Qi (2009), E2SFCA: weights of the 0-10, 10-20 and 20-30 minute zones.
LUO_QI_WEIGHTS: tuple[float, float, float] = (1.00, 0.68, 0.22)

Measure = Literal["nearest", "cumulative", "2sfca", "e2sfca", "g2sfca"]
MEASURES: tuple[str, ...] = Measure.__args__  # type: ignore[attr-defined]


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise InvalidInputError(
            f"`measure` must be one of {list(MEASURES)}, not {measure!r}", field="measure"
        )
    return measure


def step_breaks(d0: float, zones: int = 3) -> np.ndarray:
    """Upper edges of equal travel-time zones up to ``d0`` (10, 20, 30 for d0 = 30)."""
    return np.array([d0 * (z + 1) / zones for z in range(zones)])


def step_weights(
    d_ij: np.ndarray, d0: float, weights: Sequence[float] = LUO_QI_WEIGHTS
) -> np.ndarray:
    """Stepped distance decay of the enhanced 2SFCA, its zones scaled to the threshold ``d0``.

    Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method
    for measuring spatial accessibility to primary care physicians. *Health & Place*
    15(4), 1100-1107. Zones 0-10, 10-20 and 20-30 minutes weigh 1.00, 0.68 and 0.22; for
    another threshold the zones are ``d0/3`` wide. A time on a zone's upper edge belongs to
    that zone; beyond ``d0`` the weight is 0.
    """
    breaks = step_breaks(d0, len(weights))
    zone = np.searchsorted(breaks, np.asarray(d_ij, dtype=float), side="left")
    table = np.append(np.asarray(weights, dtype=float), 0.0)
    return table[zone]


def gaussian_weights(d_ij: np.ndarray, d0: float) -> np.ndarray:
    """Gaussian distance decay that reaches 0 at the catchment edge ``d0``.

    Dai, D. (2010). Black residential segregation, disparities in spatial access to health
    care facilities, and late-stage breast cancer diagnosis in metropolitan Detroit.
    *Health & Place* 16(5), 1038-1052:
    ``G(d_kj, d0) = (exp(-1/2 (d_kj/d0)^2) - exp(-1/2)) / (1 - exp(-1/2))`` for
    ``d_kj <= d0``, else 0.
    """
    d = np.asarray(d_ij, dtype=float)
    edge = math.exp(-0.5)
    g = (np.exp(-0.5 * (d / d0) ** 2) - edge) / (1.0 - edge)
    return np.where(d <= d0, g, 0.0)


def nearest_minutes(i: np.ndarray, d_ij: np.ndarray, n_demand: int) -> np.ndarray:
    """Minutes from each demand unit to its nearest supply point; ``inf`` if none in the table."""
    out = np.full(n_demand, np.inf)
    np.minimum.at(out, i, d_ij)
    return out


def cumulative_opportunities(
    i: np.ndarray,
    j: np.ndarray,
    d_ij: np.ndarray,
    n_demand: int,
    d0: float,
    S_j: np.ndarray | None = None,
) -> np.ndarray:
    """Cumulative opportunities: supply reachable within ``d0`` minutes from each unit.

    ``O_i = sum_j S_j [d_ij <= d0]``; with no ``S_j`` it counts the sites. The classic
    contour measure (e.g. Geurs, K. T. & van Wee, B. (2004). Accessibility evaluation of
    land-use and transport strategies. *Journal of Transport Geography* 12(2), 127-140).
    """
    inside = d_ij <= d0
    weight = np.ones(int(inside.sum())) if S_j is None else np.asarray(S_j, float)[j[inside]]
    return np.bincount(i[inside], weights=weight, minlength=n_demand).astype(float)


def floating_catchment(
    i: np.ndarray,
    j: np.ndarray,
    W_ij: np.ndarray,
    P_k: np.ndarray,
    S_j: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The two steps of the (weighted) two-step floating catchment area method.

    Step 1, for each site j: ``R_j = S_j / sum_k P_k W_kj`` over the demand units k in its
    catchment. Step 2, for each unit i: ``A_i = sum_j R_j W_ij`` over the sites in its
    catchment. The pairs must already be limited to the catchment (``d_ij <= d0``); with
    ``W = 1`` this is the 2SFCA of Luo, W. & Wang, F. (2003). Measures of spatial
    accessibility to health care in a GIS environment: synthesis and a case study in the
    Chicago region. *Environment and Planning B* 30(6), 865-884. A site whose catchment
    holds no population gets ``R_j = 0`` (it serves nobody). Returns ``(A_i, R_j)``.
    """
    P = np.asarray(P_k, dtype=float)
    S = np.asarray(S_j, dtype=float)
    W = np.asarray(W_ij, dtype=float)
    demand_j = np.bincount(j, weights=P[i] * W, minlength=len(S))
    R_j = np.divide(S, demand_j, out=np.zeros(len(S)), where=demand_j > 0)
    A_i = np.bincount(i, weights=R_j[j] * W, minlength=len(P))
    return A_i, R_j


def two_step_fca(
    i: np.ndarray,
    j: np.ndarray,
    d_ij: np.ndarray,
    P_k: np.ndarray,
    S_j: np.ndarray,
    d0: float,
) -> np.ndarray:
    """2SFCA (Luo & Wang 2003): every pair within ``d0`` minutes counts fully. Returns ``A_i``."""
    inside = d_ij <= d0
    A_i, _ = floating_catchment(i[inside], j[inside], np.ones(int(inside.sum())), P_k, S_j)
    return A_i


def enhanced_two_step_fca(
    i: np.ndarray,
    j: np.ndarray,
    d_ij: np.ndarray,
    P_k: np.ndarray,
    S_j: np.ndarray,
    d0: float,
    weights: Sequence[float] = LUO_QI_WEIGHTS,
) -> np.ndarray:
    """E2SFCA (Luo & Qi 2009): 2SFCA with stepped weights (see :func:`step_weights`)."""
    inside = d_ij <= d0
    W_ij = step_weights(d_ij[inside], d0, weights)
    A_i, _ = floating_catchment(i[inside], j[inside], W_ij, P_k, S_j)
    return A_i


def gaussian_two_step_fca(
    i: np.ndarray,
    j: np.ndarray,
    d_ij: np.ndarray,
    P_k: np.ndarray,
    S_j: np.ndarray,
    d0: float,
) -> np.ndarray:
    """Gaussian 2SFCA (Dai 2010): 2SFCA with :func:`gaussian_weights`."""
    inside = d_ij <= d0
    W_ij = gaussian_weights(d_ij[inside], d0)
    A_i, _ = floating_catchment(i[inside], j[inside], W_ij, P_k, S_j)
    return A_i


def share_within(
    P_k: np.ndarray, nearest: np.ndarray, d0: float, need: np.ndarray | None = None
) -> float:
    """Share (0-1) of population, or of population x need, within ``d0`` minutes of a site.

    The headline figure of the Department for Transport's journey time statistics ("% of
    users within X minutes of the nearest service"), here for community assets.
    """
    weight = np.asarray(P_k, dtype=float) * (1.0 if need is None else np.asarray(need, float))
    total = float(weight.sum())
    if total <= 0:
        return 0.0
    return float(weight[nearest <= d0].sum() / total)


def journey_time_summary(
    P_k: np.ndarray,
    need: np.ndarray,
    nearest: np.ndarray,
    d0: float,
    bands: Sequence[float] | None = None,
) -> dict[str, object]:
    """DfT journey-time-style summary: population and need-weighted shares within ``d0`` minutes.

    ``bands`` (minutes, default quarters of ``d0``) add the share within each shorter time,
    for a cumulative chart; the percentages are 0-100.
    """
    P = np.asarray(P_k, dtype=float)
    bands = list(bands) if bands is not None else [d0 * q / 4 for q in (1, 2, 3, 4)]
    within = nearest <= d0
    return {
        "minutes": d0,
        "population": float(P.sum()),
        "population_within": float(P[within].sum()),
        "pct_population_within": 100.0 * share_within(P, nearest, d0),
        "pct_need_within": 100.0 * share_within(P, nearest, d0, need),
        "units": int(len(P)),
        "units_within": int(within.sum()),
        "bands": [
            {
                "minutes": float(b),
                "pct_population_within": 100.0 * share_within(P, nearest, b),
                "pct_need_within": 100.0 * share_within(P, nearest, b, need),
            }
            for b in bands
        ],
    }
