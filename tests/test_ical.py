"""Listings' sessions as iCalendar events: every event, expanded by an independent
reader (icalendar to parse, dateutil to expand the RRULE), meets exactly when the
session does."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from geo_assets.ical import (
    DATED_HORIZON_DAYS,
    Listed,
    calendar,
    first_start,
    sessions_to_come,
)
from geo_assets.model import Session
from tests.factories import make_asset, recurring_sessions

TODAY = date(2026, 11, 30)  # a Monday
NOW = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)


def _events(data: bytes) -> list:
    return [c for c in Calendar.from_ical(data).walk() if c.name == "VEVENT"]


def _starts_before(data: bytes, until: datetime) -> list[datetime]:
    """Every start the file's events give before ``until``, as any calendar would expand
    them (icalendar to read, dateutil for the rules)."""
    starts = []
    for event in _events(data):
        start = event.decoded("dtstart")
        if "rrule" not in event:
            starts.append(start)
            continue
        rule = rrulestr(f"RRULE:{event['rrule'].to_ical().decode()}", dtstart=start)
        starts += rule.between(start, until, inc=True)
    return sorted(s for s in starts if s < until)


@settings(max_examples=300, deadline=None)
@given(
    session=recurring_sessions(max_span_days=400),
    today=st.dates(date(2025, 6, 1), date(2027, 6, 1)),
)
def test_the_events_meet_exactly_when_their_session_does(session: Session, today: date) -> None:
    """Over the next year: on every day and at every time the session meets, and no
    other; in rules every calendar reads (one week of the month a monthly rule); each
    event its own UID."""
    data = calendar([Listed(make_asset(sessions=[session]))], name="x", today=today)
    until = datetime.combine(today + timedelta(days=DATED_HORIZON_DAYS), time(0))
    before_today = datetime.combine(today, time(0)) - timedelta(seconds=1)
    expected = [w for w in session.occurrences(before_today, 800) if w < until]
    assert _starts_before(data, until) == expected
    found = _events(data)
    assert len({str(e["uid"]) for e in found}) == len(found)
    for event in found:
        start = event.decoded("dtstart")
        assert event.decoded("dtend") == datetime.combine(start.date(), session.end)
        if "rrule" in event and event["rrule"]["FREQ"] == ["MONTHLY"]:
            ordinals = {re.match(r"-?\d+", day).group() for day in event["rrule"]["BYDAY"]}
            assert len(ordinals) == 1 and ordinals <= {"1", "2", "3", "4", "-1"}


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
    assert re.fullmatch(rf"{asset.id}-[0-9a-f]{{10}}-w@geo-assets", str(event["uid"]))
    assert event.decoded("sequence") == asset.version and event.decoded("dtstamp") == NOW
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
    uids = [str(e["uid"]) for e in events]
    assert uids[0].endswith("-w@geo-assets") and uids[1].endswith("-m-1@geo-assets")
    assert [e.decoded("dtstart") for e in events] == [
        datetime(2026, 11, 30, 9, 0),  # today, a Monday
        datetime(2026, 12, 26, 14, 0),  # the last Saturday of December
    ]
    assert sessions_to_come([asset], TODAY) == 2
    assert first_start(ended, TODAY) is None


def test_an_event_keeps_its_uid_when_another_session_goes() -> None:
    """UIDs follow a session's content, not its place in the list: removing the first
    session leaves the second's event as it was, for a calendar re-importing the file."""
    first = Session(weekdays=["mo"], start=time(9), end=time(10))
    second = Session(weekdays=["th"], start=time(18), end=time(19))
    both = make_asset(sessions=[first, second])
    later = both.model_copy(update={"sessions": [second]})
    uids = {str(e["uid"]) for e in _events(calendar([Listed(both)], name="x", today=TODAY))}
    (kept,) = _events(calendar([Listed(later)], name="x", today=TODAY))
    assert str(kept["uid"]) in uids and len(uids) == 2


def test_monthly_meetings_no_rule_says_plainly_are_dated() -> None:
    """ "1st and 3rd Tuesday" is two rules, one a week of the month; "4th and last
    Saturday" (sometimes one day) and "5th Wednesday" are the meetings of the next year."""
    two = Session(
        weekdays=["tu"], start=time(10), end=time(11), frequency="monthly", weeks_of_month=[1, 3]
    )
    overlapping = Session(
        weekdays=["sa"], start=time(10), end=time(11), frequency="monthly", weeks_of_month=[4, -1]
    )
    fifth = Session(
        weekdays=["we"], start=time(10), end=time(11), frequency="monthly", weeks_of_month=[5]
    )
    found = _events(calendar([Listed(make_asset(sessions=[two]))], name="x", today=TODAY))
    assert sorted(e["rrule"].to_ical().decode() for e in found) == [
        "FREQ=MONTHLY;BYDAY=1TU",
        "FREQ=MONTHLY;BYDAY=3TU",
    ]
    dated = _events(calendar([Listed(make_asset(sessions=[overlapping]))], name="x", today=TODAY))
    assert all("rrule" not in e for e in dated)
    days = [e.decoded("dtstart").date() for e in dated]
    assert len(days) == len(set(days))  # a 4th that is also the last is there once
    assert date(2027, 1, 30) in days  # the last Saturday, and the 5th: once
    assert date(2027, 1, 23) in days  # the 4th
    fifths = _events(calendar([Listed(make_asset(sessions=[fifth]))], name="x", today=TODAY))
    assert [e.decoded("dtstart").date() for e in fifths][:2] == [
        date(2026, 12, 30),
        date(2027, 3, 31),
    ]


def test_control_characters_are_left_out_of_the_text() -> None:
    asset = make_asset(
        name="Knit\x0band natter",
        sessions=[Session(weekdays=["tu"], start=time(10), end=time(12), notes="Bring\x07 wool")],
    )
    data = calendar([Listed(asset, description="Tea\x1b and cake")], name="x", today=TODAY)
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data)
    (event,) = _events(data)
    assert str(event["summary"]) == "Knitand natter"
    assert str(event["description"]) == "Bring wool\n\nTea and cake"
    assert b"METHOD:PUBLISH" in data


def test_a_listing_without_sessions_makes_an_empty_calendar() -> None:
    asset = make_asset(sessions=[])
    data = calendar([Listed(asset)], name="Nothing yet", today=TODAY)
    parsed = Calendar.from_ical(data)
    assert _events(data) == [] and str(parsed["x-wr-calname"]) == "Nothing yet"
    assert sessions_to_come([asset], TODAY) == 0
