"""A store's backup copy, and putting one back.

A clinic's laptop may hold the only copy of its listings, its users and the plans its
practitioners saved, so a copy must be easy to take while the service runs and hard to
get wrong when it is put back:

- SQLite: SQLite's online backup copies a consistent snapshot while the service goes on
  writing. The copy is checked (``PRAGMA integrity_check``) under a temporary name and
  only then given its own, so an interrupted backup never leaves a half-written file
  under the name asked for. Restoring replaces the store's content in one step, after
  keeping a copy of what it replaces beside it.
- PostGIS: PostgreSQL's own tools, ``pg_dump --format=custom`` and ``pg_restore``. The
  counts reported are read in the very snapshot the dump is taken from. A restore goes
  into an empty database, in one transaction, so it can neither overwrite nor half-fill
  one; pointing the service at it is then a change of URL.

Backups hold saved plans (special-category data, however pseudonymous) and hashed
tokens, so they are created readable and writable by their owner alone (0600).
A restored store is then brought up to date with this version's migrations.
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
# Pages SQLite copies per step of an online backup; between steps the service may write.
_PAGES_PER_STEP = 4096
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
        return _backup_sqlite(_sqlite_file(url), dest)
    return _backup_postgis(url, dest)


def restore_store(url: str, source: Path) -> RestoreReport:
    """Put the backup ``source`` back as the store at ``url``, then upgrade its schema."""
    from geo_assets.store import open_store

    source = Path(source)
    if not source.is_file():
        raise InvalidInputError(f"no backup file at {source}", field="path")
    if _dialect(url) == "sqlite":
        summary, kept = _restore_sqlite(source, Path(_sqlite_file(url, must_exist=False)))
    else:
        summary, kept = _restore_postgis(url, source), None
    store = open_store(url, min_size=1, max_size=1)
    try:
        applied = store.upgrade()
    finally:
        store.close()
    return RestoreReport(summary=summary, applied=applied, kept=kept)


def _dialect(url: str) -> Dialect:
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql:", "postgres:")):
        return "postgis"
    raise InvalidInputError(
        "`database_url` must start with sqlite:/// or postgresql://", field="database_url"
    )


def _check_versions(summary: StoreSummary, dialect: Dialect, what: Path) -> StoreSummary:
    """``summary``, after refusing a schema this version of geo-assets does not know.

    Only a restore asks: a backup is taken whatever made the store."""
    known = {m.version for m in migrations(dialect)}
    unknown = sorted(set(summary.versions) - known)
    if unknown:
        raise InvalidInputError(
            f"{what} was made by a newer geo-assets (schema {unknown[-1]}): "
            "upgrade geo-assets before restoring it",
            field="path",
        )
    return summary


@contextmanager
def _owner_only_file(path: Path) -> Iterator[Path]:
    """A new, empty file beside ``path`` that only its owner may read, renamed to ``path``
    when the block succeeds and removed when it fails."""
    temp = path.with_name(f".{path.name}.partial")
    temp.unlink(missing_ok=True)
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE))
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_file(url: str, *, must_exist: bool = True) -> str:
    from geo_assets.store.sqlite import db_path

    path = db_path(url)
    if must_exist and not Path(path).is_file():
        raise InvalidInputError(f"no SQLite store at {path}", field="database_url")
    return path


def _sqlite_summary(conn: sqlite3.Connection, what: Path) -> StoreSummary:
    try:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        counts = {
            what_: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for what_, table in COUNTED.items()
        }
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(f"{what} is not a geo-assets store: {exc}", field="path") from exc
    return StoreSummary(tuple(versions), counts)


def _integrity(conn: sqlite3.Connection, what: Path) -> None:
    try:
        found = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(f"{what} is not a SQLite database: {exc}", field="path") from exc
    if found != ["ok"]:
        raise InvalidInputError(f"{what} is damaged: {'; '.join(found[:3])}", field="path")


def _copy_sqlite(source: sqlite3.Connection, dest: sqlite3.Connection) -> None:
    source.backup(dest, pages=_PAGES_PER_STEP)


def _backup_sqlite(path: str, dest: Path) -> StoreSummary:
    with (
        _owner_only_file(dest) as temp,
        closing(sqlite3.connect(path)) as live,
        closing(sqlite3.connect(temp)) as copy,
    ):
        _copy_sqlite(live, copy)
        # One self-contained file: the copy needs no write-ahead log beside it.
        copy.execute("PRAGMA journal_mode = DELETE")
        _integrity(copy, dest)
        return _sqlite_summary(copy, dest)


def _keep(live: Path) -> Path:
    """A copy of the store a restore replaces, beside it, whatever state it is in: a
    damaged store is what one restores over, and its bytes are kept as they are."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = live.with_name(f"{live.name}.before-restore-{stamp}")
    n = 1
    while kept.exists() or Path(f"{kept}-wal").exists():  # two restores in one second
        n += 1
        kept = live.with_name(f"{live.name}.before-restore-{stamp}-{n}")
    with _owner_only_file(kept) as temp:
        try:
            with closing(sqlite3.connect(live)) as store, closing(sqlite3.connect(temp)) as copy:
                _copy_sqlite(store, copy)
        except sqlite3.DatabaseError:
            for suffix in ("", "-wal"):  # the log holds what was written since the last checkpoint
                if (part := Path(f"{live}{suffix}")).is_file():
                    shutil.copyfile(part, f"{temp}{suffix}")
                    os.chmod(f"{temp}{suffix}", BACKUP_MODE)
    if Path(f"{temp}-wal").is_file():
        os.replace(f"{temp}-wal", f"{kept}-wal")
    return kept


