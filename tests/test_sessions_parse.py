"""Session text as people write it -> Session objects (table test), and refusals."""

from __future__ import annotations

from datetime import date, time
from itertools import combinations

import pytest
from factories import recurring_sessions
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_assets.ingest.sessions import (
    SessionTextError,
    format_sessions,
    parse_session,
    parse_sessions,
)
from geo_assets.model import WEEKDAYS, Session

MON_FRI = ["mo", "tu", "we", "th", "fr"]

# text, weekdays, start, end, frequency, weeks_of_month
CASES: list[tuple[str, list[str], str, str, str, list[int] | None]] = [
    ("Tuesdays 10-12", ["tu"], "10:00", "12:00", "weekly", None),
    ("Tue 10am-12pm", ["tu"], "10:00", "12:00", "weekly", None),
    ("every Tuesday 10:00 to 12:00", ["tu"], "10:00", "12:00", "weekly", None),
    ("1st Monday of the month 7pm-9pm", ["mo"], "19:00", "21:00", "monthly", [1]),
    ("first and third Wednesday 2-4pm", ["we"], "14:00", "16:00", "monthly", [1, 3]),
    ("last Friday of the month 19:30-21:30", ["fr"], "19:30", "21:30", "monthly", [-1]),
    ("fortnightly Thu 2pm-4pm", ["th"], "14:00", "16:00", "fortnightly", None),
    ("Mon, Wed & Fri 9.30-11", ["mo", "we", "fr"], "09:30", "11:00", "weekly", None),
    ("weekdays 9-5", MON_FRI, "09:00", "17:00", "weekly", None),
    ("Saturdays 10am - 1pm", ["sa"], "10:00", "13:00", "weekly", None),
    ("Sun 14:00-16:00", ["su"], "14:00", "16:00", "weekly", None),
    ("Thursday evenings 7-9", ["th"], "19:00", "21:00", "weekly", None),
    ("every other Monday 6-8pm", ["mo"], "18:00", "20:00", "fortnightly", None),
    ("Fridays 12-2pm", ["fr"], "12:00", "14:00", "weekly", None),
    ("Wednesdays 10 till 12", ["we"], "10:00", "12:00", "weekly", None),
    ("Mon 10.30am-12.00", ["mo"], "10:30", "12:00", "weekly", None),
    ("Mon-Fri 9am-5pm", MON_FRI, "09:00", "17:00", "weekly", None),
    ("Monday to Friday 08:30-17:30", MON_FRI, "08:30", "17:30", "weekly", None),
    ("2nd & 4th Tuesday 10-2pm", ["tu"], "10:00", "14:00", "monthly", [2, 4]),
    ("Tuesday mornings 9-11", ["tu"], "09:00", "11:00", "weekly", None),
    ("Sat afternoon 2-4", ["sa"], "14:00", "16:00", "weekly", None),
    ("every second Thursday 1-3pm", ["th"], "13:00", "15:00", "fortnightly", None),
    ("Tues 11am-1", ["tu"], "11:00", "13:00", "weekly", None),
    ("weekends 10:00 until 16:00", ["sa", "su"], "10:00", "16:00", "weekly", None),
    ("Thurs 7.30pm-9.30pm", ["th"], "19:30", "21:30", "weekly", None),
    ("on Wednesdays from 1 to 3", ["we"], "13:00", "15:00", "weekly", None),
    ("every 2 weeks on Friday 10-11:30", ["fr"], "10:00", "11:30", "fortnightly", None),
    ("Monday 12 noon - 1.30pm", ["mo"], "12:00", "13:30", "weekly", None),
    ("daily 8-10am", list(MON_FRI) + ["sa", "su"], "08:00", "10:00", "weekly", None),
    ("Tuesday & Thursday 10:00\u201312:00", ["tu", "th"], "10:00", "12:00", "weekly", None),
    ("TUESDAYS 10AM-12PM", ["tu"], "10:00", "12:00", "weekly", None),
    ("3rd Saturday of each month between 10 and 12", ["sa"], "10:00", "12:00", "monthly", [3]),
    ("Sunday midday-2pm", ["su"], "12:00", "14:00", "weekly", None),
    ("Fri 6 p.m. - 8 p.m.", ["fr"], "18:00", "20:00", "weekly", None),
]


@pytest.mark.parametrize(("text", "days", "start", "end", "freq", "weeks"), CASES)
def test_parses_real_world_forms(
    text: str, days: list[str], start: str, end: str, freq: str, weeks: list[int] | None
) -> None:
    session = parse_session(text)
    assert session.weekdays == days
    assert session.start == time.fromisoformat(start)
    assert session.end == time.fromisoformat(end)
    assert session.frequency == freq
    assert session.weeks_of_month == weeks


def test_at_least_twenty_forms() -> None:
    assert len(CASES) >= 20


