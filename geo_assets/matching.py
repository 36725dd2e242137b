"""Rank the assets a person can reach against what they care about, and say why.

The pipeline follows DESIGN section 5, one function per stage so each can be
tested alone:

1. ``find_candidates``: store radius queries within the largest reachable radius;
   category filters are pushed into the store so dense cities stay fast.
2. ``travel_times``: minutes per allowed mode; the quickest mode within its limit.
3. ``violations``: hard filters (published, eligibility, access needs, budget).
4. ``score_asset``: component scores in [0, 1].
5. ``rank``: weighted sum (``DEFAULT_WEIGHTS``, overridable), then a maximal
   marginal relevance re-rank (Carbonell & Goldstein 1998) over categories.
6. ``explain``: plain-English reasons for each result.

Deterministic: the same request gives the same order (ties broken by asset id).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType

import numpy as np

from geo_assets.audience import GROWN_UP_WORDS
from geo_assets.clock import local_now
from geo_assets.errors import InvalidInputError

# Freshness and the stale flag share one threshold (the `stale_after_days` setting);
# re-exported here for callers that import them from matching.
from geo_assets.freshness import STALE_AFTER_DAYS as STALE_AFTER_DAYS
from geo_assets.freshness import freshness_score, is_stale
from geo_assets.interests import (
    InterestMatch,
    InterestResolver,
    WordFinder,
    content_words,
    default_resolver,
    lexical_score,
    normalise,
    singular,
    subject_words,
)
from geo_assets.languages import language_name
from geo_assets.model import (
    MAX_MATCH_LIMIT,
    WEEKDAYS,
    Asset,
    Availability,
    Gender,
    Profile,
    Session,
    and_list,
    days_text,
    features_meeting,
    utcnow,
)
from geo_assets.store.base import AssetFilters, NearbyHit, Store
from geo_assets.travel import (
    MODE_WORDS,
    StraightLineTravel,
    TravelModel,
    minutes_by_mode,
    pick_best,
)

# Component weights; they sum to 1 so a score reads as a share of a perfect match.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "interest": 0.40,
        "travel": 0.20,
        "schedule": 0.15,
        "connection": 0.08,
        "cost": 0.07,
        "access": 0.05,
        "freshness": 0.05,
    }
)
COMPONENTS = tuple(DEFAULT_WEIGHTS)
# Minutes at which the travel score halves.
TRAVEL_HALF_MINUTES = 15.0
SMALL_GROUP_MAX = 12
# Candidate pools, as multiples of the number of results asked for (at least 10):
# nearest assets in the person's interest categories, in related categories, and
# of any kind (for local connections and unmatched interests).
POOL_EXACT, POOL_RELATED, POOL_ANY = 6, 2, 2
# Listings aimed at a group the person gave no sign of belonging to ("for carers")
# keep this share of their score: still visible, no longer on top.
AUDIENCE_FACTOR = 0.7
# Words in eligibility groups that say nothing about who the group is for.
_AUDIENCE_FILLER = frozenset(
    ["people", "living", "problems", "using", "services", "affected", "families", "family"]
)
# Words that say a person brings children, for ``with_carers`` listings ("mum of a
# toddler", "looks after her grandson"; an interest read as "parent and toddler groups").
_BRINGS_CHILDREN = GROWN_UP_WORDS | frozenset([
    "child", "children", "kid", "kids", "toddler", "toddlers", "baby", "babies", "son",
    "sons", "daughter", "daughters", "grandchild", "grandchildren", "grandson",
    "granddaughter", "pregnant",
])  # fmt: skip
# Maximal marginal relevance: weight of relevance against novelty.
MMR_LAMBDA = 0.85


@dataclass(frozen=True)
class ResolvedInterest:
    """One thing the person said, with the taxonomy terms and words it points to."""

    text: str
    terms: tuple[InterestMatch, ...]
    words: tuple[str, ...]
    # How a reason names it: the person's words, a term's name for a term id, and
    # what we took a misspelling for ('gardning (read as "gardening")'), so a
    # misreading is plain to see.
    shown: str


@dataclass
class Match:
    """One ranked result with everything needed to explain it."""

    asset: Asset
    score: float
    components: dict[str, float]
    minutes: float
    mode: str
    distance_m: float
    reasons: list[str] = field(default_factory=list)
    next_session: datetime | None = None
    stale: bool = False
    matched_interests: list[str] = field(default_factory=list)
    # The interest it comes closest to (named when it matches none outright).
    nearest_interest: str | None = None
    # The person's other modes that also get there within their limits, quickest first.
    other_modes: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "asset_id": self.asset.id,
            "name": self.asset.name,
            "score": round(self.score, 4),
            "minutes": round(self.minutes, 1),
            "mode": self.mode,
            "other_modes": [
                {"mode": mode, "minutes": round(minutes, 1)} for mode, minutes in self.other_modes
            ],
            "distance_m": round(self.distance_m, 1),
            "next_session": self.next_session.isoformat() if self.next_session else None,
            "reasons": self.reasons,
            "components": {k: round(v, 4) for k, v in self.components.items()},
            "stale": self.stale,
        }


# --- stage 0: what the person asked for ------------------------------------------------------


def resolve_interests(
    profile: Profile, resolver: InterestResolver | None = None
) -> list[ResolvedInterest]:
    resolver = resolver or default_resolver()
    out = []
    for text in profile.interests:
        terms = tuple(resolver.resolve(text))
        words = tuple(subject_words(text))
        out.append(ResolvedInterest(text, terms, words, shown_as(text, terms, resolver)))
    return out


def shown_as(text: str, terms: Sequence[InterestMatch], resolver: InterestResolver) -> str:
    """How reasons name an interest (see ``ResolvedInterest.shown``)."""
    if text in resolver.taxonomy:
        return resolver.taxonomy.get(text).name
    if terms and not _words_of(terms[0].label) <= _words_of(text):
        return f'{text} (read as "{terms[0].label}")'
    return text


def _words_of(text: str) -> set[str]:
    """The words of ``text`` in the singular: "parent and toddler group" was not
    misread as the term "parent and toddler groups"."""
    return {singular(w) for w in normalise(text).split()}


def check_weights(overrides: Mapping[str, float] | None) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    for name, value in (overrides or {}).items():
        if name not in weights:
            raise InvalidInputError(
                f"`weights` has unknown component {name!r}; allowed: {sorted(weights)}",
                field="weights",
            )
        if not (0.0 <= float(value) <= 10.0) or value != value:
            raise InvalidInputError(f"`weights.{name}` must be between 0 and 10", field="weights")
        weights[name] = float(value)
    if sum(weights.values()) <= 0:
        raise InvalidInputError("`weights` must not all be zero", field="weights")
    return weights


# --- stage 1: candidates -------------------------------------------------------------------


def reach_radius_m(profile: Profile, travel: TravelModel) -> float:
    return max(travel.reach_m(t.mode, t.max_minutes) for t in profile.travel)


def candidate_pools(
    interests: Sequence[ResolvedInterest], resolver: InterestResolver, limit: int
) -> list[tuple[list[str] | None, int]]:
    """(categories, size) of the pools ``find_candidates`` asks the store for: the
    person's interest categories, their parents, then any category (None)."""
    per = max(10, limit)
    exact = sorted({m.term_id for i in interests for m in i.terms})
    related = sorted(
        {parent for term in exact if (parent := resolver.taxonomy.get(term).parent_id) is not None}
        - set(exact)
    )
    pools: list[tuple[list[str] | None, int]] = []
    if exact:
        pools.append((exact, POOL_EXACT * per))
    if related:
        pools.append((related, POOL_RELATED * per))
    pools.append((None, POOL_ANY * per))
    return pools


