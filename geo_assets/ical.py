"""Listings' sessions as iCalendar (RFC 5545) events, for a phone's or a diary's calendar.

Sessions are clock times where the group meets, with no time zone stored (a group in
Bradford meets at 10:00 Bradford time, one in Freetown at 10:00 Freetown time), so the
events are *floating*: a calendar shows them at that clock time wherever it is, which is
what a person going along needs.

Each event starts on a real meeting, as RFC 5545 asks (a start that is not one would
count as an extra meeting), and repeats as the session does, in rules every big
calendar reads: weekly or fortnightly on given days, or monthly on one week of the month
per event (Outlook takes a single "1st" ... "4th" or "last" in a monthly rule). What no
such rule says without doubling a day, a 5th week, or a 4th or 5th week together with
the last (which can be the same day), goes in as the dated meetings of the next
``DATED_HORIZON_DAYS``.

An event's UID comes from the listing and the session's own content, so a calendar that
imports the file again updates the events it has (``SEQUENCE`` follows the listing's
version) and an edited session becomes a new one. Only public listing details go in:
never who the calendar was made for.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event

from geo_assets.model import Asset, Session

PRODUCT_ID = "-//geo-assets//community activities//EN"
DATED_HORIZON_DAYS = 365
_RULE_WEEKS = frozenset({1, 2, 3, 4, -1})
# Text a calendar must not be given raw: C0 controls other than tab and new line, DEL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Listed:
    """A listing to put in a calendar, with what the caller says about it."""

    asset: Asset
    url: str | None = None  # the listing's own page
    description: str = ""  # plain text: what it is, how to join, cost...


@dataclass(frozen=True)
class Part:
    """Some of a session's meetings, as one event: by ``rule``, or on one ``day``."""

    key: str  # tells the parts of one session apart in their UIDs
    session: Session
    rule: bool = True
    day: date | None = None


def first_start(session: Session, today: date) -> datetime | None:
    """The session's first start on or after ``today`` (None once it has ended)."""
    before_today = datetime.combine(today, time(0)) - timedelta(seconds=1)
    return next(session.occurrences(before_today), None)


def parts(session: Session, today: date) -> Iterator[Part]:
    """The events a session becomes (see the module's note)."""
    if session.frequency != "monthly":
        yield Part("w", session)
        return
    weeks = list(session.weeks_of_month or [])
    dated = [w for w in weeks if w not in _RULE_WEEKS]
    if -1 in weeks and {4, 5} & set(weeks):  # the 4th or 5th is sometimes the last
        dated += [w for w in (4, -1) if w in weeks]
    for week in weeks:
        if week not in dated:
            yield Part(f"m{week}", session.model_copy(update={"weeks_of_month": [week]}))
    if dated:
        rest = session.model_copy(update={"weeks_of_month": sorted(dated, key=weeks.index)})
        horizon = datetime.combine(today + timedelta(days=DATED_HORIZON_DAYS), time(0))
        start = datetime.combine(today, time(0)) - timedelta(seconds=1)
        for when in rest.occurrences(start, count=DATED_HORIZON_DAYS):
            if when >= horizon:
                break
            yield Part(f"d{when:%Y%m%d}", rest, rule=False, day=when.date())


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


def _clean(text: str) -> str:
    return _CONTROLS.sub("", text)


def _uid(asset: Asset, session: Session, part: Part) -> str:
    digest = hashlib.sha1(session.model_dump_json().encode(), usedforsecurity=False)
    return f"{asset.id}-{digest.hexdigest()[:10]}-{part.key}@geo-assets"


def part_event(
    listed: Listed, session: Session, part: Part, today: date, stamp: datetime
) -> Event | None:
    """The event for one part of a session (None when it meets no more)."""
    start = (
        first_start(part.session, today)
        if part.rule
        else datetime.combine(part.day or today, session.start)
    )
    if start is None:
        return None
    asset = listed.asset
    event = Event()
    event.add("uid", _uid(asset, session, part))
    event.add("sequence", asset.version)
    event.add("dtstamp", stamp)
    event.add("summary", _clean(asset.name))
    event.add("dtstart", start)
    event.add("dtend", datetime.combine(start.date(), session.end))
    if part.rule:
        event.add("rrule", recurrence(part.session))
    if place := asset.location.address_line():
        event.add("location", _clean(place))
    if not asset.location.approximate:  # an approximate point is a centre, not the door
        event.add("geo", (asset.location.lat, asset.location.lon))
    text = "\n\n".join(piece for piece in (session.notes, listed.description) if piece)
    if text:
        event.add("description", _clean(text))
    if listed.url:
        event.add("url", listed.url)
    return event


def events(listed: Listed, today: date, stamp: datetime) -> Iterator[Event]:
    for session in listed.asset.sessions:
        for part in parts(session, today):
            if (event := part_event(listed, session, part, today, stamp)) is not None:
                yield event


def calendar(
    listings: Iterable[Listed], *, name: str, today: date, now: datetime | None = None
) -> bytes:
    """An iCalendar file of every session still to come of ``listings``."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _clean(name))
    for listed in listings:
        for event in events(listed, today, stamp):
            cal.add_component(event)
    return bytes(cal.to_ical())


def sessions_to_come(assets: Sequence[Asset], today: date) -> int:
    """How many sessions of ``assets`` meet again from ``today``: 0 means an empty calendar."""
    return sum(first_start(s, today) is not None for a in assets for s in a.sessions)
