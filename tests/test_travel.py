"""Straight-line travel model: published defaults, units, monotonicity, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo_assets.errors import InvalidInputError
from geo_assets.geodesy import geodesic_m
from geo_assets.travel import (
    DEFAULT_MODE_SPEEDS,
    MODES,
    StraightLineTravel,
    best_mode,
    check_minutes,
    minutes_by_mode,
)

BRADFORD = (53.7950, -1.7520)


def test_defaults_are_the_published_figures():
    assert DEFAULT_MODE_SPEEDS["walk"].speed_kmh == 4.8
    assert DEFAULT_MODE_SPEEDS["cycle"].speed_kmh == 16.0
    assert DEFAULT_MODE_SPEEDS["car"].speed_kmh == 30.0
    assert DEFAULT_MODE_SPEEDS["walk"].circuity == pytest.approx(1.34)
    assert set(DEFAULT_MODE_SPEEDS) == set(MODES)


def test_geodesic_matches_pyproj():
    dest = np.array([[53.80, -1.75], [51.5074, -0.1278]])
    _, _, expected = Geod(ellps="WGS84").inv([-1.752] * 2, [53.795] * 2, dest[:, 1], dest[:, 0])
    assert np.allclose(geodesic_m(BRADFORD, dest), expected)


def test_one_km_walk_is_distance_times_circuity_over_speed():
    model = StraightLineTravel()
    # 1 km due north, roughly.
    north = np.array([[BRADFORD[0] + 1000 / 111_250, BRADFORD[1]]])
    metres = geodesic_m(BRADFORD, north)[0]
    minutes = model.minutes(BRADFORD, north, "walk")[0]
    assert minutes == pytest.approx(metres * 1.34 / (4800 / 60))


def test_fixed_minutes_are_added_once_and_reach_is_consistent():
    model = StraightLineTravel()
    assert model.minutes(BRADFORD, np.array([BRADFORD]), "public_transport")[0] == pytest.approx(
        DEFAULT_MODE_SPEEDS["public_transport"].fixed_minutes
    )
    for mode in MODES:
        reach = model.reach_m(mode, 30)
        # A point exactly at the reach radius takes (about) 30 minutes.
        edge = np.array([[BRADFORD[0] + reach / 111_250, BRADFORD[1]]])
        assert model.minutes(BRADFORD, edge, mode)[0] == pytest.approx(30, rel=0.01)


def test_with_speed_overrides_one_mode():
    slow = StraightLineTravel().with_speed("walk", speed_kmh=3.0)
    assert slow.speeds["walk"].speed_kmh == 3.0
    assert slow.speeds["cycle"].speed_kmh == 16.0


@pytest.mark.parametrize("mode", ["bus", "", "WALK"])
def test_unknown_mode_is_rejected_naming_the_field(mode):
    with pytest.raises(InvalidInputError, match="`mode` must be one of") as err:
        StraightLineTravel().minutes(BRADFORD, np.array([BRADFORD]), mode)
    assert err.value.field == "mode"


@pytest.mark.parametrize("minutes", [0, -5, 241, float("nan")])
def test_minutes_out_of_range_rejected(minutes):
    with pytest.raises(InvalidInputError, match="`minutes`"):
        check_minutes(minutes)


def test_best_mode_picks_quickest_within_its_limit():
    model = StraightLineTravel()
    near = np.array([[BRADFORD[0] + 0.004, BRADFORD[1]]])  # ~450 m
    far = np.array([[BRADFORD[0] + 0.05, BRADFORD[1]]])  # ~5.5 km
    mins, which = best_mode(
        model, BRADFORD, np.vstack([near, far]), [("walk", 20), ("public_transport", 40)]
    )
    assert which[0] == 0  # walking beats waiting for the bus
    assert which[1] == 1
    mins, which = best_mode(model, BRADFORD, far, [("walk", 20)])
    assert np.isinf(mins[0]) and which[0] == -1


def test_minutes_by_mode_keeps_every_mode_within_its_own_limit():
    model = StraightLineTravel()
    points = np.array([[BRADFORD[0] + d, BRADFORD[1]] for d in (0.004, 0.01, 0.05)])
    limits = [("walk", 20), ("cycle", 10), ("public_transport", 40)]
    per_mode = minutes_by_mode(model, BRADFORD, points, limits)
    assert per_mode.shape == (3, 3)
    for row, (mode, limit) in zip(per_mode, limits, strict=True):
        free = model.minutes(BRADFORD, points, mode)
        assert np.array_equal(row, np.where(free <= limit, free, np.inf))
    # ~450 m: every mode in time; ~5.5 km: only the bus (about 38 min)
    assert np.isfinite(per_mode[:, 0]).all()
    assert np.isinf(per_mode[:2, 2]).all() and np.isfinite(per_mode[2, 2])
    mins, which = best_mode(model, BRADFORD, points, limits)
    assert np.array_equal(mins, per_mode.min(axis=0))
    assert which.tolist() == per_mode.argmin(axis=0).tolist()


def test_ties_go_to_the_mode_listed_first():
    model = StraightLineTravel()
    points = np.array([[BRADFORD[0] + 0.01, BRADFORD[1]]])
    assert best_mode(model, BRADFORD, points, [("walk", 60), ("walk", 60)])[1].tolist() == [0]
    assert best_mode(model, BRADFORD, points, [])[1].tolist() == [-1]


def test_best_mode_uses_distances_the_caller_already_measured():
    model = StraightLineTravel()
    points = np.array([[BRADFORD[0] + d, BRADFORD[1] - d] for d in (0.001, 0.01, 0.03, 0.06)])
    limits = [("walk", 25), ("cycle", 15), ("public_transport", 40)]
    measured = best_mode(model, BRADFORD, points, limits)
    known = best_mode(model, BRADFORD, points, limits, metres=geodesic_m(BRADFORD, points))
    assert np.array_equal(measured[0], known[0]) and np.array_equal(measured[1], known[1])
    assert {1, 2, -1} <= set(measured[1].tolist())  # several modes and one out of reach
    # The distances given are the ones used: doubled, every time is the double's.
    doubled = best_mode(
        model, BRADFORD, points, [("car", 240)], metres=2 * geodesic_m(BRADFORD, points)
    )
    assert np.allclose(doubled[0], model.minutes_over(2 * geodesic_m(BRADFORD, points), "car"))


@settings(max_examples=50, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=0.2),
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from(MODES),
)
def test_closer_is_never_slower(offset_deg, shrink, mode):
    model = StraightLineTravel()
    far = np.array([[BRADFORD[0] + offset_deg, BRADFORD[1] + offset_deg]])
    closer = np.array([[BRADFORD[0] + offset_deg * shrink, BRADFORD[1] + offset_deg * shrink]])
    assert model.minutes(BRADFORD, closer, mode)[0] <= model.minutes(BRADFORD, far, mode)[0] + 1e-9