def store_checkable(profile: Profile, categories: list[str] | None = None) -> AssetFilters:
    """The hard constraints of ``violations`` that a store query can apply (published,
    admits the person's age and sex, meets their access needs, women only when that is a
    need, free when only free will do, within a budget per session), for ``categories``.

    Asked of the store, they keep the pools' places for listings the person may go to:
    in a dense city, listings for children would otherwise fill a pensioner's pool.
    ``violations`` still checks every constraint, these included."""
    genders: set[Gender] = {"any", "women", "men"}
    if profile.gender is not None:
        genders = {"any", profile.gender}
    if "women_only" in profile.access_needs:
        genders &= {"women"}
    return AssetFilters(
        statuses=["published"],
        age_min=profile.age,
        age_max=profile.age,
        children_ages=profile.children_ages or None,
        free_only=profile.budget.free_only,
        max_session_cost=profile.budget.max_per_session,
        genders=None if len(genders) == 3 else sorted(genders),
        access_needs=[n for n in profile.access_needs if n != "women_only"] or None,
        categories=categories,
    )


def find_candidates(
    store: Store,
    profile: Profile,
    travel: TravelModel,
    interests: Sequence[ResolvedInterest],
    resolver: InterestResolver | None = None,
    *,
    limit: int = 10,
) -> list[NearbyHit]:
    """Nearest published assets in three pools (exact, related, any), merged by id, each
    asked only for listings that pass ``store_checkable``.

    Pool sizes scale with ``limit``: the stores answer a limited radius query with
    an index-ordered scan, so a dense city costs no more than a quiet town. The pools
    go to the store as one batch (one round trip on PostGIS).
    """
    resolver = resolver or default_resolver()
    radius_m = max(1.0, reach_radius_m(profile, travel))
    queries = [
        (store_checkable(profile, categories), size)
        for categories, size in candidate_pools(interests, resolver, limit)
    ]
    seen: dict[str, NearbyHit] = {}
    for hits in store.nearby_each(profile.origin.lat, profile.origin.lon, radius_m, queries):
        for hit in hits:
            seen.setdefault(hit.asset.id, hit)
    return sorted(seen.values(), key=lambda h: (h.distance_m, h.asset.id))


