"""Matching engine: interest resolution, each pipeline stage, properties and bad input."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from geo_assets.errors import InvalidInputError
from geo_assets.interests import (
    WordFinder,
    content_words,
    default_resolver,
    load_interest_words,
    normalise,
)
from geo_assets.matching import (
    AUDIENCE_FACTOR,
    DEFAULT_WEIGHTS,
    Match,
    candidate_pools,
    free_then,
    interest_score,
    match,
    rank,
    resolve_interests,
    schedule_score,
    session_fit,
    shown_as,
    travel_score,
    travel_times,
    violations,
)
from geo_assets.model import Asset, Availability, Profile, Session
from geo_assets.taxonomy import default_taxonomy
from geo_assets.travel import StraightLineTravel

HOME = (53.7950, -1.7520)  # Bradford city centre
NOW = datetime(2026, 11, 2, 9, 0)  # a Monday
FEATURES = ["wheelchair", "step_free", "hearing_loop", "quiet_space", "bsl", "accessible_toilet"]
DAYS = ["mo", "tu", "we", "th", "fr", "sa", "su"]


def _asset(i: int, rng: random.Random, leaves: list[str]) -> Asset:
    lat = HOME[0] + rng.gauss(0, 0.02)
    lon = HOME[1] + rng.gauss(0, 0.03)
    start = rng.choice([9, 10, 13, 14, 18, 19])
    amount = rng.choice([0, 0, 0, 2.0, 3.5, 6.0, None])
    return Asset.model_validate(
        {
            "id": f"m{i:04d}",
            "kind": rng.choice(["group", "club", "activity", "venue"]),
            "name": f"Asset {i}",
            "description": "A friendly local session.",
            "categories": rng.sample(leaves, rng.choice([1, 1, 2])),
            "connection_types": rng.sample(["local", "interest", "reconnect"], rng.randint(0, 2)),
            "location": {"lat": lat, "lon": lon},
            "sessions": [
                {
                    "weekdays": [rng.choice(DAYS)],
                    "start": time(start, 0),
                    "end": time(start + 2, 0),
                }
            ]
            if rng.random() > 0.1
            else [],
            "cost": {"amount": amount},
            "accessibility": {"features": rng.sample(FEATURES, rng.randint(0, 3))},
            "eligibility": {
                "min_age": rng.choice([None, None, 18, 50]),
                "max_age": rng.choice([None, None, None, 25]) if rng.random() < 0.3 else None,
                "gender": rng.choice(["any"] * 8 + ["women", "men"]),
                # Not drawn, so the rest of the data is what it was before.
                "with_carers": i % 11 == 0,
            },
            "group_size": rng.choice([None, 6, 12, 30]),
            "attendance": rng.choice(["drop_in", "drop_in", "booking", "referral"]),
            "status": rng.choice(["published"] * 9 + ["pending"]),
            "last_verified_at": datetime(2026, rng.randint(1, 10), 1, tzinfo=UTC),
            "source": "test",
            "source_id": f"m{i:04d}",
        }
    )


def _fix_ages(asset: Asset) -> Asset:
    e = asset.eligibility
    if e.min_age is not None and e.max_age is not None and e.max_age < e.min_age:
        return asset.model_copy(update={"eligibility": e.model_copy(update={"max_age": None})})
    return asset


def dataset(n: int = 300) -> list[Asset]:
    rng = random.Random(1234)
    taxonomy = default_taxonomy()
    leaves = [t.id for t in taxonomy if not taxonomy.children.get(t.id)]
    out = []
    for i in range(n):
        try:
            out.append(_asset(i, rng, leaves))
        except ValidationError:
            continue
    return [_fix_ages(a) for a in out]


GARDEN_AND_FOOTBALL = [
    {
        "id": "g-allot",
        "name": "Heaton Allotment Society",
        "categories": ["nature.gardening.allotments"],
        "description": "Plots for growing vegetables and fruit.",
        "dlat": 0.004,
    },
    {
        "id": "g-comm",
        "name": "Canal Road Community Garden",
        "categories": ["nature.gardening.community-gardens"],
        "description": "Weekly volunteering in a shared garden.",
        "dlat": 0.006,
    },
    {
        "id": "f-walk",
        "name": "Over 50s Walking Football",
        "categories": ["sport.football.walking-football"],
        "description": "Gentle football for older players.",
        "dlat": -0.005,
    },
    {
        "id": "c-knit",
        "name": "Knit and Natter",
        "categories": ["hobbies.crafts.knitting"],
        "description": "Knitting and crochet over a cuppa.",
        "dlat": 0.001,
    },
    {
        "id": "v-lib",
        "name": "Central Library",
        "categories": ["venues.libraries"],
        "description": "Books, computers and a warm place to sit.",
        "dlat": 0.002,
    },
]


@pytest.fixture
def small_store(sqlite_store):
    assets = []
    for spec in GARDEN_AND_FOOTBALL:
        assets.append(
            Asset.model_validate(
                {
                    "id": spec["id"],
                    "kind": "group",
                    "name": spec["name"],
                    "description": spec["description"],
                    "categories": spec["categories"],
                    "location": {"lat": HOME[0] + spec["dlat"], "lon": HOME[1]},
                    "sessions": [{"weekdays": ["tu"], "start": "10:00", "end": "12:00"}],
                    "status": "published",
                    "source": "t",
                    "source_id": spec["id"],
                    "last_verified_at": datetime(2026, 10, 1, tzinfo=UTC),
                    "connection_types": ["interest", "local"],
                }
            )
        )
    sqlite_store.bulk_upsert(assets)
    return sqlite_store


@pytest.fixture
def big_store(sqlite_store):
    sqlite_store.bulk_upsert(dataset())
    return sqlite_store


def profile(**kw) -> Profile:
    data = {
        "origin": {"lat": HOME[0], "lon": HOME[1]},
        "travel": [{"mode": "walk", "max_minutes": 30}],
    }
    data.update(kw)
    return Profile.model_validate(data)


def near_home(listing_id: str, category: str, **fields: object) -> Asset:
    """A published group 110 m north of HOME, in ``category``, with ``fields``."""
    return Asset.model_validate(
        {
            "id": listing_id,
            "kind": "group",
            "name": f"Group {listing_id}",
            "categories": [category],
            "location": {"lat": HOME[0] + 0.001, "lon": HOME[1]},
            "status": "published",
            "source": "t",
            "source_id": listing_id,
        }
        | fields
    )


# --- interest resolution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["gardning", "allotment", "growing veg", "gardening", "green fingers"]
)
def test_gardening_words_resolve_to_gardening_terms(text):
    terms = [m.term_id for m in default_resolver().resolve(text)]
    assert terms and terms[0].startswith("nature.gardening")


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("footy", "sport.football"),
        ("soccer", "sport.football"),
        ("used to play guitar", "arts.music.instruments"),
        ("knitting", "hobbies.crafts.knitting"),
        ("chess", "hobbies.games.chess"),
    ],
)
def test_informal_words_resolve(text, term):
    assert default_resolver().resolve(text)[0].term_id == term


def _everyday_words() -> list[tuple[str, str]]:
    words = load_interest_words(default_taxonomy())
    return [(word, term) for term, said in words.items() for word in said]


@pytest.mark.parametrize(("word", "term"), _everyday_words())
def test_everyday_words_resolve_to_their_term_first(word, term):
    """Each everyday word (data/interest_words.json) is read as its term, and surely."""
    top = default_resolver().resolve(word)[0]
    assert (top.term_id, top.confidence) == (term, 1.0)


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("likes reading", "arts.writing.book-clubs"),
        ("parenting", "family"),  # was read as "renting advice"
        ("used to love singing", "arts.music.choirs"),
        ("feels lonely", "social.friendship"),
    ],
)
def test_what_people_say_of_themselves_finds_the_right_term(text, term):
    assert default_resolver().resolve(text)[0].term_id == term


@pytest.mark.parametrize(
    ("word", "not_meant"), [("darts", "arts"), ("cards", "heritage.industrial")]
)
def test_a_word_we_know_is_not_also_read_as_a_misspelling_of_another(word, not_meant):
    """ "darts" is a label: reading it as a typo of "arts" too would rank art classes."""
    terms = [m.term_id for m in default_resolver().resolve(word)]
    assert terms and not_meant not in terms


def test_everyday_words_must_name_taxonomy_terms(tmp_path):
    path = tmp_path / "words.json"
    path.write_text('{"words": {"arts.film": ["movies"], "arts.nope": ["x"]}}')
    with pytest.raises(ValueError, match="arts.nope"):
        load_interest_words(default_taxonomy(), path)


def test_nonsense_resolves_to_nothing():
    assert default_resolver().resolve("xqzzv plimf") == []


@pytest.mark.parametrize("text", ["gardning", "allotment", "growing veg"])
def test_typos_and_synonyms_find_gardening_groups(small_store, text):
    results = match(small_store, profile(interests=[text]), now=NOW)
    assert results[0].asset.id in {"g-allot", "g-comm"}
    assert any("matches your interest" in r for r in results[0].reasons)


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("gardning", 'gardning (read as "gardening")'),  # a misreading would be plain to see
        ("allotment", "allotment"),  # the person's own words where they were understood
        ("nature.gardening", "Gardening"),  # a term id (API clients) by its name
    ],
)
def test_reasons_say_how_an_interest_was_read(small_store, said, shown):
    top = match(small_store, profile(interests=[said]), now=NOW)[0]
    assert top.reasons[0] == f"matches your interest: {shown}"


@pytest.mark.parametrize(
    "said", ["parent and toddler group", "walking groups", "yoga class", "art classes"]
)
def test_a_terms_plural_or_singular_is_no_misreading(said):
    """'parent and toddler group (read as "parent and toddler groups")' said nothing new."""
    resolver = default_resolver()
    terms = resolver.resolve(said)
    assert terms
    assert shown_as(said, terms, resolver) == said


def test_footy_finds_football(small_store):
    results = match(small_store, profile(interests=["footy"]), now=NOW)
    assert results[0].asset.id == "f-walk"


def test_unmatched_interest_still_returns_nearby_assets_with_a_reason(small_store):
    results = match(small_store, profile(interests=["xqzzv plimf"]), now=NOW)
    assert len(results) == len(GARDEN_AND_FOOTBALL)
    assert all(r.components["interest"] == 0 for r in results)
    assert all("no listing matched your interests" in r.reasons[0] for r in results)
    # Ranked by the other components: the nearest comes first (all else equal).
    assert results[0].asset.id == "c-knit"


def test_a_result_beside_ones_that_match_says_it_fits_none_of_the_interests(small_store):
    """ "No listing matched" would be untrue when the results above it did."""
    results = match(small_store, profile(interests=["knitting"]), now=NOW)
    assert results[0].asset.id == "c-knit"
    unmatched = [r for r in results if r.components["interest"] == 0]
    assert unmatched
    for r in unmatched:
        assert r.reasons[0] == "not one of your interests: knitting; shown for what else it offers"


def test_a_misread_interest_is_named_without_brackets_in_brackets(small_store):
    """'not one of your interests (gardning (read as "gardening")); ...' nested them."""
    results = match(small_store, profile(interests=["gardning"]), now=NOW)
    unmatched = [r.reasons[0] for r in results if r.components["interest"] == 0]
    assert unmatched
    assert set(unmatched) == {
        'not one of your interests: gardning (read as "gardening"); shown for what else it offers'
    }


def test_a_format_word_in_an_interest_relates_no_listing_to_it(sqlite_store):
    """ "group" in "parent and toddler group" is in nearly every listing's text: it made
    a men's group and a woodland group "related to your interests". Only the words that
    say what the interest is about count as found in a listing's text."""

    def listing(listing_id: str, name: str, category: str, description: str) -> Asset:
        return near_home(listing_id, category, name=name, description=description)

    sqlite_store.bulk_upsert(
        [
            listing("men", "Men's Group", "social.mens-groups", "A friendly group for men."),
            listing("wood", "Woodland Volunteers", "nature.conservation", "A lively group."),
            listing("rhyme", "Rhyme Time", "arts.music", "Songs for toddlers and a parent."),
        ]
    )
    results = {r.asset.id: r for r in match(sqlite_store, profile(interests=["toddler group"]))}
    for unrelated in ("men", "wood"):
        assert results[unrelated].components["interest"] == 0
        assert results[unrelated].reasons[0].startswith("not one of your interests")
    # A word about the interest's subject still finds a listing by its text.
    assert results["rhyme"].components["interest"] == pytest.approx(0.8)


