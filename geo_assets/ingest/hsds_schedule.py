"""HSDS 3.0 ``schedule`` objects (iCalendar terms) read back into our :class:`Session`.

What we can represent is a session that repeats on weekdays: weekly, fortnightly, or on
the nth weekday(s) of the month, between two local times, optionally bounded by dates.
Everything else is refused with a message naming the schedule field, never guessed.

=====================================  =============================================
HSDS schedule                          Session
=====================================  =============================================
``freq`` WEEKLY, ``interval`` 1 / 2    weekly / fortnightly on the ``byday`` days
``freq`` DAILY, ``interval`` 1         weekly on every day (or the ``byday`` days)
``freq`` MONTHLY, ``byday`` ``1MO,-1FR``  monthly; weekdays sharing the same weeks form
                                       one session, others become further sessions;
                                       ``byday`` with no ordinals means every such
                                       weekday, i.e. weekly
no ``freq`` but ``byday``              weekly
``opens_at`` / ``closes_at``           start / end, ``HH:MM[:SS]``; a UTC offset suffix
                                       is dropped: a time of day with no date cannot be
                                       moved across daylight saving, and UK feeds give
                                       the venue's wall-clock time
``valid_from`` / ``valid_to``          the same; ``until`` also bounds ``valid_to``
``dtstart``                            the first occurrence: becomes ``valid_from`` when
                                       it moves the start or (fortnightly) the phase; a
                                       ``dtstart`` our own export derived is dropped
``count``                              ``valid_to`` = date of the last occurrence
                                       (needs ``dtstart`` or ``valid_from``)
``description`` / ``notes``            notes (a description equal to our own plain
                                       English for the session is not repeated)
=====================================  =============================================

Refused: YEARLY/HOURLY..., intervals other than the above, ``bymonthday``, ``byweekno``,
``byyearday``, ordinals outside 1-5 and -1, missing or impossible times, overnight
sessions (``closes_at`` not after ``opens_at``), ``wkst`` other than MO on a fortnightly rule.
Opening hours of a *location* (``location.schedules``) are not sessions and are not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

from dateutil import rrule

from geo_assets.ingest.sessions import SessionTextError, parse_sessions
from geo_assets.model import FORTNIGHT_ANCHOR, WEEKDAYS, Session

_TIME_RE = re.compile(
    r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$", re.I
)
_BYDAY_RE = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_ORDINALS = frozenset({1, 2, 3, 4, 5, -1})
_REFUSED_RULE_PARTS = {
    "bymonthday": "days of the month",
    "byweekno": "week numbers",
    "byyearday": "days of the year",
}
_HOW = (
    "sessions repeat on weekdays: weekly, fortnightly (interval 2) or monthly on the nth "
    "weekday (byday like 1MO or -1FR), with opens_at and closes_at"
)

Where = Callable[[str], str]
"""Names a field of the schedule being read (a JSON path or a CSV cell) for messages."""


class ScheduleError(ValueError):
    """A schedule we cannot represent; ``field`` is the schedule field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_time(value: Any, field: str) -> time:
    """``"10:00"``, ``"10:00:00"``, ``"10:00Z"``, ``"09:00-05:00"`` -> 10:00 (wall clock)."""
    if not isinstance(value, str):
        raise ScheduleError(field, f"must be a time like 10:00, got {value!r}")
    m = _TIME_RE.match(value)
    if m is None:
        raise ScheduleError(field, f"must be a time like 10:00 or 10:00:00, got {value!r}")
    hour, minute = int(m[1]), int(m[2])
    if hour == 24 and minute == 0:
        return time(23, 59)  # "24:00" closes at the end of the day
    if hour > 23 or minute > 59:
        raise ScheduleError(field, f"is not a possible time of day: {value!r}")
    return time(hour, minute)


