"""`geo-assets db backup` and `db restore`, on a real SQLite file and a real PostGIS.

A backup must hold everything (listings, organisations, users and their tokens, saved
plans), be readable by its owner alone, and never leave a half-written file; a restore
must refuse what it cannot put back before it touches anything, and keep what it
replaces.
"""

from __future__ import annotations

import re
import sqlite3
import stat
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
        travel="12 min walk",
        minutes=12.0,
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


def test_restoring_an_older_backup_brings_its_schema_up_to_date(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for migration in migrations("sqlite")[:-1]:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00Z')",
                (migration.version, migration.name),
            )
    backup = tmp_path / "old-backup.sqlite"
    assert backup_store(f"sqlite:///{old}", backup).schema_version < LATEST
    url = f"sqlite:///{tmp_path / 'new' / 'store.sqlite'}"
    (tmp_path / "new").mkdir()
    report = restore_store(url, backup)
    assert report.applied == [LATEST]
    assert report.kept is None  # there was no store to keep
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


def test_a_damaged_store_is_restored_over_and_its_bytes_kept(live, tmp_path: Path) -> None:
    url, store, _ = live
    backup = tmp_path / "good.sqlite"
    backup_store(url, backup)
    store.close()
    path = Path(url.removeprefix("sqlite:///"))
    for part in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        part.unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 512)
    report = restore_store(url, backup)
    assert report.kept is not None and report.kept.read_bytes() == b"\x00garbage" * 512
    assert _owner_only(report.kept)
    with closing(open_store(url)) as restored:
        assert restored.count_assets() == len(catalogue())


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
