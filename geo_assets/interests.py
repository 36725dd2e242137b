"""Turn what a person says they like into taxonomy terms, tolerating synonyms and typos.

"gardning", "allotment" and "growing veg" should all land on gardening terms;
"footy" on football; "used to play guitar" on music instruments. Resolution is
done against the names and synonyms in the taxonomy, and the everyday words people
use for their likes (``data/interest_words.json``), in decreasing order of
confidence: the whole phrase is a label, the phrase is a label with a typo, a
label appears inside the phrase, single words point to few terms.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from geo_assets.taxonomy import DATA_DIR, Taxonomy, default_taxonomy

INTEREST_WORDS_PATH = DATA_DIR / "interest_words.json"

# Words that carry no interest of their own in what practitioners type.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "doing",
        "enjoy",
        "enjoyed",
        "enjoys",
        "for",
        "from",
        "get",
        "gets",
        "getting",
        "go",
        "goes",
        "going",
        "good",
        "great",
        "had",
        "has",
        "have",
        "he",
        "her",
        "him",
        "his",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "keen",
        "like",
        "liked",
        "likes",
        "love",
        "loved",
        "loves",
        "me",
        "more",
        "my",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "really",
        "she",
        "so",
        "some",
        "something",
        "that",
        "the",
        "their",
        "them",
        "they",
        "things",
        "this",
        "to",
        "too",
        "try",
        "trying",
        "used",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "with",
        "would",
        "wants",
        "want",
        "wanted",
        "you",
        "your",
        "anything",
        "stuff",
        "bit",
        "lot",
        "lots",
        "again",
        "someone",
        "people",
        "person",
        "other",
        "others",
        "new",
        "old",
    ]
)
# Nouns that name a format, not an interest: they don't make a label more specific.
GENERIC_WORDS = frozenset(
    [
        "group",
        "groups",
        "club",
        "clubs",
        "class",
        "classes",
        "session",
        "sessions",
        "society",
        "circle",
        "meetup",
        "team",
    ]
)
FUZZY_PHRASE_MIN = 86.0
FUZZY_WORD_MIN = 86.0
MIN_CONFIDENCE = 0.5


def folded(text: str) -> str:
    """Case-folded, apostrophes gone (men's -> mens): words are then the runs of \\w."""
    return text.casefold().replace("'", "").replace("\u2019", "")


def normalise(text: str) -> str:
    """Case-folded words separated by single spaces (``folded``)."""
    return " ".join(re.sub(r"[^\w]+", " ", folded(text)).split())


def content_words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if w not in STOPWORDS and len(w) > 1]


def singular(word: str) -> str:
    """A plural's rough singular ("groups" -> "group", "classes" -> "class"), enough to
    tell that two spellings name the same thing; not a dictionary's lemma."""
    if len(word) > 4 and word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _names_subject(word: str) -> bool:
    """Neither a stopword nor a format word ("group", "club")."""
    return word not in STOPWORDS and word not in GENERIC_WORDS


def subject_words(text: str) -> list[str]:
    """The words of an interest that say what it is about: "parent and toddler group"
    gives parent, toddler. A format word is in nearly every listing's text, so finding
    it there says nothing about whether the listing fits."""
    return [w for w in normalise(text).split() if len(w) > 1 and _names_subject(w)]


@dataclass(frozen=True)
class InterestMatch:
    """One taxonomy term an interest points to. ``label`` is the name or synonym that matched."""

    term_id: str
    confidence: float
    label: str


def load_interest_words(
    taxonomy: Taxonomy, path: str | os.PathLike[str] = INTEREST_WORDS_PATH
) -> dict[str, tuple[str, ...]]:
    """Term id -> everyday words for it, checked against ``taxonomy``.

    They are kept apart from the taxonomy's synonyms because synonyms also name
    listings (the sample generator builds names from them): "lonely" or "depression"
    is how a person describes themselves, never what a group is called.
    """
    words = json.loads(Path(path).read_text(encoding="utf-8"))["words"]
    unknown = sorted(set(words) - {term.id for term in taxonomy})
    if unknown:
        raise ValueError(f"{path}: not taxonomy ids: {', '.join(unknown)}")
    return {term_id: tuple(said) for term_id, said in words.items()}


