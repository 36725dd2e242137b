"""Session times written the way people write them, read into :class:`Session` objects.

Understood (case-insensitive; several sessions separated by ``;``, but for one in a note):

===============================================  ======================================
Text                                             Session
===============================================  ======================================
``Tuesdays 10-12``, ``Tue 10am-12pm``            weekly Tuesday 10:00-12:00
``every Tuesday 10:00 to 12:00``, ``10 till 12``  ``to``, ``till``, ``until``, ``-`` all work
``Mon, Wed & Fri 9.30-11``, ``Mon-Fri 9-5``       several days, a day range
``weekdays``, ``weekends``, ``daily``              Mon-Fri, Sat+Sun, every day
``1st Monday of the month 7pm-9pm``              monthly, weeks_of_month [1]
``first and third Wednesday 2-4pm``              monthly, weeks_of_month [1, 3]
``last Friday of the month 19:30-21:30``          monthly, weeks_of_month [-1]
``fortnightly Thu 2-4pm``, ``every other Monday``  fortnightly (counted from ``from DATE``
                                                 when given, else ``FORTNIGHT_ANCHOR``)
``... from 2026-03-02``, ``... until 2026-07-31``  valid_from / valid_to (ISO dates)
``Tuesdays 10-12 (term time only)``               the bracketed text becomes ``notes``
``Mon 10-12, Wed 2-4pm``                         two sessions (each range ends one)
===============================================  ======================================

Hours: ``am``/``pm`` on either end is carried to the other when that gives a start before
the end (``12-2pm`` is noon to 2pm, ``10-2pm`` is 10am to 2pm); ``noon``/``midday`` are
12pm. With no am/pm, a 24-hour time (``14:00``, ``09:30``) is taken as written; words
such as ``evening``/``afternoon`` make bare hours pm, ``morning`` am; otherwise bare
hours 1-6 are afternoon (community sessions rarely start at 3am), 8-12 are morning, and
an end at or before the start moves to the afternoon (``9-5`` is 09:00-17:00).

Refused, with a message that says how to write it instead: no day (``10-12``), no hours
(``Tuesdays``), no end time (``fortnightly Thu 2pm``: we do not guess how long a
session lasts), ``7-9`` with no am/pm or part of day, impossible times (``25:00``),
sessions past midnight, ``biweekly`` and ``monthly`` without saying which week, and any
word not understood (``sometimes``).
"""

from __future__ import annotations

import re
from datetime import date, time

from pydantic import ValidationError

from geo_assets.errors import InvalidInputError, error_message
from geo_assets.model import WEEKDAYS, Session

HOW_TO = (
    "write the day(s) then the start and end time, e.g. 'Tuesdays 10:00-12:00', "
    "'Mon, Wed & Fri 9.30am-11am', '1st Monday of the month 7pm-9pm', "
    "'every other Thursday 2pm-4pm'; separate several sessions with ';'"
)

_DAYS: dict[str, str] = {}
for _code, _names in zip(
    WEEKDAYS,
    (
        "mon monday mondays mo",
        "tue tues tuesday tuesdays tu",
        "wed weds wednesday wednesdays we",
        "thu thur thurs thursday thursdays th",
        "fri friday fridays fr",
        "sat saturday saturdays sa",
        "sun sunday sundays su",
    ),
    strict=True,
):
    for _name in _names.split():
        _DAYS[_name] = _code
_DAY_GROUPS = {
    "weekdays": WEEKDAYS[:5],
    "weekday": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
    "weekend": WEEKDAYS[5:],
    "daily": WEEKDAYS,
    "everyday": WEEKDAYS,
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
}  # fmt: skip
_PM_WORDS = frozenset({"afternoon", "afternoons", "evening", "evenings", "night", "nights", "pm"})
_AM_WORDS = frozenset({"morning", "mornings", "am"})
# Words that add nothing once days, weeks and hours are known.
_FILLER = frozenset(
    (
        "every", "each", "on", "the", "of", "a", "at", "in", "from", "between", "and",
        "month", "months", "monthly", "week", "weekly", "only", "s", ",", "&", "/", "+",
        "sessions", "session",
    )
)  # fmt: skip
_RANGE_WORDS = frozenset({"-", "to", "till", "til", "until", "through", "thru"})

