"""A store's backup copy, and putting one back.

A clinic's laptop may hold the only copy of its listings, its users and the plans its
practitioners saved, so a copy must be easy to take while the service runs and hard to
get wrong when it is put back:

- SQLite: SQLite's online backup, in one step: it reads one consistent snapshot while
  the service goes on writing (in WAL mode a reader does not block writers; a backup in
  several steps starts again after every write, and under steady writes may never end).
  The copy is checked (``PRAGMA integrity_check``) under a temporary name and only then
  given its own, so a failed backup never leaves a half-written file under the name
  asked for. Restoring swaps the store's content in one transaction, after keeping a
  copy of what it replaces beside it.
- PostGIS: PostgreSQL's own tools, ``pg_dump --format=custom`` and ``pg_restore``. The
  counts reported are read in the very snapshot the dump is taken from. A restore goes
  into an empty database, in one transaction, so it can neither overwrite nor half-fill
  one; pointing the service at it is then a change of URL.

Backups hold saved plans (special-category data, however pseudonymous) and hashed
tokens, so every file written here is readable and writable by its owner alone (0600).
A restored store is then brought up to date with this version's migrations; stores from
before a table existed are counted without it.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from geo_assets.errors import GeoAssetsError, InvalidInputError, StoreUnavailableError
from geo_assets.store.migrations import Dialect, migrations

# What a summary counts, by the table that holds it.
COUNTED = {
    "listing": "assets",
    "organisation": "organisations",
    "user": "users",
    "saved plan": "plans",
}
BACKUP_MODE = 0o600
# What SQLite leaves beside a database file; a stale one beside a new file would be
# replayed onto it.
_SIDE_FILES = ("-wal", "-shm", "-journal")
# SQLite's answers for a file that is not a database, or is one no longer.
_DAMAGED = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}
_CONNECTION_LOST = re.compile(r"connection to server|could not connect|Connection refused", re.I)


class BackupFailed(GeoAssetsError):
    """A backup or restore could not be completed; nothing was replaced."""


@dataclass(frozen=True)
class StoreSummary:
    """What a store or backup holds: its schema versions and how many of each record."""

    versions: tuple[str, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def schema_version(self) -> str | None:
        return max(self.versions, default=None)

    def describe(self) -> str:
        held = ", ".join(f"{n:,} {what}{'' if n == 1 else 's'}" for what, n in self.counts.items())
        return f"{held} (schema {self.schema_version or 'unknown'})"


@dataclass(frozen=True)
class RestoreReport:
    summary: StoreSummary
    applied: list[str]  # migrations applied after the restore
    kept: Path | None = None  # where the replaced store was kept (SQLite)


def backup_store(url: str, dest: Path, *, overwrite: bool = False) -> StoreSummary:
    """Copy the store at ``url`` to the file ``dest``; what the copy holds."""
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise InvalidInputError(f"{dest} already exists (--force replaces it)", field="path")
    if not dest.parent.is_dir():
        raise InvalidInputError(f"no folder {dest.parent} to write the backup in", field="path")
    if _dialect(url) == "sqlite":
        return _backup_sqlite(Path(_sqlite_file(url)), dest)
    return _backup_postgis(url, dest)


def restore_store(url: str, source: Path) -> RestoreReport:
    """Put the backup ``source`` back as the store at ``url``, then upgrade its schema."""
    from geo_assets.store import open_store

    source = Path(source)
    if not source.is_file():
        raise InvalidInputError(f"no backup file at {source}", field="path")
    kept = None
    if _dialect(url) == "sqlite":
        kept = _restore_sqlite(source, Path(_sqlite_file(url, must_exist=False)))
    else:
        _restore_postgis(url, source)
    store = open_store(url, min_size=1, max_size=1)
    try:
        applied = store.upgrade()
    finally:
        store.close()
    return RestoreReport(summary=_summary_of(url), applied=applied, kept=kept)


def _dialect(url: str) -> Dialect:
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql:", "postgres:")):
        return "postgis"
    raise InvalidInputError(
        "`database_url` must start with sqlite:/// or postgresql://", field="database_url"
    )


def _summary_of(url: str) -> StoreSummary:
    if _dialect(url) == "sqlite":
        path = Path(_sqlite_file(url))
        with closing(sqlite3.connect(path)) as conn:
            return _sqlite_summary(conn, path, "database_url")
    with _postgres(url) as conn:
        return _postgis_summary(conn)


def _check_versions(versions: tuple[str, ...], dialect: Dialect, what: Path) -> None:
    """Refuse a backup whose schema this version of geo-assets does not know.

    Only a restore asks: a backup is taken whatever made the store."""
    unknown = sorted(set(versions) - {m.version for m in migrations(dialect)})
    if unknown:
        raise InvalidInputError(
            f"{what} was made by a newer geo-assets (schema {unknown[-1]}): "
            "upgrade geo-assets before restoring it",
            field="path",
        )


@contextmanager
def _owner_only_file(path: Path, mode: int = BACKUP_MODE) -> Iterator[Path]:
    """A new, empty file beside ``path`` (``mode``: owner only), renamed to ``path`` when
    the block succeeds and removed when it fails. Each call gets its own temporary name,
    so two at once never touch each other's file; SQLite's side files of whatever had
    the name go first, so none is replayed onto the new file."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    temp = Path(name)
    try:
        os.chmod(temp, mode)
        yield temp
        for suffix in _SIDE_FILES:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(temp, path)
    except BaseException:
        for suffix in ("", *_SIDE_FILES):
            Path(f"{temp}{suffix}").unlink(missing_ok=True)
        raise


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_file(url: str, *, must_exist: bool = True) -> str:
    from geo_assets.store.sqlite import db_path

    path = db_path(url)
    if must_exist and not Path(path).is_file():
        raise InvalidInputError(f"no SQLite store at {path}", field="database_url")
    return path


