"""Settings read from the environment (prefix ``GEO_ASSETS_``); tests pass explicit values."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, FilePath, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo_assets.clock import time_zone

DEFAULT_DATABASE_URL = "sqlite:///./geo_assets.sqlite"
# Characters a URL may not hold as they are (RFC 3986): they would need %-encoding.
_NOT_IN_ADDRESSES = frozenset('<>"\\{}|^`')


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GEO_ASSETS_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path for the embedded store, postgresql://... for PostGIS",
    )
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    database_timeout_s: float = Field(
        default=3.0,
        gt=0,
        description="seconds a request waits for a database connection before a 503 problem",
    )
    stale_after_days: int = Field(
        default=180,
        ge=1,
        description="days after which a listing nobody has confirmed is flagged stale "
        "(geo_assets.freshness)",
    )
    network_file: FilePath | None = Field(
        default=None,
        description="an OpenStreetMap .osm.pbf extract of the area: the web's matching and "
        "coverage then time walking, wheelchair, cycling and driving along its streets "
        "(loaded at start-up; public transport stays a straight-line estimate); unset: "
        "straight-line estimates for every mode",
    )
    coverage_demand_file: FilePath | None = Field(
        default=None,
        description="the planners' population for the web's coverage pages: areas, points "
        "or H3 cells (GeoPackage, GeoJSON, CSV; as `geo-assets coverage --demand` reads "
        "them); unset: the synthetic sample population",
    )
    coverage_population_column: str | None = Field(
        default=None, description="population column of coverage_demand_file"
    )
    coverage_need_column: str | None = Field(
        default=None,
        description="need-weight column of coverage_demand_file (unset: every person counts 1)",
    )
    plan_retention_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="days a saved connection plan is kept; older ones are deleted by the "
        "running service (at start-up, then daily) and by `geo-assets plans purge`",
    )
    purge_plans_in_service: bool = Field(
        default=True,
        description="whether the running service deletes expired plans itself; switch off "
        "where `geo-assets plans purge` runs from cron instead (every worker process of the "
        "service otherwise does it)",
    )
    geocoder_online: bool = Field(
        default=False,
        description="also ask OpenStreetMap's Nominatim (geopy) for place names the local "
        "tables do not know; what is typed then leaves the machine (geo_assets.geocode_sources)",
    )
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_user_agent: str = Field(
        default="geo-assets", description="sent to Nominatim, as its usage policy asks"
    )
    geocoder_timeout_s: float = Field(default=5.0, gt=0, description="seconds per online lookup")
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone of the places served (e.g. Europe/London): the clock "
        "sessions' times, 'today' and the next session are read on (geo_assets.clock); "
        "unset: the server's own",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            time_zone(value)  # raises, naming the setting
        return value

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = Field(
        default=None,
        description="the address people reach the service at, e.g. "
        "https://assets.council.example (a path is kept): the links the service writes "
        "(calendar files, the HSDS API) start with it; unset: the address each request "
        "came to, as the proxy passed it on",
    )

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.isascii() or any(c in _NOT_IN_ADDRESSES or ord(c) < 33 for c in value):
            raise ValueError(
                'must be written in plain ASCII, without spaces or any of <>"\\{}|^`'
                " (a non-ASCII name in its xn-- form, other characters %-encoded)"
            )
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - it checks the port
        except ValueError as exc:
            raise ValueError("has a port that is not a number from 0 to 65535") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// address")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("must be an address without ?query, #fragment or user name")
        return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))

    # --- limits (api/limits.py) ---
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="largest request body accepted; larger gets 413"
    )
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        description="largest body of a spreadsheet upload (the organisation portal's upload "
        "page, file and form together); larger gets 413",
    )
    rate_limit_per_minute: int = Field(
        default=120,
        ge=0,
        description=(
            "write and POST /match requests allowed per minute for each bearer token "
            "(or client IP when anonymous), in bursts of up to that many; 0 turns it off. "
            "Counted per server process"
        ),
    )
    read_rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description=(
            "GET requests to the JSON APIs (/assets, /organisations, /hsds, /geocode, "
            "/coverage) allowed per minute for each caller, as above; pages and map files "
            "are not counted. 0 turns it off"
        ),
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description=(
            'origins browsers may call the API from, e.g. ["https://council.example"]; '
            "none by default. /hsds/ always allows every origin"
        ),
    )