def test_explanations_read_like_a_practitioner_would_say_them(small_store):
    p = profile(interests=["gardening"], availability=["tue 09:00-13:00"])
    top = match(small_store, p, now=NOW)[0]
    text = " | ".join(top.reasons)
    assert "matches your interest: gardening" in text
    assert "min walk" in text
    assert "Tuesdays 10:00-12:00 - you are free then" in text
    assert "free" in top.reasons
    assert top.next_session == datetime(2026, 11, 3, 10, 0)
    assert set(top.components) == set(DEFAULT_WEIGHTS)
    assert all(0.0 <= v <= 1.0 for v in top.components.values())


def test_a_walk_within_the_persons_limit_is_named_beside_a_quicker_bus(sqlite_store):
    """The bus is quickest from 1.1 km, but the walk is within the person's 30 minutes
    and costs nothing: both are said. From 100 m the walk is quickest and the bus is not
    worth saying; from 3 km only the bus gets there in time."""
    km = 1 / 111.2  # degrees of latitude in a kilometre, near enough
    sqlite_store.bulk_upsert(
        [
            Asset.model_validate(
                {
                    "id": listing_id,
                    "kind": "group",
                    "name": f"Group {listing_id}",
                    "categories": ["nature.gardening.allotments"],
                    "location": {"lat": HOME[0] + dist_km * km, "lon": HOME[1]},
                    "status": "published",
                    "source": "t",
                    "source_id": listing_id,
                }
            )
            for listing_id, dist_km in [("near", 0.1), ("mid", 1.1), ("far", 3.0)]
        ]
    )
    p = profile(
        travel=[
            {"mode": "walk", "max_minutes": 30},
            {"mode": "public_transport", "max_minutes": 30},
        ]
    )
    found = {m.asset.id: m for m in match(sqlite_store, p, now=NOW)}
    model = StraightLineTravel()

    def minutes(listing_id: str, mode: str) -> float:
        return float(model.minutes_over(np.array([found[listing_id].distance_m]), mode)[0])

    mid = found["mid"]
    walk, bus = minutes("mid", "walk"), minutes("mid", "public_transport")
    assert bus < walk < 30
    assert (mid.mode, mid.minutes) == ("public_transport", pytest.approx(bus))
    assert mid.other_modes == (("walk", pytest.approx(walk)),)
    assert mid.reasons[0] == f"{bus:.0f} min by bus or train, or {walk:.0f} min walk"
    assert mid.as_dict()["other_modes"] == [{"mode": "walk", "minutes": round(walk, 1)}]

    near = found["near"]
    assert near.mode == "walk"
    assert [mode for mode, _ in near.other_modes] == ["public_transport"]
    assert near.reasons[0] == f"{near.minutes:.0f} min walk"

    far = found["far"]
    assert minutes("far", "walk") > 30
    assert (far.mode, far.other_modes) == ("public_transport", ())
    assert far.reasons[0] == f"{far.minutes:.0f} min by bus or train"


