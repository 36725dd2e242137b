"""Deterministic test data and reference answers for store tests.

Everything is built in code from fixed seeds, so a failing query can be
replayed. The ``reference_*`` functions restate the store contract in plain
Python (geodesic distances from pyproj's WGS84 ``Geod``) so tests can compare a
store's answer with what the contract says it must be.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from hypothesis import strategies as st
from pyproj import Geod

from geo_assets.errors import InvalidInputError
from geo_assets.model import ASSET_KINDS, Asset, BBox, Organisation, Session
from geo_assets.store.base import AssetFilters, NearbyHit, Store, sort_name
from geo_assets.store.sqlite import db_path
from geo_assets.taxonomy import default_taxonomy

GEOD = Geod(ellps="WGS84")
EDGE_TOL_M = 0.01  # a point this close to a radius may fall on either side of it
DIST_TOL_M = 0.5  # reported distances must agree with the reference (or each other) to this
# Fields a store sets itself; everything else must round-trip unchanged.
STORE_OWNED = ("created_at", "updated_at", "version", "moderated")

LEEDS = (53.7997, -1.5492)  # (lat, lon) degrees
BRISTOL = (51.4545, -2.5879)
FIJI = (-16.8, 180.0)  # straddles the antimeridian
NORTH_POLE = (90.0, 0.0)


# --- taxonomy picks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """Category ids picked from the live taxonomy so tests survive renames."""

    root: str  # a top-level term that has grandchildren
    child: str  # child of ``root``, parent of ``grandchild``
    grandchild: str
    sibling: str  # another child of ``root`` (or ``child`` when there is none)
    other_root: str  # a different top-level term
    other_term: str  # a descendant of ``other_root`` (or ``other_root`` itself)
    third_root: str  # a top-level term unrelated to the two above
    all_ids: tuple[str, ...]


@cache
def pick_terms() -> Terms:
    taxonomy = default_taxonomy()
    roots = [t.id for t in taxonomy.roots()]
    grandchildren = [t.id for t in taxonomy if taxonomy.depth(t.id) == 2]
    if not grandchildren or len(roots) < 3:
        raise AssertionError("the taxonomy needs 3+ roots and at least one 3-level branch")
    grandchild = grandchildren[0]
    child, root = taxonomy.ancestors(grandchild)
    siblings = [c for c in taxonomy.children.get(root, []) if c != child]
    other_root, third_root = [r for r in roots if r != root][:2]
    other_desc = taxonomy.descendants(other_root)
    return Terms(
        root=root,
        child=child,
        grandchild=grandchild,
        sibling=siblings[0] if siblings else child,
        other_root=other_root,
        other_term=other_desc[-1] if other_desc else other_root,
        third_root=third_root,
        all_ids=tuple(t.id for t in taxonomy),
    )


# --- single records ---------------------------------------------------------------------------


def stable_id(*parts: object) -> str:
    """A short id that does not sort in creation order (so id tie-breaks are really tested)."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def make_org(**overrides: Any) -> Organisation:
    data: dict[str, Any] = {"name": "Leeds Community Trust", "description": "Runs groups."}
    data.update(overrides)
    return Organisation.model_validate(data)


def make_asset(**overrides: Any) -> Asset:
    """A minimal valid asset near Leeds; nested dicts in ``overrides`` replace whole objects."""
    data: dict[str, Any] = {
        "kind": "group",
        "name": "Test Group",
        "categories": [pick_terms().root],
        "location": {"lat": LEEDS[0], "lon": LEEDS[1]},
        "status": "published",
    }
    data.update(overrides)
    return Asset.model_validate(data)


