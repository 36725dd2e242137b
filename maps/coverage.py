"""The coverage map: a choropleth of access per demand unit, with the worst gaps outlined.

Takes a GeoDataFrame of unit polygons (H3 cells or the planner's own areas) with a
value column, such as the ``geo_assets.coverage.to_layer`` output; colours come from
``COVERAGE_COLOURS`` (light = little access) in quantile classes unless ``bins`` are
given, with zero (no access at all) as a class of its own when asked. Units whose
``gap_column`` is set (true or above zero) get a red dashed outline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import pandas as pd

from geo_assets.errors import InvalidInputError
from maps.assets import MapSettings, new_map
from maps.style import (
    COVERAGE_COLOURS,
    GAP_COLOUR,
    NO_DATA_COLOUR,
    Legend,
    LegendItem,
    add_map_css,
    inert,
)

FILL_COLUMN = "_ga_fill"


def class_breaks(values: np.ndarray, classes: int = len(COVERAGE_COLOURS)) -> list[float]:
    """Quantile class edges (lowest first) of the finite values; fewer when values repeat."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    edges = np.quantile(finite, np.linspace(0.0, 1.0, classes + 1))
    return [float(e) for e in np.unique(edges)]


def class_colours(
    values: np.ndarray,
    breaks: Sequence[float],
    *,
    higher_is_better: bool = True,
    zero_class: bool = False,
) -> list[str]:
    """Colour of each value: its class among ``breaks``; missing values get NO_DATA.

    Dark always means good access: for a measure where less is better (minutes to the
    nearest asset) the palette runs the other way. With ``zero_class`` zeros get the
    palette's first colour to themselves, and ``breaks`` class the other values.
    """
    zero, colours = _palette(len(breaks), higher_is_better=higher_is_better, zero_class=zero_class)
    inner = np.asarray(breaks[1:-1])
    out = []
    for v in values:
        if not np.isfinite(v):
            out.append(NO_DATA_COLOUR)
        elif zero_class and v == 0:
            out.append(zero)
        else:
            out.append(colours[int(np.searchsorted(inner, v, side="right"))])
    return out


def _palette(n_breaks: int, *, higher_is_better: bool, zero_class: bool) -> tuple[str, list[str]]:
    """The zeros' colour and each class's colour. The classes share out the palette (or
    all of it but the zeros' colour) so that 3 classes still run light to dark; without
    two edges there is one class, the darkest."""
    palette = COVERAGE_COLOURS if higher_is_better else COVERAGE_COLOURS[::-1]
    rest = palette[1:] if zero_class else palette
    if n_breaks < 2:
        return palette[0], [rest[-1]]
    at = np.round(np.linspace(0, len(rest) - 1, n_breaks - 1)).astype(int)
    return palette[0], [rest[k] for k in at]


def _fmt(value: float, value_format: str) -> str:
    return value_format.format(value)


def _is_gap(value: Any) -> bool:
    if value is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return bool(value)
    return bool(np.isfinite(number) and number > 0)