def test_weights_can_be_overridden_per_request(small_store):
    p = profile(interests=["gardening"])
    travel_only = match(
        small_store,
        p,
        weights={k: 0.0 for k in DEFAULT_WEIGHTS} | {"travel": 1.0},
        now=NOW,
        diversity=0,
    )
    distances = [r.distance_m for r in travel_only]
    assert distances == sorted(distances)
    with pytest.raises(InvalidInputError, match="unknown component"):
        match(small_store, p, weights={"vibes": 1.0}, now=NOW)


# --- stages ------------------------------------------------------------------------------------


def test_schedule_fit_is_share_of_session_inside_availability():
    a = Asset.model_validate(
        {
            "kind": "group",
            "name": "x",
            "categories": ["social"],
            "location": {"lat": 0, "lon": 0},
            "sessions": [{"weekdays": ["tu"], "start": "10:00", "end": "12:00"}],
        }
    )
    assert schedule_score(a, [Availability.parse("tue 09:00-13:00")])[0] == 1.0
    assert schedule_score(a, [Availability.parse("tue 11:00-13:00")])[0] == 0.5
    assert schedule_score(a, [Availability.parse("wed")])[0] == 0.0
    assert schedule_score(a, [])[0] == 1.0


@pytest.mark.parametrize(
    ("days", "free", "said"),
    [
        (["th", "su"], ["weekends"], "you are free on Sundays"),
        (["th", "su"], ["thu", "sun"], "you are free then"),
        (["mo", "tu", "we", "th", "fr"], ["mon 11:00-13:00", "tue", "wed", "thu"],
         "you are free Tuesday to Thursday"),  # Monday fits only in part
        (["tu", "fr"], ["tue 11:00-13:00"], "partly when you are free, on Tuesdays"),
        (["tu"], ["tue 11:00-13:00"], "partly when you are free"),
        (["tu", "fr"], ["wed", "sat 10:00-12:00"], "not when you said you are free"),
    ],
)  # fmt: skip
def test_the_schedule_reason_names_the_days_that_fit_when_only_some_do(days, free, said):
    session = Session(weekdays=days, start=time(10), end=time(12))
    windows = [Availability.parse(w) for w in free]
    assert free_then(session, windows) == said
    # The score agrees: full marks only when some day fits whole.
    assert (session_fit(session, windows) == 1.0) == said.startswith("you are free")