# --- stage 2: travel -----------------------------------------------------------------------


def travel_times(
    profile: Profile,
    travel: TravelModel,
    assets: Sequence[Asset],
    metres: Sequence[float] | None = None,
) -> tuple[np.ndarray, list[str | None], list[list[float]]]:
    """Quickest allowed minutes per asset and its mode (``inf`` / None if out of reach),
    and per asset the minutes by each of the person's modes, in their order (``inf``
    beyond that mode's limit).

    ``metres``: the geodesic distance to each asset when known (the candidates' own).
    """
    if not assets:
        return np.zeros(0), [], []
    points = np.array([[a.location.lat, a.location.lon] for a in assets])
    limits = [(t.mode, t.max_minutes) for t in profile.travel]
    origin = (profile.origin.lat, profile.origin.lon)
    known = None if metres is None else np.asarray(metres, dtype=float)
    per_mode = minutes_by_mode(travel, origin, points, limits, metres=known)
    minutes, which = pick_best(per_mode)
    modes = [limits[i][0] if i >= 0 else None for i in which]
    return minutes, modes, per_mode.T.tolist()


def other_modes(
    profile: Profile, by_mode: Sequence[float], best: str
) -> tuple[tuple[str, float], ...]:
    """The person's modes other than ``best`` that also get there within their limits,
    quickest first (a bus may be quickest where a walk is still well within reach).
    ``by_mode``: minutes by each of the person's modes (a row of ``travel_times``)."""
    ways = [
        (t.mode, minutes)
        for t, minutes in zip(profile.travel, by_mode, strict=True)
        if t.mode != best and math.isfinite(minutes)
    ]
    return tuple(sorted(ways, key=lambda way: way[1]))


# --- stage 3: hard filters ------------------------------------------------------------------


def violations(asset: Asset, profile: Profile) -> list[str]:
    """Hard constraints the asset breaks for this person (empty when it may be shown)."""
    out = []
    if asset.status != "published":
        out.append("not published")
    elig = asset.eligibility
    if not elig.admits_age(profile.age, profile.children_ages):
        out.append("age")
    if elig.gender != "any" and profile.gender is not None and elig.gender != profile.gender:
        out.append("gender")
    features = set(asset.accessibility.features)
    for need in profile.access_needs:
        if need == "women_only":
            if elig.gender != "women":
                out.append("women_only")
        elif not (features_meeting(need) & features):
            out.append(need)
    cost = asset.cost.per_session
    if (
        profile.budget.free_only
        and cost != 0
        or profile.budget.max_per_session is not None
        and (cost is None or cost > profile.budget.max_per_session)
    ):
        out.append("budget")
    return out


