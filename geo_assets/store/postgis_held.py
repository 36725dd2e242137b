"""Changes held for review (``geo_assets.review``) in the PostGIS store (mixed into
PostGISStore): one ``held_changes`` row per listing, written in the transaction of the
update, load or decision that changes it, with the listing's row locked."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from geo_assets.model import Asset
from geo_assets.review import HeldChanges
from geo_assets.store.base import HeldChangeRules, held_of_row
from geo_assets.store.postgis_users import write_audit

T = TypeVar("T")
# The listing (no row: no such listing) and what waits on it (NULL: nothing).
_WAITING_ON_ASSET = (
    "SELECT a.id, h.doc::text FROM assets AS a LEFT JOIN held_changes AS h"
    " ON h.asset_id = a.id AND h.proposed_at IS NOT NULL WHERE a.id = %s"
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

    @staticmethod
    def _load_held(conn: psycopg.Connection[Any], asset_id: str) -> HeldChanges | None:
        row = conn.execute(
            "SELECT doc::text FROM held_changes WHERE asset_id = %s", [asset_id]
        ).fetchone()
        return None if row is None else HeldChanges.model_validate_json(row[0])

    @staticmethod
    def _save_held(conn: psycopg.Connection[Any], asset_id: str, held: HeldChanges) -> None:
        conn.execute(
            "INSERT INTO held_changes (asset_id, proposed_at, doc) VALUES (%s, %s, %s::jsonb)"
            " ON CONFLICT (asset_id) DO UPDATE"
            " SET proposed_at = excluded.proposed_at, doc = excluded.doc",
            [asset_id, held.proposed_at if held.changes else None, held.model_dump_json()],
        )

    @staticmethod
    def _waiting_ids(conn: psycopg.Connection[Any]) -> set[str]:
        rows = conn.execute("SELECT asset_id FROM held_changes WHERE proposed_at IS NOT NULL")
        return {r[0] for r in rows}

    def get_held_changes(self, asset_id: str) -> HeldChanges | None:
        row = self._read(lambda conn: conn.execute(_WAITING_ON_ASSET, [asset_id]).fetchone())
        return held_of_row(row, asset_id)

    def list_held_changes(self, *, organisation_id: str | None = None) -> list[HeldChanges]:
        sql = "SELECT h.doc::text FROM held_changes AS h"
        params: list[str] = []
        if organisation_id is not None:
            sql += " JOIN assets AS a ON a.id = h.asset_id AND a.organisation_id = %s"
            params = [organisation_id]
        sql += " WHERE h.proposed_at IS NOT NULL ORDER BY h.proposed_at, h.asset_id"
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [HeldChanges.model_validate_json(r[0]) for r in rows]

    def resolve_held_changes(
        self, asset_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Asset:
        with self._connect() as conn, conn.transaction():
            current = self._get_asset(conn, asset_id, for_update=True)
            updated = self._settle_held(conn, current, approve, revision, actor)
            if updated is not current:
                self._write_asset(conn, updated)
        return updated
