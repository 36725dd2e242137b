"""The FastAPI application factory.

``create_app(settings)`` builds a fresh app; the store is opened in the app's
lifespan, kept on ``app.state.store`` and closed on shutdown. The embedded SQLite
store is upgraded at startup so a laptop needs no separate step; a PostGIS
schema is only changed by ``geo-assets db upgrade``. While the app runs, saved plans
past their retention period are deleted (``api.retention``). ``app.state.travel`` is the
travel model every page and route uses: the street network of ``settings.network_file``
(loaded at start-up), else straight-line estimates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.deps import refuse_nul_parameters
from api.errors import install_error_handlers
from api.limits import install_limits
from api.retention import purge_plans_periodically
from api.routers import (
    assets,
    coverage,
    geocode,
    health,
    held_changes,
    hsds,
    match,
    organisations,
    pages,
    taxonomy,
)
from api.security_headers import SecurityHeaders, tile_origin
from geo_assets import __version__
from geo_assets.clock import set_time_zone
from geo_assets.coverage.service import DemandSource
from geo_assets.errors import GeoAssetsError
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.travel import StraightLineTravel, TravelModel
from maps.assets import cdn_origins

DESCRIPTION = (
    "Find the community groups, clubs, venues and activities a person can reach. "
    "Errors are RFC 9457 problem details; coordinates are WGS84 degrees."
)


def _open(settings: Settings) -> Store:
    store = open_store(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout_s=settings.database_timeout_s,
    )
    if settings.database_url.startswith("sqlite:"):
        try:
            store.upgrade()
        except BaseException:
            store.close()
            raise
    return store


def _travel(settings: Settings) -> TravelModel:
    """Street-network travel when the deployment names an extract, else straight lines.
    An extract that cannot be read stops the start, naming the setting."""
    if settings.network_file is None:
        return StraightLineTravel()
    from geo_assets.network import NetworkTravel

    try:
        return NetworkTravel.from_pbf(settings.network_file, modes=("walk", "cycle", "car"))
    except Exception as exc:  # pyrosm and its readers raise many kinds for a bad file
        raise GeoAssetsError(f"network_file {settings.network_file}: {exc}") from exc


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` defaults to the environment (``GEO_ASSETS_*``)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.coverage_demand_file is not None:  # a broken file stops the start here
            await run_in_threadpool(DemandSource.of(settings).load)
        app.state.travel = await run_in_threadpool(_travel, settings)
        store = await run_in_threadpool(_open, settings)
        app.state.store = store
        retention = None
        if settings.purge_plans_in_service:
            retention = asyncio.create_task(
                purge_plans_periodically(store, settings.plan_retention_days)
            )
        try:
            yield
        finally:
            if retention is not None:
                retention.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retention
            app.state.store = None
            await run_in_threadpool(store.close)

    app = FastAPI(
        title="geo-assets",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is ours (api.routers.pages), with Swagger UI served locally; ReDoc would
        # need a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    set_time_zone(settings.time_zone)  # the clock sessions are read on, for this process
    app.state.store = None
    app.state.travel = StraightLineTravel()
    install_error_handlers(app)
    app.include_router(health.router)  # the probes take no parameters
    checked = [Depends(refuse_nul_parameters)]
    for module in (assets, held_changes, organisations, match, coverage, taxonomy, geocode):
        app.include_router(module.router, dependencies=checked)
    hsds.install(app, dependencies=checked)
    pages.install(app, dependencies=checked)  # web pages and the map files under /static
    install_limits(app, settings)  # after every other middleware, so the limits run first
    # Outside even the limits, so that a refusal carries the headers too.
    maps = app.state.map_settings
    app.add_middleware(
        SecurityHeaders,
        tiles=tile_origin(maps.tiles) if maps.has_tiles else None,
        cdns=cdn_origins() if maps.map_assets == "cdn" else (),
    )

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        """People start at the directory map (its header links every page and the API docs)."""
        return RedirectResponse("/map")

    return app