def _sqlite_summary(conn: sqlite3.Connection, what: Path, field: str) -> StoreSummary:
    """What the database holds; ``InvalidInputError`` naming ``what`` (given as ``field``)
    when it is no geo-assets store."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_migrations" not in tables:
        raise InvalidInputError(f"{what} is not a geo-assets store", field=field)
    versions = tuple(r[0] for r in conn.execute("SELECT version FROM schema_migrations"))
    counts = {
        what_: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        for what_, table in COUNTED.items()
        if table in tables
    }
    return StoreSummary(versions, counts)


def _integrity(conn: sqlite3.Connection, what: Path, error: type[GeoAssetsError]) -> None:
    try:
        found = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise error(f"{what} is not a SQLite database: {exc}") from exc
    if found != ["ok"]:
        raise error(f"{what} is damaged: {'; '.join(found[:3])}")


def _copy_sqlite(source: sqlite3.Connection, dest: sqlite3.Connection) -> None:
    source.backup(dest, pages=-1)  # one step: one snapshot, never restarted by a write


def _damaged(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _DAMAGED


def _backup_sqlite(store: Path, dest: Path) -> StoreSummary:
    try:
        with (
            _owner_only_file(dest) as temp,
            closing(sqlite3.connect(store)) as live,
            closing(sqlite3.connect(temp)) as copy,
        ):
            _copy_sqlite(live, copy)
            # One self-contained file: the copy needs no write-ahead log beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
            # The copy has the store's pages: damage found in it is the store's.
            _integrity(copy, store, BackupFailed)
            return _sqlite_summary(copy, store, "database_url")
    except sqlite3.Error as exc:
        raise BackupFailed(f"could not back up {store}: {exc}") from exc


def _keep(live: Path) -> Path:
    """A copy of the store a restore replaces, beside it, whatever state it is in: a
    damaged store is what one restores over, and its bytes (log included) are kept."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = live.with_name(f"{live.name}.before-restore-{stamp}")
    n = 1
    while kept.exists() or Path(f"{kept}-wal").exists():  # two restores in one second
        n += 1
        kept = live.with_name(f"{live.name}.before-restore-{stamp}-{n}")
    # The log's bytes first: SQLite deletes the log of a file it cannot read.
    log = Path(f"{live}-wal")
    log_bytes = log.read_bytes() if log.is_file() else b""
    try:
        with (
            _owner_only_file(kept) as temp,
            closing(sqlite3.connect(live)) as store,
            closing(sqlite3.connect(temp)) as copy,
        ):
            _copy_sqlite(store, copy)  # a readable store's copy holds what its log did
            copy.execute("PRAGMA journal_mode = DELETE")
        return kept
    except sqlite3.Error as exc:
        if not _damaged(exc):
            raise BackupFailed(f"could not keep a copy of {live}: {exc}") from exc
    with _owner_only_file(kept) as temp:
        shutil.copyfile(live, temp)
    if log_bytes:
        with _owner_only_file(Path(f"{kept}-wal")) as temp:
            temp.write_bytes(log_bytes)
    return kept