def coverage_map(
    cells: Any,
    value_column: str = "access",
    *,
    label: str = "Access",
    gap_column: str | None = None,
    bins: Sequence[float] | None = None,
    value_format: str = "{:.2f}",
    tooltip_columns: Sequence[str] = (),
    higher_is_better: bool = True,
    zero_class: bool = False,
    settings: MapSettings | None = None,
) -> folium.Map:
    """Choropleth of ``cells[value_column]`` over the cells' polygons.

    ``cells`` is a GeoDataFrame (any CRS; drawn in EPSG:4326). ``bins`` are class edges
    (lowest first); by default 5 quantile classes. ``gap_column`` marks gap units.
    ``tooltip_columns`` are shown beside the value when hovering a unit;
    ``higher_is_better=False`` (e.g. minutes to the nearest asset) keeps dark = good access.
    ``zero_class``: zeros (no access) are a class of their own, in the lightest colour, and
    the classes (``bins``, or 4 quantile classes) are of the values above zero: quantiles
    over all would put the people with a little access in with those with none.
    """
    for column in [value_column, *tooltip_columns, *([gap_column] if gap_column else [])]:
        if column not in cells.columns:
            raise InvalidInputError(
                f"`cells` has no column {column!r}; columns: {sorted(map(str, cells.columns))}",
                field="cells",
            )
    if cells.crs is not None and cells.crs.to_epsg() != 4326:
        cells = cells.to_crs(4326)
    values = cells[value_column].to_numpy(dtype=float, na_value=np.nan)
    zero_class = zero_class and bool((values == 0).any())
    if bins is not None:
        breaks = list(bins)
    elif zero_class:
        breaks = class_breaks(values[values != 0], len(COVERAGE_COLOURS) - 1)
    else:
        breaks = class_breaks(values)
    if any(b2 <= b1 for b1, b2 in zip(breaks, breaks[1:], strict=False)):
        raise InvalidInputError("`bins` must increase", field="bins")
    keep = [value_column, *dict.fromkeys(tooltip_columns)]
    frame = cells[[*keep, "geometry"]].copy()
    for column in keep:  # names from a planner's own population file: text, made inert
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = [inert(v) if isinstance(v, str) else v for v in frame[column]]
    frame[FILL_COLUMN] = class_colours(
        values, breaks, higher_is_better=higher_is_better, zero_class=zero_class
    )
    frame[value_column] = [None if not np.isfinite(v) else round(float(v), 6) for v in values]

    if len(frame):
        west, south, east, north = (float(x) for x in frame.total_bounds)
        centre = ((south + north) / 2, (west + east) / 2)
    else:
        west = south = east = north = 0.0
        centre = (52.8, -1.5)
    m = new_map(centre, zoom_start=11, settings=settings)
    add_map_css(m)

    if len(frame):  # folium refuses a tooltip over no features
        folium.GeoJson(
            frame,
            name=label,
            style_function=lambda f: {
                "fillColor": f["properties"][FILL_COLUMN],
                "fillOpacity": 0.7,
                "color": "#555555",
                "weight": 0.5,
            },
            highlight_function=lambda _f: {"weight": 2, "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(
                fields=keep, aliases=[label, *keep[1:]], localize=True, sticky=False
            ),
        ).add_to(m)

    n_gaps = 0
    if gap_column is not None:
        mask = [_is_gap(v) for v in cells[gap_column].tolist()]
        gaps = cells.loc[mask, [gap_column, "geometry"]]
        n_gaps = len(gaps)
        if n_gaps:
            folium.GeoJson(
                gaps,
                name=f"Gaps ({n_gaps})",
                style_function=lambda _f: {
                    "fill": False,
                    "color": GAP_COLOUR,
                    "weight": 3,
                    "dashArray": "6 4",
                },
                tooltip=folium.GeoJsonTooltip(fields=[gap_column], aliases=["Gap"]),
            ).add_to(m)

    items = _legend_items(
        breaks,
        value_format,
        has_missing=bool(np.isnan(values).any()),
        higher_is_better=higher_is_better,
        zero_class=zero_class,
    )
    if n_gaps:
        items.append(LegendItem(f"Gap ({n_gaps} units)", GAP_COLOUR, shape="outline"))
    Legend(label, items).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if len(frame):
        m.fit_bounds([[south, west], [north, east]])
    return m


def _legend_items(
    breaks: Sequence[float],
    value_format: str,
    *,
    has_missing: bool,
    higher_is_better: bool,
    zero_class: bool = False,
) -> list[LegendItem]:
    """A row per class, lowest first, in the colours ``class_colours`` gives; with
    ``zero_class``, first a row for the zeros alone."""
    zero, colours = _palette(len(breaks), higher_is_better=higher_is_better, zero_class=zero_class)
    items = []
    if zero_class:
        items.append(LegendItem(_fmt(0.0, value_format), zero, shape="square"))
    if len(breaks) >= 2:
        for i, colour in enumerate(colours):
            low, high = _fmt(breaks[i], value_format), _fmt(breaks[i + 1], value_format)
            items.append(LegendItem(f"{low} to {high}", colour, shape="square"))
    elif len(breaks) == 1:
        items.append(LegendItem(_fmt(breaks[0], value_format), colours[0], "square"))
    if has_missing:
        items.append(LegendItem("No data / none in reach", NO_DATA_COLOUR, shape="square"))
    return items