class InterestResolver:
    """Resolves free text to taxonomy terms using the taxonomy's names and synonyms,
    and ``everyday_words`` (term id -> words a person might use for it)."""

    def __init__(
        self, taxonomy: Taxonomy, everyday_words: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.taxonomy = taxonomy
        self.label_terms: dict[str, set[str]] = {}
        everyday = everyday_words or {}
        for term in taxonomy:
            own = (term.name, *term.synonyms, term.id.rsplit(".", 1)[-1].replace("-", " "))
            for label in (*own, *everyday.get(term.id, ())):
                key = normalise(label)
                if key:
                    self.label_terms.setdefault(key, set()).add(term.id)
        self.labels = sorted(self.label_terms)
        self.word_terms: dict[str, set[str]] = {}
        # How much of its best label a word is: "guitar" is half of "learn guitar".
        self.word_share: dict[str, float] = {}
        for label, terms in self.label_terms.items():
            words = [w for w in label.split() if _names_subject(w)]
            for word in words:
                if len(word) > 2:
                    self.word_terms.setdefault(word, set()).update(terms)
                    share = 1.0 / len(words)
                    self.word_share[word] = max(self.word_share.get(word, 0.0), share)
        self.words = sorted(self.word_terms)
        # Bounded by the taxonomy: at most one entry per pair of terms.
        self._similar: dict[tuple[str, str], float] = {}

    def resolve(self, text: str, *, limit: int = 6) -> list[InterestMatch]:
        """Terms the text points to, most confident first (ties by term id).

        Only the vocabulary's own words are remembered between calls (a term id, or a
        label: "gardening", "choir"): what else a practitioner types about a person
        ("recovering from ...") is read afresh each time and kept nowhere, not even in
        this process's memory. Reading it takes about 0.5 ms."""
        if text in self.taxonomy or normalise(text) in self.label_terms:
            return list(self._resolve_known(text)[:limit])
        return list(self._resolve(text)[:limit])

    @lru_cache(maxsize=4096)  # noqa: B019 - one resolver per taxonomy, kept for the process
    def _resolve_known(self, text: str) -> tuple[InterestMatch, ...]:
        return self._resolve(text)

    def _resolve(self, text: str) -> tuple[InterestMatch, ...]:
        limit = 6
        if text in self.taxonomy:
            return (InterestMatch(text, 1.0, self.taxonomy.get(text).name),)
        phrase = normalise(text)
        if not phrase:
            return ()
        best: dict[str, InterestMatch] = {}

        def offer(terms: set[str], confidence: float, label: str) -> None:
            for term in terms:
                if term not in best or confidence > best[term].confidence:
                    best[term] = InterestMatch(term, round(confidence, 4), label)

        if phrase in self.label_terms:
            offer(self.label_terms[phrase], 1.0, phrase)
        if len(phrase) >= 4 and phrase not in self.label_terms:
            for label, score, _ in process.extract(
                phrase, self.labels, scorer=fuzz.ratio, score_cutoff=FUZZY_PHRASE_MIN, limit=5
            ):
                offer(self.label_terms[label], 0.97 * score / 100.0, label)
        padded = f" {phrase} "
        covered: set[str] = set()
        for label, terms in self.label_terms.items():
            if label == phrase or label in STOPWORDS:
                continue
            if f" {label} " in padded:
                # Longer labels found inside the phrase say more than single words.
                offer(terms, min(0.95, 0.8 + 0.05 * len(label.split())), label)
                covered.update(label.split())
            elif len(phrase.split()) >= 2 and padded in f" {label} ":
                # The phrase is most of a label: "hearing voices" in "hearing voices group".
                offer(terms, 0.9, label)
                covered.update(phrase.split())
        for word in content_words(text):
            # Words already explained by a phrase do not get a second, looser reading.
            if len(word) < 3 or word in covered:
                continue
            hits = [(word, 100.0)] if word in self.word_terms else []
            if not hits and len(word) >= 5:
                hits = [
                    (w, s)
                    for w, s, _ in process.extract(
                        word, self.words, scorer=fuzz.ratio, score_cutoff=FUZZY_WORD_MIN, limit=3
                    )
                ]
            for matched, score in hits:
                terms = self.word_terms[matched]
                # A word shared by many terms, or a small part of its labels, says little.
                specificity = min(1.0, 2.0 / len(terms))
                coverage = 0.6 + 0.4 * self.word_share[matched]
                offer(terms, 0.85 * specificity * coverage * score / 100.0, matched)
        ranked = sorted(best.values(), key=lambda m: (-m.confidence, m.term_id))
        return tuple(m for m in ranked if m.confidence >= MIN_CONFIDENCE)[:limit]

    def similarity(self, interest_term: str, asset_term: str) -> float:
        """How well an asset tagged ``asset_term`` serves an interest in ``interest_term``.

        1 for the same term or a narrower one (0.75 under a top-level interest); 0.6
        when the asset is broader; 0.45 for siblings; 0.25 within the same top-level
        group; else 0. Asked for every candidate of every search, so remembered.
        """
        key = (interest_term, asset_term)
        found = self._similar.get(key)
        if found is None:
            found = self._similar[key] = self._similarity(interest_term, asset_term)
        return found

    def _similarity(self, interest_term: str, asset_term: str) -> float:
        if interest_term == asset_term:
            return 1.0
        asset_up = _ancestors(self.taxonomy, asset_term)
        interest_up = _ancestors(self.taxonomy, interest_term)
        if interest_term in asset_up:
            # A top-level interest ("social", "sport") is too broad to call any member a full match.
            return 1.0 if interest_up else 0.75
        if asset_term in interest_up:
            return 0.6
        if asset_up and interest_up and asset_up[0] == interest_up[0]:
            return 0.45
        root_a = asset_up[-1] if asset_up else asset_term
        root_i = interest_up[-1] if interest_up else interest_term
        return 0.25 if root_a == root_i else 0.0


_ANCESTORS: dict[tuple[int, str], tuple[str, ...]] = {}


def _ancestors(taxonomy: Taxonomy, term: str) -> tuple[str, ...]:
    key = (id(taxonomy), term)
    found = _ANCESTORS.get(key)
    if found is None:
        found = _ANCESTORS[key] = tuple(taxonomy.ancestors(term))
    return found


@cache
def default_resolver() -> InterestResolver:
    taxonomy = default_taxonomy()
    return InterestResolver(taxonomy, load_interest_words(taxonomy))


PREFIX_LEN = 5


class WordFinder:
    """Which of a person's interest words an asset's name and description contain.

    A text word counts for an interest word when they are equal or, for words of
    5+ letters, share their first 5 letters ("gardening" finds "gardeners"). Words
    are what ``normalise`` makes of the text. Built once per search: one scan of
    each listing's text for the few words the person used, instead of indexing
    every word of every listing.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        self._by_prefix: dict[str, set[str]] = {}
        for word in self.words:
            if len(word) >= PREFIX_LEN:
                self._by_prefix.setdefault(word[:PREFIX_LEN], set()).add(word)
        starts = {word[:PREFIX_LEN] for word in self.words}
        alternatives = "|".join(re.escape(start) for start in sorted(starts))
        # Whole text words (runs of \w) that begin with one of the starts.
        self._pattern = re.compile(rf"\b(?:{alternatives})\w*") if starts else None

    def found_in(self, text: str) -> frozenset[str]:
        """The interest words this text has (empty when none)."""
        if self._pattern is None:
            return frozenset()
        found: set[str] = set()
        for token in self._pattern.findall(folded(text)):
            if token in self.words:
                found.add(token)
            found.update(self._by_prefix.get(token[:PREFIX_LEN], ()))
        return frozenset(found)


def lexical_score(words: Sequence[str], found: Set[str]) -> float:
    """Share of the interest's content words found in an asset's text (``WordFinder``).

    Scaled to at most 0.8: a word in a description is weaker evidence than a category.
    """
    if not words:
        return 0.0
    hits = sum(1 for word in words if word in found)
    return 0.8 * hits / len(words) if hits else 0.0
