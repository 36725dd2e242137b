"""Likely duplicate listings: find them, explain them, merge them.

Two listings are a candidate pair when they stand within ``MAX_DISTANCE_M`` metres
(WGS84 geodesic) of each other, or farther where one's point is only a postcode's or an
area's centre (``Location.precision``; ``SPREAD_M``): an activity placed by "Allerton"
stands at Allerton's centre, wherever it meets. Candidates come from a k-d tree over the
points on the sphere (or the store's radius query for one listing), never from all
pairs.
Each pair gets a score in [0, 1], a weighted sum of four parts:

- names (``NAME_WEIGHT``): how alike the names are once normalised (abbreviations,
  "&", word order, generic and place words; see :mod:`geo_assets.likeness`);
- sessions: the same weekday at overlapping times (a shifted start still overlaps);
- categories: the same term, a narrower/broader one, or a sibling;
- distance: closer is likelier.

A venue is never paired with a group (groups meet at venues), nor a group with the
venue it names in ``venue_id``, nor two listings for different people: one for women
and one for men, age ranges that do not meet, or names that differ in whom they are
for or in a number ("Junior Chess" and "Senior Chess", "Under 11s" and "Under 12s").
``find_duplicates`` scans a whole store, ``duplicates_of`` checks one (new) listing and
``import_duplicate_warnings`` the listings an import wrote; they warn and never block.
``merge`` keeps the first listing, fills its empty fields from the second, archives the
second and records the second's id and (source, source_id) in the kept listing's
``merged_from``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError
from geo_assets.geodesy import WGS84
from geo_assets.likeness import (
    category_overlap,
    name_contrast,
    name_similarity,
    session_overlap,
)
from geo_assets.model import Asset, MergedRecord, utcnow
from geo_assets.store.base import AssetFilters, Store, iter_assets
from geo_assets.store.gazetteer import normalise_place_name
from geo_assets.taxonomy import Taxonomy, default_taxonomy

__all__ = [
    "DuplicatePair",
    "category_overlap",
    "duplicate_warnings",
    "duplicates_of",
    "find_duplicates",
    "import_duplicate_warnings",
    "merge",
    "merged_changes",
    "name_contrast",
    "name_similarity",
    "pairs_among",
    "score_pair",
    "session_overlap",
]

#: Farthest apart, in metres, two listings can be and still be called duplicates.
MAX_DISTANCE_M = 150.0
#: How far from where it meets a listing may stand, by how its point was found
#: (``Location.precision``): a full postcode's centre is usually within a few hundred
#: metres of its addresses; a postcode district's or a place's centre, kilometres.
#: Listings placed at an area's centre pair only within the same named place.
SPREAD_M: dict[str, float] = {"point": 0.0, "postcode": 400.0, "area": 3_000.0}
#: The precisions of a point that is only a centre.
ROUGH_PRECISIONS = tuple(p for p, spread in SPREAD_M.items() if spread > 0)
#: Default score from which a pair is reported.
DEFAULT_MIN_SCORE = 0.8
#: Statuses compared: what people can see or are about to.
CANDIDATE_STATUSES: tuple[str, ...] = ("published", "pending")
# Weights of the score's parts; they sum to 1.
NAME_WEIGHT, SESSION_WEIGHT, CATEGORY_WEIGHT, DISTANCE_WEIGHT = 0.55, 0.2, 0.15, 0.1
# Below this name similarity a pair is not a duplicate whatever else agrees.
NAME_FLOOR = 0.5
# Imports of up to this many listings are checked one radius query each; bigger ones
# with one pass over the whole store.
IMPORT_QUERY_MAX = 2000
# Warnings listed in an import report before "... and N more".
IMPORT_WARNINGS_SHOWN = 50
EARTH_RADIUS_M = 6_371_008.8


def distance_score(distance_m: float, max_distance_m: float = MAX_DISTANCE_M) -> float:
    """1 at the same point, 0.5 at ``max_distance_m``."""
    return max(0.0, 1.0 - 0.5 * distance_m / max_distance_m)


# --- pairs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicatePair:
    """Two listings that look like one. ``a`` is the one to keep by default (the one
    listed first, confirmed more recently, or older), ``b`` the one to merge into it."""

    a: Asset
    b: Asset
    score: float
    reasons: tuple[str, ...]
    name_similarity: float
    distance_m: float

    @property
    def ids(self) -> tuple[str, str]:
        return (self.a.id, self.b.id)

    def warning(self, *, about: Asset | None = None) -> str:
        """One line for a person: which listing it may duplicate, and why."""
        other = self.a if about is not None and about.id == self.b.id else self.b
        if about is None:
            head = f"{self.a.name!r} ({self.a.id}) and {self.b.name!r} ({self.b.id})"
            head += " may be the same listing"
        else:
            head = f"may duplicate {other.name!r} ({other.id})"
        return f"{head}: {'; '.join(self.reasons)} (score {self.score:.2f})"

    def as_dict(self) -> dict[str, Any]:
        def brief(asset: Asset) -> dict[str, Any]:
            return {
                "id": asset.id,
                "name": asset.name,
                "status": asset.status,
                "source": asset.source,
                "source_id": asset.source_id,
            }

        return {
            "keep": brief(self.a),
            "drop": brief(self.b),
            "score": round(self.score, 3),
            "name_similarity": round(self.name_similarity, 3),
            "distance_m": round(self.distance_m, 1),
            "reasons": list(self.reasons),
        }


def _reach_m(a: Asset, b: Asset, max_distance_m: float) -> float:
    """How far apart ``a`` and ``b`` may be and still be duplicates (see ``SPREAD_M``)."""
    spread = max(SPREAD_M[a.location.precision], SPREAD_M[b.location.precision])
    place_a, place_b = a.location.place, b.location.place
    if (
        spread > SPREAD_M["postcode"]
        and place_a
        and place_b
        and normalise_place_name(place_a) != normalise_place_name(place_b)
    ):
        spread = 0.0  # an area's centre, and the other listing names another place
    return max(max_distance_m, spread)


def _comparable(a: Asset, b: Asset) -> bool:
    if a.id == b.id:
        return False
    if (a.kind == "venue") != (b.kind == "venue"):
        return False
    return a.venue_id != b.id and b.venue_id != a.id


def _for_different_people(a: Asset, b: Asset) -> bool:
    """Listings for different people are two listings, however alike: one for women and
    one for men, age ranges that do not meet, or names that say so (``name_contrast``)."""
    ea, eb = a.eligibility, b.eligibility
    if "any" not in (ea.gender, eb.gender) and ea.gender != eb.gender:
        return True
    youngest = max(ea.min_age or 0, eb.min_age or 0)
    upper = [e.max_age for e in (ea, eb) if e.max_age is not None]
    if upper and youngest > min(upper):
        return True
    return name_contrast(a.name, b.name) is not None


def _keep_first(a: Asset, b: Asset) -> tuple[Asset, Asset]:
    """The listing to keep first: published, confirmed more recently, older, smaller id."""

    def key(x: Asset) -> tuple[int, float, float, str]:
        verified = x.last_verified_at.timestamp() if x.last_verified_at else 0.0
        created = x.created_at.timestamp() if x.created_at else math.inf
        return (0 if x.status == "published" else 1, -verified, created, x.id)

    return (a, b) if key(a) <= key(b) else (b, a)


def score_pair(
    a: Asset,
    b: Asset,
    distance_m: float,
    *,
    max_distance_m: float = MAX_DISTANCE_M,
    taxonomy: Taxonomy | None = None,
) -> DuplicatePair | None:
    """Score two listings ``distance_m`` metres apart; None when they cannot be duplicates
    (venue and group, a group and its own venue, too far, names too different).
    ``max_distance_m`` widens for a point that is only a postcode's or an area's centre
    (``SPREAD_M``)."""
    reach_m = _reach_m(a, b, max_distance_m)
    if distance_m > reach_m or not _comparable(a, b) or _for_different_people(a, b):
        return None
    a, b = _keep_first(a, b)  # reasons read in the order the pair is shown
    similarity = name_similarity(a.name, b.name, (a.location.place, b.location.place))
    if similarity < NAME_FLOOR:
        return None
    s_session, session_reason = session_overlap(a.sessions, b.sessions)
    s_category, category_reason = category_overlap(a.categories, b.categories, taxonomy)
    s_distance = distance_score(distance_m, reach_m)
    score = (
        NAME_WEIGHT * similarity
        + SESSION_WEIGHT * s_session
        + CATEGORY_WEIGHT * s_category
        + DISTANCE_WEIGHT * s_distance
    )
    apart = f"{distance_m:.0f} m apart"
    if distance_m > max_distance_m:
        rough = a if SPREAD_M[a.location.precision] >= SPREAD_M[b.location.precision] else b
        apart += f" ({rough.name!r} stands at its {rough.location.precision}'s centre)"
    reasons = [f"names {similarity:.0%} alike", apart]
    reasons += [r for r in (session_reason, category_reason) if r]
    if a.sessions and b.sessions and s_session == 0.0:
        reasons.append("never on the same weekday")
    return DuplicatePair(a, b, min(1.0, score), tuple(reasons), similarity, distance_m)


def _unit_vectors_m(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a sphere of the Earth's mean radius, in metres (x, y, z)."""
    phi, lam = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS_M * np.column_stack(
        (np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi))
    )