def rich_asset(**overrides: Any) -> Asset:
    """An asset with every optional part filled in, for round-trip tests."""
    terms = pick_terms()
    data: dict[str, Any] = {
        "id": "rich-asset-1",
        "kind": "club",
        "name": "Tuesday Allotment Club",
        "description": "Shared plots, tools and tea. Beginners welcome; bring gloves.",
        "categories": [terms.grandchild, terms.other_root],
        "connection_types": ["local", "interest"],
        "location": {
            "lat": 53.8012345,
            "lon": -1.5387654,
            "address": "Plot 4, Meanwood Road",
            "postcode": "LS7 2AA",
            "place": "Meanwood",
            "precision": "postcode",  # not the default, so a store that drops it fails
            "footprint": {
                "type": "Polygon",
                "coordinates": [
                    [[-1.539, 53.801], [-1.538, 53.801], [-1.538, 53.802], [-1.539, 53.801]]
                ],
            },
        },
        "venue_id": "venue-xyz",
        "sessions": [
            {"weekdays": ["tu"], "start": time(10, 0), "end": time(12, 30)},
            {
                "weekdays": ["sa"],
                "start": time(9, 0),
                "end": time(11, 0),
                "frequency": "monthly",
                "weeks_of_month": [1, -1],
                "valid_from": date(2026, 3, 1),
                "valid_to": date(2026, 10, 31),
                "notes": "summer only",
            },
        ],
        "cost": {"amount": 2.5, "per": "session", "concessions": "free for carers"},
        "accessibility": {"features": ["step_free", "accessible_toilet"], "notes": "ramp"},
        "eligibility": {"min_age": 16, "max_age": 99, "groups": ["carers"]},
        "languages": ["en", "ur", "pa"],
        "group_size": 12,
        "attendance": "booking",
        "companion_welcome": False,
        "contact": {"name": "Sam", "email": "sam@example.org", "url": "https://example.org"},
        "status": "published",
        "last_verified_at": datetime(2025, 11, 3, 14, 5, 7, tzinfo=UTC),
        "source": "council-directory",
        "source_id": "ABC-123",
    }
    data.update(overrides)
    return Asset.model_validate(data)


def without_store_fields(model: Asset | Organisation) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude=set(STORE_OWNED))


# --- the catalogue: a small hand-written set for filter and text tests -------------------------

ORG_A = "org-a"
ORG_B = "org-b"


def catalogue_orgs() -> list[Organisation]:
    return [
        make_org(id=ORG_A, name="Leeds Community Trust"),
        make_org(id=ORG_B, name="Meanwood Friends"),
    ]


def catalogue() -> list[Asset]:
    """About 20 assets with chosen names, kinds, statuses, categories and owners."""
    t = pick_terms()
    # fmt: off
    rows: list[tuple[str, str, list[str], str, str, str | None]] = [
        ("group", "published", [t.grandchild], "Allotment Gardening Club",
         "Grow vegetables with neighbours.", ORG_A),
        ("club", "published", [t.child], "Knitting Circle",
         "Bring your own needles; tea provided.", ORG_A),
        ("venue", "draft", [t.root], "Community Centre", "A hall for hire and a café.", None),
        ("activity", "pending", [t.other_root], "Rock and Roll Dance",
         "Beginners welcome every week.", ORG_B),
        ("group", "archived", [t.grandchild, t.other_root], "Garden Volunteers",
         "Help keep the park tidy.", ORG_A),
        ("club", "published", [t.other_term], "O'Brien Drop-in Table Tennis",
         "Bats supplied.", None),
        ("group", "published", [t.sibling], "knitting circle", "Evening knitters.", ORG_B),
        ("venue", "published", [t.other_root], "Café Society", "Coffee & conversation.", None),
        ("activity", "draft", [t.root], "Ärger Management Workshop",
         "Calm skills for everyday life.", None),
        ("group", "published", [t.child], "Zumba Gold",
         "Gentle dance fitness for older adults.", ORG_B),
        ("club", "pending", [t.grandchild], "zebra crossing walkers",
         "Walking group that meets at the zebra crossing.", None),
        ("group", "published", [t.third_root], "Straße Walkers", "Street walks in town.", None),
        ("group", "published", [t.other_root], "Men's Shed",
         "Woodwork and chat; tools provided.", ORG_A),
        ("activity", "published", [t.child, t.other_term], "Chess and Draughts",
         "All ages, boards supplied.", None),
        ("venue", "published", [t.third_root], "Library", "Quiet reading room; IT help.", None),
        ("group", "draft", [t.grandchild], "Gardeners' Question Time",
         "Ask experts about gardening.", ORG_B),
        ("group", "published", [t.root], "Walking Football",
         "Slower-paced football for over 50s.", None),
        ("club", "published", [t.child], "Book Club",
         "Monthly meetings; books from the library.", ORG_A),
        ("club", "archived", [t.sibling], "book club", "Old reading group.", None),
        ("activity", "published", [t.third_root], "Élan Dance Studio",
         "Ballet and tap classes.", None),
    ]
    # fmt: on
    rng = random.Random(7)
    out = []
    for i, (kind, status, cats, name, description, org) in enumerate(rows):
        out.append(
            Asset(
                id=stable_id("catalogue", i),
                kind=kind,  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                categories=cats,
                name=name,
                description=description,
                organisation_id=org,
                location={  # type: ignore[arg-type]
                    "lat": round(LEEDS[0] + rng.uniform(-0.05, 0.05), 7),
                    "lon": round(LEEDS[1] + rng.uniform(-0.08, 0.08), 7),
                },
                source="fixture-catalogue",
                source_id=f"cat-{i:02d}",
            )
        )
    return out


