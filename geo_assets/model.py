"""Domain types shared by every layer (pydantic v2).

Names follow Open Referral HSDS 3.0 where it helps round-tripping (organisation,
service + location -> ``Asset``, schedule -> ``Session``) but stay simpler.
Coordinates are WGS84 (EPSG:4326) degrees, given as ``lat``/``lon`` fields.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from dateutil import rrule
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from geo_assets.clock import local_today
from geo_assets.errors import InvalidInputError
from geo_assets.languages import CODE_PATTERN, language_codes

AssetKind = Literal["group", "club", "venue", "activity"]
ConnectionType = Literal["local", "interest", "reconnect"]
AssetStatus = Literal["draft", "pending", "published", "archived"]
OrganisationStatus = Literal["active", "archived"]
Weekday = Literal["mo", "tu", "we", "th", "fr", "sa", "su"]
Frequency = Literal["weekly", "fortnightly", "monthly"]
Attendance = Literal["drop_in", "booking", "referral"]
Gender = Literal["any", "women", "men"]
# How a listing's point was found: given or picked on a map ("point"), a full
# postcode's centre ("postcode"), or the centre of a postcode district or a named
# place ("area", often a kilometre or more from where it really meets).
LocationPrecision = Literal["point", "postcode", "area"]
CostPeriod = Literal["session", "week", "month", "year", "course"]
# The age from which a person counts as a grown-up: the parent or carer that an
# ``Eligibility.with_carers`` group lets in, whatever its children's ages.
ADULT_AGE = 18
# The most children's ages one profile holds (``Profile.children_ages``).
MAX_CHILDREN = 10
# Sessions per period, to compare a monthly fee with a per-session budget.
SESSIONS_PER: Mapping[str, float] = MappingProxyType(
    {"session": 1.0, "week": 1.0, "month": 4.0, "year": 40.0, "course": 8.0}
)
AccessFeature = Literal[
    "wheelchair",
    "step_free",
    "accessible_toilet",
    "changing_places",
    "hearing_loop",
    "bsl",
    "quiet_space",
    "large_print",
    "easy_read",
    "parking",
    "assistance_dogs",
]

ASSET_KINDS: tuple[str, ...] = AssetKind.__args__  # type: ignore[attr-defined]
ASSET_STATUSES: tuple[str, ...] = AssetStatus.__args__  # type: ignore[attr-defined]
CONNECTION_TYPES: tuple[str, ...] = ConnectionType.__args__  # type: ignore[attr-defined]
LOCATION_PRECISIONS: tuple[str, ...] = LocationPrecision.__args__  # type: ignore[attr-defined]
WEEKDAYS: tuple[str, ...] = Weekday.__args__  # type: ignore[attr-defined]
WEEKDAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
_RRULE_DAYS = dict(
    zip(
        WEEKDAYS,
        (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU),
        strict=True,
    )
)
# Fortnightly sessions with no `valid_from` count their weeks from this Monday.
FORTNIGHT_ANCHOR = date(2026, 1, 5)

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Latitude = Annotated[
    float, Field(ge=-90.0, le=90.0, allow_inf_nan=False, description="degrees, WGS84")
]
Longitude = Annotated[
    float, Field(ge=-180.0, le=180.0, allow_inf_nan=False, description="degrees, WGS84")
]


def utcnow() -> datetime:
    """Current time as an aware UTC datetime with microseconds dropped (stores agree on it)."""
    return datetime.now(UTC).replace(microsecond=0)


def _as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken to be UTC; aware ones are converted to UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in the year 0 in UTC
        raise ValueError("is out of range once put in UTC (years 1 to 9999)") from None


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _no_offset(value: time) -> time:
    """Session and availability times are wall-clock times where the person or venue is; an
    offset ("10:00Z") means nothing there and cannot be compared with local times."""
    if value.tzinfo is not None:
        raise ValueError("must be a local time such as 09:30, without a UTC offset")
    return value


# Documented as a pattern: JSON Schema's "time" format (RFC 3339) demands an offset.
LocalTime = Annotated[
    time,
    AfterValidator(_no_offset),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "description": "local time, HH:MM or HH:MM:SS, no UTC offset",
            "examples": ["09:30"],
        }
    ),
]


def new_id() -> str:
    return uuid.uuid4().hex


#: What an id given to a new listing or organisation may hold. Ids go into web addresses
#: as they are: one with `/`, `?` or `#` got a `Location` that led nowhere, and `.` or
#: `..` alone would be read as a step in the path. Older records keep whatever id they have.
NEW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")
NEW_ID_RULE = "may hold only letters, digits and - . _ ~, starting with a letter or digit"


def check_new_id(value: str) -> str:
    """``value`` if it may be a new record's id, else InvalidInputError naming ``id``."""
    if NEW_ID.fullmatch(value) is None:
        raise InvalidInputError(f"`id` {NEW_ID_RULE}, not {value!r}", field="id")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)


