"""Whom a listing's name says it is for, against what its eligibility says.

Matching reads eligibility, never names. "Ladies' Darts" saved as open to anyone is
shown to men and missed by a woman who needs women-only groups; "Over 50s Walking"
with no youngest age is shown to a 25-year-old. The fix belongs with the listing, so
these hints go to whoever keeps it: the organisation (a badge on its listings, a
warning in its import report) and the moderators.
"""

from __future__ import annotations

import re

from geo_assets.likeness import name_words, named_audiences
from geo_assets.model import Asset, Eligibility

# Audience words of the age kind that say the listing is for the young, or the old.
_YOUNG = frozenset(["baby", "toddler", "children", "teen", "junior", "youth"])
_OLD = frozenset(["senior"])
# A youngest age at or above this contradicts a name for the young.
ADULT_AGE = 18
# The eligibility gender that a sex word of a name asks for.
_GENDER_OF = {"women": "women", "girls": "women", "men": "men", "boys": "men"}
# "Over 50s", "over-60s", "over50s"; "Under 11s", "U18s" (read in name words: lower case,
# apostrophes and hyphens gone). Two digits for "over", so "Over 5s" (ages) is not read.
_OVER_RE = re.compile(r"\bover ?(\d{2})s?\b")
_UNDER_RE = re.compile(r"\b(?:under ?|u)(\d{1,2})s?\b")


def audience_hints(asset: Asset) -> list[str]:
    """Where the name names an audience the eligibility does not say, one plain sentence
    each (empty when they agree). Hints, not errors: the name may be historical."""
    who = asset.eligibility
    audiences = named_audiences(asset.name)
    hints: list[str] = []
    named = sorted(a for k, a in audiences if k == "sex" and a != "mixed")
    sexes = {_GENDER_OF[a] for a in named}
    if ("sex", "mixed") not in audiences and len(sexes) == 1 and who.gender not in sexes:
        said = "everyone" if who.gender == "any" else f"{who.gender} only"
        hints.append(
            f"the name says it is for {' and '.join(named)}, but “Who can come” says {said}"
        )
    ages = {a for k, a in audiences if k == "age"}
    text = " ".join(name_words(asset.name, canonical=False))
    over = [int(n) for n in _OVER_RE.findall(text)]
    under = [int(n) for n in _UNDER_RE.findall(text)]
    if over and (who.min_age is None or who.min_age < max(over)):
        hints.append(f"the name says over {max(over)}s, but {_youngest(who)}")
    elif ages & _OLD and who.min_age is None:
        hints.append(f"the name says it is for older people, but {_youngest(who)}")
    if under and (who.max_age is None or who.max_age >= min(under)):
        hints.append(f"the name says under {min(under)}s, but {_oldest(who)}")
    elif young := sorted(ages & _YOUNG):
        if (who.min_age or 0) >= ADULT_AGE:
            hints.append(f"the name says “{young[0]}”, but {_youngest(who)}")
        elif who.max_age is None:
            hints.append(f"the name says “{young[0]}”, but {_oldest(who)}")
    return hints


def _youngest(who: Eligibility) -> str:
    return "no youngest age is set" if who.min_age is None else f"the youngest age is {who.min_age}"


def _oldest(who: Eligibility) -> str:
    return "no oldest age is set" if who.max_age is None else f"the oldest age is {who.max_age}"
