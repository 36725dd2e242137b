"""Storage: one protocol, two implementations chosen by the database URL."""

from __future__ import annotations

from geo_assets.errors import InvalidInputError
from geo_assets.store.base import AssetFilters, NearbyHit, Page, Store, UpsertReport

__all__ = ["AssetFilters", "NearbyHit", "Page", "Store", "UpsertReport", "open_store"]


def open_store(
    url: str, *, min_size: int = 1, max_size: int = 10, timeout_s: float = 10.0
) -> Store:
    """Open the store named by ``url`` (``sqlite:///path`` or ``postgresql://...``).

    ``min_size``/``max_size`` bound the PostGIS connection pool and ``timeout_s`` is how
    many seconds a PostGIS operation waits for a connection before it raises
    ``StoreUnavailableError``. The schema is not changed here; call ``upgrade()``
    (``geo-assets db upgrade``).
    """
    if url.startswith("sqlite:"):
        from geo_assets.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("postgresql:", "postgres:")):
        from geo_assets.store.postgis import PostGISStore

        return PostGISStore(url, min_size=min_size, max_size=max_size, timeout_s=timeout_s)
    raise InvalidInputError(
        "`database_url` must start with sqlite:/// or postgresql://", field="database_url"
    )