_T = r"(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?|noon|midday)"
_RANGE_RE = re.compile(
    rf"(?<![\w:.])(?:between\s+)?(?P<a>{_T})\s*(?:-|to|till|til|until|and)\s*(?P<b>{_T})(?![\w:])"
)
_SINGLE_RE = re.compile(rf"(?<![\w:.-])(?P<a>{_T})(?![\w:])")
_TIME_RE = re.compile(r"^(?:(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?|(noon|midday))$")
_DATE_RE = re.compile(r"\b(from|starting|start|until|till|to|ending|end)\s+(\d{4}-\d{2}-\d{2})\b")


class SessionTextError(InvalidInputError):
    """Session text we cannot read without guessing; the message says how to write it."""

    def __init__(self, text: str, problem: str) -> None:
        super().__init__(f"{text!r}: {problem}; {HOW_TO}", field="sessions")
        self.text = text
        self.problem = problem


def parse_sessions(text: str) -> list[Session]:
    """All sessions in ``text``: parts separated by ``;`` or new lines, each by
    :func:`parse_session_part`. Empty text gives no sessions."""
    out: list[Session] = []
    for part in _parts(text or ""):
        if part.strip():
            out.extend(parse_session_part(part))
    return out


def _parts(text: str) -> list[str]:
    """``text`` split at ``;`` and new lines, but not inside a bracketed note: a note is
    exported as written ("(bring a plate; tea provided)") and must read back whole. A
    bracket is a note's, as in :func:`parse_session_part`, when a ``)`` follows it."""
    parts, start, in_note = [], 0, False
    last_close = text.rfind(")")
    for i, char in enumerate(text):
        if in_note:
            in_note = char != ")"
        elif char == "(" and i < last_close:
            in_note = True
        elif char in ";\n":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_session(text: str) -> Session:
    """Exactly one session; raises :class:`SessionTextError` otherwise."""
    sessions = parse_sessions(text)
    if len(sessions) != 1:
        raise SessionTextError(text, f"expected one session, found {len(sessions)}")
    return sessions[0]


def parse_session_part(text: str) -> list[Session]:
    """One piece with no ``;`` outside its notes; several time ranges give several
    sessions (days carry over)."""
    original = text.strip()
    notes = " ".join(n.strip() for n in re.findall(r"\(([^)]*)\)", original)) or None
    body = re.sub(r"\([^)]*\)", " ", original).casefold()
    body = _normalise(body, original)
    valid_from, valid_to, body = _dates(body, original)
    ranges = list(_RANGE_RE.finditer(body))
    if not ranges:
        single = _SINGLE_RE.search(body)
        if single and _looks_like_time(single["a"]):
            _clock(single["a"], original)  # an impossible time says so first
            raise SessionTextError(
                original,
                f"{single['a'].strip()!r} has no end time (we do not guess how long a session "
                "lasts): give both, e.g. '2pm-4pm'",
            )
        raise SessionTextError(original, "no hours given")
    sessions: list[Session] = []
    days: list[str] = []
    words_before = body[: ranges[0].start()]
    for i, match in enumerate(ranges):
        after = body[match.end() : ranges[i + 1].start() if i + 1 < len(ranges) else len(body)]
        # Words between ranges belong to the next session unless this is the last range.
        words = words_before + " " + (after if i + 1 == len(ranges) else "")
        spec = _DaySpec.parse(words, original)
        if spec.days:
            days = spec.days
        elif not days:
            raise SessionTextError(original, "no day given: say which day(s) it runs")
        start, end = _hours(match["a"], match["b"], spec.hint, original)
        sessions.append(_session(original, days, start, end, spec, notes, valid_from, valid_to))
        words_before = after
    return sessions


