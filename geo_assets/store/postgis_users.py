"""Users, bearer tokens and the audit log in the PostGIS store (mixed into PostGISStore).

Kept apart from :mod:`geo_assets.store.postgis` (assets and organisations); the pool
helpers are the store's own. ``write_audit`` is called by the store's write methods
inside their transaction, so a write and its audit row commit or roll back together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import astuple
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

from geo_assets.auth import TokenKind, TokenRecord, User, session_end, session_parent_problem
from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError
from geo_assets.model import utcnow
from geo_assets.store.base import (
    AuditEntry,
    Page,
    audit_changes,
    check_page,
    replaced_audit,
    revoked_token_audit,
    sort_name,
)

T = TypeVar("T")

_USER_COLUMNS = "id, name, role, organisation_id, active, created_at, revoked_at"
_TOKEN_COLUMNS = (
    "token_id, user_id, secret_hash, created_at, revoked_at, expires_at, kind, parent_id"
)
_AUDIT_COLUMNS = "seq, at, actor, action, entity, entity_id, changes::text"
_INSERT_AUDIT = (
    "INSERT INTO audit_log (at, actor, action, entity, entity_id, changes)"
    " VALUES (%s, %s, %s, %s, %s, %s::json)"
)


def write_audit(
    conn: psycopg.Connection[Any],
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    changes: dict[str, Any],
) -> None:
    """One audit row, in the caller's transaction."""
    text = json.dumps(changes, ensure_ascii=False, separators=(",", ":"))
    conn.execute(_INSERT_AUDIT, [utcnow(), actor, action, entity, entity_id, text])


def _user(row: tuple[Any, ...]) -> User:
    user_id, name, role, organisation_id, active, created_at, revoked_at = row
    return User(
        id=user_id,
        name=name,
        role=role,
        organisation_id=organisation_id,
        active=active,
        created_at=created_at,
        revoked_at=revoked_at,
    )


def _get_user(conn: psycopg.Connection[Any], user_id: str, *, for_update: bool = False) -> User:
    query = f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s" + (
        " FOR UPDATE" if for_update else ""
    )
    row = conn.execute(query, [user_id]).fetchone()
    if row is None:
        raise NotFoundError("user", user_id)
    return _user(row)


