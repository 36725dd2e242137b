"""How the SQLite store turns records into rows and back, and writes them in bulk.

Kept apart from :mod:`geo_assets.store.sqlite` (connections, transactions, queries):
row encoding, the side-table writes every save shares, decoding of stored JSON
documents with a small cache, and the batched bulk upsert.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from geo_assets.errors import ConflictError, RowError
from geo_assets.model import Asset, Organisation
from geo_assets.store.base import (
    FILTER_COLUMN_NAMES,
    BulkCollector,
    FilterColumns,
    UpsertReport,
    bulk_kept,
    sort_name,
)

# Rows per bound-parameter list (SQLite allows 32766 parameters; stay far below).
CHUNK = 500

INSERT_ASSET = (
    "INSERT INTO assets (id, kind, status, name, description, sort_name, lat, lon,"
    " organisation_id, source, source_id, created_at, updated_at, version, "
    + ", ".join(FILTER_COLUMN_NAMES)
    + ", doc, rid) VALUES ("
    + ", ".join("?" * (14 + len(FILTER_COLUMN_NAMES) + 2))  # 14 before, doc and rid after
    + ")"
)
UPDATE_ASSET = (
    "UPDATE assets SET id = ?, kind = ?, status = ?, name = ?, description = ?, sort_name = ?,"
    " lat = ?, lon = ?, organisation_id = ?, source = ?, source_id = ?, created_at = ?,"
    " updated_at = ?, version = ?, "
    + ", ".join(f"{name} = ?" for name in FILTER_COLUMN_NAMES)
    + ", doc = ? WHERE rid = ?"
)
INSERT_ORG = (
    "INSERT INTO organisations (id, name, sort_name, status, created_at, updated_at, version, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_ORG = (
    "UPDATE organisations SET id = ?, name = ?, sort_name = ?, status = ?, created_at = ?,"
    " updated_at = ?, version = ?, doc = ? WHERE rid = ?"
)


def ts_text(value: datetime) -> str:
    """Fixed-width UTC ISO text (microseconds, ``Z``) so text order is time order."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


# A maximal run of characters for which str.isalnum() is true (\w minus "_").
_WORD_RE = re.compile(r"[^\W_]+")


def text_words(*texts: str) -> str:
    """The words of ``texts`` as AssetFilters.text_terms() splits a query, space-separated.

    Indexing these (not the raw text) makes FTS agree with the contract's word rules:
    case-folded (``ß`` -> ``ss``), accents kept, anything not alphanumeric separates.
    """
    return " ".join(_WORD_RE.findall(" ".join(texts).casefold()))


def marks(n: int) -> str:
    return ", ".join("?" * n)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def filter_values(asset: Asset) -> list[Any]:
    """``FilterColumns.values()`` as SQLite holds them: times as ``ts_text``."""
    return [ts_text(v) if isinstance(v, datetime) else v for v in FilterColumns.of(asset).values()]


def asset_values(asset: Asset, rid: int | None) -> tuple[Any, ...]:
    """Column values in INSERT_ASSET / UPDATE_ASSET order (rid last)."""
    assert asset.created_at is not None and asset.updated_at is not None
    return (
        asset.id,
        asset.kind,
        asset.status,
        asset.name,
        asset.description,
        sort_name(asset.name),
        asset.location.lat,
        asset.location.lon,
        asset.organisation_id,
        asset.source,
        asset.source_id,
        ts_text(asset.created_at),
        ts_text(asset.updated_at),
        asset.version,
        *filter_values(asset),
        asset.model_dump_json(),
        rid,
    )


def org_values(org: Organisation) -> tuple[Any, ...]:
    assert org.created_at is not None and org.updated_at is not None
    return (
        org.id,
        org.name,
        sort_name(org.name),
        org.status,
        ts_text(org.created_at),
        ts_text(org.updated_at),
        org.version,
        org.model_dump_json(),
    )


def save_assets(
    conn: sqlite3.Connection, new: Sequence[Asset], changed: Sequence[tuple[int, Asset]]
) -> list[int]:
    """Write assets and their R*Tree, FTS and category rows; returns the new rids.

    Runs inside the caller's write transaction, so ``max(rid)`` is stable.
    """
    first = conn.execute("SELECT coalesce(max(rid), 0) + 1 FROM assets").fetchone()[0]
    new_rids = list(range(first, first + len(new)))
    conn.executemany(INSERT_ASSET, [asset_values(a, r) for r, a in zip(new_rids, new, strict=True)])
    if changed:
        conn.executemany(UPDATE_ASSET, [asset_values(a, r) for r, a in changed])
        old = [(r,) for r, _ in changed]
        conn.executemany("DELETE FROM asset_rtree WHERE rid = ?", old)
        conn.executemany("DELETE FROM asset_fts WHERE rowid = ?", old)
        conn.executemany("DELETE FROM asset_categories WHERE asset_rid = ?", old)
    written = [*zip(new_rids, new, strict=True), *changed]
    conn.executemany(
        "INSERT INTO asset_rtree (rid, min_lon, max_lon, min_lat, max_lat) VALUES (?, ?, ?, ?, ?)",
        [(r, a.location.lon, a.location.lon, a.location.lat, a.location.lat) for r, a in written],
    )
    conn.executemany(
        "INSERT INTO asset_fts (rowid, words) VALUES (?, ?)",
        [(r, text_words(a.name, a.description)) for r, a in written],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO asset_categories (asset_rid, category) VALUES (?, ?)",
        [(r, c) for r, a in written for c in a.categories],
    )
    return new_rids


