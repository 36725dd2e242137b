"""Settings read from the environment (prefix ``GEO_ASSETS_``); tests pass explicit values."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./geo_assets.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GEO_ASSETS_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path for the embedded store, postgresql://... for PostGIS",
    )
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
