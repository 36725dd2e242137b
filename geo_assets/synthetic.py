"""Deterministic synthetic data: the Bradford demo sample and the national benchmark set.

Both sets draw categories, kinds, sessions, costs, access features, eligibility and
languages through the same helpers (``_draw_profile`` and friends), so benchmark
figures describe data shaped like what the demo shows. Every random draw comes from
``numpy.random.default_rng`` with a fixed seed and every timestamp is fixed relative
to ``REFERENCE_TIME``, so the output is identical on every run. Coordinates are
WGS84 degrees, given as (lat, lon).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

import numpy as np

from geo_assets.audience import NamedAudience, named_audience
from geo_assets.geodesy import geodesic_m
from geo_assets.model import WEEKDAY_NAMES, WEEKDAYS, Asset, Eligibility, Organisation
from geo_assets.taxonomy import DATA_DIR, Taxonomy, default_taxonomy

REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
SAMPLE_SEED = 20261101
NATIONAL_SEED = 1
SAMPLE_SOURCE = "sample"
NATIONAL_SOURCE = "national"
SAMPLE_ASSETS = 2000
SAMPLE_ORGANISATIONS = 250
SAMPLE_VENUES = 300
# Ids are uuid5 of "source:source_id" in this namespace, so they never change between runs.
ID_NAMESPACE = uuid.UUID("6f1c2a52-3d0e-5b8a-9c41-0a7e2b6d9f13")
METRES_PER_DEGREE_LAT = 111_320.0
SAMPLE_EXTENT = (53.72, 53.93, -2.05, -1.64)  # south, north, west, east
NATIONAL_EXTENT = (50.0, 55.8, -5.7, 1.8)
NATIONAL_TOWNS = 300
NATIONAL_SPREAD_M = 4000.0
_NATIONAL_CHUNK = 1_000


class Centre(NamedTuple):
    """A town or neighbourhood centre assets cluster around; ``spread_m`` is the Gaussian sigma."""

    name: str
    lat: float
    lon: float
    weight: float
    spread_m: float = 1200.0


class Town(NamedTuple):
    """A national benchmark town; ``weight`` is its Zipf weight 1/k."""

    name: str
    lat: float
    lon: float
    weight: float

    @property
    def point(self) -> tuple[float, float]:
        """(lat, lon) in degrees."""
        return (self.lat, self.lon)


VOCABULARY_PATH = DATA_DIR / "sample" / "vocabulary.json"


def _load_vocabulary() -> dict[str, Any]:
    """Word lists and per-group shares that shape the data (kept as data, not code)."""
    return dict(json.loads(VOCABULARY_PATH.read_text(encoding="utf-8")))


_V = _load_vocabulary()
# Bradford district, West Yorkshire: approximate centres, weighted by rough population.
BRADFORD_CENTRES: tuple[Centre, ...] = tuple(Centre(**c) for c in _V["centres"])
_ROOTS: dict[str, dict[str, Any]] = _V["roots"]
# How often each top-level group occurs among non-venue assets (venues are drawn separately).
ROOT_WEIGHTS: dict[str, float] = {r: v["weight"] for r, v in _ROOTS.items() if v["weight"] > 0}
VENUE_SHARE = SAMPLE_VENUES / SAMPLE_ASSETS
_VENUES: dict[str, dict[str, Any]] = _V["venues"]
# Faith traditions (by name, over all roots): the organisation names, terms and venue names
# that belong together, so a parish never runs a Jewish group.
_TRADITIONS: dict[str, dict[str, Any]] = {
    t: v for r in _ROOTS.values() for t, v in r.get("traditions", {}).items()
}
_TERM_RULES: dict[str, dict[str, Any]] = _V["term_eligibility"]
_TERM_LANGS: dict[str, set[str]] = {t: set(v) for t, v in _V["term_languages"].items()}
_RECONNECT_TERMS = frozenset(_V["reconnect_terms"])
_LOCAL_ROOTS = frozenset(_V["local_roots"])
_YOUTH_ROOTS = frozenset(_V["youth_roots"])
_ATTENDANCE_LINES: dict[str, str] = _V["attendance_lines"]
_STREETS: list[str] = _V["streets"]
_SAINTS: list[str] = _V["saints"]
_FIRST_NAMES: list[str] = _V["first_names"]
_ADJECTIVES: list[str] = _V["adjectives"]
# Time slots (start, end; local time) by part of the day: morning, afternoon, evening.
_SLOTS: list[list[list[str]]] = list(_V["sessions"]["slots"].values())
_DAY_WEIGHTS = np.array(_V["sessions"]["day_weights"]) / sum(_V["sessions"]["day_weights"])
_WEEKS_OF_MONTH: list[list[int]] = _V["sessions"]["weeks_of_month"]
_CONCESSIONS: list[str] = _V["costs"]["concessions"]
_AMOUNTS_GBP = np.array(_V["costs"]["amounts_gbp"])
_AMOUNT_P = np.array(_V["costs"]["weights"]) / sum(_V["costs"]["weights"])
# Independent chance of each access feature, and of each language besides English.
_ACCESS: dict[str, float] = _V["access_features"]
_LANGS: list[tuple[str, float]] = list(_V["languages"].items())
_KIND_WORDS = {"group": "group", "club": "club", "activity": "session", "venue": "venue"}
# Nouns that name a group on their own, so titles need no "Group"/"Club" suffix.
_GROUPISH = re.compile(rf"({'|'.join(_V['groupish_nouns'])})s?$", re.I)
# Nouns that say what the thing is ("a knitting club"), so descriptions add no "group".
_COUNTABLE = re.compile(rf"({'|'.join(_V['countable_nouns'])})s?$", re.I)
_SMALL_WORDS = frozenset({"and", "a", "of", "the", "for", "in", "on", "with", "to", "at", "or"})


@cache
def _taxonomy() -> Taxonomy:
    return default_taxonomy()


@cache
def _term_pool() -> tuple[tuple[str, ...], np.ndarray]:
    """Non-venue terms below the roots (roots are too vague to name), weighted by ROOT_WEIGHTS."""
    tax = _taxonomy()
    terms: list[str] = []
    weights: list[float] = []
    for root, weight in ROOT_WEIGHTS.items():
        below = tax.descendants(root)
        terms.extend(below)
        weights.extend([weight / len(below)] * len(below))
    p = np.array(weights)
    return tuple(terms), p / p.sum()


@cache
def _venue_pool() -> tuple[tuple[str, ...], np.ndarray]:
    p = np.array([v["weight"] for v in _VENUES.values()])
    return tuple(_VENUES), p / p.sum()


def _title(text: str) -> str:
    """Title case for names, leaving acronyms and small joining words alone."""
    words = text.split()
    out = [
        w if (i and w in _SMALL_WORDS) or w[:1].isupper() else w[:1].upper() + w[1:]
        for i, w in enumerate(words)
    ]
    return " ".join(out)


@cache
def _nouns(term_id: str) -> tuple[tuple[str, str], ...]:
    """(title, plain) phrases for a term: synonyms that read well in a name, else its own name."""
    term = _taxonomy().get(term_id)
    good = [
        s for s in term.synonyms if len(s) >= 5 and not s.isupper() and not re.search(r"[&/]", s)
    ]
    if not good:
        good = [term.name[0].lower() + term.name[1:] if term.name[1:2].islower() else term.name]
    return tuple((_title(s), s) for s in dict.fromkeys(good))


def _ident(source: str, source_id: str) -> str:
    return uuid.uuid5(ID_NAMESPACE, f"{source}:{source_id}").hex


def _jitter(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, sigma_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian offsets of ``sigma_m`` metres (per point) around (lat, lon) degrees."""
    north_m = rng.normal(0.0, 1.0, lat.shape) * sigma_m
    east_m = rng.normal(0.0, 1.0, lat.shape) * sigma_m
    out_lat = lat + north_m / METRES_PER_DEGREE_LAT
    out_lon = lon + east_m / (METRES_PER_DEGREE_LAT * np.cos(np.radians(lat)))
    return out_lat, out_lon