# --- the spatial dataset: ~330 points around two cities, the antimeridian and a pole ----------

_NAMES = [
    "Knit Club",
    "knit club",
    "KNIT CLUB",
    "Walking Group",
    "Garden Circle",
    "Chess Club",
    "Community Choir",
    "Café Meetup",
    "Men's Shed",
    "Book Circle",
    "Ärger Club",
    "Élan Dance",
    "straße Walk",
    "Strasse Walk",
    "Zumba Gold",
    "zebra Walkers",
    "Art Studio",
    "Bowls",
]
_DESCRIPTIONS = [
    "Friendly and informal; newcomers welcome.",
    "Tea, cake and conversation.",
    "Outdoor walks whatever the weather.",
    "Learn new skills with patient tutors.",
    "Quiet space with step-free access.",
    "Gardening, growing and sharing produce.",
]
_STATUSES = ["published"] * 6 + ["draft", "pending", "archived"]


def _spatial_asset(rng: random.Random, i: int, lat: float, lon: float, terms: Terms) -> Asset:
    cats = rng.sample(terms.all_ids, k=rng.choice((1, 2)))
    if i % 9 == 0:
        cats = [terms.grandchild, *[c for c in cats if c != terms.grandchild]]
    return Asset(
        id=f"{rng.randrange(16**6):06x}-{i:03d}",
        kind=rng.choice(ASSET_KINDS),  # type: ignore[arg-type]
        status=rng.choice(_STATUSES),  # type: ignore[arg-type]
        name=rng.choice(_NAMES),
        description=rng.choice(_DESCRIPTIONS),
        categories=cats,
        location={"lat": lat, "lon": lon},  # type: ignore[arg-type]
        source="fixture-spatial",
        source_id=f"sp-{i:04d}",
    )


@cache
def spatial_dataset(seed: int = 20260105) -> tuple[Asset, ...]:
    """Clusters around Leeds and Bristol (~3 km spread), duplicated points,
    points on both sides of the antimeridian (incl. lon 180 and -180) and near both poles."""
    rng = random.Random(seed)
    terms = pick_terms()
    points: list[tuple[float, float]] = []
    for c_lat, c_lon in (LEEDS, BRISTOL):
        for _ in range(140):
            points.append(
                (round(c_lat + rng.gauss(0, 0.03), 7), round(c_lon + rng.gauss(0, 0.05), 7))
            )
    for k in rng.sample(range(len(points)), 6):  # exact duplicates: ties broken by id
        points.extend([points[k]] * rng.choice((1, 2)))
    for _ in range(16):
        lon = FIJI[1] + rng.gauss(0, 0.03)
        lon = lon - 360 if lon > 180 else lon
        points.append((round(FIJI[0] + rng.gauss(0, 0.02), 7), round(lon, 7)))
    points += [(FIJI[0], 180.0), (FIJI[0], -180.0)]
    for _ in range(12):
        points.append((round(rng.uniform(89.9, 90.0), 7), round(rng.uniform(-180, 180), 7)))
    points += [(90.0, 0.0), (90.0, 123.0), (-89.95, 45.0)]
    return tuple(_spatial_asset(rng, i, lat, lon, terms) for i, (lat, lon) in enumerate(points))


# --- loading and dumping ------------------------------------------------------------------------


@dataclass
class Loaded:
    """A store and what was loaded into it; unpacks as ``store, assets``, prints briefly."""

    store: Store
    assets: Sequence[Asset]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.store, self.assets))

    def __repr__(self) -> str:
        return f"Loaded({type(self.store).__name__}, {len(self.assets)} assets)"


