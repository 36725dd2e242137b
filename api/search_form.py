"""The practitioner's search form, read into a :class:`~geo_assets.model.Profile`.

A form is forgiving where people are (interests and free times as typed text, a
postcode or a click on the map for where the person lives) and strict where the
matcher needs it: every problem is reported against the form field it came from, so
the page can show it beside that field. The values are special-category data: they
live in this request only (echoed back into the form on the same page, never into a
URL, a log or the store).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from api.web import first_value
from geo_assets.errors import InvalidInputError, error_message
from geo_assets.geocode import Geocoder
from geo_assets.languages import split_languages
from geo_assets.model import ADULT_AGE, MAX_CHILDREN, Availability, Profile
from geo_assets.travel import USUAL_MINUTES

MODES: tuple[tuple[str, str, int], ...] = tuple(
    # (mode, label, default minutes)
    (mode, label, USUAL_MINUTES[mode])
    for mode, label in (
        ("walk", "Walking"),
        ("public_transport", "Bus or train"),
        ("cycle", "Cycling"),
        ("car", "By car (driven)"),
        ("wheelchair", "Wheelchair or mobility scooter"),
    )
)
GOALS: tuple[tuple[str, str], ...] = (
    ("local", "Meet neighbours and local people"),
    ("interest", "Share a hobby, sport or interest"),
    ("reconnect", "Reconnect with family or friends"),
)
NEEDS: tuple[tuple[str, str], ...] = (
    ("wheelchair", "Wheelchair access"),
    ("step_free", "Step-free access"),
    ("accessible_toilet", "Accessible toilet"),
    ("changing_places", "Changing Places toilet"),
    ("hearing_loop", "Hearing loop"),
    ("bsl", "British Sign Language"),
    ("quiet_space", "Quiet space"),
    ("large_print", "Large print"),
    ("easy_read", "Easy read information"),
    ("assistance_dogs", "Assistance dogs welcome"),
    ("women_only", "Women only"),
)
PREFERENCES: tuple[tuple[str, str], ...] = (
    ("small_group", "Prefers small groups"),
    ("drop_in_only", "Drop-in only (no booking or referral)"),
    ("accompanied_first_visit", "Would like to bring someone the first time"),
)
# For listings open to women only or to men only; not given shows both, each marked.
GENDERS: tuple[tuple[str, str], ...] = (("", "Not given"), ("women", "Woman"), ("men", "Man"))
# The optional details about the person (error names, as in _FIELD_OF), folded away on
# the form until wanted: most searches need none of them, and shown open they doubled
# the form's length.
ABOUT_PERSON = ("age", "gender", "languages", "circumstances", "children", "preferences")
_VALUE_NAME = {"preferences": "pref"}  # where a field's posted name differs from its error's
LIMITS = (5, 10, 20)
DEFAULT_LIMIT = 10
# Interests and languages may be separated by commas, semicolons or new lines; free
# times use commas inside one window ("mon,wed 10-14"), so only ; and new lines.
_LIST_SPLIT = re.compile(r"[,;\n]+")
_WINDOW_SPLIT = re.compile(r"[;\n]+")
# Children's ages as people write them: "2, 5", "2 and 5", "2 & 5" or "2 5".
_AGES_SPLIT = re.compile(r"(?:[,;&\s]|\band\b)+", re.IGNORECASE)
_WHOLE_NUMBER = re.compile(r"[0-9]{1,3}")
# Which form field each part of a Profile comes from (for placing error messages), and
# what the page calls it (for messages that must say which field they are about: the
# summary at the top lists them apart from their fields), in the order they stand.
_FIELDS = {
    "origin": ("where", "Where the person lives"),
    "interests": ("interests", "What they enjoy or care about"),
    "connection_goals": ("goals", "What kind of connection"),
    "travel": ("travel", "How they get about"),
    "availability": ("free", "When they are free"),
    "budget": ("budget", "Most per session"),
    "access_needs": ("needs", "Access needs"),
    "age": ("age", "Age"),
    "gender": ("gender", "Gender"),
    "languages": ("languages", "Languages they speak"),
    "circumstances": ("circumstances", "Groups they belong to"),
    "children_ages": ("children", "Ages of children"),
    "preferences": ("preferences", "Preferences"),
}
_FIELD_OF = {part: name for part, (name, _) in _FIELDS.items()}
_LABELS = {part: label for part, (_, label) in _FIELDS.items()}
_PAGE_ORDER = {name: i for i, name in enumerate(_FIELD_OF.values())}


@dataclass
class SearchForm:
    """What was typed (to redisplay) and, when it all made sense, the profile."""

    values: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)
    profile: Profile | None = None
    origin_label: str | None = None
    limit: int = DEFAULT_LIMIT

    def value(self, name: str, default: str = "") -> str:
        got = self.values.get(name)
        return got[0] if got else default

    def checked(self, name: str, value: str) -> bool:
        return value in self.values.get(name, [])

    def about_person_given(self) -> int:
        """How many of the optional details about the person are filled in."""
        return sum(
            1
            for name in ABOUT_PERSON
            if any(v.strip() for v in self.values.get(_VALUE_NAME.get(name, name), []))
        )

    def about_person_open(self) -> bool:
        """Whether those details show unfolded: when any is given or needs fixing."""
        return self.about_person_given() > 0 or any(name in self.errors for name in ABOUT_PERSON)


def blank_form() -> SearchForm:
    """The form as first shown: walking 20 minutes ticked, ten results."""
    values: dict[str, list[str]] = {"mode": ["walk"], "budget": ["any"]}
    for mode, _, minutes in MODES:
        values[f"minutes_{mode}"] = [str(minutes)]
    values["limit"] = [str(DEFAULT_LIMIT)]
    return SearchForm(values=values)


def _text(values: Mapping[str, Sequence[str]], name: str) -> str:
    return first_value(values, name).strip()


def _items(values: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """A field's list, as typed: "gardening, football" -> ["gardening", "football"]."""
    return [item.strip() for item in _LIST_SPLIT.split(_text(values, name)) if item.strip()]