def parse_date(value: Any, field: str) -> date:
    """An ISO date; a date-time keeps its date part."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ScheduleError(field, f"must be a date like 2026-01-31, got {value!r}")


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ScheduleError(field, f"must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.0+)?\s*", value):
        return int(float(value))
    raise ScheduleError(field, f"must be a whole number, got {value!r}")


def _byday(value: Any) -> list[tuple[int | None, str]]:
    if not isinstance(value, str):
        raise ScheduleError("byday", f"must be text like 'MO,WE' or '1MO', got {value!r}")
    out = []
    for token in value.replace(";", ",").split(","):
        token = token.strip().upper()
        if not token:
            continue
        m = _BYDAY_RE.match(token)
        if m is None:
            raise ScheduleError(
                "byday", f"{token!r} is not a weekday like MO, TU... or 1MO, -1FR; {_HOW}"
            )
        out.append((int(m[1]) if m[1] else None, m[2].lower()))
    return out


def _day_sets(
    freq: str | None, interval: int, days: list[tuple[int | None, str]], dtstart: date | None
) -> list[dict[str, Any]]:
    """Frequency, weekdays and weeks of month of each session the rule stands for."""
    plain = [d for n, d in days if n is None]
    ordinal = [(n, d) for n, d in days if n is not None]
    if freq in (None, "WEEKLY", "DAILY"):
        if ordinal:
            raise ScheduleError("byday", f"ordinals like 1MO need freq MONTHLY; {_HOW}")
        if not plain:
            if freq == "DAILY":
                plain = list(WEEKDAYS)
            elif freq == "WEEKLY" and dtstart is not None:
                plain = [WEEKDAYS[dtstart.weekday()]]
            else:
                raise ScheduleError("byday", f"is needed to tell which days it runs; {_HOW}")
        if freq == "DAILY" and interval != 1:
            raise ScheduleError("interval", f"DAILY every {interval} days is not supported; {_HOW}")
        if interval not in (1, 2):
            raise ScheduleError(
                "interval", f"every {interval} weeks is not supported (1 or 2 only); {_HOW}"
            )
        return [{"frequency": "fortnightly" if interval == 2 else "weekly", "weekdays": plain}]
    if freq != "MONTHLY":
        raise ScheduleError("freq", f"{freq!r} is not supported (WEEKLY, MONTHLY, DAILY); {_HOW}")
    if interval != 1:
        raise ScheduleError("interval", f"every {interval} months is not supported; {_HOW}")
    if plain and ordinal:
        raise ScheduleError("byday", f"mixes every-week days and nth-weekdays; {_HOW}")
    if plain:
        return [{"frequency": "weekly", "weekdays": plain}]
    if not ordinal:
        raise ScheduleError("byday", f"a MONTHLY rule needs byday like 1MO or -1FR; {_HOW}")
    bad = sorted({n for n, _ in ordinal if n not in _ORDINALS})
    if bad:
        raise ScheduleError("byday", f"week ordinals {bad} are not supported (1-5 or -1); {_HOW}")
    weeks_by_day: dict[str, set[int]] = {}
    for n, d in ordinal:
        weeks_by_day.setdefault(d, set()).add(n)  # type: ignore[arg-type]
    days_by_weeks: dict[tuple[int, ...], list[str]] = {}
    for d in WEEKDAYS:
        if d in weeks_by_day:
            days_by_weeks.setdefault(tuple(sorted(weeks_by_day[d])), []).append(d)
    return [
        {"frequency": "monthly", "weekdays": ds, "weeks_of_month": list(weeks)}
        for weeks, ds in days_by_weeks.items()
    ]


def _first_on_or_after(session: Session, day: date) -> date | None:
    probe = datetime.combine(day, time(0)) - timedelta(seconds=1)
    nxt = next(session.occurrences(probe, 1), None)
    return nxt.date() if nxt else None


def _start_from(session: dict[str, Any], dtstart: date, interval: int) -> None:
    """Set ``valid_from`` so the session starts (and, fortnightly, is in phase) as ``dtstart`` says.

    Nothing changes when the session already has its first occurrence on ``dtstart``, which
    is what our own export writes.
    """
    valid_from: date | None = session.get("valid_from")
    fortnightly = session["frequency"] == "fortnightly"
    if valid_from is None and not fortnightly:
        session["valid_from"] = dtstart
        return
    current = Session.model_validate(session)
    if _first_on_or_after(current, valid_from or FORTNIGHT_ANCHOR) == dtstart:
        return
    if valid_from is None or dtstart > valid_from:
        session["valid_from"] = dtstart
    elif fortnightly:
        # dtstart before valid_from in the other phase: start at the rule's first date in range.
        days = [getattr(rrule, d.upper()) for d in session["weekdays"]]
        rule = rrule.rrule(
            rrule.WEEKLY,
            interval=interval,
            byweekday=days,
            wkst=rrule.MO,
            dtstart=datetime.combine(dtstart, time(0)),
        )
        first = rule.after(datetime.combine(valid_from, time(0)), inc=True)
        session["valid_from"] = first.date() if first else valid_from


def schedule_sessions(sched: Mapping[str, Any]) -> list[Session]:
    """The sessions one HSDS schedule stands for; raises :class:`ScheduleError`."""
    get = sched.get
    for key, what in _REFUSED_RULE_PARTS.items():
        if not _blank(get(key)):
            raise ScheduleError(key, f"repeating on {what} ({get(key)!r}) is not supported; {_HOW}")
    for key in ("opens_at", "closes_at"):
        if _blank(get(key)):
            raise ScheduleError(key, f"is missing; {_HOW}")
    start = parse_time(get("opens_at"), "opens_at")
    end = parse_time(get("closes_at"), "closes_at")
    if end <= start:
        raise ScheduleError(
            "closes_at",
            f"{end:%H:%M} is not after opens_at {start:%H:%M} (overnight sessions are not "
            "supported: split them at midnight)",
        )
    freq = None if _blank(get("freq")) else str(get("freq")).strip().upper()
    interval = 1 if _blank(get("interval")) else _int(get("interval"), "interval")
    if interval < 1:
        raise ScheduleError("interval", f"must be 1 or more, got {interval}")
    days = [] if _blank(get("byday")) else _byday(get("byday"))
    if not freq and not days:
        raise ScheduleError("freq", f"a schedule needs freq and/or byday; {_HOW}")
    wkst = get("wkst")
    if interval == 2 and not _blank(wkst) and str(wkst).strip().upper() != "MO":
        raise ScheduleError("wkst", f"fortnights are counted from Monday (wkst MO), not {wkst!r}")
    dates = {
        key: parse_date(get(key), key)
        for key in ("valid_from", "valid_to", "dtstart", "until")
        if not _blank(get(key))
    }
    valid_to = min((d for k, d in dates.items() if k in ("valid_to", "until")), default=None)
    notes = None if _blank(get("notes")) else str(get("notes")).strip()
    description = None if _blank(get("description")) else str(get("description")).strip()
    count = None if _blank(get("count")) else _int(get("count"), "count")
    out = []
    for shape in _day_sets(freq, interval, days, dates.get("dtstart")):
        session: dict[str, Any] = {
            **shape,
            "start": start,
            "end": end,
            "valid_from": dates.get("valid_from"),
            "valid_to": valid_to,
        }
        if "dtstart" in dates:
            _start_from(session, dates["dtstart"], interval)
        if (
            session["valid_to"]
            and session["valid_from"]
            and session["valid_to"] < session["valid_from"]
        ):
            raise ScheduleError("valid_to", "is before the first occurrence (valid_from/dtstart)")
        built = Session.model_validate(session)
        if count is not None:
            built = _bounded_by_count(built, count)
        text = description if description and not _restates(description, built) else None
        joined = " ".join(p for p in (text, notes) if p) or None
        out.append(built.model_copy(update={"notes": joined}) if joined else built)
    return out


def _bounded_by_count(session: Session, count: int) -> Session:
    if session.valid_from is None:
        raise ScheduleError("count", "needs dtstart or valid_from to know where counting starts")
    if count < 1:
        raise ScheduleError("count", f"must be 1 or more, got {count}")
    probe = datetime.combine(session.valid_from, time(0)) - timedelta(seconds=1)
    last = list(islice(session.occurrences(probe, count), count))
    if not last:
        raise ScheduleError("count", "no occurrence falls inside valid_from..valid_to")
    end = last[-1].date()
    valid_to = min(end, session.valid_to) if session.valid_to else end
    return session.model_copy(update={"valid_to": valid_to})


_SAID = ("weekdays", "start", "end", "frequency", "weeks_of_month")


def _restates(description: str, session: Session) -> bool:
    """Whether a schedule's description only says what its fields do (our own export's
    "Monday to Friday 09:00-17:00", or an older export's "Mondays and Tuesdays and
    Wednesdays ..."): kept as a note, it would repeat the times beside them."""
    if description == session.describe():
        return True
    try:
        said = parse_sessions(description)
    except SessionTextError:
        return False
    return len(said) == 1 and all(getattr(said[0], k) == getattr(session, k) for k in _SAID)
