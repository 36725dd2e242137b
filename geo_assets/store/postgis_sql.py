"""SQL text and parameters for the PostGIS store (``geo_assets.store.postgis``).

Every query here is constant text with ``%s`` placeholders, or is joined from the
constant fragments below: no identifier or value is ever interpolated, so the text
repeats per query shape and psycopg's prepared statements apply.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from geo_assets.errors import InvalidInputError
from geo_assets.model import Asset, BBox, Organisation
from geo_assets.store.base import (
    FILTER_COLUMN_NAMES,
    AssetFilters,
    FilterColumns,
    degree_box,
    need_masks,
    sort_name,
    weekday_mask,
)

# Alphanumeric runs: exactly the words AssetFilters.text_terms() keeps (str.isalnum()).
_WORD_RE = re.compile(r"[^\W_]+")
# PostgreSQL refuses tsvector lexemes of 2 KiB or more.
_MAX_LEXEME_BYTES = 2046
# The sphere PostGIS measures on when use_spheroid is false (WGS84 mean radius), metres.
_SPHERE_RADIUS_M = 6_371_008.8
# ST_DWithin runs on the sphere (cheap); the spheroid distance then decides exactly.
# Sphere and spheroid distances differ by under 0.6%, so 1% slack loses nothing.
_SPHERE_SLACK = 1.01

# How PostgreSQL holds each filter column (base.FILTER_COLUMN_NAMES): the type COPY sends
# it as, and its column in the staging table.
_FILTER_COLUMN_SQL: Mapping[str, tuple[str, str]] = {
    "session_days": ("int4", "integer NOT NULL"),
    "min_age": ("int4", "integer"),
    "max_age": ("int4", "integer"),
    "is_free": ("bool", "boolean NOT NULL"),
    "location_precision": ("text", "text NOT NULL"),
    "gender": ("text", "text NOT NULL"),
    "access_mask": ("int4", "integer NOT NULL"),
    "session_cost": ("float8", "float8"),
    "with_carers": ("bool", "boolean NOT NULL"),
    "last_verified_at": ("timestamptz", "timestamptz"),
}
_FILTERS = ", ".join(FILTER_COLUMN_NAMES)
_FILTER_MARKS = ", ".join(["%s"] * len(FILTER_COLUMN_NAMES))

ASSET_COLUMNS = (
    "id, organisation_id, kind, status, name, sort_name, categories, source, source_id, "
    f"created_at, updated_at, version, geog, search, doc, {_FILTERS}"
)
POINT = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
PLANAR_POINT = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
INSERT_ASSET = (
    f"INSERT INTO assets ({ASSET_COLUMNS}) VALUES "
    f"(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {POINT}, "
    f"array_to_tsvector(%s::text[]), %s::json, {_FILTER_MARKS})"
)
UPDATE_ASSET = (
    "UPDATE assets SET organisation_id = %s, kind = %s, status = %s, name = %s, sort_name = %s, "
    "categories = %s, source = %s, source_id = %s, created_at = %s, updated_at = %s, "
    f"version = %s, geog = {POINT}, search = array_to_tsvector(%s::text[]), doc = %s::json, "
    + ", ".join(f"{name} = %s" for name in FILTER_COLUMN_NAMES)
    + " WHERE id = %s"
)
ORG_COLUMNS = "id, name, sort_name, status, source, source_id, created_at, updated_at, version, doc"

# Bulk loads of a source the store has no listings of yet: COPY straight into assets.
SOURCES_STORED = "SELECT 1 FROM assets WHERE source = ANY(%s) LIMIT 1"
ASSETS_COPY = f"COPY assets ({ASSET_COLUMNS}) FROM STDIN"
# How COPY sends each column: geog as hex EWKB and search as tsvector text, both read by
# their types' own input functions, so the rows need no SQL around them.
ASSETS_COPY_TYPES = [
    "text", "text", "text", "text", "text", "text", "text[]", "text", "text",
    "timestamptz", "timestamptz", "int4", "text", "text", "text",
    *(_FILTER_COLUMN_SQL[name][0] for name in FILTER_COLUMN_NAMES),
]  # fmt: skip
# Hex EWKB header of a little-endian Point with SRID 4326; x (lon) and y (lat) follow.
_EWKB_POINT_4326 = "0101000020E6100000"
_XY = struct.Struct("<dd")

# Bulk loads otherwise: per chunk, COPY into a staging table, check, then one
# INSERT ... ON CONFLICT.
STAGING_DDL = (
    "CREATE TEMP TABLE geo_assets_bulk ("
    ' row integer NOT NULL, id text COLLATE "C" NOT NULL, organisation_id text COLLATE "C",'
    " kind text NOT NULL, status text NOT NULL, name text NOT NULL,"
    ' sort_name text COLLATE "C" NOT NULL, categories text[] NOT NULL,'
    " source text NOT NULL, source_id text NOT NULL, lon float8 NOT NULL, lat float8 NOT NULL,"
    " words text NOT NULL, doc json NOT NULL, "
    + ", ".join(f"{name} {_FILTER_COLUMN_SQL[name][1]}" for name in FILTER_COLUMN_NAMES)
    + ") ON COMMIT DROP"
)
# Staging columns and the types COPY sends them as (doc goes as JSON text, parsed by COPY).
_STAGING_COLUMNS = (
    ("row", "int4"), ("id", "text"), ("organisation_id", "text"), ("kind", "text"),
    ("status", "text"), ("name", "text"), ("sort_name", "text"), ("categories", "text[]"),
    ("source", "text"), ("source_id", "text"), ("lon", "float8"), ("lat", "float8"),
    ("words", "text"), ("doc", "text"),
    *((name, _FILTER_COLUMN_SQL[name][0]) for name in FILTER_COLUMN_NAMES),
)  # fmt: skip
STAGING_COPY = (
    f"COPY geo_assets_bulk ({', '.join(name for name, _ in _STAGING_COLUMNS)}) FROM STDIN"
)
STAGING_TYPES = [pg_type for _, pg_type in _STAGING_COLUMNS]
BULK_ID_TAKEN = (
    "SELECT s.row FROM geo_assets_bulk s JOIN assets a ON a.id = s.id"
    " WHERE (a.source, a.source_id) IS DISTINCT FROM (s.source, s.source_id)"
    " AND NOT EXISTS (SELECT 1 FROM assets b"
    " WHERE b.source = s.source AND b.source_id = s.source_id)"
)
BULK_ORG_MISSING = (
    "SELECT s.row, s.organisation_id FROM geo_assets_bulk s"
    " WHERE s.organisation_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM organisations o WHERE o.id = s.organisation_id)"
)
BULK_MERGE = (
    f"INSERT INTO assets AS a ({ASSET_COLUMNS})"
    " SELECT id, organisation_id, kind, status, name, sort_name, categories, source, source_id,"
    " %(now)s, %(now)s, 1, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography,"
    f" array_to_tsvector(string_to_array(words, ' ')), doc, {_FILTERS} FROM geo_assets_bulk"
    " ON CONFLICT (source, source_id) DO UPDATE SET"
    " organisation_id = EXCLUDED.organisation_id, kind = EXCLUDED.kind,"
    # A listing the directory archived stays so, whatever the feed says (base.bulk_kept).
    " status = CASE WHEN a.status = 'archived' THEN a.status ELSE EXCLUDED.status END,"
    " name = EXCLUDED.name, sort_name = EXCLUDED.sort_name,"
    " categories = EXCLUDED.categories, updated_at = EXCLUDED.updated_at,"
    " version = a.version + 1, geog = EXCLUDED.geog, search = EXCLUDED.search, "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in FILTER_COLUMN_NAMES)
    + ", doc = (EXCLUDED.doc::jsonb || jsonb_build_object("
    "'id', a.id, 'created_at', a.doc -> 'created_at', 'version', a.version + 1,"
    # Once a moderator published a listing, it stays moderated (base.moderated_after).
    " 'moderated', a.status = 'published'"
    " OR (EXCLUDED.status = 'published' AND a.status <> 'archived')"
    " OR coalesce((a.doc ->> 'moderated')::boolean, false),"
    " 'status', CASE WHEN a.status = 'archived' THEN a.status ELSE EXCLUDED.status END,"
    # The listings merged into it stay recorded, unless the load names some itself.
    " 'merged_from', CASE WHEN coalesce(json_array_length(EXCLUDED.doc -> 'merged_from'), 0) = 0"
    " THEN coalesce(a.doc -> 'merged_from', '[]') ELSE EXCLUDED.doc -> 'merged_from' END"
    "))::json"
    " RETURNING a.id, a.source, a.source_id, (a.xmax = 0) AS inserted"
)


def search_words(*texts: str) -> list[str]:
    """Lexemes for the ``search`` column, split the way ``text_terms()`` splits queries.

    Tokenising here rather than with PostgreSQL's parser keeps the two stores'
    answers identical: a word is a run of ``str.isalnum()`` characters, case-folded.
    """
    words = _WORD_RE.findall(" ".join(texts).casefold())
    # A UTF-8 character is at most 4 bytes: only very long words need measuring.
    return [
        w
        for w in words
        if len(w) <= _MAX_LEXEME_BYTES // 4 or len(w.encode("utf-8")) <= _MAX_LEXEME_BYTES
    ]


def prefix_tsquery(terms: Sequence[str]) -> str:
    """A tsquery that needs every term as a word prefix: ``'garden':* & 'club':*``.

    Terms come from ``text_terms()``: alphanumeric only, so none can carry a quote or
    an operator; anything else is refused rather than escaped.
    """
    for term in terms:
        if not term or _WORD_RE.fullmatch(term) is None:
            raise InvalidInputError(f"`text` term {term!r} is not a plain word", field="text")
    return " & ".join(f"'{term}':*" for term in terms)


def nearby_sql(
    lat: float,
    lon: float,
    radius_m: float,
    filters: AssetFilters | None = None,
    *,
    limit: int | None = None,
    walk: bool = False,
) -> tuple[str, list[Any]]:
    """The radius query (doc text, distance in metres), nearest first; for tests and EXPLAIN.

    Two plans for a query with a ``limit``; the store picks one (``walk_pays``):

    - ``walk``: an index-ordered (KNN, ``<->``) scan first finds ``limit`` candidates,
      so a dense centre does not cost a sort of everything in reach. The walk orders
      by planar lon/lat distance (the cheap geometry index) inside a lon/lat box that
      holds the whole circle, so it stops at the box's edge where matches are few.
      Its hits need not be the true k nearest: but the true k nearest all lie within
      the largest spheroid distance M of any k listings (and, when the box holds
      fewer than k, all of them are among the hits), so the exact query then only
      searches radius min(M, radius_m). It passes over every listing the filter
      rejects, so it only pays when the filter keeps a fair share of them.
    - otherwise: one exact query within the radius, where the planner can combine a
      narrowing filter's index (a rare category, a text search) with the spatial one.
    """
    where, params = filter_sql(filters, WALK_FILTER_SQL if walk else FILTER_SQL)

    def exact(from_extra: str, reach: str) -> str:
        return (
            "SELECT doc::text, d FROM ("
            f" SELECT id, doc, ST_Distance(geog, {POINT}) AS d FROM assets{from_extra}"
            f" WHERE ST_DWithin(geog, {POINT}, {reach}, false) AND {where}"
            " OFFSET 0"  # a fence: compute each distance once, not again in the outer filter
            ") hits WHERE d <= %s ORDER BY d, id"
        )

    if limit is None or not walk:
        query = exact("", "%s") + ("" if limit is None else " LIMIT %s")
        tail = [] if limit is None else [limit]
        return query, [lon, lat, lon, lat, radius_m * _SPHERE_SLACK, *params, radius_m, *tail]
    box = walk_box(lat, lon, radius_m)
    in_box, bounds = ("", []) if box is None else (_IN_BOX, list(box))
    knn = (
        f"WITH knn AS (SELECT ST_Distance(geog, {POINT}) AS d FROM assets"
        f" WHERE {where}{in_box} ORDER BY geog::geometry <-> {PLANAR_POINT} LIMIT %s),"
        " bound AS (SELECT least(coalesce(max(d), 0), %s) AS m FROM knn) "
    )
    query = knn + exact(", bound", "bound.m * %s") + " LIMIT %s"
    return query, [
        *(lon, lat, *params, *bounds, lon, lat, limit, radius_m),
        *(lon, lat, lon, lat, _SPHERE_SLACK, *params, radius_m, limit),
    ]


def one_walk_sql(
    lat: float,
    lon: float,
    radius_m: float,
    queries: Sequence[tuple[AssetFilters | None, int | None]],
    most: int,
    listings: float = 0.0,
) -> tuple[str, list[Any]] | None:
    """One query that answers a whole batch of radius queries where few listings are near.

    It walks the planar index nearest first through the box around the circle,
    reading only listings some query keeps, and stops after ``most + 1`` of them.
    When it stops short the box held them all, so each query's answer is exact: its
    first ``limit`` kept listings within the radius, in (distance, id) order, counted
    by a window over the walk. Each listing comes back once, with a flag per query
    saying whether it belongs to that query's answer. Every row also carries how many
    listings the walk read; more than ``most`` means the box is crowded, no listing
    is returned, and the batch needs its own plans (``nearby_sql``). None across the
    antimeridian, where one box cannot hold the circle.

    ``listings``: the table's rows as ANALYZE last counted them (0: never analysed).
    When known, the planner's estimate of the listings in the box (``BOX_ESTIMATE``) is
    read first, and above ``most`` the walk does not start: it would read ``most + 1``
    listings, documents and all, only to find the box crowded (2-4 ms a batch at
    1,000,000 listings, where most towns' boxes are). The estimate, which comes back
    in every row, then steers the batch's own plans.

    Columns: walked, estimate (None when not made), id, distance, doc text, then one
    flag per query.
    """
    box = walk_box(lat, lon, radius_m)
    if box is None:
        return None
    conditions = [filter_sql(filters, WALK_FILTER_SQL) for filters, _ in queries]
    each = range(len(queries))
    flags = ", ".join(f"({where}) AS f{i}" for i, (where, _) in enumerate(conditions))
    kept_by_any = " OR ".join(f"({where})" for where, _ in conditions)
    names = ", ".join(f"f{i}" for i in each)
    counts = ", ".join(f"count(*) FILTER (WHERE f{i}) OVER w AS n{i}" for i in each)
    answers = ", ".join(
        f"f{i} AS k{i}" if limit is None else f"(f{i} AND n{i} <= %s) AS k{i}"
        for i, (_, limit) in enumerate(queries)
    )
    crowd, estimate, gated = "", "NULL::float8", ""
    if listings > 0:
        # Read once, before any listing: the gate is a one-time filter. No estimate
        # (NULL) holds nothing back: the walk finds out for itself.
        crowd, estimate = f"crowd AS ({BOX_ESTIMATE} AS listings), ", "(SELECT listings FROM crowd)"
        gated = f" AND ({estimate} <= %s) IS NOT FALSE"
    query = (
        f"WITH {crowd}walk AS MATERIALIZED (SELECT id, geog, doc, {flags} FROM assets"
        f" WHERE ({kept_by_any}){_IN_BOX}{gated}"
        f" ORDER BY geog::geometry <-> {PLANAR_POINT} LIMIT %s),"
        f" walked AS (SELECT count(*) AS n, {estimate} AS estimate FROM walk) "
        "SELECT walked.n, walked.estimate, hits.id, hits.d, hits.doc::text, "
        f"{', '.join(f'hits.k{i}' for i in each)}"
        f" FROM walked LEFT JOIN LATERAL (SELECT id, d, doc, {answers} FROM ("
        f"SELECT id, d, doc, {names}, {counts} FROM ("
        f"SELECT id, ST_Distance(geog, {POINT}) AS d, doc, {names} FROM walk"
        " WHERE walked.n <= %s) measured"  # a crowded box: measure nothing
        " WHERE d <= %s WINDOW w AS (ORDER BY d, id)) ranked"
        f") hits ON {' OR '.join(f'hits.k{i}' for i in each)}"
        " ORDER BY hits.d, hits.id"
    )
    params: list[Any] = [*box, listings] if listings > 0 else []
    params += [p for _, values in conditions for p in values]
    params += [p for _, values in conditions for p in values]
    params += [*box, *([most] if listings > 0 else []), lon, lat, most + 1]
    params += [limit for _, limit in queries if limit is not None]
    params += [lon, lat, most, radius_m]
    return query, params


def walk_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float] | None:
    """The lon/lat box (west, south, east, north) that bounds a walk, and whose listings
    the plan choice estimates; None across the antimeridian, where the circle needs two
    boxes and the walk goes unbounded."""
    boxes = degree_box(lat, lon, radius_m)
    return None if len(boxes) > 1 else boxes[0]


_IN_BOX = " AND geog::geometry && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"


@dataclass(frozen=True)
class PlanWork:
    """The work each plan is expected to do for one limited category query."""

    walk: float  # listings the walk passes over: limit / share, or all in the box if fewer
    index_entries: float  # category index entries the radius plan reads (share x listings)
    kept_in_reach: float  # listings in reach that the categories keep (share x in reach)


def plan_work(
    limit: int, share: float, listings: float, in_reach: float, kept: float = 1.0
) -> PlanWork:
    """``kept``: the share of the category's listings that filters no index answers keep
    (women only, say). The walk passes over that many more before it has ``limit``; the
    radius plan reads the same index entries and listings either way."""
    return PlanWork(
        walk=min(limit / (share * kept), in_reach) if kept > 0 else in_reach,
        index_entries=listings * share,
        kept_in_reach=in_reach * share,
    )


@dataclass(frozen=True)
class PlanCosts:
    """What the radius plan costs, in units of one listing passed over by the walk (a
    heap visit): per entry of the category index it reads whole, and per listing in
    reach that the categories keep (a spheroid distance and a heap visit).

    The defaults come from ``benchmarks/fit_plan_costs.py``: both plans measured on the
    national data at 100,000 and 1,000,000 listings, for single categories and for the
    matcher's own pools (several categories, parents with their descendants), and the
    pair on a grid with the least time over the faster plan's, each size counting alike.
    Checked on other origins and interest sets, against the earlier pair (0.063, 3.0):
    at 100,000 the choices took 711.6 ms over 1,638 queries instead of 736.5 (the
    matcher's pools: 426.2 instead of 443.9); at 1,000,000, 5,735 ms instead of 5,726.
    """

    index_entry: float = 0.05
    in_reach: float = 2.23

    def prefers_walk(self, work: PlanWork) -> bool:
        return (
            work.walk <= self.index_entry * work.index_entries + self.in_reach * work.kept_in_reach
        )


PLAN_COSTS = PlanCosts()

# Filters with an index of their own, which the radius plan can read instead of every
# listing in reach. Only these can make it cheaper than the nearest-first walk: any other
# filter (status, kind, days, ages, cost, sex) is tested on each listing either way, and
# the walk stops as soon as it has enough. (Read as narrowing, the age and free-only
# filters the matcher sends tripled a match's time at the densest centre.)
_INDEXED_FILTERS = frozenset(["categories", "text", "modified_after", "organisation_id"])
# Each category's share of the listings, the number of listings, and the shares of the
# commonest eligibility genders and access masks, as ANALYZE counted.
CATEGORY_SHARES = (
    "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples,"
    " g.most_common_vals::text::text[], g.most_common_freqs,"
    " a.most_common_vals::text::int[], a.most_common_freqs"
    " FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema()"
    " AND s.tablename = 'assets' AND s.attname = 'categories'"
    " LEFT JOIN pg_stats g ON g.schemaname = current_schema()"
    " AND g.tablename = 'assets' AND g.attname = 'gender'"
    " LEFT JOIN pg_stats a ON a.schemaname = current_schema()"
    " AND a.tablename = 'assets' AND a.attname = 'access_mask'"
    " WHERE c.oid = 'assets'::regclass"
)
# The planner's estimate of the share of listings in a lon/lat box, from the statistics
# ANALYZE keeps for the planar index (PostGIS' own selectivity function).
_BOX_SELECTIVITY = (
    "_postgis_selectivity('assets_geom_idx'::regclass, 'geog',"
    " ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
)
# How many listings that is, given the table's (``listings_in_box``, the one walk's gate).
BOX_ESTIMATE = f"SELECT {_BOX_SELECTIVITY} * %s"


@dataclass(frozen=True)
class CategoryShares:
    """What the walk-or-radius choice needs from the planner's statistics."""

    listings: float = 0.0  # 0 (or -1) before the first ANALYZE
    share: Mapping[str, float] = field(default_factory=dict)
    genders: Mapping[str, float] = field(default_factory=dict)  # eligibility.gender
    access: Mapping[int, float] = field(default_factory=dict)  # the commonest access masks


def category_shares(row: tuple[Any, ...] | None) -> CategoryShares:
    """The statistics from the row ``CATEGORY_SHARES`` returns."""
    if row is None:
        return CategoryShares()
    elems, freqs, listings, genders, gender_freqs, masks, mask_freqs = row
    return CategoryShares(
        listings=float(listings),
        share=dict(zip(elems, freqs, strict=False)) if elems else {},
        genders=dict(zip(genders, gender_freqs, strict=False)) if genders else {},
        access=dict(zip(masks, mask_freqs, strict=False)) if masks else {},
    )


def narrowing(filters: AssetFilters | None) -> set[str]:
    """The filters given that an index answers (``_INDEXED_FILTERS``, and listings at a
    centre, which have a partial index): those that may make the radius plan pay."""
    if filters is None:
        return set()
    found = {n for n in filters.model_fields_set & _INDEXED_FILTERS if getattr(filters, n)}
    return found | ({"precisions"} if filters.rough_only() else set())


def category_share(filters: AssetFilters, stats: CategoryShares) -> float:
    """The share of listings the filter's categories (and their descendants) keep."""
    categories = filters.expanded_categories() or []
    return min(1.0, sum([stats.share.get(c, 0.0) for c in categories]))


def kept_share(filters: AssetFilters, stats: CategoryShares) -> float:
    """The share of listings the filter's genders and access needs keep (1 for either
    without that filter, or before the statistics know its column). Access masks are
    judged by the commonest ones, taken to stand for the rest."""
    kept = 1.0
    if filters.genders is not None and stats.genders:
        kept = min(1.0, sum(stats.genders.get(g, 0.0) for g in filters.genders))
    masks = need_masks(filters.access_needs or [])
    if masks and stats.access:
        meeting = sum(f for m, f in stats.access.items() if all(m & need for need in masks))
        kept *= meeting / sum(stats.access.values())
    return kept


def walk_pays(
    filters: AssetFilters | None,
    limit: int | None,
    stats: CategoryShares,
    in_reach: Callable[[], float | None],
    costs: PlanCosts = PLAN_COSTS,
) -> bool:
    """Whether the KNN walk of ``nearby_sql`` should answer this limited query.

    With a category filter it compares the two plans' expected costs (``plan_work``
    priced by ``costs``). ``in_reach`` estimates how many listings the box holds
    (asked only when needed). Without statistics (a table never analysed) a category
    query takes the radius plan, whose cost has a bound.
    """
    if limit is None:
        return False
    narrow = narrowing(filters)
    if narrow - {"categories"}:
        return False
    if filters is None or not narrow:
        return True
    share = category_share(filters, stats)
    reach = in_reach() if share > 0 and stats.listings > 0 else None
    if reach is None:
        return False
    kept = kept_share(filters, stats)  # tested on each listing by either plan
    return costs.prefers_walk(plan_work(limit, share, stats.listings, reach, kept))


def within_sql(bbox: BBox, filters: AssetFilters | None = None) -> tuple[str, list[Any]]:
    """The box query (doc text), by name then id.

    The box's edges follow meridians and parallels, so the exact test compares the
    stored lon/lat; the geography GiST index is used through a circle that surely
    contains the box (boxes wider or taller than 90 degrees are scanned instead).
    """
    where, params = filter_sql(filters)
    lon, lat = "ST_X(geog::geometry)", "ST_Y(geog::geometry)"
    crosses_antimeridian = bbox.west > bbox.east
    box = f"({lon} >= %s OR {lon} <= %s)" if crosses_antimeridian else f"{lon} BETWEEN %s AND %s"
    box += f" AND {lat} BETWEEN %s AND %s"
    box_params: list[Any] = [bbox.west, bbox.east, bbox.south, bbox.north]
    circle = _enclosing_circle(bbox)
    if circle is not None:
        box = f"ST_DWithin(geog, {POINT}, %s, false) AND {box}"
        c_lat, c_lon, radius_m = circle
        box_params = [c_lon, c_lat, radius_m, *box_params]
    query = f"SELECT doc::text FROM assets WHERE {box} AND {where} ORDER BY sort_name, id"
    return query, [*box_params, *params]


def _enclosing_circle(bbox: BBox) -> tuple[float, float, float] | None:
    """(lat, lon, radius_m) of a circle on PostGIS's sphere that contains ``bbox``.

    From the box's centre, distance grows along each parallel with the longitude
    difference and has no maximum inside a meridian edge, so the farthest point of the
    box is a corner. Returns None for boxes over 90 degrees across.
    """
    width = bbox.east - bbox.west if bbox.west <= bbox.east else bbox.east - bbox.west + 360
    if width > 90 or bbox.north - bbox.south > 90:
        return None
    c_lat = (bbox.south + bbox.north) / 2
    c_lon = bbox.west + width / 2
    c_lon = c_lon - 360 if c_lon > 180 else c_lon
    far_m = max(
        _sphere_distance_m(c_lat, c_lon, lat, lon)
        for lat in (bbox.south, bbox.north)
        for lon in (bbox.west, bbox.east)
    )
    return c_lat, c_lon, far_m * 1.001 + 1.0


def _sphere_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on PostGIS's sphere (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _SPHERE_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# Whether one of the children's ages (an array) is within the listing's ages.
_CHILD_OF_AGE = (
    "EXISTS (SELECT FROM unnest(%s::int[]) AS child"
    " WHERE (min_age IS NULL OR min_age <= child) AND (max_age IS NULL OR max_age >= child))"
)
# Filter conditions: fixed SQL text, values always bound as parameters (one per %s).
_LON = "ST_X(geog::geometry)"
_LAT = "ST_Y(geog::geometry)"
FILTER_SQL = {
    "kinds": "kind = ANY(%s)",
    "categories": "categories && %s::text[]",
    "statuses": "status = ANY(%s)",
    "text": "search @@ %s::tsquery",
    "modified_after": "updated_at > %s",
    "verified_before": "(last_verified_at IS NULL OR last_verified_at < %s)",
    "organisation_id": "organisation_id = %s",
    "weekdays": "(session_days & %s) <> 0",
    "age_min": "(min_age IS NULL OR min_age <= %s)",
    "age_max": "(max_age IS NULL OR max_age >= %s)",
    "ages_or_carers": (
        "((min_age IS NULL OR min_age <= %s) AND (max_age IS NULL OR max_age >= %s) OR with_carers)"
    ),
    "age_min_or_carers": "(min_age IS NULL OR min_age <= %s OR with_carers)",
    "age_max_or_carers": "(max_age IS NULL OR max_age >= %s OR with_carers)",
    "ages_or_carers_of": (
        "((min_age IS NULL OR min_age <= %s) AND (max_age IS NULL OR max_age >= %s)"
        f" OR with_carers AND {_CHILD_OF_AGE})"
    ),
    "carers_of": f"(NOT with_carers OR {_CHILD_OF_AGE})",
    "free_only": "is_free",
    "max_session_cost": "session_cost <= %s",
    "genders": "gender = ANY(%s)",
    "access_need": "(access_mask & %s) <> 0",
    "precisions": "location_precision = ANY(%s)",
    # What the partial index of rough points holds: with it, the planner can use that index.
    "rough_points": "location_precision <> 'point'",
    # The box: an enclosing circle lets the GiST index help, the lon/lat test decides.
    "bbox_circle": f"ST_DWithin(geog, {POINT}, %s, false)",
    "bbox": f"{_LON} BETWEEN %s AND %s AND {_LAT} BETWEEN %s AND %s",
    "bbox_antimeridian": f"({_LON} >= %s OR {_LON} <= %s) AND {_LAT} BETWEEN %s AND %s",
    # As in nearby_sql: the sphere (cheap, indexed) narrows, the spheroid distance decides.
    "near": f"ST_DWithin(geog, {POINT}, %s, false) AND ST_Distance(geog, {POINT}) <= %s",
}
# For the nearest-first walk: the category test checked on each listing walked past,
# never through the category index. Given the choice, the planner reads that index
# whole and sorts (it underrates the index's cost: 60 ms where it expected 1 ms for
# a common category at 1,000,000 listings), which is the radius plan the walk is
# chosen to avoid.
WALK_FILTER_SQL = {**FILTER_SQL, "categories": "(categories && %s::text[]) IS TRUE"}


def filter_sql(
    filters: AssetFilters | None, fragments: Mapping[str, str] = FILTER_SQL
) -> tuple[str, list[Any]]:
    """The WHERE condition for ``filters`` (fragments of ``FILTER_SQL``, ANDed) and its values.

    Only constant text from ``FILTER_SQL`` reaches the SQL, so the query text repeats
    for each filter shape and psycopg's query cache and prepared statements apply.
    """
    if filters is None:
        return "TRUE", []
    parts: list[tuple[str, list[Any]]] = []
    if filters.kinds is not None:  # an empty list matches nothing, as in the contract
        parts.append(("kinds", [list(filters.kinds)]))
    categories = filters.expanded_categories()
    if categories:
        parts.append(("categories", [categories]))
    if filters.statuses is not None:
        parts.append(("statuses", [list(filters.statuses)]))
    terms = filters.text_terms()
    if terms:
        parts.append(("text", [prefix_tsquery(terms)]))
    if filters.modified_after is not None:
        parts.append(("modified_after", [filters.modified_after]))
    if filters.verified_before is not None:
        parts.append(("verified_before", [filters.verified_before]))
    if filters.organisation_id is not None:
        parts.append(("organisation_id", [filters.organisation_id]))
    if filters.weekdays is not None:
        parts.append(("weekdays", [weekday_mask(filters.weekdays)]))
    parts.extend(filters.age_parts())
    if filters.free_only:
        parts.append(("free_only", []))
    if filters.max_session_cost is not None:
        parts.append(("max_session_cost", [filters.max_session_cost]))
    if filters.genders is not None:
        parts.append(("genders", [list(filters.genders)]))
    for mask in need_masks(filters.access_needs or []):
        parts.append(("access_need", [mask]))
    if filters.precisions is not None:
        parts.append(("precisions", [list(filters.precisions)]))
        if filters.rough_only():
            parts.append(("rough_points", []))
    if filters.bbox is not None:
        parts.extend(_bbox_parts(filters.bbox))
    if filters.near is not None:
        n = filters.near
        parts.append(("near", [n.lon, n.lat, n.radius_m * _SPHERE_SLACK, n.lon, n.lat, n.radius_m]))
    if not parts:
        return "TRUE", []
    return (
        " AND ".join(fragments[key] for key, _ in parts),
        [value for _, values in parts for value in values],
    )


def _bbox_parts(bbox: BBox) -> list[tuple[str, list[Any]]]:
    parts: list[tuple[str, list[Any]]] = []
    circle = _enclosing_circle(bbox)
    if circle is not None:
        c_lat, c_lon, radius_m = circle
        parts.append(("bbox_circle", [c_lon, c_lat, radius_m]))
    key = "bbox_antimeridian" if bbox.west > bbox.east else "bbox"
    parts.append((key, [bbox.west, bbox.east, bbox.south, bbox.north]))
    return parts


def org_values(org: Organisation) -> list[Any]:
    """Column values after ``id``, in ``ORG_COLUMNS`` order."""
    return [
        org.name,
        sort_name(org.name),
        org.status,
        org.source,
        org.source_id,
        org.created_at,
        org.updated_at,
        org.version,
        org.model_dump_json(),
    ]


def asset_values(asset: Asset) -> list[Any]:
    """Column values after ``id`` for ``INSERT_ASSET`` (and, id last, ``UPDATE_ASSET``)."""
    return [
        asset.organisation_id,
        asset.kind,
        asset.status,
        asset.name,
        sort_name(asset.name),
        list(asset.categories),
        asset.source,
        asset.source_id,
        asset.created_at,
        asset.updated_at,
        asset.version,
        asset.location.lon,
        asset.location.lat,
        search_words(asset.name, asset.description),
        asset.model_dump_json(),
        *FilterColumns.of(asset).values(),
    ]


def ewkb_point(lon: float, lat: float) -> str:
    """A WGS84 point as hex EWKB, the text form ``geography`` reads (what ``POINT`` builds)."""
    return _EWKB_POINT_4326 + _XY.pack(lon, lat).hex()


def tsvector_text(words: Sequence[str]) -> str:
    """``words`` as tsvector input (``'garden' 'club'``), what ``array_to_tsvector`` makes
    of them. Words from :func:`search_words` are alphanumeric, so none needs escaping."""
    return " ".join(f"'{word}'" for word in words)


def copy_row(asset: Asset) -> tuple[Any, ...]:
    """One ``assets`` row for ``ASSETS_COPY``, of an asset already stamped for insert."""
    values = asset_values(asset)
    split = len(values) - len(FILTER_COLUMN_NAMES)  # the filter columns come last
    *head, lon, lat, words, doc = values[:split]
    columns = values[split:]
    point, search = ewkb_point(lon, lat), tsvector_text(words)
    return (asset.id, *head, point, search, doc, *columns)


def staging_row(row: int, asset: Asset) -> tuple[Any, ...]:
    return (
        row,
        asset.id,
        asset.organisation_id,
        asset.kind,
        asset.status,
        asset.name,
        sort_name(asset.name),
        list(asset.categories),
        asset.source,
        asset.source_id,
        asset.location.lon,
        asset.location.lat,
        " ".join(search_words(asset.name, asset.description)),
        asset.model_dump_json(),
        *FilterColumns.of(asset).values(),
    )