@dataclass
class _Profiles:
    """Per-asset random draws for a batch (drawn as arrays, kept as lists: faster to index one by
    one); ``record`` turns row ``i`` into model fields."""

    terms: list[str]
    kinds: list[str]
    sessions: list[list[dict[str, Any]]]
    costs: list[dict[str, Any]]
    access: list[list[str]]
    langs: list[list[bool]]
    age_rule: list[int]
    women_only: list[bool]
    group_size: list[int]
    attendance: list[str]
    reconnect: list[float]
    companion: list[bool]
    name_pick: list[list[int]]
    sentences: list[list[float]]

    def record(
        self, i: int, place: str, venue_names: Sequence[str] | None = None
    ) -> dict[str, Any]:
        term, kind = self.terms[i], self.kinds[i]
        root = term.split(".", 1)[0]
        extra = {
            code for (code, _), on in zip(_LANGS, self.langs[i], strict=True) if on
        } | _TERM_LANGS.get(term, set())
        languages = ["en"] + [code for code, _ in _LANGS if code in extra]
        connections = ["local"] if root in _LOCAL_ROOTS else ["interest"]
        if root not in _LOCAL_ROOTS and self.reconnect[i] < 0.4:
            connections.append("local")
        if term in _RECONNECT_TERMS or self.reconnect[i] > 0.92:
            connections.append("reconnect")
        size = self.group_size[i]
        name, noun = _asset_name(
            term, kind, place, self.name_pick[i], self.sessions[i], venue_names
        )
        # A group's name adds only a place, a weekday and "Club" to its noun, none of which
        # names an audience: reading the noun (a few hundred) instead of every name keeps
        # the national data quick to generate.
        said = _named_audience(name if kind == "venue" else noun)
        eligibility = _eligibility(term, self.age_rule[i], self.women_only[i], said)
        return {
            "kind": kind,
            "name": name,
            "description": _description(
                noun, term, kind, place, eligibility, self.attendance[i], self.sentences[i]
            ),
            "categories": [term],
            "connection_types": connections,
            "sessions": self.sessions[i],
            "cost": self.costs[i],
            "accessibility": {"features": self.access[i]},
            "eligibility": eligibility,
            "languages": languages,
            "group_size": size if size > 0 and kind != "venue" else None,
            "attendance": self.attendance[i],
            "companion_welcome": self.companion[i],
        }


