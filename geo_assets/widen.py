"""How a search's results split by interest, and whether wider searches would find more.

A narrow search (a parent and toddler group within a short walk) finds one listing that
fits and fills the rest of its list with listings that are near but fit no interest.
A practitioner reading it needs to see that at once, and to know before trying whether
allowing longer journeys, or a bus for someone who only walks, would find more that
fit: ``SearchAgain`` runs each wider search and counts what it adds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from geo_assets.matching import Match, match
from geo_assets.model import MAX_TRAVEL_MINUTES, Profile, TravelMode, TravelOption
from geo_assets.store import Store
from geo_assets.travel import MODE_WORDS, USUAL_MINUTES, StraightLineTravel, TravelModel

# Each way of travelling is allowed this many times its minutes, rounded up to the
# next 5 minutes: a step a practitioner would try, and one the person might manage.
WIDER_BY = 1.5
ROUND_TO_MINUTES = 5


def fits_an_interest(m: Match) -> bool:
    """Matched one of the person's interests ("matches your interest: ...")."""
    return bool(m.matched_interests)


def fits_no_interest(m: Match) -> bool:
    """Neither matched nor related to any of the person's interests: here for what else
    it offers."""
    return not fits_an_interest(m) and m.components["interest"] == 0


@dataclass(frozen=True)
class InterestSplit:
    """How many results fit an interest, are only related to one, or fit none."""

    fit: int
    related: int
    other: int

    @classmethod
    def of(cls, matches: Sequence[Match]) -> InterestSplit:
        fit = sum(1 for m in matches if fits_an_interest(m))
        other = sum(1 for m in matches if fits_no_interest(m))
        return cls(fit, len(matches) - fit - other, other)

    def text(self) -> str | None:
        """What the list holds, said before it when some result fits none of the
        interests: "1 of these 10 fits your interests; the other 9 are here for what
        else they offer (how near, when, cost and access)." None when all fit."""
        total = self.fit + self.related + self.other
        if self.fit == total:
            return None
        parts = [
            f"{'None' if self.fit == 0 else self.fit} of these {total} "
            f"{'fits' if self.fit == 1 else 'fit'} your interests"
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


# A result that fits none of the interests, under a summary that says why it is there.
BRIEFLY_UNMATCHED = "not one of your interests"


def reasons_under_summary(m: Match) -> list[str]:
    """``m.reasons`` for a list under ``InterestSplit.text``: a result that fits none of
    the person's interests says only that, since the summary says once which
    interests it is and why such results are shown. ``explain`` gives the interest's
    reason first whenever interests were given."""
    if not fits_no_interest(m) or not m.reasons:
        return m.reasons
    return [BRIEFLY_UNMATCHED, *m.reasons[1:]]


@dataclass(frozen=True)
class WiderSearch:
    """The search run again with other ways of travelling (``travel``), and how many
    listings fitting an interest it finds that the results do not show. ``added``: the
    way of travelling it adds to the person's own, or None when it only lengthens
    theirs. ``at_least``: every listing in its own list fits, so a longer list may
    find more."""

    travel: tuple[TravelOption, ...]
    more_that_fit: int
    at_least: bool
    added: TravelMode | None = None

    def text(self) -> str:
        """ "Longer journeys (up to 30 min walk or 45 min by bus or train) find 3 more
        that fit your interests." or "Journeys by bus or train (up to 30 min) would
        find 5 more that fit your interests." """
        n = self.more_that_fit
        found = "no" if n == 0 else f"at least {n}" if self.at_least else str(n)
        fit = "fits" if n == 1 else "fit"
        if self.added is not None:
            (option,) = (t for t in self.travel if t.mode == self.added)
            return (
                f"Journeys {MODE_WORDS[self.added]} (up to {option.max_minutes:.0f} min) "
                f"would find {found} more that {fit} your interests."
            )
        ways = " or ".join(f"{t.max_minutes:.0f} min {MODE_WORDS[t.mode]}" for t in self.travel)
        return f"Longer journeys (up to {ways}) find {found} more that {fit} your interests."


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def longer_limits(options: Sequence[TravelOption]) -> tuple[TravelOption, ...] | None:
    """``options`` with each limit ``WIDER_BY`` times longer (rounded up to the next
    ``ROUND_TO_MINUTES``, at least that and at most the model's limit); None when none
    can grow. (A limit of a few millionths of a minute, divided, could round to 0.)"""
    longer = tuple(
        TravelOption(
            mode=t.mode,
            max_minutes=min(
                MAX_TRAVEL_MINUTES,
                max(1, math.ceil(t.max_minutes * WIDER_BY / ROUND_TO_MINUTES)) * ROUND_TO_MINUTES,
            ),
        )
        for t in options
    )
    if all(a.max_minutes <= b.max_minutes for a, b in zip(longer, options, strict=True)):
        return None
    return longer


def by_public_transport(
    options: Sequence[TravelOption], travel: TravelModel | None = None
) -> tuple[TravelOption, ...] | None:
    """``options`` with buses and trains added, allowed as long as the longest of them
    and at least a usual bus journey (``USUAL_MINUTES``).

    None when the person already takes them, or when, by ``travel``, a bus would reach
    no further than one of their own ways (a 20-minute drive goes further than a
    30-minute bus ride): what a bus reaches, they can already get to."""
    if any(t.mode == "public_transport" for t in options):
        return None
    minutes = max([USUAL_MINUTES["public_transport"], *(t.max_minutes for t in options)])
    bus = TravelOption(mode="public_transport", max_minutes=min(MAX_TRAVEL_MINUTES, minutes))
    travel = travel or StraightLineTravel()
    own_reach = max((travel.reach_m(t.mode, t.max_minutes) for t in options), default=0.0)
    if travel.reach_m(bus.mode, bus.max_minutes) <= own_reach:
        return None
    return (*options, bus)


def split_of(profile: Profile, shown: Sequence[Match]) -> InterestSplit | None:
    """How ``shown`` splits by ``profile``'s interests; None when it gave none."""
    return InterestSplit.of(shown) if profile.interests else None


def _has_room(profile: Profile, shown: Sequence[Match]) -> bool:
    """A wider search means something: the person gave interests and some result fits
    none of them."""
    return bool(profile.interests) and InterestSplit.of(shown).fit < len(shown)


@dataclass(frozen=True)
class SearchAgain:
    """The person's search, to run again with other ways of travelling: the same store,
    number of results, travel model, weights and time."""

    store: Store
    limit: int
    travel: TravelModel | None = None
    weights: Mapping[str, float] | None = None
    now: datetime | None = None

    def longer_journeys(self, profile: Profile, shown: Sequence[Match]) -> WiderSearch | None:
        """What allowing longer journeys would add to ``shown``, when the results leave
        room for it. None otherwise, or when every limit is already the longest allowed."""
        travel_options = longer_limits(profile.travel)
        if not _has_room(profile, shown) or travel_options is None:
            return None
        return self._wider(profile, shown, travel_options)

    def another_way(self, profile: Profile, shown: Sequence[Match]) -> WiderSearch | None:
        """What buses and trains would add for someone who did not say they take them,
        when the results leave room for it and it finds more that fit: whether the
        person can take a bus is for them and their practitioner to say, so it is only
        worth saying when it helps. None otherwise."""
        travel_options = by_public_transport(profile.travel, self.travel)
        if not _has_room(profile, shown) or travel_options is None:
            return None
        found = self._wider(profile, shown, travel_options, added="public_transport")
        return found if found.more_that_fit else None

    def notes(self, profile: Profile, shown: Sequence[Match]) -> ResultsNotes:
        """The notes for ``shown``, the results of ``profile``'s search."""
        return ResultsNotes(
            split_of(profile, shown),
            self.longer_journeys(profile, shown),
            self.another_way(profile, shown),
        )

    def _wider(
        self,
        profile: Profile,
        shown: Sequence[Match],
        travel_options: tuple[TravelOption, ...],
        added: TravelMode | None = None,
    ) -> WiderSearch:
        """``profile``'s search with ``travel_options``, counted against ``shown``."""
        wider = profile.model_copy(update={"travel": list(travel_options)})
        found = match(
            self.store,
            wider,
            travel=self.travel,
            weights=self.weights,
            limit=self.limit,
            now=self.now,
        )
        shown_ids = {m.asset.id for m in shown}
        fits = [m for m in found if fits_an_interest(m)]
        new = sum(1 for m in fits if m.asset.id not in shown_ids)
        return WiderSearch(travel_options, new, at_least=len(fits) == self.limit, added=added)


@dataclass(frozen=True)
class ResultsNotes:
    """What is said under a search's heading: how the results split by interest
    (``InterestSplit``), what longer journeys would add, and what buses and trains
    would. All None when the person gave no interests or every result fits one."""

    split: InterestSplit | None
    longer: WiderSearch | None
    another_way: WiderSearch | None = None

    @property
    def wider(self) -> list[WiderSearch]:
        return [w for w in (self.longer, self.another_way) if w is not None]

    @property
    def split_text(self) -> str | None:
        """``InterestSplit.text``; None as well when no interests were given."""
        return None if self.split is None else self.split.text()

    def lines(self) -> list[str]:
        said = self.split_text
        return ([said] if said else []) + [w.text() for w in self.wider]


def notes_on(
    store: Store,
    profile: Profile,
    shown: Sequence[Match],
    *,
    limit: int,
    travel: TravelModel | None = None,
    weights: Mapping[str, float] | None = None,
    now: datetime | None = None,
) -> ResultsNotes:
    """The notes for ``shown``, the results of ``profile``'s search (``limit`` asked for,
    and the same ``travel``, ``weights`` and ``now``)."""
    return SearchAgain(store, limit, travel, weights, now).notes(profile, shown)