def load(store: Store, assets: Iterable[Asset]) -> None:
    store.bulk_upsert(list(assets))


def dump_assets(store: Store) -> list[dict[str, Any]]:
    """Every stored asset, in list order, as JSON-able dicts (versions and timestamps included)."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        got = store.list_assets(page=page, per_page=1000)
        out.extend(a.model_dump(mode="json") for a in got.items)
        if page >= got.pages:
            return out
        page += 1


# --- reference answers --------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Words of stored text, normalised exactly as the query words of ``text_terms()`` are."""
    return AssetFilters.model_construct(text=text).text_terms()


def matches(asset: Asset, filters: AssetFilters | None) -> bool:
    """The filter semantics of the store contract, in plain Python."""
    if filters is None:
        return True
    if filters.kinds is not None and asset.kind not in filters.kinds:
        return False
    if filters.statuses is not None and asset.status not in filters.statuses:
        return False
    expanded = filters.expanded_categories()
    if expanded is not None and not set(asset.categories) & set(expanded):
        return False
    if filters.organisation_id is not None and asset.organisation_id != filters.organisation_id:
        return False
    if filters.modified_after is not None and not (
        asset.updated_at is not None and asset.updated_at > filters.modified_after
    ):
        return False
    words = _words(asset.name) + _words(asset.description)
    return all(any(w.startswith(term) for w in words) for term in filters.text_terms())


def name_ordered(assets: Iterable[Asset]) -> list[str]:
    """Ids in list order: case-folded name (code point = UTF-8 byte order), then id."""
    return [a.id for a in sorted(assets, key=lambda a: (sort_name(a.name), a.id))]


def reference_list(assets: Sequence[Asset], filters: AssetFilters | None = None) -> list[str]:
    return name_ordered(a for a in assets if matches(a, filters))


def distances_m(assets: Sequence[Asset], lat: float, lon: float) -> np.ndarray:
    """WGS84 geodesic distance in metres from (lat, lon) to each asset."""
    lats = np.array([a.location.lat for a in assets])
    lons = np.array([a.location.lon for a in assets])
    _, _, dist = GEOD.inv(np.full(len(assets), lon), np.full(len(assets), lat), lons, lats)
    return np.asarray(dist)


def in_box(asset: Asset, bbox: BBox) -> bool:
    lat, lon = asset.location.lat, asset.location.lon
    if not bbox.south <= lat <= bbox.north:
        return False
    if bbox.west <= bbox.east:
        return bbox.west <= lon <= bbox.east
    return lon >= bbox.west or lon <= bbox.east


def reference_within(
    assets: Sequence[Asset], bbox: BBox, filters: AssetFilters | None = None
) -> list[str]:
    return name_ordered(a for a in assets if in_box(a, bbox) and matches(a, filters))


# --- checks shared by store tests ---------------------------------------------------------------


def ids(items: Sequence[Asset] | Sequence[NearbyHit]) -> list[str]:
    return [i.asset.id if isinstance(i, NearbyHit) else i.id for i in items]


def invalid_field(call: Callable[[], object]) -> str | None:
    """The ``field`` of the InvalidInputError that ``call`` raises ("<no error>" if none)."""
    try:
        call()
    except InvalidInputError as exc:
        assert exc.field is None or exc.field in str(exc), "the message names the field"
        return exc.field
    return "<no error>"


def nearby_problems(
    hits: list[NearbyHit],
    assets: Sequence[Asset],
    lat: float,
    lon: float,
    radius_m: float,
    filters: AssetFilters | None = None,
) -> list[str]:
    """How ``hits`` differ from the exact answer (empty when they agree)."""
    ref = {
        a.id: float(d)
        for a, d in zip(assets, distances_m(assets, lat, lon), strict=True)
        if matches(a, filters)
    }
    expected = sorted((d, i) for i, d in ref.items() if d <= radius_m + EDGE_TOL_M)
    allowed = [i for _, i in expected]
    sure = {i for d, i in expected if d <= radius_m - EDGE_TOL_M}
    got = ids(hits)
    out = []
    if extra := set(got) - set(allowed):
        out.append(f"{len(extra)} hit(s) outside the radius or filtered out, e.g. {min(extra)}")
    if missing := sure - set(got):
        out.append(f"{len(missing)} asset(s) within the radius missing, e.g. {min(missing)}")
    if got != [i for i in allowed if i in set(got)]:
        out.append(f"order differs from (distance, id): got {got[:6]}... want {allowed[:6]}...")
    for h in hits:
        if h.asset.id in ref and abs(h.distance_m - ref[h.asset.id]) > DIST_TOL_M:
            out.append(f"{h.asset.id}: distance {h.distance_m} m, want {ref[h.asset.id]} m")
            break
    keys = [(h.distance_m, h.asset.id) for h in hits]
    if keys != sorted(keys):
        out.append("hits are not sorted by their own (distance_m, id)")
    return out