def _normalise(body: str, original: str) -> str:
    body = body.replace("\u2013", "-").replace("\u2014", "-").replace("\u2012", "-")
    body = re.sub(r"\ba\.m\.?", "am", body)
    body = re.sub(r"\bp\.m\.?", "pm", body)
    body = re.sub(r"\b12\s*(noon|midday)\b", "noon", body)
    body = re.sub(r"\b(\d)\s*o'?\s*clock\b", r"\1", body)
    if "midnight" in body:
        raise SessionTextError(original, "sessions must end by 23:59 on the same day")
    return body


def _dates(body: str, original: str) -> tuple[date | None, date | None, str]:
    valid_from = valid_to = None
    for word, value in _DATE_RE.findall(body):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise SessionTextError(original, f"{value!r} is not a date") from exc
        if word in ("from", "starting", "start"):
            valid_from = day
        else:
            valid_to = day
    return valid_from, valid_to, _DATE_RE.sub(" ", body)


def _looks_like_time(token: str) -> bool:
    token = token.strip()
    return bool(re.search(r"am|pm|noon|midday|[:.]", token)) or token.isdigit()


class _DaySpec:
    """The non-time words of a session: days, weeks of the month, frequency, am/pm hint."""

    def __init__(self) -> None:
        self.days: list[str] = []
        self.weeks: list[int] = []
        self.fortnightly = False
        self.monthly_word = False
        self.hint: str | None = None

    @classmethod
    def parse(cls, words: str, original: str) -> _DaySpec:
        spec = cls()
        tokens = re.findall(r"[a-z0-9]+|[,&/+-]", words)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if tok in ("every", "each") and nxt in ("other", "second", "alternate"):
                spec.fortnightly = True
                i += 2
                continue
            if tok == "every" and nxt in ("2", "two") and tokens[i + 2 : i + 3] == ["weeks"]:
                spec.fortnightly = True
                i += 3
                continue
            if tok in ("fortnightly", "alternate", "fortnight"):
                spec.fortnightly = True
            elif tok == "biweekly" or tok == "bi":
                raise SessionTextError(
                    original,
                    "'biweekly' can mean twice a week or every two weeks; write "
                    "'fortnightly' or name both days",
                )
            elif tok in _DAYS:
                day = _DAYS[tok]
                if nxt in _RANGE_WORDS and tokens[i + 2 : i + 3] and tokens[i + 2] in _DAYS:
                    spec.days.extend(_day_range(day, _DAYS[tokens[i + 2]]))
                    i += 3
                    continue
                spec.days.append(day)
            elif tok in _DAY_GROUPS:
                spec.days.extend(_DAY_GROUPS[tok])
            elif tok == "every" and nxt == "day":
                spec.days.extend(WEEKDAYS)
                i += 2
                continue
            elif tok in _ORDINALS:
                spec.weeks.append(_ORDINALS[tok])
            elif tok in _PM_WORDS or tok in _AM_WORDS:
                hint = "pm" if tok in _PM_WORDS else "am"
                if spec.hint not in (None, hint):
                    raise SessionTextError(original, "both morning and afternoon/evening given")
                spec.hint = hint
            elif tok in ("monthly", "month", "months"):
                spec.monthly_word = True
            elif tok in _FILLER:
                pass
            else:
                raise SessionTextError(original, f"did not understand {tok!r}")
            i += 1
        return spec


def _day_range(first: str, last: str) -> list[str]:
    i, j = WEEKDAYS.index(first), WEEKDAYS.index(last)
    return list(WEEKDAYS[i : j + 1] if i <= j else WEEKDAYS[i:] + WEEKDAYS[: j + 1])


def _clock(token: str, original: str) -> tuple[int, int, str | None, bool]:
    """(hour, minute, meridiem, twenty_four_hour) of one time as written."""
    m = _TIME_RE.match(token.strip())
    if m is None:
        raise SessionTextError(original, f"{token.strip()!r} is not a time")
    if m[4]:
        return 12, 0, "pm", False
    hour, minute, meridiem = int(m[1]), int(m[2] or 0), m[3]
    if minute > 59:
        raise SessionTextError(original, f"{token.strip()!r} is not a time of day")
    if meridiem and not 1 <= hour <= 12:
        raise SessionTextError(original, f"{token.strip()!r}: with am/pm the hour must be 1-12")
    if hour > 23:
        raise SessionTextError(original, f"{token.strip()!r} is not a time of day (hours run 0-23)")
    twenty_four = hour >= 13 or hour == 0 or (len(m[1]) == 2 and m[1].startswith("0"))
    return hour, minute, meridiem, twenty_four


