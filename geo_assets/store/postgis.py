"""The PostGIS store: PostgreSQL + PostGIS through psycopg 3 and a connection pool.

Documents are kept whole in ``doc`` (json) beside the columns queries need:
``geog`` (geography point, GiST), ``categories`` (text[], GIN), ``search``
(tsvector, GIN) and ``sort_name``/``id`` with byte ("C") collation so the order
matches the SQLite store. Reads fetch ``doc::text`` and build models straight from
the JSON text with the trusted decoder (the store wrote and validated every document,
so reads skip the after-validators), through a cache keyed by that text.

The SQL text lives in ``postgis_sql``: every value reaches SQL as a bound parameter,
and the only text assembled at run time is joined from constant fragments.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from itertools import islice
from math import floor
from time import monotonic
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from geo_assets.errors import (
    BulkValidationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RowError,
    StoreUnavailableError,
)
from geo_assets.model import NUL_REFUSED, Asset, BBox, Organisation, utcnow
from geo_assets.store.base import (
    ORGANISATION_IN_USE,
    AssetFilters,
    BulkCollector,
    NearbyHit,
    NearbyQuery,
    NearQuery,
    Page,
    RecordUpdate,
    RecordUpdates,
    UpsertReport,
    bulk_audit,
    check_nearby_each,
    check_page,
    organisation_in_use,
    paused_gc,
    stamp_created,
    stamp_new,
    validated_rows,
)
from geo_assets.store.documents import DecodedCache, decode
from geo_assets.store.migrations import migrations
from geo_assets.store.postgis_gazetteer import PostGISGazetteer
from geo_assets.store.postgis_held import PostGISHeldChanges
from geo_assets.store.postgis_plans import PostGISPlans
from geo_assets.store.postgis_sql import (
    ASSETS_COPY,
    ASSETS_COPY_TYPES,
    BOX_ESTIMATE,
    BULK_ID_TAKEN,
    BULK_MERGE,
    BULK_ORG_MISSING,
    CATEGORY_SHARES,
    INSERT_ASSET,
    ORG_COLUMNS,
    SOURCES_STORED,
    STAGING_COPY,
    STAGING_DDL,
    STAGING_TYPES,
    UPDATE_ASSET,
    CategoryShares,
    asset_values,
    category_shares,
    copy_row,
    filter_sql,
    narrowing,
    nearby_sql,
    one_walk_sql,
    org_values,
    staging_row,
    walk_box,
    walk_pays,
    within_sql,
)
from geo_assets.store.postgis_users import PostGISUsers, write_audit

T = TypeVar("T")

# Key of the advisory lock that serialises concurrent `upgrade()` runs on one database.
_MIGRATION_LOCK_KEY = zlib.crc32(b"geo_assets.schema_migrations")
# Rows per COPY + merge round of a bulk load (an HSDS import of 100,000 services loaded
# in 4.9-5.2 s with 16,384, 5.5-5.9 s with 8,192; the store benchmark saw no difference).
BULK_CHUNK_ROWS = 16384
# A pooled connection idle for longer than this is checked with a round trip before use.
_CHECK_IDLE_AFTER_S = 1.0
# psycopg_pool retries a lost connection with doubling delays (1, 2, 4, ... s) until it gives
# up after `reconnect_timeout`; its default, 5 minutes, would leave the pool waiting up to
# minutes after the database is back. Giving up sooner drops the slot and the next request
# grows the pool again at once, so a returned database is noticed within a few seconds.
_RECONNECT_GIVE_UP_S = 5.0
# How long the category shares read from the planner's statistics are trusted.
_CATEGORY_SHARES_TTL_S = 300.0
# A batch of radius queries (the matcher's candidate pools) is first answered by one
# walk of the box around the circle (``one_walk_sql``), which reads at most this many
# listings; a box holding more is crowded and each query gets its own plan. In the
# national benchmark's quiet towns the median box held 53, and one walk took about a
# third of the time of the separate queries and the density estimate before them.
ONE_WALK_MOST = 400
# Where a walk found the box crowded, the next batches nearby skip it for a while:
# cells of this many degrees (about 5 km), remembered this long, this many at most.
_CROWDED_CELL_DEG = 0.05
_CROWDED_TTL_S = 300.0
_CROWDED_CELLS_MAX = 4096


@contextmanager
def _text_refused() -> Iterator[None]:
    """Text with a NUL character in it becomes ``InvalidInputError``, a 4xx: PostgreSQL
    keeps none in text or JSON. Records refuse it when validated; this catches the rest,
    such as a look-up by an id that holds one, which SQLite simply does not find."""
    try:
        yield
    except psycopg.DataError as exc:
        if isinstance(exc, pg_errors.UntranslatableCharacter) or "NUL (0x00)" in str(exc):
            raise InvalidInputError(f"text {NUL_REFUSED}") from exc
        raise


class PostGISStore(RecordUpdates, PostGISHeldChanges, PostGISUsers, PostGISPlans, PostGISGazetteer):
    """The Store protocol on PostgreSQL + PostGIS (see ``geo_assets.store.base.Store``).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/dbname``.
    min_size, max_size
        Bounds of the connection pool.
    timeout_s
        Seconds an operation waits for a pooled connection before it raises
        ``StoreUnavailableError``; also the connect timeout of each new connection.
    read_cache_size
        How many decoded assets to keep, keyed by their exact stored JSON text (so an
        entry can never be stale). Repeated reads of unchanged rows then skip pydantic
        entirely; 0 turns it off. Cached assets are shared between callers (Asset and
        its parts are frozen; its lists must not be changed in place: to change one,
        copy with ``model_copy(update=...)``).
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout_s: float = 10.0,
        read_cache_size: int = 4096,
    ) -> None:
        self.url = url
        self._timeout_s = timeout_s
        self._max_size = max_size
        self._used_at: WeakKeyDictionary[psycopg.Connection[Any], float] = WeakKeyDictionary()
        # Keyed by the document text itself, so a cached asset can never be stale.
        self._decoded: DecodedCache[Asset] = DecodedCache(read_cache_size)
        self._category_shares = (float("-inf"), CategoryShares())
        self.one_walk_most = ONE_WALK_MOST
        self._crowded = _CrowdedCells()
        # Opening does not block: a server that is down must not stop the app starting;
        # operations wait at most `timeout_s` for a connection, then report it unavailable.
        # Connections autocommit, so a read is one round trip; writes open a transaction.
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(1, round(timeout_s)),
                "application_name": "geo-assets",
            },
            check=self._check_connection,
            timeout=timeout_s,
            reconnect_timeout=_RECONNECT_GIVE_UP_S,
            name="geo-assets",
            open=True,
        )

    # --- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled (autocommit) connection; outages become ``StoreUnavailableError``."""
        try:
            with _text_refused(), self._pool.connection(timeout=self._timeout_s) as conn:
                try:
                    yield conn
                finally:
                    self._used_at[conn] = monotonic()
        except psycopg.OperationalError as exc:  # includes the pool's PoolTimeout/PoolClosed
            raise StoreUnavailableError(f"PostgreSQL is unavailable: {exc}") from exc

    def _read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run read-only ``work`` on a pooled connection.

        If the connection turns out to be dead (the server restarted since it was last
        checked) the pool drops it and ``work`` runs again on the next one: safe, because
        nothing was written. Every pooled connection may be dead, hence max_size + 1 tries.
        """
        try:
            for attempt in range(self._max_size + 1):
                with _text_refused(), self._pool.connection(timeout=self._timeout_s) as conn:
                    try:
                        return work(conn)
                    except psycopg.OperationalError as exc:
                        if attempt == self._max_size or not _connection_died(conn, exc):
                            raise
                    finally:
                        self._used_at[conn] = monotonic()
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"PostgreSQL is unavailable: {exc}") from exc
        raise AssertionError("unreachable")

    def _check_connection(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's ``check``: ``ConnectionPool.check_connection`` (a round trip that lets
        the pool replace a dead connection before handing it out), skipped for a connection
        that worked less than ``_CHECK_IDLE_AFTER_S`` ago, which saves a round trip per
        query under load; a connection that breaks in use is discarded when returned."""
        used_at = self._used_at.get(conn)
        if used_at is None or monotonic() - used_at > _CHECK_IDLE_AFTER_S:
            ConnectionPool.check_connection(conn)

    def __enter__(self) -> PostGISStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> None:
        self._read(lambda conn: conn.execute("SELECT 1"))

    def close(self) -> None:
        self._pool.close()

    def upgrade(self) -> list[str]:
        """Create PostGIS if allowed, then apply pending migrations, each in its own transaction.

        A transaction-scoped advisory lock serialises concurrent runs; each migration is
        re-checked under the lock, so two processes never apply the same one. Tables a
        migration rewrote are vacuumed and analysed after (``Migration.rewrites``).
        """
        applied: list[str] = []
        rewritten: set[str] = set()
        with self._connect() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK_KEY])
                _ensure_postgis(conn)
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
            for migration in migrations("postgis"):
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK_KEY])
                    done = conn.execute(
                        "SELECT 1 FROM schema_migrations WHERE version = %s", [migration.version]
                    ).fetchone()
                    if done:
                        continue
                    conn.execute(migration.sql.encode("utf-8"))  # several statements, no params
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (%s, %s, %s)",
                        [migration.version, migration.name, utcnow()],
                    )
                    applied.append(migration.version)
                    rewritten.update(migration.rewrites)
            # Outside any transaction (VACUUM refuses one); the pool's connections
            # autocommit. Plain VACUUM takes no lock that stops reads or writes.
            for table in sorted(rewritten):
                conn.execute(pgsql.SQL("VACUUM (ANALYZE) {}").format(pgsql.Identifier(table)))
        return applied

    # --- organisations ----------------------------------------------------------------------

    def delete_organisation(self, org_id: str, *, actor: str | None = None) -> None:
        with self._connect() as conn, conn.transaction():
            found = conn.execute(
                "SELECT 1 FROM organisations WHERE id = %s FOR UPDATE", [org_id]
            ).fetchone()
            if found is None:
                raise NotFoundError("organisation", org_id)
            in_use = conn.execute(ORGANISATION_IN_USE.format(p="%s"), [org_id, org_id]).fetchone()
            if in_use is not None and in_use[0]:
                raise organisation_in_use(org_id)
            conn.execute("DELETE FROM organisations WHERE id = %s", [org_id])
            if actor is not None:
                write_audit(conn, actor, "delete", "organisation", org_id, {})

    def create_organisation(self, org: Organisation, *, actor: str | None = None) -> Organisation:
        new: Organisation = stamp_created(org)
        try:
            with self._connect() as conn, conn.transaction():
                conn.execute(
                    f"INSERT INTO organisations ({ORG_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::json)",
                    [new.id, *org_values(new)],
                )
                if actor is not None:
                    doc = new.model_dump(mode="json")
                    write_audit(conn, actor, "create", "organisation", new.id, doc)
        except pg_errors.UniqueViolation as exc:
            raise ConflictError(f"organisation `{new.id}` already exists") from exc
        return new

    def get_organisation(self, org_id: str) -> Organisation:
        return self._read(lambda conn: _get_org(conn, org_id))

    @staticmethod
    def _lock_organisation(conn: psycopg.Connection[Any], org_id: str) -> Organisation:
        return _get_org(conn, org_id, for_update=True)

    @staticmethod
    def _write_organisation(conn: psycopg.Connection[Any], org: Organisation) -> None:
        conn.execute(
            "UPDATE organisations SET name = %s, sort_name = %s, status = %s, source = %s,"
            " source_id = %s, created_at = %s, updated_at = %s, version = %s,"
            " doc = %s::json WHERE id = %s",
            [*org_values(org), org.id],
        )

    def _update_organisation(self, org_id: str, update: RecordUpdate) -> Organisation:
        with self._connect() as conn, conn.transaction():
            current = self._lock_organisation(conn, org_id)
            return self._apply_update(
                conn, current, update, lambda org: self._write_organisation(conn, org)
            )

    def list_organisations(self, *, page: int = 1, per_page: int = 50) -> Page[Organisation]:
        limit, offset = check_page(page, per_page)
        total = self._read(lambda conn: _scalar(conn, "SELECT count(*) FROM organisations", []))
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT doc::text FROM organisations ORDER BY sort_name, id LIMIT %s OFFSET %s",
                [limit, offset],
            ).fetchall()
        )
        items = [_decode_organisation(r[0]) for r in rows]
        return Page(items=items, total=total, page=page, per_page=per_page)

    # --- assets: single records -------------------------------------------------------------

    def create_asset(self, asset: Asset, *, actor: str | None = None) -> Asset:
        new: Asset = stamp_created(asset)
        with self._connect() as conn, _asset_write_errors(new), conn.transaction():
            conn.execute(INSERT_ASSET, [new.id, *asset_values(new)])
            if actor is not None:
                write_audit(conn, actor, "create", "asset", new.id, new.model_dump(mode="json"))
        return new

    def get_asset(self, asset_id: str) -> Asset:
        return self._read(lambda conn: self._get_asset(conn, asset_id))

    def _get_asset(
        self, conn: psycopg.Connection[Any], asset_id: str, *, for_update: bool = False
    ) -> Asset:
        query = "SELECT doc::text FROM assets WHERE id = %s" + (" FOR UPDATE" if for_update else "")
        row = conn.execute(query, [asset_id]).fetchone()
        if row is None:
            raise NotFoundError("asset", asset_id)
        return self._decoded.decode(Asset, row[0])

    def _update_asset(self, asset_id: str, update: RecordUpdate) -> Asset:
        with self._connect() as conn, conn.transaction():
            current = self._get_asset(conn, asset_id, for_update=True)
            return self._apply_update(
                conn, current, update, lambda asset: self._write_asset(conn, asset)
            )

    @staticmethod
    def _write_asset(conn: psycopg.Connection[Any], asset: Asset) -> None:
        """Overwrite the stored row of ``asset`` (its id) with it."""
        with _asset_write_errors(asset):
            conn.execute(UPDATE_ASSET, [*asset_values(asset), asset.id])

    # --- assets: queries --------------------------------------------------------------------

    def list_assets(
        self, filters: AssetFilters | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[Asset]:
        limit, offset = check_page(page, per_page)
        where, params = filter_sql(filters)
        total = self.count_assets(filters)
        rows = self._read(
            lambda conn: conn.execute(
                f"SELECT doc::text FROM assets WHERE {where} ORDER BY sort_name, id"
                " LIMIT %s OFFSET %s",
                [*params, limit, offset],
            ).fetchall()
        )
        items = self._decoded.decode_all(Asset, [r[0] for r in rows])
        return Page(items=items, total=total, page=page, per_page=per_page)

    def count_assets(self, filters: AssetFilters | None = None) -> int:
        where, params = filter_sql(filters)
        return self._read(
            lambda conn: _scalar(conn, f"SELECT count(*) FROM assets WHERE {where}", params)
        )

    def count_assets_by_organisation(
        self, filters: AssetFilters | None = None
    ) -> dict[str | None, int]:
        where, params = filter_sql(filters)
        sql = f"SELECT organisation_id, count(*) FROM assets WHERE {where} GROUP BY 1"
        return self._read(
            lambda conn: {org_id: int(n) for org_id, n in conn.execute(sql, params).fetchall()}
        )

    def nearby(
        self,
        lat: float,
        lon: float,
        radius_m: float,
        filters: AssetFilters | None = None,
        *,
        limit: int | None = None,
    ) -> list[NearbyHit]:
        """Assets within ``radius_m`` metres (WGS84 geodesic) of (lat, lon), nearest first."""
        return self.nearby_each(lat, lon, radius_m, [(filters, limit)])[0]

    def nearby_each(
        self, lat: float, lon: float, radius_m: float, queries: Sequence[NearbyQuery]
    ) -> list[list[NearbyHit]]:
        """``nearby`` for each (filters, limit). Where few listings are near, one walk
        answers them all (``_one_walk``); elsewhere their own plans run pipelined, one
        round trip for them all (and at most one for the density estimate that steers
        the plans)."""
        near = check_nearby_each(lat, lon, radius_m, queries)

        def run(conn: psycopg.Connection[Any]) -> list[list[tuple[str, float]]]:
            stats = self._category_share(conn)
            estimate = None
            if len(queries) > 1:
                answers, estimate = self._one_walk(conn, near, queries, stats.listings)
                if answers is not None:
                    return answers
            in_reach = cache(
                lambda: (
                    estimate
                    if estimate is not None
                    else listings_in_box(conn, near, stats.listings)
                )
            )
            statements = []
            for filters, limit in queries:
                walk = walk_pays(filters, limit, stats, in_reach)
                query, params = nearby_sql(
                    near.lat, near.lon, near.radius_m, filters, limit=limit, walk=walk
                )
                # psycopg prepares a query after a few runs, and PostgreSQL may then plan
                # it once for all values. With a narrowing filter the right plan of a
                # radius query depends on the values (a rare category's index here, the
                # spatial index there), so it is planned afresh each time. The walk's
                # plan is the same whatever the values (its category test cannot use an
                # index): planning it once saved about 1.3 ms of a match in quiet towns.
                prepare = None if walk or not narrowing(filters) else False
                statements.append((query, params, prepare))
            if len(statements) == 1:  # a lone query (plain `nearby`) needs no pipeline
                query, params, prepare = statements[0]
                return [conn.execute(query, params, prepare=prepare).fetchall()]
            with conn.pipeline():
                cursors = [conn.cursor() for _ in statements]
                for cur, (query, params, prepare) in zip(cursors, statements, strict=True):
                    cur.execute(query, params, prepare=prepare)
            return [cur.fetchall() for cur in cursors]

        decode_all = self._decoded.decode_all
        return [
            [
                NearbyHit(asset, d)
                for asset, (_, d) in zip(decode_all(Asset, [r[0] for r in rows]), rows, strict=True)
            ]
            for rows in self._read(run)
        ]

    def _one_walk(
        self,
        conn: psycopg.Connection[Any],
        near: NearQuery,
        queries: Sequence[NearbyQuery],
        listings: float,
    ) -> tuple[list[list[tuple[str, float]]] | None, float | None]:
        """The batch answered by one walk (``one_walk_sql``): (doc, distance) per query,
        or None where the box is crowded, found so now (by the planner's estimate, or by
        the walk itself) or lately; and the estimate of the listings in the box, when the
        walk made one.

        The memory of crowded cells only steers the plan, never the answer: a batch
        there gets the same listings from its separate queries.
        """
        if self._crowded.holds(near):
            return None, None
        most = self.one_walk_most
        built = one_walk_sql(near.lat, near.lon, near.radius_m, queries, most, listings)
        if built is None:
            return None, None
        try:
            rows = conn.execute(*built).fetchall()
        except psycopg.OperationalError:
            raise
        except psycopg.DatabaseError:  # no statistics for the spatial index yet
            if listings <= 0:
                raise
            return None, None
        walked, estimate = rows[0][:2]
        if walked > most or (estimate is not None and estimate > most):
            self._crowded.note(near)
            return None, estimate
        answers: list[list[tuple[str, float]]] = [[] for _ in queries]
        for _walked, _estimate, listing_id, distance, doc, *kept in rows:
            if listing_id is None:  # nothing in reach: the one row says how many were read
                continue
            for answer, keep in zip(answers, kept, strict=True):
                if keep:
                    answer.append((doc, distance))
        return answers, estimate

    def _category_share(self, conn: psycopg.Connection[Any]) -> CategoryShares:
        """Each category's share of the listings, as ANALYZE last counted them.

        Read at most every few minutes: the shares move slowly and only steer the
        choice of plan, never the answer.
        """
        expires, shares = self._category_shares
        if monotonic() < expires:
            return shares
        shares = category_shares(conn.execute(CATEGORY_SHARES).fetchone())
        self._category_shares = (monotonic() + _CATEGORY_SHARES_TTL_S, shares)
        return shares

    def within(self, bbox: BBox, filters: AssetFilters | None = None) -> list[Asset]:
        """Assets whose point lies in the lon/lat box, edges included, by name then id."""
        query, params = within_sql(bbox, filters)
        rows = self._read(lambda conn: conn.execute(query, params).fetchall())
        return self._decoded.decode_all(Asset, [r[0] for r in rows])

    # --- assets: bulk -----------------------------------------------------------------------

    def bulk_upsert(
        self,
        records: Iterable[Asset | Mapping[str, Any]],
        *,
        actor: str | None = None,
        holds: Mapping[str, Mapping[str, Any]] | None = None,
        read_at: Mapping[str, int] | None = None,
    ) -> UpsertReport:
        """Insert or update by (source, source_id) in one transaction; all or nothing.

        The input is validated and serialised in chunks. While none of a chunk's sources
        has listings in the store (a source's first load), the chunk goes by COPY straight
        into ``assets``: nothing can need updating, and the database's own constraints
        catch a taken id or an unknown organisation. Otherwise, and from the first chunk
        that cannot go straight in, each chunk goes by COPY into a temporary table, the
        database names every id or organisation it refuses, and one
        ``INSERT ... ON CONFLICT`` merges it. The merge runs on a worker thread while the
        next chunk is prepared (the wait releases the GIL), so Python and server work
        overlap. Any bad row anywhere rolls the whole load back.
        """
        batch = _BulkBatch(utcnow())
        accepted = batch.accepted(records)
        try:
            with (
                paused_gc(),
                self._connect() as conn,
                conn.transaction(),
                ThreadPoolExecutor(1) as worker,
            ):
                staged = _StagedLoad(conn, worker, batch)
                straight = True
                while chunk := list(islice(accepted, BULK_CHUNK_ROWS)):
                    # Straight in until a chunk cannot be, or a row has failed.
                    straight = straight and not batch.collector.errors
                    straight = straight and batch.copy_first_load(conn, chunk)
                    if not straight:
                        staged.add(chunk)
                staged.finish()
                if batch.collector.errors:
                    batch.collector.errors.sort(key=lambda e: e.row)
                    raise BulkValidationError(batch.collector.errors)
                report = batch.report()
                if actor is not None:
                    write_audit(conn, actor, "bulk_upsert", "asset", None, bulk_audit(report))
                self._merge_holds(
                    conn,
                    holds,
                    actor,
                    lambda c, i: self._get_asset(c, i, for_update=True),
                    report.ids,
                    read_at,
                )
        except pg_errors.IntegrityError as exc:  # a concurrent writer took a key or an id
            raise ConflictError(f"bulk load clashed with another write: {exc}") from exc
        return report


Chunk = tuple[int, Asset]  # (input row, asset)


class _BulkBatch:
    """What one bulk load has seen: validation results, keys in input order, merged rows."""

    def __init__(self, now: datetime) -> None:
        self.now = now  # created_at/updated_at of every row written
        self.collector = BulkCollector()
        self.keys: list[tuple[str, str]] = []
        self.id_rows: dict[str, int] = {}
        self.merged: list[tuple[Any, ...]] = []
        self.first_loaded: set[str] = set()  # sources whose listings all came from this load

    def accepted(self, records: Iterable[Asset | Mapping[str, Any]]) -> Iterator[Chunk]:
        """(row, asset) of the valid records; bad ones are noted in ``collector``."""
        for row, result in validated_rows(records):
            asset = self.collector.accept(row, result)
            if asset is None:
                continue
            if asset.id in self.id_rows:
                self.collector.errors.append(
                    RowError(row, "id", f"repeats the id of row {self.id_rows[asset.id]}")
                )
                continue
            self.id_rows[asset.id] = row
            self.keys.append((asset.source or "", asset.source_id or ""))
            yield row, asset

    def copy_first_load(self, conn: psycopg.Connection[Any], chunk: list[Chunk]) -> bool:
        """COPY ``chunk`` straight into ``assets`` if its sources have no listings but the
        ones this load put there itself (keys are unique within a load).

        False, with nothing written, when a source has other listings (rows may need
        updating) or the database refused a row (an id taken, an unknown organisation, a
        concurrent load of the same source): the staged path then merges the chunk or
        says which rows. Rows are serialised as COPY sends them, so Python and the server
        work side by side.
        """
        sources = sorted({asset.source or "" for _, asset in chunk} - self.first_loaded)
        if sources and conn.execute(SOURCES_STORED, [sources], prepare=False).fetchone():
            return False
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(ASSETS_COPY) as copy:
                copy.set_types(ASSETS_COPY_TYPES)
                for _, asset in chunk:
                    copy.write_row(copy_row(stamp_new(asset, self.now)))
        except pg_errors.IntegrityError:
            return False
        self.first_loaded.update(sources)
        self.merged.extend((a.id, a.source, a.source_id, True) for _, a in chunk)
        return True

    def report(self) -> UpsertReport:
        ids = {(source, source_id): asset_id for asset_id, source, source_id, _ in self.merged}
        inserted = sum(1 for *_, was_insert in self.merged if was_insert)
        return UpsertReport(
            inserted=inserted,
            updated=len(self.merged) - inserted,
            ids=[ids[k] for k in self.keys],
        )


class _StagedLoad:
    """Chunks merged through the temporary staging table, each merge on the worker thread."""

    def __init__(
        self, conn: psycopg.Connection[Any], worker: ThreadPoolExecutor, batch: _BulkBatch
    ) -> None:
        self.conn, self.worker, self.batch = conn, worker, batch
        self.merging: Future[list[tuple[Any, ...]]] | None = None
        self.created = False

    def add(self, chunk: list[Chunk]) -> None:
        conn, batch = self.conn, self.batch
        rows = [staging_row(row, stamp_new(a, batch.now)) for row, a in chunk]  # overlaps the merge
        self.finish()
        conn.execute("TRUNCATE geo_assets_bulk" if self.created else STAGING_DDL, prepare=False)
        self.created = True
        with conn.cursor() as cur, cur.copy(STAGING_COPY) as copy:
            copy.set_types(STAGING_TYPES)
            for row in rows:
                copy.write_row(row)
        # Run even when rows already failed, so the error lists every bad row.
        batch.collector.errors.extend(_database_row_errors(conn))
        if not batch.collector.errors:
            self.merging = self.worker.submit(_merge_staged, conn, batch.now)

    def finish(self) -> None:
        """Wait for the merge in flight, if any."""
        if self.merging is not None:
            self.batch.merged.extend(self.merging.result())
            self.merging = None


def _merge_staged(conn: psycopg.Connection[Any], now: datetime) -> list[tuple[Any, ...]]:
    return conn.execute(BULK_MERGE, {"now": now}, prepare=False).fetchall()


# --- module helpers ---------------------------------------------------------------------------


def _decode_organisation(doc: str) -> Organisation:
    return decode(Organisation, doc)


def _ensure_postgis(conn: psycopg.Connection[Any]) -> None:
    """CREATE EXTENSION postgis where allowed; fine without rights if it already exists."""
    try:
        with conn.transaction():  # a savepoint: a refusal must not end the outer transaction
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except (pg_errors.InsufficientPrivilege, pg_errors.UndefinedFile) as exc:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return
        raise StoreUnavailableError(
            "the PostGIS extension is missing and could not be created "
            f"({exc.sqlstate}: {exc}); install PostGIS on the server and run "
            "`CREATE EXTENSION postgis` as a privileged user"
        ) from exc


def crowded_cell(lat: float, lon: float) -> tuple[int, int]:
    """The cell under which a crowded box is remembered."""
    return floor(lat / _CROWDED_CELL_DEG), floor(lon / _CROWDED_CELL_DEG)


class _CrowdedCells:
    """Where a walk lately found the box crowded: per cell, until when and the smallest
    radius it was crowded at (a wider circle's box holds at least as many listings)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], tuple[float, float]] = {}
        self._lock = threading.Lock()  # writers only; a read is one dict look-up

    def holds(self, near: NearQuery) -> bool:
        until, radius_m = self.cells.get(crowded_cell(near.lat, near.lon), (0.0, 0.0))
        return until > monotonic() and near.radius_m >= radius_m

    def note(self, near: NearQuery) -> None:
        cell, now = crowded_cell(near.lat, near.lon), monotonic()
        with self._lock:
            until, radius_m = self.cells.pop(cell, (0.0, 0.0))  # re-inserted last: oldest go first
            smallest = min(radius_m, near.radius_m) if until > now else near.radius_m
            self.cells[cell] = (now + _CROWDED_TTL_S, smallest)
            while len(self.cells) > _CROWDED_CELLS_MAX:
                del self.cells[next(iter(self.cells))]


def listings_in_box(
    conn: psycopg.Connection[Any], near: NearQuery, listings: float
) -> float | None:
    """The planner's estimate of the listings in the box around a radius query, or None
    when it has none (no statistics yet, or a circle across the antimeridian)."""
    box = walk_box(near.lat, near.lon, near.radius_m)
    if box is None:
        return None
    try:
        row = conn.execute(BOX_ESTIMATE, [*box, listings]).fetchone()
    except psycopg.OperationalError:
        raise
    except psycopg.DatabaseError:  # no statistics for the index yet
        return None
    return None if row is None or row[0] is None else float(row[0])


def _connection_died(conn: psycopg.Connection[Any], exc: psycopg.Error) -> bool:
    """Whether ``exc`` means the connection itself is gone (not a failed statement)."""
    return conn.closed or (exc.sqlstate or "").startswith(("08", "57P01", "57P02", "57P03"))


def _get_org(
    conn: psycopg.Connection[Any], org_id: str, *, for_update: bool = False
) -> Organisation:
    query = "SELECT doc::text FROM organisations WHERE id = %s" + (
        " FOR UPDATE" if for_update else ""
    )
    row = conn.execute(query, [org_id]).fetchone()
    if row is None:
        raise NotFoundError("organisation", org_id)
    return _decode_organisation(row[0])


@contextmanager
def _asset_write_errors(asset: Asset) -> Iterator[None]:
    """Turn constraint failures of one asset write into domain errors."""
    try:
        yield
    except pg_errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "assets_source_key":
            raise ConflictError(
                f"an asset with source `{asset.source}` and source_id `{asset.source_id}`"
                " already exists"
            ) from exc
        raise ConflictError(f"asset `{asset.id}` already exists") from exc
    except pg_errors.ForeignKeyViolation as exc:
        raise InvalidInputError(
            f"`organisation_id`: organisation `{asset.organisation_id}` does not exist",
            field="organisation_id",
        ) from exc


def _scalar(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def _database_row_errors(conn: psycopg.Connection[Any]) -> list[RowError]:
    """Row errors only the database can see: ids taken by other assets, unknown organisations."""
    errors = [
        RowError(row, "id", "is already used by another asset")
        for (row,) in conn.execute(BULK_ID_TAKEN, prepare=False)
    ]
    errors.extend(
        RowError(row, "organisation_id", f"organisation `{org_id}` does not exist")
        for row, org_id in conn.execute(BULK_ORG_MISSING, prepare=False)
    )
    return errors
