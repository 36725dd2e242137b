"""One look for every map: category colours, marker CSS, legends and safe popup text.

Each top-level taxonomy category has one colour, used by every map and page, so a
practitioner learns "green is nature" once. Colours are dark enough for white text
(contrast >= 4.5:1, WCAG 2.2 AA) because result markers carry white numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import folium
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from markupsafe import escape

from geo_assets.taxonomy import Taxonomy, default_taxonomy

# Top-level category id -> colour (hex). Keys are the roots of data/taxonomy.json.
CATEGORY_COLOURS: dict[str, str] = {
    "social": "#1f5fa8",
    "hobbies": "#a04600",
    "sport": "#c62828",
    "arts": "#7b1fa2",
    "heritage": "#6d4c41",
    "nature": "#2e7d32",
    "learning": "#006064",
    "volunteering": "#ad1457",
    "faith": "#4527a0",
    "family": "#6b6300",
    "advice": "#455a64",
    "health": "#00796b",
    "food": "#8c5d00",
    "venues": "#263238",
}
# For a category added to the taxonomy before it gets a colour here.
FALLBACK_COLOUR = "#424242"
ORIGIN_COLOUR = "#111111"
# Reachable-area fill per travel mode; drawn translucent under the markers.
AREA_COLOURS: dict[str, str] = {
    "walk": "#1f5fa8",
    "wheelchair": "#1f5fa8",
    "cycle": "#2e7d32",
    "public_transport": "#7b3fa0",
    "car": "#a04600",
}
# Coverage choropleth: 5-class sequential (ColorBrewer YlGnBu), low access = light.
COVERAGE_COLOURS: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
GAP_COLOUR = "#d7191c"
NO_DATA_COLOUR = "#bdbdbd"


# What the ring round a marker means (the "ga-rough" class), in every map's legend.
ROUGH_LEGEND = "Ringed: shown at its postcode's or area's centre"

# Marker and legend CSS shared by all maps (added once per map by ``add_map_css``).
MAP_CSS = """
.ga-icon { background: none; border: none; }
.ga-pin {
  display: flex; align-items: center; justify-content: center;
  width: 28px; height: 28px; border-radius: 50%; box-sizing: border-box;
  border: 2px solid #fff; box-shadow: 0 1px 3px rgba(0,0,0,.6);
  color: #fff; font: bold 13px/1 system-ui, sans-serif;
}
.ga-dot {
  display: block; width: 16px; height: 16px; border-radius: 50%; box-sizing: border-box;
  border: 2px solid #fff; box-shadow: 0 1px 2px rgba(0,0,0,.6);
}
.ga-origin { background: #111; border-radius: 4px; width: 24px; height: 24px; font-size: 14px; }
.ga-rough { box-shadow: 0 0 0 3px #fff, 0 0 0 5px #111 !important; }
.ga-stale {
  border: 3px dashed #000 !important;
  background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.75) 0 3px,
    transparent 3px 6px) !important;
}
.ga-legend {
  background: #fff; color: #111; padding: 8px 10px; border-radius: 4px; max-width: 260px;
  box-shadow: 0 1px 4px rgba(0,0,0,.4); font: 13px/1.4 system-ui, sans-serif;
  max-height: 50vh; overflow-y: auto;
}
.ga-legend summary { font-weight: bold; cursor: pointer; }
.ga-legend ul { margin-top: 4px !important; }
.ga-legend ul { list-style: none; margin: 0; padding: 0; }
.ga-legend li { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.ga-swatch {
  display: inline-block; width: 14px; height: 14px; border-radius: 50%; flex: none;
  box-sizing: border-box; border: 1px solid #555;
}
.ga-swatch.ga-square { border-radius: 2px; }
.leaflet-popup-content .ga-popup { font: 14px/1.4 system-ui, sans-serif; }
.leaflet-popup-content .ga-popup h2 { font-size: 15px; font-weight: bold; margin: 0 0 4px; }
.leaflet-popup-content .ga-popup p { margin: 2px 0; }
.leaflet-popup-content .ga-popup ul { margin: 4px 0 0; padding-left: 18px; }
.leaflet-container a { color: #0b57b0; }
.ga-cluster {
  display: flex; align-items: center; justify-content: center; border-radius: 50%;
  border: 3px solid #fff; box-shadow: 0 1px 3px rgba(0,0,0,.6);
  color: #fff; font: bold 13px/1 system-ui, sans-serif;
}
.marker-cluster .ga-cluster { line-height: 1; }
"""


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def root_category(term_id: str, taxonomy: Taxonomy | None = None) -> str:
    """Top-level category of a term id (``nature.gardening`` -> ``nature``)."""
    return (taxonomy or default_taxonomy()).root_of(term_id)


def category_colour(term_id: str, taxonomy: Taxonomy | None = None) -> str:
    """The colour of a term's top-level category; any term of the tree works."""
    return CATEGORY_COLOURS.get(root_category(term_id, taxonomy), FALLBACK_COLOUR)


def category_label(root_id: str, taxonomy: Taxonomy | None = None) -> str:
    taxonomy = taxonomy or default_taxonomy()
    return taxonomy.get(root_id).name if root_id in taxonomy else root_id


# A "{" that opens a Jinja tag: "{{", "{%" or "{#".
_TEMPLATE_OPENING = re.compile(r"\{(?=[{%#])")


def inert(text: str) -> str:
    """Text that no Jinja template will take for a tag of its own.

    Branca compiles each part of a map's output as a Jinja template (and would render it
    again; ``maps.assets`` does not let it), so a listing's "{{ ... }}" would otherwise
    fail that compile (and the page) or run. A zero-width space after the "{" keeps the
    text as it reads.
    """
    return _TEMPLATE_OPENING.sub("{\u200b", text)


def html_text(value: object) -> str:
    """Escape text for HTML that Folium places inside a JavaScript template literal.

    Besides ``& < > " '`` this escapes the characters a template literal treats
    specially (backtick, ``$`` and backslash), so a listing's name can never run code;
    and it is ``inert`` to Jinja.
    """
    return inert(
        str(escape(str(value))).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
    )


def add_map_css(m: folium.Map) -> None:
    """Put the shared marker/legend CSS in the page head (once per map)."""
    cast(Figure, m.get_root()).header.add_child(
        Element(f"<style>{MAP_CSS}</style>"), name="ga_map_css"
    )


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a swatch (``shape`` dot, square or outline) and its label."""

    label: str
    colour: str
    shape: str = "dot"
    stale: bool = False
    rough: bool = False  # ringed: the point is only a postcode's or an area's centre

    def html(self) -> str:
        classes = "ga-swatch" + (" ga-square" if self.shape != "dot" else "")
        if self.stale:
            classes += " ga-stale"
        if self.rough:
            classes += " ga-rough"
        if self.shape == "outline":
            style = f"background: transparent; border: 3px solid {self.colour}"
        else:
            style = f"background: {self.colour}"
        return (
            f'<li><span class="{classes}" style="{style}" aria-hidden="true"></span>'
            f"{html_text(self.label)}</li>"
        )


class Legend(MacroElement):
    """A titled legend drawn as a Leaflet control (real HTML, so screen readers read it)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'ga-legend');
                div.setAttribute('role', 'region');
                div.setAttribute('aria-label', {{ this.title|tojson }});
                div.innerHTML = {{ this.inner_html|tojson }};
                // Small screens start with the legend folded, so it does not hide the map.
                if (window.innerWidth < 600) {
                    div.querySelector('details').removeAttribute('open');
                }
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, title: str, items: Sequence[LegendItem], *, position: str = "bottomright"
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.position = position
        self.items = list(items)
        rows = "".join(item.html() for item in self.items)
        self.inner_html = (
            f"<details open><summary>{html_text(title)}</summary><ul>{rows}</ul></details>"
        )


def category_legend_items(
    root_ids: Sequence[str], taxonomy: Taxonomy | None = None
) -> list[LegendItem]:
    """Legend rows for the given top-level categories, in taxonomy order."""
    taxonomy = taxonomy or default_taxonomy()
    wanted = set(root_ids)
    return [
        LegendItem(term.name, CATEGORY_COLOURS.get(term.id, FALLBACK_COLOUR))
        for term in taxonomy.roots()
        if term.id in wanted
    ]


def json_for_script(value: object) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>`` break-out), and
    ``inert`` to Jinja (JSON's own braces never open a tag: a key follows each "{")."""
    return inert(
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
