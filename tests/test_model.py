"""Validation and behaviour of the domain model (geo_assets/model.py)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from geo_assets.auth import User
from geo_assets.model import (
    Asset,
    BBox,
    Cost,
    Eligibility,
    Location,
    Organisation,
    Profile,
    Session,
)
from geo_assets.plans import SavedPlan
from tests.factories import recurring_sessions


def _asset(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "group",
        "name": "Shipley Knit and Natter",
        "categories": ["hobbies.crafts.knitting"],
        "location": {"lat": 53.8331, "lon": -1.7727, "place": "Shipley"},
    }
    record.update(changes)
    return record


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[tuple[Any, ...], str]]:
    return [(tuple(e["loc"]), e["msg"]) for e in exc.value.errors()]


def _only_error(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[tuple[Any, ...], str]:
    errors = _errors(exc)
    assert len(errors) == 1, errors
    return errors[0]


# --- location -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 90.5),
        ("lat", -91.0),
        ("lon", 180.01),
        ("lon", -200.0),
        ("lat", math.nan),
        ("lon", math.nan),
        ("lat", math.inf),
        ("lon", "nan"),
    ],
)
def test_bad_coordinates_are_rejected_naming_the_field(field: str, value: Any) -> None:
    location = {"lat": 53.8, "lon": -1.75, field: value}
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(location=location))
    loc, _ = _only_error(info)
    assert loc == ("location", field)


def test_coordinate_edges_are_allowed() -> None:
    for lat, lon in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)]:
        assert Location(lat=lat, lon=lon).lat == lat


@pytest.mark.parametrize(
    ("address", "place", "postcode", "line"),
    [
        ("101 Bolton Road, Keighley", "Keighley", None, "101 Bolton Road, Keighley"),
        ("101 Bolton Road, keighley ", "Keighley", "BD21 4AA",
         "101 Bolton Road, keighley, BD21 4AA"),
        ("12 Keighley Road", "Bingley", None, "12 Keighley Road, Bingley"),
        ("12 Keighley Road", "Keighley", None, "12 Keighley Road, Keighley"),  # a street's name
        ("5 Mill Lane, Keighley BD21 1AA", "Keighley", "bd21 1aa",
         "5 Mill Lane, Keighley BD21 1AA, Keighley"),
        (None, "Keighley", "BD21 1AA", "Keighley, BD21 1AA"),
        (None, None, None, ""),
    ],
)  # fmt: skip
def test_an_address_line_says_each_part_once(address, place, postcode, line) -> None:
    loc = Location(lat=53.87, lon=-1.91, address=address, place=place, postcode=postcode)
    assert loc.address_line() == line


def test_missing_location_is_rejected() -> None:
    record = _asset()
    del record["location"]
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(record)
    assert _only_error(info)[0] == ("location",)


def test_footprint_must_be_a_valid_polygon() -> None:
    square = {
        "type": "Polygon",
        "coordinates": [
            [[-1.75, 53.8], [-1.74, 53.8], [-1.74, 53.81], [-1.75, 53.81], [-1.75, 53.8]]
        ],
    }
    assert Location(lat=53.805, lon=-1.745, footprint=square).footprint == square
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    for bad in (bow_tie, {"type": "Point", "coordinates": [0, 0]}):
        with pytest.raises(ValidationError) as info:
            Location(lat=0, lon=0, footprint=bad)
        assert _only_error(info)[0] == ("footprint",)


# --- names, categories, kinds -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "x" * 301])
def test_bad_name_is_rejected(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(name=name))
    assert _only_error(info)[0] == ("name",)


def test_name_is_stripped() -> None:
    assert Asset.model_validate(_asset(name="  Bingley Choir ")).name == "Bingley Choir"


def test_unknown_category_is_rejected_naming_it() -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(categories=["arts.music.choirs", "arts.music.kazoo"]))
    loc, msg = _only_error(info)
    assert loc == ("categories",)
    assert "arts.music.kazoo" in msg and "position 1" in msg


def test_categories_required_and_deduplicated() -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(categories=[]))
    assert _only_error(info)[0] == ("categories",)
    asset = Asset.model_validate(_asset(categories=["sport", "arts", "sport"]))
    assert asset.categories == ["sport", "arts"]


def test_unknown_kind_and_status_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(kind="shop"))
    assert _only_error(info)[0] == ("kind",)
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(status="live"))
    assert _only_error(info)[0] == ("status",)


def test_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(colour="blue"))
    assert _only_error(info)[0] == ("colour",)


def test_languages_and_connection_types() -> None:
    asset = Asset.model_validate(
        _asset(languages=["en", "ur", "en"], connection_types=["interest", "local", "interest"])
    )
    assert asset.languages == ["en", "ur"]
    assert asset.connection_types == ["local", "interest"]
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(languages=["English"]))
    loc, msg = _only_error(info)
    assert loc == ("languages",) and "English" in msg


def test_asset_cannot_be_its_own_venue() -> None:
    with pytest.raises(ValidationError, match="venue_id"):
        Asset.model_validate(_asset(id="abc", venue_id="abc"))


# --- cost, eligibility, provenance --------------------------------------------------------------


@pytest.mark.parametrize("amount", [-0.01, -5, math.nan, math.inf])
def test_negative_or_non_finite_cost_rejected(amount: float) -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(cost={"amount": amount}))
    assert _only_error(info)[0] == ("cost", "amount")


def test_cost_defaults_to_free_and_checks_currency() -> None:
    assert Cost().free
    assert not Cost(amount=3.5, concessions="£2 for carers").free
    assert Cost(amount=None).amount is None
    with pytest.raises(ValidationError) as info:
        Cost(amount=2, currency="pounds")
    assert _only_error(info)[0] == ("currency",)


def test_max_age_below_min_age_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(eligibility={"min_age": 50, "max_age": 18}))
    loc, msg = _only_error(info)
    assert loc == ("eligibility",)
    assert "`max_age`" in msg and "`min_age`" in msg


def test_eligibility_admits_age() -> None:
    over_50s = Eligibility(min_age=50)
    assert over_50s.admits_age(50) and not over_50s.admits_age(49)
    youth = Eligibility(min_age=11, max_age=18)
    assert youth.admits_age(18) and not youth.admits_age(19)
    assert Eligibility().admits_age(0)
    with pytest.raises(ValidationError) as info:
        Eligibility(min_age=-1)
    assert _only_error(info)[0] == ("min_age",)


@pytest.mark.parametrize(
    ("age", "children", "admitted"),
    [
        (31, [], True),  # nothing known of children: any grown-up
        (9, [], False),
        (None, [], True),
        (31, [2], True),
        (31, [9], False),  # a mother of a nine-year-old
        (31, [9, 3], True),
        (None, [9], False),
        (16, [1], True),  # a mother of 16 with a baby
        (3, [9], True),  # the person is of its ages themselves
    ],
)
def test_a_group_for_children_with_their_carers_admits_by_the_childrens_ages(
    age: int | None, children: list[int], admitted: bool
) -> None:
    toddlers = Eligibility(min_age=0, max_age=4, with_carers=True)
    assert toddlers.admits_age(age, children) is admitted
    # Children's ages change nothing for a listing without carers.
    assert Eligibility(min_age=0, max_age=4).admits_age(31, [2]) is False


@pytest.mark.parametrize(
    ("who", "with_carers", "groups"),
    [
        ({"min_age": 0, "max_age": 4}, "children aged 0–4, with a parent or carer", ""),
        ({}, "children with a parent or carer", ""),
        (
            {"max_age": 11, "groups": ["dads and male carers"]},
            "dads and male carers, bringing children aged 11 and under",
            "",
        ),
        ({"groups": ["kinship carers"]}, "kinship carers, bringing their children", ""),
    ],
)
def test_a_group_with_carers_names_its_grown_ups_and_children_once(
    who: dict, with_carers: str, groups: str
) -> None:
    """Its groups ("parents and carers of under-5s") name the same grown-ups the
    children come with: they are said in one phrase, not again as a second one."""
    eligibility = Eligibility(with_carers=True, **who)
    assert eligibility.with_carers_text(groups=True) == with_carers
    assert eligibility.groups_text() == groups
    plain = Eligibility(**{**who, "with_carers": False})
    assert plain.groups_text() == ("for " + ", ".join(who["groups"]) if "groups" in who else "")


@pytest.mark.parametrize(
    ("children", "field"),
    [([18], "children_ages.0"), ([2, -1], "children_ages.1"), ([1] * 11, "children_ages")],
)
def test_childrens_ages_are_checked_naming_the_field(children: list[int], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Profile.model_validate(
            {
                "origin": {"lat": 53.8, "lon": -1.75},
                "travel": [{"mode": "walk", "max_minutes": 20}],
                "children_ages": children,
            }
        )
    assert [".".join(map(str, e["loc"])) for e in info.value.errors()] == [field]


@pytest.mark.parametrize("given", [{"source": "sample"}, {"source_id": "x-1"}])
def test_source_and_source_id_go_together(given: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="`source` and `source_id`"):
        Asset.model_validate(_asset(**given))
    with pytest.raises(ValidationError, match="`source` and `source_id`"):
        Organisation(name="Bradford Knitters", **given)


def test_text_with_a_nul_character_is_refused_where_it_stands() -> None:
    """PostgreSQL keeps no NUL in text or JSON; SQLite would: both stores must refuse it."""
    record = _asset(
        name="Knit\x00",
        location={"lat": 53.8, "lon": -1.77, "address": "1 Main St\x00"},
        sessions=[
            {"weekdays": ["mo"], "start": "10:00", "end": "11:00"},
            {"weekdays": ["tu"], "start": "10:00", "end": "11:00", "notes": "\x00"},
        ],
        eligibility={"groups": ["carers", "new\x00parents"]},
    )
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(record)
    assert _errors(info) == [
        (loc, "must not contain the NUL character")
        for loc in [
            ("name",),
            ("location", "address"),
            ("sessions", 1, "notes"),
            ("eligibility", "groups", 1),
        ]
    ]
    ring = [[-1.78, 53.83], [-1.77, 53.83], [-1.77, 53.84], [-1.78, 53.83]]
    footprint = {"type": "Polygon", "coordinates": [ring], "name\x00": "hall"}
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(
            _asset(location={"lat": 53.835, "lon": -1.774, "footprint": footprint})
        )
    assert _only_error(info) == (
        ("location", "footprint", "name\x00"),
        "must not contain the NUL character",
    )
    with pytest.raises(ValidationError) as info:
        Organisation(name="Bradford Knitters", description="\x00")
    assert _only_error(info) == (("description",), "must not contain the NUL character")
    # Other control characters are text a person may paste (tabs, new lines).
    assert Asset.model_validate(_asset(description="two\tparts\nand lines")).description


def test_users_and_saved_plans_refuse_a_nul_character_too() -> None:
    with pytest.raises(ValidationError) as info:
        User(name="Ada\x00", role="admin")
    assert _only_error(info) == (("name",), "must not contain the NUL character")
    item = {"asset_id": "a1", "name": "Knit\x00", "when": "", "travel": ""}
    with pytest.raises(ValidationError) as info:
        SavedPlan(reference="AB-0427", owner_id="u1", items=[{**item, "mode": "walk"}])
    assert _only_error(info) == (("items", 0, "name"), "must not contain the NUL character")


def test_timestamps_are_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    asset = Asset.model_validate(
        _asset(
            created_at=datetime(2026, 5, 1, 12, 0),
            updated_at=datetime(2026, 5, 1, 14, 0, tzinfo=plus_two),
        )
    )
    assert asset.created_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert asset.updated_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert asset.updated_at.tzinfo == UTC


def test_contact_checks_email_and_url() -> None:
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(contact={"email": "not an email"}))
    assert _only_error(info)[0] == ("contact", "email")
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(contact={"url": "www.example.org"}))
    assert _only_error(info)[0] == ("contact", "url")


# --- sessions -----------------------------------------------------------------------------------


def test_session_end_before_start_rejected_naming_the_fields() -> None:
    bad = {"weekdays": ["mo"], "start": "10:00", "end": "09:30"}
    with pytest.raises(ValidationError) as info:
        Asset.model_validate(_asset(sessions=[bad]))
    loc, msg = _only_error(info)
    assert loc == ("sessions", 0)
    assert "`end`" in msg and "`start`" in msg
    with pytest.raises(ValidationError, match="`end`"):
        Session(weekdays=["mo"], start=time(10), end=time(10))


def test_monthly_needs_weeks_of_month() -> None:
    with pytest.raises(ValidationError, match="`weeks_of_month`"):
        Session(weekdays=["mo"], start=time(10), end=time(12), frequency="monthly")
    with pytest.raises(ValidationError, match="`weeks_of_month`"):
        Session(weekdays=["mo"], start=time(10), end=time(12), weeks_of_month=[1])
    with pytest.raises(ValidationError) as info:
        Session(
            weekdays=["mo"], start=time(10), end=time(12), frequency="monthly", weeks_of_month=[6]
        )
    assert _only_error(info)[0] == ("weeks_of_month",)


def test_session_needs_a_known_weekday() -> None:
    for days in ([], ["monday"]):
        with pytest.raises(ValidationError) as info:
            Session(weekdays=days, start=time(10), end=time(12))
        assert _only_error(info)[0][0] == "weekdays"


def test_valid_to_before_valid_from_rejected() -> None:
    with pytest.raises(ValidationError, match="`valid_to`"):
        Session(
            weekdays=["mo"],
            start=time(10),
            end=time(12),
            valid_from=date(2026, 6, 1),
            valid_to=date(2026, 5, 1),
        )


@pytest.mark.parametrize(
    ("session", "text"),
    [
        ({"weekdays": ["th", "tu"]}, "Tuesdays and Thursdays 10:00-12:00"),
        ({"weekdays": ["we"]}, "Wednesdays 10:00-12:00"),
        ({"weekdays": ["fr", "we", "mo"]}, "Mondays, Wednesdays and Fridays 10:00-12:00"),
        ({"weekdays": ["mo", "tu", "we", "th", "fr"]}, "Monday to Friday 10:00-12:00"),
        ({"weekdays": ["mo", "tu", "we", "fr"]}, "Monday to Wednesday and Friday 10:00-12:00"),
        ({"weekdays": ["mo", "tu", "we", "th", "fr", "sa", "su"]}, "every day 10:00-12:00"),
        (
            {"weekdays": ["mo", "tu", "we", "th", "fr", "sa", "su"], "frequency": "fortnightly"},
            "every other Monday to Sunday 10:00-12:00",
        ),
        (
            {"weekdays": ["mo", "tu", "we"], "frequency": "monthly", "weeks_of_month": [1]},
            "1st Monday, Tuesday and Wednesday of the month 10:00-12:00",
        ),
        ({"weekdays": ["mo"], "frequency": "fortnightly"}, "every other Monday 10:00-12:00"),
        (
            {"weekdays": ["mo"], "frequency": "monthly", "weeks_of_month": [1]},
            "1st Monday of the month 10:00-12:00",
        ),
        (
            {"weekdays": ["fr"], "frequency": "monthly", "weeks_of_month": [3, 2]},
            "2nd and 3rd Friday of the month 10:00-12:00",
        ),
    ],
)
def test_describe(session: dict[str, Any], text: str) -> None:
    assert Session(start=time(10), end=time(12), **session).describe() == text


def test_weekdays_sorted_and_deduplicated() -> None:
    session = Session(weekdays=["fr", "mo", "fr"], start=time(9), end=time(10))
    assert session.weekdays == ["mo", "fr"]


# 2026-11-01 is a Sunday.
SUNDAY = datetime(2026, 11, 1, 12, 0)


def test_weekly_occurrences() -> None:
    session = Session(weekdays=["tu", "th"], start=time(10), end=time(12))
    got = list(session.occurrences(SUNDAY, count=4))
    assert got == [
        datetime(2026, 11, 3, 10),
        datetime(2026, 11, 5, 10),
        datetime(2026, 11, 10, 10),
        datetime(2026, 11, 12, 10),
    ]


def test_occurrences_are_strictly_after() -> None:
    session = Session(weekdays=["mo"], start=time(10), end=time(12))
    assert next(session.occurrences(datetime(2026, 11, 2, 10, 0))) == datetime(2026, 11, 9, 10)
    assert next(session.occurrences(datetime(2026, 11, 2, 9, 59))) == datetime(2026, 11, 2, 10)


def test_fortnightly_occurrences_follow_the_anchor() -> None:
    session = Session(weekdays=["mo"], start=time(10), end=time(12), frequency="fortnightly")
    got = list(session.occurrences(SUNDAY, count=3))
    assert [d - got[0] for d in got] == [timedelta(0), timedelta(days=14), timedelta(days=28)]
    # Weeks are counted from Monday 2026-01-05: 2026-11-09 is 44 weeks later (even).
    assert got[0] == datetime(2026, 11, 9, 10)
    # The same answer whatever the starting point.
    later = list(session.occurrences(datetime(2026, 11, 10), count=2))
    assert later == got[1:]


def test_fortnightly_counts_from_valid_from() -> None:
    session = Session(
        weekdays=["mo"],
        start=time(10),
        end=time(12),
        frequency="fortnightly",
        valid_from=date(2026, 11, 2),
    )
    got = list(session.occurrences(SUNDAY, count=3))
    assert got == [
        datetime(2026, 11, 2, 10),
        datetime(2026, 11, 16, 10),
        datetime(2026, 11, 30, 10),
    ]


def test_fortnightly_never_before_valid_from() -> None:
    session = Session(
        weekdays=["mo"],
        start=time(10),
        end=time(12),
        frequency="fortnightly",
        valid_from=date(2026, 11, 4),
    )
    assert next(session.occurrences(SUNDAY)).date() >= date(2026, 11, 4)


def test_monthly_first_monday() -> None:
    session = Session(
        weekdays=["mo"], start=time(14), end=time(16), frequency="monthly", weeks_of_month=[1]
    )
    got = list(session.occurrences(SUNDAY, count=3))
    assert got == [datetime(2026, 11, 2, 14), datetime(2026, 12, 7, 14), datetime(2027, 1, 4, 14)]


def test_monthly_last_friday() -> None:
    session = Session(
        weekdays=["fr"], start=time(19), end=time(22), frequency="monthly", weeks_of_month=[-1]
    )
    got = list(session.occurrences(SUNDAY, count=2))
    assert got == [datetime(2026, 11, 27, 19), datetime(2026, 12, 25, 19)]


def test_valid_to_stops_occurrences_and_valid_from_delays_them() -> None:
    ending = Session(weekdays=["we"], start=time(18, 30), end=time(20), valid_to=date(2026, 11, 11))
    assert list(ending.occurrences(SUNDAY, count=5)) == [
        datetime(2026, 11, 4, 18, 30),
        datetime(2026, 11, 11, 18, 30),
    ]
    starting = Session(
        weekdays=["we"], start=time(18, 30), end=time(20), valid_from=date(2026, 11, 10)
    )
    assert next(starting.occurrences(SUNDAY)) == datetime(2026, 11, 11, 18, 30)


def test_rrule_is_icalendar() -> None:
    session = Session(
        weekdays=["mo"],
        start=time(10),
        end=time(12),
        frequency="monthly",
        weeks_of_month=[1],
        valid_from=date(2026, 11, 1),
    )
    text = str(session.rrule())
    assert "FREQ=MONTHLY" in text and "BYDAY=+1MO" in text


# --- round trips --------------------------------------------------------------------------------


def _full_asset() -> Asset:
    return Asset.model_validate(
        _asset(
            id="0f3c",
            organisation_id="org-1",
            kind="club",
            description="Bring your own needles; wool provided.",
            categories=["hobbies.crafts.knitting", "social"],
            connection_types=["local", "interest"],
            venue_id="venue-9",
            sessions=[
                {"weekdays": ["tu"], "start": "10:00", "end": "12:00"},
                {
                    "weekdays": ["sa"],
                    "start": "13:30",
                    "end": "15:00",
                    "frequency": "monthly",
                    "weeks_of_month": [1, -1],
                    "valid_from": "2026-01-01",
                    "notes": "craft fair",
                },
            ],
            cost={"amount": 2.5, "concessions": "free for carers"},
            accessibility={"features": ["wheelchair", "hearing_loop", "wheelchair"]},
            eligibility={"min_age": 18, "gender": "women", "groups": ["carers"]},
            languages=["en", "ur"],
            group_size=12,
            attendance="booking",
            contact={
                "name": "Amina",
                "email": "amina@example.org",
                "phone": "01274 000000",
                "url": "https://example.org/knit",
            },
            status="published",
            last_verified_at="2026-10-01T09:00:00Z",
            source="sample",
            source_id="sample-asset-1",
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-02-01T00:00:00+00:00",
            version=3,
        )
    )


def test_json_round_trip() -> None:
    asset = _full_asset()
    assert asset.accessibility.features == ["hearing_loop", "wheelchair"]
    assert Asset.model_validate_json(asset.model_dump_json()) == asset
    assert Asset.model_validate(asset.model_dump(mode="json")) == asset
    assert asset.model_dump(mode="json")["location"]["lat"] == 53.8331
    assert asset.point == (53.8331, -1.7727)


def test_organisation_round_trip() -> None:
    org = Organisation(
        name="Shipley Craft Collective",
        email="hello@example.org",
        source="sample",
        source_id="org-1",
    )
    assert Organisation.model_validate_json(org.model_dump_json()) == org
    assert len(org.id) == 32


def test_assignment_is_validated() -> None:
    asset = _full_asset()
    with pytest.raises(ValidationError):
        asset.location.lat = 123.0


def test_an_assets_parts_are_frozen_like_the_asset() -> None:
    """Stores hand one cached instance to every reader, parts included."""
    asset = _full_asset()
    parts = [asset.location, asset.sessions[0], asset.cost, asset.accessibility,
             asset.eligibility, asset.contact]  # fmt: skip
    for part in parts:
        name = next(iter(type(part).model_fields))
        with pytest.raises(ValidationError, match="frozen"):
            setattr(part, name, getattr(part, name))
    moved = asset.model_copy(update={"location": asset.location.model_copy(update={"lat": 54.0})})
    assert (moved.location.lat, asset.location.lat != 54.0) == (54.0, True)


# --- bbox ---------------------------------------------------------------------------------------


def test_bbox_parse_and_checks() -> None:
    box = BBox.parse("-2.05,53.72,-1.64,53.93")
    assert (box.west, box.south, box.east, box.north) == (-2.05, 53.72, -1.64, 53.93)
    with pytest.raises(ValidationError, match="`north`"):
        BBox(west=0, south=10, east=1, north=5)
    from geo_assets.errors import InvalidInputError

    for text in ("1,2,3", "a,b,c,d"):
        with pytest.raises(InvalidInputError) as info:
            BBox.parse(text)
        assert info.value.field == "bbox"


def _brute_next(session: Session, after: datetime) -> datetime | None:
    """Walk every occurrence from the very first one (the slow, obviously right way)."""
    from dateutil import rrule as du

    from geo_assets.model import _RRULE_DAYS, FORTNIGHT_ANCHOR

    first = session.valid_from or FORTNIGHT_ANCHOR
    if session.frequency == "fortnightly":
        first -= timedelta(days=first.weekday())
    begin = datetime.combine(first, session.start)
    days = [_RRULE_DAYS[d] for d in session.weekdays]
    if session.frequency == "monthly":
        rule = du.rrule(
            du.MONTHLY,
            dtstart=begin,
            byweekday=[d(n) for d in days for n in session.weeks_of_month or []],
        )
    else:
        rule = du.rrule(
            du.WEEKLY,
            dtstart=begin,
            byweekday=days,
            wkst=du.MO,
            interval=2 if session.frequency == "fortnightly" else 1,
        )
    floor = datetime.combine(session.valid_from, time(0)) if session.valid_from else after
    for start in rule:
        if start > after and start >= floor:
            return start
    return None


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["weekly", "fortnightly", "monthly"]),
    st.lists(st.sampled_from(["mo", "tu", "we", "th", "fr", "sa", "su"]), min_size=1, max_size=3),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 6, 1)),
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
)
def test_next_occurrence_matches_walking_from_the_start(frequency, days, valid_from, after):
    session = Session(
        weekdays=days,
        start=time(10),
        end=time(12),
        frequency=frequency,
        weeks_of_month=[1, -1] if frequency == "monthly" else None,
        valid_from=valid_from,
    )
    assert next(session.occurrences(after), None) == _brute_next(session, after)


@settings(max_examples=500, deadline=None)
@given(
    session=recurring_sessions(),
    after=st.datetimes(datetime(2025, 6, 1), datetime(2027, 6, 1)),
    count=st.integers(1, 12),
)
def test_occurrences_agree_with_the_recurrence_rule(
    session: Session, after: datetime, count: int
) -> None:
    """Starts come from date arithmetic; dateutil's rule (the iCalendar export's) is the
    oracle. Monthly: 5th weeks that some months lack, and a 4th or 5th that is also the
    last."""
    valid_from = session.valid_from
    current = after
    if valid_from is not None:
        current = max(after, datetime.combine(valid_from, time(0)) - timedelta(seconds=1))
    expected = list(session.rrule(after).xafter(current, count=count))
    assert list(session.occurrences(after, count)) == expected
