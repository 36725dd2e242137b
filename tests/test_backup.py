"""`geo-assets db backup` and `db restore`, on a real SQLite file and a real PostGIS.

A backup must hold everything (listings, organisations, users and their tokens, saved
plans), be readable by its owner alone, and never leave a half-written file; a restore
must refuse what it cannot put back before it touches anything, and keep what it
replaces.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geo_assets.auth import User, authenticate, issue_token
from geo_assets.cli import app
from geo_assets.errors import InvalidInputError
from geo_assets.plans import PlanItem, new_plan
from geo_assets.store import Store, open_store
from geo_assets.store import backup as backup_module
from geo_assets.store.backup import BackupFailed, backup_store, restore_store
from geo_assets.store.migrations import migrations
from geo_assets.store.sqlite import split_statements
from tests.factories import catalogue, catalogue_orgs, dump_assets, make_asset
from tests.postgis_harness import throwaway_database

runner = CliRunner()
LATEST = migrations("sqlite")[-1].version


def _fill(store: Store) -> str:
    """Listings, organisations, a user with a token and a saved plan; the token."""
    for org in catalogue_orgs():
        store.create_organisation(org)
    store.bulk_upsert(catalogue())
    user = store.create_user(User(id="prac-a", name="Ann", role="practitioner"))
    item = PlanItem(
        asset_id="a-1",
        name="Allotment club",
        when="Tuesdays",
        travel="under 15 min walk",
        mode="walk",
    )
    store.save_plan(new_plan("AB-0427", user.id, [item]))
    return issue_token(store, user.id)


def _contents(store: Store) -> tuple[list, list, list, list]:
    orgs = store.list_organisations(per_page=1000).items
    users = store.list_users(per_page=1000).items
    plans = store.list_plans("prac-a").items
    return dump_assets(store), [o.model_dump() for o in orgs], users, plans


def _owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Store, str]]:
    """A filled SQLite store: (url, store, a user's token)."""
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    store = open_store(url)
    store.upgrade()
    token = _fill(store)
    yield url, store, token
    store.close()


# --- SQLite ---------------------------------------------------------------------------------


def test_a_backup_holds_the_whole_store_for_its_owner_alone(live, tmp_path: Path) -> None:
    url, store, token = live
    dest = tmp_path / "copy.sqlite"
    summary = backup_store(url, dest)
    assert _owner_only(dest)
    assert summary.schema_version == LATEST
    assert summary.counts == {
        "listing": len(catalogue()),
        "organisation": len(catalogue_orgs()),
        "user": 1,
        "saved plan": 1,
    }
    assert not list(tmp_path.glob(".*partial*"))
    # One file: the copy needs no write-ahead log beside it.
    with closing(sqlite3.connect(dest)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with closing(open_store(f"sqlite:///{dest}")) as copy:
        assert _contents(copy) == _contents(store)
        assert authenticate(copy, token).id == "prac-a"


def test_a_backup_is_taken_while_another_connection_writes(live, tmp_path: Path) -> None:
    """The service may be mid-write: the backup neither waits for it nor holds the
    unfinished write."""
    url, store, _ = live
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM plans")
    try:
        summary = backup_store(url, tmp_path / "during.sqlite")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert summary.counts["saved plan"] == 1


def test_a_backup_never_replaces_a_file_unless_told(live, tmp_path: Path) -> None:
    url, _, _ = live
    dest = tmp_path / "there.sqlite"
    dest.write_text("precious")
    with pytest.raises(InvalidInputError, match="already exists"):
        backup_store(url, dest)
    assert dest.read_text() == "precious"
    backup_store(url, dest, overwrite=True)
    assert _owner_only(dest) and dest.stat().st_size > 1000


@pytest.mark.parametrize("where", ["no-such-folder/copy.sqlite"])
def test_a_backup_needs_a_folder_and_a_store(live, tmp_path: Path, where: str) -> None:
    url, _, _ = live
    with pytest.raises(InvalidInputError, match="no folder"):
        backup_store(url, tmp_path / where)
    with pytest.raises(InvalidInputError, match="no SQLite store"):
        backup_store(f"sqlite:///{tmp_path / 'absent.sqlite'}", tmp_path / "x.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()


def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(InvalidInputError, match="not a geo-assets store"):
        backup_store(f"sqlite:///{other}", tmp_path / "copy.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]


def test_restoring_puts_back_what_the_backup_held_and_keeps_what_it_replaced(
    live, tmp_path: Path
) -> None:
    url, store, token = live
    before = _contents(store)
    backup = tmp_path / "monday.sqlite"
    backup_store(url, backup)
    # A day's changes: a new listing, one archived, the plan deleted.
    store.create_asset(make_asset(name="Tuesday Knit and Natter"))
    store.archive_asset(before[0][0]["id"])
    store.delete_plan(before[3][0].id)
    changed = _contents(store)

    report = restore_store(url, backup)
    assert report.applied == []
    assert report.summary.counts["listing"] == len(before[0])
    assert _contents(store) == before  # the open store sees the restored content
    assert authenticate(store, token).id == "prac-a"
    assert report.kept is not None and _owner_only(report.kept)
    with closing(open_store(f"sqlite:///{report.kept}")) as kept:
        assert _contents(kept) == changed


def _old_sqlite_store(path: Path, applied: int) -> None:
    """A store as an older geo-assets left it: only the first ``applied`` migrations."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in migrations("sqlite")[:applied]:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00Z')",
                (migration.version, migration.name),
            )


@pytest.mark.parametrize("applied", [1, 4, len(migrations("sqlite")) - 1])
def test_restoring_an_older_backup_brings_its_schema_up_to_date(
    tmp_path: Path, applied: int
) -> None:
    """Stores from before users (0002) or plans (0005) existed are backed up and
    counted without them, and restored with every later migration applied."""
    old = tmp_path / "old.sqlite"
    _old_sqlite_store(old, applied)
    backup = tmp_path / "old-backup.sqlite"
    summary = backup_store(f"sqlite:///{old}", backup)
    assert summary.schema_version == migrations("sqlite")[applied - 1].version
    assert summary.counts["listing"] == 0
    if applied < 5:
        assert "saved plan" not in summary.counts
    url = f"sqlite:///{tmp_path / 'new' / 'store.sqlite'}"
    (tmp_path / "new").mkdir()
    report = restore_store(url, backup)
    assert report.applied == [m.version for m in migrations("sqlite")[applied:]]
    assert report.summary.schema_version == LATEST
    assert set(report.summary.counts) == {"listing", "organisation", "user", "saved plan"}
    assert report.kept is None  # there was no store to keep
    assert _owner_only(tmp_path / "new" / "store.sqlite")
    with closing(open_store(url)) as store:
        store.create_asset(make_asset())
        assert store.count_assets() == 1


def _newer_backup(live, tmp_path: Path) -> Path:
    url, _, _ = live
    newer = tmp_path / "newer.sqlite"
    backup_store(url, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('9999', 'future', '2030-01-01')")
    return newer


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda live, tmp: tmp / "missing.sqlite", "no backup file"),
        (lambda live, tmp: _write(tmp / "junk.sqlite", b"not a database" * 100), "not a SQLite"),
        (lambda live, tmp: _other_database(tmp), "not a geo-assets store"),
        (_newer_backup, "newer geo-assets (schema 9999)"),
    ],
    ids=["missing", "junk", "other-database", "newer-schema"],
)
def test_a_restore_refuses_what_it_cannot_put_back_before_touching_anything(
    live, tmp_path: Path, make, words: str
) -> None:
    url, store, _ = live
    before = _contents(store)
    source = make(live, tmp_path)
    with pytest.raises(InvalidInputError, match=re.escape(words)) as caught:
        restore_store(url, source)
    assert str(source.name) in str(caught.value) or words == "no backup file"
    assert _contents(store) == before
    assert not list(tmp_path.glob("live.sqlite.before-restore-*"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _other_database(tmp: Path) -> Path:
    path = tmp / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    return path


def _damaged_after_a_backup(live, tmp_path: Path, log: bytes | None = None) -> Path:
    """Back the store up, then overwrite its file (and its log, given ``log``) with junk,
    as a failing disk might; the backup."""
    url, store, _ = live
    backup = tmp_path / "good.sqlite"
    backup_store(url, backup)
    store.close()
    path = Path(url.removeprefix("sqlite:///"))
    for part in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        part.unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 512)
    if log is not None:
        Path(f"{path}-wal").write_bytes(log)
    return backup


def test_a_damaged_store_is_restored_over_and_its_bytes_kept(live, tmp_path: Path) -> None:
    url = live[0]
    report = restore_store(url, _damaged_after_a_backup(live, tmp_path))
    assert report.kept is not None and report.kept.read_bytes() == b"\x00garbage" * 512
    assert _owner_only(report.kept)
    with closing(open_store(url)) as restored:
        assert restored.count_assets() == len(catalogue())


def test_a_damaged_stores_log_is_kept_for_its_owner_alone(live, tmp_path: Path) -> None:
    url = live[0]
    path = Path(url.removeprefix("sqlite:///"))
    backup = _damaged_after_a_backup(live, tmp_path, log=b"a log that cannot be replayed")
    report = restore_store(url, backup)
    kept_log = Path(f"{report.kept}-wal")
    assert kept_log.read_bytes() == b"a log that cannot be replayed" and _owner_only(kept_log)
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").read_bytes() != (
        b"a log that cannot be replayed"
    )
    with closing(open_store(url)) as restored:
        assert restored.count_assets() == len(catalogue())


def test_a_restore_that_cannot_copy_leaves_a_healthy_store_as_it_was(live, tmp_path: Path) -> None:
    """A backup of another page size cannot go into a store in WAL mode that the service
    has open: refused, with the store, its permissions and its content as they were.
    With the service stopped, the same backup goes in."""
    url, store, _ = live
    path = Path(url.removeprefix("sqlite:///"))
    os.chmod(path, 0o640)
    big_pages = tmp_path / "big-pages.sqlite"
    backup_store(url, big_pages)
    with closing(sqlite3.connect(big_pages)) as conn:
        conn.execute("PRAGMA page_size = 8192")
        conn.execute("VACUUM")
    assert sqlite3.connect(big_pages).execute("PRAGMA page_size").fetchone()[0] == 8192
    before = _contents(store)
    store.create_asset(make_asset(name="Added after the backup"))
    changed = _contents(store)
    with pytest.raises(BackupFailed, match="page size.*in use"):
        restore_store(url, big_pages)
    assert not list(tmp_path.glob("live.sqlite.before-restore-*"))  # nothing was replaced
    assert _contents(store) == changed and changed != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    store.close()
    report = restore_store(url, big_pages)  # nothing else has the store open now
    with closing(open_store(url)) as reopened:
        assert _contents(reopened) == before
        assert reopened.count_assets() == report.summary.counts["listing"]


def test_a_forced_backup_is_not_spoiled_by_the_old_files_log(live, tmp_path: Path) -> None:
    """--force over a database whose write-ahead log is still beside it: the log goes
    with it, rather than being replayed onto the new backup."""
    url, _, _ = live
    other, dest = tmp_path / "other.sqlite", tmp_path / "dest.sqlite"
    writer = sqlite3.connect(other)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE unrelated (x)")
    writer.execute("INSERT INTO unrelated VALUES (1)")
    writer.commit()
    for suffix in ("", "-wal"):  # as a crash would leave them
        shutil.copyfile(f"{other}{suffix}", f"{dest}{suffix}")
    writer.close()
    summary = backup_store(url, dest, overwrite=True)
    with closing(open_store(f"sqlite:///{dest}")) as copy:
        assert copy.count_assets() == summary.counts["listing"] == len(catalogue())


def test_a_damaged_store_is_named_when_its_backup_fails(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"junk" * 2048)
    url = f"sqlite:///{path}"
    with pytest.raises(BackupFailed, match=f"could not back up {re.escape(str(path))}"):
        backup_store(url, tmp_path / "copy.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sqlite"]
    done = runner.invoke(app, ["--database-url", url, "db", "backup", str(tmp_path / "c")])
    assert done.exit_code == 1 and "could not back up" in done.output


def test_two_restores_in_one_second_keep_both_stores(live, tmp_path: Path) -> None:
    url, store, _ = live
    backup = tmp_path / "b.sqlite"
    backup_store(url, backup)
    first = restore_store(url, backup).kept
    second = restore_store(url, backup).kept
    assert first and second and first != second and first.exists() and second.exists()


def test_the_commands_report_what_they_copied(live, tmp_path: Path) -> None:
    url, _, _ = live
    dest = tmp_path / "cli.sqlite"
    done = runner.invoke(app, ["--database-url", url, "db", "backup", str(dest)])
    assert done.exit_code == 0, done.output
    assert f"backed up to {dest}: {len(catalogue())} listings" in done.output
    assert "1 user, 1 saved plan (schema" in done.output
    again = runner.invoke(app, ["--database-url", url, "db", "backup", str(dest)])
    assert again.exit_code == 2 and "--force" in again.output
    back = runner.invoke(app, ["--database-url", url, "db", "restore", str(dest)])
    assert back.exit_code == 0, back.output
    assert "kept the store it replaced as" in back.output
    assert f"restored from {dest}" in back.output
    junk = _write(tmp_path / "junk.bin", b"junk")
    bad = runner.invoke(app, ["--database-url", url, "db", "restore", str(junk)])
    assert bad.exit_code == 2 and "junk.bin is not a SQLite database" in bad.output


# --- PostGIS --------------------------------------------------------------------------------


@pytest.fixture
def postgis_pair(postgis_server_url: str) -> Iterator[tuple[str, str]]:
    """Two new databases with PostGIS: one filled with a store, one empty."""
    with (
        throwaway_database(postgis_server_url, "geo_assets_backup") as (source, _),
        throwaway_database(postgis_server_url, "geo_assets_restore") as (target, _),
    ):
        yield source, target


@pytest.mark.postgis
def test_postgis_backup_restores_into_an_empty_database(postgis_pair, tmp_path: Path) -> None:
    source_url, target_url = postgis_pair
    source = open_store(source_url, min_size=1, max_size=2)
    source.upgrade()
    token = _fill(source)
    dump = tmp_path / "council.dump"
    try:
        summary = backup_store(source_url, dump)
        assert _owner_only(dump)
        assert summary.counts["listing"] == len(catalogue())
        assert summary.counts["saved plan"] == 1
        report = restore_store(target_url, dump)
        assert report.applied == [] and report.kept is None
        assert report.summary.counts == summary.counts
        with closing(open_store(target_url, min_size=1, max_size=2)) as target:
            assert _contents(target) == _contents(source)
            assert authenticate(target, token).id == "prac-a"
            # The spatial index came back with the rows.
            a = catalogue()[0].location
            near = [(h.asset.id, round(h.distance_m, 3)) for h in source.nearby(a.lat, a.lon, 2000)]
            back = [(h.asset.id, round(h.distance_m, 3)) for h in target.nearby(a.lat, a.lon, 2000)]
            assert near == back and near
    finally:
        source.close()


@pytest.mark.postgis
def test_postgis_restore_refuses_a_database_that_holds_a_store(
    postgis_pair, tmp_path: Path
) -> None:
    source_url, _ = postgis_pair
    source = open_store(source_url, min_size=1, max_size=2)
    source.upgrade()
    _fill(source)
    try:
        dump = tmp_path / "council.dump"
        backup_store(source_url, dump)
        before = _contents(source)
        with pytest.raises(InvalidInputError, match="empty database"):
            restore_store(source_url, dump)
        assert _contents(source) == before
        junk = _write(tmp_path / "junk.dump", b"PGDMP but not really")
        with pytest.raises(InvalidInputError, match="junk.dump is not a PostgreSQL backup"):
            restore_store(source_url, junk)
    finally:
        source.close()


@pytest.mark.postgis
def test_postgis_restore_of_a_newer_schema_is_refused(postgis_pair, tmp_path: Path) -> None:
    source_url, target_url = postgis_pair
    source = open_store(source_url, min_size=1, max_size=2)
    source.upgrade()
    source.close()
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('9999', 'future', now())")
    dump = tmp_path / "future.dump"
    assert backup_store(source_url, dump).schema_version == "9999"  # a backup still works
    with pytest.raises(InvalidInputError, match=r"newer geo-assets \(schema 9999\)"):
        restore_store(target_url, dump)
    with psycopg.connect(target_url) as conn:
        assert conn.execute("SELECT to_regclass('assets')").fetchone() == (None,)


@pytest.mark.postgis
def test_postgis_backup_needs_postgresqls_client_tools(
    postgis_pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_url, _ = postgis_pair
    store = open_store(source_url, min_size=1, max_size=2)
    store.upgrade()
    store.close()
    monkeypatch.setattr(backup_module.shutil, "which", lambda name: None)
    with pytest.raises(BackupFailed, match="pg_dump was not found"):
        backup_store(source_url, tmp_path / "x.dump")
    assert not list(tmp_path.iterdir())


def _old_postgis_store(url: str, applied: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in migrations("postgis")[:applied]:
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                [migration.version, migration.name],
            )


@pytest.mark.postgis
def test_postgis_restore_of_an_older_store_brings_it_up_to_date(
    postgis_pair, tmp_path: Path
) -> None:
    source_url, target_url = postgis_pair
    _old_postgis_store(source_url, 4)
    dump = tmp_path / "old.dump"
    summary = backup_store(source_url, dump)
    assert summary.schema_version == migrations("postgis")[3].version
    assert "saved plan" not in summary.counts
    report = restore_store(target_url, dump)
    assert report.applied == [m.version for m in migrations("postgis")[4:]]
    assert report.summary.schema_version == migrations("postgis")[-1].version
    assert report.summary.counts["saved plan"] == 0


@pytest.mark.postgis
def test_postgis_counts_are_those_of_the_dump_while_listings_are_added(
    postgis_pair, tmp_path: Path
) -> None:
    """The summary and the dump share one snapshot: listings written while pg_dump runs
    are in neither."""
    source_url, target_url = postgis_pair
    source = open_store(source_url, min_size=1, max_size=2)
    source.upgrade()
    _fill(source)
    stop = threading.Event()
    added = []

    def keep_adding() -> None:
        while not stop.is_set():
            added.append(source.create_asset(make_asset(name=f"Added {len(added)}")).id)
            time.sleep(0.002)

    writer = threading.Thread(target=keep_adding)
    writer.start()
    try:
        time.sleep(0.05)
        summary = backup_store(source_url, tmp_path / "moving.dump")
    finally:
        stop.set()
        writer.join()
        source.close()
    restore_store(target_url, tmp_path / "moving.dump")
    with closing(open_store(target_url, min_size=1, max_size=1)) as target:
        assert target.count_assets() == summary.counts["listing"]
    assert len(catalogue()) < summary.counts["listing"] < len(catalogue()) + len(added)


def test_pg_tools_get_the_password_from_the_environment_not_their_arguments() -> None:
    conninfo, env = backup_module._tool_args("postgresql://ann:s3cret@db.example:5433/council")
    assert "s3cret" not in conninfo
    assert "host=db.example" in conninfo and "port=5433" in conninfo
    assert "dbname=council" in conninfo and "user=ann" in conninfo
    assert env["PGPASSWORD"] == "s3cret"
