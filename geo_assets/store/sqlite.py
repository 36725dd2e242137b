"""The embedded default store: one SQLite file in WAL mode.

Points are indexed by an R*Tree (a coarse, 32-bit prefilter); distances are then
computed exactly on the WGS84 ellipsoid with :class:`pyproj.Geod`, so results
agree with PostGIS ``geography`` to well under a metre. Text search uses FTS5
word-prefix queries. Each thread gets its own connection (FastAPI runs sync
endpoints in a thread pool); writes run in ``BEGIN IMMEDIATE`` transactions.
Reads first select keys and coordinates, then build only the assets they return,
reusing recently decoded ones (see :class:`~geo_assets.store.documents.DecodedCache`).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError, StoreUnavailableError
from geo_assets.geodesy import geodesics_from, point_geodesic_m
from geo_assets.model import Asset, BBox, Organisation, utcnow
from geo_assets.store.base import (
    ORGANISATION_IN_USE,
    AssetFilters,
    NearbyHit,
    NearbyQuery,
    Page,
    RecordUpdate,
    RecordUpdates,
    UpsertReport,
    bulk_audit,
    check_limit,
    check_near,
    check_nearby_each,
    check_page,
    degree_box,
    organisation_in_use,
    paused_gc,
    stamp_created,
    validated_rows,
)
from geo_assets.store.documents import DecodedCache, decode
from geo_assets.store.migrations import migrations
from geo_assets.store.sqlite_filters import GEODESIC_FUNCTION, filter_sql
from geo_assets.store.sqlite_filters import fts_query as fts_query  # re-exported for tests
from geo_assets.store.sqlite_gazetteer import SQLiteGazetteer
from geo_assets.store.sqlite_held import SQLiteHeldChanges
from geo_assets.store.sqlite_plans import SQLitePlans
from geo_assets.store.sqlite_rows import (
    INSERT_ORG,
    UPDATE_ORG,
    AssetKey,
    BulkLoader,
    chunks,
    marks,
    org_values,
    save_assets,
    ts_text,
)
from geo_assets.store.sqlite_users import SQLiteUsers, write_audit

BUSY_TIMEOUT_S = 30.0
# Decoded assets kept for reuse by later reads (about 10 KB each).
DECODED_CACHE_SIZE = 8192
# A limited radius query first searches a circle this many times smaller in radius,
# then widens it by at least 2x, or by this slack over what the density seen so far
# says would hold enough listings.
FIRST_RING_SHARE = 8.0
RING_SLACK = 1.25
# Records a bulk load validates and writes at a time (bounds memory, not the transaction).
BULK_BATCH = 5000
# SQLite plans without statistics until ANALYZE runs, then keeps what it counted. As
# PostgreSQL's autovacuum does, a bulk load that writes more than this many listings plus
# this share of those last counted analyses the listings' tables again: with no
# statistics, counting 100,000 listings of which none need confirming read them all
# through the status index (110 ms) rather than the confirmation date's (under 1 ms).
ANALYSE_AFTER_ROWS = 50
ANALYSE_AFTER_SHARE = 0.1
_ANALYSED_TABLES = ("assets", "asset_categories")
# Primary result codes that mean "the database cannot be used right now"
# (busy, locked, read-only, I/O error, corrupt, full, can't open, protocol, not a db).
_UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 11, 13, 14, 15, 26})

# R*Tree prefilter for one lon/lat box; CROSS JOIN keeps the R*Tree as the outer loop.
_BOX_FROM = (
    " FROM asset_rtree AS r CROSS JOIN assets AS a ON a.rid = r.rid"
    " WHERE r.max_lon >= ? AND r.min_lon <= ? AND r.max_lat >= ? AND r.min_lat <= ?"
)
# The same box for listings whose point is only a postcode's or an area's centre: they
# are few, so their partial index (migration 0007) beats reading every listing in the box.
_ROUGH_BOX_FROM = (
    " FROM assets AS a WHERE a.location_precision != 'point'"
    " AND a.lon >= ? AND a.lon <= ? AND a.lat >= ? AND a.lat <= ?"
)


def _box_from(filters: AssetFilters | None) -> str:
    """Where a radius query starts: the R*Tree, or the rough points' index when only
    listings at a centre are wanted."""
    return _ROUGH_BOX_FROM if filters is not None and filters.rough_only() else _BOX_FROM


# --- small pure helpers ---------------------------------------------------------------------


def db_path(url: str) -> str:
    """File path named by ``sqlite:///relative/path`` or ``sqlite:////absolute/path``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise InvalidInputError(
            f"`database_url` must look like sqlite:///path/to/file.sqlite; got {url!r}",
            field="database_url",
        )
    path = unquote(url[len(prefix) :].partition("?")[0])
    if not path or path == ":memory:":
        raise InvalidInputError(
            "`database_url` must name a file (in-memory SQLite is not shared between threads)",
            field="database_url",
        )
    return path