# --- stage 4: component scores --------------------------------------------------------------


def travel_score(minutes: float) -> float:
    """Halves every ``TRAVEL_HALF_MINUTES``; strictly decreasing, so closer never scores less."""
    return float(0.5 ** (max(0.0, minutes) / TRAVEL_HALF_MINUTES))


def interest_score(
    asset: Asset,
    interests: Sequence[ResolvedInterest],
    resolver: InterestResolver,
    finder: WordFinder | None = None,
) -> tuple[float, list[str], str | None]:
    """Best interest fit plus a little for a second one; the interests it matched; the
    one it comes closest to (None when it relates to none).

    Per interest: max of (resolution confidence x taxonomy similarity) over the
    asset's categories, or the lexical match with its name and description.
    Adding an interest can never lower the score (best and second best only grow).
    ``finder``: the interests' ``word_finder``, built once per search.
    """
    if not interests:
        return 0.0, [], None
    finder = finder or word_finder(interests)
    found = finder.found_in(f"{asset.name} {asset.description}")
    similarity = resolver.similarity
    per: list[tuple[float, str]] = []
    for interest in interests:
        best = lexical_score(interest.words, found)
        for m in interest.terms:
            if m.confidence <= best:  # a similarity is at most 1: it cannot do better
                continue
            for category in asset.categories:
                best = max(best, m.confidence * similarity(m.term_id, category))
        per.append((best, interest.shown))
    per.sort(key=lambda p: -p[0])
    top = per[0][0] + (0.15 * per[1][0] if len(per) > 1 else 0.0)
    matched = [text for score, text in per if score >= 0.5]
    return min(1.0, top), matched, per[0][1] if per[0][0] > 0 else None


def word_finder(interests: Sequence[ResolvedInterest]) -> WordFinder:
    return WordFinder(word for interest in interests for word in interest.words)


def _minutes_of(t: time) -> int:
    return t.hour * 60 + t.minute


def fit_by_day(session: Session, windows: Sequence[Availability]) -> dict[str, float]:
    """For each of the session's days, the share of its time inside a window on that day."""
    start, end = _minutes_of(session.start), _minutes_of(session.end)
    length = end - start
    fits: dict[str, float] = dict.fromkeys(session.weekdays, 0.0)
    for window in windows:
        overlap = min(end, _minutes_of(window.end)) - max(start, _minutes_of(window.start))
        if overlap <= 0:
            continue
        for day in window.weekdays:
            if day in fits:
                fits[day] = max(fits[day], overlap / length)
    return fits


def session_fit(session: Session, windows: Sequence[Availability]) -> float:
    """Share of the session's time that falls inside a window on one of its days."""
    return max(fit_by_day(session, windows).values(), default=0.0)


def running_sessions(asset: Asset, today: date | None) -> list[Session]:
    """The listing's sessions that have not ended by ``today`` (all of them when None):
    one whose ``valid_to`` has passed neither ranks nor explains a listing."""
    if today is None:
        return list(asset.sessions)
    return [s for s in asset.sessions if s.valid_to is None or s.valid_to >= today]


def schedule_score(
    asset: Asset, windows: Sequence[Availability], today: date | None = None
) -> tuple[float, Session | None]:
    """How well the sessions still running on ``today`` fit when the person is free,
    and the best-fitting one (the first listed, among equals). A listing whose every
    session has ended scores as one that lists no times."""
    sessions = running_sessions(asset, today)
    if not sessions:
        return (0.6 if not windows else 0.5), None
    if not windows:
        return 1.0, sessions[0]
    fits = [(session_fit(s, windows), i) for i, s in enumerate(sessions)]
    score, index = max(fits, key=lambda f: (f[0], -f[1]))
    return score, sessions[index]


def soonest_session(
    asset: Asset, windows: Sequence[Availability], now: datetime
) -> tuple[datetime, Session] | None:
    """The first start after ``now``, over all the listing's running sessions, that falls
    in one of the windows (any start when there are none), and its session."""
    sessions = running_sessions(asset, now.date())
    starts = [
        (start, i)
        for i, session in enumerate(sessions)
        if (start := next_session_after(session, windows, now)) is not None
    ]
    if not starts:
        return None
    start, index = min(starts)
    return start, sessions[index]


