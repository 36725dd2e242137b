"""Serve Folium's browser files ourselves, so a map works with no internet.

Folium points every map at public CDNs (its ``default_js`` / ``default_css`` lists on
the map and on each plugin). ``localize`` rewrites those links to our own copies,
fetched at set-up by ``scripts/ensure_assets.sh`` (npm) into the static cache and
served by the API under ``/static/``. ``GEO_ASSETS_MAP_ASSETS=cdn`` keeps Folium's
public links instead. The basemap is a setting too: ``GEO_ASSETS_TILES`` is a tile URL
template (OpenStreetMap by default) or ``none`` for no basemap (offline use).

Folium 0.20 pitfalls handled here: its popup code needs jQuery, so every default
entry is served, not Leaflet alone; and with no tile layer MarkerCluster fails with
"Map has no maxZoom specified" unless the map itself gets ``maxZoom``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import folium
from branca.element import Element, Figure
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATIC_DIR = REPO_ROOT / ".cache" / "static"
STATIC_URL = "/static"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
# OpenStreetMap's standard tiles stop at zoom 19; a map without tiles needs its own limit.
MAX_ZOOM = 19

# Folium resource name -> file under the static cache (as laid out by ensure_assets.sh).
# None: deliberately not served. Folium adds Bootstrap 3 glyphicons and its own
# rotated-icon CSS to every map; our maps use neither glyphicon icons nor rotated icons,
# and neither is on npm, so they are dropped instead of reaching the internet.
LOCAL_FILES: dict[str, str | None] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "glyphicons_css": None,
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_rotate_css": None,
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "featuregroupsubgroupjs": "leaflet.featuregroup.subgroup/dist/leaflet.featuregroup.subgroup.js",
}
# Swagger UI for the API docs page (/docs), which FastAPI would load from a CDN.
API_DOCS_FILES: dict[str, str] = {
    "js": "swagger-ui-dist/swagger-ui-bundle.js",
    "css": "swagger-ui-dist/swagger-ui.css",
}
# Files the browser tests load (not part of any map).
TEST_FILES: dict[str, str] = {"axe": "axe-core/axe.min.js"}

# Page-level bits of Folium's standalone document that would fight our own layout: a
# viewport that forbids zooming (WCAG 1.4.4), a second charset and a full-window body.
_PAGE_ONLY = (
    re.compile(r"<meta\s+http-equiv=\"content-type\"[^>]*>", re.S | re.I),
    re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.S),
    re.compile(r"<style>\s*html,\s*body\s*\{[^}]*\}\s*</style>", re.S),
    re.compile(r"<style>\s*#map\s*\{[^}]*\}\s*</style>", re.S),
)
_EXTERNAL_LINK = re.compile(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)["']""", re.I)


class MapAssetsError(RuntimeError):
    """The local map files are missing, or a map needs a file we have no local copy of."""


class MapSettings(BaseSettings):
    """Map settings from the environment (``GEO_ASSETS_`` prefix); tests pass explicit ones."""

    model_config = SettingsConfigDict(env_prefix="GEO_ASSETS_", extra="ignore")

    map_assets: Literal["local", "cdn"] = Field(
        default="local", description="serve Leaflet & co. ourselves (local) or from public CDNs"
    )
    tiles: str = Field(
        default=OSM_TILES, description="basemap tile URL template ({z}/{x}/{y}), or 'none'"
    )
    tiles_attribution: str = Field(default=OSM_ATTRIBUTION, description="HTML credit line")
    static_dir: Path = Field(
        default=DEFAULT_STATIC_DIR, description="where scripts/ensure_assets.sh put the files"
    )

    @property
    def has_tiles(self) -> bool:
        return self.tiles.strip().lower() not in ("", "none", "off")


def missing_files(static_dir: Path | str) -> list[str]:
    """Relative paths of the local files the pages need (maps, API docs) that are not in
    ``static_dir``."""
    root = Path(static_dir)
    wanted = [p for p in LOCAL_FILES.values() if p is not None] + list(API_DOCS_FILES.values())
    return [p for p in wanted if not (root / p).is_file()]


def require_assets(settings: MapSettings) -> None:
    """Fail with the fix in the message when local mode lacks its files."""
    if settings.map_assets != "local":
        return
    missing = missing_files(settings.static_dir)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise MapAssetsError(
            f"map assets are missing from {settings.static_dir} ({shown}); run "
            "`bash scripts/ensure_assets.sh` (needs npm), point GEO_ASSETS_STATIC_DIR at a "
            "folder it filled, or set GEO_ASSETS_MAP_ASSETS=cdn to load them from public CDNs"
        )


