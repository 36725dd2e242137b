"""Listings' sessions as iCalendar (RFC 5545) events, for a phone's or a diary's calendar.

One event per session, repeating as the session does (weekly, fortnightly, or on given
weeks of the month, until ``valid_to``). Sessions are clock times where the group
meets, with no time zone stored (a group in Bradford meets at 10:00 Bradford time, one
in Freetown at 10:00 Freetown time), so the events are *floating*: a calendar shows them
at that clock time wherever it is, which is what a person going along needs.

Each event starts on the session's first meeting from the given day on, as RFC 5545
asks (a start that is not itself a meeting would count as an extra one). Only public
listing details go in: never who the calendar was made for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event

from geo_assets.model import Asset, Session

PRODUCT_ID = "-//geo-assets//community activities//EN"


@dataclass(frozen=True)
class Listed:
    """A listing to put in a calendar, with what the caller says about it."""

    asset: Asset
    url: str | None = None  # the listing's own page
    description: str = ""  # plain text: what it is, how to join, cost...


def first_start(session: Session, today: date) -> datetime | None:
    """The session's first start on or after ``today`` (None once it has ended)."""
    before_today = datetime.combine(today, time(0)) - timedelta(seconds=1)
    return next(session.occurrences(before_today), None)


def recurrence(session: Session) -> dict[str, object]:
    """The session's repetition as an RRULE (for an event starting at a meeting)."""
    days = [d.upper() for d in session.weekdays]
    rule: dict[str, object]
    if session.frequency == "monthly":
        assert session.weeks_of_month is not None
        rule = {
            "freq": "monthly",
            "byday": [f"{n}{d}" for d in days for n in session.weeks_of_month],
        }
    else:
        rule = {"freq": "weekly", "byday": days, "wkst": "MO"}
        if session.frequency == "fortnightly":
            rule["interval"] = 2
    if session.valid_to is not None:
        rule["until"] = datetime.combine(session.valid_to, session.start)
    return rule


def session_event(
    listed: Listed, number: int, session: Session, today: date, stamp: datetime
) -> Event | None:
    """The event for one of a listing's sessions (None when it meets no more)."""
    start = first_start(session, today)
    if start is None:
        return None
    asset = listed.asset
    event = Event()
    # Stable across downloads, so a calendar that imports it twice updates one event.
    event.add("uid", f"{asset.id}-{number}@geo-assets")
    event.add("dtstamp", stamp)
    event.add("summary", asset.name)
    event.add("dtstart", start)
    event.add("dtend", datetime.combine(start.date(), session.end))
    event.add("rrule", recurrence(session))
    if place := asset.location.address_line():
        event.add("location", place)
    if not asset.location.approximate:  # an approximate point is a town's centre, not the door
        event.add("geo", (asset.location.lat, asset.location.lon))
    text = "\n\n".join(part for part in (session.notes, listed.description) if part)
    if text:
        event.add("description", text)
    if listed.url:
        event.add("url", listed.url)
    return event


def calendar(
    listings: Iterable[Listed], *, name: str, today: date, now: datetime | None = None
) -> bytes:
    """An iCalendar file of every session still to come of ``listings``."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for listed in listings:
        for number, session in enumerate(listed.asset.sessions, start=1):
            if (event := session_event(listed, number, session, today, stamp)) is not None:
                cal.add_component(event)
    return bytes(cal.to_ical())


def sessions_to_come(assets: Sequence[Asset], today: date) -> int:
    """How many sessions of ``assets`` meet again from ``today``: 0 means an empty calendar."""
    return sum(first_start(s, today) is not None for a in assets for s in a.sessions)