def _draw_terms(rng: np.random.Generator, n: int, venue_share: float = VENUE_SHARE) -> list[str]:
    """Category of each asset: a venue term with chance ``venue_share``, else by ROOT_WEIGHTS."""
    terms, p = _term_pool()
    venue_terms, vp = _venue_pool()
    is_venue = (rng.random(n) < venue_share).tolist()
    pick = rng.choice(len(terms), size=n, p=p).tolist()
    vpick = rng.choice(len(venue_terms), size=n, p=vp).tolist()
    return [
        venue_terms[v] if flag else terms[t]
        for flag, t, v in zip(is_venue, pick, vpick, strict=True)
    ]


def _draw_profile(rng: np.random.Generator, terms: Sequence[str]) -> _Profiles:
    """Everything about an asset that follows from its category, drawn in vectorised batches."""
    n = len(terms)
    roots = [t.split(".", 1)[0] for t in terms]
    kind_draw = rng.choice(3, size=n, p=[0.45, 0.25, 0.30])
    kinds = [
        "venue" if r == "venues" else ("group", "club", "activity")[k]
        for r, k in zip(roots, kind_draw, strict=True)
    ]
    attend_draw = rng.random(n)
    referral_share = np.array([0.25 if r in ("health", "advice") else 0.04 for r in roots])
    attendance = np.where(
        attend_draw < referral_share, "referral", np.where(attend_draw > 0.78, "booking", "drop_in")
    ).tolist()
    sizes = np.clip(np.round(rng.lognormal(np.log(12.0), 0.5, n)), 3, 80).astype(int)
    sizes[rng.random(n) < 0.2] = 0
    sessions = _draw_sessions(rng, roots, kinds)
    costs = _draw_costs(rng, roots, kinds)
    has = rng.random((n, len(_ACCESS))) < np.array(list(_ACCESS.values()))
    features = sorted(_ACCESS)
    order = [list(_ACCESS).index(f) for f in features]
    return _Profiles(
        terms=list(terms),
        kinds=kinds,
        sessions=sessions,
        costs=costs,
        access=[
            [f for f, on in zip(features, row, strict=True) if on] for row in has[:, order].tolist()
        ],
        langs=(rng.random((n, len(_LANGS))) < np.array([p for _, p in _LANGS])).tolist(),
        age_rule=rng.choice(5, size=n, p=[0.70, 0.08, 0.06, 0.10, 0.06]).tolist(),
        women_only=(rng.random(n) < 0.05).tolist(),
        group_size=sizes.tolist(),
        attendance=attendance,
        reconnect=rng.random(n).tolist(),
        companion=(rng.random(n) < 0.9).tolist(),
        name_pick=rng.integers(0, 1 << 30, size=(n, 3)).tolist(),
        sentences=rng.random((n, 3)).tolist(),
    )