def test_a_session_on_a_day_the_person_is_not_free_is_not_said_to_suit_them(small_store):
    """A Thursday and Sunday group for someone free only at weekends: the reason names
    Sunday, not "you are free then"."""
    p = profile(interests=["gardening"], availability=["weekends"])
    listing = near_home(
        "th-su",
        "nature.gardening",
        sessions=[{"weekdays": ["th", "su"], "start": "09:30", "end": "11:30"}],
    )
    small_store.bulk_upsert([listing])
    found = {m.asset.id: m for m in match(small_store, p, now=NOW)}["th-su"]
    assert "Thursdays and Sundays 09:30-11:30 - you are free on Sundays" in found.reasons
    assert found.next_session is not None and found.next_session.weekday() == 6


def test_a_group_run_in_a_language_the_person_speaks_says_so(small_store):
    small_store.bulk_upsert(
        [
            near_home("urdu", "nature.gardening", languages=["en", "ur"]),
            near_home("english", "nature.gardening", languages=["en"]),
        ]
    )

    def found(languages: list[str]) -> dict[str, Match]:
        p = profile(interests=["gardening"], languages=languages)
        return {m.asset.id: m for m in match(small_store, p)}

    both = found(["Urdu", "en"])
    assert "in Urdu" in both["urdu"].reasons
    assert not any(r.startswith("in ") for r in both["english"].reasons)  # English unsaid
    # Someone who speaks Urdu alone is better served by the group run in it.
    urdu = found(["Urdu"])
    assert urdu["urdu"].components["access"] > urdu["english"].components["access"]


def test_a_listing_related_to_one_interest_names_it(small_store):
    small_store.bulk_upsert([near_home("dominoes", "hobbies.games.darts-dominoes")])
    p = profile(interests=["fishing", "chess"])
    found = {m.asset.id: m for m in match(small_store, p, now=NOW)}["dominoes"]
    assert found.matched_interests == []
    assert found.reasons[0] == "related to your interest: chess"


def test_someone_who_would_rather_drop_in_is_told_how_each_result_takes_people(small_store):
    small_store.bulk_upsert(
        [
            near_home("walk-in", "nature.gardening", attendance="drop_in"),
            near_home("booked", "nature.gardening", attendance="booking"),
        ]
    )
    p = profile(interests=["gardening"], preferences={"drop_in_only": True})
    found = {m.asset.id: m for m in match(small_store, p, now=NOW)}
    assert "drop in: no need to book" in found["walk-in"].reasons
    assert "not drop-in: book a place first" in found["booked"].reasons
    assert found["walk-in"].score > found["booked"].score
    plain = {m.asset.id: m for m in match(small_store, profile(interests=["gardening"]))}
    assert not any("drop" in r for r in plain["walk-in"].reasons)


def test_someone_who_prefers_small_groups_is_told_each_results_size(small_store):
    small_store.bulk_upsert(
        [
            near_home("small", "nature.gardening", group_size=6),
            near_home("large", "nature.gardening", group_size=40),
        ]
    )
    p = profile(interests=["gardening"], preferences={"small_group": True})
    found = {m.asset.id: m for m in match(small_store, p, now=NOW)}
    assert "small group (about 6)" in found["small"].reasons
    assert "larger group (about 40)" in found["large"].reasons


def test_candidate_pools_are_the_interest_categories_their_parents_then_any():
    resolver = default_resolver()
    taxonomy = resolver.taxonomy
    interests = resolve_interests(profile(interests=["gardening", "chess"]), resolver)
    (exact, n_exact), (related, n_related), (anything, n_any) = candidate_pools(
        interests, resolver, limit=20
    )
    assert {"nature.gardening", "hobbies.games.chess"} <= set(exact)
    parents = {taxonomy.get(c).parent_id for c in exact} - {None}
    assert related == sorted(parents - set(exact))
    assert anything is None
    assert (n_exact, n_related, n_any) == (120, 40, 40)
    # Pools never shrink below ten results' worth; nothing resolved leaves only "any".
    nothing = resolve_interests(profile(interests=["qzxv"]), resolver)
    assert candidate_pools(nothing, resolver, limit=3) == [(None, 20)]


