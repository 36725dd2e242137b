"""PostGIS-only checks: migrations, indexes, COPY bulk loads, rollback, distances, outages.

Behaviour shared with SQLite is tested in ``test_store_contract.py``; this module
covers what only the PostGIS store has (schema, query plans, COPY, pooling).
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from factories import (
    BRISTOL,
    FIJI,
    LEEDS,
    catalogue,
    catalogue_orgs,
    distances_m,
    make_asset,
    pick_terms,
    reference_within,
    spatial_dataset,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from geo_assets.auth import User
from geo_assets.errors import (
    BulkValidationError,
    ConflictError,
    InvalidInputError,
    StoreUnavailableError,
)
from geo_assets.model import Asset, BBox, utcnow
from geo_assets.store import postgis as postgis_module
from geo_assets.store.base import AssetFilters
from geo_assets.store.migrations import migrations
from geo_assets.store.postgis import BULK_CHUNK_ROWS, PostGISStore
from geo_assets.store.postgis_sql import (
    CATEGORY_SHARES,
    POINT,
    CategoryShares,
    category_shares,
    ewkb_point,
    kept_share,
    nearby_sql,
    prefix_tsquery,
    search_words,
    tsvector_text,
    walk_pays,
    within_sql,
)

pytestmark = pytest.mark.postgis

ALL_VERSIONS = [m.version for m in migrations("postgis")]


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def fresh_db_url(postgis_server_url: str) -> Iterator[str]:
    """An empty database (PostGIS not yet created) for tests of `upgrade()` itself."""
    parts = urlsplit(postgis_server_url)
    name = f"geo_assets_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgis_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(postgis_server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def catalog_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything about the public schema an upgrade could change, from pg_catalog."""
    queries = {
        "relations": "SELECT c.relname, c.relkind::text FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        " ORDER BY 1",
        "columns": "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
        " a.attnotnull, coalesce(co.collname, ''), pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " ORDER BY 1",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
        "extensions": "SELECT extname, extversion FROM pg_extension ORDER BY 1",
        "migrations": "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1",
    }
    with psycopg.connect(url) as conn:
        return {key: conn.execute(q).fetchall() for key, q in queries.items()}


def table_state(url: str) -> list[tuple[Any, ...]]:
    """Every row of both tables as stored (including the system column xmin: rewrites show)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT 'asset', id, version, xmin::text, doc::text FROM assets"
            " UNION ALL SELECT 'org', id, version, xmin::text, doc::text FROM organisations"
            " ORDER BY 1, 2"
        ).fetchall()
    return rows


def spread_assets(n: int, prefix: str = "bulk") -> list[Asset]:
    """``n`` assets on a grid around Leeds (~100 m apart), each with its own source key."""
    base = make_asset(description="Gardening and tea", source="test-bulk", source_id="x")
    side = int(n**0.5) + 1
    return [
        base.model_copy(
            update={
                "id": f"{prefix}-{i:06d}",
                "name": f"Group {i}",
                "source_id": f"{prefix}-{i}",
                "location": base.location.model_copy(
                    update={
                        "lat": LEEDS[0] + (i // side - side / 2) * 0.0009,
                        "lon": LEEDS[1] + (i % side - side / 2) * 0.0015,
                    }
                ),
            }
        )
        for i in range(n)
    ]


def generic_plan(url: str, query: str, params: list[Any]) -> str:
    """EXPLAIN of ``query`` prepared and planned once for all values, as PostgreSQL may
    plan a statement psycopg has prepared (after ANALYZE, so the statistics are real)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute(query, params, prepare=True)
        (name,) = conn.execute(
            "SELECT name FROM pg_prepared_statements WHERE starts_with(statement, %s)",
            [query.split("%s")[0]],  # the text before the first value reads the same there
        ).fetchone()
        values = sql.SQL(", ").join(sql.Literal(v) for v in params)
        explain = sql.SQL("EXPLAIN EXECUTE {}({})").format(sql.Identifier(name), values)
        return "\n".join(r[0] for r in conn.execute(explain).fetchall())


def mixed_listings(n: int = 300, corner: tuple[float, float] = LEEDS) -> list[Asset]:
    """Listings packed north-east of ``corner`` (Leeds), four in five football, the rest
    chess, some drafts."""
    lat, lon = corner
    return [
        make_asset(
            id=f"mix-{i:03d}",
            name=f"{'Knitting' if i % 7 == 0 else 'Club'} {i}",
            location={"lat": lat + (i % 17) * 0.0007, "lon": lon + (i % 23) * 0.0009},
            categories=["sport.football" if i % 5 else "hobbies.games.chess"],
            status="draft" if i % 11 == 0 else "published",
            source="mix",
            source_id=str(i),
        )
        for i in range(n)
    ]


def test_text_with_a_nul_character_is_bad_input_not_a_server_error(
    postgis_store: PostGISStore,
) -> None:
    """PostgreSQL keeps no NUL in text: records refuse it, and whatever else carries one to
    the database (a look-up by such an id) is refused as bad input, on reads and writes."""
    postgis_store.create_asset(make_asset(id="kept"))
    for call in (
        lambda: postgis_store.get_asset("kept\x00"),
        lambda: postgis_store.get_organisation("org\x00"),
        lambda: postgis_store.find_postcode("LS1\x00"),
        lambda: postgis_store.update_asset("kept\x00", {"name": "New"}),
    ):
        with pytest.raises(InvalidInputError, match="NUL character"):
            call()
    assert postgis_store.get_asset("kept").name  # the pooled connections still work


# --- migrations ---------------------------------------------------------------------------------


def test_upgrade_applies_everything_once_and_twice_changes_nothing(fresh_db_url: str) -> None:
    store = PostGISStore(fresh_db_url, max_size=2)
    try:
        assert store.upgrade() == ALL_VERSIONS
        before = catalog_snapshot(fresh_db_url)
        assert store.upgrade() == []
        assert catalog_snapshot(fresh_db_url) == before
    finally:
        store.close()
    assert [r[0] for r in before["migrations"]] == ALL_VERSIONS
    assert "postgis" in [r[0] for r in before["extensions"]]


def _vacuumed(url: str) -> tuple[Any, Any, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT last_vacuum, last_analyze, n_dead_tup FROM pg_stat_user_tables"
            " WHERE relname = 'assets'"
        ).fetchone()