def _restore_sqlite(source: Path, live: Path) -> tuple[StoreSummary, Path | None]:
    with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as backup:
        _integrity(backup, source)
        summary = _check_versions(_sqlite_summary(backup, source), "sqlite", source)
        if not live.parent.is_dir():
            raise InvalidInputError(f"no folder {live.parent} for the store", field="database_url")
        kept = _keep(live) if live.is_file() else None
        try:
            # The backup API swaps the whole content in one transaction: other connections
            # (a running service) see the old store or the restored one, never a mixture.
            with closing(sqlite3.connect(live)) as target:
                _copy_sqlite(backup, target)
        except sqlite3.DatabaseError:
            _replace_damaged(backup, live)
    return summary, kept


def _replace_damaged(backup: sqlite3.Connection, live: Path) -> None:
    """Put the backup in place of a file SQLite cannot open (already kept by ``_keep``).

    Its log goes too: replayed onto the restored file, it would damage that as well."""
    with _owner_only_file(live) as temp:
        with closing(sqlite3.connect(temp)) as fresh:
            _copy_sqlite(backup, fresh)
        for suffix in ("-wal", "-shm"):  # before the restored file takes the name
            Path(f"{live}{suffix}").unlink(missing_ok=True)


# --- PostGIS --------------------------------------------------------------------------------


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


def _postgis_summary(conn: psycopg.Connection[Any], what: Path) -> StoreSummary:
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    counts = {
        what_: int(_value(conn, f"SELECT count(*) FROM {table}"))  # noqa: S608
        for what_, table in COUNTED.items()
    }
    return StoreSummary(tuple(versions), counts)


def _backup_postgis(url: str, dest: Path) -> StoreSummary:
    conninfo, env = _tool_args(url)
    pg_dump = _tool("pg_dump")
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(f"PostgreSQL is unavailable: {exc}") from exc
    with conn, _owner_only_file(dest) as temp:
        # The counts and the dump see the same snapshot: pg_dump adopts the one exported
        # here, which lasts while this transaction is open.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = str(_value(conn, "SELECT pg_export_snapshot()"))
        if _value(conn, "SELECT to_regclass('schema_migrations')") is None:
            raise InvalidInputError("this database holds no geo-assets store", field="database_url")
        summary = _postgis_summary(conn, dest)
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


def _restore_postgis(url: str, source: Path) -> StoreSummary:
    conninfo, env = _tool_args(url)
    pg_restore = _tool("pg_restore")
    listing = _restore_list(pg_restore, source, env)
    recorded = StoreSummary(_backup_versions(pg_restore, source, env))
    _check_versions(recorded, "postgis", source)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            held = _value(
                conn,
                "SELECT to_regclass('assets') IS NOT NULL"
                " OR to_regclass('schema_migrations') IS NOT NULL",
            )
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(f"PostgreSQL is unavailable: {exc}") from exc
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
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        summary = _postgis_summary(conn, source)
    return summary
