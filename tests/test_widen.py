"""A search's split by interest, and what longer journeys or buses would add, on both
stores."""

from __future__ import annotations

import pytest
from factories import make_asset

from geo_assets.matching import match
from geo_assets.model import Asset, Profile, TravelOption
from geo_assets.travel import StraightLineTravel
from geo_assets.widen import (
    InterestSplit,
    SearchAgain,
    WiderSearch,
    by_public_transport,
    longer_limits,
    notes_on,
    reasons_under_summary,
)

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
    longer = SearchAgain(neighbourhood, 10).longer_journeys(person, shown)
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
    assert SearchAgain(neighbourhood, 1).longer_journeys(person, shown) is None
    shown = match(neighbourhood, person, limit=2)
    assert InterestSplit.of(shown).fit == 1
    longer = SearchAgain(neighbourhood, 2).longer_journeys(person, shown)
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
    assert SearchAgain(neighbourhood, 10).longer_journeys(person, shown) is None, why


def test_no_wider_search_without_results(store):
    assert SearchAgain(store, 10).longer_journeys(_person(), []) is None


@pytest.mark.parametrize(
    ("minutes", "longer"),
    [
        ([20], [30]),
        ([15, 35], [25, 55]),  # each half as long again, up to the next 5 minutes
        ([1], [5]),
        ([5e-324], [5]),  # the smallest float: divided, it would round to no minutes
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
            "1 of these 10 fits your interests; 1 is related to them; the other 8 are "
            "here for what else they offer (how near, when, cost and access).",
        ),
        (
            InterestSplit(3, 0, 1),
            "3 of these 4 fit your interests; the other 1 is here for what else it "
            "offers (how near, when, cost and access).",
        ),
        (
            InterestSplit(0, 0, 5),
            "None of these 5 fit your interests; all 5 are here for what else they "
            "offer (how near, when, cost and access).",
        ),
        (InterestSplit(0, 2, 0), "None of these 2 fit your interests; 2 are related to them."),
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
    said = WiderSearch(travel, more, at_least).text()
    assert (
        said
        == f"Longer journeys (up to 30 min walk or 45 min by bus or train) {text} your interests."
    )


def test_buses_count_the_fits_they_would_add(neighbourhood):
    person = _person(minutes=20)
    shown = match(neighbourhood, person, limit=10)
    bus = SearchAgain(neighbourhood, 10).another_way(person, shown)
    assert bus is not None and bus.added == "public_transport"
    assert [(t.mode, t.max_minutes) for t in bus.travel] == [
        ("walk", 20),
        ("public_transport", 30),
    ]
    wider = match(neighbourhood, person.model_copy(update={"travel": list(bus.travel)}))
    fits = {m.asset.id for m in wider if m.matched_interests}
    assert fits == {"knit-near", "knit-far", "knit-farther"}
    assert (bus.more_that_fit, bus.at_least) == (2, False)


def test_buses_are_not_offered_to_someone_who_takes_them(neighbourhood):
    travel = [
        TravelOption(mode="walk", max_minutes=20),
        TravelOption(mode="public_transport", max_minutes=10),
    ]
    person = _person().model_copy(update={"travel": travel})
    shown = match(neighbourhood, person, limit=10)
    assert shown and InterestSplit.of(shown).fit < len(shown)
    assert SearchAgain(neighbourhood, 10).another_way(person, shown) is None


def test_buses_are_not_offered_when_they_add_nothing(neighbourhood):
    # A 20-minute walk from the far knitting groups: a bus finds no knitting group
    # the walk did not.
    person = _person(minutes=40)
    shown = match(neighbourhood, person, limit=10)
    assert InterestSplit.of(shown).fit == 3 < len(shown)
    assert SearchAgain(neighbourhood, 10).another_way(person, shown) is None


def test_the_notes_say_the_split_then_each_wider_search(neighbourhood):
    person = _person(minutes=20)
    shown = match(neighbourhood, person, limit=10)
    notes = notes_on(neighbourhood, person, shown, limit=10)
    assert notes.split == InterestSplit.of(shown)
    assert [w.added for w in notes.wider] == [None, "public_transport"]
    assert notes.lines() == [notes.split.text(), *(w.text() for w in notes.wider)]
    # Weights change what a wider search ranks, so it runs with the person's own.
    weights = {"interest": 0.0}
    notes = notes_on(neighbourhood, person, shown, limit=3, weights=weights)
    longer = match(
        neighbourhood,
        person.model_copy(update={"travel": list(notes.wider[0].travel)}),
        limit=3,
        weights=weights,
    )
    ids = {m.asset.id for m in shown}
    assert notes.wider[0].more_that_fit == sum(
        1 for m in longer if m.matched_interests and m.asset.id not in ids
    )


@pytest.mark.parametrize(
    ("minutes", "bus"),
    [
        ([20], 30),  # the search form's own default for buses
        ([20, 45], 45),  # as long as the longest journey the person would make
        ([240], 240),
    ],
)
def test_buses_are_allowed_as_long_as_the_longest_journey(minutes, bus):
    modes = ["walk", "wheelchair"]
    options = [TravelOption(mode=m, max_minutes=n) for m, n in zip(modes, minutes, strict=False)]
    got = by_public_transport(options)
    assert got is not None
    assert got[:-1] == tuple(options)
    assert (got[-1].mode, got[-1].max_minutes) == ("public_transport", bus)


@pytest.mark.parametrize(
    ("mode", "minutes", "offered"),
    [
        ("car", 20, False),  # a 20-minute drive goes further than a 30-minute bus ride
        ("car", 5, True),  # three of the five minutes are parking
        ("cycle", 20, False),
        ("cycle", 10, True),
        ("wheelchair", 60, True),
    ],
)
def test_buses_are_offered_only_where_they_reach_further(mode, minutes, offered):
    options = [TravelOption(mode=mode, max_minutes=minutes)]
    got = by_public_transport(options)
    assert (got is not None) is offered
    if got is not None:
        travel = StraightLineTravel()
        assert travel.reach_m("public_transport", got[-1].max_minutes) > travel.reach_m(
            mode, minutes
        )


def test_whether_a_bus_reaches_further_is_the_travel_models_to_say():
    drive = [TravelOption(mode="car", max_minutes=20)]
    assert by_public_transport(drive) is None
    express = StraightLineTravel().with_speed("public_transport", speed_kmh=40.0)
    got = by_public_transport(drive, express)
    assert got is not None and got[-1].mode == "public_transport"


def test_a_driver_is_not_offered_buses_by_the_search(neighbourhood):
    person = _person(minutes=20).model_copy(
        update={"travel": [TravelOption(mode="car", max_minutes=20)]}
    )
    shown = match(neighbourhood, person, limit=10)
    assert shown and InterestSplit.of(shown).fit < len(shown)
    assert SearchAgain(neighbourhood, 10).another_way(person, shown) is None


@pytest.mark.parametrize(
    ("more", "at_least", "text"),
    [
        (1, False, "would find 1 more that fits"),
        (4, False, "would find 4 more that fit"),
        (10, True, "would find at least 10 more that fit"),
    ],
)
def test_buses_read_as_a_sentence(more, at_least, text) -> None:
    travel = (
        TravelOption(mode="walk", max_minutes=20),
        TravelOption(mode="public_transport", max_minutes=30),
    )
    said = WiderSearch(travel, more, at_least, added="public_transport").text()
    assert said == f"Journeys by bus or train (up to 30 min) {text} your interests."


def test_under_a_summary_only_a_result_fitting_no_interest_is_brief(neighbourhood):
    shown = match(neighbourhood, _person(), limit=10)
    brief = {m.asset.id: reasons_under_summary(m) for m in shown}
    for m in shown:
        if m.matched_interests or m.components["interest"] > 0:
            assert brief[m.asset.id] == m.reasons
        else:
            assert m.reasons[0].startswith("not one of your interests: knitting")
            assert brief[m.asset.id] == ["not one of your interests", *m.reasons[1:]]
    assert sum(1 for m in shown if brief[m.asset.id] != m.reasons) >= 2