def _draw_sessions(
    rng: np.random.Generator, roots: Sequence[str], kinds: Sequence[str]
) -> list[list[dict[str, Any]]]:
    """Weekly, fortnightly or monthly slots at times typical of each top-level group."""
    n = len(roots)
    count = rng.choice(3, size=n, p=[0.08, 0.72, 0.20]).tolist()
    freq = rng.choice(3, size=(n, 2), p=[0.65, 0.15, 0.20]).tolist()
    days = rng.choice(7, size=(n, 2, 2), p=_DAY_WEIGHTS).tolist()
    two_days = (rng.random((n, 2)) < 0.12).tolist()
    part_u = rng.random((n, 2)).tolist()
    slot = rng.integers(0, len(_SLOTS[0]), size=(n, 2)).tolist()
    weeks = rng.integers(0, len(_WEEKS_OF_MONTH), size=(n, 2)).tolist()
    opening = rng.random(n).tolist()
    course = (rng.random(n) < 0.25).tolist()
    course_start = rng.integers(0, 8, size=n).tolist()
    cumulative = {root: np.cumsum(v["dayparts"]).tolist() for root, v in _ROOTS.items()}
    out: list[list[dict[str, Any]]] = []
    for i in range(n):
        if kinds[i] == "venue":
            if opening[i] < 0.5:
                out.append([])
                continue
            weekdays = list(WEEKDAYS[:6] if opening[i] > 0.8 else WEEKDAYS[:5])
            out.append(
                [{"weekdays": weekdays, "start": "09:00", "end": "17:00", "notes": "opening hours"}]
            )
            continue
        cum = cumulative[roots[i]]
        sessions = []
        for j in range(count[i]):
            part = sum(1 for edge in cum[:-1] if part_u[i][j] * cum[-1] >= edge)
            start, end = _SLOTS[part][slot[i][j]]
            pair = sorted({days[i][j][0], days[i][j][1] if two_days[i][j] else days[i][j][0]})
            s: dict[str, Any] = {
                "weekdays": [WEEKDAYS[d] for d in pair],
                "start": start,
                "end": end,
                "frequency": ("weekly", "fortnightly", "monthly")[freq[i][j]],
            }
            if freq[i][j] == 2:
                s["weeks_of_month"] = list(_WEEKS_OF_MONTH[weeks[i][j]])
            elif freq[i][j] == 0 and roots[i] == "learning" and course[i]:
                first = REFERENCE_TIME.date() + timedelta(weeks=course_start[i])
                s["valid_from"] = first.isoformat()
                s["valid_to"] = (first + timedelta(weeks=10)).isoformat()
                s["notes"] = "10-week course"
            sessions.append(s)
        out.append(sessions)
    return out


def _draw_costs(
    rng: np.random.Generator, roots: Sequence[str], kinds: Sequence[str]
) -> list[dict[str, Any]]:
    """Many free; paid ones £1-£8 a session (clubs may charge by month or year); concessions."""
    n = len(roots)
    free = (rng.random(n) < np.array([_ROOTS[r]["free_share"] for r in roots])).tolist()
    amount = rng.choice(_AMOUNTS_GBP, size=n, p=_AMOUNT_P).tolist()
    membership = rng.random(n).tolist()
    concession = rng.random(n).tolist()
    which = rng.integers(0, len(_CONCESSIONS), size=n).tolist()
    donations = (rng.random(n) < 0.3).tolist()
    out: list[dict[str, Any]] = []
    for i in range(n):
        if free[i]:
            out.append({"amount": 0.0, "notes": "Donations welcome" if donations[i] else None})
            continue
        cost: dict[str, Any] = {"amount": amount[i], "per": "session"}
        if kinds[i] == "club" and membership[i] < 0.15:
            cost = {"amount": amount[i] * 5, "per": "year", "notes": "annual membership"}
        elif kinds[i] == "club" and membership[i] < 0.25:
            cost = {"amount": amount[i] * 3, "per": "month"}
        if concession[i] < 0.35:
            cost["concessions"] = _CONCESSIONS[which[i]]
        out.append(cost)
    return out


@lru_cache(maxsize=4096)
def _named_audience(name: str) -> NamedAudience:
    return named_audience(name)


def _eligibility(term: str, age_rule: int, women_only: bool, said: NamedAudience) -> dict[str, Any]:
    """Term rules first (e.g. walking football 50+); else a few age bands and women-only
    groups. Then whom the name says it is for wins, as its organisers would have written
    it (``said``): a "South Asian Women's Group" is for women, an "Over 60s Club" from 60."""
    if term in _TERM_RULES:
        out = {
            "with_carers": False,
            **_TERM_RULES[term],
            "groups": list(_TERM_RULES[term]["groups"]),
        }
    else:
        if age_rule == 2 and term.split(".", 1)[0] not in _YOUTH_ROOTS:
            age_rule = 0
        lo, hi = ((None, None), (50, None), (11, 18), (18, None), (60, None))[age_rule]
        if term.startswith("venues"):
            lo, hi, women_only = None, None, False
        gender = "women" if women_only else "any"
        out = {"min_age": lo, "max_age": hi, "gender": gender, "with_carers": False, "groups": []}
    if said.gender is not None:
        out["gender"] = said.gender
    if said.over is not None and (out["min_age"] or 0) < said.over:
        out["min_age"] = said.over
    if said.under is not None and (out["max_age"] is None or out["max_age"] >= said.under):
        out["max_age"] = said.under - 1
    return out