def _restore_sqlite(source: Path, live: Path) -> Path | None:
    """Put ``source`` in place as the store at ``live``; where the old one was kept."""
    if not live.parent.is_dir():
        raise InvalidInputError(f"no folder {live.parent} for the store", field="database_url")
    with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as backup:
        _integrity(backup, source, InvalidInputError)
        try:
            summary = _sqlite_summary(backup, source, "path")
        except sqlite3.Error as exc:
            raise InvalidInputError(f"{source} could not be read: {exc}", field="path") from exc
        _check_versions(summary.versions, "sqlite", source)
        if not live.is_file():
            with _owner_only_file(live) as temp, closing(sqlite3.connect(temp)) as fresh:
                _copy_sqlite(backup, fresh)
            return None
        kept = _keep(live)
        try:
            _copy_into(backup, live)
        except (sqlite3.Error, BackupFailed) as exc:
            if isinstance(exc, sqlite3.Error) and _damaged(exc):
                _replace_damaged(backup, live)
                return kept
            for suffix in ("", "-wal"):  # nothing was replaced: no copy to keep
                Path(f"{kept}{suffix}").unlink(missing_ok=True)
            if isinstance(exc, BackupFailed):
                raise
            raise BackupFailed(
                f"could not restore into {live}: {exc}; the store is as it was"
            ) from exc
    return kept


def _copy_into(backup: sqlite3.Connection, live: Path) -> None:
    """Copy ``backup`` over the content of the store at ``live``, in one transaction:
    other connections (a running service) see the old store or the restored one, never a
    mixture. A store in WAL mode only takes a copy of its own page size; for another,
    it leaves WAL mode for the copy, which needs nobody else using it."""
    with closing(sqlite3.connect(live, timeout=10)) as target:
        page_size = target.execute("PRAGMA page_size").fetchone()[0]
        if page_size == backup.execute("PRAGMA page_size").fetchone()[0]:
            _copy_sqlite(backup, target)
            return
        mode = target.execute("PRAGMA journal_mode").fetchone()[0]
        if mode == "wal":
            try:
                mode_now = target.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            except sqlite3.OperationalError:  # another connection has it open
                mode_now = "wal"
            if mode_now == "wal":
                raise BackupFailed(
                    f"the backup's page size differs from {live}'s, and the store is in use:"
                    " stop the service, then restore again; the store is as it was"
                )
        _copy_sqlite(backup, target)
        target.execute(f"PRAGMA journal_mode = {mode}")


def _replace_damaged(backup: sqlite3.Connection, live: Path) -> None:
    """Put the backup in place of a file SQLite cannot read (already kept by ``_keep``),
    with the damaged file's permissions; its log goes (``_owner_only_file``)."""
    mode = live.stat().st_mode & 0o777
    with _owner_only_file(live, mode) as temp, closing(sqlite3.connect(temp)) as fresh:
        _copy_sqlite(backup, fresh)


# --- PostGIS --------------------------------------------------------------------------------