def new_map(
    location: tuple[float, float],
    *,
    zoom_start: int = 12,
    settings: MapSettings | None = None,
    **kwargs: Any,
) -> folium.Map:
    """A ``folium.Map`` centred on ``location`` (lat, lon) with the configured basemap.

    The map always gets an explicit ``maxZoom``, which MarkerCluster needs when there
    is no tile layer to supply one.
    """
    settings = settings or MapSettings()
    if settings.has_tiles:
        m = folium.Map(
            location=list(location),
            zoom_start=zoom_start,
            tiles=settings.tiles,
            attr=settings.tiles_attribution,
            max_zoom=MAX_ZOOM,
            **kwargs,
        )
    else:
        m = folium.Map(location=list(location), zoom_start=zoom_start, tiles=None, **kwargs)
    m.options["max_zoom"] = MAX_ZOOM
    return m


def _elements(root: Element) -> Iterator[Element]:
    stack = [root]
    while stack:
        element = stack.pop()
        yield element
        stack.extend(element._children.values())


def cdn_origins() -> list[str]:
    """The hosts of Folium's own public links (``GEO_ASSETS_MAP_ASSETS=cdn``), for the
    pages' Content Security Policy: read from Folium, never written down here."""
    from folium.plugins import FeatureGroupSubGroup, MarkerCluster

    urls = [
        url
        for element in (folium.Map, MarkerCluster, FeatureGroupSubGroup)
        for attr in ("default_js", "default_css")
        for _, url in getattr(element, attr, [])
    ]
    return sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.netloc})


def localize(m: folium.Map, settings: MapSettings | None = None) -> folium.Map:
    """Point every JS/CSS link of ``m`` and its plugins at ``/static/`` (local mode).

    Call after the map is complete (plugins added). The lists are replaced on each
    element, never edited in place: Folium's are class attributes shared by all maps.
    Raises ``MapAssetsError`` for a resource with no local copy, naming it.
    """
    settings = settings or MapSettings()
    if settings.map_assets != "local":
        return m
    for element in _elements(m.get_root()):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            setattr(element, attr, [_local_link(name, url) for name, url in links])
            setattr(element, attr, [pair for pair in getattr(element, attr) if pair[1]])
    return m


def _local_link(name: str, url: str) -> tuple[str, str | None]:
    if name not in LOCAL_FILES:
        raise MapAssetsError(
            f"no local copy of the map resource {name!r} ({url}); add its npm package to "
            "maps/static-src/package.json and its file to LOCAL_FILES in maps/assets.py, "
            "or set GEO_ASSETS_MAP_ASSETS=cdn"
        )
    path = LOCAL_FILES[name]
    return (name, None if path is None else f"{STATIC_URL}/{path}")


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for a page template: head links, the map div, its script."""

    header: str
    html: str
    script: str


def render_parts(m: folium.Map, settings: MapSettings | None = None) -> MapParts:
    """Render ``m`` for embedding in our own page (Jinja2 ``|safe`` each part).

    The page keeps its own viewport and layout: Folium's full-window styles and its
    zoom-blocking viewport tag are left out; the map fills its container element.

    In local mode the map must then load nothing from another host: a link Folium
    adds outside ``default_js``/``default_css`` raises ``MapAssetsError``.
    """
    settings = settings or MapSettings()
    header, html, script = _rendered_sections(m, settings)
    for pattern in _PAGE_ONLY:
        header = pattern.sub("", header)
    parts = MapParts(header=header, html=html, script=script)
    if settings.map_assets == "local":
        found = _EXTERNAL_LINK.findall(parts.header + parts.html)
        if found:
            raise MapAssetsError(f"the map still links to other hosts: {sorted(set(found))}")
    return parts


def render_page(m: folium.Map, settings: MapSettings | None = None) -> str:
    """The whole map as one standalone HTML document (local links when configured), laid
    out as branca's own ``Figure`` template lays it out."""
    header, html, script = _rendered_sections(m, settings or MapSettings())
    return (
        f"<!DOCTYPE html>\n<html>\n<head>\n    {header}\n</head>\n"
        f"<body>\n    {html}\n</body>\n<script>\n    {script}\n</script>\n</html>"
    )


def _rendered_sections(m: folium.Map, settings: MapSettings) -> tuple[str, str, str]:
    """The map's head, body and script text, each part's template rendered once.

    Branca renders twice: each part renders its own template (listing text goes in as
    data, escaped for HTML or JavaScript), hands the *result* to the page's head, body
    or script as a new ``Element``, and ``Figure.render`` then compiles and renders that
    text again as a Jinja template, unsandboxed. Text a listing's organisation wrote,
    "{{ ... }}", would then run on the server. Here each part renders once; the text it
    handed on is taken as it is; only elements with templates of their own (the script
    and style links) are rendered, with their own data.
    """
    localize(m, settings)
    root = cast(Figure, m.get_root())
    for child in root._children.values():  # what Figure.render does before its template
        child.render()
    return _section_text(root.header), _section_text(root.html), _section_text(root.script)


def _section_text(section: Element) -> str:
    """A page section's text, laid out as branca's default ``Element`` template lays out
    its children."""
    texts = []
    for child in section._children.values():
        if type(child) is Element and child._template_str is not None:
            text = child._template_str  # already rendered by the part that made it
            texts.append(text.removesuffix("\n"))  # as Jinja drops one trailing newline
        else:
            texts.append(child.render())
    return "".join(f"\n    {text}" for text in texts)