def pairs_among(
    assets: Sequence[Asset],
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    max_distance_m: float = MAX_DISTANCE_M,
    only_ids: set[str] | None = None,
) -> list[DuplicatePair]:
    """Likely duplicates among ``assets``, best first (then by ids).

    Candidates are the pairs within ``max_distance_m`` (geodesic, WGS84), found with a
    k-d tree over the points on the sphere (chord length, padded by 1% for the
    ellipsoid) and then measured exactly. ``only_ids``: keep pairs involving one of them.
    """
    _check(min_score, max_distance_m)
    if len(assets) < 2:
        return []
    lat = np.array([a.location.lat for a in assets])
    lon = np.array([a.location.lon for a in assets])
    points = _unit_vectors_m(lat, lon)
    tree = cKDTree(points)
    candidates = tree.query_pairs(r=_chord_m(max_distance_m), output_type="ndarray")
    # Points that are only a postcode's or an area's centre: also the listings within
    # their spread (score_pair then checks the pair's own reach).
    rough = [i for i, a in enumerate(assets) if SPREAD_M[a.location.precision] > max_distance_m]
    if rough:
        extra = [
            (min(i, j), max(i, j))
            for i in rough
            for j in tree.query_ball_point(
                points[i], r=_chord_m(SPREAD_M[assets[i].location.precision])
            )
            if i != j
        ]
        if extra:
            candidates = np.unique(np.vstack([candidates.reshape(-1, 2), extra]), axis=0)
    if only_ids is not None and len(candidates):
        wanted = np.array([a.id in only_ids for a in assets])
        candidates = candidates[wanted[candidates[:, 0]] | wanted[candidates[:, 1]]]
    if not len(candidates):
        return []
    i, j = candidates[:, 0], candidates[:, 1]
    _, _, dist = WGS84.inv(lon[i], lat[i], lon[j], lat[j])
    taxonomy = default_taxonomy()
    out = []
    for p, q, d in zip(i.tolist(), j.tolist(), np.asarray(dist).tolist(), strict=True):
        pair = score_pair(
            assets[p], assets[q], abs(d), max_distance_m=max_distance_m, taxonomy=taxonomy
        )
        if pair is not None and pair.score >= min_score:
            out.append(pair)
    return sorted(out, key=_best_first)


