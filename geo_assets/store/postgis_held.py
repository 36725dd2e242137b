"""Changes held for review (``geo_assets.review``) in the PostGIS store (mixed into
PostGISStore): one row per listing (``held_changes``) or organisation
(``held_organisation_changes``), written in the transaction of the update, load or
decision that changes it, with the record's row locked."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from geo_assets.model import Asset, Organisation
from geo_assets.review import AnyHeld, HeldChanges, HeldOrganisationChanges
from geo_assets.store.base import HELD_TABLES, HeldChangeRules, held_of_row, readable_held
from geo_assets.store.postgis_users import write_audit

T = TypeVar("T")
# The listing (no row: no such listing) and what waits on it (NULL: nothing).
_WAITING_ON_ASSET = (
    "SELECT a.id, h.doc::text FROM assets AS a LEFT JOIN held_changes AS h"
    " ON h.asset_id = a.id AND h.proposed_at IS NOT NULL WHERE a.id = %s"
)
_WAITING_ON_ORGANISATION = (
    "SELECT o.id, h.doc::text FROM organisations AS o LEFT JOIN held_organisation_changes AS h"
    " ON h.organisation_id = o.id AND h.proposed_at IS NOT NULL WHERE o.id = %s"
)


class PostGISHeldChanges(HeldChangeRules):
    """The held-changes part of :class:`~geo_assets.store.postgis.PostGISStore`."""

    _audit = staticmethod(write_audit)

    if TYPE_CHECKING:  # provided by PostGISStore

        def _connect(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...
        def _read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T: ...
        def _get_asset(
            self, conn: psycopg.Connection[Any], asset_id: str, *, for_update: bool = False
        ) -> Asset: ...
        def _write_asset(self, conn: psycopg.Connection[Any], asset: Asset) -> None: ...
        def _lock_organisation(
            self, conn: psycopg.Connection[Any], org_id: str
        ) -> Organisation: ...
        def _write_organisation(self, conn: psycopg.Connection[Any], org: Organisation) -> None: ...

    @staticmethod
    def _load_held(conn: psycopg.Connection[Any], entity: str, record_id: str) -> AnyHeld | None:
        table, key, model = HELD_TABLES[entity]
        sql = f"SELECT doc::text FROM {table} WHERE {key} = %s"
        row = conn.execute(sql, [record_id]).fetchone()
        return None if row is None else model.model_validate_json(row[0])

    @staticmethod
    def _save_held(conn: psycopg.Connection[Any], entity: str, held: AnyHeld) -> None:
        table, key, _ = HELD_TABLES[entity]
        waiting = held.proposed_at if held.changes else None
        conn.execute(
            f"INSERT INTO {table} ({key}, proposed_at, doc) VALUES (%s, %s, %s::jsonb)"
            f" ON CONFLICT ({key}) DO UPDATE"
            " SET proposed_at = excluded.proposed_at, doc = excluded.doc",
            [held.record_id, waiting, held.model_dump_json()],
        )

    @staticmethod
    def _waiting_ids(conn: psycopg.Connection[Any]) -> set[str]:
        rows = conn.execute("SELECT asset_id FROM held_changes WHERE proposed_at IS NOT NULL")
        return {r[0] for r in rows}

    def get_held_changes(self, asset_id: str) -> HeldChanges | None:
        row = self._read(lambda conn: conn.execute(_WAITING_ON_ASSET, [asset_id]).fetchone())
        return held_of_row(row, "asset", asset_id)

    def list_held_changes(self, *, organisation_id: str | None = None) -> list[HeldChanges]:
        sql = "SELECT h.asset_id, h.doc::text FROM held_changes AS h"
        params: list[str] = []
        if organisation_id is not None:
            sql += " JOIN assets AS a ON a.id = h.asset_id AND a.organisation_id = %s"
            params = [organisation_id]
        sql += " WHERE h.proposed_at IS NOT NULL ORDER BY h.proposed_at, h.asset_id"
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return readable_held(HeldChanges, rows)

    def resolve_held_changes(
        self, asset_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Asset:
        with self._connect() as conn, conn.transaction():
            current = self._get_asset(conn, asset_id, for_update=True)
            updated = self._settle_held(conn, current, approve, revision, actor)
            if updated is not current:
                self._write_asset(conn, updated)
        return updated

    def get_held_organisation_changes(self, org_id: str) -> HeldOrganisationChanges | None:
        row = self._read(lambda conn: conn.execute(_WAITING_ON_ORGANISATION, [org_id]).fetchone())
        return held_of_row(row, "organisation", org_id)

    def list_held_organisation_changes(self) -> list[HeldOrganisationChanges]:
        sql = (
            "SELECT organisation_id, doc::text FROM held_organisation_changes"
            " WHERE proposed_at IS NOT NULL"
            " ORDER BY proposed_at, organisation_id"
        )
        rows = self._read(lambda conn: conn.execute(sql).fetchall())
        return readable_held(HeldOrganisationChanges, rows)

    def resolve_held_organisation_changes(
        self, org_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Organisation:
        with self._connect() as conn, conn.transaction():
            current = self._lock_organisation(conn, org_id)
            updated = self._settle_held(conn, current, approve, revision, actor)
            if updated is not current:
                self._write_organisation(conn, updated)
        return updated
