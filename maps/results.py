"""The results map: where the person starts, how far they can go, and the ranked matches.

The reachable area is a disc for straight-line travel (radius from ``reach_m``) and an
isochrone polygon for the street-network model (``NetworkTravel.isochrone``). Markers
carry the result's rank and the colour of its top-level category.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import folium
import shapely

from geo_assets.matching import Match
from geo_assets.model import TravelOption
from geo_assets.network import NetworkTravel
from geo_assets.taxonomy import Taxonomy, default_taxonomy
from geo_assets.travel import MODE_WORDS, StraightLineTravel, TravelModel
from maps.assets import MapSettings, new_map
from maps.popups import LISTING_URL, result_popup
from maps.style import (
    AREA_COLOURS,
    FALLBACK_COLOUR,
    ORIGIN_COLOUR,
    ROUGH_LEGEND,
    Legend,
    LegendItem,
    add_map_css,
    category_colour,
    category_legend_items,
    inert,
    root_category,
)

Limit = tuple[str, float]
PIN_SIZE_PX = 28
# Metres per degree of latitude (mean Earth radius), for map bounds only.
M_PER_DEG = 111_195.0


def _limits(limits: Sequence[Limit] | Sequence[TravelOption]) -> list[Limit]:
    out: list[Limit] = []
    for item in limits:
        if isinstance(item, TravelOption):
            out.append((item.mode, float(item.max_minutes)))
        else:
            mode, minutes = item
            out.append((mode, float(minutes)))
    return out


def reachable_area(
    travel: TravelModel, origin: tuple[float, float], mode: str, minutes: float
) -> shapely.Polygon | float:
    """An isochrone polygon (lon/lat) where the model routes on streets for ``mode``;
    otherwise the straight-line reach radius in metres."""
    if isinstance(travel, NetworkTravel) and mode in travel.graphs:
        return travel.isochrone(origin, mode, minutes)
    return travel.reach_m(mode, minutes)


def _area_label(mode: str, minutes: float) -> str:
    return f"Reachable within {minutes:.0f} min {MODE_WORDS.get(mode, mode)}"


def _size_m2(area: shapely.Polygon | float, lat: float) -> float:
    if isinstance(area, float):
        return math.pi * area * area
    return area.area * M_PER_DEG**2 * math.cos(math.radians(lat))


def _add_areas(
    group: folium.FeatureGroup,
    travel: TravelModel,
    origin: tuple[float, float],
    limits: list[Limit],
) -> list[tuple[float, float, float, float]]:
    """Draw one area per mode, largest first; return their (south, west, north, east)."""
    bounds = []
    drawn = [
        (mode, minutes, reachable_area(travel, origin, mode, minutes)) for mode, minutes in limits
    ]
    drawn.sort(key=lambda d: -_size_m2(d[2], origin[0]))
    for mode, minutes, area in drawn:
        colour = AREA_COLOURS.get(mode, FALLBACK_COLOUR)
        style: dict[str, Any] = {
            "color": colour,
            "weight": 2,
            "fillColor": colour,
            "fillOpacity": 0.08,
        }
        label = _area_label(mode, minutes)
        if isinstance(area, float):
            folium.Circle(location=list(origin), radius=area, tooltip=label, **style).add_to(group)
            dlat = area / M_PER_DEG
            dlon = dlat / max(0.01, math.cos(math.radians(origin[0])))
            bounds.append((origin[0] - dlat, origin[1] - dlon, origin[0] + dlat, origin[1] + dlon))
        else:
            folium.GeoJson(
                shapely.geometry.mapping(area),
                style_function=lambda _f, s=style: s,
                tooltip=label,
            ).add_to(group)
            west, south, east, north = area.bounds
            bounds.append((south, west, north, east))
    return bounds


def _pin(text: str, colour: str, *, stale: bool = False, extra: str = "") -> folium.DivIcon:
    classes = "ga-pin" + (" ga-stale-pin" if stale else "") + (f" {extra}" if extra else "")
    border = "border: 3px dashed #000;" if stale else ""
    return folium.DivIcon(
        html=f'<span class="{classes}" style="background: {colour};{border}" '
        f'aria-hidden="true">{text}</span>',
        icon_size=(PIN_SIZE_PX, PIN_SIZE_PX),
        icon_anchor=(PIN_SIZE_PX // 2, PIN_SIZE_PX // 2),
        popup_anchor=(0, -PIN_SIZE_PX // 2),
        class_name="ga-icon",
    )


def results_map(
    origin: tuple[float, float],
    limits: Sequence[Limit] | Sequence[TravelOption],
    matches: Sequence[Match],
    *,
    travel: TravelModel | None = None,
    settings: MapSettings | None = None,
    asset_url: str = LISTING_URL,
    taxonomy: Taxonomy | None = None,
) -> folium.Map:
    """Map of ranked ``matches`` around ``origin`` (lat, lon, degrees WGS84).

    ``limits`` are the person's (mode, max minutes) pairs, or their ``TravelOption``s;
    ``travel`` is the model used for matching (straight-line by default), which decides
    whether the reachable area is a disc or an isochrone. Markers are numbered in the
    order given. ``asset_url`` is the listing link, with ``{id}`` for the asset id.
    """
    taxonomy = taxonomy or default_taxonomy()
    travel = travel or StraightLineTravel()
    pairs = _limits(limits)
    m = new_map(origin, zoom_start=14, settings=settings)
    add_map_css(m)

    areas = folium.FeatureGroup(name="Reachable area")
    areas.add_to(m)
    bounds = _add_areas(areas, travel, origin, pairs)

    folium.Marker(
        location=list(origin),
        icon=_pin("&#8962;", ORIGIN_COLOUR, extra="ga-origin"),
        title="Starting point",
        tooltip="Starting point",
        z_index_offset=1000,
    ).add_to(m)

    results = folium.FeatureGroup(name="Results")
    results.add_to(m)
    for rank, match in enumerate(matches, start=1):
        asset = match.asset
        colour = category_colour(asset.categories[0], taxonomy)
        rough = asset.location.approximate
        title = f"{rank}. {asset.name}" + (" (not confirmed recently)" if match.stale else "")
        if rough:
            title += f" (shown at its {asset.location.precision}'s centre)"
        folium.Marker(
            location=[asset.location.lat, asset.location.lon],
            icon=_pin(str(rank), colour, stale=match.stale, extra="ga-rough" if rough else ""),
            title=inert(title),
            popup=folium.Popup(result_popup(match, rank, asset_url), max_width=320),
            z_index_offset=len(matches) - rank,
        ).add_to(results)
        lat, lon = asset.location.lat, asset.location.lon
        bounds.append((lat, lon, lat, lon))

    roots = [root_category(mt.asset.categories[0], taxonomy) for mt in matches]
    items = [LegendItem("Starting point", ORIGIN_COLOUR, shape="square")]
    items += [
        LegendItem(_area_label(mode, minutes), AREA_COLOURS.get(mode, FALLBACK_COLOUR), "outline")
        for mode, minutes in pairs
    ]
    items += category_legend_items(roots, taxonomy)
    if any(mt.stale for mt in matches):
        items.append(LegendItem("Dashed outline: not confirmed recently", "#ffffff", stale=True))
    if any(mt.asset.location.approximate for mt in matches):
        items.append(LegendItem(ROUGH_LEGEND, "#ffffff", rough=True))
    Legend("Results", items).add_to(m)

    if bounds:
        south = min(b[0] for b in bounds)
        west = min(b[1] for b in bounds)
        north = max(b[2] for b in bounds)
        east = max(b[3] for b in bounds)
        m.fit_bounds([[south, west], [north, east]])
    return m