def split_statements(script: str) -> list[str]:
    """Split a migration into statements so they run inside our own transaction.

    (``executescript`` would commit first.)
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    leftover = [ln for ln in buffer.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise InvalidInputError(f"incomplete SQL statement in migration: {leftover[0][:80]!r}")
    return statements


def _where(clauses: list[str], *, extra: bool = False) -> str:
    if not clauses:
        return ""
    return (" AND " if extra else " WHERE ") + " AND ".join(clauses)


def analysed_listings(conn: sqlite3.Connection) -> int | None:
    """How many listings the last ANALYZE counted; None if it never counted them."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is None:
        return None
    row = conn.execute(
        "SELECT max(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = 'assets'"
    ).fetchone()
    return None if row[0] is None else int(row[0])


def refresh_statistics(conn: sqlite3.Connection, written: int) -> None:
    """ANALYZE the listings' tables if ``written`` listings are enough to have changed
    the counts the planner goes by (see ANALYSE_AFTER_ROWS)."""
    if written >= ANALYSE_AFTER_ROWS + ANALYSE_AFTER_SHARE * (analysed_listings(conn) or 0):
        for table in _ANALYSED_TABLES:
            conn.execute(f"ANALYZE {table}")


def _in_circle(
    conn: sqlite3.Connection,
    lat: float,
    lon: float,
    radius_m: float,
    extra: str,
    params: list[Any],
    box_from: str = _BOX_FROM,
) -> tuple[list[Any], list[float], list[int]]:
    """Rows (key and point) in the circle's box that pass the ``extra`` filter, their
    distances, and the indexes of those inside the circle."""
    selects: list[str] = []
    all_params: list[Any] = []
    for west, south, east, north in degree_box(lat, lon, radius_m):
        selects.append(
            f"SELECT a.rid, a.id, a.version, a.updated_at, a.lon, a.lat{box_from}{extra}"
        )
        all_params += [west, east, south, north, *params]
    rows = conn.execute(" UNION ALL ".join(selects), all_params).fetchall()
    dist_m = geodesics_from(lat, lon, [r[5] for r in rows], [r[4] for r in rows])
    return rows, dist_m, [i for i, d in enumerate(dist_m) if d <= radius_m]


