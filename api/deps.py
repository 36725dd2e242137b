"""Dependency aliases shared by the routers (declared once, used as type hints)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from geo_assets.errors import StoreUnavailableError
from geo_assets.settings import Settings
from geo_assets.store import Store


def get_store(request: Request) -> Store:
    """The store opened by the app's lifespan (one per process, shared by requests)."""
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreUnavailableError("the store is not open (the service is starting or stopping)")
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
