"""What is specific to the embedded SQLite store (the shared contract is in test_store_contract).

WAL and per-thread connections, the R*Tree really being used, the antimeridian and
the poles, exact distances, all-or-nothing bulk loads, migrations, and the decoded
asset cache never serving stale or shared data.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from factories import FIJI, GEOD, LEEDS, make_asset, make_org, pick_terms
from pydantic import ValidationError
from test_store_contract_filters import forget_filter_columns

from geo_assets import synthetic
from geo_assets.errors import BulkValidationError, InvalidInputError, StoreUnavailableError
from geo_assets.freshness import STALE_AFTER_DAYS, stale_filters
from geo_assets.model import Asset, BBox, Organisation
from geo_assets.store import sqlite as sqlite_store
from geo_assets.store.base import AssetFilters
from geo_assets.store.migrations import migrations
from geo_assets.store.sqlite import SQLiteStore, db_path, fts_query
from geo_assets.store.sqlite_rows import text_words


def _store(path: Path) -> SQLiteStore:
    store = SQLiteStore(f"sqlite:///{path}")
    store.upgrade()
    return store


@pytest.fixture
def store(tmp_path: Path):
    store = _store(tmp_path / "store.sqlite")
    yield store
    store.close()


def _traced_sql(store: SQLiteStore, call) -> list[str]:
    """The statements ``call`` runs on this thread's connection, values inlined."""
    seen: list[str] = []
    conn = store._slot().conn
    conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    return seen