def _asset_name(
    term: str,
    kind: str,
    place: str,
    pick: Sequence[int],
    sessions: list[dict[str, Any]],
    venue_names: Sequence[str] | None = None,
) -> tuple[str, str]:
    """A plausible name ("Shipley Knit and Natter", "Keighley Walking Football Club"), its noun.

    A venue is named from ``venue_names`` when given (its owner's tradition), else from any
    of its term's names.
    """
    if kind == "venue":
        patterns = venue_names or _VENUES[term]["names"]
        name = patterns[pick[0] % len(patterns)].format(
            place=place,
            street=_STREETS[pick[1] % len(_STREETS)],
            saint=_SAINTS[pick[2] % len(_SAINTS)],
        )
        return name, _VENUES[term]["noun"]
    title, plain = _nouns(term)[pick[0] % len(_nouns(term))]
    style = pick[1] % 10
    if style < 5:
        return f"{place} {title}", plain
    if style < 7 and sessions:
        return f"{WEEKDAY_NAMES[sessions[0]['weekdays'][0]]} {title}, {place}", plain
    suffix = {"club": "Club", "group": "Group", "activity": "Sessions"}[kind]
    return (f"{place} {title}" if _GROUPISH.search(title) else f"{place} {title} {suffix}"), plain


def _audience(eligibility: dict[str, Any]) -> str:
    lo, hi, gender = eligibility["min_age"], eligibility["max_age"], eligibility["gender"]
    who = {"any": "everyone", "women": "women", "men": "men"}[gender]
    if eligibility["with_carers"]:
        return Eligibility.model_validate(eligibility).with_carers_text()
    if lo is not None and hi is not None:
        return f"{'children' if hi <= 5 else who} aged {lo}-{hi}".replace(
            "everyone aged", "people aged"
        )
    if lo is not None:
        return f"{'adults' if who == 'everyone' else who} aged {lo} and over"
    if eligibility["groups"]:
        return " and ".join(eligibility["groups"])
    return who


def _description(
    noun: str,
    term: str,
    kind: str,
    place: str,
    eligibility: dict[str, Any],
    attendance: str,
    u: Sequence[float],
) -> str:
    """One to three sentences: what it is and for whom, a line about the activity, how to come."""
    root = term.split(".", 1)[0]
    adj = _ADJECTIVES[int(u[0] * 1e6) % len(_ADJECTIVES)]
    article = "An" if adj[0] in "aeiou" else "A"
    what = noun if kind == "venue" or _COUNTABLE.search(noun) else f"{noun} {_KIND_WORDS[kind]}"
    first = f"{article} {adj} {what} in {place}, open to {_audience(eligibility)}."
    out = [first]
    if u[1] < 0.8:
        lines = _ROOTS[root]["lines"]
        out.append(lines[int(u[1] * 1e6) % len(lines)])
    if u[2] < 0.6 and kind != "venue":
        out.append(_ATTENDANCE_LINES[attendance])
    return " ".join(out)


