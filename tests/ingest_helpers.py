"""Helpers for the ingest tests: full content dumps of a store, template CSV writing."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

from geo_assets.ingest.template import COLUMN_NAMES
from geo_assets.model import ASSET_STATUSES
from geo_assets.store.base import AssetFilters, Store

GOOD_ROW: dict[str, Any] = {
    "name": "Knit and Natter",
    "kind": "group",
    "organisation": "Test Community Association",
    "categories": "knitting; coffee morning",
    "address": "1 Lumb Lane",
    "postcode": "BD8 7QU",
    "lat": "53.8012",
    "lon": "-1.7634",
    "sessions": "Tuesdays 10-12; 1st Monday of the month 7pm-9pm",
    "cost": "£2",
    "accessibility": "wheelchair; hearing loop",
    "languages": "en; ur",
    "status": "published",
    "source_id": "row-1",
}


def rows(n: int, **overrides: Any) -> list[dict[str, Any]]:
    """``n`` good template rows with distinct names and source ids."""
    out = []
    for i in range(n):
        row = dict(GOOD_ROW, name=f"Activity {i:03d}", source_id=f"row-{i}")
        row["lat"] = f"{53.79 + i * 0.001:.4f}"
        row.update(overrides)
        out.append(row)
    return out


def write_csv(path: Path, data: list[dict[str, Any]], *, encoding: str = "utf-8") -> Path:
    columns = [c for c in COLUMN_NAMES if any(c in r for r in data)] or list(COLUMN_NAMES)
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(data)
    return path


def dump(store: Store) -> dict[str, Any]:
    """Everything the store holds, as text: raw table rows plus every asset and
    organisation document (with versions and timestamps) read through the protocol."""
    assets = []
    page = 1
    filters = AssetFilters(statuses=list(ASSET_STATUSES))  # type: ignore[arg-type]
    while True:
        batch = store.list_assets(filters, page=page, per_page=1000)
        assets.extend(a.model_dump_json() for a in batch.items)
        if page >= batch.pages:
            break
        page += 1
    orgs = [o.model_dump_json() for o in store.list_organisations(per_page=1000).items]
    return {"tables": _raw_tables(store), "assets": assets, "organisations": orgs}


def _raw_tables(store: Store) -> list[str]:
    if store.url.startswith("sqlite"):
        from geo_assets.store.sqlite import db_path

        conn = sqlite3.connect(db_path(store.url))
        try:
            return list(conn.iterdump())
        finally:
            conn.close()
    import psycopg
    from psycopg import sql

    out: list[str] = []
    with psycopg.connect(store.url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table))
            out.extend(f"{table}: {r[0]}" for r in conn.execute(query).fetchall())
    return out
