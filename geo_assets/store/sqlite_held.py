"""Changes held for review (``geo_assets.review``) in the SQLite store (mixed into
SQLiteStore): one row per listing (``held_changes``) or organisation
(``held_organisation_changes``), written in the transaction of the update, load or
decision that changes it."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from geo_assets.model import Asset, Organisation
from geo_assets.review import AnyHeld, HeldChanges, HeldOrganisationChanges
from geo_assets.store.base import HELD_TABLES, HeldChangeRules, held_of_row, readable_held
from geo_assets.store.sqlite_rows import ts_text
from geo_assets.store.sqlite_users import write_audit

# The listing (no row: no such listing) and what waits on it (NULL: nothing).
_WAITING_ON_ASSET = (
    "SELECT a.id, h.doc FROM assets AS a LEFT JOIN held_changes AS h"
    " ON h.asset_id = a.id AND h.proposed_at IS NOT NULL WHERE a.id = ?"
)
_WAITING_ON_ORGANISATION = (
    "SELECT o.id, h.doc FROM organisations AS o LEFT JOIN held_organisation_changes AS h"
    " ON h.organisation_id = o.id AND h.proposed_at IS NOT NULL WHERE o.id = ?"
)


class SQLiteHeldChanges(HeldChangeRules):
    """The held-changes part of :class:`~geo_assets.store.sqlite.SQLiteStore`."""

    _audit = staticmethod(write_audit)

    if TYPE_CHECKING:  # provided by SQLiteStore

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _asset_record(self, conn: sqlite3.Connection, asset_id: str) -> tuple[int, Asset]: ...
        def _save_one(self, conn: sqlite3.Connection, asset: Asset, rid: int | None) -> None: ...
        def _org_record(
            self, conn: sqlite3.Connection, org_id: str
        ) -> tuple[int, Organisation]: ...
        def _write_organisation(
            self, conn: sqlite3.Connection, rid: int, org: Organisation
        ) -> None: ...

    @staticmethod
    def _load_held(conn: sqlite3.Connection, entity: str, record_id: str) -> AnyHeld | None:
        table, key, model = HELD_TABLES[entity]
        sql = f"SELECT doc FROM {table} WHERE {key} = ?"
        row = conn.execute(sql, (record_id,)).fetchone()
        return None if row is None else model.model_validate_json(row[0])

    @staticmethod
    def _save_held(conn: sqlite3.Connection, entity: str, held: AnyHeld) -> None:
        table, key, _ = HELD_TABLES[entity]
        waiting = ts_text(held.proposed_at) if held.changes else None
        conn.execute(
            f"INSERT INTO {table} ({key}, proposed_at, doc) VALUES (?, ?, ?)"
            f" ON CONFLICT ({key}) DO UPDATE"
            " SET proposed_at = excluded.proposed_at, doc = excluded.doc",
            (held.record_id, waiting, held.model_dump_json()),
        )

    @staticmethod
    def _waiting_ids(conn: sqlite3.Connection) -> set[str]:
        rows = conn.execute("SELECT asset_id FROM held_changes WHERE proposed_at IS NOT NULL")
        return {r[0] for r in rows}

    def get_held_changes(self, asset_id: str) -> HeldChanges | None:
        with self._read() as conn:
            row = conn.execute(_WAITING_ON_ASSET, (asset_id,)).fetchone()
        return held_of_row(row, "asset", asset_id)

    def list_held_changes(self, *, organisation_id: str | None = None) -> list[HeldChanges]:
        sql = "SELECT h.asset_id, h.doc FROM held_changes AS h"
        params: tuple[str, ...] = ()
        if organisation_id is not None:
            sql += " JOIN assets AS a ON a.id = h.asset_id AND a.organisation_id = ?"
            params = (organisation_id,)
        sql += " WHERE h.proposed_at IS NOT NULL ORDER BY h.proposed_at, h.asset_id"
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return readable_held(HeldChanges, rows)

    def resolve_held_changes(
        self, asset_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Asset:
        with self._write() as conn:
            rid, current = self._asset_record(conn, asset_id)
            updated = self._settle_held(conn, current, approve, revision, actor)
            if updated is not current:
                self._save_one(conn, updated, rid)
        return updated

    def get_held_organisation_changes(self, org_id: str) -> HeldOrganisationChanges | None:
        with self._read() as conn:
            row = conn.execute(_WAITING_ON_ORGANISATION, (org_id,)).fetchone()
        return held_of_row(row, "organisation", org_id)

    def list_held_organisation_changes(self) -> list[HeldOrganisationChanges]:
        sql = (
            "SELECT organisation_id, doc FROM held_organisation_changes"
            " WHERE proposed_at IS NOT NULL"
            " ORDER BY proposed_at, organisation_id"
        )
        with self._read() as conn:
            rows = conn.execute(sql).fetchall()
        return readable_held(HeldOrganisationChanges, rows)

    def resolve_held_organisation_changes(
        self, org_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Organisation:
        with self._write() as conn:
            rid, current = self._org_record(conn, org_id)
            updated = self._settle_held(conn, current, approve, revision, actor)
            if updated is not current:
                self._write_organisation(conn, rid, updated)
        return updated
