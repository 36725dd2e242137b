"""How a search's results split by interest, and whether longer journeys would find more.

A narrow search (a parent and toddler group within a short walk) finds one listing that
fits and fills the rest of its list with listings that are near but fit no interest.
A practitioner reading it needs to see that at once, and to know before trying whether
allowing longer journeys would find more that fit: ``longer_journeys`` runs that wider
search and counts what it adds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from geo_assets.matching import Match, match
from geo_assets.model import MAX_TRAVEL_MINUTES, Profile, TravelOption
from geo_assets.store import Store
from geo_assets.travel import MODE_WORDS, TravelModel

# Each way of travelling is allowed this many times its minutes, rounded up to the
# next 5 minutes: a step a practitioner would try, and one the person might manage.
WIDER_BY = 1.5
ROUND_TO_MINUTES = 5


def fits_an_interest(m: Match) -> bool:
    """Matched one of the person's interests ("matches your interest: ...")."""
    return bool(m.matched_interests)


@dataclass(frozen=True)
class InterestSplit:
    """How many results fit an interest, are only related to one, or fit none."""

    fit: int
    related: int
    other: int

    @classmethod
    def of(cls, matches: Sequence[Match]) -> InterestSplit:
        fit = sum(1 for m in matches if fits_an_interest(m))
        related = sum(
            1 for m in matches if not fits_an_interest(m) and m.components["interest"] > 0
        )
        return cls(fit, related, len(matches) - fit - related)

    def text(self) -> str | None:
        """What the list holds, said before it when some result fits none of the
        interests: "1 of these 10 fits their interests; the other 9 are here for what
        else they offer (how near, when, cost and access)." None when all fit."""
        total = self.fit + self.related + self.other
        if self.fit == total:
            return None
        parts = [
            f"{'None' if self.fit == 0 else self.fit} of these {total} "
            f"{'fits' if self.fit == 1 else 'fit'} their interests"
        ]
        if self.related:
            parts.append(f"{_count(self.related, 'is', 'are')} related to them")
        if self.other:
            rest = "the other" if self.fit or self.related else "all"
            offer = "it offers" if self.other == 1 else "they offer"
            parts.append(
                f"{rest} {_count(self.other, 'is', 'are')} here for what else {offer}"
                " (how near, when, cost and access)"
            )
        return "; ".join(parts) + "."


@dataclass(frozen=True)
class LongerJourneys:
    """The wider search: each of the person's ways of travelling with its longer limit,
    and how many listings fitting an interest it finds that the results do not show.
    ``at_least``: every listing in its own list fits, so a longer list may find more."""

    travel: tuple[TravelOption, ...]
    more_that_fit: int
    at_least: bool

    def text(self) -> str:
        """ "Longer journeys (up to 30 min walk or 45 min by bus or train) find 3 more
        that fit their interests." """
        ways = " or ".join(f"{t.max_minutes:.0f} min {MODE_WORDS[t.mode]}" for t in self.travel)
        n = self.more_that_fit
        found = "no" if n == 0 else f"at least {n}" if self.at_least else str(n)
        fit = "fits" if n == 1 else "fit"
        return f"Longer journeys (up to {ways}) find {found} more that {fit} their interests."


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def longer_limits(options: Sequence[TravelOption]) -> tuple[TravelOption, ...] | None:
    """``options`` with each limit ``WIDER_BY`` times longer (rounded up to the next
    ``ROUND_TO_MINUTES``, at most the model's limit); None when none can grow."""
    longer = tuple(
        TravelOption(
            mode=t.mode,
            max_minutes=min(
                MAX_TRAVEL_MINUTES,
                math.ceil(t.max_minutes * WIDER_BY / ROUND_TO_MINUTES) * ROUND_TO_MINUTES,
            ),
        )
        for t in options
    )
    if all(a.max_minutes <= b.max_minutes for a, b in zip(longer, options, strict=True)):
        return None
    return longer


def longer_journeys(
    store: Store,
    profile: Profile,
    shown: Sequence[Match],
    *,
    limit: int,
    travel: TravelModel | None = None,
    now: datetime | None = None,
) -> LongerJourneys | None:
    """What allowing longer journeys would add, when the results leave room for it: the
    person gave interests and some result fits none of them. None otherwise, or when
    every limit is already the longest allowed."""
    if not profile.interests or InterestSplit.of(shown).fit == len(shown):
        return None
    travel_options = longer_limits(profile.travel)
    if travel_options is None:
        return None
    wider = profile.model_copy(update={"travel": list(travel_options)})
    shown_ids = {m.asset.id for m in shown}
    found = match(store, wider, travel=travel, limit=limit, now=now)
    fits = [m for m in found if fits_an_interest(m)]
    new = sum(1 for m in fits if m.asset.id not in shown_ids)
    return LongerJourneys(travel_options, new, at_least=len(fits) == limit)


@dataclass(frozen=True)
class ResultsNotes:
    """What is said under a search's heading: how the results split by interest
    (``InterestSplit.text``), and what longer journeys would add. Both None when the
    person gave no interests or every result fits one."""

    split: str | None
    longer: LongerJourneys | None

    def lines(self) -> list[str]:
        return [line for line in (self.split, self.longer and self.longer.text()) if line]


def notes_on(
    store: Store,
    profile: Profile,
    shown: Sequence[Match],
    *,
    limit: int,
    travel: TravelModel | None = None,
    now: datetime | None = None,
) -> ResultsNotes:
    """The notes for ``shown``, the results of ``profile``'s search (``limit`` asked for)."""
    split = InterestSplit.of(shown).text() if profile.interests else None
    longer = longer_journeys(store, profile, shown, limit=limit, travel=travel, now=now)
    return ResultsNotes(split, longer)
