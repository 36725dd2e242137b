"""Whom a listing's name says it is for, against what its eligibility says.

Matching reads eligibility, never names. "Ladies' Darts" saved as open to anyone is
shown to men and missed by a woman who needs women-only groups; "Over 50s Walking"
with no youngest age is shown to a 25-year-old; "Parent and Toddler" for ages 0-4,
without saying the parents come too, is hidden from every parent. The fix belongs with
the listing, so these hints go to whoever keeps it: the organisation (a badge on its
listings, a warning in its import report) and the moderators. The sample generator
reads names the same way, so our own data agrees with itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo_assets.likeness import name_words, named_audiences
from geo_assets.model import ADULT_AGE, Asset, Eligibility, Gender

# Audience words of the age kind that say the listing is for the young, or the old.
_YOUNG = frozenset(["baby", "toddler", "children", "teen", "junior", "youth"])
_OLD = frozenset(["senior"])
# The eligibility gender that a sex word of a name asks for.
_GENDER_OF: dict[str, Gender] = {"women": "women", "girls": "women", "men": "men", "boys": "men"}
# "Over 50s", "over-60s", "over50s"; "Under 11s", "U18s" (read in name words: lower case,
# apostrophes and hyphens gone). Two digits for "over", so "Over 5s" (ages) is not read.
_OVER_RE = re.compile(r"\bover ?(\d{2})s?\b")
_UNDER_RE = re.compile(r"\b(?:under ?|u)(\d{1,2})s?\b")
# Words for the grown-ups who bring children, as names and people write them: a name
# with one ("Parent and Toddler", "Dads and Kids") says its ages are the children's, and
# matching reads them in what a person says ("mum of a toddler").
GROWN_UP_WORDS = frozenset([
    "parent", "parents", "mum", "mums", "mummy", "mam", "mams", "mother", "mothers", "dad",
    "dads", "daddy", "father", "fathers", "stepdad", "stepmum", "carer", "carers",
    "grandparent", "grandparents", "grandma", "grandmas", "grandmother", "grandmothers",
    "grandpa", "grandpas", "grandad", "grandads", "grandfather", "grandfathers", "nan",
    "nans", "family", "families",
])  # fmt: skip


@dataclass(frozen=True)
class NamedAudience:
    """What a name says of whom a listing is for (each field None or empty when silent)."""

    sexes: tuple[str, ...]  # the sex words, e.g. ("ladies" -> "women",)
    gender: Gender | None  # the eligibility gender they ask for, when they agree
    over: int | None  # "Over 60s": 60
    under: int | None  # "Under 11s": 11
    young: str | None  # the first word for the young, e.g. "children"
    old: bool  # a word for older people ("Seniors")
    with_grown_ups: bool  # children come with grown-ups ("Parent and Toddler")


def named_audience(name: str) -> NamedAudience:
    """Read ``name`` for whom it says the listing is for."""
    audiences = named_audiences(name)
    sexes = tuple(sorted(a for k, a in audiences if k == "sex" and a != "mixed"))
    genders = {_GENDER_OF[a] for a in sexes}
    ages = {a for k, a in audiences if k == "age"}
    text = " ".join(name_words(name, canonical=False))
    over = [int(n) for n in _OVER_RE.findall(text)]
    under = [int(n) for n in _UNDER_RE.findall(text)]
    young = sorted(ages & _YOUNG)
    return NamedAudience(
        sexes=sexes,
        gender=genders.pop() if len(genders) == 1 and ("sex", "mixed") not in audiences else None,
        over=max(over) if over else None,
        under=min(under) if under else None,
        young=young[0] if young else None,
        old=bool(ages & _OLD),
        with_grown_ups=_names_grown_ups(name_words(name, canonical=False)),
    )


def _names_grown_ups(words: tuple[str, ...]) -> bool:
    """A word of ``GROWN_UP_WORDS`` ("young carers" are children), or "stay and play"."""
    return any(
        w in GROWN_UP_WORDS
        and not (w.startswith("carer") and words[i - 1 : i] == ("young",))
        or words[i : i + 2] == ("stay", "play")
        for i, w in enumerate(words)
    )


def audience_hints(asset: Asset) -> list[str]:
    """Where the name names an audience the eligibility does not say, one plain sentence
    each (empty when they agree). Hints, not errors: the name may be historical."""
    who = asset.eligibility
    named = named_audience(asset.name)
    hints: list[str] = []
    if named.gender is not None and who.gender != named.gender:
        said = "everyone" if who.gender == "any" else f"{who.gender} only"
        hints.append(
            f"the name says it is for {' and '.join(named.sexes)}, but “Who can come” says {said}"
        )
    if named.over is not None and (who.min_age is None or who.min_age < named.over):
        hints.append(f"the name says over {named.over}s, but {_youngest(who)}")
    elif named.old and who.min_age is None:
        hints.append(f"the name says it is for older people, but {_youngest(who)}")
    if named.under is not None and (who.max_age is None or who.max_age >= named.under):
        hints.append(f"the name says under {named.under}s, but {_oldest(who)}")
    elif named.young is not None:
        if (who.min_age or 0) >= ADULT_AGE:
            hints.append(f"the name says “{named.young}”, but {_youngest(who)}")
        elif who.max_age is None:
            hints.append(f"the name says “{named.young}”, but {_oldest(who)}")
    if (
        named.with_grown_ups
        and not who.with_carers
        and who.max_age is not None
        and who.max_age < ADULT_AGE
    ):
        hints.append(
            "the name says grown-ups bring children, but the ages leave them out: tick "
            "“Children come with a parent or carer”"
        )
    return hints


def _youngest(who: Eligibility) -> str:
    return "no youngest age is set" if who.min_age is None else f"the youngest age is {who.min_age}"


def _oldest(who: Eligibility) -> str:
    return "no oldest age is set" if who.max_age is None else f"the oldest age is {who.max_age}"
