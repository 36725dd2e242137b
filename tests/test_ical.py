"""Listings' sessions as iCalendar events: every event, expanded by an independent
reader (icalendar to parse, dateutil to expand the RRULE), meets exactly when the
session does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from geo_assets.ical import Listed, calendar, first_start, sessions_to_come
from geo_assets.model import Session
from tests.factories import make_asset, recurring_sessions

TODAY = date(2026, 11, 30)  # a Monday
NOW = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)


def _events(data: bytes) -> list:
    return [c for c in Calendar.from_ical(data).walk() if c.name == "VEVENT"]


def _starts(event, count: int) -> list[datetime]:
    """The event's first ``count`` starts, as any calendar would expand them."""
    start = event.decoded("dtstart")
    rule = event["rrule"].to_ical().decode()
    expanded = rrulestr(f"RRULE:{rule}", dtstart=start)
    return list(expanded.xafter(start - timedelta(seconds=1), count=count, inc=True))


@settings(max_examples=300, deadline=None)
@given(
    session=recurring_sessions(max_span_days=400),
    today=st.dates(date(2025, 6, 1), date(2027, 6, 1)),
)
def test_an_event_meets_exactly_when_its_session_does(session: Session, today: date) -> None:
    events = _events(calendar([Listed(make_asset(sessions=[session]))], name="x", today=today))
    expected = list(session.occurrences(datetime.combine(today, time(0)) - timedelta(seconds=1), 8))
    if not expected:
        assert events == []  # a session that has ended puts nothing in the calendar
        return
    (event,) = events
    assert _starts(event, 8) == expected
    assert event.decoded("dtend") == datetime.combine(expected[0].date(), session.end)


def test_times_float_and_the_details_survive_a_calendars_escaping() -> None:
    asset = make_asset(
        name='Knit, Natter; and "Cake"',
        sessions=[Session(weekdays=["tu"], start=time(10), end=time(12), notes="Term time only")],
        location={"lat": 53.79, "lon": -1.75, "address": "1 Mill Lane, Bradford"},
    )
    data = calendar(
        [Listed(asset, url="http://x.test/listings/1", description="Bring wool.\nAll welcome.")],
        name="Knitting",
        today=TODAY,
        now=NOW,
    )
    text = data.decode()
    # Floating local times: no time zone, no UTC marker on the meeting times.
    assert "DTSTART:20261201T100000\r\n" in text and "TZID" not in text
    (event,) = _events(data)
    assert str(event["summary"]) == 'Knit, Natter; and "Cake"'
    assert str(event["location"]) == "1 Mill Lane, Bradford"
    assert str(event["description"]) == "Term time only\n\nBring wool.\nAll welcome."
    assert str(event["url"]) == "http://x.test/listings/1"
    assert event.decoded("geo") is not None
    assert str(event["uid"]) == f"{asset.id}-1@geo-assets"
    assert event.decoded("dtstamp") == NOW
    again = _events(calendar([Listed(asset)], name="Knitting", today=TODAY + timedelta(days=30)))
    assert str(again[0]["uid"]) == str(event["uid"])  # the same event, moved on, not a new one


def test_an_approximate_point_gives_no_map_position() -> None:
    asset = make_asset(
        sessions=[Session(weekdays=["we"], start=time(18), end=time(20))],
        location={"lat": 53.79, "lon": -1.75, "place": "Manningham", "precision": "area"},
    )
    (event,) = _events(calendar([Listed(asset)], name="x", today=TODAY))
    assert "geo" not in event
    assert str(event["location"]) == "Manningham"


def test_each_session_is_its_own_event_and_ended_ones_are_left_out() -> None:
    ended = Session(weekdays=["mo"], start=time(9), end=time(10), valid_to=date(2026, 1, 31))
    weekly = Session(weekdays=["mo", "th"], start=time(9), end=time(10))
    monthly = Session(
        weekdays=["sa"], start=time(14), end=time(16), frequency="monthly", weeks_of_month=[-1]
    )
    asset = make_asset(sessions=[ended, weekly, monthly])
    events = _events(calendar([Listed(asset)], name="x", today=TODAY))
    assert [str(e["uid"]) for e in events] == [
        f"{asset.id}-2@geo-assets",
        f"{asset.id}-3@geo-assets",
    ]
    assert [e.decoded("dtstart") for e in events] == [
        datetime(2026, 11, 30, 9, 0),  # today, a Monday
        datetime(2026, 12, 26, 14, 0),  # the last Saturday of December
    ]
    assert sessions_to_come([asset], TODAY) == 2
    assert first_start(ended, TODAY) is None


def test_a_listing_without_sessions_makes_an_empty_calendar() -> None:
    asset = make_asset(sessions=[])
    data = calendar([Listed(asset)], name="Nothing yet", today=TODAY)
    parsed = Calendar.from_ical(data)
    assert _events(data) == [] and str(parsed["x-wr-calname"]) == "Nothing yet"
    assert sessions_to_come([asset], TODAY) == 0
