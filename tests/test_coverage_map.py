"""The coverage map's classes: no access at all (0) never shares a colour with some access,
and the legend says what each colour holds."""

from __future__ import annotations

import json
import re
from collections import Counter

import geopandas as gpd
import numpy as np
import shapely

from maps.assets import MapSettings, render_parts
from maps.coverage import _legend_items, class_breaks, class_colours, coverage_map
from maps.style import COVERAGE_COLOURS

OFFLINE = MapSettings(map_assets="local", tiles="none")
# The sample's instrument lessons, listings within reach: most cells have none, the rest one.
NONE_OR_ONE = np.array([0.0] * 951 + [1.0] * 14)


def _labels(items: list[object]) -> list[tuple[str, str]]:
    return [(item.label, item.colour) for item in items]  # type: ignore[attr-defined]


def test_zero_is_a_class_of_its_own_when_every_other_value_is_the_same() -> None:
    breaks = class_breaks(NONE_OR_ONE[NONE_OR_ONE != 0], len(COVERAGE_COLOURS) - 1)
    colours = class_colours(NONE_OR_ONE, breaks, zero_class=True)
    assert Counter(colours) == {COVERAGE_COLOURS[0]: 951, COVERAGE_COLOURS[-1]: 14}
    legend = _legend_items(
        breaks, "{:.0f}", has_missing=False, higher_is_better=True, zero_class=True
    )
    assert _labels(legend) == [("0", COVERAGE_COLOURS[0]), ("1", COVERAGE_COLOURS[-1])]


def test_zero_class_keeps_the_other_classes_and_their_legend_in_step() -> None:
    values = np.array([0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.8, np.nan])
    breaks = class_breaks(values[values != 0], len(COVERAGE_COLOURS) - 1)
    colours = class_colours(values, breaks, zero_class=True)
    assert colours[0] == colours[1] == COVERAGE_COLOURS[0]
    assert COVERAGE_COLOURS[0] not in colours[2:]
    assert colours[2] != colours[6]
    legend = _labels(
        _legend_items(breaks, "{:.1f}", has_missing=True, higher_is_better=True, zero_class=True)
    )
    assert legend[0] == ("0.0", COVERAGE_COLOURS[0])
    assert [label for label, _ in legend[1:-1]] == ["0.1 to 0.2", "0.2 to 0.3", "0.3 to 0.4",
                                                    "0.4 to 0.8"]  # fmt: skip
    # Every fill on the map is one the legend shows.
    assert set(colours) <= {colour for _, colour in legend}


def test_the_map_draws_no_access_apart_and_its_legend_says_so() -> None:
    boxes = [shapely.box(-1.80 + i * 0.01, 53.79, -1.79 + i * 0.01, 53.80) for i in range(6)]
    cells = gpd.GeoDataFrame(
        {"access": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]}, geometry=boxes, crs="EPSG:4326"
    )
    script = render_parts(
        coverage_map(cells, "access", value_format="{:.0f}", zero_class=True, settings=OFFLINE),
        OFFLINE,
    ).script
    fills = Counter(re.findall(r'"_ga_fill": "(#[0-9a-f]{6})"', script))
    assert fills == {COVERAGE_COLOURS[0]: 4, COVERAGE_COLOURS[-1]: 2}
    legend = json.loads(re.search(r"div\.innerHTML = (\".*?\");", script).group(1))  # type: ignore[union-attr]
    assert "0 to 1" not in legend
    assert f'{COVERAGE_COLOURS[0]}" aria-hidden="true"></span>0<' in legend
    assert f'{COVERAGE_COLOURS[-1]}" aria-hidden="true"></span>1<' in legend