def test_travel_decay_halves_every_fifteen_minutes():
    assert travel_score(0) == 1.0
    assert travel_score(15) == pytest.approx(0.5)
    assert travel_score(30) == pytest.approx(0.25)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"origin": {"lat": 91, "lon": 0}}, "origin.lat"),
        ({"origin": {"lat": 0, "lon": float("nan")}}, "origin.lon"),
        ({"travel": [{"mode": "teleport", "max_minutes": 10}]}, "travel.0.mode"),
        ({"travel": [{"mode": "walk", "max_minutes": 0}]}, "travel.0.max_minutes"),
        ({"travel": [{"mode": "walk", "max_minutes": 241}]}, "travel.0.max_minutes"),
        ({"travel": []}, "travel"),
    ],
)
def test_bad_profiles_are_rejected_naming_the_field(patch, field):
    with pytest.raises(ValidationError) as err:
        profile(**patch)
    assert field in {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}


@pytest.mark.parametrize("text", ["someday", "tue 25:00-26:00", "tue 13-9", "tue 9-"])
def test_malformed_availability_is_rejected_naming_the_field(text):
    with pytest.raises((InvalidInputError, ValidationError), match="availability"):
        profile(availability=[text])


# --- properties --------------------------------------------------------------------------------

profiles = st.builds(
    lambda interests, modes, age, gender, needs, free_only, max_cost, avail, goals, kids: (
        Profile.model_validate(
            {
                "origin": {"lat": HOME[0], "lon": HOME[1]},
                "interests": interests,
                "travel": [{"mode": m, "max_minutes": mins} for m, mins in modes.items()],
                "age": age,
                "children_ages": kids,
                "gender": gender,
                # A man's need for women-only groups is refused (nothing could meet it).
                "access_needs": [n for n in needs if gender != "men" or n != "women_only"],
                "budget": {"free_only": free_only, "max_per_session": max_cost},
                "availability": avail,
                "connection_goals": goals,
            }
        )
    ),
    st.lists(
        st.sampled_from(["gardening", "footy", "knitting", "choir", "chess", "xyz", "walks"]),
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["walk", "cycle", "public_transport", "wheelchair"]),
        st.integers(5, 40),
        min_size=1,
        max_size=2,
    ),
    st.one_of(st.none(), st.integers(16, 90)),
    st.sampled_from([None, "women", "men"]),
    st.lists(st.sampled_from(FEATURES + ["women_only"]), max_size=2, unique=True),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from([1.0, 3.0, 5.0])),
    st.lists(
        st.sampled_from(["tue 09:00-13:00", "weekends", "thu", "weekdays evenings"]), max_size=2
    ),
    st.lists(st.sampled_from(["local", "interest", "reconnect"]), max_size=2, unique=True),
    st.lists(st.integers(0, 17), max_size=2),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(p=profiles)
def test_no_result_breaks_a_hard_constraint_and_order_is_stable(big_store, p):
    first = match(big_store, p, now=NOW, limit=20)
    travel = StraightLineTravel()
    for r in first:
        assert violations(r.asset, p) == []
        assert r.asset.status == "published"
        limit = {t.mode: t.max_minutes for t in p.travel}[r.mode]
        assert r.minutes <= limit + 1e-9
        direct = travel.minutes((HOME[0], HOME[1]), np.array([r.asset.point]), r.mode)[0]
        assert r.minutes == pytest.approx(direct)
    again = match(big_store, p, now=NOW, limit=20)
    assert [r.asset.id for r in again] == [r.asset.id for r in first]
    assert [r.score for r in again] == [r.score for r in first]


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-0.05, 0.05),
    st.floats(-0.05, 0.05),
    st.floats(0.0, 1.0),
    st.dictionaries(
        st.sampled_from(["walk", "cycle", "public_transport", "car", "wheelchair"]),
        st.integers(5, 120),
        min_size=1,
        max_size=3,
    ),
)
def test_moving_an_asset_closer_never_lowers_its_travel_score(dlat, dlon, shrink, modes):
    p = profile(travel=[{"mode": m, "max_minutes": v} for m, v in modes.items()])
    base = dataset(1)[0]

    def placed(f: float) -> Asset:
        loc = base.location.model_copy(
            update={"lat": HOME[0] + dlat * f, "lon": HOME[1] + dlon * f}
        )
        return base.model_copy(update={"location": loc})

    minutes, _, _ = travel_times(p, StraightLineTravel(), [placed(1.0), placed(shrink)])
    far, near = minutes
    if np.isfinite(far):
        assert np.isfinite(near)
        assert travel_score(near) >= travel_score(far)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "gardening",
                "footy",
                "knitting",
                "choir",
                "xyz",
                "used to play guitar",
                "walks",
                "growing veg",
                "chess",
            ]
        ),
        max_size=3,
    ),
    st.integers(0, 299),
)
def test_adding_a_matching_interest_never_lowers_interest_score(interests, index):
    resolver = default_resolver()
    asset = dataset()[index % len(dataset())]
    p = profile(interests=interests)
    before, _, _ = interest_score(asset, resolve_interests(p, resolver), resolver)
    # An interest the asset surely matches: its own first category's name.
    own = default_taxonomy().get(asset.categories[0]).name
    after, _, _ = interest_score(
        asset, resolve_interests(profile(interests=[*interests, own]), resolver), resolver
    )
    assert after >= before - 1e-12
    assert after >= 0.5