@contextmanager
def _postgres(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection; a server that does not answer is ``StoreUnavailableError``, any
    other database error ``BackupFailed``."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(f"PostgreSQL is unavailable: {exc}") from exc
    except psycopg.Error as exc:
        raise BackupFailed(f"PostgreSQL refused: {exc}") from exc


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(
            f"{name} was not found: install PostgreSQL's client tools "
            "(on Debian, the postgresql-client package matching the server)"
        )
    return found


def _tool_args(url: str) -> tuple[str, dict[str, str]]:
    """The connection for pg_dump/pg_restore: a conninfo string without the password,
    which goes in the environment instead, out of every process listing."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def _run(args: list[str], env: Mapping[str, str], what: str) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[-600:] or f"exit status {done.returncode}"
        error = StoreUnavailableError if _CONNECTION_LOST.search(said) else BackupFailed
        raise error(f"{what} failed: {said}")
    return done.stdout


def _value(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    return None if row is None else row[0]


def _postgis_summary(conn: psycopg.Connection[Any]) -> StoreSummary:
    if _value(conn, "SELECT to_regclass('schema_migrations')") is None:
        raise InvalidInputError("this database holds no geo-assets store", field="database_url")
    versions = tuple(r[0] for r in conn.execute("SELECT version FROM schema_migrations"))
    counts = {
        what: int(_value(conn, f"SELECT count(*) FROM {table}"))  # noqa: S608
        for what, table in COUNTED.items()
        if _value(conn, f"SELECT to_regclass('{table}') IS NOT NULL")
    }
    return StoreSummary(versions, counts)


def _backup_postgis(url: str, dest: Path) -> StoreSummary:
    conninfo, env = _tool_args(url)
    pg_dump = _tool("pg_dump")
    with _postgres(url) as conn, _owner_only_file(dest) as temp:
        # The counts and the dump see the same snapshot: pg_dump adopts the one exported
        # here, which lasts while this transaction is open.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = str(_value(conn, "SELECT pg_export_snapshot()"))
        summary = _postgis_summary(conn)
        _run(
            [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={temp}", conninfo],
            env,
            "pg_dump",
        )
        conn.execute("COMMIT")
    return summary


def _restore_list(pg_restore: str, source: Path, env: Mapping[str, str]) -> str:
    """The archive's table of contents, less what an owner of the database alone may not
    restore (the comment PostGIS puts on its own extension)."""
    try:
        listing = _run([pg_restore, "--list", str(source)], env, "reading the backup")
    except BackupFailed as exc:
        raise InvalidInputError(
            f"{source} is not a PostgreSQL backup: {exc}", field="path"
        ) from exc
    if not re.search(r"TABLE DATA \S+ assets ", listing) or "schema_migrations" not in listing:
        raise InvalidInputError(f"{source} is not a backup of a geo-assets store", field="path")
    return "\n".join(
        line for line in listing.splitlines() if not re.search(r" COMMENT - EXTENSION ", line)
    )


def _backup_versions(pg_restore: str, source: Path, env: Mapping[str, str]) -> tuple[str, ...]:
    """The schema versions recorded in the backup, read from its data without restoring it."""
    script = _run(
        [pg_restore, "--data-only", "--table=schema_migrations", "--file=-", str(source)],
        env,
        "reading the backup",
    )
    rows = script.partition("FROM stdin;\n")[2].partition("\n\\.")[0]
    return tuple(line.split("\t", 1)[0] for line in rows.splitlines() if line)


def _restore_postgis(url: str, source: Path) -> None:
    conninfo, env = _tool_args(url)
    pg_restore = _tool("pg_restore")
    listing = _restore_list(pg_restore, source, env)
    _check_versions(_backup_versions(pg_restore, source, env), "postgis", source)
    with _postgres(url) as conn:
        held = _value(
            conn,
            "SELECT to_regclass('assets') IS NOT NULL"
            " OR to_regclass('schema_migrations') IS NOT NULL",
        )
    if held:
        raise InvalidInputError(
            "a backup is restored into an empty database, and this one already holds a "
            "geo-assets store: create one (createdb NAME) and restore into its URL",
            field="database_url",
        )
    # The list goes in a file of its own: the backup's folder may be read-only.
    with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as list_file:
        list_file.write(listing)
        list_file.flush()
        _run(
            [
                pg_restore,
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--use-list={list_file.name}",
                f"--dbname={conninfo}",
                str(source),
            ],
            env,
            "pg_restore",
        )