def _chord_m(distance_m: float) -> float:
    """The chord through the sphere for a distance along it, padded by 1% for the
    ellipsoid: what the k-d tree searches within."""
    return 2.02 * EARTH_RADIUS_M * math.sin(min(math.pi / 2, distance_m / (2 * EARTH_RADIUS_M)))


def _best_first(pair: DuplicatePair) -> tuple[float, str, str]:
    return (-pair.score, *sorted(pair.ids))  # type: ignore[return-value]


def _check(min_score: float, max_distance_m: float) -> None:
    if not 0.0 <= min_score <= 1.0:
        raise InvalidInputError(
            f"`min_score` must be between 0 and 1, not {min_score}", field="min_score"
        )
    if not 0.0 < max_distance_m <= 10_000.0:
        raise InvalidInputError(
            f"`max_distance_m` must be above 0 and at most 10000 metres, not {max_distance_m}",
            field="max_distance_m",
        )


def _all_assets(store: Store, statuses: Sequence[str]) -> Iterator[Asset]:
    return iter_assets(store, AssetFilters(statuses=list(statuses)))  # type: ignore[arg-type]


def find_duplicates(
    store: Store,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    max_distance_m: float = MAX_DISTANCE_M,
    statuses: Sequence[str] = CANDIDATE_STATUSES,
    only_ids: set[str] | None = None,
) -> list[DuplicatePair]:
    """Likely duplicate pairs among the store's published and pending listings, best first.

    Parameters
    ----------
    store : the store to scan (every listing with one of ``statuses`` is read once).
    min_score : report pairs scoring at least this (0-1).
    max_distance_m : farthest apart two duplicates may be, metres.
    statuses : which listings take part.
    only_ids : report only pairs involving one of these listing ids.
    """
    return pairs_among(
        list(_all_assets(store, statuses)),
        min_score=min_score,
        max_distance_m=max_distance_m,
        only_ids=only_ids,
    )