_TEXT_PIECES = [
    "Gardening",
    "gardeners",
    "GARDEN",
    "garde",
    "men's",
    "Men’s",
    "mens",
    "shed",
    "chess",
    "chessboard",
    "Straße",
    "strasse",
    "café",
    "cafe",
    "art",
    "artist",
    "guitar",
    "guitars",
    "knit",
    "knitting",
    "x",
    "_",
    "4x4",
    " ",
    " ",
    "-",
    ",",
    "'",
    "’",
    "(",
    ")",
    "\n",
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(_TEXT_PIECES), max_size=30).map("".join),
    said=st.lists(st.lists(st.sampled_from(_TEXT_PIECES), max_size=6).map("".join), max_size=4),
)
def test_word_finder_finds_what_whole_words_and_five_letter_starts_say(text, said):
    """One scan per listing gives what indexing every word of its text would."""
    words = [w for s in said for w in content_words(s)]
    text_words = normalise(text).split()
    expected = {
        w
        for w in words
        if w in text_words or len(w) >= 5 and any(t[:5] == w[:5] for t in text_words)
    }
    assert WordFinder(words).found_in(text) == expected


@pytest.mark.parametrize("free", [[], ["mon 09:00-13:00", "thu 09:00-13:00"]])
def test_the_next_session_is_the_soonest_of_all_the_listings_sessions(small_store, free):
    """Mondays and Thursdays, asked on a Tuesday: Thursday comes first, whichever session
    is listed first, and the reason names the session it belongs to."""
    tuesday = datetime(2026, 11, 3, 9, 0)
    listing = near_home(
        "mon-thu",
        "nature.gardening",
        sessions=[
            {"weekdays": ["mo"], "start": "10:00", "end": "12:00"},
            {"weekdays": ["th"], "start": "10:00", "end": "12:00"},
        ],
    )
    small_store.bulk_upsert([listing])
    p = profile(interests=["gardening"], availability=free)
    found = {m.asset.id: m for m in match(small_store, p, now=tuesday)}["mon-thu"]
    assert found.next_session == datetime(2026, 11, 5, 10, 0)
    said = [r for r in found.reasons if r.startswith(("Mondays", "Thursdays"))]
    assert said == [f"Thursdays 10:00-12:00{' - you are free then' if free else ''}"]


def test_a_session_that_has_ended_neither_ranks_nor_explains_a_listing(small_store):
    ended = {"weekdays": ["tu"], "start": "10:00", "end": "12:00", "valid_to": "2026-10-31"}
    running = {"weekdays": ["th"], "start": "14:00", "end": "16:00"}
    small_store.bulk_upsert(
        [
            near_home("half-ended", "nature.gardening", sessions=[ended, running]),
            near_home("all-ended", "nature.gardening", sessions=[ended]),
        ]
    )
    p = profile(interests=["gardening"], availability=["tue", "thu"])
    found = {m.asset.id: m for m in match(small_store, p, now=NOW)}
    half, gone = found["half-ended"], found["all-ended"]
    assert half.next_session == datetime(2026, 11, 5, 14, 0)
    assert "Thursdays 14:00-16:00 - you are free then" in half.reasons
    assert not any(r.startswith("Tuesdays") for r in half.reasons)
    assert gone.next_session is None
    assert "its listed sessions have ended - check what runs now" in gone.reasons
    assert (
        gone.components["schedule"] == schedule_score(near_home("x", "social"), p.availability)[0]
    )


@pytest.mark.parametrize("age", [None, 70])
def test_who_may_come_is_said_when_the_person_did_not_say_who_they_are(small_store, age):
    """Not given, a man and a woman both see men's and women's groups, each marked, and
    a group's ages are named; with an age given, only groups of that age are found."""
    small_store.bulk_upsert(
        [
            near_home("men", "hobbies", eligibility={"gender": "men"}),
            near_home("women", "hobbies", eligibility={"gender": "women"}),
            near_home("over-65", "hobbies", eligibility={"min_age": 65}),
        ]
    )
    found = {m.asset.id: m for m in match(small_store, profile(interests=["crafts"], age=age))}
    assert "men only" in found["men"].reasons and "women only" in found["women"].reasons
    assert ("for people aged 65 and over" in found["over-65"].reasons) is (age is None)


def test_a_listing_never_confirmed_says_so(small_store):
    small_store.bulk_upsert([near_home("unconfirmed", "nature.gardening")])
    found = {m.asset.id: m for m in match(small_store, profile(interests=["gardening"]))}
    assert "never confirmed - check it is still running" in found["unconfirmed"].reasons


def test_diversity_keeps_the_top_ten_varied(big_store):
    p = profile(travel=[{"mode": "public_transport", "max_minutes": 40}])
    top = match(big_store, p, now=NOW, limit=10)
    assert len({r.asset.categories[0] for r in top}) >= 6


def _next_fitting_start(session, windows, now, horizon=12):
    """The plain way: walk the next starts and test each against the windows."""
    for start in session.occurrences(now, count=horizon):
        if not windows:
            return start
        day = DAYS[start.weekday()]
        if any(day in w.weekdays and w.start <= start.time() < w.end for w in windows):
            return start
    return None


_EDGES = ["09:00", "10:00", "12:00", "13:00"]  # session starts and window edges meet often


@st.composite
def _window(draw):
    day = draw(st.sampled_from([*DAYS, "weekdays"]))
    a, b = sorted(draw(st.lists(st.sampled_from(_EDGES), min_size=2, max_size=2, unique=True)))
    return Availability.parse(f"{day} {a}-{b}")