def cost_score(asset: Asset, profile: Profile) -> float:
    cost = asset.cost.per_session
    if cost is None:
        return 0.4
    if cost == 0:
        return 1.0
    budget = profile.budget.max_per_session
    if budget:
        return max(0.0, 1.0 - 0.5 * cost / max(budget, cost))
    return 1.0 / (1.0 + cost / 4.0)


def access_score(asset: Asset, profile: Profile) -> float:
    """Preferences met (small group, drop-in, companion, language) plus extra access features."""
    checks: list[float] = []
    prefs = profile.preferences
    if prefs.small_group:
        size = asset.group_size
        checks.append(0.5 if size is None else float(size <= SMALL_GROUP_MAX))
    if prefs.drop_in_only:
        checks.append(float(asset.attendance == "drop_in"))
    if prefs.accompanied_first_visit:
        checks.append(float(asset.companion_welcome))
    if profile.languages:
        checks.append(float(bool(set(profile.languages) & set(asset.languages))))
    extras = min(1.0, len(asset.accessibility.features) / 3.0)
    if not checks:
        return 0.5 + 0.5 * extras
    return 0.75 * sum(checks) / len(checks) + 0.25 * extras


def person_words(
    profile: Profile, interests: Sequence[ResolvedInterest], resolver: InterestResolver
) -> frozenset[str]:
    """Words said about the person (interests, circumstances) plus the names and synonyms
    of the terms their interests confidently resolved to ("ex forces" -> "veterans")."""
    texts = [*profile.interests, *profile.circumstances]
    for interest in interests:
        for m in interest.terms:
            if m.confidence >= 0.8:
                term = resolver.taxonomy.get(m.term_id)
                texts.extend([term.name, *term.synonyms])
    return frozenset(w for text in texts for w in content_words(text))


def audience_fit(asset: Asset, words: frozenset[str], *, brings_children: bool = False) -> float:
    """1 unless the listing is aimed at specific groups, or at grown-ups who bring children
    (``with_carers``), and nothing said puts the person there: a grown-up is let into a
    toddler group by the age filter whether or not they have a toddler.

    ``brings_children``: the children's ages were given (``Profile.children_ages``),
    and the age filter has already matched one of them to the listing."""
    elig = asset.eligibility
    if elig.with_carers and not brings_children and not words & _BRINGS_CHILDREN:
        return AUDIENCE_FACTOR
    if not elig.groups:
        return 1.0
    for group in elig.groups:
        for word in content_words(group):
            if word in _AUDIENCE_FILLER:
                continue
            if any(w[:5] == word[:5] for w in words if len(w) >= 4):
                return 1.0
    return AUDIENCE_FACTOR


def connection_score(asset: Asset, profile: Profile) -> float:
    if not profile.connection_goals:
        return 1.0
    wanted = set(profile.connection_goals)
    return len(wanted & set(asset.connection_types)) / len(wanted)


# --- stage 5: ranking -----------------------------------------------------------------------


def weighted(components: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.values())
    return sum(weights[k] * components[k] for k in weights) / total


