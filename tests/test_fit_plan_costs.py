"""The plan-cost fit (benchmarks/fit_plan_costs.py) recovers known costs and scores choices."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.fit_plan_costs import Case, choice, fit, matcher_pools, tuned
from geo_assets.store.postgis_sql import PlanCosts, plan_work


def _cases(costs: PlanCosts, per_listing_ms: float, fixed_ms: float) -> list[Case]:
    """Queries whose times follow the model exactly (same fixed cost for both plans)."""
    rng = np.random.default_rng(3)
    out = []
    for _ in range(300):
        share = float(rng.uniform(0.002, 0.2))
        work = plan_work(int(rng.choice([40, 120])), share, 1e6, float(rng.uniform(50, 80_000)))
        radius_units = costs.index_entry * work.index_entries + costs.in_reach * work.kept_in_reach
        out.append(
            Case(
                work,
                walk_ms=fixed_ms + per_listing_ms * work.walk,
                radius_ms=fixed_ms + per_listing_ms * radius_units,
            )
        )
    return out


def test_fit_recovers_the_costs_the_times_were_made_with() -> None:
    truth = PlanCosts(index_entry=0.05, in_reach=3.0)
    result = fit(_cases(truth, per_listing_ms=0.011, fixed_ms=0.2))
    assert result.walk == pytest.approx((0.2, 0.011), rel=1e-6)
    assert result.costs.index_entry == pytest.approx(0.05, rel=1e-6)
    assert result.costs.in_reach == pytest.approx(3.0, rel=1e-6)


def test_choice_with_the_true_costs_loses_nothing_and_a_fixed_plan_does() -> None:
    truth = PlanCosts(index_entry=0.05, in_reach=3.0)
    cases = _cases(truth, per_listing_ms=0.011, fixed_ms=0.2)
    best = choice(cases, lambda c: truth.prefers_walk(c.work))
    assert best.right == len(cases)
    assert best.lost_ms == pytest.approx(0.0, abs=1e-9)
    for fixed in (True, False):
        worse = choice(cases, lambda c, fixed=fixed: fixed)
        assert worse.lost_ms > 1.0 and worse.right < len(cases)


def test_tuned_constants_choose_as_well_as_the_true_ones() -> None:
    truth = PlanCosts(index_entry=0.05, in_reach=3.0)
    cases = _cases(truth, per_listing_ms=0.011, fixed_ms=0.2)
    best = tuned([cases])
    got = choice(cases, lambda c: best.prefers_walk(c.work))
    assert got.lost_ms == pytest.approx(0.0, abs=0.05)


def test_matcher_pools_are_the_category_pools_a_match_of_twenty_asks_for() -> None:
    pools = matcher_pools(4, seed=7)
    assert pools == matcher_pools(4, seed=7)  # the same queries on every refit
    assert {size for _, size in pools} <= {120, 40}
    assert all(categories and categories == sorted(categories) for categories, _ in pools)
    assert sum(size == 120 for _, size in pools) == 4  # each person's interests resolve


def test_each_table_size_counts_alike_however_slow_its_queries() -> None:
    def scaled(cases: list[Case], k: float) -> list[Case]:
        return [Case(c.work, c.walk_ms * k, c.radius_ms * k) for c in cases]

    small = _cases(PlanCosts(index_entry=0.05, in_reach=3.0), per_listing_ms=0.011, fixed_ms=0.2)
    large = _cases(PlanCosts(index_entry=0.2, in_reach=0.3), per_listing_ms=0.011, fixed_ms=0.2)
    assert tuned([small, scaled(large, 1000.0)]) == tuned([scaled(small, 1000.0), large])
