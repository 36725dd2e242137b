"""The local clock of the places a deployment serves.

Sessions are clock times with no zone stored ("Tuesdays 10:00", where the group meets),
so "today", "the next session" and a calendar's first meeting must be read on that same
clock: the zone named by ``GEO_ASSETS_TIME_ZONE`` (an IANA name such as Europe/London,
Africa/Freetown or Asia/Kathmandu), else the server's own. Before, matching read UTC and
the pages the server's zone: a server in UTC serving England was an hour out all summer,
and the two disagreed wherever the server's zone was not UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geo_assets.errors import InvalidInputError

_zone: ZoneInfo | None = None


def time_zone(name: str) -> ZoneInfo:
    """The zone named ``name``; ``InvalidInputError`` naming the setting when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            f"`time_zone` {name!r} is not a time zone: give an IANA name such as Europe/London",
            field="time_zone",
        ) from exc


def set_time_zone(name: str | None) -> None:
    """Read local times in ``name`` from now on (None: the server's own zone)."""
    global _zone
    _zone = None if name is None else time_zone(name)


def local_now() -> datetime:
    """Now, on the local clock, without a zone (as sessions' times are)."""
    if _zone is None:
        return datetime.now()
    return datetime.now(_zone).replace(tzinfo=None)


def local_today() -> date:
    return local_now().date()


def local_time(instant: datetime) -> datetime:
    """A stored instant (UTC) on the local clock, without a zone: what people read as
    when a plan was saved, not the UTC date, which is a day out after midnight in
    Auckland and an hour out all summer in London."""
    if _zone is None:
        return instant.astimezone().replace(tzinfo=None)
    return instant.astimezone(_zone).replace(tzinfo=None)
