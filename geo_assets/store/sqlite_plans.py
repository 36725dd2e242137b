"""Saved connection plans in the SQLite store (mixed into SQLiteStore).

A plan is one row: its id, owner, creation time and the :class:`SavedPlan` as JSON.
Saving and deleting (one plan, or every plan past its retention or of one owner) write
an audit row per plan (its id and owner only) in the same transaction; deleting removes
the row for good.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError
from geo_assets.plans import SavedPlan
from geo_assets.store.base import Page, check_page, check_purge, checked_plan, plan_audit
from geo_assets.store.sqlite_rows import ts_text
from geo_assets.store.sqlite_users import write_audit


class SQLitePlans:
    """The saved-plans part of :class:`~geo_assets.store.sqlite.SQLiteStore`."""

    if TYPE_CHECKING:  # provided by SQLiteStore

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def save_plan(self, plan: SavedPlan, *, actor: str | None = None) -> SavedPlan:
        stored = checked_plan(plan)
        with self._write() as conn:
            if (
                conn.execute("SELECT 1 FROM users WHERE id = ?", (stored.owner_id,)).fetchone()
                is None
            ):
                raise InvalidInputError(
                    f"`owner_id`: user `{stored.owner_id}` does not exist", field="owner_id"
                )
            try:
                conn.execute(
                    "INSERT INTO plans (id, owner_id, created_at, doc) VALUES (?, ?, ?, ?)",
                    (
                        stored.id,
                        stored.owner_id,
                        ts_text(stored.created_at),
                        stored.model_dump_json(),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"plan `{stored.id}` already exists") from exc
            if actor is not None:
                write_audit(conn, actor, "create", "plan", stored.id, plan_audit(stored.owner_id))
        return stored

    def get_plan(self, plan_id: str) -> SavedPlan:
        with self._read() as conn:
            row = conn.execute("SELECT doc FROM plans WHERE id = ?", (plan_id,)).fetchone()
        if row is None:
            raise NotFoundError("plan", plan_id)
        return SavedPlan.model_validate_json(row[0])

    def list_plans(self, owner_id: str, *, page: int = 1, per_page: int = 50) -> Page[SavedPlan]:
        limit, offset = check_page(page, per_page)
        with self._read() as conn:
            total = conn.execute(
                "SELECT count(*) FROM plans WHERE owner_id = ?", (owner_id,)
            ).fetchone()[0]
            rows = conn.execute(
                "SELECT doc FROM plans WHERE owner_id = ?"
                " ORDER BY created_at DESC, rid DESC LIMIT ? OFFSET ?",
                (owner_id, limit, offset),
            ).fetchall()
        items = [SavedPlan.model_validate_json(r[0]) for r in rows]
        return Page(items=items, total=total, page=page, per_page=per_page)

    def delete_plan(self, plan_id: str, *, actor: str | None = None) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT owner_id FROM plans WHERE id = ?", (plan_id,)).fetchone()
            if row is None:
                raise NotFoundError("plan", plan_id)
            conn.execute("DELETE FROM plans WHERE id = ?", (plan_id,))
            if actor is not None:
                write_audit(conn, actor, "delete", "plan", plan_id, plan_audit(row[0]))

    def purge_plans(
        self,
        *,
        before: datetime | None = None,
        owner_id: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Delete for good the plans saved before ``before`` and/or owned by ``owner_id``;
        returns how many went."""
        check_purge(before, owner_id)
        clauses, params = [], []
        if before is not None:
            clauses.append("created_at < ?")
            params.append(ts_text(before))
        if owner_id is not None:
            clauses.append("owner_id = ?")
            params.append(owner_id)
        where = " AND ".join(clauses)
        with self._write() as conn:
            gone = conn.execute(f"SELECT id, owner_id FROM plans WHERE {where}", params).fetchall()
            conn.execute(f"DELETE FROM plans WHERE {where}", params)
            if actor is not None:
                for plan_id, owner in gone:
                    write_audit(conn, actor, "delete", "plan", plan_id, plan_audit(owner))
        return len(gone)