def duplicates_of(
    store: Store,
    asset: Asset,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    max_distance_m: float = MAX_DISTANCE_M,
    limit: int = 5,
) -> list[DuplicatePair]:
    """Stored published/pending listings that ``asset`` (stored or not) may duplicate.

    The check run on every create and import: it only warns. One radius query, wider
    when ``asset``'s point is only a postcode's or an area's centre (``SPREAD_M``), and
    a second, out to the widest spread, for listings whose own point is such a centre
    (another organisation's "Allerton Cycle Club", placed by typing "Allerton", 2 km
    from where the new one meets). Those are few, and both stores keep an index of
    them alone, so the second query costs about as little as the first.
    Listings with the same (source, source_id) as ``asset`` are the same record, not
    duplicates. Best first, at most ``limit``.
    """
    _check(min_score, max_distance_m)
    lat, lon = asset.location.lat, asset.location.lon
    reach_m = max(max_distance_m, SPREAD_M[asset.location.precision])
    live = AssetFilters(statuses=list(CANDIDATE_STATUSES))  # type: ignore[arg-type]
    hits = store.nearby(lat, lon, reach_m, live)
    widest = max(SPREAD_M.values())
    if reach_m < widest:
        seen = {hit.asset.id for hit in hits}
        rough = live.model_copy(update={"precisions": list(ROUGH_PRECISIONS)})
        hits += [hit for hit in store.nearby(lat, lon, widest, rough) if hit.asset.id not in seen]
    taxonomy = default_taxonomy()
    out = []
    for hit in hits:
        other = hit.asset
        if asset.source_id is not None and (other.source, other.source_id) == (
            asset.source,
            asset.source_id,
        ):
            continue
        pair = score_pair(
            other, asset, hit.distance_m, max_distance_m=max_distance_m, taxonomy=taxonomy
        )
        if pair is not None and pair.score >= min_score:
            out.append(pair)
    return sorted(out, key=_best_first)[:limit]


def duplicate_warnings(store: Store, asset: Asset, **options: Any) -> list[str]:
    """``duplicates_of`` as lines for an API response or a report (empty: none found)."""
    return [pair.warning(about=asset) for pair in duplicates_of(store, asset, **options)]


def import_duplicate_warnings(
    store: Store, asset_ids: Sequence[str], *, min_score: float = DEFAULT_MIN_SCORE
) -> list[str]:
    """Warnings for the listings an import wrote (``ImportReport.ids``); never raises
    for a listing that has gone meanwhile. Small imports use one radius query per
    listing, large ones one pass over the store."""
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        return []
    pairs: dict[tuple[str, str], DuplicatePair] = {}
    if len(ids) <= IMPORT_QUERY_MAX:
        for asset_id in ids:
            try:
                asset = store.get_asset(asset_id)
            except NotFoundError:
                continue
            if asset.status not in CANDIDATE_STATUSES:
                continue
            for pair in duplicates_of(store, asset, min_score=min_score, limit=3):
                pairs.setdefault(tuple(sorted(pair.ids)), pair)  # type: ignore[arg-type]
    else:
        for pair in find_duplicates(store, min_score=min_score, only_ids=set(ids)):
            pairs.setdefault(tuple(sorted(pair.ids)), pair)  # type: ignore[arg-type]
    ranked = sorted(pairs.values(), key=_best_first)
    lines = [f"possible duplicate: {p.warning()}" for p in ranked[:IMPORT_WARNINGS_SHOWN]]
    if len(ranked) > IMPORT_WARNINGS_SHOWN:
        lines.append(
            f"... and {len(ranked) - IMPORT_WARNINGS_SHOWN} more possible duplicate(s); "
            "see `geo-assets duplicates`"
        )
    return lines


