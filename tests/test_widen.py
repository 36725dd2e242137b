"""A search's split by interest, and what longer journeys would add, on both stores."""

from __future__ import annotations

import pytest
from factories import make_asset

from geo_assets.matching import match
from geo_assets.model import Asset, Profile, TravelOption
from geo_assets.widen import InterestSplit, LongerJourneys, longer_journeys, longer_limits

HOME = (53.7950, -1.7520)
# Walking at the straight-line model's pace, 0.001 degrees of latitude (111 m) is
# about 1.9 minutes: NEAR and the three just past it are within a 20-minute walk,
# FAR (24 minutes) and the one past it only within 30.
NEAR, FAR = 0.004, 0.013


def _listing(listing_id: str, name: str, category: str, dlat: float) -> Asset:
    return make_asset(
        id=listing_id,
        name=name,
        categories=[category],
        description=f"{name}: all welcome.",
        location={"lat": HOME[0] + dlat, "lon": HOME[1]},
        source="t",
        source_id=listing_id,
    )


NEIGHBOURHOOD = [
    _listing("knit-near", "Knit and Natter", "hobbies.crafts.knitting", NEAR),
    _listing("knit-far", "Purl Club", "hobbies.crafts.knitting", FAR),
    _listing("knit-farther", "Yarn Swap", "hobbies.crafts.knitting", FAR + 0.001),
    _listing("cafe", "Community Cafe", "social.lunch-clubs", NEAR + 0.001),
    _listing("walk", "Health Walk", "sport.walking", NEAR + 0.002),
    _listing("choir", "Rock Choir", "arts.music.choirs", NEAR + 0.003),
]


def _person(minutes: float = 20, interests: list[str] | None = None) -> Profile:
    return Profile.model_validate(
        {
            "origin": {"lat": HOME[0], "lon": HOME[1]},
            "interests": ["knitting"] if interests is None else interests,
            "travel": [{"mode": "walk", "max_minutes": minutes}],
        }
    )


@pytest.fixture
def neighbourhood(store):
    store.bulk_upsert(NEIGHBOURHOOD)
    return store


def test_the_split_counts_what_fits_what_is_related_and_the_rest(neighbourhood):
    shown = match(neighbourhood, _person(), limit=10)
    assert {m.asset.id for m in shown} == {"knit-near", "cafe", "walk", "choir"}
    split = InterestSplit.of(shown)
    assert split.fit == 1  # only the knitting group fits
    assert split.fit + split.related + split.other == len(shown)
    assert split.other >= 2


def test_longer_journeys_count_the_fits_a_wider_search_adds(neighbourhood):
    person = _person(minutes=20)
    shown = match(neighbourhood, person, limit=10)
    longer = longer_journeys(neighbourhood, person, shown, limit=10)
    assert longer is not None
    assert [(t.mode, t.max_minutes) for t in longer.travel] == [("walk", 30)]
    assert (longer.more_that_fit, longer.at_least) == (2, False)
    # What it counted is what the person would be shown by that search.
    wider = match(neighbourhood, person.model_copy(update={"travel": list(longer.travel)}))
    assert {"knit-far", "knit-farther"} <= {m.asset.id for m in wider}


def test_a_wider_list_full_of_fits_may_hide_more(neighbourhood):
    person = _person(minutes=20)
    shown = match(neighbourhood, person, limit=1)
    assert [m.asset.id for m in shown] == ["knit-near"]
    # One result asked for, and it fits: nothing to widen for.
    assert longer_journeys(neighbourhood, person, shown, limit=1) is None
    shown = match(neighbourhood, person, limit=2)
    assert InterestSplit.of(shown).fit == 1
    longer = longer_journeys(neighbourhood, person, shown, limit=2)
    # The wider top two are both knitting groups: one is new, and a longer list
    # would show the third.
    assert longer is not None
    assert (longer.more_that_fit, longer.at_least) == (1, True)


@pytest.mark.parametrize(
    ("person", "why"),
    [
        (_person(interests=[]), "no interests to fit"),
        (_person(minutes=240), "the longest journey is already allowed"),
    ],
)
def test_no_wider_search_where_it_means_nothing(neighbourhood, person, why):
    shown = match(neighbourhood, person, limit=10)
    assert shown
    assert longer_journeys(neighbourhood, person, shown, limit=10) is None, why


def test_no_wider_search_without_results(store):
    assert longer_journeys(store, _person(), [], limit=10) is None


@pytest.mark.parametrize(
    ("minutes", "longer"),
    [
        ([20], [30]),
        ([15, 35], [25, 55]),  # each half as long again, up to the next 5 minutes
        ([1], [5]),
        ([200, 20], [240, 30]),  # never past the model's longest
        ([240, 20], [240, 30]),
    ],
)
def test_longer_limits_are_half_as_long_again(minutes, longer):
    modes = ["walk", "public_transport"]
    options = [TravelOption(mode=m, max_minutes=n) for m, n in zip(modes, minutes, strict=False)]
    got = longer_limits(options)
    assert got is not None
    assert [t.max_minutes for t in got] == longer
    assert [t.mode for t in got] == modes[: len(minutes)]


def test_no_longer_limits_when_all_are_the_longest():
    assert longer_limits([TravelOption(mode="walk", max_minutes=240)]) is None


@pytest.mark.parametrize(
    ("split", "text"),
    [
        (InterestSplit(10, 0, 0), None),
        (
            InterestSplit(1, 1, 8),
            "1 of these 10 fits their interests; 1 is related to them; the other 8 are "
            "here for what else they offer (how near, when, cost and access).",
        ),
        (
            InterestSplit(3, 0, 1),
            "3 of these 4 fit their interests; the other 1 is here for what else it "
            "offers (how near, when, cost and access).",
        ),
        (
            InterestSplit(0, 0, 5),
            "None of these 5 fit their interests; all 5 are here for what else they "
            "offer (how near, when, cost and access).",
        ),
        (InterestSplit(0, 2, 0), "None of these 2 fit their interests; 2 are related to them."),
    ],
)
def test_the_summary_reads_as_a_sentence(split, text) -> None:
    assert split.text() == text


@pytest.mark.parametrize(
    ("more", "at_least", "text"),
    [
        (0, False, "find no more that fit"),
        (1, False, "find 1 more that fits"),
        (3, False, "find 3 more that fit"),
        (10, True, "find at least 10 more that fit"),
    ],
)
def test_longer_journeys_read_as_a_sentence(more, at_least, text) -> None:
    travel = (
        TravelOption(mode="walk", max_minutes=30),
        TravelOption(mode="public_transport", max_minutes=45),
    )
    said = LongerJourneys(travel, more, at_least).text()
    assert (
        said
        == f"Longer journeys (up to 30 min walk or 45 min by bus or train) {text} their interests."
    )