def rank(matches: list[Match], limit: int, *, diversity: float = 1.0 - MMR_LAMBDA) -> list[Match]:
    """Order by score, then re-rank greedily by maximal marginal relevance.

    ``diversity`` is 1 - lambda: 0 keeps the pure score order. Two listings are alike
    (1) when they share their main category, half so (0.5) when their main categories
    share a top-level group. Redundancy grows with each similar pick already chosen
    (half a point per near duplicate, capped at 1), so one companion of the same kind
    costs little and a third costs a lot.
    """
    pool = sorted(matches, key=lambda m: (-m.score, m.asset.id))
    if diversity <= 0 or len(pool) <= 1:
        return pool[:limit]
    from geo_assets.taxonomy import default_taxonomy

    taxonomy = default_taxonomy()
    pool = pool[: max(limit * 5, 50)]
    # Listings with the same main category share their redundancy, and the pool is in
    # score order, so only the first unpicked listing of each main category can be the
    # next pick; a pick changes the gains of its own top-level group only.
    queues: dict[str, deque[int]] = {}
    for i, m in enumerate(pool):
        queues.setdefault(m.asset.categories[0], deque()).append(i)
    root = {main: taxonomy.root_of(main) for main in queues}
    in_root: dict[str, list[str]] = {}
    for main, top in root.items():
        in_root.setdefault(top, []).append(main)
    picked_main = dict.fromkeys(queues, 0)
    picked_root = dict.fromkeys(in_root, 0)
    value = [(1 - diversity) * m.score for m in pool]
    gains = {main: value[queue[0]] for main, queue in queues.items()}  # nothing picked yet
    chosen: list[int] = []
    for _ in range(min(limit, len(pool))):
        # Ties (within rounding) go to the earlier listing: higher score, then lower id.
        cut = max(gains.values()) - 1e-12
        pick, main = min((queues[m][0], m) for m, gain in gains.items() if gain >= cut)
        chosen.append(pick)
        queues[main].popleft()
        picked_main[main] += 1
        top = root[main]
        picked_root[top] += 1
        for other in in_root[top]:
            queue = queues[other]
            if not queue:
                gains.pop(other, None)
                continue
            same = picked_main[other]
            redundancy = min(1.0, 0.5 * same + 0.25 * (picked_root[top] - same))
            gains[other] = value[queue[0]] - diversity * redundancy
    return [pool[i] for i in chosen]


# --- stage 6: explanations ------------------------------------------------------------------

_FEATURE_WORDS = {
    "wheelchair": "wheelchair accessible",
    "step_free": "step-free access",
    "accessible_toilet": "accessible toilet",
    "changing_places": "Changing Places toilet",
    "hearing_loop": "hearing loop",
    "bsl": "BSL interpreted",
    "quiet_space": "quiet space available",
    "large_print": "large print materials",
    "easy_read": "easy read information",
    "parking": "parking",
    "assistance_dogs": "assistance dogs welcome",
}


def next_session_after(
    session: Session, windows: Sequence[Availability], now: datetime, *, horizon: int = 12
) -> datetime | None:
    """The first start of ``session`` after ``now`` that falls in one of the windows
    (looking ``horizon`` starts ahead)."""
    if not windows:
        return next(session.occurrences(now), None)
    # Every start is at ``session.start`` on one of its days, so the days that fit a
    # window are known before walking the calendar, and often there are none: walking
    # twelve monthly starts to find that out took 100 us.
    days = {
        day
        for day in session.weekdays
        if any(day in w.weekdays and w.start <= session.start < w.end for w in windows)
    }
    if not days:
        return None
    for start in session.occurrences(now, count=horizon):
        if WEEKDAYS[start.weekday()] in days:
            return start
    return None


# How to join, for someone who would rather just turn up.
_JOINING_WORDS = {
    "drop_in": "drop in: no need to book",
    "booking": "not drop-in: book a place first",
    "referral": "not drop-in: by referral",
}

# Modes that need no fare, timetable or parking: worth naming beside a quicker bus or car.
_UNAIDED_MODES = frozenset({"walk", "wheelchair", "cycle"})


def exact_minutes(minutes: float) -> str:
    return f"{minutes:.0f} min"


def travel_reason(match: Match, minutes_text: Callable[[float], str] = exact_minutes) -> str:
    """The quickest way and, when that is a bus or a car, the person's own ways of
    getting there within their limits, which cost nothing and may suit them better:
    "13 min by bus or train, or 16 min walk" ("about ..." when the listing's point is
    only a postcode's or an area's centre). ``minutes_text`` says each time."""
    ways = [(match.mode, match.minutes)]
    if match.mode not in _UNAIDED_MODES:
        ways += [way for way in match.other_modes if way[0] in _UNAIDED_MODES]
    said = ", or ".join(f"{minutes_text(minutes)} {MODE_WORDS[mode]}" for mode, minutes in ways)
    # A pin at a postcode's or an area's centre gives a time to there, not to the door.
    return f"about {said}" if match.asset.location.approximate else said


