"""The access-distribution chart (matplotlib PNG) of a coverage result.

Left: the journey-time curve, the share of population (and of population x need) with an
asset within t minutes, for t up to the threshold. Right: how the headline measure is
spread over the population (a population-weighted histogram).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geo_assets.coverage.analysis import CoverageResult

MEASURE_LABELS = {
    "nearest": "minutes to the nearest asset",
    "cumulative": "assets within reach",
    "2sfca": "2SFCA: assets per 1,000 people",
    "e2sfca": "E2SFCA: assets per 1,000 people",
    "g2sfca": "Gaussian 2SFCA: assets per 1,000 people",
}
# The FCA ratios are assets per person: tiny numbers that read better per 1,000 people.
PER_THOUSAND = frozenset({"2sfca", "e2sfca", "g2sfca"})


def access_chart(result: CoverageResult, path: str | Path, *, dpi: int = 110) -> Path:
    """Draw the chart to a PNG file at ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cells = result.cells
    d0 = result.params.minutes
    P = cells["population"].to_numpy(float)
    W = P * cells["need"].to_numpy(float)
    nearest = cells["nearest_min"].to_numpy(float)
    t = np.linspace(0.0, d0, 61)
    total_p, total_w = max(P.sum(), 1e-12), max(W.sum(), 1e-12)
    order = np.argsort(nearest)
    cum_p = np.concatenate([[0.0], np.cumsum(P[order])])
    cum_w = np.concatenate([[0.0], np.cumsum(W[order])])
    upto = np.searchsorted(nearest[order], t, side="right")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(t, 100 * cum_p[upto] / total_p, label="population", color="#1f77b4")
    left.plot(t, 100 * cum_w[upto] / total_w, label="population x need", color="#d62728", ls="--")
    left.set_xlabel(f"minutes ({result.params.mode})")
    left.set_ylabel("% with an asset within")
    left.set_ylim(0, 100)
    left.set_xlim(0, d0)
    left.grid(alpha=0.3)
    left.legend(loc="lower right")
    left.set_title("Journey time to the nearest asset")

    access = cells["access"].to_numpy(float)
    if result.params.measure in PER_THOUSAND:
        access = access * 1000.0
    finite = np.isfinite(access)
    if finite.any():
        right.hist(access[finite], bins=30, weights=P[finite] / total_p * 100, color="#2ca02c")
    right.set_xlabel(MEASURE_LABELS[result.params.measure])
    right.set_ylabel("% of population")
    right.grid(alpha=0.3)
    right.set_title("Distribution of access")
    categories = ", ".join(result.params.categories) or "all assets"
    summary = result.summary
    fig.suptitle(
        f"{categories}: {summary['pct_population_within']:.1f}% of people within "
        f"{d0:g} min by {result.params.mode}"
    )
    fig.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=dpi)
    plt.close(fig)
    return target