@settings(max_examples=200, deadline=None)
@given(
    frequency=st.sampled_from(["weekly", "fortnightly", "monthly"]),
    days=st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True),
    start=st.sampled_from(_EDGES[:3]),
    windows=st.lists(_window(), max_size=2),
    now=st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)),
    valid_days=st.none() | st.integers(0, 200),
)
def test_next_session_in_the_windows_is_the_first_fitting_start(
    frequency, days, start, windows, now, valid_days
):
    from datetime import timedelta

    from geo_assets.matching import next_session_after

    begins = time.fromisoformat(start)
    session = Session(
        weekdays=days,
        start=begins,
        end=time(begins.hour + 1),
        frequency=frequency,
        weeks_of_month=[2, -1] if frequency == "monthly" else None,
        valid_to=None if valid_days is None else now.date() + timedelta(days=valid_days),
    )
    assert next_session_after(session, windows, now) == _next_fitting_start(session, windows, now)


def _mmr_whole_pool(matches: list[Match], limit: int, diversity: float) -> list[str]:
    """Maximal marginal relevance written the plain way: every round scores the whole pool."""
    taxonomy = default_taxonomy()
    pool = sorted(matches, key=lambda m: (-m.score, m.asset.id))[: max(limit * 5, 50)]
    redundancy = [0.0] * len(pool)
    chosen: list[int] = []
    for _ in range(min(limit, len(pool))):
        gains = [
            -np.inf if i in chosen else (1 - diversity) * m.score - diversity * redundancy[i]
            for i, m in enumerate(pool)
        ]
        pick = next(i for i, g in enumerate(gains) if g >= max(gains) - 1e-12)
        chosen.append(pick)
        main = pool[pick].asset.categories[0]
        for i, m in enumerate(pool):
            other = m.asset.categories[0]
            alike = (
                1.0
                if other == main
                else 0.5
                if taxonomy.root_of(other) == taxonomy.root_of(main)
                else 0.0
            )
            redundancy[i] = min(1.0, redundancy[i] + 0.5 * alike)
    return [pool[i].asset.id for i in chosen]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, 11), st.sampled_from([0.2, 0.35, 0.5, 0.61, 0.8, 0.93])),
        min_size=1,
        max_size=70,
    ),
    limit=st.integers(1, 25),
    diversity=st.sampled_from([0.05, 0.15, 0.3, 0.6]),
)
def test_diversity_rerank_equals_the_whole_pool_algorithm(picks, limit, diversity):
    # Few categories in two groups and few distinct scores: many ties and shared redundancy.
    categories = [
        "sport.football.walking-football",
        "sport.football",
        "sport.swimming",
        "nature.gardening.allotments",
        "nature.gardening.community-gardens",
        "nature.wildlife.birdwatching",
        "hobbies.crafts.knitting",
        "hobbies.games.chess",
        "venues.libraries",
        "arts.music.choirs",
        "arts.music",
        "learning.digital",
    ]
    base = dataset(1)[0]
    matches = [
        Match(
            asset=base.model_copy(update={"id": f"r{i:03d}", "categories": [categories[c]]}),
            score=score,
            components={},
            minutes=1.0,
            mode="walk",
            distance_m=1.0,
        )
        for i, (c, score) in enumerate(picks)
    ]
    ours = [m.asset.id for m in rank(matches, limit, diversity=diversity)]
    assert ours == _mmr_whole_pool(matches, limit, diversity)


def test_listings_for_a_specific_group_step_back_unless_the_person_is_in_it():
    from geo_assets.matching import AUDIENCE_FACTOR, audience_fit, person_words

    carers = Asset.model_validate(
        {
            "kind": "group",
            "name": "Carers Cafe",
            "categories": ["family.carers"],
            "location": {"lat": 0, "lon": 0},
            "eligibility": {"groups": ["carers"]},
        }
    )
    resolver = default_resolver()
    music = profile(interests=["music"])
    assert (
        audience_fit(carers, person_words(music, resolve_interests(music, resolver), resolver))
        == AUDIENCE_FACTOR
    )
    carer = profile(interests=["music"], circumstances=["carer for my mum"])
    assert (
        audience_fit(carers, person_words(carer, resolve_interests(carer, resolver), resolver))
        == 1.0
    )
    # An interest that resolves to the group's own category counts as belonging.
    vets = Asset.model_validate(
        {
            "kind": "group",
            "name": "Breakfast Club",
            "categories": ["social.veterans"],
            "location": {"lat": 0, "lon": 0},
            "eligibility": {"groups": ["veterans"]},
        }
    )
    ex_forces = profile(interests=["ex forces"])
    assert (
        audience_fit(
            vets, person_words(ex_forces, resolve_interests(ex_forces, resolver), resolver)
        )
        == 1.0
    )


@pytest.mark.parametrize(
    ("said", "fit"),
    [
        ({"interests": ["singing"]}, "stepped back"),
        ({"interests": ["singing"], "circumstances": ["mum of a two-year-old"]}, 1.0),
        ({"interests": ["singing"], "circumstances": ["looks after her grandson"]}, 1.0),
        ({"interests": ["parent and toddler group"]}, 1.0),
    ],
)
def test_a_group_for_grown_ups_who_bring_children_steps_back_for_others(said, fit):
    """The age filter lets every grown-up into a toddler group; only those who bring a
    child keep its whole score."""
    from geo_assets.matching import AUDIENCE_FACTOR, audience_fit, person_words

    baby_sing = Asset.model_validate(
        {
            "kind": "group",
            "name": "Baby Sing",
            "categories": ["family.parent-toddler"],
            "location": {"lat": 0, "lon": 0},
            "eligibility": {"min_age": 0, "max_age": 4, "with_carers": True},
        }
    )
    resolver = default_resolver()
    person = profile(**said)
    words = person_words(person, resolve_interests(person, resolver), resolver)
    assert audience_fit(baby_sing, words) == (AUDIENCE_FACTOR if fit == "stepped back" else fit)
    # Children's ages given say it outright, whatever else was said.
    assert audience_fit(baby_sing, words, brings_children=True) == 1.0


