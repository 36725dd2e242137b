"""Data in and out: one ``parse_<format>`` and one ``export_<format>`` per file format.

``FORMATS`` maps the CLI's FORMAT names to ``(parse, export)``; both are loaded on first
use so a format whose optional dependency is missing does not break the others.

- ``parse(path) -> ParsedFeed`` (see :mod:`geo_assets.ingest.base`); the formats in
  ``GEOCODED_FORMATS`` also take ``geocoder=`` to place rows given no coordinates
- ``export(store, path, filters=None) -> int`` (records written)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from geo_assets.ingest.base import ImportReport, ParsedFeed, Progress, run_import

__all__ = ["FORMATS", "GEOCODED_FORMATS", "ImportReport", "ParsedFeed", "Progress", "run_import"]


class _Lazy:
    """A function named "module:attr", imported when first called."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._func: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._func is None:
            module, _, attr = self.spec.partition(":")
            self._func = getattr(importlib.import_module(module), attr)
        return self._func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self.spec}>"


def _pair(module: str, fmt: str) -> tuple[_Lazy, _Lazy]:
    name = fmt.replace("-", "_")
    return _Lazy(f"geo_assets.ingest.{module}:parse_{name}"), _Lazy(
        f"geo_assets.ingest.{module}:export_{name}"
    )


#: FORMAT name -> (parse, export). Modules: hsds / hsds_csv (HSDS helper),
#: spreadsheet (csv, xlsx), geo (geojson, gpkg), osm (import only).
FORMATS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "hsds": _pair("hsds", "hsds"),
    "hsds-csv": _pair("hsds_csv", "hsds-csv"),
    "csv": _pair("spreadsheet", "csv"),
    "xlsx": _pair("spreadsheet", "xlsx"),
    "geojson": _pair("geo", "geojson"),
    "gpkg": _pair("geo", "gpkg"),
    "osm": _pair("osm", "osm"),
}
#: Formats whose records may leave lat/lon out and be placed by postcode, place or address.
GEOCODED_FORMATS = frozenset({"csv", "xlsx", "hsds", "hsds-csv"})