def _round_points(
    lat: np.ndarray, lon: np.ndarray, extent: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    south, north, west, east = extent
    return np.round(np.clip(lat, south, north), 6), np.round(np.clip(lon, west, east), 6)


# --- the Bradford demo sample -----------------------------------------------------------------


def generate_sample(seed: int = SAMPLE_SEED) -> tuple[list[Organisation], list[Asset]]:
    """The demo data: about 250 organisations and 2,000 assets over Bradford district.

    Points are drawn around centres (an organisation's home centre mostly), but an asset's
    place, address and name follow the centre nearest where its point landed. Venues come
    first; about half of the other assets meet at a venue of the same place (``venue_id``
    set, same point and address). A faith organisation keeps to one tradition in its name,
    its assets and its buildings. Identical output for the same ``seed``.
    """
    rng = np.random.default_rng(seed)
    centres = BRADFORD_CENTRES
    cw = np.array([c.weight for c in centres])
    cw = cw / cw.sum()
    roots = list(ROOT_WEIGHTS) + ["venues"]
    rw = np.array([*ROOT_WEIGHTS.values(), 6.0])

    # Organisations: a home centre and a main top-level group each.
    org_centre = rng.choice(len(centres), size=SAMPLE_ORGANISATIONS, p=cw)
    org_root = rng.choice(len(roots), size=SAMPLE_ORGANISATIONS, p=rw / rw.sum())
    org_pick = rng.integers(0, 1 << 30, size=(SAMPLE_ORGANISATIONS, 3))
    organisations: list[Organisation] = []
    org_tradition: list[str | None] = []
    used: set[str] = set()
    for k in range(SAMPLE_ORGANISATIONS):
        place, root = _short(centres[org_centre[k]].name), roots[org_root[k]]
        patterns = _org_patterns(root)
        pattern, tradition = patterns[org_pick[k, 0] % len(patterns)]
        org_tradition.append(tradition)
        name = _unique(
            pattern.format(place=place, saint=_SAINTS[org_pick[k, 1] % len(_SAINTS)]), used, place
        )
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        source_id = f"sample-org-{k + 1:04d}"
        organisations.append(
            Organisation(
                id=_ident(SAMPLE_SOURCE, source_id),
                name=name,
                description=f"A community organisation in {place}; its main work is "
                f"{_taxonomy().get(root).name.lower()}.",
                email=f"hello@{slug}.example.org",
                phone=f"01632 960{org_pick[k, 2] % 1000:03d}",
                url=f"https://{slug}.example.org",
                source=SAMPLE_SOURCE,
                source_id=source_id,
            )
        )

    # Categories: venues first, then assets owned by organisations (mostly in their main group).
    n_other = SAMPLE_ASSETS - SAMPLE_VENUES
    venue_terms, vp = _venue_pool()
    terms = [venue_terms[v] for v in rng.choice(len(venue_terms), size=SAMPLE_VENUES, p=vp)]
    owner = np.full(SAMPLE_ASSETS, -1)
    owner[:SAMPLE_VENUES] = np.where(
        rng.random(SAMPLE_VENUES) < 0.4, rng.integers(0, SAMPLE_ORGANISATIONS, SAMPLE_VENUES), -1
    )
    for i in range(SAMPLE_VENUES):
        if owner[i] >= 0 and not _may_own(terms[i], org_tradition[owner[i]]):
            owner[i] = -1
    n_owned = int(n_other * 0.85)
    owned = np.concatenate(
        [
            np.repeat(np.arange(SAMPLE_ORGANISATIONS), 2),
            rng.integers(0, SAMPLE_ORGANISATIONS, n_owned - 2 * SAMPLE_ORGANISATIONS),
        ]
    )
    owner[SAMPLE_VENUES : SAMPLE_VENUES + n_owned] = owned
    free_terms = _draw_terms(rng, n_other, venue_share=0.0)
    pool, _ = _term_pool()
    own_root = rng.random(n_other) < 0.75
    root_pick = rng.random(n_other)
    below = {r: [t for t in pool if t.split(".", 1)[0] == r] for r in ROOT_WEIGHTS}
    for j in range(n_other):
        org = owner[SAMPLE_VENUES + j]
        root = roots[org_root[org]] if org >= 0 else "venues"
        tradition = org_tradition[org] if org >= 0 else None
        # A faith organisation's chance pick of another tradition's term becomes one of its own.
        if (own_root[j] and root != "venues") or not _may_run(free_terms[j], tradition):
            terms.append(_own_term(below[root], tradition, float(root_pick[j])))
        else:
            terms.append(free_terms[j])

    # Points: around the owner's home centre mostly, otherwise any centre by weight. The place
    # an asset is in is then the centre nearest its point, wherever it was drawn around.
    centre_idx = rng.choice(len(centres), size=SAMPLE_ASSETS, p=cw)
    at_home = (owner >= 0) & (rng.random(SAMPLE_ASSETS) < 0.8)
    centre_idx[at_home] = org_centre[owner[at_home]]
    c_lat = np.array([centres[c].lat for c in centre_idx])
    c_lon = np.array([centres[c].lon for c in centre_idx])
    sigma = np.array([centres[c].spread_m for c in centre_idx])
    lat, lon = _round_points(*_jitter(rng, c_lat, c_lon, sigma), SAMPLE_EXTENT)
    place_idx = _nearest_centres(lat, lon, centres)

    profiles = _draw_profile(rng, terms)
    at_venue = rng.random(SAMPLE_ASSETS) < 0.55
    venue_pick = rng.random(SAMPLE_ASSETS)
    status = rng.choice(3, size=SAMPLE_ASSETS, p=[0.94, 0.04, 0.02])
    verified_s = rng.integers(0, 730 * 86400, size=SAMPLE_ASSETS)
    house = rng.integers(1, 200, size=SAMPLE_ASSETS)
    street = rng.integers(0, len(_STREETS), size=SAMPLE_ASSETS)
    contact_pick = rng.random((SAMPLE_ASSETS, 4))

    venues_by_centre: dict[int, list[int]] = {}
    assets: list[Asset] = []
    names: set[str] = set()
    for i in range(SAMPLE_ASSETS):
        place = centres[place_idx[i]].name
        short_place = _short(place)
        venue_names = None
        if profiles.kinds[i] == "venue":
            venue_names = _venue_names(terms[i], org_tradition[owner[i]] if owner[i] >= 0 else None)
        record = profiles.record(i, short_place, venue_names)
        record["name"] = _unique(record["name"], names, _STREETS[street[i]])
        source_id = f"sample-asset-{i + 1:05d}"
        location = {
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "place": place,
            "address": f"{house[i]} {_STREETS[street[i]]}, {short_place}",
        }
        here = venues_by_centre.get(int(place_idx[i]), [])
        venue_id = None
        if record["kind"] == "venue":
            venues_by_centre.setdefault(int(place_idx[i]), []).append(i)
        elif at_venue[i] and here:
            venue = assets[here[int(venue_pick[i] * len(here))]]
            venue_id = venue.id
            location = venue.location.model_dump(mode="json")
            location["address"] = f"{venue.name}, {venue.location.address}"
        slug = re.sub(r"[^a-z0-9]+", "-", record["name"].lower()).strip("-")[:40]
        first = _FIRST_NAMES[int(contact_pick[i, 0] * len(_FIRST_NAMES))]
        record.update(
            id=_ident(SAMPLE_SOURCE, source_id),
            source=SAMPLE_SOURCE,
            source_id=source_id,
            organisation_id=organisations[owner[i]].id if owner[i] >= 0 else None,
            location=location,
            venue_id=venue_id,
            status=("published", "pending", "draft")[status[i]],
            last_verified_at=None
            if status[i] == 2
            else (REFERENCE_TIME - timedelta(seconds=int(verified_s[i]))).isoformat(),
            contact={
                "name": first if contact_pick[i, 1] < 0.7 else None,
                "email": f"{first.lower()}@{slug}.example.org"
                if contact_pick[i, 2] < 0.7
                else None,
                "phone": f"01632 960{int(contact_pick[i, 3] * 1000):03d}"
                if contact_pick[i, 3] < 0.6
                else None,
                "url": f"https://{slug}.example.org" if contact_pick[i, 2] > 0.5 else None,
            },
        )
        assets.append(Asset.model_validate(record))
    return organisations, assets


def _short(place: str) -> str:
    """The name used in titles: "Bradford" rather than "Bradford city centre"."""
    return place.removesuffix(" city centre")


def _nearest_centres(lat: np.ndarray, lon: np.ndarray, centres: Sequence[Centre]) -> np.ndarray:
    """Index of the centre nearest each point (geodesic metres): the place the point is in.

    A Gaussian draw around one centre often lands nearer another, and a listing must name
    the place it stands in, not the one it was drawn around.
    """
    points = np.column_stack([lat, lon])
    metres = np.stack([geodesic_m((c.lat, c.lon), points) for c in centres])
    return np.asarray(metres.argmin(axis=0))


def _org_patterns(root: str) -> list[tuple[str, str | None]]:
    """(name pattern, tradition) for organisations whose main group is ``root``.

    The tradition is None unless the root lists traditions (faith): there each pattern
    belongs to one, which then decides what the organisation may run.
    """
    spec = _ROOTS[root]
    if "traditions" in spec:
        return [(p, t) for t, v in spec["traditions"].items() for p in v["organisations"]]
    return [(p, None) for p in spec["organisations"]]


def _may_run(term: str, tradition: str | None) -> bool:
    """Whether an organisation of ``tradition`` (None: not a faith one) may run ``term``.

    A tradition runs its own terms and the shared ones no tradition lists (interfaith,
    cultural associations), never another tradition's: a parish runs no synagogue group.
    """
    if tradition is None:
        return True
    claimed = [t for t, v in _TRADITIONS.items() if term in v["terms"]]
    return not claimed or tradition in claimed


def _own_term(below: Sequence[str], tradition: str | None, u: float) -> str:
    """The term of an asset in its organisation's main group, from a uniform ``u`` in [0, 1).

    Any term of the group alike, except for a faith organisation: its tradition's terms by
    their weights (a mosque mostly runs mosque groups) and each shared term with weight 1.
    """
    if tradition is None:
        return below[int(u * len(below))]
    weights = {t: 1.0 for t in below if _may_run(t, tradition)} | _TRADITIONS[tradition]["terms"]
    cumulative = np.cumsum(list(weights.values()))
    k = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
    return list(weights)[min(k, len(weights) - 1)]


def _may_own(term: str, tradition: str | None) -> bool:
    """Whether an organisation of ``tradition`` (None: not a faith one) may own a venue of
    ``term``: a building some tradition names (a gurdwara, a church hall) belongs to one of
    that tradition, never to an arts collective or a mosque."""
    if tradition is None:
        return not _faith_building(term)
    return bool(_venue_names(term, tradition))


def _faith_building(term: str) -> bool:
    """Whether some tradition names venues of ``term`` (places of worship, church halls)."""
    return any(term in v["venues"] for v in _TRADITIONS.values())


def _venue_names(term: str, tradition: str | None) -> list[str]:
    """Names a venue of ``term`` may take under an owner of ``tradition`` (None: any owner).

    Where a tradition names venues of the term (places of worship, church halls), a faith
    owner's building takes its own tradition's names; a tradition with none for the term
    owns no such building (a mosque runs no church hall), so the list is empty.
    """
    if tradition is None or not _faith_building(term):
        return list(_VENUES[term]["names"])
    return list(_TRADITIONS[tradition]["venues"].get(term, []))


def _unique(name: str, used: set[str], qualifier: str) -> str:
    """``name``, or ``name (qualifier)``, or a numbered variant: never one already in ``used``."""
    candidate = name
    n = 2
    while candidate in used:
        candidate = f"{name} ({qualifier})" if n == 2 else f"{name} ({qualifier} {n})"
        n += 1
    used.add(candidate)
    return candidate


# --- the national benchmark data (DESIGN section 11) ------------------------------------------


@cache
def national_towns(seed: int = NATIONAL_SEED) -> tuple[Town, ...]:
    """About 300 towns spread over an England-sized box; town k (1-based) has Zipf weight 1/k."""
    rng = np.random.default_rng([seed, 0])
    south, north, west, east = NATIONAL_EXTENT
    margin = 0.1
    lat = rng.uniform(south + margin, north - margin, NATIONAL_TOWNS)
    lon = rng.uniform(west + margin, east - margin, NATIONAL_TOWNS)
    return tuple(
        Town(f"Town {k + 1:03d}", round(float(lat[k]), 6), round(float(lon[k]), 6), 1.0 / (k + 1))
        for k in range(NATIONAL_TOWNS)
    )


def densest_town(seed: int = NATIONAL_SEED) -> Town:
    """The town with the largest weight (~16% of all assets); ``.lat``/``.lon`` is its centre."""
    return max(national_towns(seed), key=lambda t: t.weight)


def national_assets(n: int, *, seed: int = NATIONAL_SEED) -> Iterator[Asset]:
    """``n`` published assets over the national towns, each ~4 km (Gaussian sigma) from its town.

    Drawn in fixed chunks of 1,000 with one generator per chunk, so the first ``m``
    assets are the same whatever ``n`` is. Source is "national"; no organisations.
    """
    if n < 0:
        raise ValueError(f"`n` must be >= 0, got {n}")
    towns = national_towns(seed)
    weights = np.array([t.weight for t in towns])
    t_lat = np.array([t.lat for t in towns])
    t_lon = np.array([t.lon for t in towns])
    for chunk in range(math.ceil(n / _NATIONAL_CHUNK)):
        rng = np.random.default_rng([seed, 1, chunk])
        size = _NATIONAL_CHUNK
        town = rng.choice(len(towns), size=size, p=weights / weights.sum())
        lat, lon = _round_points(
            *_jitter(rng, t_lat[town], t_lon[town], np.full(size, NATIONAL_SPREAD_M)),
            NATIONAL_EXTENT,
        )
        profiles = _draw_profile(rng, _draw_terms(rng, size))
        verified_s = rng.integers(0, 730 * 86400, size=size).tolist()
        town_l, lat_l, lon_l = town.tolist(), lat.tolist(), lon.tolist()
        stop = min(size, n - chunk * _NATIONAL_CHUNK)
        for i in range(stop):
            source_id = f"national-{seed}-{chunk * _NATIONAL_CHUNK + i + 1:07d}"
            place = towns[town_l[i]].name
            record = profiles.record(i, place)
            record.update(
                id=_ident(NATIONAL_SOURCE, source_id),
                source=NATIONAL_SOURCE,
                source_id=source_id,
                location={"lat": lat_l[i], "lon": lon_l[i], "place": place},
                status="published",
                last_verified_at=REFERENCE_TIME - timedelta(seconds=verified_s[i]),
            )
            yield Asset.model_validate(record)