@pytest.mark.parametrize(
    ("children", "reason"),
    [
        ([2], "your child aged 2 can come"),
        ([3, 9, 2], "your children aged 2 and 3 can come"),
        ([1, 1], "your children aged 1 can come"),
    ],
)
def test_a_toddler_group_says_which_of_the_childrens_ages_it_takes(store, children, reason):
    toddlers = Asset.model_validate(
        {
            "kind": "group",
            "name": "Stay and Play",
            "categories": ["family.parent-toddler"],
            "location": {"lat": HOME[0] + 0.002, "lon": HOME[1]},
            "eligibility": {"min_age": 0, "max_age": 4, "with_carers": True},
            "status": "published",
        }
    )
    store.create_asset(toddlers)
    person = profile(interests=["singing"], age=31, children_ages=children)
    [result] = match(store, person, now=NOW)
    assert f"for children aged 0–4, with a parent or carer: {reason}" in result.reasons
    # Where the listing names its grown-ups, they are said with the children, once.
    who = {**toddlers.eligibility.model_dump(), "groups": ["dads"]}
    store.update_asset(result.asset.id, {"eligibility": who})
    [again] = match(store, person, now=NOW)
    said = [r for r in again.reasons if "dads" in r]
    assert said == [f"for dads, bringing children aged 0–4: {reason}"]
    # Nothing else said mentions children: the ages alone keep its whole score.
    without = match(store, profile(interests=["singing"], age=31), now=NOW)
    assert result.score == pytest.approx(without[0].score / AUDIENCE_FACTOR)


@pytest.mark.parametrize(
    ("barred", "person", "admitted"),
    [
        ({"eligibility": {"max_age": 17}}, {"age": 70}, {}),
        ({"cost": {"amount": 3, "per": "session"}}, {"budget": {"free_only": True}}, {}),
        ({"eligibility": {"gender": "men"}}, {"gender": "women"}, {}),
        ({}, {"access_needs": ["women_only"]}, {"eligibility": {"gender": "women"}}),
        (
            {"accessibility": {"features": ["wheelchair"]}},
            {"access_needs": ["bsl", "step_free"]},
            {"accessibility": {"features": ["bsl", "wheelchair"]}},
        ),
        (
            {"cost": {"amount": 20, "per": "month"}},
            {"budget": {"max_per_session": 4}},
            {"cost": {"amount": 12, "per": "month"}},
        ),
        # A toddler group's ages are the children's: the parent who brings one comes
        # only where the listing says so; a 9-year-old comes to neither.
        (
            {"eligibility": {"min_age": 0, "max_age": 4}},
            {"age": 31},
            {"eligibility": {"min_age": 0, "max_age": 4, "with_carers": True}},
        ),
        ({"eligibility": {"max_age": 4, "with_carers": True}}, {"age": 9}, {}),
        # Once the children's ages are given, a group for children with their carers
        # takes the person only if one child is of its ages: whatever the person's own
        # age (a mother of 16), or with no age given.
        (
            {"eligibility": {"min_age": 0, "max_age": 4, "with_carers": True}},
            {"age": 31, "children_ages": [9]},
            {"eligibility": {"min_age": 5, "max_age": 11, "with_carers": True}},
        ),
        (
            {"eligibility": {"min_age": 0, "max_age": 4}},
            {"age": 16, "children_ages": [1]},
            {"eligibility": {"min_age": 0, "max_age": 4, "with_carers": True}},
        ),
        (
            {"eligibility": {"max_age": 4, "with_carers": True}},
            {"children_ages": [7, 12]},
            {"eligibility": {"min_age": 10, "max_age": 14, "with_carers": True}},
        ),
    ],
    ids=[
        "age",
        "free-only",
        "sex",
        "women-only",
        "access",
        "budget",
        "parent",
        "child",
        "parent-of-a-9-year-old",
        "young-mother",
        "children-but-no-age",
    ],  # fmt: skip
)
def test_listings_barred_by_a_hard_constraint_leave_the_pools_to_others(
    store, barred, person, admitted
):
    """More barred listings stand nearer than a pool holds; the one this person may go to,
    farther off, still reaches the results."""
    km = 1 / 111.2  # degrees of latitude in a kilometre, near enough

    def chess(listing_id: str, dist_km: float, **extra) -> Asset:
        return Asset.model_validate(
            {
                "id": listing_id,
                "kind": "club",
                "name": f"Chess {listing_id}",
                "categories": ["hobbies.games.chess"],
                "location": {"lat": HOME[0] + dist_km * km, "lon": HOME[1]},
                "cost": {"amount": 0, "per": "session"},
                "status": "published",
                "source": "t",
                "source_id": listing_id,
                **extra,
            }
        )

    near = [chess(f"barred-{i:03d}", 0.1 + i * 0.01, **barred) for i in range(120)]
    store.bulk_upsert([*near, chess("open", 1.6, **admitted)])
    results = match(store, profile(interests=["chess"], **person), limit=1)
    assert [m.asset.id for m in results] == ["open"]
