"""How alike two listings are, part by part: names, sessions, categories.

Used by :mod:`geo_assets.duplicates` to score candidate pairs. Names are compared after
normalising them: case, accents and punctuation dropped, "&" read as "and", common
abbreviations written out ("Ctr" -> centre, "Assoc" -> association, "U3A"), acronyms
matched to the other name's initials, and words that say nothing about which group it
is ("group", "club", "the", the place name, or a misspelling of one) left out; then
rapidfuzz's token-set and token-sort ratios are averaged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from geo_assets.model import WEEKDAY_NAMES, Session
from geo_assets.taxonomy import Taxonomy, default_taxonomy

# A word this alike (rapidfuzz ratio, 0-100) to a place name or a generic word is read as
# that word misspelt.
TYPO_RATIO = 80.0

# Spellings read as the same word (after lower-casing and dropping punctuation).
_SAME_WORD = {
    "saint": "st",
    "street": "st",
    "road": "rd",
    "avenue": "ave",
    "lane": "ln",
    "center": "centre",
    "ctr": "centre",
    "cntr": "centre",
    "cen": "centre",
    "comm": "community",
    "cmty": "community",
    "commty": "community",
    "assoc": "association",
    "assn": "association",
    "soc": "society",
    "grp": "group",
    "gp": "group",
    "clb": "club",
    "sess": "session",
    "sessions": "session",
    "groups": "group",
    "clubs": "club",
    "theater": "theatre",
    "program": "programme",
    "organization": "organisation",
    "org": "organisation",
    "neighborhood": "neighbourhood",
    "mens": "men",
    "womens": "women",
    "ladies": "women",
    "gents": "men",
    "juniors": "junior",
    "seniors": "senior",
    "adults": "adult",
    "kids": "children",
    "teens": "teen",
    "teenagers": "teen",
    "toddlers": "toddler",
    "babies": "baby",
    "beginners": "beginner",
    "improvers": "improver",
    "childrens": "children",
    "intl": "international",
    "natl": "national",
    "dept": "department",
    "univ": "university",
    "mtg": "meeting",
    "yth": "youth",
    "sr": "senior",
    "srs": "senior",
    "hse": "house",
    "ch": "church",
    "chh": "church",
    "meth": "methodist",
    "cafe": "cafe",
}
# Abbreviations that stand for several words.
_EXPANSIONS = {
    "u3a": ("university", "third", "age"),
    "fc": ("football", "club"),
    "afc": ("football", "club"),
    "wmc": ("working", "men", "club"),
    "cofe": ("church", "england"),
    "ymca": ("young", "men", "christian", "association"),
    "ywca": ("young", "women", "christian", "association"),
}
# Joining words, dropped before anything else.
_STOPWORDS = frozenset(["the", "of", "and", "a", "an", "for", "in", "at", "on", "to", "with"])
# Words that say what sort of thing it is, not which one: left out of the comparison.
_GENERIC = frozenset(
    ["group", "club", "society", "association", "session", "meeting", "meetup", "team"]
)
# Letters and digits of any script: names in Nepali or Urdu are words too.
_WORD_RE = re.compile(r"[^\W_]+")
# Words that say whom a listing is for or at what level (canonical spellings), each with
# its kind and the audience it names: two names with words of one kind that name
# different audiences are different listings ("Ladies Darts", "Men's Darts"; "Junior
# Chess", "Senior Chess"), however alike the rest.
_AUDIENCE_WORDS: dict[str, tuple[str, str]] = {
    **{w: ("sex", w) for w in ("women", "men", "girls", "boys", "mixed")},
    **{w: ("age", w) for w in ("baby", "toddler", "children", "teen", "junior", "adult")},
    **{w: ("age", "youth") for w in ("youth", "young")},
    **{w: ("age", "senior") for w in ("senior", "older", "elderly")},
    **{w: ("level", w) for w in ("beginner", "improver", "intermediate", "advanced")},
}
# A number in a word: "11s", "u11", "2nd", "over50s", "2024".
_NUMBER_RE = re.compile(r"\d+")


# --- names -------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, accents dropped, "&"/"+" as "and", apostrophes joined ("men's" -> "mens")."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ").replace("+", " and ")
    return re.sub(r"['\u2019`]", "", text)


@lru_cache(maxsize=65536)
def name_words(name: str, *, canonical: bool = True) -> tuple[str, ...]:
    """The name's words in a canonical spelling (as written, with ``canonical=False``),
    joining words dropped."""
    out: list[str] = []
    for word in _WORD_RE.findall(_fold(name)):
        if word in _EXPANSIONS and canonical:
            out.extend(_EXPANSIONS[word])
            continue
        if canonical:
            word = _SAME_WORD.get(word, word)
        if word not in _STOPWORDS:
            out.append(word)
    return tuple(out)


@lru_cache(maxsize=16384)
def place_words(place: str | None) -> frozenset[str]:
    return frozenset(name_words(place)) if place else frozenset()


def _expand_acronyms(words: Sequence[str], other: Sequence[str]) -> list[str]:
    """Replace a word of ``words`` that spells the initials of consecutive words of
    ``other`` ("bcc" for "bradford community choir") by those words."""
    present = set(other)
    out: list[str] = []
    for word in words:
        if word in present or not 2 <= len(word) <= 6 or not word.isalpha():
            out.append(word)
            continue
        run = _initials_run(word, other)
        out.extend(run if run else [word])
    return out


def _initials_run(word: str, other: Sequence[str]) -> Sequence[str] | None:
    n = len(word)
    for i in range(len(other) - n + 1):
        if all(other[i + k][0] == word[k] for k in range(n)):
            return other[i : i + n]
    return None


def _is_one_of(word: str, words: frozenset[str]) -> bool:
    """In ``words``, or a misspelling of one of them (both of four letters or more)."""
    if word in words:
        return True
    return len(word) >= 4 and any(len(w) >= 4 and fuzz.ratio(word, w) >= TYPO_RATIO for w in words)


def _core(words: Sequence[str], places: frozenset[str]) -> list[str]:
    """Words that tell one listing from another: no generic words, no place names
    (unless nothing else is left); misspelt ones count as what they misspell."""
    core = [w for w in words if not _is_one_of(w, _GENERIC)]
    without_places = [w for w in core if not _is_one_of(w, places)]
    return without_places or core or list(words)


def name_similarity(a: str, b: str, places: Iterable[str | None] = ()) -> float:
    """How alike two names are, in [0, 1], after normalising them (see the module notes).

    ``places`` are place names (the listings' ``location.place``) whose words are left
    out of the comparison.
    """
    drop = frozenset().union(*(place_words(p) for p in places))
    canonical = name_words(a), name_words(b)
    alike = _words_similarity(*canonical, drop)
    written = name_words(a, canonical=False), name_words(b, canonical=False)
    if alike < 1.0 and written != canonical:
        # A misspelt word that has a canonical spelling ("laddies" for "ladies", which reads
        # as "women") is compared as written too, where it is still one letter off.
        alike = max(alike, _words_similarity(*written, drop))
    return alike


def _audiences(words: Iterable[str]) -> set[tuple[str, str]]:
    return {_AUDIENCE_WORDS[w] for w in words if w in _AUDIENCE_WORDS}


def named_audiences(name: str) -> frozenset[tuple[str, str]]:
    """The (kind, audience) pairs of ``_AUDIENCE_WORDS`` that a name states of itself.

    Read as written, abbreviations not expanded (the YMCA is open to all), and without
    words that often do not mean what they say: "young" ("Young at Heart" is for older
    people), the men of a men's shed or a working men's club (often open to all).
    """
    words = [_SAME_WORD.get(w, w) for w in name_words(name, canonical=False)]
    kept = [
        w
        for i, w in enumerate(words)
        if w != "young"
        and not (
            w == "men"
            and (words[i + 1 : i + 2] in (["shed"], ["sheds"]) or words[i - 1 : i] == ["working"])
        )
    ]
    return frozenset(_audiences(kept))


def name_contrast(a: str, b: str) -> str | None:
    """Why two names cannot be one listing, or None: they name different audiences of one
    kind (``_AUDIENCE_WORDS``) that the other name does not also name, or carry different
    numbers ("Under 11s" / "Under 12s", "2nd Shipley Scouts" / "3rd Shipley Scouts")."""
    wa, wb = set(name_words(a)), set(name_words(b))
    audiences_a, audiences_b = _audiences(wa), _audiences(wb)
    only_a, only_b = sorted(audiences_a - audiences_b), sorted(audiences_b - audiences_a)
    for kind, named in only_a:
        other = next((o for k, o in only_b if k == kind), None)
        if other is not None:
            return f'one is for "{named}", the other for "{other}"'
    na = {int(n) for w in wa for n in _NUMBER_RE.findall(w)}
    nb = {int(n) for w in wb for n in _NUMBER_RE.findall(w)}
    if na and nb and na != nb:
        return f"different numbers ({', '.join(map(str, sorted(na ^ nb)))})"
    return None


def _words_similarity(
    words_a: Sequence[str], words_b: Sequence[str], drop: frozenset[str]
) -> float:
    wa = _expand_acronyms(words_a, words_b)
    wb = _expand_acronyms(words_b, words_a)
    ca, cb = " ".join(_core(wa, drop)), " ".join(_core(wb, drop))
    if not ca or not cb:
        return 0.0
    if ca == cb:
        return 1.0
    set_ratio = fuzz.token_set_ratio(ca, cb)
    sort_ratio = fuzz.token_sort_ratio(ca, cb)
    return float(set_ratio + sort_ratio) / 200.0


# --- sessions, categories --------------------------------------------------------------------


def _minutes(t: Any) -> int:
    return int(t.hour) * 60 + int(t.minute)


def session_overlap(a: Sequence[Session], b: Sequence[Session]) -> tuple[float, str | None]:
    """1 when both meet on a weekday at overlapping times, less when the times are near,
    0 when they share no weekday; 0.5 (unknown) when either has no sessions."""
    if not a or not b:
        return 0.5, None
    best, reason = 0.0, None
    for sa in a:
        for sb in b:
            days = [d for d in sa.weekdays if d in sb.weekdays]
            if not days:
                continue
            start_a, end_a = _minutes(sa.start), _minutes(sa.end)
            start_b, end_b = _minutes(sb.start), _minutes(sb.end)
            gap_minutes = max(start_a, start_b) - min(end_a, end_b)
            if gap_minutes < 0:
                score = 1.0
            elif gap_minutes <= 60:
                score = 0.5
            else:
                score = 0.2
            if score > best:
                day = WEEKDAY_NAMES[days[0]]
                if score == 1.0:
                    when = (
                        f"{sa.start:%H:%M}"
                        if sa.start == sb.start
                        else f"{sa.start:%H:%M} and {sb.start:%H:%M}"
                    )
                    reason = f"both {day}s {when}"
                else:
                    reason = f"both on {day}s, {sa.start:%H:%M} and {sb.start:%H:%M}"
                best = score
    return best, reason


def category_overlap(
    a: Sequence[str], b: Sequence[str], taxonomy: Taxonomy | None = None
) -> tuple[float, str | None]:
    """1 for a shared term, 0.7 when one is broader than the other, 0.5 for siblings,
    0.25 for the same top-level group, else 0."""
    tax = taxonomy or default_taxonomy()
    shared = [t for t in a if t in b]
    if shared:
        return 1.0, f"same category ({tax.get(shared[0]).name})"
    best, reason = 0.0, None
    for ta in a:
        up_a = tax.ancestors(ta)
        for tb in b:
            up_b = tax.ancestors(tb)
            if ta in up_b or tb in up_a:
                score, text = 0.7, "related categories"
            elif up_a and up_b and up_a[0] == up_b[0] and len(up_a) > 1:
                score, text = 0.5, "neighbouring categories"
            elif (up_a[-1] if up_a else ta) == (up_b[-1] if up_b else tb):
                score, text = 0.25, None
            else:
                continue
            if score > best:
                names = f"{tax.get(ta).name}, {tax.get(tb).name}"
                best, reason = score, (f"{text} ({names})" if text else None)
    return best, reason
