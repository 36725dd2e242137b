"""Saved connection plans in the PostGIS store (mixed into PostGISStore).

A plan is one row: its id, owner, creation time and the :class:`SavedPlan` as JSONB.
Saving and deleting (one plan, or every plan past its retention or of one owner) write
an audit row per plan (its id and owner only) in the same transaction; deleting removes
the row for good.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError
from geo_assets.plans import SavedPlan
from geo_assets.store.base import Page, check_page, check_purge, checked_plan, plan_audit
from geo_assets.store.postgis_users import write_audit

T = TypeVar("T")


class PostGISPlans:
    """The saved-plans part of :class:`~geo_assets.store.postgis.PostGISStore`."""

    if TYPE_CHECKING:  # provided by PostGISStore

        def _connect(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...
        def _read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T: ...

    def save_plan(self, plan: SavedPlan, *, actor: str | None = None) -> SavedPlan:
        stored = checked_plan(plan)
        try:
            with self._connect() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO plans (id, owner_id, created_at, doc)"
                    " VALUES (%s, %s, %s, %s::jsonb)",
                    [stored.id, stored.owner_id, stored.created_at, stored.model_dump_json()],
                )
                if actor is not None:
                    write_audit(
                        conn, actor, "create", "plan", stored.id, plan_audit(stored.owner_id)
                    )
        except pg_errors.UniqueViolation as exc:
            raise ConflictError(f"plan `{stored.id}` already exists") from exc
        except pg_errors.ForeignKeyViolation as exc:
            raise InvalidInputError(
                f"`owner_id`: user `{stored.owner_id}` does not exist", field="owner_id"
            ) from exc
        return stored

    def get_plan(self, plan_id: str) -> SavedPlan:
        row = self._read(
            lambda conn: conn.execute(
                "SELECT doc::text FROM plans WHERE id = %s", [plan_id]
            ).fetchone()
        )
        if row is None:
            raise NotFoundError("plan", plan_id)
        return SavedPlan.model_validate_json(row[0])

    def list_plans(self, owner_id: str, *, page: int = 1, per_page: int = 50) -> Page[SavedPlan]:
        limit, offset = check_page(page, per_page)

        def work(conn: psycopg.Connection[Any]) -> tuple[int, list[tuple[Any, ...]]]:
            with conn.transaction():  # one snapshot for the count and the page
                total = conn.execute(
                    "SELECT count(*) FROM plans WHERE owner_id = %s", [owner_id]
                ).fetchone()
                rows = conn.execute(
                    "SELECT doc::text FROM plans WHERE owner_id = %s"
                    " ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
                    [owner_id, limit, offset],
                ).fetchall()
            return (total[0] if total else 0), rows

        total, rows = self._read(work)
        items = [SavedPlan.model_validate_json(r[0]) for r in rows]
        return Page(items=items, total=total, page=page, per_page=per_page)

    def delete_plan(self, plan_id: str, *, actor: str | None = None) -> None:
        with self._connect() as conn, conn.transaction():
            row = conn.execute(
                "DELETE FROM plans WHERE id = %s RETURNING owner_id", [plan_id]
            ).fetchone()
            if row is None:
                raise NotFoundError("plan", plan_id)
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
        with self._connect() as conn, conn.transaction():
            gone = conn.execute(
                "DELETE FROM plans"
                " WHERE (%(before)s::timestamptz IS NULL OR created_at < %(before)s)"
                " AND (%(owner)s::text IS NULL OR owner_id = %(owner)s) RETURNING id, owner_id",
                {"before": before, "owner": owner_id},
            ).fetchall()
            if actor is not None:
                for plan_id, owner in gone:
                    write_audit(conn, actor, "delete", "plan", plan_id, plan_audit(owner))
        return len(gone)