def _children_who_fit(asset: Asset, profile: Profile) -> str:
    """ ": your child aged 2 can come" for a ``with_carers`` listing, naming the
    children of its ages; "" when no children's ages were given."""
    fit = [c for c in profile.children_ages if asset.eligibility.in_age_range(c)]
    if not fit:
        return ""
    ages = [str(c) for c in sorted(set(fit))]
    said = ages[0] if len(ages) == 1 else ", ".join(ages[:-1]) + f" and {ages[-1]}"
    return f": your {'child' if len(fit) == 1 else 'children'} aged {said} can come"


def free_then(session: Session, windows: Sequence[Availability]) -> str:
    """Whether the person is free for the session, naming the days when only some of
    its days fit: "you are free on Sundays" for a Thursday and Sunday session, not a
    "you are free then" that would send them along on a Thursday."""
    fits = fit_by_day(session, windows)
    whole = [day for day, fit in fits.items() if fit >= 0.99]
    part = [day for day, fit in fits.items() if 0 < fit < 0.99]
    if whole:
        if len(whole) == len(fits):
            return "you are free then"
        days = days_text(whole)
        return f"you are free {days}" if " to " in days else f"you are free on {days}"
    if not part:
        return "not when you said you are free"
    if len(part) == len(fits):
        return "partly when you are free"
    return f"partly when you are free, on {days_text(part)}"


def explain(
    match: Match,
    profile: Profile,
    interests: Sequence[ResolvedInterest],
    session: Session | None,
    now: datetime,
    *,
    others_matched: bool = False,
) -> list[str]:
    """Plain-English reasons, most important first. ``others_matched``: some other
    result fits an interest, so one that fits none is there for what else it offers."""
    asset, c = match.asset, match.components
    reasons: list[str] = []
    if interests:
        if match.matched_interests:
            reasons.append("matches your interest: " + ", ".join(match.matched_interests))
        elif c["interest"] > 0:
            reasons.append(f"related to your interest: {match.nearest_interest}")
        else:
            # After a colon, not in brackets: a misreading's own '(read as "...")'
            # would otherwise sit in a second pair.
            said = ", ".join(i.shown for i in interests)
            if others_matched:
                reasons.append(f"not one of your interests: {said}; shown for what else it offers")
            else:
                reasons.append(
                    f"no listing matched your interests: {said}; shown for other reasons"
                )
    reasons.append(travel_reason(match))
    if session is not None:
        when = session.describe()
        when = when[0].upper() + when[1:]
        if not profile.availability:
            reasons.append(when)
        else:
            reasons.append(f"{when} - {free_then(session, profile.availability)}")
    elif not asset.sessions:
        reasons.append("no regular session times listed")
    elif not running_sessions(asset, now.date()):
        reasons.append("its listed sessions have ended - check what runs now")
    cost = asset.cost
    if cost.amount == 0:
        reasons.append("free")
    elif cost.amount is None:
        reasons.append("cost not stated")
    else:
        text = (
            f"£{cost.amount:.2f} per {cost.per}"
            if cost.currency == "GBP"
            else (f"{cost.amount:.2f} {cost.currency} per {cost.per}")
        )
        if cost.concessions:
            text += " (concessions)"
        reasons.append(text)
    for feature in asset.accessibility.features:
        if feature in profile.access_needs or feature in (
            "step_free",
            "wheelchair",
            "hearing_loop",
        ):
            reasons.append(_FEATURE_WORDS[feature])
    # English goes without saying; another language the person speaks is worth naming.
    if spoken := [code for code in asset.languages if code in profile.languages and code != "en"]:
        reasons.append("in " + and_list([language_name(code) for code in spoken]))
    who = asset.eligibility
    if who.gender != "any":  # said whatever the person's sex: it may be a reason not to go
        reasons.append(f"{who.gender} only")
    if who.with_carers:
        reasons.append(
            f"for {who.with_carers_text(groups=True)}{_children_who_fit(asset, profile)}"
        )
    elif profile.age is None and (ages := who.ages_text()):
        # With an age given, only listings of its ages are here at all.
        reasons.append(f"for people {ages}")
    if groups := who.groups_text():
        reasons.append(groups)
    if profile.connection_goals and c["connection"] > 0:
        goals = [g for g in profile.connection_goals if g in asset.connection_types]
        words = {
            "local": "meeting local people",
            "interest": "sharing an interest",
            "reconnect": "reconnecting with family and friends",
        }
        reasons.append("good for " + " and ".join(words[g] for g in goals))
    prefs = profile.preferences
    if prefs.small_group and asset.group_size:
        size = "small" if asset.group_size <= SMALL_GROUP_MAX else "larger"
        reasons.append(f"{size} group (about {asset.group_size})")
    if prefs.accompanied_first_visit and asset.companion_welcome:
        reasons.append("a supporter can come along the first time")
    if prefs.drop_in_only:  # whether it is met, since it only lowers the rank when not
        reasons.append(_JOINING_WORDS[asset.attendance])
    if match.stale:
        if asset.last_verified_at:
            when = asset.last_verified_at.strftime("%B %Y")
            reasons.append(f"not confirmed since {when} - check it is still running")
        else:
            reasons.append("never confirmed - check it is still running")
    return reasons


