"""The local clock sessions are read on (geo_assets.clock): the configured zone, else the
server's; matching, pages and calendars all read it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from geo_assets import clock
from geo_assets.errors import InvalidInputError
from geo_assets.matching import match
from geo_assets.model import Profile, Session
from geo_assets.settings import Settings
from geo_assets.store import Store
from tests.factories import make_asset


@pytest.fixture
def zone() -> Iterator[None]:
    yield
    clock.set_time_zone(None)


def _close(a: datetime, b: datetime) -> bool:
    return abs(a - b) < timedelta(seconds=5)


def test_the_local_clock_is_the_configured_zone_else_the_servers(zone: None) -> None:
    assert _close(clock.local_now(), datetime.now())
    for name in ("Asia/Kathmandu", "Pacific/Kiritimati", "America/Adak"):
        clock.set_time_zone(name)
        expected = datetime.now(ZoneInfo(name)).replace(tzinfo=None)
        assert clock.local_now().tzinfo is None and _close(clock.local_now(), expected)
        assert clock.local_today() in (expected.date(), datetime.now(ZoneInfo(name)).date())
    clock.set_time_zone(None)
    assert _close(clock.local_now(), datetime.now())


def test_an_unknown_zone_is_named(zone: None) -> None:
    with pytest.raises(InvalidInputError) as info:
        clock.set_time_zone("Mars/Olympus_Mons")
    assert info.value.field == "time_zone"
    with pytest.raises(ValidationError, match="time_zone"):
        Settings(time_zone="Europe/Londn")
    assert Settings(time_zone="Africa/Freetown").time_zone == "Africa/Freetown"


def test_matching_reads_sessions_on_the_local_clock(sqlite_store: Store, zone: None) -> None:
    """Kathmandu is UTC+05:45. A group meeting every day at a local hour two or three hours
    ago has met today there, though that hour is still to come in UTC: its next meeting is
    tomorrow's, not today's."""
    clock.set_time_zone("Asia/Kathmandu")
    local = clock.local_now()
    start = (local - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    every_day = ["mo", "tu", "we", "th", "fr", "sa", "su"]
    asset = make_asset(
        sessions=[Session(weekdays=every_day, start=start.time(), end=time(start.hour, 59))]
    )
    sqlite_store.create_asset(asset)
    profile = Profile.model_validate(
        {
            "origin": {"lat": asset.location.lat, "lon": asset.location.lon},
            "interests": [],
            "travel": [{"mode": "walk", "max_minutes": 20}],
        }
    )
    (found,) = match(sqlite_store, profile, limit=5)
    assert found.next_session == start + timedelta(days=1)
    on_utc = datetime.now(UTC).replace(tzinfo=None)
    (as_if_utc,) = match(sqlite_store, profile, limit=5, now=on_utc)
    assert as_if_utc.next_session == start  # what reading UTC used to say