class _Part(_Model):
    """A part of an asset (its location, sessions, cost...): frozen like the asset itself,
    since the stores hand every reader one shared instance of it."""

    model_config = ConfigDict(frozen=True)


class Location(_Part):
    """Where an asset is: a WGS84 point, optionally a footprint and a postal address."""

    lat: Latitude
    lon: Longitude
    address: str | None = None
    postcode: str | None = None
    place: str | None = Field(default=None, description="town, village or neighbourhood")
    precision: LocationPrecision = Field(
        default="point",
        description="how the point was found: given or picked on a map ('point'), a full "
        "postcode's centre ('postcode'), or a postcode district's or a place's centre ('area')",
    )
    footprint: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon/MultiPolygon, lon/lat order"
    )

    @property
    def approximate(self) -> bool:
        """Whether the point is only a postcode's or an area's centre, not where it meets."""
        return self.precision != "point"

    def address_line(self) -> str:
        """Address, place and postcode on one line, each said once: "101 Bolton Road,
        Keighley" when the place is already the address's last part, not "..., Keighley,
        Keighley". Empty when none is known."""
        parts = [self.address] if self.address else []
        said = {part.strip().casefold() for part in (self.address or "").split(",")}
        if self.place and self.place.strip().casefold() not in said:
            parts.append(self.place)
        squeezed = "".join((self.address or "").split()).upper()
        if self.postcode and "".join(self.postcode.split()).upper() not in squeezed:
            parts.append(self.postcode)
        return ", ".join(parts)

    @field_validator("footprint")
    @classmethod
    def _valid_footprint(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from shapely.geometry import shape

        if value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("must be a GeoJSON Polygon or MultiPolygon")
        try:
            geom = shape(value)
        except Exception as exc:  # shapely raises several types for bad coordinates
            raise ValueError(f"is not valid GeoJSON: {exc}") from exc
        if not geom.is_valid:
            raise ValueError("polygon is not valid (self-intersecting or unclosed)")
        return value


class Session(_Part):
    """A recurring time slot, in the venue's local time.

    ``monthly`` sessions use ``weeks_of_month`` (1-5, or -1 for the last);
    ``fortnightly`` ones count weeks from ``valid_from`` (or ``FORTNIGHT_ANCHOR``).
    """

    weekdays: list[Weekday] = Field(min_length=1)
    start: LocalTime
    end: LocalTime
    frequency: Frequency = "weekly"
    weeks_of_month: list[int] | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    notes: str | None = None

    @field_validator("weekdays")
    @classmethod
    def _sorted_days(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=WEEKDAYS.index)

    @field_validator("weeks_of_month")
    @classmethod
    def _valid_weeks(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        bad = [w for w in value if w not in (1, 2, 3, 4, 5, -1)]
        if bad:
            raise ValueError(f"weeks must be 1-5 or -1 (last); got {bad}")
        # Calendar order: 1st, 2nd, ... then last.
        return sorted(set(value), key=lambda w: 99 if w == -1 else w)

    @model_validator(mode="after")
    def _consistent(self) -> Session:
        if self.end <= self.start:
            raise ValueError(f"`end` ({self.end:%H:%M}) must be after `start` ({self.start:%H:%M})")
        if self.frequency == "monthly" and not self.weeks_of_month:
            raise ValueError("a monthly session needs `weeks_of_month` (e.g. [1] for the first)")
        if self.frequency != "monthly" and self.weeks_of_month:
            raise ValueError("`weeks_of_month` only applies to monthly sessions")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("`valid_to` must not be before `valid_from`")
        return self

    def _first_and_until(self, dtstart: datetime | None) -> tuple[datetime, datetime | None]:
        """Where the recurrence starts (close to ``dtstart``) and its last possible start.

        Fortnights stay counted from ``valid_from`` (or ``FORTNIGHT_ANCHOR``), whole
        weeks from a Monday; monthly rules start on the first of the month.
        """
        near = dtstart.date() if dtstart else (self.valid_from or local_today())
        if self.frequency == "fortnightly":
            anchor = self.valid_from or FORTNIGHT_ANCHOR
            anchor -= timedelta(days=anchor.weekday())
            if near > anchor:
                anchor += timedelta(days=14 * ((near - anchor).days // 14))
            start_day = anchor
        elif self.frequency == "monthly":
            start_day = near.replace(day=1)
        else:
            start_day = near
        if self.valid_from and self.valid_from > start_day and self.frequency != "fortnightly":
            start_day = self.valid_from
        until = datetime.combine(self.valid_to, self.start) if self.valid_to else None
        return datetime.combine(start_day, self.start), until

    def rrule(self, dtstart: datetime | None = None) -> rrule.rrule:
        """The iCalendar recurrence (start times) of this session.

        The rule starts close to ``dtstart`` (default: ``valid_from``, else today) so
        finding the next session does not walk years of past ones.
        """
        begin, until = self._first_and_until(dtstart)
        days = [_RRULE_DAYS[d] for d in self.weekdays]
        if self.frequency == "monthly":
            assert self.weeks_of_month is not None
            byday = [day(n) for day in days for n in self.weeks_of_month]
            return rrule.rrule(rrule.MONTHLY, byweekday=byday, dtstart=begin, until=until)
        return rrule.rrule(
            rrule.WEEKLY,
            interval=2 if self.frequency == "fortnightly" else 1,
            byweekday=days,
            dtstart=begin,
            until=until,
            wkst=rrule.MO,
        )

    def occurrences(self, after: datetime, count: int = 1) -> Iterator[datetime]:
        """Next ``count`` start times strictly after ``after`` (naive local time).

        Never before ``valid_from``: a fortnightly rule starts on the Monday of that
        week so its fortnights are whole weeks, which can fall a few days earlier.
        """
        after = after.replace(tzinfo=None)
        current = after
        if self.valid_from is not None:
            current = max(
                current, datetime.combine(self.valid_from, time(0)) - timedelta(seconds=1)
            )
        if count <= 0:
            return
        # By date arithmetic, not the dateutil rule (``rrule``), which gives the same
        # starts: the matcher asks for the next start of every result it shows, and
        # building and walking a rule took 25 us (monthly), 4-10 times longer.
        begin, until = self._first_and_until(after)
        if self.frequency == "monthly":
            days = self._monthly_days(begin.date())
        else:
            days = self._weekly_days(begin, current)
        for day in days:
            when = datetime.combine(day, self.start)
            if when <= current:
                continue
            if until is not None and when > until:
                return
            yield when
            count -= 1
            if count == 0:
                return

    def _monthly_days(self, first_day: date) -> Iterator[date]:
        """The session's days from ``first_day`` on, month by month, without end."""
        assert self.weeks_of_month is not None
        weekdays = [WEEKDAYS.index(d) for d in self.weekdays]
        month_start = first_day.replace(day=1)
        while True:
            for day in sorted(_days_in_month(month_start, weekdays, self.weeks_of_month)):
                if day >= first_day:
                    yield day
            month_start = _next_month(month_start)

    def _weekly_days(self, begin: datetime, after: datetime) -> Iterator[date]:
        """The session's days, week by week (every other week for a fortnightly one,
        counted from ``begin``'s), from the week of ``after`` or ``begin``, whichever is
        later, without end."""
        every = 2 if self.frequency == "fortnightly" else 1
        first_week = begin.date() - timedelta(days=begin.weekday())
        week = max(after, begin).date()
        week -= timedelta(days=week.weekday())
        behind = (week - first_week).days // 7 % every
        if behind:
            week += timedelta(weeks=every - behind)
        offsets = [WEEKDAYS.index(d) for d in self.weekdays]
        while True:
            for offset in offsets:
                yield week + timedelta(days=offset)
            week += timedelta(weeks=every)

    def describe(self) -> str:
        """Plain English, e.g. "Tuesdays and Thursdays 10:00-12:00", "Monday to Friday
        09:00-17:00" or "1st Monday of the month 10:00-12:00"; ``parse_sessions`` reads
        it back."""
        hours = f"{self.start:%H:%M}-{self.end:%H:%M}"
        if self.frequency == "monthly":
            assert self.weeks_of_month is not None
            ords = " and ".join(_ordinal(n) for n in self.weeks_of_month)
            # No ranges here: "1st Monday to Friday" could mean one week or five days.
            names = [WEEKDAY_NAMES[d] for d in self.weekdays]
            return f"{ords} {and_list(names)} of the month {hours}"
        if self.frequency == "fortnightly":
            return f"every other {days_text(self.weekdays, plural=False)} {hours}"
        return f"{days_text(self.weekdays)} {hours}"


def days_text(weekdays: Sequence[str], *, plural: bool = True) -> str:
    """Days in words, in week order: "Tuesdays and Thursdays", "Mondays, Wednesdays and
    Fridays", "Monday to Friday" (three or more days in a row), "every day"; singular
    ("Tuesday and Thursday", "Monday to Sunday") where ``plural`` is False or a run
    is named."""
    days = sorted(set(weekdays), key=WEEKDAYS.index)
    if plural and len(days) == len(WEEKDAYS):
        return "every day"
    runs: list[list[str]] = []
    for day in days:
        if runs and WEEKDAYS.index(day) == WEEKDAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    ranged = any(len(run) >= 3 for run in runs)
    ending = "s" if plural and not ranged else ""
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0]]} to {WEEKDAY_NAMES[run[-1]]}")
        else:
            parts.extend(WEEKDAY_NAMES[d] + ending for d in run)
    return and_list(parts)


def and_list(parts: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(parts) <= 2:
        return " and ".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _days_in_month(month_start: date, weekdays: Sequence[int], weeks: Sequence[int]) -> set[date]:
    """The dates in ``month_start``'s month that are the ``weeks``-th (1-5, -1 for the
    last) of each of ``weekdays`` (0 = Monday); a 5th that the month lacks is left out."""
    last = _next_month(month_start) - timedelta(days=1)
    out: set[date] = set()
    for weekday in weekdays:
        first = month_start + timedelta(days=(weekday - month_start.weekday()) % 7)
        for n in weeks:
            day = (
                last - timedelta(days=(last.weekday() - weekday) % 7)
                if n == -1
                else (first + timedelta(weeks=n - 1))
            )
            if day.month == month_start.month:
                out.add(day)
    return out


def _next_month(month_start: date) -> date:
    """The first of the month after ``month_start`` (a first of the month)."""
    return (month_start + timedelta(days=31)).replace(day=1)


def _ordinal(n: int) -> str:
    if n == -1:
        return "last"
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


class Cost(_Part):
    """What taking part costs. ``amount`` None means not stated; 0 means free."""

    amount: float | None = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$", description="ISO 4217")
    per: CostPeriod = "session"
    concessions: str | None = None
    notes: str | None = None

    @property
    def free(self) -> bool:
        return self.amount == 0

    @property
    def per_session(self) -> float | None:
        """The amount for one session (a monthly fee over four, say); None when not stated."""
        if self.amount is None:
            return None
        return self.amount / SESSIONS_PER[self.per]


class Accessibility(_Part):
    features: list[AccessFeature] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("features")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class Eligibility(_Part):
    """Who may come. Ages are in whole years, inclusive.

    ``with_carers`` is for groups such as parent and toddler, stay and play or dads and
    kids: the ages are those of the children, and the parents or carers who bring them
    take part too. Without it, a mother of a two-year-old would be kept out of every
    toddler group by her own age.
    """

    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    gender: Gender = "any"
    groups: list[str] = Field(
        default_factory=list, description="specific groups served, e.g. carers, veterans"
    )
    with_carers: bool = Field(
        default=False,
        description="the ages are the children's; the parents or carers who bring them join in",
    )
    notes: str | None = None

    @model_validator(mode="after")
    def _age_order(self) -> Eligibility:
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValueError(f"`max_age` ({self.max_age}) is below `min_age` ({self.min_age})")
        return self

    def ages_text(self) -> str:
        """The age range in words: "aged 0–4", "aged 50 and over", "aged 11 and under";
        "" when there is none. (A ``with_carers`` group's are its children's ages.)"""
        low, high = self.min_age, self.max_age
        if low is not None and high is not None:
            return f"aged {low}" if low == high else f"aged {low}–{high}"
        if low is not None:
            return f"aged {low} and over"
        return "" if high is None else f"aged {high} and under"

    def with_carers_text(self, *, groups: bool = False) -> str:
        """For a ``with_carers`` group: "children aged 0–4, with a parent or carer".

        With ``groups``, a listing that names who it is for puts those grown-ups first
        ("parents and carers of under-5s, bringing children aged 0–4"): said apart, the
        two read as the same fact twice."""
        ages = self.ages_text()
        children = f"children {ages}" if ages else "their children"
        if groups and self.groups:
            return f"{', '.join(self.groups)}, bringing {children}"
        return f"{children}, with a parent or carer" if ages else "children with a parent or carer"

    def groups_text(self) -> str:
        """ "for carers, veterans"; "" when none are named, and for a ``with_carers``
        listing, whose ``with_carers_text(groups=True)`` names them with the children."""
        if not self.groups or self.with_carers:
            return ""
        return "for " + ", ".join(self.groups)

    def in_age_range(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (
            self.max_age is None or age <= self.max_age
        )

    def admits_age(self, age: int | None, children_ages: Sequence[int] = ()) -> bool:
        """Whether a person aged ``age`` (None: not said) may come, bringing children aged
        ``children_ages`` (empty: none said).

        A ``with_carers`` group takes any grown-up while nothing is known of their
        children. Once their children's ages are said, it takes the person only if
        one of those children is of its ages, or the person is: a mother of a
        nine-year-old has no place in a toddler group, and a mother of 16 with a baby
        does."""
        if self.with_carers and children_ages:
            return (age is not None and self.in_age_range(age)) or any(
                self.in_age_range(child) for child in children_ages
            )
        if age is None:
            return True
        return self.in_age_range(age) or (self.with_carers and age >= ADULT_AGE)


class Contact(_Part):
    name: str | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")


NUL_REFUSED = "must not contain the NUL character"


def refuse_nul(text: str, field: str) -> None:
    """One text input (a parameter, a place to look up) refused as records refuse it
    (``RefusesNul``), naming ``field``."""
    if "\x00" in text:
        raise InvalidInputError(f"`{field}` {NUL_REFUSED}", field=field)


def _nul_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Where text inside ``value`` (a model, list or dict) holds the NUL character (U+0000),
    as field paths; a dict's keys count as its text too (a GeoJSON footprint's)."""
    found: list[tuple[str | int, ...]] = []
    if type(value) is list:
        items: Iterable[tuple[Any, Any]] = enumerate(value)
    elif type(value) is dict:
        found += [(*path, key) for key in value if type(key) is str and "\x00" in key]
        items = value.items()
    else:
        items = value.__dict__.items()
    for key, item in items:
        kind = type(item)
        if kind is str:
            if "\x00" in item:
                found.append((*path, key))
        elif kind is list or kind is dict or isinstance(item, BaseModel):
            found += _nul_paths(item, (*path, key))
    return found


class RefusesNul(BaseModel):
    """A record a store keeps: text holding the NUL character is refused where it stands
    (``location.address``). No one means to type it, PostgreSQL cannot keep it in text or
    JSON, and a record one store accepts must not be one the other refuses. Listings and
    organisations read back are not checked again: decoding skips a record's own
    after-validators (``geo_assets.store.documents``).
    """

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        paths = _nul_paths(self)
        if paths:
            problem = PydanticCustomError("nul_character", NUL_REFUSED)
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [InitErrorDetails(type=problem, loc=path, input="\x00") for path in paths],
            )
        return self


class _Provenance(_Model, RefusesNul):
    source: str | None = Field(default=None, max_length=100)
    source_id: str | None = Field(default=None, max_length=300)
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _source_pair(self) -> _Provenance:
        if (self.source is None) != (self.source_id is None):
            raise ValueError("`source` and `source_id` must be given together")
        return self


class Organisation(_Provenance):
    """Who runs assets (HSDS organization)."""

    id: str = Field(default_factory=new_id, min_length=1, max_length=100)
    name: NonEmptyStr
    description: str = ""
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    status: OrganisationStatus = "active"


class MergedRecord(_Part):
    """A duplicate listing merged into this one (``geo_assets.duplicates.merge``).

    Keeps the archived listing's id and provenance, so its source record stays traceable.
    """

    id: str = Field(min_length=1, max_length=100)
    source: str | None = Field(default=None, max_length=100)
    source_id: str | None = Field(default=None, max_length=300)
    merged_at: UtcDatetime | None = None


class Asset(_Provenance):
    """A group, club, venue or activity people can go to (HSDS service + location).

    Frozen: the stores decode each stored version once and hand the same instance to
    every reader, so a change is a new version (``model_copy(update=...)``, or the
    store's ``update_asset``), never an edit in place.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id, min_length=1, max_length=100)
    organisation_id: str | None = None
    kind: AssetKind
    name: NonEmptyStr
    description: str = Field(default="", max_length=10_000)
    categories: list[str] = Field(min_length=1, description="taxonomy term ids")
    connection_types: list[ConnectionType] = Field(default_factory=list)
    location: Location
    venue_id: str | None = None
    sessions: list[Session] = Field(default_factory=list)
    cost: Cost = Field(default_factory=Cost)
    accessibility: Accessibility = Field(default_factory=Accessibility)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    group_size: int | None = Field(default=None, ge=1, description="typical attendance")
    attendance: Attendance = "drop_in"
    companion_welcome: bool = Field(
        default=True, description="a supporter may come along on the first visit"
    )
    contact: Contact = Field(default_factory=Contact)
    status: AssetStatus = "draft"
    moderated: bool = Field(
        default=False,
        description="set by the store: a moderator has published this listing (it may have "
        "been taken off the directory since). An organisation's changes to what was checked "
        "then wait for review whatever its status (see geo_assets.review)",
    )
    last_verified_at: UtcDatetime | None = None
    merged_from: list[MergedRecord] = Field(
        default_factory=list, description="duplicate listings merged into this one"
    )

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        from geo_assets.taxonomy import default_taxonomy

        taxonomy = default_taxonomy()
        for i, term in enumerate(value):
            if term not in taxonomy:
                raise ValueError(
                    f"unknown category id {term!r} at position {i}; "
                    "see `geo-assets taxonomy` for the allowed ids"
                )
        return list(dict.fromkeys(value))

    @field_validator("connection_types")
    @classmethod
    def _dedupe_connections(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=CONNECTION_TYPES.index)

    @field_validator("languages")
    @classmethod
    def _valid_languages(cls, value: list[str]) -> list[str]:
        for code in value:
            if not CODE_PATTERN.match(code):
                raise ValueError(f"{code!r} is not a language code such as 'en' or 'ur'")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _not_own_venue(self) -> Asset:
        if self.venue_id is not None and self.venue_id == self.id:
            raise ValueError("`venue_id` cannot point at the asset itself")
        return self

    @property
    def point(self) -> tuple[float, float]:
        """(lat, lon) in degrees."""
        return (self.location.lat, self.location.lon)


class BBox(_Model):
    """A lon/lat box; ``west > east`` means it crosses the antimeridian."""

    west: Longitude
    south: Latitude
    east: Longitude
    north: Latitude

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.north < self.south:
            raise ValueError("`north` must not be below `south`")
        return self

    @classmethod
    def parse(cls, text: str) -> BBox:
        """From "west,south,east,north" (the GeoJSON/OGC order)."""
        from geo_assets.errors import InvalidInputError

        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidInputError(
                "`bbox` must be four numbers: west,south,east,north", field="bbox"
            )
        try:
            w, s, e, n = (float(p) for p in parts)
        except ValueError as exc:
            raise InvalidInputError(f"`bbox` has a non-number: {text!r}", field="bbox") from exc
        return cls(west=w, south=s, east=e, north=n)


# --- the person a practitioner searches for (never stored unless saved as a plan) ----------

TravelMode = Literal["walk", "cycle", "public_transport", "car", "wheelchair"]
# Anything a venue can offer, plus needs met by who a group is for.
AccessNeed = Literal[AccessFeature, "women_only"]
# An access need is met by any of these features (wheelchair access is step-free too);
# a need not named here is met by the feature of its own name.
NEED_SATISFIED_BY: Mapping[str, frozenset[str]] = MappingProxyType(
    {"wheelchair": frozenset({"wheelchair"}), "step_free": frozenset({"step_free", "wheelchair"})}
)


def features_meeting(need: str) -> frozenset[str]:
    """The access features any one of which meets ``need``."""
    return NEED_SATISFIED_BY.get(need, frozenset({need}))


MAX_TRAVEL_MINUTES = 240
# The most results one search ranks (the ``limit`` of ``geo_assets.matching.match``).
MAX_MATCH_LIMIT = 100
_DAY_ALIASES = {
    "mon": "mo",
    "monday": "mo",
    "mondays": "mo",
    "mo": "mo",
    "tue": "tu",
    "tues": "tu",
    "tuesday": "tu",
    "tuesdays": "tu",
    "tu": "tu",
    "wed": "we",
    "weds": "we",
    "wednesday": "we",
    "wednesdays": "we",
    "we": "we",
    "thu": "th",
    "thur": "th",
    "thurs": "th",
    "thursday": "th",
    "thursdays": "th",
    "th": "th",
    "fri": "fr",
    "friday": "fr",
    "fridays": "fr",
    "fr": "fr",
    "sat": "sa",
    "saturday": "sa",
    "saturdays": "sa",
    "sa": "sa",
    "sun": "su",
    "sunday": "su",
    "sundays": "su",
    "su": "su",
}
_DAY_GROUPS = {
    "weekdays": list(WEEKDAYS[:5]),
    "weekday": list(WEEKDAYS[:5]),
    "weekends": ["sa", "su"],
    "weekend": ["sa", "su"],
    "any": list(WEEKDAYS),
    "daily": list(WEEKDAYS),
    "everyday": list(WEEKDAYS),
}
_PART_OF_DAY = {
    "morning": (time(8, 0), time(12, 0)),
    "mornings": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "afternoons": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(22, 0)),
    "evenings": (time(17, 0), time(22, 0)),
}
_HOURS_RE = re.compile(
    r"^(?P<h1>\d{1,2})(?::(?P<m1>\d{2}))?\s*-\s*(?P<h2>\d{1,2})(?::(?P<m2>\d{2}))?$"
)


class GeoPoint(_Model):
    lat: Latitude
    lon: Longitude

    @classmethod
    def parse(cls, text: str, *, field: str = "near") -> GeoPoint:
        """From "lat,lon" in decimal degrees."""
        from geo_assets.errors import InvalidInputError

        parts = [p.strip() for p in text.split(",")]
        try:
            lat, lon = (float(p) for p in parts)
        except ValueError as exc:
            raise InvalidInputError(
                f"`{field}` must be 'lat,lon' in decimal degrees, not {text!r}", field=field
            ) from exc
        try:
            return cls(lat=lat, lon=lon)
        except Exception as exc:
            raise InvalidInputError(
                f"`{field}` is out of range: latitude -90..90, longitude -180..180 ({text!r})",
                field=field,
            ) from exc


class TravelOption(_Model):
    """One way the person can travel, with the most minutes they will spend each way."""

    mode: TravelMode
    max_minutes: float = Field(gt=0, le=MAX_TRAVEL_MINUTES, allow_inf_nan=False)


class Availability(_Model):
    """When the person is free: some weekdays, between two local times."""

    weekdays: list[Weekday] = Field(min_length=1)
    start: LocalTime = time(0, 0)
    end: LocalTime = time(23, 59)

    @model_validator(mode="after")
    def _ordered(self) -> Availability:
        if self.end <= self.start:
            raise ValueError(f"`end` ({self.end:%H:%M}) must be after `start` ({self.start:%H:%M})")
        return self

    @classmethod
    def parse(cls, text: str) -> Availability:
        """Parse "tue 09:00-13:00", "thu", "weekends afternoon", "mon,wed 10-14".

        Raises ``InvalidInputError`` naming ``availability`` and saying what is allowed.
        """
        from geo_assets.errors import InvalidInputError

        help_text = (
            "write days then optional hours, e.g. 'tue 09:00-13:00', 'thu', "
            "'weekdays mornings' or 'sat,sun 10-16'"
        )
        words = text.casefold().replace(",", " ").replace("/", " ").split()
        days: list[str] = []
        start, end = time(0, 0), time(23, 59)
        hours_seen = False
        for word in words:
            if word in _DAY_ALIASES:
                days.append(_DAY_ALIASES[word])
            elif word in _DAY_GROUPS:
                days.extend(_DAY_GROUPS[word])
            elif "-" in word and word.split("-")[0] in _DAY_ALIASES and not hours_seen:
                first, _, last = word.partition("-")
                if last not in _DAY_ALIASES:
                    raise InvalidInputError(
                        f"availability {text!r}: {help_text}", field="availability"
                    )
                i, j = WEEKDAYS.index(_DAY_ALIASES[first]), WEEKDAYS.index(_DAY_ALIASES[last])
                days.extend(WEEKDAYS[i : j + 1] if i <= j else WEEKDAYS[i:] + WEEKDAYS[: j + 1])
            elif word in _PART_OF_DAY and not hours_seen:
                start, end = _PART_OF_DAY[word]
                hours_seen = True
            elif (m := _HOURS_RE.match(word)) and not hours_seen:
                try:
                    start = time(int(m["h1"]), int(m["m1"] or 0))
                    end = time(int(m["h2"]), int(m["m2"] or 0))
                except ValueError as exc:
                    raise InvalidInputError(
                        f"availability {text!r}: impossible time; {help_text}", field="availability"
                    ) from exc
                hours_seen = True
            else:
                raise InvalidInputError(
                    f"availability {text!r}: did not understand {word!r}; {help_text}",
                    field="availability",
                )
        if not days:
            days = list(WEEKDAYS)
        try:
            return cls(weekdays=days, start=start, end=end)  # type: ignore[arg-type]
        except Exception as exc:
            raise InvalidInputError(
                f"availability {text!r}: end must be after start; {help_text}", field="availability"
            ) from exc


class Budget(_Model):
    free_only: bool = False
    max_per_session: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class Preferences(_Model):
    small_group: bool = False
    drop_in_only: bool = False
    accompanied_first_visit: bool = False


class Profile(_Model):
    """What a practitioner knows about the person, for one search. Special-category data:
    never logged, never put in a URL, never stored unless saved as a pseudonymous plan."""

    origin: GeoPoint
    interests: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    ] = Field(default_factory=list, max_length=20, description="taxonomy term ids and/or free text")
    connection_goals: list[ConnectionType] = Field(default_factory=list)
    travel: list[TravelOption] = Field(min_length=1, max_length=5)
    availability: list[Availability] = Field(default_factory=list, max_length=21)
    budget: Budget = Field(default_factory=Budget)
    access_needs: list[AccessNeed] = Field(default_factory=list)
    age: int | None = Field(default=None, ge=0, le=120)
    children_ages: list[Annotated[int, Field(ge=0, lt=ADULT_AGE)]] = Field(
        default_factory=list,
        max_length=MAX_CHILDREN,
        description="ages of the children the person would bring along, for groups where "
        "parents and carers come with their children (parent and toddler, family groups)",
    )
    gender: Literal["women", "men"] | None = None
    languages: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="languages the person speaks, by name ('Urdu') or ISO 639 code ('ur'); "
        "kept as codes",
    )
    preferences: Preferences = Field(default_factory=Preferences)
    circumstances: list[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
    ] = Field(
        default_factory=list,
        max_length=10,
        description="groups the person belongs to, for listings aimed at them: carer, veteran...",
    )

    @field_validator("availability", mode="before")
    @classmethod
    def _parse_text_windows(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [Availability.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("languages", mode="before")
    @classmethod
    def _language_codes(cls, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return value  # the field's own type check names what is wrong
        return language_codes(value)

    @field_validator("travel")
    @classmethod
    def _one_limit_per_mode(cls, value: list[TravelOption]) -> list[TravelOption]:
        modes = [t.mode for t in value]
        if len(set(modes)) != len(modes):
            raise ValueError("each travel `mode` may appear once")
        return value

    @model_validator(mode="after")
    def _needs_admit_the_person(self) -> Self:
        """A man who needs women-only groups could never be shown anything: say so
        against the need, rather than answer with an empty list."""
        if self.gender == "men" and "women_only" in self.access_needs:
            problem = PydanticCustomError(
                "needs_contradict_gender",
                "women_only cannot be met when gender is men: no women-only group admits a man",
            )
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [InitErrorDetails(type=problem, loc=("access_needs",), input="women_only")],
            )
        return self