def test_an_upgrade_that_rewrites_listings_vacuums_and_analyses_them(fresh_db_url: str) -> None:
    """A backfill left a dead copy of every row and new columns without statistics:
    the densest centre's match took 39 ms instead of 16 (100,000 listings) until the
    table was vacuumed and analysed. The upgrade now does it."""
    store = PostGISStore(fresh_db_url, max_size=2)
    try:
        store.upgrade()
        store.bulk_upsert(mixed_listings(200))
        # As if the listings were stored before migration 0010 added their cost column.
        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE assets DROP COLUMN session_cost")
            conn.execute("DELETE FROM schema_migrations WHERE version = '0010'")
        before = _vacuumed(fresh_db_url)[0]
        assert before is not None  # the first upgrade's, on no rows yet
        store.close()
        store = PostGISStore(fresh_db_url, max_size=2)  # no connection knows the old shape
        assert store.upgrade() == ["0010"]
        last_vacuum, last_analyze, dead = _vacuumed(fresh_db_url)
        assert last_vacuum > before and last_analyze >= last_vacuum and dead == 0
        # An upgrade with nothing to rewrite leaves the table alone.
        assert store.upgrade() == []
        assert _vacuumed(fresh_db_url)[0] == last_vacuum
    finally:
        store.close()


def test_concurrent_upgrades_apply_each_migration_once(fresh_db_url: str) -> None:
    stores = [PostGISStore(fresh_db_url, max_size=1) for _ in range(3)]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run(store: PostGISStore) -> None:
        try:
            results.append(store.upgrade())
        except BaseException as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in stores:
            s.close()
    assert not errors, errors
    assert sorted(v for r in results for v in r) == ALL_VERSIONS


def test_schema_has_the_indexes_queries_rely_on(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    indexes = dict(catalog_snapshot(postgis_db_url)["indexes"])
    assert "USING gist (geog)" in indexes["assets_geog_idx"]
    assert "USING gist (((geog)::geometry))" in indexes["assets_geom_idx"]
    assert "USING gin (categories)" in indexes["assets_categories_idx"]
    assert "USING gin (search)" in indexes["assets_search_idx"]
    assert "UNIQUE" in indexes["assets_source_key"]


# --- query plans ----------------------------------------------------------------------------


def test_nearby_query_uses_the_gist_index(postgis_store: PostGISStore, postgis_db_url: str) -> None:
    postgis_store.bulk_upsert(spread_assets(5_000))
    query, params = nearby_sql(LEEDS[0], LEEDS[1], 300.0, AssetFilters(statuses=["published"]))
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall())
    assert "assets_geog_idx" in plan, plan
    hits = postgis_store.nearby(LEEDS[0], LEEDS[1], 300.0)
    assert 0 < len(hits) < 100