# --- merging -----------------------------------------------------------------------------------

# Fields filled from the dropped listing when the kept one has them empty; nested objects
# are filled field by field.
_FILLABLE = (
    "organisation_id",
    "description",
    "connection_types",
    "venue_id",
    "sessions",
    "group_size",
    "location",
    "cost",
    "accessibility",
    "eligibility",
    "contact",
)


# Parts of a nested object that only mean something together: filled all at once, when
# the kept listing's first one is empty ("not stated" £? per ?), never one by one (an
# amount of €10 a month must not become £10 a session).
_TOGETHER = {"cost": ("amount", "currency", "per")}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _filled(name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What of ``new`` fills the empty parts of ``old`` (both one nested object)."""
    together = _TOGETHER.get(name, ())
    filled = {
        k: v for k, v in new.items() if k not in together and _empty(old.get(k)) and not _empty(v)
    }
    if together and _empty(old.get(together[0])) and not _empty(new.get(together[0])):
        filled |= {k: new.get(k) for k in together}
    return filled


def merged_changes(keep: Asset, drop: Asset, *, now: datetime | None = None) -> dict[str, Any]:
    """The patch that merges ``drop`` into ``keep``: ``keep``'s empty fields filled from
    ``drop``, the later ``last_verified_at``, and ``drop`` (with whatever was merged
    into it before) added to ``merged_from``."""
    mine, theirs = keep.model_dump(mode="json"), drop.model_dump(mode="json")
    changes: dict[str, Any] = {}
    for name in _FILLABLE:
        old, new = mine.get(name), theirs.get(name)
        if isinstance(old, dict) and isinstance(new, dict):
            if filled := _filled(name, old, new):
                changes[name] = filled
        elif _empty(old) and not _empty(new):
            changes[name] = new
    if changes.get("venue_id") == keep.id:
        del changes["venue_id"]
    if drop.last_verified_at and (
        keep.last_verified_at is None or drop.last_verified_at > keep.last_verified_at
    ):
        changes["last_verified_at"] = drop.last_verified_at
    record = MergedRecord(
        id=drop.id, source=drop.source, source_id=drop.source_id, merged_at=now or utcnow()
    )
    known = {m.id for m in keep.merged_from}
    added = [m for m in [record, *drop.merged_from] if m.id not in known and m.id != keep.id]
    if added:
        changes["merged_from"] = [m.model_dump(mode="json") for m in [*keep.merged_from, *added]]
    return changes


def merge(
    store: Store, keep_id: str, drop_id: str, *, actor: str | None = None
) -> tuple[Asset, Asset]:
    """Merge listing ``drop_id`` into ``keep_id``; returns (kept, archived).

    The kept listing gets the dropped one's values for its empty fields and a
    ``merged_from`` entry with the dropped listing's id and (source, source_id);
    the dropped listing is archived (it keeps its own source key, so a re-import of
    its source record finds it). The two writes are separate store updates, kept first:
    if the archive fails, running the merge again completes it without a second
    ``merged_from`` entry.
    """
    if keep_id == drop_id:
        raise InvalidInputError("cannot merge a listing into itself", field="drop_id")
    keep, drop = store.get_asset(keep_id), store.get_asset(drop_id)
    if keep.status == "archived":
        raise ConflictError(f"asset `{keep_id}` is archived; keep a live listing instead")
    changes = merged_changes(keep, drop)
    kept = store.update_asset(keep_id, changes, actor=actor) if changes else keep
    archived = drop if drop.status == "archived" else store.archive_asset(drop_id, actor=actor)
    return kept, archived