# --- the whole pipeline ---------------------------------------------------------------------


def match(
    store: Store,
    profile: Profile,
    *,
    travel: TravelModel | None = None,
    weights: Mapping[str, float] | None = None,
    limit: int = 10,
    now: datetime | None = None,
    resolver: InterestResolver | None = None,
    diversity: float = 1.0 - MMR_LAMBDA,
) -> list[Match]:
    """Ranked, explained matches for ``profile``. ``now`` is local time for next sessions
    (default: ``geo_assets.clock.local_now``)."""
    if not 1 <= limit <= MAX_MATCH_LIMIT:
        raise InvalidInputError(f"`limit` must be between 1 and {MAX_MATCH_LIMIT}", field="limit")
    travel = travel or StraightLineTravel()
    resolver = resolver or default_resolver()
    weights_used = check_weights(weights)
    if now is None:  # the local clock for sessions, the true instant for freshness
        now, now_utc = local_now(), utcnow()
    else:
        now_utc = now if now.tzinfo else now.replace(tzinfo=utcnow().tzinfo)
    today = now.date()
    interests = resolve_interests(profile, resolver)
    said = person_words(profile, interests, resolver)
    brings_children = bool(profile.children_ages)
    finder = word_finder(interests)

    hits = find_candidates(store, profile, travel, interests, resolver, limit=limit)
    assets = [h.asset for h in hits]
    minutes, modes, by_mode = travel_times(profile, travel, assets, [h.distance_m for h in hits])

    scored: list[Match] = []
    sessions: dict[str, Session | None] = {}
    travel_rows: dict[str, list[float]] = {}
    for hit, mins, mode, row in zip(hits, minutes, modes, by_mode, strict=True):
        asset = hit.asset
        if mode is None or violations(asset, profile):
            continue
        interest, matched, nearest = interest_score(asset, interests, resolver, finder)
        schedule, session = schedule_score(asset, profile.availability, today)
        components = {
            "interest": interest,
            "travel": travel_score(float(mins)),
            "schedule": schedule,
            "connection": connection_score(asset, profile),
            "cost": cost_score(asset, profile),
            "access": access_score(asset, profile),
            "freshness": freshness_score(asset, now_utc),
        }
        sessions[asset.id] = session
        travel_rows[asset.id] = row
        scored.append(
            Match(
                asset=asset,
                score=weighted(components, weights_used)
                * audience_fit(asset, said, brings_children=brings_children),
                components=components,
                minutes=float(mins),
                mode=mode,
                distance_m=hit.distance_m,
                matched_interests=matched,
                nearest_interest=nearest,
            )
        )
    ranked = rank(scored, limit, diversity=diversity)
    any_matched = any(m.components["interest"] > 0 for m in ranked)
    for m in ranked:  # only what is shown needs its stale flag, next session and reasons
        m.stale = is_stale(m.asset, now_utc)
        m.other_modes = other_modes(profile, travel_rows[m.asset.id], m.mode)
        session = sessions[m.asset.id]
        if session is not None and (soonest := soonest_session(m.asset, profile.availability, now)):
            # The reason names the session the next date belongs to.
            m.next_session, session = soonest
        m.reasons = explain(m, profile, interests, session, now, others_matched=any_matched)
    return ranked