AssetKey = tuple[int, str, int, str]  # (rid, id, version, updated_at) of a stored asset


# (source, source_id) -> (rid, id, created_at, version, moderated: stored or published)
_Existing = dict[tuple[str, str], "_Stored"]


class _Stored(NamedTuple):
    """What a bulk load keeps of a stored listing it updates (``bulk_kept``)."""

    rid: int
    id: str
    created_at: datetime
    version: int
    moderated: bool
    archived: bool
    merged_from: str | None  # JSON, when any listing was merged into it


class BulkLoader:
    """State of one bulk upsert: errors so far, ids claimed by new rows, the report."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.collector = BulkCollector()
        self.report = UpsertReport()
        self.new_ids: dict[str, int] = {}  # asset id -> row that inserts it

    def flush(self, conn: sqlite3.Connection, batch: list[tuple[int, Asset]]) -> None:
        if not batch:
            return
        existing = _existing_keys(conn, [a for _, a in batch])
        self._check_references(conn, batch, existing)
        if self.collector.errors:
            return  # keep validating, stop writing: the transaction will be rolled back
        new: list[Asset] = []
        changed: list[tuple[int, Asset]] = []
        for _, asset in batch:
            hit = existing.get((asset.source or "", asset.source_id or ""))
            # Shallow copies (stamp_new deep-copies, ~20x slower): each one is only
            # serialised below and then dropped, so sharing nested parts is safe.
            if hit is None:
                stamp = {
                    "created_at": self.now,
                    "updated_at": self.now,
                    "version": 1,
                    "moderated": asset.status == "published",
                }
                new.append(asset.model_copy(update=stamp))
                self.report.ids.append(asset.id)
            else:
                stamp = {
                    "id": hit.id,
                    "created_at": hit.created_at,
                    "updated_at": self.now,
                    "version": hit.version + 1,
                    "moderated": hit.moderated
                    or (asset.status == "published" and not hit.archived),
                    **bulk_kept(asset, hit.archived, hit.merged_from),
                }
                changed.append((hit.rid, asset.model_copy(update=stamp)))
                self.report.ids.append(hit.id)
        try:
            save_assets(conn, new, changed)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"bulk load clashes with stored data: {exc}") from exc
        self.report.inserted += len(new)
        self.report.updated += len(changed)

    def _check_references(
        self, conn: sqlite3.Connection, batch: list[tuple[int, Asset]], existing: _Existing
    ) -> None:
        """Row errors for unknown organisations and for ids another asset already has."""
        errors = self.collector.errors
        org_ids = sorted({a.organisation_id for _, a in batch if a.organisation_id is not None})
        known_orgs: set[str] = set()
        for chunk in chunks(org_ids):
            sql = f"SELECT id FROM organisations WHERE id IN ({marks(len(chunk))})"
            known_orgs.update(r[0] for r in conn.execute(sql, chunk))
        inserts = [
            (row, a) for row, a in batch if (a.source or "", a.source_id or "") not in existing
        ]
        taken: set[str] = set()
        for chunk in chunks([a.id for _, a in inserts]):
            sql = f"SELECT id FROM assets WHERE id IN ({marks(len(chunk))})"
            taken.update(r[0] for r in conn.execute(sql, chunk))
        for row, asset in batch:
            if asset.organisation_id is not None and asset.organisation_id not in known_orgs:
                message = f"organisation `{asset.organisation_id}` does not exist"
                errors.append(RowError(row, "organisation_id", message))
        for row, asset in inserts:
            if asset.id in self.new_ids:
                message = f"asset id `{asset.id}` repeats row {self.new_ids[asset.id]}"
                errors.append(RowError(row, "id", message))
            elif asset.id in taken:
                message = f"asset id `{asset.id}` is already used by another asset"
                errors.append(RowError(row, "id", message))
            else:
                self.new_ids[asset.id] = row


def _existing_keys(conn: sqlite3.Connection, assets: list[Asset]) -> _Existing:
    """What is stored (``_Stored``) for each (source, source_id) already present;
    moderated counts a listing published now (``moderated_after``)."""
    by_source: dict[str, list[str]] = {}
    for asset in assets:
        by_source.setdefault(asset.source or "", []).append(asset.source_id or "")
    found: _Existing = {}
    for source, source_ids in by_source.items():
        for chunk in chunks(source_ids):
            rows = conn.execute(
                "SELECT source_id, rid, id, created_at, version,"
                # CASE, not OR: only a listing off the directory has its document parsed.
                " CASE WHEN status = 'published' THEN 1"
                " ELSE coalesce(json_extract(doc, '$.moderated'), 0) END,"
                " status = 'archived',"
                " CASE WHEN json_array_length(doc, '$.merged_from') > 0"
                " THEN json_extract(doc, '$.merged_from') END FROM assets"
                f" WHERE source = ? AND source_id IN ({marks(len(chunk))})",
                [source, *chunk],
            )
            for source_id, rid, asset_id, created, version, moderated, archived, merged in rows:
                created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
                found[(source, source_id)] = _Stored(
                    rid, asset_id, created_at, version, bool(moderated), bool(archived), merged
                )
    return found