def same_hits(a: list[NearbyHit], b: list[NearbyHit], radius_m: float) -> list[str]:
    """Same ids in the same order, distances within 0.5 m (ignoring hits right on the radius)."""
    keep_a = [h for h in a if h.distance_m < radius_m - EDGE_TOL_M]
    keep_b = [h for h in b if h.distance_m < radius_m - EDGE_TOL_M]
    if ids(keep_a) != ids(keep_b):
        only = set(ids(keep_a)) ^ set(ids(keep_b))
        return [f"ids differ ({len(keep_a)} vs {len(keep_b)}; not in both: {sorted(only)[:4]})"]
    worst = max(
        (abs(x.distance_m - y.distance_m) for x, y in zip(keep_a, keep_b, strict=True)), default=0
    )
    return [f"distances differ by {worst:.3f} m"] if worst > DIST_TOL_M else []


def bulk_records(n: int, *, tag: str = "v1", start: int = 0) -> list[dict]:
    """``n`` valid records as plain dicts (no ids: the store or the model assigns them)."""
    t = pick_terms()
    out = []
    for i in range(start, start + n):
        out.append(
            {
                "kind": ["group", "club", "venue", "activity"][i % 4],
                "name": f"Bulk {tag} {i:03d}",
                "categories": [t.grandchild if i % 2 else t.other_root],
                "location": {"lat": LEEDS[0] + i * 1e-4, "lon": LEEDS[1] - i * 1e-4},
                "status": "published",
                "source": "bulk-test",
                "source_id": f"row-{i}",
            }
        )
    return out


@st.composite
def recurring_sessions(draw: st.DrawFn, *, max_span_days: int = 120) -> Session:
    """Any session a listing may have: weekly, fortnightly or monthly (with 5th weeks,
    which some months lack, and the last week), at any hour, from and until any dates."""
    frequency = draw(st.sampled_from(["weekly", "fortnightly", "monthly"]))
    weeks = draw(st.lists(st.sampled_from([1, 2, 3, 4, 5, -1]), min_size=1, max_size=3))
    hour = draw(st.integers(0, 22))
    valid_from = draw(st.none() | st.dates(date(2025, 1, 1), date(2027, 12, 31)))
    span_days = draw(st.none() | st.integers(0, max_span_days))
    return Session(
        weekdays=draw(
            st.lists(st.sampled_from(["mo", "tu", "we", "th", "fr", "sa", "su"]), min_size=1)
        ),
        start=time(hour, 30),
        end=time(hour + 1),
        frequency=frequency,
        weeks_of_month=weeks if frequency == "monthly" else None,
        valid_from=valid_from,
        valid_to=None
        if span_days is None
        else (valid_from or date(2026, 3, 1)) + timedelta(days=span_days),
    )


# --- a store's database, under the store ------------------------------------------------------

MIGRATIONS = Path(__file__).parents[1] / "geo_assets" / "store" / "migrations"


def store_dialect(store: Store) -> str:
    return "sqlite" if store.url.startswith("sqlite") else "postgis"


@contextmanager
def raw_connection(store: Store) -> Iterator[Any]:
    """A connection of the store's database, outside the store (committed on leaving)."""
    if store_dialect(store) == "sqlite":
        conn = sqlite3.connect(db_path(store.url))
        try:
            with conn:
                yield conn
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as conn:
            yield conn


def run_migration(store: Store, name: str) -> None:
    """Run one migration file of the store's dialect again, as its upgrade ran it: to see
    what it does to rows written as an older version wrote them."""
    sql = (MIGRATIONS / store_dialect(store) / name).read_text(encoding="utf-8")
    with raw_connection(store) as conn:
        if store_dialect(store) == "sqlite":
            conn.executescript(sql)
        else:
            conn.execute(sql)