class SQLiteStore(RecordUpdates, SQLiteHeldChanges, SQLiteUsers, SQLitePlans, SQLiteGazetteer):
    """:class:`~geo_assets.store.base.Store` on one SQLite file (WAL, R*Tree, FTS5).

    Parameters
    ----------
    url
        ``sqlite:///relative/path.sqlite`` or ``sqlite:////absolute/path.sqlite``.
        The file (and its folder) is created on first use; call :meth:`upgrade`
        to create the schema.
    decoded_cache_size
        How many decoded assets to keep for reuse by later reads (about 10 KB each);
        0 turns the cache off.
    """

    def __init__(self, url: str, *, decoded_cache_size: int = DECODED_CACHE_SIZE) -> None:
        self.url = url
        self.path = db_path(url)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._decoded: DecodedCache[Asset] = DecodedCache(decoded_cache_size)

    # --- connections and transactions -----------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(f"SQLite store {self.path}: {exc}") from exc
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # so close() can close every thread's connection
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe in WAL
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -32768")  # KiB
            conn.execute("PRAGMA mmap_size = 268435456")  # bytes
            conn.create_function(GEODESIC_FUNCTION, 4, point_geodesic_m, deterministic=True)
        except BaseException:
            conn.close()
            raise
        return conn

    def _slot(self) -> _Slot:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            slot = _Slot(self._connect())
            with self._lock:
                self._slots.append(slot)
                self._local.slot = slot
        return slot

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, held so that ``close()`` waits for what runs on it;
        SQLite's operational failures become :class:`StoreUnavailableError`."""
        with self._translate():
            slot = self._slot()
            slot.lock.acquire()
            while slot.closed:  # close() took it while this thread waited: open another
                slot.lock.release()
                slot = self._slot()
                slot.lock.acquire()
            try:
                yield slot.conn
            finally:
                slot.lock.release()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn SQLite's operational failures into :class:`StoreUnavailableError`."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
            if code in _UNAVAILABLE_CODES:
                raise StoreUnavailableError(f"SQLite store {self.path}: {exc}") from exc
            if "no such table" in str(exc):
                raise StoreUnavailableError(
                    f"SQLite store {self.path} has no schema; run `geo-assets db upgrade`"
                ) from exc
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several SELECTs."""
        with self._using() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (no upgrade deadlocks)."""
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection; later calls open fresh ones.

        A connection another thread is using is closed once that use ends: closing it
        under a running statement failed the statement, or crashed the process.
        """
        with self._lock:
            slots, self._slots = self._slots, []
            self._local = threading.local()
        self._decoded.clear()
        for slot in slots:
            with slot.lock:
                slot.closed = True
                with suppress(sqlite3.Error):
                    slot.conn.close()

    def ping(self) -> None:
        try:
            with self._using() as conn:
                conn.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite store {self.path}: {exc}") from exc

    def upgrade(self) -> list[str]:
        """Apply pending migrations, each in its own transaction, then count the tables afresh
        for the planner (ANALYZE); returns the versions applied."""
        with self._using() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        applied: list[str] = []
        for migration in migrations("sqlite"):
            with self._write() as conn:
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                ).fetchone()
                if done:
                    continue
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, ts_text(utcnow())),
                )
            applied.append(migration.version)
        if applied:  # new indexes have no statistics, and rewritten tables stale ones
            with self._write() as conn:
                conn.execute("ANALYZE")
        return applied

    # --- organisations --------------------------------------------------------------------

    def delete_organisation(self, org_id: str, *, actor: str | None = None) -> None:
        with self._write() as conn:
            if (
                conn.execute("SELECT 1 FROM organisations WHERE id = ?", (org_id,)).fetchone()
                is None
            ):
                raise NotFoundError("organisation", org_id)
            if conn.execute(ORGANISATION_IN_USE.format(p="?"), (org_id, org_id)).fetchone()[0]:
                raise organisation_in_use(org_id)
            conn.execute("DELETE FROM organisations WHERE id = ?", (org_id,))
            if actor is not None:
                write_audit(conn, actor, "delete", "organisation", org_id, {})

    def create_organisation(self, org: Organisation, *, actor: str | None = None) -> Organisation:
        stored: Organisation = stamp_created(org)
        with self._write() as conn:
            try:
                conn.execute(INSERT_ORG, org_values(stored))
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"organisation `{org.id}` already exists") from exc
            if actor is not None:
                doc = stored.model_dump(mode="json")
                write_audit(conn, actor, "create", "organisation", stored.id, doc)
        return stored

    def _org_record(self, conn: sqlite3.Connection, org_id: str) -> tuple[int, Organisation]:
        row = conn.execute("SELECT rid, doc FROM organisations WHERE id = ?", (org_id,)).fetchone()
        if row is None:
            raise NotFoundError("organisation", org_id)
        return row[0], decode(Organisation, row[1])

    def get_organisation(self, org_id: str) -> Organisation:
        with self._using() as conn:
            return self._org_record(conn, org_id)[1]

    @staticmethod
    def _write_organisation(conn: sqlite3.Connection, rid: int, org: Organisation) -> None:
        conn.execute(UPDATE_ORG, (*org_values(org), rid))

    def _update_organisation(self, org_id: str, update: RecordUpdate) -> Organisation:
        with self._write() as conn:
            rid, current = self._org_record(conn, org_id)
            return self._apply_update(
                conn, current, update, lambda org: self._write_organisation(conn, rid, org)
            )

    def list_organisations(self, *, page: int = 1, per_page: int = 50) -> Page[Organisation]:
        limit, offset = check_page(page, per_page)
        with self._read() as conn:
            total = conn.execute("SELECT count(*) FROM organisations").fetchone()[0]
            rows = conn.execute(
                "SELECT doc FROM organisations ORDER BY sort_name, id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        items = [decode(Organisation, r[0]) for r in rows]
        return Page(items=items, total=total, page=page, per_page=per_page)

    # --- assets: single records -----------------------------------------------------------

    def _check_organisation(self, conn: sqlite3.Connection, org_id: str | None) -> None:
        if org_id is None:
            return
        if conn.execute("SELECT 1 FROM organisations WHERE id = ?", (org_id,)).fetchone() is None:
            raise InvalidInputError(
                f"`organisation_id`: organisation `{org_id}` does not exist",
                field="organisation_id",
            )

    def _save_one(self, conn: sqlite3.Connection, asset: Asset, rid: int | None) -> None:
        try:
            if rid is None:
                save_assets(conn, [asset], [])
            else:
                save_assets(conn, [], [(rid, asset)])
        except sqlite3.IntegrityError as exc:
            if "source" in str(exc):
                raise ConflictError(
                    f"an asset with source `{asset.source}` and source_id "
                    f"`{asset.source_id}` already exists"
                ) from exc
            if "assets.id" in str(exc):
                raise ConflictError(f"asset `{asset.id}` already exists") from exc
            raise ConflictError(f"asset `{asset.id}` clashes with stored data: {exc}") from exc

    def create_asset(self, asset: Asset, *, actor: str | None = None) -> Asset:
        stored: Asset = stamp_created(asset)
        with self._write() as conn:
            self._check_organisation(conn, stored.organisation_id)
            self._save_one(conn, stored, None)
            if actor is not None:
                write_audit(
                    conn, actor, "create", "asset", stored.id, stored.model_dump(mode="json")
                )
        return stored

    def _asset_record(self, conn: sqlite3.Connection, asset_id: str) -> tuple[int, Asset]:
        row = conn.execute("SELECT rid, doc FROM assets WHERE id = ?", (asset_id,)).fetchone()
        if row is None:
            raise NotFoundError("asset", asset_id)
        return row[0], decode(Asset, row[1])

    def get_asset(self, asset_id: str) -> Asset:
        with self._using() as conn:
            return self._asset_record(conn, asset_id)[1]

    def _update_asset(self, asset_id: str, update: RecordUpdate) -> Asset:
        with self._write() as conn:
            rid, current = self._asset_record(conn, asset_id)

            def write(updated: Asset) -> None:
                if updated.organisation_id != current.organisation_id:
                    self._check_organisation(conn, updated.organisation_id)
                self._save_one(conn, updated, rid)

            return self._apply_update(conn, current, update, write)

    # --- assets: queries ------------------------------------------------------------------

    def _assets_for(self, conn: sqlite3.Connection, keys: Sequence[AssetKey]) -> list[Asset]:
        """The assets named by ``keys``, in order: from the cache, else fetched and decoded."""
        found: list[Asset | None] = [self._decoded.get(key) for key in keys]
        missing = [i for i, asset in enumerate(found) if asset is None]
        docs: dict[int, str] = {}
        for chunk in chunks([keys[i][0] for i in missing]):
            sql = f"SELECT rid, doc FROM assets WHERE rid IN ({marks(len(chunk))})"
            docs.update(conn.execute(sql, chunk).fetchall())
        for i in missing:
            found[i] = self._decoded.put(keys[i], decode(Asset, docs[keys[i][0]]))
        return found  # type: ignore[return-value]  # every None was replaced

    def list_assets(
        self, filters: AssetFilters | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[Asset]:
        limit, offset = check_page(page, per_page)
        clauses, params = filter_sql(filters)
        where = _where(clauses)
        with self._read() as conn:
            total = conn.execute(f"SELECT count(*) FROM assets AS a{where}", params).fetchone()[0]
            keys = conn.execute(
                f"SELECT a.rid, a.id, a.version, a.updated_at FROM assets AS a{where}"
                " ORDER BY a.sort_name, a.id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            items = self._assets_for(conn, keys)
        return Page(items=items, total=total, page=page, per_page=per_page)

    def count_assets(self, filters: AssetFilters | None = None) -> int:
        clauses, params = filter_sql(filters)
        sql = f"SELECT count(*) FROM assets AS a{_where(clauses)}"
        with self._using() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def count_assets_by_organisation(
        self, filters: AssetFilters | None = None
    ) -> dict[str | None, int]:
        clauses, params = filter_sql(filters)
        sql = (
            f"SELECT a.organisation_id, count(*) FROM assets AS a{_where(clauses)}"
            " GROUP BY a.organisation_id"
        )
        with self._using() as conn:
            return {org_id: int(n) for org_id, n in conn.execute(sql, params)}

    def nearby(
        self,
        lat: float,
        lon: float,
        radius_m: float,
        filters: AssetFilters | None = None,
        *,
        limit: int | None = None,
    ) -> list[NearbyHit]:
        """Assets within ``radius_m`` metres (WGS84 geodesic) of (lat, lon), nearest first.

        The R*Tree finds candidates in ``degree_box`` (one box, or two across the
        antimeridian), which are then measured exactly on the ellipsoid. With a limit
        (and no text filter) the search starts in a smaller circle and widens it until
        that circle holds ``limit`` listings (or it reaches ``radius_m``): nothing outside
        a circle is nearer than anything in it, so the answer is the same, and a dense
        city reads hundreds of rows instead of every listing in reach. Documents are
        fetched last, only for the listings returned and not already decoded: reading
        every candidate's document in the first SELECT costs about 2 us a row, more than
        a dense area's second SELECT.
        """
        near = check_near(lat, lon, radius_m)
        limit = check_limit(limit)
        clauses, params = filter_sql(filters, per_row=True)
        extra = _where(clauses, extra=True)
        # A text filter lists every listing with its words on each run (a per-listing
        # FTS test is far slower still), so it searches the whole circle at once.
        whole = limit is None or (filters is not None and bool(filters.text_terms()))
        ring = near.radius_m if whole else near.radius_m / FIRST_RING_SHARE
        box_from = _box_from(filters)
        with self._read() as conn:
            while True:
                rows, dist_m, keep = _in_circle(
                    conn, near.lat, near.lon, ring, extra, params, box_from
                )
                if limit is None or len(keep) >= limit or ring >= near.radius_m:
                    break
                # Widen to where the density seen so far would put `limit` listings.
                grow = RING_SLACK * math.sqrt(limit / max(len(keep), 1))
                ring = min(near.radius_m, ring * max(2.0, grow))
            keep.sort(key=lambda i: (dist_m[i], rows[i][1]))
            if limit is not None:
                keep = keep[:limit]
            assets = self._assets_for(conn, [rows[i][:4] for i in keep])
        return [NearbyHit(asset, dist_m[i]) for asset, i in zip(assets, keep, strict=True)]

    def nearby_each(
        self, lat: float, lon: float, radius_m: float, queries: Sequence[NearbyQuery]
    ) -> list[list[NearbyHit]]:
        """``nearby`` for each (filters, limit): in-process, so one call per query costs
        no more than a batch would."""
        check_nearby_each(lat, lon, radius_m, queries)
        return [self.nearby(lat, lon, radius_m, f, limit=n) for f, n in queries]

    def within(self, bbox: BBox, filters: AssetFilters | None = None) -> list[Asset]:
        """Assets inside ``bbox`` (edges included; ``west > east`` crosses the antimeridian)."""
        if bbox.west <= bbox.east:
            spans = [(bbox.west, bbox.east)]
        else:
            spans = [(bbox.west, 180.0), (-180.0, bbox.east)]
        clauses, params = filter_sql(filters, per_row=True)
        extra = _where(clauses, extra=True)
        selects: list[str] = []
        all_params: list[Any] = []
        for west, east in spans:
            # The R*Tree holds 32-bit floats: it narrows, the exact columns decide.
            selects.append(
                f"SELECT a.sort_name, a.id, a.rid, a.version, a.updated_at{_BOX_FROM}"
                f" AND a.lon >= ? AND a.lon <= ? AND a.lat >= ? AND a.lat <= ?{extra}"
            )
            all_params += [west, east, bbox.south, bbox.north]
            all_params += [west, east, bbox.south, bbox.north, *params]
        sql = " UNION ALL ".join(selects) + " ORDER BY 1, 2"
        with self._read() as conn:
            rows = conn.execute(sql, all_params).fetchall()
            return self._assets_for(conn, [(r[2], r[1], r[3], r[4]) for r in rows])

    # --- assets: bulk ---------------------------------------------------------------------

    def bulk_upsert(
        self,
        records: Iterable[Asset | Mapping[str, Any]],
        *,
        actor: str | None = None,
        holds: Mapping[str, Mapping[str, Any]] | None = None,
        read_at: Mapping[str, int] | None = None,
    ) -> UpsertReport:
        """Insert or update by (source, source_id) in one transaction; all or nothing.

        Records are validated and written in batches inside that transaction so a
        large load does not hold every record in memory; after the first bad row
        the rest are still checked (to report them all) but nothing more is written,
        and the transaction is rolled back.
        """
        loader = BulkLoader(utcnow())
        with paused_gc(), self._write() as conn:
            batch: list[tuple[int, Asset]] = []
            for row, result in validated_rows(records):
                asset = loader.collector.accept(row, result)
                if asset is not None:
                    batch.append((row, asset))
                if len(batch) >= BULK_BATCH:
                    loader.flush(conn, batch)
                    batch = []
            loader.flush(conn, batch)
            loader.collector.errors.sort(key=lambda e: e.row)
            loader.collector.raise_if_any()
            refresh_statistics(conn, loader.report.inserted + loader.report.updated)
            if actor is not None:
                write_audit(conn, actor, "bulk_upsert", "asset", None, bulk_audit(loader.report))
            self._merge_holds(
                conn,
                holds,
                actor,
                lambda c, i: self._asset_record(c, i)[1],
                loader.report.ids,
                read_at,
            )
        return loader.report


class _Slot:
    """One thread's connection, and the lock held while it is in use."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lock = threading.RLock()
        self.closed = False