def _number(text: str, name: str, errors: dict[str, str], what: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"{what} must be a number, not {text!r}"
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors[name] = f"{what} must be a number"
        return None
    return value


def _origin(
    values: Mapping[str, Sequence[str]], geocoder: Geocoder, errors: dict[str, str]
) -> tuple[dict[str, float] | None, str | None]:
    lat_text, lon_text = _text(values, "lat"), _text(values, "lon")
    if lat_text or lon_text:
        lat = _number(lat_text, "where", errors, "Latitude")
        lon = _number(lon_text, "where", errors, "Longitude")
        if "where" in errors:
            return None, None
        if lat is None or lon is None:
            errors["where"] = "Give both latitude and longitude, or pick the point on the map"
            return None, None
        return {"lat": lat, "lon": lon}, "the point chosen on the map"
    where = _text(values, "where")
    if not where:
        errors["where"] = "Enter a postcode or place, or pick the point on the map"
        return None, None
    try:
        found = geocoder.geocode(where, limit=1, field="where")
    except InvalidInputError as exc:
        errors["where"] = str(exc)
        return None, None
    if not found:
        errors["where"] = (
            "No postcode or place of that name is known here: check the spelling, "
            "try the postcode district (e.g. 'BD7'), or pick the point on the map"
        )
        return None, None
    best = found[0]
    return {"lat": best.lat, "lon": best.lon}, best.label


def _travel(values: Mapping[str, Sequence[str]], errors: dict[str, str]) -> list[dict[str, Any]]:
    chosen = set(values.get("mode", []))
    travel = []
    for mode, label, _ in MODES:
        if mode not in chosen:
            continue
        minutes = _number(_text(values, f"minutes_{mode}"), "travel", errors, f"{label} minutes")
        if minutes is None:
            errors.setdefault("travel", f"Give the most minutes for {label.lower()}")
            continue
        travel.append({"mode": mode, "max_minutes": minutes})
    if not travel and "travel" not in errors:
        errors["travel"] = "Tick at least one way of getting about"
    return travel


def _availability(text: str, errors: dict[str, str]) -> list[Availability]:
    windows = []
    for part in _WINDOW_SPLIT.split(text):
        if not part.strip():
            continue
        try:
            windows.append(Availability.parse(part.strip()))
        except InvalidInputError as exc:
            errors["free"] = str(exc)
    return windows


def _budget(values: Mapping[str, Sequence[str]], errors: dict[str, str]) -> dict[str, Any]:
    kind = _text(values, "budget") or "any"
    if kind == "free":
        return {"free_only": True}
    if kind == "max":
        amount = _number(_text(values, "max_cost"), "budget", errors, "The most per session")
        if amount is None:
            errors.setdefault("budget", "Give the most the person can pay per session")
            return {}
        return {"max_per_session": amount}
    return {}


def _children_ages(text: str, errors: dict[str, str]) -> list[int]:
    """The ages typed, in whole years; a message against ``children`` for anything else,
    so a baby's "6 months" is not quietly read as six years."""
    ages = []
    for part in _AGES_SPLIT.split(text):
        if not part:
            continue
        if not _WHOLE_NUMBER.fullmatch(part) or int(part) >= ADULT_AGE:
            errors["children"] = (
                f"Give each child's age in whole years from 0 to {ADULT_AGE - 1} "
                f"(0 for a baby under one), not {part!r}"
            )
            return []
        ages.append(int(part))
    if len(ages) > MAX_CHILDREN:
        errors["children"] = f"Give at most {MAX_CHILDREN} children's ages, not {len(ages)}"
        return []
    return ages


_MODE_LABELS = {mode: label for mode, label, _ in MODES}


def _message(error: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    """The profile's message for a field, naming it as the page does: "Walking minutes:
    input should be greater than 0", not the bare "Input should be greater than 0"."""
    loc = [str(p) for p in error.get("loc", ())]
    text = error_message(error)
    label = _LABELS.get(loc[0], "This field") if loc else "The form"
    if loc[:1] == ["origin"] and loc[1:2] in (["lat"], ["lon"]):
        label = "Latitude" if loc[1] == "lat" else "Longitude"
    elif loc[:1] == ["travel"] and len(loc) > 1 and loc[1].isdigit():
        mode = raw["travel"][int(loc[1])]["mode"]
        label = f"{_MODE_LABELS.get(mode, mode)} minutes"
    if error.get("type") == "extra_forbidden":
        return f"{label}: {loc[-1]!r} is not one of the choices"
    return f"{label}: {text[:1].lower()}{text[1:]}"


def read_search_form(values: Mapping[str, Sequence[str]], geocoder: Geocoder) -> SearchForm:
    """Turn the posted fields into a profile, or a message per field that needs fixing."""
    form = SearchForm(values={k: list(v) for k, v in values.items()})
    errors = form.errors
    origin, form.origin_label = _origin(values, geocoder, errors)
    age = _number(_text(values, "age"), "age", errors, "Age")
    limit_text = _text(values, "limit") or str(DEFAULT_LIMIT)
    form.limit = int(limit_text) if limit_text in {str(n) for n in LIMITS} else DEFAULT_LIMIT
    raw = {
        "origin": origin,
        "interests": _items(values, "interests"),
        "connection_goals": list(values.get("goal", [])),
        "travel": _travel(values, errors),
        "availability": _availability(_text(values, "free"), errors),
        "budget": _budget(values, errors),
        "access_needs": list(values.get("need", [])),
        "age": age,
        "gender": _text(values, "gender") or None,
        "languages": split_languages(_text(values, "languages")),
        "circumstances": _items(values, "circumstances"),
        "children_ages": _children_ages(_text(values, "children"), errors),
        "preferences": {p: True for p in values.get("pref", [])},
    }
    # The profile's own checks (an age over 120, say) run even when a field already
    # failed, so the page names every wrong field at once rather than one per try; a
    # field that failed keeps its own message over the profile's view of its blank.
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            name = _FIELD_OF.get(str(error["loc"][0]) if error["loc"] else "", "form")
            errors.setdefault(name, _message(error, raw))
    else:
        if not errors:
            form.profile = profile
    _in_page_order(errors)
    return form


def _in_page_order(errors: dict[str, str]) -> None:
    """Order the messages as their fields stand on the page, so the summary reads down it."""
    ordered = sorted(errors.items(), key=lambda item: _PAGE_ORDER.get(item[0], len(_PAGE_ORDER)))
    errors.clear()
    errors.update(ordered)


def profile_from_plan(text: str) -> Profile:
    """The profile carried from the results to the plan (a hidden form field)."""
    try:
        return Profile.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidInputError(
            "the search behind this plan could not be read: run the search again",
            field="profile",
        ) from exc