def _read_committed(conn: psycopg.Connection[Any]) -> None:
    """Each statement of this transaction sees what was committed before it ran: the
    token methods lock the user row, then read the tokens as they are once they hold
    it, whatever isolation the database defaults to (its first statement)."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def _find_token(conn: psycopg.Connection[Any], token_id: str) -> TokenRecord | None:
    row = conn.execute(
        f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE token_id = %s", [token_id]
    ).fetchone()
    return None if row is None else TokenRecord(*row)


class PostGISUsers:
    """The users/tokens/audit part of :class:`~geo_assets.store.postgis.PostGISStore`."""

    if TYPE_CHECKING:  # provided by PostGISStore

        def _connect(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...
        def _read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T: ...

    def create_user(self, user: User, *, actor: str | None = None) -> User:
        stored = user.model_copy(
            update={"created_at": utcnow(), "active": True, "revoked_at": None}
        )
        try:
            with self._connect() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO users (id, name, sort_name, role, organisation_id, active,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, true, %s)",
                    [
                        stored.id,
                        stored.name,
                        sort_name(stored.name),
                        stored.role,
                        stored.organisation_id,
                        stored.created_at,
                    ],
                )
                if actor is not None:
                    doc = stored.model_dump(mode="json")
                    write_audit(conn, actor, "create", "user", stored.id, doc)
        except pg_errors.UniqueViolation as exc:
            raise ConflictError(f"user `{stored.id}` already exists") from exc
        except pg_errors.ForeignKeyViolation as exc:
            message = f"organisation `{stored.organisation_id}` does not exist"
            raise InvalidInputError(
                f"`organisation_id`: {message}", field="organisation_id"
            ) from exc
        return stored

    def get_user(self, user_id: str) -> User:
        return self._read(lambda conn: _get_user(conn, user_id))

    def list_users(self, *, page: int = 1, per_page: int = 50) -> Page[User]:
        limit, offset = check_page(page, per_page)

        def work(conn: psycopg.Connection[Any]) -> tuple[int, list[tuple[Any, ...]]]:
            with conn.transaction():  # one snapshot for the count and the page
                total = conn.execute("SELECT count(*) FROM users").fetchone()
                rows = conn.execute(
                    f"SELECT {_USER_COLUMNS} FROM users ORDER BY sort_name, id LIMIT %s OFFSET %s",
                    [limit, offset],
                ).fetchall()
            return (total[0] if total else 0), rows

        total, rows = self._read(work)
        return Page(items=[_user(r) for r in rows], total=total, page=page, per_page=per_page)

    def revoke_user(self, user_id: str, *, actor: str | None = None) -> User:
        """Deactivate a user and revoke all their tokens; revoking twice changes nothing."""
        with self._connect() as conn, conn.transaction():
            _read_committed(conn)  # the tokens as they are once the user's row is held
            before = _get_user(conn, user_id, for_update=True)
            if not before.active:
                return before
            now = utcnow()
            conn.execute(
                "UPDATE users SET active = false, revoked_at = %s WHERE id = %s", [now, user_id]
            )
            conn.execute(
                "UPDATE tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
                [now, user_id],
            )
            after = before.model_copy(update={"active": False, "revoked_at": now})
            if actor is not None:
                write_audit(conn, actor, "revoke", "user", user_id, audit_changes(before, after))
        return after

    def add_token(
        self,
        user_id: str,
        token_id: str,
        secret_hash: str,
        *,
        expires_at: datetime | None = None,
        session_of: str | None = None,
    ) -> TokenRecord:
        created = utcnow()
        kind: TokenKind = "api" if session_of is None else "session"
        try:
            with self._connect() as conn, conn.transaction():
                _read_committed(conn)
                # Locked: a concurrent revoke (of the user, or of the token a session is
                # started with) waits for this token, then revokes it too.
                user = _get_user(conn, user_id, for_update=True)
                if not user.active:
                    raise ConflictError(f"user `{user_id}` has been revoked; it cannot get tokens")
                if session_of is not None:
                    parent = _find_token(conn, session_of)
                    if problem := session_parent_problem(parent, user_id, created):
                        raise ConflictError(problem)
                    assert parent is not None
                    expires_at = session_end(parent, expires_at)
                record = TokenRecord(
                    token_id, user_id, secret_hash, created, None, expires_at, kind, session_of
                )
                conn.execute(
                    f"INSERT INTO tokens ({_TOKEN_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    list(astuple(record)),
                )
        except pg_errors.UniqueViolation as exc:
            raise ConflictError(f"token `{token_id}` already exists") from exc
        return record

    def revoke_token(self, token_id: str, *, actor: str | None = None) -> bool:
        with self._connect() as conn, conn.transaction():
            _read_committed(conn)
            owner = conn.execute(
                "SELECT user_id FROM tokens WHERE token_id = %s", [token_id]
            ).fetchone()
            if owner is None:
                return False
            _get_user(conn, owner[0], for_update=True)  # after any session being started
            now = utcnow()
            revoked = conn.execute(
                "UPDATE tokens SET revoked_at = %s WHERE token_id = %s AND revoked_at IS NULL",
                [now, token_id],
            ).rowcount
            sessions = conn.execute(
                "UPDATE tokens SET revoked_at = %s WHERE parent_id = %s AND revoked_at IS NULL",
                [now, token_id],
            ).rowcount
            if actor is not None and (revoked or sessions):
                changes = revoked_token_audit(token_id, sessions)
                write_audit(conn, actor, "revoke", "user", owner[0], changes)
        return revoked > 0

    def revoke_user_tokens(
        self, user_id: str, *, keep: str | None = None, actor: str | None = None
    ) -> int:
        with self._connect() as conn, conn.transaction():
            _read_committed(conn)
            _get_user(conn, user_id, for_update=True)
            count = conn.execute(
                "UPDATE tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL"
                " AND token_id IS DISTINCT FROM %s",
                [utcnow(), user_id, keep],
            ).rowcount
            if actor is not None and count:
                write_audit(conn, actor, "revoke", "user", user_id, replaced_audit(count, keep))
        return count

    def list_tokens(self, user_id: str) -> list[TokenRecord]:
        def work(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with conn.transaction():  # the user and their tokens from one snapshot
                _get_user(conn, user_id)
                return conn.execute(
                    f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE user_id = %s"
                    " ORDER BY created_at, token_id",
                    [user_id],
                ).fetchall()

        return [TokenRecord(*row) for row in self._read(work)]

    def delete_expired_tokens(self, before: datetime) -> int:
        with self._connect() as conn:
            return conn.execute(
                "DELETE FROM tokens WHERE kind = 'session' AND expires_at < %s", [before]
            ).rowcount

    def find_token(self, token_id: str) -> TokenRecord | None:
        return self._read(lambda conn: _find_token(conn, token_id))

    def list_audit(
        self, entity_id: str | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[AuditEntry]:
        """Audit rows, newest first (by ``seq``); only those of ``entity_id`` when given."""
        limit, offset = check_page(page, per_page)
        # Two constant query texts; the value is always a bound parameter.
        where = " WHERE entity_id = %s" if entity_id is not None else ""
        params: list[Any] = [entity_id] if entity_id is not None else []

        def work(conn: psycopg.Connection[Any]) -> tuple[int, list[tuple[Any, ...]]]:
            with conn.transaction():
                total = conn.execute("SELECT count(*) FROM audit_log" + where, params).fetchone()
                rows = conn.execute(
                    f"SELECT {_AUDIT_COLUMNS} FROM audit_log{where} ORDER BY seq DESC"
                    " LIMIT %s OFFSET %s",
                    [*params, limit, offset],
                ).fetchall()
            return (total[0] if total else 0), rows

        total, rows = self._read(work)
        items = [
            AuditEntry(seq, at, actor, action, entity, eid, json.loads(changes))
            for seq, at, actor, action, entity, eid, changes in rows
        ]
        return Page(items=items, total=total, page=page, per_page=per_page)