def _file_content(path: Path) -> list[str]:
    """Every table of the file (shadow tables of the R*Tree and FTS included) as SQL text."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


# --- the file and its connections ---------------------------------------------------------------


def test_url_forms(tmp_path: Path) -> None:
    assert db_path("sqlite:///data/x.sqlite") == "data/x.sqlite"
    assert db_path("sqlite:///./x.sqlite") == "./x.sqlite"
    assert db_path("sqlite:////abs/dir/x.sqlite") == "/abs/dir/x.sqlite"
    assert db_path("sqlite:///with%20space.sqlite") == "with space.sqlite"
    for bad in ("postgresql://x/y", "sqlite://x.sqlite", "sqlite:///", "sqlite:///:memory:"):
        with pytest.raises(InvalidInputError) as exc:
            db_path(bad)
        assert exc.value.field == "database_url"
    nested = _store(tmp_path / "a" / "b" / "new.sqlite")  # folders are created
    nested.ping()
    nested.close()


def test_wal_foreign_keys_and_busy_timeout(store: SQLiteStore) -> None:
    conn = store._slot().conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    with sqlite3.connect(store.path) as other:  # WAL is a property of the file
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_upgrade_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    first = store.upgrade()
    assert first == [m.version for m in sqlite_store.migrations("sqlite")] and "0001" in first
    store.create_asset(make_asset(id="kept"))
    before = _file_content(Path(store.path))
    assert store.upgrade() == []
    assert SQLiteStore(store.url).upgrade() == []  # a second process sees the same record
    assert _file_content(Path(store.path)) == before
    rows = store._slot().conn.execute("SELECT version, name, applied_at FROM schema_migrations")
    assert [r[:2] for r in rows] == [(m.version, m.name) for m in migrations("sqlite")]
    store.close()


def test_unreachable_file_is_store_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.sqlite"
    folder.mkdir()
    with pytest.raises(StoreUnavailableError):
        SQLiteStore(f"sqlite:///{folder}").ping()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailableError):
        SQLiteStore(f"sqlite:///{junk}").ping()
    with pytest.raises(StoreUnavailableError, match="db upgrade"):
        SQLiteStore(f"sqlite:///{tmp_path / 'empty.sqlite'}").get_asset("x")


def test_close_then_use_again(store: SQLiteStore) -> None:
    store.create_asset(make_asset(id="a1"))
    store.close()
    assert store.get_asset("a1").id == "a1"  # a fresh connection is opened


_SLOW_COUNT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000)"
    " SELECT count(*) FROM c"
)


def test_close_waits_for_a_statement_running_on_another_thread(store: SQLiteStore) -> None:
    store.create_asset(make_asset(id="a1"))
    running, outcome = threading.Event(), {}

    def slow_read() -> None:
        try:
            with store._read() as conn:
                running.set()
                outcome["count"] = conn.execute(_SLOW_COUNT).fetchone()[0]
                outcome["asset"] = store.get_asset("a1").id  # the same connection, again
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    reader = threading.Thread(target=slow_read)
    reader.start()
    assert running.wait(5)
    store.close()  # returns once the reader's statement is done, then closes its connection
    reader.join(10)
    assert outcome == {"count": 2_000_000, "asset": "a1"}
    assert store.get_asset("a1").id == "a1"  # and the store works on, on fresh connections


def test_close_closes_the_idle_connections_of_other_threads(store: SQLiteStore) -> None:
    def open_files() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if str(fd.resolve()).startswith(str(store.path)))

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to count open files")
    readers = [threading.Thread(target=store.count_assets) for _ in range(3)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    assert open_files() >= 4  # this thread's and three readers' (plus WAL files)
    store.close()
    assert open_files() == 0


def test_many_threads_read_while_one_writes(store: SQLiteStore) -> None:
    terms = pick_terms()
    store.bulk_upsert(
        make_asset(
            source="t",
            source_id=str(i),
            name=f"Group {i}",
            location={"lat": LEEDS[0] + (i % 20) * 0.0005, "lon": LEEDS[1] + (i // 20) * 0.0005},
            categories=[terms.root if i % 2 else terms.other_root],
        )
        for i in range(400)
    )
    filters = AssetFilters(categories=[terms.root])
    want_near = [h.asset.id for h in store.nearby(*LEEDS, 800.0, filters)]
    want_list = [a.id for a in store.list_assets(filters, per_page=1000).items]
    errors: list[BaseException] = []
    start = threading.Barrier(9)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(15):
                assert [h.asset.id for h in store.nearby(*LEEDS, 800.0, filters)] == want_near
                assert [a.id for a in store.list_assets(filters, per_page=1000).items] == want_list
        except BaseException as exc:  # reported below
            errors.append(exc)

    def writer() -> None:
        try:
            start.wait()
            for i in range(30):  # far away and in another category: readers see no change
                far = {"lat": 51.45, "lon": -2.58}
                store.create_asset(
                    make_asset(name=f"Far {i}", location=far, categories=[terms.third_root])
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(store._slots) >= 9  # one connection per thread
    assert store.count_assets() == 430


# --- spatial queries ------------------------------------------------------------------------------


def test_rtree_serves_nearby_and_within(store: SQLiteStore) -> None:
    store.create_asset(make_asset())
    filters = AssetFilters(
        kinds=["group"], statuses=["published"], text="test", categories=[pick_terms().root]
    )
    calls = {
        "nearby": lambda: store.nearby(*LEEDS, 1000.0, filters),
        "within": lambda: store.within(BBox(west=-2, south=53, east=-1, north=54), filters),
    }
    conn = store._slot().conn
    for name, call in calls.items():
        spatial = [s for s in _traced_sql(store, call) if "asset_rtree" in s]
        assert spatial, f"{name} never queried the R*Tree"
        plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + spatial[0]))
        assert "SCAN r VIRTUAL TABLE INDEX" in plan, plan
        assert "SEARCH a USING INTEGER PRIMARY KEY" in plan, plan
        # Each listing's own categories, not every listing in the categories.
        assert "SEARCH c USING PRIMARY KEY (asset_rid=?)" in plan, plan
        assert "asset_categories_category_idx" not in plan, plan


def test_limited_nearby_widens_its_circle_until_it_holds_the_limit(store: SQLiteStore) -> None:
    n = 25
    bearings = np.random.default_rng(9).uniform(0, 360, n)
    metres = [100.0 + 200.0 * i for i in range(n)]  # one listing every 200 m out to 4.9 km
    lons, lats, _ = GEOD.fwd(np.full(n, LEEDS[1]), np.full(n, LEEDS[0]), bearings, metres)
    store.bulk_upsert(
        make_asset(name=f"Ring {i}", source="t", source_id=str(i), location={"lat": a, "lon": o})
        for i, (a, o) in enumerate(zip(lats, lons, strict=True))
    )
    full = [h.asset.id for h in store.nearby(*LEEDS, 5_000.0)]
    assert len(full) == n
    boxes_read = {}
    for limit in (1, 3, 10, 24, 25, 40):
        got: list[str] = []

        def call(k: int = limit, got: list[str] = got) -> None:
            got.extend(h.asset.id for h in store.nearby(*LEEDS, 5_000.0, limit=k))

        boxes_read[limit] = sum("asset_rtree" in sql for sql in _traced_sql(store, call))
        assert got == full[:limit], limit
    # The first circle (625 m) holds three listings: enough for 1 or 3, not for 10.
    assert boxes_read[1] == boxes_read[3] == 1
    assert 1 < boxes_read[10] <= 4 and 1 < boxes_read[40] <= 4
    # A text filter would list its matches again on every widening: one circle only.
    worded = AssetFilters(text="ring")
    hits: list[str] = []
    statements = _traced_sql(
        store,
        lambda: hits.extend(h.asset.id for h in store.nearby(*LEEDS, 5_000.0, worded, limit=10)),
    )
    assert hits == full[:10]
    assert sum("asset_rtree" in sql for sql in statements) == 1


def test_nearby_distances_are_exact_geodesics(store: SQLiteStore) -> None:
    rng = np.random.default_rng(3)
    lats = LEEDS[0] + rng.normal(0, 0.01, 40)
    lons = LEEDS[1] + rng.normal(0, 0.015, 40)
    for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
        store.create_asset(make_asset(id=f"p{i:02d}", location={"lat": lat, "lon": lon}))
    hits = store.nearby(*LEEDS, 1500.0)
    _, _, want = GEOD.inv(np.full(40, LEEDS[1]), np.full(40, LEEDS[0]), lons, lats)
    expected = sorted((d, f"p{i:02d}") for i, d in enumerate(want) if d <= 1500.0)
    assert [(h.asset.id) for h in hits] == [i for _, i in expected]
    for hit, (dist, _) in zip(hits, expected, strict=True):
        assert hit.distance_m == pytest.approx(dist, abs=1e-6)
    first_three = store.nearby(*LEEDS, 1500.0, limit=3)
    assert [h.asset.id for h in first_three] == [i for _, i in expected[:3]]


def test_nearby_and_within_across_the_antimeridian(store: SQLiteStore) -> None:
    lat = FIJI[0]
    points = {"east-side": 179.9995, "west-side": -179.9995, "on-line": 180.0, "far": 0.0}
    for name, lon in points.items():
        store.create_asset(make_asset(id=name, location={"lat": lat, "lon": lon}))
    hits = store.nearby(lat, 179.9999, 500.0)
    assert sorted(h.asset.id for h in hits) == ["east-side", "on-line", "west-side"]
    for hit in hits:
        _, _, dist = GEOD.inv(179.9999, lat, hit.asset.location.lon, lat)
        assert hit.distance_m == pytest.approx(dist, abs=1e-6)
    from_west = store.nearby(lat, -179.9999, 500.0)
    assert {h.asset.id for h in from_west} == {"east-side", "on-line", "west-side"}
    crossing = BBox(west=179.999, south=lat - 0.01, east=-179.999, north=lat + 0.01)
    assert sorted(a.id for a in store.within(crossing)) == ["east-side", "on-line", "west-side"]
    west_only = BBox(west=-180.0, south=lat - 0.01, east=-179.999, north=lat + 0.01)
    assert [a.id for a in store.within(west_only)] == ["west-side"]


def test_nearby_at_and_around_the_pole(store: SQLiteStore) -> None:
    store.create_asset(make_asset(id="pole", location={"lat": 90.0, "lon": 0.0}))
    store.create_asset(make_asset(id="near-pole", location={"lat": 89.9995, "lon": 170.0}))
    store.create_asset(make_asset(id="far", location={"lat": 89.9, "lon": -10.0}))
    hits = store.nearby(89.9999, -95.0, 200.0)
    assert [h.asset.id for h in hits] == ["pole", "near-pole"]
    _, _, to_pole = GEOD.inv(-95.0, 89.9999, 0.0, 90.0)
    assert hits[0].distance_m == pytest.approx(to_pole, abs=1e-6)
    assert [h.asset.id for h in store.nearby(90.0, 0.0, 100.0)] == ["pole", "near-pole"]
    cap = BBox(west=-180, south=89.99, east=180, north=90)
    assert sorted(a.id for a in store.within(cap)) == ["near-pole", "pole"]


def test_within_edges_are_exact_not_rtree_rounded(store: SQLiteStore) -> None:
    # -1.5492 is not a 32-bit float: the R*Tree box is slightly wider than the point.
    store.create_asset(make_asset(id="edge", location={"lat": LEEDS[0], "lon": LEEDS[1]}))
    lat, lon = LEEDS
    assert [a.id for a in store.within(BBox(west=lon, south=lat, east=lon, north=lat))] == ["edge"]
    just_west = BBox(west=lon - 1e-3, south=lat - 1e-3, east=lon - 1e-9, north=lat + 1e-3)
    just_north = BBox(west=lon - 1e-3, south=lat + 1e-9, east=lon + 1e-3, north=lat + 1e-3)
    assert store.within(just_west) == [] and store.within(just_north) == []


# --- writes keep the side tables in step ---------------------------------------------------------


def test_side_tables_follow_updates(store: SQLiteStore) -> None:
    terms = pick_terms()
    store.create_asset(
        make_asset(id="a1", name="Pottery Club", description="Clay", categories=[terms.root])
    )
    store.update_asset(
        "a1",
        {"name": "Straße Walkers", "categories": [terms.other_root], "location": {"lon": -1.0}},
    )
    assert store.count_assets(AssetFilters(text="pottery")) == 0
    assert store.count_assets(AssetFilters(text="STRASS walk")) == 1
    assert store.count_assets(AssetFilters(categories=[terms.root])) == 0
    assert store.count_assets(AssetFilters(categories=[terms.other_root])) == 1
    assert store.nearby(*LEEDS, 1000.0) == []
    assert [h.asset.id for h in store.nearby(LEEDS[0], -1.0, 10.0)] == ["a1"]
    conn = store._slot().conn
    counts = [
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("assets", "asset_rtree", "asset_fts", "asset_categories")
    ]
    assert counts == [1, 1, 1, 1]


def test_text_query_is_quoted_and_words_fold_like_text_terms() -> None:
    assert fts_query(["garden", 'x"y']) == '"garden"* "x""y"*'
    for text in ["Straße O'Brien café_bar 100% x²", "İstanbul ǅemal ①", "tea&cake--now"]:
        assert text_words(text).split() == AssetFilters.model_construct(text=text).text_terms()


def test_bulk_failure_in_a_late_batch_leaves_the_file_unchanged(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BULK_BATCH", 7)  # earlier batches are written first
    store.create_organisation(make_org(id="org-1"))
    first = [
        make_asset(source="src", source_id=str(i), name=f"Group {i}", organisation_id="org-1")
        for i in range(20)
    ]
    store.bulk_upsert(first)
    before = _file_content(Path(store.path))
    records = [
        {**a.model_dump(mode="json", exclude={"id"}), "name": f"Renamed {i}"}
        for i, a in enumerate(first)
    ]
    records += [
        make_asset(source="src", source_id=f"new-{i}").model_dump(mode="json") for i in range(15)
    ]
    records[24]["location"] = {"lat": 123.0, "lon": 0.0}  # row 25, in the fourth batch
    records[31]["organisation_id"] = "no-such-org"  # row 32
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(records)
    assert [(e.row, e.field) for e in exc.value.errors] == [
        (25, "location.lat"),
        (32, "organisation_id"),
    ]
    assert "row 25, field `location.lat`" in str(exc.value)
    assert _file_content(Path(store.path)) == before
    report = store.bulk_upsert(records[:24])  # the good part alone goes through
    assert (report.inserted, report.updated) == (4, 20)
    assert report.ids[:20] == [a.id for a in first]  # stored ids kept for updated keys


def _count_plan(store: SQLiteStore, filters: AssetFilters) -> str:
    """How SQLite means to run ``count_assets(filters)``: the query plan's details."""
    (sql,) = [s for s in _traced_sql(store, lambda: store.count_assets(filters)) if "count" in s]
    plan = store._slot().conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    return " / ".join(row[3] for row in plan)


