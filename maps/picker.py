"""A map to pick a point on: a click fills a form's latitude and longitude fields.

Used where a person or a listing is placed by hand (the practitioner's search, the
organisation portal). The fields stay the source of truth: typing in them, or a
geocoder filling them, moves the pin too, so the form works without the map (keyboard
users, screen readers) and the map only helps.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement
from jinja2 import Template

from maps.assets import MapSettings, new_map
from maps.style import ORIGIN_COLOUR, add_map_css

PIN_SIZE_PX = 28
DEFAULT_ZOOM = 13


class PointPicker(MacroElement):
    """Binds clicks on the parent map to the inputs ``lat_id`` and ``lon_id``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var lat = document.getElementById({{ this.lat_id|tojson }});
            var lon = document.getElementById({{ this.lon_id|tojson }});
            if (!lat || !lon) { return; }
            var icon = L.divIcon({
                className: 'ga-icon',
                html: '<span class="ga-pin ga-origin" style="background: {{ this.colour }}" '
                    + 'aria-hidden="true">&#8962;</span>',
                iconSize: [{{ this.size }}, {{ this.size }}],
                iconAnchor: [{{ this.size // 2 }}, {{ this.size // 2 }}]
            });
            var pin = null;
            function place(la, lo, pan) {
                if (pin === null) {
                    pin = L.marker([la, lo], {icon: icon, title: {{ this.title|tojson }},
                                              keyboard: false}).addTo(map);
                } else {
                    pin.setLatLng([la, lo]);
                }
                if (pan) { map.panTo([la, lo]); }
            }
            function fromFields() {
                var la = parseFloat(lat.value), lo = parseFloat(lon.value);
                if (isFinite(la) && isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180) {
                    place(la, lo, true);
                }
            }
            map.on('click', function (e) {
                var p = e.latlng.wrap();
                lat.value = p.lat.toFixed(6);
                lon.value = p.lng.toFixed(6);
                place(p.lat, p.lng, false);
                lat.dispatchEvent(new CustomEvent('ga:picked', {bubbles: true}));
            });
            // A map inside a closed <details> has no size until it opens.
            for (var el = map.getContainer().parentElement; el; el = el.parentElement) {
                if (el.tagName === 'DETAILS') {
                    el.addEventListener('toggle', function () {
                        map.invalidateSize();
                        fromFields();
                    });
                }
            }
            lat.addEventListener('change', fromFields);
            lon.addEventListener('change', fromFields);
            fromFields();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, lat_id: str, lon_id: str, *, title: str = "Chosen point") -> None:
        super().__init__()
        self._name = "PointPicker"
        self.lat_id = lat_id
        self.lon_id = lon_id
        self.title = title
        self.colour = ORIGIN_COLOUR
        self.size = PIN_SIZE_PX


def picker_map(
    centre: tuple[float, float],
    *,
    lat_id: str = "lat",
    lon_id: str = "lon",
    title: str = "Chosen point",
    zoom_start: int = DEFAULT_ZOOM,
    settings: MapSettings | None = None,
) -> folium.Map:
    """A ``folium.Map`` centred on ``centre`` where a click sets the two inputs."""
    m = new_map(centre, zoom_start=zoom_start, settings=settings)
    add_map_css(m)
    PointPicker(lat_id, lon_id, title=title).add_to(m)
    return m
