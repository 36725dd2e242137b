"""Web pages (Jinja2 templates around Folium maps) and the static map files under /static/.

``install(app)`` mounts the static cache (gzip-compressed) and this router; the map
settings (``GEO_ASSETS_MAP_ASSETS``, ``GEO_ASSETS_TILES``, ``GEO_ASSETS_STATIC_DIR``)
are read once there and kept on ``app.state.map_settings``. When local map files are
missing, map pages answer 503 with the command that fetches them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, params
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from api.deps import StoreDep
from api.web import PageUser, install_page_errors, map_settings_of, render
from geo_assets.matching import match
from geo_assets.model import Asset, Profile
from geo_assets.store import AssetFilters, Store
from geo_assets.store.base import iter_assets, latest_change, unchanged_since
from geo_assets.travel import MODE_WORDS
from maps.assets import (
    API_DOCS_FILES,
    STATIC_URL,
    MapAssetsError,
    MapParts,
    MapSettings,
    render_parts,
    require_assets,
)
from maps.directory import directory_map
from maps.results import results_map

# The results demo: a person in central Bradford (the sample data's area).
DEMO_PROFILE: dict[str, Any] = {
    "origin": {"lat": 53.7945, "lon": -1.7520},
    "interests": ["gardening", "singing", "walking groups"],
    "travel": [
        {"mode": "walk", "max_minutes": 20},
        {"mode": "public_transport", "max_minutes": 30},
    ],
}
DEMO_LIMIT = 10
PUBLISHED = AssetFilters(statuses=["published"])
# Seconds a rendered directory map is reused at most (see DirectoryMapCache).
DIRECTORY_CACHE_TTL_S = 300.0

router = APIRouter(include_in_schema=False, tags=["pages"])

# The tab icon: a map pin in the pages' link blue. Served here so that no browser
# asks for a file that is not there (a 404 in every page's console).
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<path fill="#0b57b0" d="M16 1C9.4 1 4 6.3 4 12.9 4 21.8 16 31 16 31s12-9.2 12-18.1'
    'C28 6.3 22.6 1 16 1z"/><circle cx="16" cy="13" r="5" fill="#fff"/></svg>'
)


def install(
    app: FastAPI,
    map_settings: MapSettings | None = None,
    *,
    dependencies: Sequence[params.Depends] = (),
) -> None:
    """Mount ``/static`` and the page routes (``dependencies`` on each); one call in
    ``create_app``."""
    settings = map_settings or MapSettings()
    app.state.map_settings = settings
    app.state.directory_map_cache = DirectoryMapCache()
    static = StaticFiles(directory=settings.static_dir, check_dir=False)
    app.mount(STATIC_URL, GZipMiddleware(static, minimum_size=1024), name="static")
    # Imported here: those modules import helpers from this one.
    from api.routers import (
        admin_pages,
        listing_pages,
        plan_pages,
        planner_pages,
        portal_organisation,
        portal_pages,
        search_pages,
        signin,
    )

    app.include_router(router, dependencies=dependencies)
    for pages in (
        signin,
        listing_pages,
        search_pages,
        plan_pages,
        portal_organisation,
        portal_pages,
        admin_pages,
        planner_pages,
    ):
        app.include_router(pages.router, dependencies=dependencies)
    app.add_exception_handler(MapAssetsError, _assets_missing)
    install_page_errors(app)


async def _assets_missing(request: Request, exc: Exception) -> Response:
    return render(
        request, "error.html", {"title": "Map files missing", "message": str(exc)}, status_code=503
    )


def published_assets(store: Store) -> list[Asset]:
    """Every published asset, by name (paged through the store)."""
    return list(iter_assets(store, PUBLISHED))


@dataclass(frozen=True)
class _Rendered:
    settings: MapSettings
    count: int
    latest: datetime | None
    made_at_s: float
    parts: MapParts


class DirectoryMapCache:
    """The rendered directory map, reused while the published listings look unchanged.

    Reading 10,000 listings back from the store costs about two seconds, most of it
    building the models, so the map is rebuilt only when the number of published
    listings changes, one was modified after the newest one drawn, or ``ttl_s`` passed
    (staleness marks depend on the date; and an edit within the same second as the
    newest drawn change, which ``modified_after`` cannot tell apart, shows by then).
    """

    def __init__(self, ttl_s: float = DIRECTORY_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entry: _Rendered | None = None
        self._lock = threading.Lock()

    def _fresh(self, store: Store, settings: MapSettings) -> _Rendered | None:
        entry = self._entry
        if entry is None or entry.settings != settings:
            return None
        if time.monotonic() - entry.made_at_s > self.ttl_s:
            return None
        if not unchanged_since(store, PUBLISHED, entry.count, entry.latest):
            return None
        return entry

    def get(self, store: Store, settings: MapSettings) -> tuple[MapParts, int]:
        """The map's parts and the number of listings on it."""
        entry = self._fresh(store, settings)
        if entry is None:
            with self._lock:  # one rebuild at a time; others then reuse it
                entry = self._fresh(store, settings)
                if entry is None:
                    started = time.monotonic()
                    assets = published_assets(store)
                    parts = render_parts(directory_map(assets, settings=settings), settings)
                    latest = latest_change(assets)
                    entry = _Rendered(settings, len(assets), latest, started, parts)
                    self._entry = entry
        return entry.parts, entry.count


@router.get("/favicon.svg")
@router.get("/favicon.ico")  # what browsers ask for when a page names no icon (JSON, say)
def favicon() -> Response:
    return Response(
        FAVICON_SVG,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """The API's Swagger UI, its files served from our own /static like the maps' (the
    page FastAPI makes loads them from a CDN, out of reach of an offline clinic)."""
    settings = map_settings_of(request)
    openapi_url, title = request.app.openapi_url, f"{request.app.title} API"
    if settings.map_assets != "local":
        return get_swagger_ui_html(openapi_url=openapi_url, title=title)
    require_assets(settings)
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"{STATIC_URL}/{API_DOCS_FILES['js']}",
        swagger_css_url=f"{STATIC_URL}/{API_DOCS_FILES['css']}",
        swagger_favicon_url="/favicon.svg",
    )


@router.get("/map", response_class=HTMLResponse)
def directory_page(request: Request, store: StoreDep, user: PageUser) -> Response:
    """All published listings on a clustered map, a layer per category."""
    settings = map_settings_of(request)
    require_assets(settings)
    cache: DirectoryMapCache = request.app.state.directory_map_cache
    parts, count = cache.get(store, settings)
    return render(request, "map.html", {"map": parts, "title": "Directory map", "count": count})


@router.get("/map/results", response_class=HTMLResponse)
def results_demo_page(request: Request, store: StoreDep, user: PageUser) -> Response:
    """A worked example of the results map for a fixed, made-up person."""
    settings = map_settings_of(request)
    require_assets(settings)
    profile = Profile.model_validate(DEMO_PROFILE)
    matches = match(store, profile, limit=DEMO_LIMIT)
    origin = (profile.origin.lat, profile.origin.lon)
    parts = render_parts(results_map(origin, profile.travel, matches, settings=settings), settings)
    context = {
        "map": parts,
        "title": "Results map (demo)",
        "matches": matches,
        "profile": profile,
        "mode_words": MODE_WORDS,
    }
    return render(request, "results.html", context)
