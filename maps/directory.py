"""The directory map: every published listing, clustered, one layer per top-level category.

Markers are made in the browser from one data array per category (the technique of
Folium's FastMarkerCluster) and go into one MarkerCluster through a sub-group per
category, so clusters merge across categories while the layer control still toggles
each. Folium's own per-marker elements cost about 3 ms each to render (6.5 s for the
2,000-listing sample); one FastMarkerCluster per category was tried for large maps and
piles a dozen overlapping cluster sets on every town. This way 10,000 listings render
in well under a second and read as one set of clusters.

Listings not confirmed for ``stale_after_days`` are drawn hatched with a dashed border.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import folium
from branca.element import MacroElement
from folium.plugins import FeatureGroupSubGroup, MarkerCluster
from folium.template import Template

from geo_assets.freshness import is_stale
from geo_assets.model import Asset, utcnow
from geo_assets.taxonomy import Taxonomy, default_taxonomy
from maps.assets import MapSettings, new_map
from maps.popups import LISTING_URL, STALE_NOTE, cost_text, rough_place_note, when_text
from maps.style import (
    CATEGORY_COLOURS,
    FALLBACK_COLOUR,
    ROUGH_LEGEND,
    Legend,
    LegendItem,
    add_map_css,
    category_legend_items,
    html_text,
    json_for_script,
)

# Where an empty directory map looks: the middle of England.
DEFAULT_CENTRE = (52.8, -1.5)
DOT_SIZE_PX = 16
# Cluster icons mix categories, so they get one neutral colour.
MIXED_CLUSTER_COLOUR = "#263238"


def _cluster_icon_js(colour: str) -> str:
    """A MarkerCluster ``iconCreateFunction``: a solid circle sized by the count."""
    return (
        "function (cluster) {"
        " var n = cluster.getChildCount();"
        " var size = n < 10 ? 30 : (n < 100 ? 36 : (n < 1000 ? 42 : 48));"
        " return L.divIcon({"
        f'  html: \'<span class="ga-cluster" style="background: {colour};'
        " width: ' + size + 'px; height: ' + size + 'px\">' + n + '</span>',"
        "  className: 'ga-icon marker-cluster', iconSize: L.point(size, size)"
        " });"
        "}"
    )


# A marker's title when its point is only a postcode's or an area's centre.
ROUGH_TITLE = " (shown at a postcode's or area's centre)"


def _layer_name(root_id: str, count: int, taxonomy: Taxonomy) -> str:
    """Layer-control label (HTML): colour swatch, category name and count."""
    colour = CATEGORY_COLOURS.get(root_id, FALLBACK_COLOUR)
    name = taxonomy.get(root_id).name if root_id in taxonomy else root_id
    return (
        f'<span class="ga-swatch" style="background: {colour}" aria-hidden="true"></span> '
        f"{html_text(name)} ({count})"
    )


def _marker_callback(colour: str, asset_url: str) -> str:
    """A JavaScript function expression making a marker from a data row
    ``[lat, lon, name, id, flags, popup lines...]``, flags 1 for stale and 2 for a
    point that is only a postcode's or an area's centre.

    The popup is built on first opening, its text set with ``textContent`` (never HTML).
    """
    prefix, _, suffix = asset_url.partition("{id}")
    return f"""
    function (row) {{
        var stale = (row[4] & 1) === 1, rough = (row[4] & 2) === 2;
        var icon = L.divIcon({{
            html: '<span class="ga-dot' + (stale ? ' ga-stale' : '') +
                  (rough ? ' ga-rough' : '') +
                  '" style="background-color: {colour}" aria-hidden="true"></span>',
            className: 'ga-icon', iconSize: [{DOT_SIZE_PX}, {DOT_SIZE_PX}],
            iconAnchor: [{DOT_SIZE_PX // 2}, {DOT_SIZE_PX // 2}]
        }});
        var marker = L.marker(new L.LatLng(row[0], row[1]), {{
            icon: icon, title: row[2] + (stale ? ' (not confirmed recently)' : '') +
                (rough ? {json_for_script(ROUGH_TITLE)} : '')
        }});
        marker.bindPopup(function () {{
            var box = document.createElement('div');
            box.className = 'ga-popup';
            var h = document.createElement('h2');
            var a = document.createElement('a');
            a.href = {json_for_script(prefix)} + encodeURIComponent(row[3]) +
                {json_for_script(suffix)};
            a.textContent = row[2];
            h.appendChild(a);
            box.appendChild(h);
            for (var i = 5; i < row.length; i++) {{
                if (!row[i]) {{ continue; }}
                var p = document.createElement('p');
                p.textContent = row[i];
                box.appendChild(p);
            }}
            if (stale) {{
                var s = document.createElement('p');
                var b = document.createElement('strong');
                b.textContent = {json_for_script(STALE_NOTE)};
                s.appendChild(b);
                box.appendChild(s);
            }}
            return box;
        }}, {{maxWidth: 300}});
        return marker;
    }}
    """


def _row(asset: Asset, stale: bool) -> list[object]:
    place = asset.location.place or asset.location.address
    kind = asset.kind.capitalize() + (f" in {place}" if place else "")
    note = rough_place_note(asset.location)
    return [
        asset.location.lat,
        asset.location.lon,
        asset.name,
        asset.id,
        int(stale) | (2 if asset.location.approximate else 0),
        kind,
        when_text(asset),
        cost_text(asset.cost),
        note[:1].upper() + note[1:],
    ]


class BrowserMarkers(MacroElement):
    """Markers made in the browser from data rows and added to a (sub)group in one batch.

    The group is taken off the map while it fills, so MarkerCluster receives the
    markers through its fast bulk ``addLayers`` when the group goes back on.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var callback = {{ this.callback }};
            var rows = {{ this.rows_json }};
            var group = {{ this._parent.get_name() }};
            var map = {{ this.map_name }};
            var shown = map.hasLayer(group);
            if (shown) { map.removeLayer(group); }
            for (var i = 0; i < rows.length; i++) { group.addLayer(callback(rows[i])); }
            if (shown) { map.addLayer(group); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[object]], callback: str, map_name: str) -> None:
        super().__init__()
        self._name = "BrowserMarkers"
        self.rows_json = json_for_script(rows)
        self.callback = callback
        self.map_name = map_name


def directory_map(
    assets: Iterable[Asset],
    *,
    now: datetime | None = None,
    settings: MapSettings | None = None,
    asset_url: str = LISTING_URL,
    stale_after_days: int | None = None,
    taxonomy: Taxonomy | None = None,
) -> folium.Map:
    """Clustered map of the published ``assets`` (others are skipped), a layer per category.

    ``now`` (UTC) and ``stale_after_days`` (default: the setting) decide staleness;
    ``asset_url`` is the listing link, ``{id}`` standing for the asset id.
    """
    taxonomy = taxonomy or default_taxonomy()
    now = now or utcnow()
    by_root: dict[str, list[tuple[Asset, bool]]] = {}
    for asset in assets:
        if asset.status != "published":
            continue
        root = taxonomy.root_of(asset.categories[0])
        by_root.setdefault(root, []).append((asset, is_stale(asset, now, stale_after_days)))
    total = sum(len(v) for v in by_root.values())
    points = [(a.location.lat, a.location.lon) for rows in by_root.values() for a, _ in rows]
    centre = (
        (sum(p[0] for p in points) / total, sum(p[1] for p in points) / total)
        if total
        else DEFAULT_CENTRE
    )
    m = new_map(centre, zoom_start=11 if total else 6, settings=settings)
    add_map_css(m)
    order = [t.id for t in taxonomy.roots() if t.id in by_root]

    if total:
        parent = MarkerCluster(
            name="All listings",
            control=False,
            icon_create_function=_cluster_icon_js(MIXED_CLUSTER_COLOUR),
            chunked_loading=True,
        ).add_to(m)
        for root in order:
            colour = CATEGORY_COLOURS.get(root, FALLBACK_COLOUR)
            group = FeatureGroupSubGroup(
                parent, name=_layer_name(root, len(by_root[root]), taxonomy)
            ).add_to(m)
            rows = [_row(a, stale) for a, stale in by_root[root]]
            group.add_child(BrowserMarkers(rows, _marker_callback(colour, asset_url), m.get_name()))

    if order:
        folium.LayerControl(collapsed=True).add_to(m)
    items = category_legend_items(order, taxonomy)
    if any(stale for rows in by_root.values() for _, stale in rows):
        items.append(LegendItem("Not confirmed recently (hatched)", "#ffffff", stale=True))
    if any(a.location.approximate for rows in by_root.values() for a, _ in rows):
        items.append(LegendItem(ROUGH_LEGEND, "#ffffff", rough=True))
    Legend(f"{total:,} listing{'' if total == 1 else 's'}", items).add_to(m)
    if total:
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    return m
