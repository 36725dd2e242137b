"""Users, bearer tokens and the audit log in the SQLite store (mixed into SQLiteStore).

Kept apart from :mod:`geo_assets.store.sqlite` (assets and organisations); the
connection and transaction helpers are the store's own. ``write_audit`` is called by
the store's write methods inside their transaction, so a write and its audit row
commit or roll back together.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from geo_assets.auth import (
    TokenKind,
    TokenRecord,
    User,
    session_end,
    session_parent_problem,
)
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
from geo_assets.store.sqlite_rows import ts_text

_USER_COLUMNS = "id, name, role, organisation_id, active, created_at, revoked_at"
_TOKEN_COLUMNS = (
    "token_id, user_id, secret_hash, created_at, revoked_at, expires_at, kind, parent_id"
)
_AUDIT_COLUMNS = "seq, at, actor, action, entity, entity_id, changes"


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _user(row: tuple[Any, ...]) -> User:
    user_id, name, role, organisation_id, active, created_at, revoked_at = row
    return User(
        id=user_id,
        name=name,
        role=role,
        organisation_id=organisation_id,
        active=bool(active),
        created_at=_time(created_at),
        revoked_at=_time(revoked_at),
    )


def _token(row: tuple[Any, ...]) -> TokenRecord:
    token_id, user_id, secret_hash, created_at, revoked_at, expires_at, kind, parent_id = row
    created = _time(created_at)
    assert created is not None
    return TokenRecord(
        token_id,
        user_id,
        secret_hash,
        created,
        _time(revoked_at),
        _time(expires_at),
        kind,
        parent_id,
    )


def _find_token(conn: sqlite3.Connection, token_id: str) -> TokenRecord | None:
    row = conn.execute(
        f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE token_id = ?", (token_id,)
    ).fetchone()
    return None if row is None else _token(row)


def write_audit(
    conn: sqlite3.Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    changes: dict[str, Any],
) -> None:
    """One audit row, in the caller's transaction."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, changes)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            ts_text(utcnow()),
            actor,
            action,
            entity,
            entity_id,
            json.dumps(changes, ensure_ascii=False, separators=(",", ":")),
        ),
    )