def _to_24(hour: int, meridiem: str) -> int:
    if meridiem == "am":
        return 0 if hour == 12 else hour
    return hour if hour == 12 else hour + 12


def _hours(a: str, b: str, hint: str | None, original: str) -> tuple[time, time]:
    """Start and end as 24-hour times, completing am/pm as described in the module doc."""
    h1, m1, mer1, clock1 = _clock(a, original)
    h2, m2, mer2, clock2 = _clock(b, original)
    if mer1 and mer2:
        s, e = _to_24(h1, mer1), _to_24(h2, mer2)
    elif mer2 and not clock1:  # "7-9pm", "12-2pm", "10-2pm"
        e = _to_24(h2, mer2)
        s = _to_24(h1, mer2)
        if s * 60 + m1 >= e * 60 + m2:
            s = _to_24(h1, "am" if mer2 == "pm" else "pm")
    elif mer1 and not clock2:  # "2pm-4", "11am-1"
        s = _to_24(h1, mer1)
        e = _later(s, m1, h2, m2)
    elif clock1 or clock2 or mer1 or mer2:  # 24-hour clock as written
        s = _to_24(h1, mer1) if mer1 else h1
        e = _to_24(h2, mer2) if mer2 else h2
        if not clock2 and not mer2 and e * 60 + m2 <= s * 60 + m1:
            e = _later(s, m1, h2, m2)
    else:
        if hint:
            s = _to_24(h1, hint) if h1 <= 12 else h1
        elif 1 <= h1 <= 6:
            s = h1 + 12
        elif h1 == 7:
            raise SessionTextError(
                original, f"'{a.strip()}' could be morning or evening: add am or pm"
            )
        else:
            s = h1
        e = _later(s, m1, h2, m2)
    start, end = time(s, m1), time(e, m2)
    if end <= start:
        raise SessionTextError(
            original,
            f"the end ({end:%H:%M}) must be after the start ({start:%H:%M}) on the same day",
        )
    return start, end


def _later(s: int, m1: int, h2: int, m2: int) -> int:
    """The end hour: as written, or 12 hours on when that is needed to end after the start."""
    if h2 * 60 + m2 > s * 60 + m1:
        return h2
    if h2 < 12 and (h2 + 12) * 60 + m2 > s * 60 + m1:
        return h2 + 12
    return h2


def _session(
    original: str,
    days: list[str],
    start: time,
    end: time,
    spec: _DaySpec,
    notes: str | None,
    valid_from: date | None,
    valid_to: date | None,
) -> Session:
    if spec.weeks and spec.fortnightly:
        raise SessionTextError(
            original, "say either which weeks of the month or fortnightly, not both"
        )
    if spec.monthly_word and not spec.weeks:
        raise SessionTextError(original, "monthly: say which week, e.g. '1st Tuesday of the month'")
    if spec.weeks:
        frequency = "monthly"
    elif spec.fortnightly:
        frequency = "fortnightly"
    else:
        frequency = "weekly"
    try:
        return Session(
            weekdays=days,  # type: ignore[arg-type]
            start=start,
            end=end,
            frequency=frequency,  # type: ignore[arg-type]
            weeks_of_month=spec.weeks or None,
            valid_from=valid_from,
            valid_to=valid_to,
            notes=notes,
        )
    except ValidationError as exc:
        raise SessionTextError(original, error_message(exc.errors()[0])) from exc


def format_session(session: Session) -> str:
    """Text that :func:`parse_sessions` reads back to the same session (for exports)."""
    text = session.describe()
    if session.valid_from:
        text += f" from {session.valid_from.isoformat()}"
    if session.valid_to:
        text += f" until {session.valid_to.isoformat()}"
    if session.notes:
        text += f" ({session.notes.replace('(', '[').replace(')', ']')})"
    return text


def format_sessions(sessions: list[Session]) -> str:
    return "; ".join(format_session(s) for s in sessions)
