"""Gaps: demand units where many people, in high need, lack access, ranked.

The score of a unit is ``P_k x need_k x lack_k``: population times need weight times a
lack of access between 0 (access is fine) and 1 (none at all). What "lack" means is a
choice, so it is a parameter (:class:`GapDefinition`):

- ``no_asset``: lack is 1 when no asset lies within the threshold, else 0 (the DfT
  journey-time view: who is beyond T minutes of every site);
- ``below_percentile``: lack is ``1 - A_k / A_p`` when a unit's access ``A_k`` (any
  measure) falls below ``A_p``, the population-weighted p-th percentile of access, else 0;
  units with no access at all get 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from geo_assets.errors import InvalidInputError

GapKind = Literal["no_asset", "below_percentile"]
GAP_KINDS: tuple[str, ...] = GapKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GapDefinition:
    """How lack of access is judged; ``percentile`` (0-100) is for ``below_percentile``."""

    kind: GapKind = "no_asset"
    percentile: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in GAP_KINDS:
            raise InvalidInputError(
                f"`gap` must be one of {list(GAP_KINDS)}, not {self.kind!r}", field="gap"
            )
        if not 0 < self.percentile < 100:
            raise InvalidInputError(
                f"`percentile` must be between 0 and 100, not {self.percentile!r}",
                field="percentile",
            )


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The value below which ``q`` percent of the weight lies (lower step, no interpolation)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if len(v) == 0 or w.sum() <= 0:
        return 0.0
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, q / 100.0 * cum[-1], side="left"))
    return float(v[order][min(k, len(v) - 1)])


def lack_of_access(
    access: np.ndarray,
    nearest: np.ndarray,
    d0: float,
    P_k: np.ndarray,
    definition: GapDefinition,
) -> np.ndarray:
    """Lack of access per unit, 0-1, under ``definition`` (see the module notes)."""
    if definition.kind == "no_asset":
        return (np.asarray(nearest) > d0).astype(float)
    A = np.asarray(access, dtype=float)
    A_p = weighted_percentile(A, P_k, definition.percentile)
    if A_p <= 0:
        return (A <= 0).astype(float)
    return np.where(A < A_p, 1.0 - A / A_p, 0.0)  # noqa: SIM300 (symbols, not constants)


def gap_scores(P_k: np.ndarray, need: np.ndarray, lack: np.ndarray) -> np.ndarray:
    """Gap score ``P_k x need_k x lack_k``: people in need without access."""
    return np.asarray(P_k, float) * np.asarray(need, float) * np.asarray(lack, float)


def rank_gaps(cells: Any, *, top: int | None = None) -> Any:
    """Units with a gap (score > 0), worst first, with a 1-based ``gap_rank``.

    ``cells`` is the per-unit frame of a coverage result (it has ``gap_score``,
    ``population`` and ``id``); ties fall to the larger population, then the id.
    """
    gaps = cells[cells["gap_score"] > 0].sort_values(
        ["gap_score", "population", "id"], ascending=[False, False, True], kind="stable"
    )
    gaps = gaps.assign(gap_rank=np.arange(1, len(gaps) + 1))
    return gaps.head(top) if top is not None else gaps