class SQLiteUsers:
    """The users/tokens/audit part of :class:`~geo_assets.store.sqlite.SQLiteStore`."""

    if TYPE_CHECKING:  # provided by SQLiteStore

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _using(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def create_user(self, user: User, *, actor: str | None = None) -> User:
        stored = user.model_copy(
            update={"created_at": utcnow(), "active": True, "revoked_at": None}
        )
        with self._write() as conn:
            if stored.organisation_id is not None:
                found = conn.execute(
                    "SELECT 1 FROM organisations WHERE id = ?", (stored.organisation_id,)
                ).fetchone()
                if found is None:
                    message = f"organisation `{stored.organisation_id}` does not exist"
                    raise InvalidInputError(
                        f"`organisation_id`: {message}", field="organisation_id"
                    )
            assert stored.created_at is not None
            try:
                conn.execute(
                    "INSERT INTO users (id, name, sort_name, role, organisation_id, active,"
                    " created_at) VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (
                        stored.id,
                        stored.name,
                        sort_name(stored.name),
                        stored.role,
                        stored.organisation_id,
                        ts_text(stored.created_at),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"user `{stored.id}` already exists") from exc
            if actor is not None:
                write_audit(
                    conn, actor, "create", "user", stored.id, stored.model_dump(mode="json")
                )
        return stored

    def _user_row(self, conn: sqlite3.Connection, user_id: str) -> User:
        row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFoundError("user", user_id)
        return _user(row)

    def get_user(self, user_id: str) -> User:
        with self._using() as conn:
            return self._user_row(conn, user_id)

    def list_users(self, *, page: int = 1, per_page: int = 50) -> Page[User]:
        limit, offset = check_page(page, per_page)
        with self._read() as conn:
            total = conn.execute("SELECT count(*) FROM users").fetchone()[0]
            rows = conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users ORDER BY sort_name, id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return Page(items=[_user(r) for r in rows], total=total, page=page, per_page=per_page)

    def revoke_user(self, user_id: str, *, actor: str | None = None) -> User:
        """Deactivate a user and revoke all their tokens; revoking twice changes nothing."""
        with self._write() as conn:
            before = self._user_row(conn, user_id)
            if not before.active:
                return before
            now = ts_text(utcnow())
            conn.execute("UPDATE users SET active = 0, revoked_at = ? WHERE id = ?", (now, user_id))
            conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (now, user_id),
            )
            after = self._user_row(conn, user_id)
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
        # One write transaction at a time: a revocation is wholly before or after this.
        with self._write() as conn:
            if not self._user_row(conn, user_id).active:
                raise ConflictError(f"user `{user_id}` has been revoked; it cannot get tokens")
            if session_of is not None:
                parent = _find_token(conn, session_of)
                if problem := session_parent_problem(parent, user_id, created):
                    raise ConflictError(problem)
                assert parent is not None
                expires_at = session_end(parent, expires_at)
            expiry = None if expires_at is None else ts_text(expires_at)
            try:
                conn.execute(
                    f"INSERT INTO tokens ({_TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
                    (token_id, user_id, secret_hash, ts_text(created), expiry, kind, session_of),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"token `{token_id}` already exists") from exc
        return TokenRecord(
            token_id, user_id, secret_hash, created, None, _time(expiry), kind, session_of
        )

    def revoke_token(self, token_id: str, *, actor: str | None = None) -> bool:
        with self._write() as conn:
            owner = conn.execute(
                "SELECT user_id FROM tokens WHERE token_id = ?", (token_id,)
            ).fetchone()
            if owner is None:
                return False
            now = ts_text(utcnow())
            revoked = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (now, token_id),
            ).rowcount
            sessions = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE parent_id = ? AND revoked_at IS NULL",
                (now, token_id),
            ).rowcount
            if actor is not None and (revoked or sessions):
                changes = revoked_token_audit(token_id, sessions)
                write_audit(conn, actor, "revoke", "user", owner[0], changes)
        return revoked > 0

    def revoke_user_tokens(
        self, user_id: str, *, keep: str | None = None, actor: str | None = None
    ) -> int:
        with self._write() as conn:
            self._user_row(conn, user_id)
            count = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
                " AND token_id IS NOT ?",
                (ts_text(utcnow()), user_id, keep),
            ).rowcount
            if actor is not None and count:
                write_audit(conn, actor, "revoke", "user", user_id, replaced_audit(count, keep))
        return count

    def list_tokens(self, user_id: str) -> list[TokenRecord]:
        with self._using() as conn:
            self._user_row(conn, user_id)
            rows = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE user_id = ?"
                " ORDER BY created_at, token_id",
                (user_id,),
            ).fetchall()
        return [_token(row) for row in rows]

    def delete_expired_tokens(self, before: datetime) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM tokens WHERE kind = 'session' AND expires_at < ?", (ts_text(before),)
            )
            return cursor.rowcount

    def find_token(self, token_id: str) -> TokenRecord | None:
        with self._using() as conn:
            return _find_token(conn, token_id)

    def list_audit(
        self, entity_id: str | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[AuditEntry]:
        """Audit rows, newest first (by ``seq``); only those of ``entity_id`` when given."""
        limit, offset = check_page(page, per_page)
        where, params = ("WHERE entity_id = ?", [entity_id]) if entity_id is not None else ("", [])
        with self._read() as conn:
            total = conn.execute(f"SELECT count(*) FROM audit_log {where}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit_log {where} ORDER BY seq DESC"
                " LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        items = [
            AuditEntry(seq, _time(at), actor, action, entity, eid, json.loads(changes))  # type: ignore[arg-type]
            for seq, at, actor, action, entity, eid, changes in rows
        ]
        return Page(items=items, total=total, page=page, per_page=per_page)