def test_bulk_loads_keep_the_planner_statistics_current(store: SQLiteStore) -> None:
    """With no statistics SQLite counted the listings that need confirming through the
    status index, reading every published listing (110 ms on 100,000 where none did)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def listings(first: int, n: int) -> list[Asset]:
        return [
            make_asset(
                source="src",
                source_id=str(i),
                name=f"Group {i}",
                last_verified_at=start + timedelta(hours=i),
            )
            for i in range(first, first + n)
        ]

    conn = store._slot().conn
    assert sqlite_store.analysed_listings(conn) is None  # upgraded, but nothing to count
    store.bulk_upsert(listings(0, 200))
    assert sqlite_store.analysed_listings(conn) == 200
    stale = stale_filters(now=start + timedelta(days=STALE_AFTER_DAYS, hours=100))
    assert "assets_verified_idx" in _count_plan(store, stale)
    assert store.count_assets(stale) == 100
    store.bulk_upsert(listings(200, 69))  # under 50 + 10% of 200: the counts still hold
    assert sqlite_store.analysed_listings(conn) == 200
    store.bulk_upsert(listings(269, 70))
    assert sqlite_store.analysed_listings(conn) == 339


def test_upgrade_counts_what_its_migrations_changed(tmp_path: Path) -> None:
    """A migration adds indexes the planner has no statistics for."""
    store = _store(tmp_path / "store.sqlite")
    for i in range(3):  # single writes never analyse
        store.create_asset(make_asset(id=f"a{i}"))
    assert sqlite_store.analysed_listings(store._slot().conn) is None
    store.close()
    forget_filter_columns(store.url, "0012")
    store = SQLiteStore(store.url)
    assert store.upgrade() == ["0012"]
    assert sqlite_store.analysed_listings(store._slot().conn) == 3
    store.close()


def test_bulk_rejects_ids_that_clash(store: SQLiteStore) -> None:
    store.create_asset(make_asset(id="taken"))
    records = [
        make_asset(id="taken", source="s", source_id="1"),
        make_asset(id="twice", source="s", source_id="2"),
        make_asset(id="twice", source="s", source_id="3"),
    ]
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(records)
    assert [(e.row, e.field) for e in exc.value.errors] == [(1, "id"), (3, "id")]
    assert store.count_assets() == 1


# --- the decoded-asset cache ----------------------------------------------------------------------


def test_cached_reads_cannot_be_changed_and_are_never_stale(store: SQLiteStore) -> None:
    store.create_asset(make_asset(id="a1", name="Before"))
    first = store.nearby(*LEEDS, 10.0)[0].asset
    with pytest.raises(ValidationError, match="frozen"):
        first.name = "changed by a caller"  # shared with the next reader: refused
    again = store.list_assets().items[0]
    assert again.name == "Before"
    store.update_asset("a1", {"name": "After"})
    assert store.nearby(*LEEDS, 10.0)[0].asset.name == "After"
    assert [a.name for a in store.within(BBox(west=-2, south=53, east=-1, north=54))] == ["After"]
    assert first.name == "Before"  # what a reader holds does not change under it


def test_cache_is_bounded(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'small.sqlite'}", decoded_cache_size=5)
    store.upgrade()
    store.bulk_upsert(make_asset(source="s", source_id=str(i)) for i in range(12))
    assert len(store.nearby(*LEEDS, 10.0)) == 12
    assert len(store._decoded._items) == 5
    store.close()


def test_decoding_many_documents_is_decoding_each() -> None:
    from geo_assets.store.documents import DecodedCache, decode

    docs = [a.model_dump_json() for a in synthetic.national_assets(3)]
    cache: DecodedCache = DecodedCache(capacity=2)
    first = cache.decode_all(Asset, docs[:2])
    assert first == [decode(Asset, doc) for doc in docs[:2]]
    again = cache.decode_all(Asset, docs[:2])
    assert all(a is b for a, b in zip(again, first, strict=True))  # frozen: shared
    cache.decode_all(Asset, docs[2:])  # the oldest goes
    fresh = cache.decode_all(Asset, docs[:1])
    assert fresh == first[:1] and fresh[0] is not first[0]
    orgs = [Organisation(name=f"Group {i}").model_dump_json() for i in range(2)]
    shared = cache.decode_all(Organisation, orgs)
    copies = cache.decode_all(Organisation, orgs)  # not frozen: callers get copies
    assert copies == shared and all(c is not s for c, s in zip(copies, shared, strict=True))
    assert DecodedCache(capacity=0).decode_all(Asset, docs[:1]) == first[:1]


def test_a_full_cache_forgets_its_oldest_record_first() -> None:
    from geo_assets.store.documents import DecodedCache

    cache: DecodedCache = DecodedCache(capacity=3)
    orgs = {key: Organisation(name=f"Group {key}") for key in "abcde"}
    for key in "abcd":
        cache.put(key, orgs[key])
    assert cache.get("a") is None
    assert [cache.get(k).name for k in "bcd"] == ["Group b", "Group c", "Group d"]
    cache.put("e", orgs["e"])  # a read does not make "b" any younger
    assert cache.get("b") is None and cache.get("c") is not None


def test_cached_records_are_shared_when_frozen_else_shallow_copies() -> None:
    from geo_assets.store.documents import DecodedCache, shallow_copy

    org = Organisation(name="Friends of the Park")
    copied = shallow_copy(org)
    assert copied == org and copied is not org
    assert copied.model_fields_set == org.model_fields_set
    copied.name = "Renamed"
    assert org.name != "Renamed"
    orgs: DecodedCache = DecodedCache(capacity=2)
    first = orgs.put("k", org)
    first.name = "Changed by a caller"
    again = orgs.get("k")
    assert again is not None and again.name == org.name

    asset = next(iter(synthetic.national_assets(1)))
    assets: DecodedCache = DecodedCache(capacity=2)
    assert assets.put("k", asset) is asset and assets.get("k") is asset