def test_plan_statistics_count_categories_and_genders(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    assets = spread_assets(1_000)
    women = [
        a.model_copy(
            update={
                "eligibility": a.eligibility.model_copy(update={"gender": "women"}),
                "accessibility": a.accessibility.model_copy(update={"features": ["bsl"]}),
            }
        )
        for a in assets[:100]
    ]
    postgis_store.bulk_upsert([*women, *assets[100:]])
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        stats = category_shares(conn.execute(CATEGORY_SHARES).fetchone())
    assert stats.listings == 1_000
    assert stats.genders == pytest.approx({"any": 0.9, "women": 0.1})
    assert stats.access[32] == pytest.approx(0.1)  # the BSL bit
    assert kept_share(AssetFilters(genders=["women"], access_needs=["bsl"]), stats) == (
        pytest.approx(0.1 * 0.1 / sum(stats.access.values()))
    )
    assert stats.share and all(0 < share <= 1 for share in stats.share.values())


def test_nearest_first_walk_uses_the_planar_index(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    postgis_store.bulk_upsert(spread_assets(5_000))
    query, params = nearby_sql(LEEDS[0], LEEDS[1], 5_000.0, None, limit=20, walk=True)
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall())
    assert "Index Scan using assets_geom_idx" in plan, plan


def test_walk_keeps_its_plan_when_planned_once_for_all_values(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    # The store lets PostgreSQL plan a category walk once (a prepared, generic plan):
    # safe only while that plan still walks the planar index nearest first.
    postgis_store.bulk_upsert(spread_assets(5_000))
    filters = AssetFilters(statuses=["published"], categories=["hobbies.games.chess"])
    query, params = nearby_sql(LEEDS[0], LEEDS[1], 5_000.0, filters, limit=20, walk=True)
    plan = generic_plan(postgis_db_url, query, params)
    assert "Index Scan using assets_geom_idx" in plan, plan
    assert "Order By" in plan and "<->" in plan, plan
    assert "assets_categories_idx" not in plan, plan


def test_within_query_uses_the_gist_index(postgis_store: PostGISStore, postgis_db_url: str) -> None:
    data = spread_assets(5_000)
    postgis_store.bulk_upsert(data)
    box = BBox(west=LEEDS[1] - 0.004, south=LEEDS[0] - 0.002, east=LEEDS[1], north=LEEDS[0])
    query, params = within_sql(box)
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall())
    assert "assets_geog_idx" in plan, plan
    got = [a.id for a in postgis_store.within(box)]
    assert len(got) > 3
    assert got == reference_within(data, box)


@pytest.mark.parametrize(
    "box",
    [
        (-1.6, 53.7, -1.5, 53.9),
        (179.9, -17.0, -179.9, -16.6),
        (-180.0, 89.9, 180.0, 90.0),
        (-3.0, 51.0, -1.0, 54.0),
        (10.0, 89.9, 20.0, 90.0),
        (-100.0, -60.0, 100.0, 60.0),
    ],
)
def test_within_matches_lon_lat_box(
    postgis_store: PostGISStore, box: tuple[float, float, float, float]
) -> None:
    data = list(spatial_dataset())
    postgis_store.bulk_upsert(data)
    bbox = BBox(west=box[0], south=box[1], east=box[2], north=box[3])
    assert [a.id for a in postgis_store.within(bbox)] == reference_within(data, bbox)


def test_text_filter_uses_prefix_lexemes() -> None:
    assert search_words("Café Society", "Coffee & conversation; café!") == [
        "café",
        "society",
        "coffee",
        "conversation",
        "café",
    ]
    assert search_words("Straße", "O'Brien 50s") == ["strasse", "o", "brien", "50s"]
    assert prefix_tsquery(["garden", "club"]) == "'garden':* & 'club':*"
    with pytest.raises(ValueError):
        prefix_tsquery(["a'b"])


def test_text_filter_matches_word_prefixes(postgis_store: PostGISStore) -> None:
    for org in catalogue_orgs():
        postgis_store.create_organisation(org)
    postgis_store.bulk_upsert(catalogue())

    def names(text: str) -> set[str]:
        return {a.name for a in postgis_store.list_assets(AssetFilters(text=text)).items}

    assert "Allotment Gardening Club" in names("garden")
    assert "Allotment Gardening Club" not in names("arden")  # prefixes only, not infixes
    assert names("CAFÉ") == names("café") != set()
    assert names("strasse") == {"Straße Walkers"}  # case-folded like text_terms()
    assert names("o brien") == {"O'Brien Drop-in Table Tennis"}


# --- bulk loads -----------------------------------------------------------------------------


@pytest.fixture
def copy_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every COPY statement the store runs, in order."""
    statements: list[str] = []
    real_copy = psycopg.Cursor.copy

    def spy(self: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(statement))
        return real_copy(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    return statements


def _paths(statements: list[str]) -> list[str]:
    """Which way each COPY went: straight into assets, or into the staging table."""
    return ["straight" if s.startswith("COPY assets ") else "staged" for s in statements]


def test_bulk_load_goes_through_copy(
    postgis_store: PostGISStore, copy_statements: list[str]
) -> None:
    assets = spread_assets(10_000)
    report = postgis_store.bulk_upsert(assets)
    assert (report.inserted, report.updated) == (10_000, 0)
    assert report.ids == [a.id for a in assets]
    assert copy_statements and all("FROM STDIN" in st for st in copy_statements)
    assert postgis_store.count_assets() == 10_000


def test_a_first_load_goes_straight_in_with_the_rows_a_merge_writes(
    postgis_store: PostGISStore, postgis_db_url: str, copy_statements: list[str]
) -> None:
    for org in catalogue_orgs():
        postgis_store.create_organisation(org)

    def keyed(source: str) -> list[Asset]:
        return [
            a.model_copy(update={"id": f"{source}-{a.id}", "source": source, "source_id": a.id})
            for a in catalogue()
        ]

    postgis_store.create_asset(make_asset(id="seed", source="merged", source_id="seed"))
    copy_statements.clear()
    first = postgis_store.bulk_upsert(keyed("first"))  # no listings of "first" yet
    assert _paths(copy_statements) == ["straight"]
    copy_statements.clear()
    merged = postgis_store.bulk_upsert(keyed("merged"))  # "merged" has one: staged
    assert _paths(copy_statements) == ["staged"]
    assert first.inserted == merged.inserted == len(catalogue()) > 10
    assert first.ids == [f"first-{a.id}" for a in catalogue()]

    columns = (
        "source_id, organisation_id, kind, status, name, sort_name, categories, version,"
        " created_at = updated_at, geog::text, search::text, session_days, min_age, max_age,"
        " is_free, doc::jsonb - 'id' - 'source' - 'created_at' - 'updated_at'"
    )
    with psycopg.connect(postgis_db_url) as conn:

        def rows(source: str) -> list[tuple[Any, ...]]:
            query = f"SELECT {columns} FROM assets WHERE source = %s ORDER BY source_id"
            return conn.execute(query, [source]).fetchall()

        assert rows("first") == [r for r in rows("merged") if r[0] != "seed"]
    found = postgis_store.nearby(*LEEDS, 50_000, AssetFilters(text="garden"))
    assert {"first", "merged"} <= {h.asset.source for h in found}


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=120), st.floats(-180, 180), st.floats(-90, 90))
def test_straight_copy_values_read_back_as_the_merge_builds_them(
    postgis_db_url: str, text: str, lon: float, lat: float
) -> None:
    """What COPY sends for ``search`` and ``geog`` is read by PostgreSQL exactly as the
    staged merge's SQL builds them, for any text the tokenizer may meet."""
    words = search_words(text)
    with psycopg.connect(postgis_db_url) as conn:
        same = conn.execute(
            "SELECT %s::tsvector = array_to_tsvector(%s::text[]),"
            f" %s::geography::text = ({POINT})::text",
            [tsvector_text(words), words, ewkb_point(lon, lat), lon, lat],
        ).fetchone()
    assert same == (True, True)


def test_a_row_refused_after_straight_chunks_undoes_them(
    postgis_store: PostGISStore,
    postgis_db_url: str,
    copy_statements: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgis_module, "BULK_CHUNK_ROWS", 10)
    postgis_store.create_asset(make_asset(id="taken", source="elsewhere", source_id="x"))
    before = table_state(postgis_db_url)
    batch = spread_assets(35)
    batch[26] = batch[26].model_copy(update={"organisation_id": "nobody"})  # row 27, chunk 3
    batch[33] = batch[33].model_copy(update={"id": "taken"})  # row 34, chunk 4
    with pytest.raises(BulkValidationError) as info:
        postgis_store.bulk_upsert(batch)
    assert [(e.row, e.field) for e in info.value.errors] == [(27, "organisation_id"), (34, "id")]
    # Two chunks went straight in; the third was refused there and staged to name its row.
    assert _paths(copy_statements) == ["straight", "straight", "straight", "staged", "staged"]
    assert table_state(postgis_db_url) == before


def test_a_load_turns_to_merging_at_a_source_already_stored(
    postgis_store: PostGISStore, copy_statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgis_module, "BULK_CHUNK_ROWS", 10)
    old = postgis_store.bulk_upsert(spread_assets(5, prefix="old"))
    copy_statements.clear()
    fresh = [a.model_copy(update={"source": "fresh"}) for a in spread_assets(20, prefix="new")]
    again = [a.model_copy(update={"id": f"x-{a.id}"}) for a in spread_assets(5, prefix="old")]
    report = postgis_store.bulk_upsert([*fresh, *again])
    assert _paths(copy_statements) == ["straight", "straight", "staged"]
    assert (report.inserted, report.updated) == (20, 5)
    assert report.ids == [a.id for a in fresh] + old.ids  # updates keep the stored ids
    assert postgis_store.count_assets() == 25


def test_bulk_update_keeps_id_and_created_at(postgis_store: PostGISStore) -> None:
    first = spread_assets(50)
    postgis_store.bulk_upsert(first)
    stored = {a.source_id: a for a in postgis_store.list_assets(per_page=100).items}
    again = [
        a.model_copy(update={"id": f"other-{i}", "name": f"Renamed {i}"})
        for i, a in enumerate(first[:20])
    ]
    report = postgis_store.bulk_upsert([*again, *spread_assets(5, prefix="new")])
    assert (report.inserted, report.updated) == (5, 20)
    assert report.ids[:20] == [a.id for a in first[:20]]  # the stored ids, in input order
    for a in again:
        got = postgis_store.get_asset(stored[a.source_id].id)
        assert got.name == a.name and got.version == 2
        assert got.created_at == stored[a.source_id].created_at
        assert got.created_at is not None and got.updated_at is not None
        assert got.updated_at >= got.created_at


def test_bad_row_in_the_middle_changes_nothing(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    postgis_store.bulk_upsert(spread_assets(300))
    before = table_state(postgis_db_url)
    records: list[Any] = [a.model_dump(mode="json") for a in spread_assets(300)[:150]]
    records += [a.model_dump(mode="json") for a in spread_assets(100, prefix="more")]
    records[124]["location"]["lat"] = 123.0  # row 125
    with pytest.raises(BulkValidationError) as info:
        postgis_store.bulk_upsert(records)
    assert [(e.row, e.field) for e in info.value.errors] == [(125, "location.lat")]
    assert "row 125" in str(info.value)
    assert table_state(postgis_db_url) == before


def test_bad_rows_in_several_chunks_are_all_reported_once(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    before = table_state(postgis_db_url)
    batch = spread_assets(BULK_CHUNK_ROWS + 900)
    batch[4] = batch[4].model_copy(update={"organisation_id": "nobody"})  # row 5, chunk 1
    records: list[Any] = list(batch)
    records[BULK_CHUNK_ROWS + 99] = {"name": "no kind"}  # in the second chunk: invalid
    batch[-1] = batch[-1].model_copy(update={"organisation_id": "nobody"})
    records[-1] = batch[-1]  # last row, chunk 2
    with pytest.raises(BulkValidationError) as info:
        postgis_store.bulk_upsert(records)
    got = [(e.row, e.field) for e in info.value.errors]
    assert (5, "organisation_id") in got and (len(records), "organisation_id") in got
    assert {row for row, _ in got} == {5, BULK_CHUNK_ROWS + 100, len(records)}
    assert len(got) == len(set(got))
    assert table_state(postgis_db_url) == before


def test_rows_only_the_database_can_reject_change_nothing(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    postgis_store.bulk_upsert(spread_assets(40))
    before = table_state(postgis_db_url)
    batch = spread_assets(40)[:10] + spread_assets(10, prefix="late")
    batch[12] = batch[12].model_copy(update={"organisation_id": "no-such-org"})  # row 13
    batch[15] = batch[15].model_copy(update={"id": "bulk-000030"})  # row 16: id of another
    with pytest.raises(BulkValidationError) as info:
        postgis_store.bulk_upsert(batch)
    assert [(e.row, e.field) for e in info.value.errors] == [(13, "organisation_id"), (16, "id")]
    assert table_state(postgis_db_url) == before


# --- distances ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "centre,radius_m",
    [
        (LEEDS, 4_000.0),
        (BRISTOL, 12_000.0),
        ((FIJI[0], 179.99), 8_000.0),
        ((89.97, 10.0), 20_000.0),
    ],
)
def test_distances_agree_with_pyproj(
    postgis_store: PostGISStore, centre: tuple[float, float], radius_m: float
) -> None:
    data = list(spatial_dataset())
    postgis_store.bulk_upsert(data)
    lat, lon = centre
    expected = sorted(
        (float(d), a.id)
        for d, a in zip(distances_m(data, lat, lon), data, strict=True)
        if d <= radius_m
    )
    hits = postgis_store.nearby(lat, lon, radius_m)
    assert len(expected) > 3
    assert [h.asset.id for h in hits] == [i for _, i in expected]
    worst = max(abs(h.distance_m - d) for h, (d, _) in zip(hits, expected, strict=True))
    assert worst < 0.5


# --- availability -------------------------------------------------------------------------------


def test_ping_fails_fast_when_the_server_is_unreachable() -> None:
    store = PostGISStore("postgresql://postgres@127.0.0.1:1/nowhere", timeout_s=1.0)
    try:
        start = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            store.ping()
        with pytest.raises(StoreUnavailableError):
            store.get_asset("x")
        assert time.monotonic() - start < 6
    finally:
        store.close()


def _kill_store_connections(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'geo-assets' AND datname = current_database()"
        ).fetchone()
    time.sleep(0.2)
    return int(row[0]) if row else 0


def test_dead_connections_are_replaced(postgis_store: PostGISStore, postgis_db_url: str) -> None:
    postgis_store.ping()
    assert _kill_store_connections(postgis_db_url) >= 1
    assert postgis_store.count_assets() == 0  # a read retries once on a fresh connection
    postgis_store.ping()
    assert _kill_store_connections(postgis_db_url) >= 1
    time.sleep(1.2)  # idle connections are checked before use, so even a write gets a live one
    postgis_store.create_organisation(catalogue_orgs()[0])
    assert postgis_store.list_organisations().total == 1


def test_closed_store_reports_unavailable(postgis_db_url: str) -> None:
    store = PostGISStore(postgis_db_url, max_size=1)
    store.ping()
    store.close()
    with pytest.raises(StoreUnavailableError):
        store.ping()


@pytest.fixture
def unprivileged_url(fresh_db_url: str) -> Iterator[str]:
    """``fresh_db_url`` as a new role that owns the database but may not create PostGIS."""
    role = f"geo_assets_user_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    parts = urlsplit(fresh_db_url)
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(parts.path.lstrip("/")), sql.Identifier(role)
            )
        )
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port or 5432}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc))
    finally:
        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [role],
            )
            conn.execute(
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(role))
            )
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_upgrade_without_rights_to_create_postgis(unprivileged_url: str, fresh_db_url: str) -> None:
    store = PostGISStore(unprivileged_url, max_size=1, timeout_s=3)
    try:
        try:
            store.ping()
        except StoreUnavailableError:
            pytest.skip("the server does not let the new role log in from here")
        with pytest.raises(StoreUnavailableError, match="CREATE EXTENSION postgis"):
            store.upgrade()
        with psycopg.connect(fresh_db_url, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION postgis")
        assert store.upgrade() == ALL_VERSIONS  # PostGIS exists: no rights needed
        assert store.upgrade() == []
    finally:
        store.close()


# --- scripts/ensure_postgis.sh -------------------------------------------------------------------

ENSURE_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ensure_postgis.sh"

_FAKES = {
    # apt-get install lays out a PostgreSQL 15 + PostGIS and creates a stopped cluster.
    "apt-get": """echo "apt-get $*" >> "$STATE/log"
if [ "$1" = install ]; then
  mkdir -p "$FAKE_ROOT/usr/share/postgresql/15/extension" "$FAKE_ROOT/usr/lib/postgresql/15/bin" \\
    "$FAKE_ROOT/etc/postgresql/15/main"
  touch "$FAKE_ROOT/usr/share/postgresql/15/extension/postgis.control" "$STATE/cluster"
  printf '#!/bin/sh\\n' > "$FAKE_ROOT/usr/lib/postgresql/15/bin/postgres"
  chmod +x "$FAKE_ROOT/usr/lib/postgresql/15/bin/postgres"
  echo "host all all 127.0.0.1/32 scram-sha-256" > "$FAKE_ROOT/etc/postgresql/15/main/pg_hba.conf"
fi""",
    "pg_isready": '[ -f "$STATE/running" ]',
    "pg_lsclusters": '[ -f "$STATE/cluster" ] && echo "15 main 5432 down postgres /x /y"; exit 0',
    "pg_ctlcluster": 'echo "pg_ctlcluster $*" >> "$STATE/log"; '
    '[ "$4" = start ] && touch "$STATE/running"; exit 0',
    "sudo": 'exec "$@"',
}


def _run_ensure(tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    bin_dir, state, root = tmp_path / "bin", tmp_path / "state", tmp_path / "root"
    for d in (bin_dir, state, root):
        d.mkdir(exist_ok=True)
    for name, body in _FAKES.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    run_env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STATE": str(state),
        "FAKE_ROOT": str(root),
        "ENSURE_POSTGIS_ROOT": str(root),
        **env,
    }
    done = subprocess.run(
        ["bash", str(ENSURE_SCRIPT)], env=run_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    log = (state / "log").read_text().splitlines() if (state / "log").exists() else []
    return done.stdout, log


def test_ensure_postgis_sets_up_a_fresh_machine_once(tmp_path: Path) -> None:
    out, log = _run_ensure(tmp_path)
    assert "installing postgresql-15-postgis-3" in out
    assert "starting PostgreSQL cluster 15/main" in out
    assert log[0] == "apt-get update -qq" and log[1].startswith("apt-get install")
    assert log[-1] == "pg_ctlcluster --skip-systemctl-redirect 15 main start"
    hba = (tmp_path / "root/etc/postgresql/15/main/pg_hba.conf").read_text()
    assert hba.startswith("host all postgres 127.0.0.1/32 trust")
    out_again, log_again = _run_ensure(tmp_path)
    assert out_again == "" and log_again == log  # second run: nothing to do


def test_ensure_postgis_only_starts_a_stopped_cluster(tmp_path: Path) -> None:
    _run_ensure(tmp_path)
    (tmp_path / "state/running").unlink()
    (tmp_path / "state/log").unlink()
    hba_before = (tmp_path / "root/etc/postgresql/15/main/pg_hba.conf").read_text()
    out, log = _run_ensure(tmp_path)
    assert out.strip() == "ensure_postgis: starting PostgreSQL cluster 15/main"
    assert log == ["pg_ctlcluster --skip-systemctl-redirect 15 main start"]
    assert (tmp_path / "root/etc/postgresql/15/main/pg_hba.conf").read_text() == hba_before


def test_ensure_postgis_defers_to_the_given_url(tmp_path: Path) -> None:
    out, log = _run_ensure(tmp_path, GEO_ASSETS_TEST_DATABASE_URL="postgresql://x@y/z")
    assert "GEO_ASSETS_TEST_DATABASE_URL is set" in out and log == []


def test_limited_nearby_is_exact_where_sphere_and_spheroid_disagree(postgis_store):
    """The KNN pre-scan ranks by sphere distance; the answer must still be the spheroid k nearest.

    At 60 N a north-south metre and an east-west metre differ most between the two
    models, so points on a ring in every direction put the k-th place in doubt.
    """
    import math

    from factories import make_asset

    centre = (60.0, 25.0)
    assets = []
    for i in range(360):
        bearing = math.radians(i)
        r_m = 800.0 + (i % 7) * 0.3  # near-ties in every direction
        lat = centre[0] + r_m * math.cos(bearing) / 111_400.0
        lon = centre[1] + r_m * math.sin(bearing) / (111_400.0 * math.cos(math.radians(60)))
        assets.append(
            make_asset(
                id=f"ring-{i:03d}",
                location={"lat": lat, "lon": lon},
                source="ring",
                source_id=str(i),
            )
        )
    postgis_store.bulk_upsert(assets)
    everything = postgis_store.nearby(*centre, 2_000)
    for k in (1, 5, 17, 90, 359, 400):
        limited = postgis_store.nearby(*centre, 2_000, limit=k)
        assert [h.asset.id for h in limited] == [h.asset.id for h in everything[:k]]
    # The planar walk cannot see across the antimeridian; the exact step still does.
    dateline = [
        make_asset(
            id=f"dateline-{i:02d}",
            location={"lat": -16.8 + i * 0.0004, "lon": 179.999 if i % 2 else -179.9995},
            source="dateline",
            source_id=str(i),
        )
        for i in range(40)
    ]
    postgis_store.bulk_upsert(dateline)
    every = postgis_store.nearby(-16.8, 179.9998, 5_000)
    assert {h.asset.location.lon < 0 for h in every} == {True, False}
    for k in (1, 3, 10, 40):
        assert [h.asset.id for h in postgis_store.nearby(-16.8, 179.9998, 5_000, limit=k)] == [
            h.asset.id for h in every[:k]
        ]
    # A radius smaller than the k-th hit still caps the answer.
    capped = postgis_store.nearby(*centre, 800.5, limit=50)
    assert all(h.distance_m <= 800.5 for h in capped)
    assert [h.asset.id for h in capped] == [
        h.asset.id for h in everything if h.distance_m <= 800.5
    ][:50]


# --- which plan answers a limited radius query ------------------------------------------------

CHESS = AssetFilters(categories=["hobbies.games.chess"])


SPORT = AssetFilters(categories=["sport"])


def _stats(listings: float, share: dict[str, float]) -> CategoryShares:
    return CategoryShares(listings=listings, share=share)


def _not_asked() -> float:
    raise AssertionError("the box estimate is only for category queries")


@pytest.mark.parametrize(
    ("filters", "limit", "stats", "in_reach", "walk"),
    [
        (None, None, CategoryShares(), None, False),  # no limit: nothing stops a walk early
        (None, 20, CategoryShares(), None, True),
        (AssetFilters(statuses=["published"], kinds=["group"]), 20, CategoryShares(), None, True),
        # What the matcher sends for a person who gave an age and wants free only: broad.
        (AssetFilters(age_min=70, age_max=70, free_only=True), 40, CategoryShares(), None, True),
        # Filters no index answers: the radius plan would test every listing in reach.
        (AssetFilters(weekdays=["tu"], genders=["women"]), 20, CategoryShares(), None, True),
        (AssetFilters(organisation_id="org-1"), 20, CategoryShares(), None, False),
        (AssetFilters(text="chess"), 20, _stats(1e5, {"hobbies.games.chess": 0.5}), None, False),
        # A common category in a dense centre: the walk stops early.
        (CHESS, 40, _stats(1e5, {"hobbies.games.chess": 0.2}), 7_600, True),
        (CHESS, 120, _stats(1e6, {"hobbies.games.chess": 0.04}), 76_000, True),
        # A less common category in a quiet town: reading what is in reach is cheaper.
        (CHESS, 120, _stats(1e6, {"hobbies.games.chess": 0.01}), 2_000, False),
        # A common one there: walking the whole box costs less than its index entries.
        (CHESS, 120, _stats(1e6, {"hobbies.games.chess": 0.04}), 2_000, True),
        # A rare category, even in a dense centre: the walk would pass over too much.
        (CHESS, 120, _stats(1e6, {"hobbies.games.chess": 0.008}), 76_000, False),
        (CHESS, 40, CategoryShares(), 1_000, False),  # no statistics yet
        (CHESS, 40, _stats(1e5, {"hobbies.games.chess": 0.2}), "none", False),  # no box estimate
        # Women only keeps 5% of them: the walk would pass over 20 times as many.
        (
            AssetFilters(categories=["hobbies.games.chess"], genders=["women"]),
            120,
            CategoryShares(1e6, {"hobbies.games.chess": 0.04}, {"any": 0.93, "women": 0.05}),
            76_000,
            False,
        ),
        # So does a need met by 3% of them (BSL), judged by the commonest access masks.
        (
            AssetFilters(categories=["hobbies.games.chess"], access_needs=["bsl"]),
            120,
            CategoryShares(1e6, {"hobbies.games.chess": 0.04}, access={0: 0.6, 1: 0.37, 33: 0.03}),
            76_000,
            False,
        ),
        # Open to a woman keeps nearly all: the walk still pays, as without the filter.
        (
            AssetFilters(categories=["hobbies.games.chess"], genders=["any", "women"]),
            120,
            CategoryShares(1e6, {"hobbies.games.chess": 0.04}, {"any": 0.93, "women": 0.05}),
            76_000,
            True,
        ),
        # A parent counts its children's listings too.
        (SPORT, 90, _stats(1e5, {"sport.football": 0.1, "sport.bowls": 0.1}), 5_000, True),
    ],
)
def test_the_knn_walk_answers_only_when_it_costs_less(
    filters: AssetFilters | None,
    limit: int | None,
    stats: CategoryShares,
    in_reach: float | str | None,
    walk: bool,
) -> None:
    estimate = (
        _not_asked
        if in_reach is None
        else (lambda: None)
        if in_reach == "none"
        else (lambda: float(in_reach))  # type: ignore[arg-type]
    )
    assert walk_pays(filters, limit, stats, estimate) is walk


def test_listings_in_reach_come_from_the_planar_index_statistics(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    from geo_assets.store.base import NearQuery, degree_box
    from geo_assets.store.postgis import listings_in_box

    near = NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=1_000)
    postgis_store.bulk_upsert(spread_assets(5_000))
    ((west, south, east, north),) = degree_box(near.lat, near.lon, near.radius_m)
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        (real,) = conn.execute(
            "SELECT count(*) FROM assets WHERE geog::geometry && ST_MakeEnvelope(%s, %s, %s, %s)",
            [west, south, east, north],
        ).fetchone()
    with postgis_store._connect() as conn:
        estimate = listings_in_box(conn, near, 5_000.0)
    assert real > 100 and estimate is not None
    assert real / 2 <= estimate <= real * 2
    # Across the antimeridian the walk is not bounded by one box: no estimate.
    dateline = NearQuery(lat=-16.8, lon=179.999, radius_m=1_000)
    with postgis_store._connect() as conn:
        assert listings_in_box(conn, dateline, 5_000.0) is None


def test_category_shares_come_from_the_planner_statistics(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    from factories import make_asset

    postgis_store.bulk_upsert(
        [
            make_asset(
                id=f"share-{i:03d}",
                categories=["sport.football" if i % 4 else "hobbies.games.chess"],
                source="share",
                source_id=str(i),
            )
            for i in range(400)
        ]
    )
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
    with postgis_store._connect() as conn:
        stats = postgis_store._category_share(conn)
    assert stats.listings == 400
    assert stats.share["sport.football"] == pytest.approx(0.75, abs=0.05)
    assert stats.share["hobbies.games.chess"] == pytest.approx(0.25, abs=0.05)


@pytest.mark.parametrize("walk", [True, False])
@pytest.mark.parametrize(
    "corner",
    [
        LEEDS,
        (78.22, 15.64),  # Svalbard: a degree of longitude is a fifth of one at the equator
        (89.985, 0.0),  # the circle holds the pole: every longitude is in reach
        (-0.18, -78.47),  # Quito, on the equator
        (-16.8, 179.975),  # Fiji: the circle crosses the antimeridian, no box
    ],
)
def test_limited_category_query_gives_the_k_nearest_with_either_plan(
    postgis_store: PostGISStore,
    monkeypatch: pytest.MonkeyPatch,
    walk: bool,
    corner: tuple[float, float],
) -> None:
    monkeypatch.setattr(postgis_module, "walk_pays", lambda *_: walk)
    postgis_store.bulk_upsert(mixed_listings(corner=corner))
    origin = (corner[0] + 0.002, corner[1] + 0.003)
    for categories in (["hobbies.games.chess"], ["sport"], ["sport.football", "hobbies"]):
        filters = AssetFilters(statuses=["published"], categories=categories)
        everything = postgis_store.nearby(*origin, 1_500, filters)
        assert everything
        for k in (1, 7, 40, 500):
            limited = postgis_store.nearby(*origin, 1_500, filters, limit=k)
            assert [h.asset.id for h in limited] == [h.asset.id for h in everything[:k]]


# --- one walk for a batch of radius queries -------------------------------------------------------


ONE_WALK_BATCH = [
    (AssetFilters(statuses=["published"], categories=["hobbies.games.chess"]), 7),
    (AssetFilters(statuses=["published"], categories=["sport"]), 40),
    (AssetFilters(statuses=["published"]), 15),
    (AssetFilters(text="knitting"), None),
    (None, 3),
]


def _answers(hits_per_query: list[list[Any]]) -> list[list[tuple[str, float]]]:
    return [[(h.asset.id, round(h.distance_m, 3)) for h in hits] for hits in hits_per_query]


@pytest.fixture
def walk_outcomes(postgis_store: PostGISStore, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each batch was answered by the one walk (True) or went to its own plans."""
    outcomes: list[bool] = []
    one_walk = postgis_store._one_walk

    def spy(*args: Any) -> Any:
        answers, estimate = one_walk(*args)
        outcomes.append(answers is not None)
        return answers, estimate

    monkeypatch.setattr(postgis_store, "_one_walk", spy)
    return outcomes


@pytest.mark.parametrize("most", [1_000, 40])
def test_one_walk_answers_a_batch_as_its_separate_queries(
    postgis_store: PostGISStore, walk_outcomes: list[bool], most: int
) -> None:
    postgis_store.one_walk_most = most
    postgis_store.bulk_upsert(mixed_listings())
    for radius in (150.0, 400.0, 1_500.0):
        batch = postgis_store.nearby_each(*LEEDS, radius, ONE_WALK_BATCH)
        alone = [postgis_store.nearby(*LEEDS, radius, f, limit=n) for f, n in ONE_WALK_BATCH]
        assert _answers(batch) == _answers(alone), radius
        assert all(batch[:3])
    # 300 listings within 1.5 km: a walk that may read 1,000 answers every batch; one that
    # may read 40 answers the smallest circle and finds the box around the largest crowded.
    if most == 1_000:
        assert walk_outcomes == [True, True, True]
    else:
        assert walk_outcomes[0] and not walk_outcomes[-1]


def test_one_walk_with_nothing_in_reach(
    postgis_store: PostGISStore, walk_outcomes: list[bool]
) -> None:
    postgis_store.bulk_upsert(mixed_listings())
    assert postgis_store.nearby_each(*BRISTOL, 2_000.0, ONE_WALK_BATCH) == [[]] * 5
    assert walk_outcomes == [True]


def test_a_crowded_cell_skips_the_walk_for_a_while(
    postgis_store: PostGISStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgis_store.one_walk_most = 40
    postgis_store.bulk_upsert(mixed_listings())
    walks: list[float] = []
    built = postgis_module.one_walk_sql

    def counted(lat: float, lon: float, radius_m: float, *rest: Any) -> Any:
        walks.append(radius_m)
        return built(lat, lon, radius_m, *rest)

    monkeypatch.setattr(postgis_module, "one_walk_sql", counted)
    expected = _answers(postgis_store.nearby_each(*LEEDS, 1_000.0, ONE_WALK_BATCH))
    assert walks == [1_000.0]  # crowded: the batch went on to its own plans
    # The same radius or a wider one nearby skips the walk; a narrower one tries again.
    near_leeds = next(
        (LEEDS[0] + dlat, LEEDS[1] + dlon)
        for dlat in (0.001, -0.001)
        for dlon in (0.001, -0.001)
        if postgis_module.crowded_cell(LEEDS[0] + dlat, LEEDS[1] + dlon)
        == postgis_module.crowded_cell(*LEEDS)
    )
    assert _answers(postgis_store.nearby_each(*LEEDS, 1_000.0, ONE_WALK_BATCH)) == expected
    postgis_store.nearby_each(*near_leeds, 3_000.0, ONE_WALK_BATCH)
    postgis_store.nearby_each(*LEEDS, 150.0, ONE_WALK_BATCH)
    assert walks == [1_000.0, 150.0]
    # Once the memory expires the walk is tried again.
    cell, (_, radius) = next(iter(postgis_store._crowded.cells.items()))
    postgis_store._crowded.cells[cell] = (time.monotonic() - 1.0, radius)
    postgis_store.nearby_each(*LEEDS, 1_000.0, ONE_WALK_BATCH)
    assert walks == [1_000.0, 150.0, 1_000.0]


@pytest.mark.parametrize("listings", [0.0, 5_000.0])
def test_one_walk_keeps_its_plan_when_planned_once_for_all_values(
    postgis_store: PostGISStore, postgis_db_url: str, listings: float
) -> None:
    # psycopg prepares the walk after a few runs and PostgreSQL may then plan it once for
    # all values: it must still walk the planar index nearest first and stop early, or a
    # crowded box would be read whole before the walk could find it crowded.
    postgis_store.bulk_upsert(spread_assets(5_000))
    built = postgis_module.one_walk_sql(*LEEDS, 5_000.0, ONE_WALK_BATCH, 400, listings)
    assert built is not None
    plan = generic_plan(postgis_db_url, *built)
    assert "Index Scan using assets_geom_idx" in plan, plan
    assert "Order By" in plan and "<->" in plan, plan


def _geom_index_loops(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> list[int]:
    """How often each scan of the planar index ran when ``query`` was executed."""
    (plan,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, params).fetchone()

    def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    return [
        n["Actual Loops"]
        for n in nodes(plan[0]["Plan"])
        if n.get("Index Name") == "assets_geom_idx"
    ]


def test_the_planners_estimate_keeps_the_walk_out_of_a_crowded_box(
    postgis_store: PostGISStore, postgis_db_url: str
) -> None:
    postgis_store.bulk_upsert(spread_assets(5_000))  # about 380 in the box around 1 km
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")
        for most, crowded in ((40, True), (5_000, False)):
            built = postgis_module.one_walk_sql(*LEEDS, 1_000.0, ONE_WALK_BATCH, most, 5_000.0)
            assert built is not None
            # Crowded by the estimate, the index is never walked: no listing is read.
            assert _geom_index_loops(conn, *built) == ([0] if crowded else [1])
            rows = conn.execute(*built).fetchall()
            walked, estimate = rows[0][:2]
            assert 100 < estimate < 1_000 and (estimate > most) is crowded
            assert (walked == 0) is crowded and (len(rows) == 1) is crowded
        # Without the table's size (never analysed) there is no estimate, and it walks.
        built = postgis_module.one_walk_sql(*LEEDS, 1_000.0, ONE_WALK_BATCH, 40)
        assert built is not None
        assert _geom_index_loops(conn, *built) == [1]
        assert conn.execute(*built).fetchone()[:2] == (41, None)


def test_a_crowded_estimate_steers_the_batchs_own_plans(
    postgis_store: PostGISStore, postgis_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgis_store.one_walk_most = 40
    postgis_store.bulk_upsert(spread_assets(5_000))
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        conn.execute("ANALYZE assets")  # the estimate needs the table's size
    asked: list[float] = []
    monkeypatch.setattr(
        postgis_module, "listings_in_box", lambda *args: asked.append(1.0) or 1_000.0
    )
    root = pick_terms().root  # every listing's category: the choice of plan needs the estimate
    batch = [(AssetFilters(statuses=["published"], categories=[root]), 7), *ONE_WALK_BATCH]
    answers = postgis_store.nearby_each(*LEEDS, 1_000.0, batch)
    assert asked == []  # the walk's own estimate served: no second round trip for it
    alone = [postgis_store.nearby(*LEEDS, 1_000.0, f, limit=n) for f, n in batch]
    assert _answers(answers) == _answers(alone)
    assert len(answers[0]) == 7
    assert list(postgis_store._crowded.cells) == [postgis_module.crowded_cell(*LEEDS)]


@pytest.mark.parametrize(
    ("estimate", "walked"),
    [
        # As if the planar index had no statistics (older PostGIS raised then): an
        # estimate that fails, taking the same five values; the batch's own plans answer.
        ("SELECT 1 / (0 * %s * %s * %s * %s * %s)", False),
        # No estimate at all: the walk goes ahead and finds out for itself.
        ("SELECT NULL::float8 * %s * %s * %s * %s * %s", True),
    ],
)
def test_a_walk_without_an_estimate_still_answers(
    postgis_store: PostGISStore, monkeypatch: pytest.MonkeyPatch, estimate: str, walked: bool
) -> None:
    from geo_assets.store import postgis_sql
    from geo_assets.store.base import NearQuery

    postgis_store.bulk_upsert(mixed_listings())
    with postgis_store._connect() as conn:
        conn.execute("ANALYZE assets")
    monkeypatch.setattr(postgis_sql, "BOX_ESTIMATE", estimate)
    near = NearQuery(lat=LEEDS[0], lon=LEEDS[1], radius_m=1_000.0)
    with postgis_store._connect() as conn:
        answers, made = postgis_store._one_walk(conn, near, ONE_WALK_BATCH, 5_000.0)
    assert (answers is not None, made) == (walked, None)
    if answers is not None:
        alone = [postgis_store.nearby(*LEEDS, 1_000.0, f, limit=n) for f, n in ONE_WALK_BATCH]
        assert [[round(d, 3) for _, d in a] for a in answers] == [
            [round(h.distance_m, 3) for h in hits] for hits in alone
        ]
        assert answers[2]
    answers = postgis_store.nearby_each(*LEEDS, 1_000.0, ONE_WALK_BATCH)
    monkeypatch.undo()
    alone = [postgis_store.nearby(*LEEDS, 1_000.0, f, limit=n) for f, n in ONE_WALK_BATCH]
    assert _answers(answers) == _answers(alone) and answers[2]


def test_no_one_walk_across_the_antimeridian() -> None:
    assert postgis_module.one_walk_sql(FIJI[0], 179.99, 5_000.0, ONE_WALK_BATCH, 400) is None


def test_crowded_cells_remembered_are_bounded(
    postgis_store: PostGISStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgis_module, "_CROWDED_CELLS_MAX", 2)
    postgis_store.one_walk_most = 0  # any listing in the box makes it crowded
    postgis_store.bulk_upsert(mixed_listings(20))
    origins = [(LEEDS[0] + 0.06 * k, LEEDS[1]) for k in range(3)]
    for lat, lon in origins:
        postgis_store.nearby_each(lat, lon, 20_000.0, ONE_WALK_BATCH)
    assert list(postgis_store._crowded.cells) == [
        postgis_module.crowded_cell(*o) for o in origins[1:]
    ]


# --- tokens: a revocation and a sign-in at the same moment --------------------------------------


@pytest.fixture(params=["", "repeatable read"])
def token_store(request: pytest.FixtureRequest, postgis_db_url: str) -> Iterator[PostGISStore]:
    """The store, on connections whose transactions default to ``param`` isolation (the
    token methods must not depend on the database's default)."""
    url = postgis_db_url
    if request.param:
        level = request.param.replace(" ", "\\ ")  # libpq options escape a space
        url += "?options=" + quote(f"-c default_transaction_isolation={level}")
    store = PostGISStore(url, min_size=1, max_size=2)
    store.upgrade()
    _empty_tokens(postgis_db_url)
    store.create_user(User(id="u1", name="Ada", role="practitioner"))
    store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
    yield store
    store.close()


def _empty_tokens(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE tokens, users, audit_log CASCADE")


def _while_the_user_is_locked(
    url: str, work: Any, meanwhile: list[str]
) -> tuple[threading.Thread, list[Any]]:
    """Start ``work`` in a thread while another transaction holds the user row, running
    ``meanwhile`` in that transaction once ``work`` has had time to reach the lock; the
    thread, and what ``work`` returned or raised."""
    outcome: list[Any] = []
    with psycopg.connect(url) as side:  # one transaction, until the block ends
        side.execute("SELECT 1 FROM users WHERE id = 'u1' FOR UPDATE")
        thread = threading.Thread(target=lambda: outcome.append(_outcome(work)))
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "it must wait for the user's row"
        for statement in meanwhile:
            side.execute(statement)
    thread.join(10)
    return thread, outcome


def _outcome(work: Any) -> Any:
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        return exc


def test_a_session_started_as_its_token_is_revoked_is_refused(
    token_store: PostGISStore, postgis_db_url: str
) -> None:
    later = utcnow() + timedelta(hours=12)
    _, (outcome,) = _while_the_user_is_locked(
        postgis_db_url,
        lambda: token_store.add_token(
            "u1", "aaaaaaaaaaaaaab1", "h", expires_at=later, session_of="aaaaaaaaaaaaaaa1"
        ),
        ["UPDATE tokens SET revoked_at = now() WHERE token_id = 'aaaaaaaaaaaaaaa1'"],
    )
    assert isinstance(outcome, ConflictError) and "revoked" in str(outcome)
    assert token_store.find_token("aaaaaaaaaaaaaab1") is None


def test_a_revocation_as_a_session_starts_ends_the_session_too(
    token_store: PostGISStore, postgis_db_url: str
) -> None:
    started = (
        "INSERT INTO tokens (token_id, user_id, secret_hash, created_at, expires_at, kind,"
        " parent_id) VALUES ('aaaaaaaaaaaaaab1', 'u1', 'h', now(), now() + interval '12 hours',"
        " 'session', 'aaaaaaaaaaaaaaa1')"
    )
    for revoke in (
        lambda: token_store.revoke_token("aaaaaaaaaaaaaaa1"),
        lambda: token_store.revoke_user_tokens("u1", keep="aaaaaaaaaaaaaaa1"),
        lambda: token_store.revoke_user("u1"),
    ):
        _empty_tokens(postgis_db_url)
        token_store.create_user(User(id="u1", name="Ada", role="practitioner"))
        token_store.add_token("u1", "aaaaaaaaaaaaaaa1", "h1")
        _, (outcome,) = _while_the_user_is_locked(postgis_db_url, revoke, [started])
        assert not isinstance(outcome, Exception), outcome
        session = token_store.find_token("aaaaaaaaaaaaaab1")
        assert session is not None and session.revoked_at is not None


def test_held_changes_key_their_records_bytewise_as_the_records_do(postgis_db_url: str) -> None:
    """Each id column compares as the records' ids do (COLLATE "C"): joins use the keys'
    indexes, and ties sort as on SQLite."""
    PostGISStore(postgis_db_url, max_size=1).upgrade()
    with psycopg.connect(postgis_db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns"
            " WHERE (table_name, column_name) IN (('held_changes', 'asset_id'),"
            " ('held_organisation_changes', 'organisation_id'), ('assets', 'id'),"
            " ('organisations', 'id'))"
        ).fetchall()
    assert {(t, c): coll for t, c, coll in rows} == {
        ("assets", "id"): "C",
        ("organisations", "id"): "C",
        ("held_changes", "asset_id"): "C",
        ("held_organisation_changes", "organisation_id"): "C",
    }