def test_several_sessions_and_notes_and_dates() -> None:
    sessions = parse_sessions(
        "Tuesdays 10-12 (term time only); Mon 10-12, Wed 2-4pm; "
        "every other Thursday 2pm-4pm from 2026-03-05 until 2026-07-16"
    )
    assert [s.weekdays for s in sessions] == [["tu"], ["mo"], ["we"], ["th"]]
    assert sessions[0].notes == "term time only"
    assert (sessions[2].start, sessions[2].end) == (time(14), time(16))
    assert sessions[3].valid_from == date(2026, 3, 5)
    assert sessions[3].valid_to == date(2026, 7, 16)
    assert parse_sessions("") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Tuesdays", "no hours given"),
        ("sometimes", "no hours given"),
        ("Tuesdays sometimes 10-12", "did not understand 'sometimes'"),
        ("10-12", "no day given"),
        ("Tuesday 25:00", "not a time of day"),
        ("Tuesday 25:00-26:00", "not a time of day"),
        ("fortnightly Thu 2pm", "no end time"),
        ("Thu 7-9", "add am or pm"),
        ("Mon 10:75-11", "not a time of day"),
        ("Mon 13pm-14pm", "hour must be 1-12"),
        ("Mon 16:00-14:00", "must be after the start"),
        ("Fri 10pm-midnight", "23:59"),
        ("biweekly Tuesday 10-12", "fortnightly"),
        ("monthly Tuesday 10-12", "which week"),
        ("first Monday fortnightly 10-12", "not both"),
    ],
)
def test_rejects_ambiguous_text_and_says_how_to_write_it(text: str, problem: str) -> None:
    with pytest.raises(SessionTextError) as info:
        parse_sessions(text)
    message = str(info.value)
    assert problem in message
    assert "e.g. 'Tuesdays 10:00-12:00'" in message
    assert info.value.field == "sessions"


@pytest.mark.parametrize(
    "session",
    [
        Session(weekdays=["tu", "th"], start=time(10), end=time(12)),
        Session(weekdays=["mo"], start=time(19), end=time(21), frequency="monthly",
                weeks_of_month=[1, 3]),
        Session(weekdays=["fr"], start=time(19, 30), end=time(21, 30), frequency="monthly",
                weeks_of_month=[-1]),
        Session(weekdays=["th"], start=time(14), end=time(16), frequency="fortnightly",
                valid_from=date(2026, 3, 5), notes="bring (old) clothes"),
        Session(weekdays=["sa", "su"], start=time(0, 30), end=time(23, 59),
                valid_to=date(2026, 12, 31)),
    ],
)  # fmt: skip
def test_formatted_sessions_read_back_the_same(session: Session) -> None:
    (back,) = parse_sessions(format_sessions([session]))
    expected = session.model_copy(
        update={"notes": session.notes.replace("(", "[").replace(")", "]")} if session.notes else {}
    )
    assert back == expected


@pytest.mark.parametrize("frequency", ["weekly", "fortnightly", "monthly"])
def test_every_set_of_days_reads_back_from_its_description(frequency: str) -> None:
    """All 127 sets of days: ranges ("Monday to Friday"), lists and "every day"."""
    for n in range(1, 8):
        for days in combinations(WEEKDAYS, n):
            session = Session(
                weekdays=list(days),
                start=time(10),
                end=time(12),
                frequency=frequency,
                weeks_of_month=[1, -1] if frequency == "monthly" else None,
            )
            assert parse_sessions(session.describe()) == [session], session.describe()


def test_a_note_keeps_the_separators_it_holds() -> None:
    """An export writes notes as they are: "(bring a plate; tea provided)" was two parts."""
    (lunch, choir) = parse_sessions(
        "Wednesdays 12:00-14:00 (bring a plate; tea provided); Fri 7pm-9pm (hall 2\nupstairs)"
    )
    assert lunch.notes == "bring a plate; tea provided"
    assert (choir.weekdays, choir.notes) == (["fr"], "hall 2\nupstairs")
    # A bracket never closed is no note: what follows is still the next session.
    with pytest.raises(SessionTextError, match=r"^'Mon 10-12 \(no': did not understand"):
        parse_sessions("Mon 10-12 (no; Tue 2pm-4pm")


# Notes as people write them, separators and words that read as times often included;
# brackets aside (the export writes them as [ ]) and no blank at either end (read trimmed).
_NOTES = st.lists(
    st.sampled_from([";", "\n", ",", " ", "-", "10-12", "Tue", "from 2026-03-02", "tea"])
    | st.text(st.characters(exclude_characters="()", exclude_categories=["Cs"]), max_size=3)
).map(lambda parts: "".join(parts).strip())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(recurring_sessions(), st.none() | _NOTES.filter(bool)), min_size=1, max_size=3
    )
)
def test_formatted_sessions_with_any_notes_read_back_the_same(
    drawn: list[tuple[Session, str | None]],
) -> None:
    sessions = [s.model_copy(update={"notes": notes}) for s, notes in drawn]
    assert parse_sessions(format_sessions(sessions)) == sessions
