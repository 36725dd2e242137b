"""The portal's add/edit listing form: its fields, the asset changes they make, and where
each validation message goes.

Fields are flat (``lat``, ``s0-start``, ``contact-email``). :func:`read_form` keeps what
was typed, so a refused form comes back as it was sent; :func:`changes_of` turns it into
the nested asset fields that ``Store.update_asset`` takes (what the JSON API's PATCH
sends) and validates the result with the :class:`~geo_assets.model.Asset` model itself,
putting each message next to the field it names (:func:`field_of`). Fields the form does
not show (footprint, a session's validity dates...) are kept from the stored
listing. The location can come from typed coordinates, the map picker, or a postcode or
place name looked up with the same :class:`~geo_assets.geocode.Geocoder` as ``/geocode``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast, get_args

from pydantic import ValidationError
from starlette.datastructures import FormData

from api.web import form_text
from geo_assets.errors import InvalidInputError, error_message
from geo_assets.geocode import Geocoder, place_listing
from geo_assets.languages import languages_in, languages_text
from geo_assets.model import (
    ASSET_KINDS,
    CONNECTION_TYPES,
    LOCATION_PRECISIONS,
    WEEKDAY_NAMES,
    WEEKDAYS,
    AccessFeature,
    Asset,
    Attendance,
    CostPeriod,
    Gender,
    LocationPrecision,
    Session,
)
from geo_assets.taxonomy import Taxonomy

MAX_SESSIONS = 20
# Category selects shown (more when a stored listing has more), and the most read back.
CATEGORY_SELECTS = 3
MAX_CATEGORIES = 20
ACCESS_LABELS = {
    "wheelchair": "Wheelchair accessible",
    "step_free": "Step-free access",
    "accessible_toilet": "Accessible toilet",
    "changing_places": "Changing Places toilet",
    "hearing_loop": "Hearing loop",
    "bsl": "British Sign Language (BSL)",
    "quiet_space": "Quiet space",
    "large_print": "Large print",
    "easy_read": "Easy read",
    "parking": "Parking",
    "assistance_dogs": "Assistance dogs welcome",
}
ACCESS_FEATURES: tuple[str, ...] = get_args(AccessFeature)
KIND_LABELS = {kind: kind.capitalize() for kind in ASSET_KINDS}
ATTENDANCE_LABELS = {
    "drop_in": "Drop in: no need to book",
    "booking": "Book a place first",
    "referral": "By referral",
}
GENDER_LABELS = {"any": "Everyone", "women": "Women only", "men": "Men only"}
# What the listing is good for: the connection types practitioners search by.
CONNECTION_LABELS = {
    "local": "Meeting neighbours and local people",
    "interest": "Sharing a hobby, sport or interest",
    "reconnect": "Reconnecting with family or friends",
}
PERIOD_LABELS = {p: f"per {p}" for p in get_args(CostPeriod)}
COST_CHOICES = {"free": "Free", "paid": "It costs", "unknown": "Not stated"}
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", -1: "last"}
# How often a session meets: "weekly", "fortnightly" or "monthly:<weeks of the month>".
FREQUENCY_LABELS = {
    "weekly": "Every week",
    "fortnightly": "Every other week",
    **{f"monthly:{n}": f"Monthly, {_ORDINALS[n]} week" for n in (1, 2, 3, 4, -1)},
}
# Model error paths under location/eligibility/sessions -> form field.
_LOCATION_FIELDS = ("lat", "lon", "address", "postcode", "place")
_ELIGIBILITY_FIELDS = {
    "min_age": "min_age",
    "gender": "gender",
    "groups": "groups",
    "notes": "eligibility-notes",
}
_SESSION_PARTS = {
    "weekdays": "days",
    "start": "start",
    "end": "end",
    "frequency": "often",
    "weeks_of_month": "often",
    "notes": "notes",
}
# Plain words for pydantic's error types.
_MESSAGES = {
    "float_parsing": "Enter a number",
    "float_type": "Enter a number",
    "int_parsing": "Enter a whole number",
    "time_parsing": "Enter a time such as 10:00",
    "time_type": "Enter a time such as 10:00",
    "literal_error": "Choose one of the options",
}


@dataclass
class FormCheck:
    """The outcome of checking a form: the changes to store, or messages by field."""

    changes: dict[str, Any]
    asset: Asset | None
    errors: dict[str, str] = field(default_factory=dict)


# --- field values ---------------------------------------------------------------------------


def blank_session() -> dict[str, Any]:
    return {"days": [], "start": "", "end": "", "often": "weekly", "notes": "", "keep": {}}


def blank_values() -> dict[str, Any]:
    """The fields of an empty form: one blank session, free, for everyone."""
    return {
        "name": "",
        "kind": "activity",
        "description": "",
        "category": [""] * CATEGORY_SELECTS,
        "address": "",
        "postcode": "",
        "place": "",
        "lat": "",
        "lon": "",
        # How the point was found, and the point that holds for ("lat,lon"): moving the
        # point in any way (typing, the map) makes it a "point" again (see changes_of).
        "precision": "point",
        "precision_at": "",
        "sessions": [blank_session()],
        "attendance": "drop_in",
        "group_size": "",
        "companion_welcome": True,  # a checkbox, ticked on a new listing as the model's default
        "connection_types": [],
        "languages": "English",
        "cost": "free",
        "cost-amount": "",
        "cost-per": "session",
        "concessions": "",
        "access": [],
        "access-notes": "",
        "min_age": "",
        "max_age": "",
        "with_carers": False,  # a checkbox: ticked means the ages are the children's
        "gender": "any",
        "groups": "",
        "eligibility-notes": "",
        "contact-name": "",
        "contact-email": "",
        "contact-phone": "",
        "contact-url": "",
        "version": "",
    }


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _often(session: Session) -> str:
    if session.frequency != "monthly":
        return session.frequency
    return "monthly:" + ",".join(str(w) for w in session.weeks_of_month or [])


def values_of(asset: Asset) -> dict[str, Any]:
    """The form's fields filled from a stored listing."""
    loc, cost, elig, contact = asset.location, asset.cost, asset.eligibility, asset.contact
    categories = list(asset.categories)
    cost_choice = "unknown" if cost.amount is None else "free" if cost.amount == 0 else "paid"
    return {
        **blank_values(),
        "name": asset.name,
        "kind": asset.kind,
        "description": asset.description,
        "category": categories + [""] * (CATEGORY_SELECTS - len(categories)),
        "address": _text(loc.address),
        "postcode": _text(loc.postcode),
        "place": _text(loc.place),
        "lat": str(loc.lat),  # as stored: an edit that leaves the point alone keeps it
        "lon": str(loc.lon),
        "precision": loc.precision,
        "precision_at": _point_key(str(loc.lat), str(loc.lon)),
        "sessions": [
            {
                "days": list(s.weekdays),
                "start": f"{s.start:%H:%M}",
                "end": f"{s.end:%H:%M}",
                "often": _often(s),
                "notes": _text(s.notes),
                "keep": {
                    k: v.isoformat()
                    for k, v in (("valid_from", s.valid_from), ("valid_to", s.valid_to))
                    if v is not None
                },
            }
            for s in asset.sessions
        ]
        or [blank_session()],
        "attendance": asset.attendance,
        "group_size": _text(asset.group_size),
        "companion_welcome": asset.companion_welcome,
        "connection_types": list(asset.connection_types),
        "languages": languages_text(asset.languages),
        "cost": cost_choice,
        "cost-amount": f"{cost.amount:.2f}" if cost_choice == "paid" else "",
        "cost-per": cost.per,
        "concessions": _text(cost.concessions),
        "access": list(asset.accessibility.features),
        "access-notes": _text(asset.accessibility.notes),
        "min_age": _text(elig.min_age),
        "max_age": _text(elig.max_age),
        "with_carers": elig.with_carers,
        "gender": elig.gender,
        "groups": "; ".join(elig.groups),
        "eligibility-notes": _text(elig.notes),
        "contact-name": _text(contact.name),
        "contact-email": _text(contact.email),
        "contact-phone": _text(contact.phone),
        "contact-url": _text(contact.url),
        "version": str(asset.version),
    }


def read_form(form: FormData) -> dict[str, Any]:
    """The fields as submitted (strings, lists for the checkbox groups, True or False for
    the ``with_carers`` tick box), ready to show again.

    ``action=add_session`` (the "Add another session" button) adds a blank session row.
    """
    values = blank_values()
    for name, default in values.items():
        if isinstance(default, str):
            values[name] = form_text(form.get(name, default))
    values["category"] = [_text(c) for c in form.getlist("category")][:MAX_CATEGORIES]
    values["category"] += [""] * (CATEGORY_SELECTS - len(values["category"]))
    values["access"] = [f for f in form.getlist("access") if f in ACCESS_FEATURES]
    values["with_carers"] = form.get("with_carers") == "yes"
    values["companion_welcome"] = form.get("companion_welcome") == "yes"
    values["connection_types"] = [
        c for c in form.getlist("connection_types") if c in CONNECTION_TYPES
    ]
    try:
        rows = int(_text(form.get("session_rows")) or 1)
    except ValueError:
        rows = 1
    rows = max(1, min(rows, MAX_SESSIONS))
    sessions = []
    for i in range(rows):
        keep = {k: _text(form.get(f"s{i}-{k}")) for k in ("valid_from", "valid_to")}
        sessions.append(
            {
                "days": [d for d in form.getlist(f"s{i}-days") if d in WEEKDAYS],
                "start": _text(form.get(f"s{i}-start")).strip(),
                "end": _text(form.get(f"s{i}-end")).strip(),
                "often": _text(form.get(f"s{i}-often")) or "weekly",
                "notes": _text(form.get(f"s{i}-notes")).strip(),
                "keep": {k: v for k, v in keep.items() if v},
                "remove": form.get(f"s{i}-remove") == "yes",
            }
        )
    if form.get("action") == "add_session" and rows < MAX_SESSIONS:
        sessions.append(blank_session())
    values["sessions"] = sessions
    return values


# --- location -------------------------------------------------------------------------------


def _point_key(lat: str, lon: str) -> str:
    """The form's point as the ``precision_at`` field holds it."""
    return f"{lat},{lon}"


def precision_of(values: dict[str, Any]) -> LocationPrecision:
    """The form's point's precision: what the lookup (or the stored listing) said while
    the point is still the one it said it for, else a point given by hand or the map."""
    said = values["precision"]
    if said in LOCATION_PRECISIONS and values["precision_at"] == _point_key(
        values["lat"], values["lon"]
    ):
        return cast(LocationPrecision, said)
    return "point"


def locate(values: dict[str, Any], geocoder: Geocoder) -> tuple[str | None, dict[str, str]]:
    """Fill ``lat``/``lon`` from the postcode, place or address when both are blank.

    Returns the label of the point found (None when the fields were already filled)
    and messages by field when the point cannot be found.
    """
    lat, lon = values["lat"], values["lon"]
    if lat and lon:
        return None, {}
    if lat or lon:
        missing = "lon" if lat else "lat"
        word = "longitude" if lat else "latitude"
        return None, {missing: f"Enter the {word} too, or clear both to look up the postcode"}
    tried = place_listing(geocoder, values)
    if tried is not None:
        name, found = tried
        if found is not None:
            values["lat"], values["lon"] = f"{found.lat:.6f}", f"{found.lon:.6f}"
            values["precision"] = found.precision
            values["precision_at"] = _point_key(values["lat"], values["lon"])
            return found.label, {}
        return None, {
            name: f"“{values[name]}” was not found: check it, or choose the point on the map "
            "(or type the latitude and longitude)"
        }
    return None, {
        "lat": "Give a postcode or place, or choose the point on the map "
        "(or type the latitude and longitude)"
    }


# --- checking -------------------------------------------------------------------------------


def _blank(value: str) -> str | None:
    return value or None


def _sessions(values: dict[str, Any], errors: dict[str, str]) -> tuple[list[Any], list[int]]:
    """The sessions to store and, for each, the form row it came from."""
    out: list[Any] = []
    rows: list[int] = []
    for i, s in enumerate(values["sessions"]):
        if s.get("remove") or not (s["days"] or s["start"] or s["end"]):
            continue
        if not s["days"]:
            errors[f"s{i}-days"] = "Choose the day or days it meets"
        if not s["start"]:
            errors[f"s{i}-start"] = "Enter the start time, such as 10:00"
        if not s["end"]:
            errors[f"s{i}-end"] = "Enter the end time, such as 12:00"
        frequency, _, weeks = s["often"].partition(":")
        try:
            weeks_of_month = [int(w) for w in weeks.split(",")] if weeks else None
        except ValueError:
            errors[f"s{i}-often"] = "Choose how often it meets"
            weeks_of_month = None
        out.append(
            {
                "weekdays": s["days"],
                "start": _blank(s["start"]),
                "end": _blank(s["end"]),
                "frequency": frequency,
                "weeks_of_month": weeks_of_month,
                "notes": _blank(s["notes"]),
                **s.get("keep", {}),
            }
        )
        rows.append(i)
    return out, rows


def _cost(values: dict[str, Any], base: Mapping[str, Any], errors: dict[str, str]) -> Any:
    choice = values["cost"]
    amount: str | float | None
    if choice == "paid":
        amount = values["cost-amount"].removeprefix("£").strip() or None
        if amount is None:
            errors["cost-amount"] = "Enter the amount, or choose Free or Not stated"
    elif choice == "unknown":
        amount = None
    else:
        amount = 0.0
    return {
        **base,
        "amount": amount,
        "per": values["cost-per"],
        "concessions": _blank(values["concessions"]),
    }


def _groups(text: str) -> list[str]:
    return [g.strip() for g in re.split(r"[;\n]", text) if g.strip()]


def changes_of(values: dict[str, Any], base: Asset | None) -> FormCheck:
    """The asset fields the form sets, checked with the Asset model over ``base`` (the
    stored listing, or None for a new one, which is saved as ``pending``)."""
    errors: dict[str, str] = {}
    stored = base.model_dump(mode="json") if base is not None else {}
    categories = [c for c in values["category"] if c]
    if not categories:
        errors["category-1"] = "Choose at least one category"
    sessions, session_rows = _sessions(values, errors)
    try:
        languages = languages_in(values["languages"])
    except InvalidInputError as exc:
        errors["languages"] = str(exc)
        languages = stored.get("languages", ["en"])
    if not languages:
        errors["languages"] = "Say which languages it is run in, e.g. English"
    changes: dict[str, Any] = {
        "name": values["name"],
        "kind": values["kind"],
        "description": values["description"],
        "categories": list(dict.fromkeys(categories)),
        "location": {
            **stored.get("location", {}),
            "lat": values["lat"] or None,
            "lon": values["lon"] or None,
            "address": _blank(values["address"]),
            "postcode": _blank(values["postcode"]),
            "place": _blank(values["place"]),
            "precision": precision_of(values),
        },
        "sessions": sessions,
        "attendance": values["attendance"],
        "group_size": _blank(values["group_size"]),
        "companion_welcome": values["companion_welcome"],
        "connection_types": values["connection_types"],
        "languages": languages,
        "cost": _cost(values, stored.get("cost", {}), errors),
        "accessibility": {
            "features": values["access"],
            "notes": _blank(values["access-notes"]),
        },
        "eligibility": {
            **stored.get("eligibility", {}),
            "min_age": _blank(values["min_age"]),
            "max_age": _blank(values["max_age"]),
            "with_carers": values["with_carers"],
            "gender": values["gender"],
            "groups": _groups(values["groups"]),
            "notes": _blank(values["eligibility-notes"]),
        },
        "contact": {
            "name": _blank(values["contact-name"]),
            "email": _blank(values["contact-email"]),
            "phone": _blank(values["contact-phone"]),
            "url": _blank(values["contact-url"]),
        },
    }
    data = {**stored, **changes}
    if base is None:
        data["status"] = "pending"
    try:
        asset = Asset.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            name = field_of(tuple(err["loc"]), session_rows)
            errors.setdefault(name, message_of(err))
        return FormCheck(changes, None, errors)
    if errors:
        return FormCheck(changes, None, errors)
    # The validated values (numbers as numbers, times as times) are what gets stored.
    validated = asset.model_dump(mode="json")
    return FormCheck({k: validated[k] for k in changes}, asset)


def field_of(loc: tuple[Any, ...], session_rows: list[int]) -> str:
    """The form field a model error path points at (``("location", "lat")`` -> ``lat``);
    "" when no one field is to blame."""
    head = str(loc[0]) if loc else ""
    part = str(loc[1]) if len(loc) > 1 else ""
    if head == "categories":
        return "category-1"
    if head == "location":
        return part if part in _LOCATION_FIELDS else "lat"
    if head == "sessions" and len(loc) > 1 and isinstance(loc[1], int):
        row = session_rows[loc[1]] if loc[1] < len(session_rows) else loc[1]
        inner = str(loc[2]) if len(loc) > 2 else "end"  # a whole-session rule: end vs start
        return f"s{row}-{_SESSION_PARTS.get(inner, 'end')}"
    if head == "cost":
        return "concessions" if part == "concessions" else "cost-amount"
    if head == "accessibility":
        return "access-notes" if part == "notes" else "access"
    if head == "eligibility":
        return _ELIGIBILITY_FIELDS.get(part, "max_age")
    if head == "contact":
        return f"contact-{part or 'email'}"
    if head in ("name", "kind", "description", "attendance", "group_size", "languages"):
        return head
    if head == "connection_types":
        return "connection_types"
    return ""


def message_of(err: Mapping[str, Any]) -> str:
    """A pydantic error in plain words (the model's own messages are kept)."""
    kind = err.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    loc = tuple(err.get("loc", ()))
    if kind == "string_too_short" and loc == ("name",):
        return "Enter the name of the activity"
    if kind == "string_pattern_mismatch" and loc[-1:] == ("email",):
        return "Enter an email address such as name@example.org"
    if kind == "string_pattern_mismatch" and loc[-1:] == ("url",):
        return "Enter a web address starting with https:// or http://"
    message = error_message(err).replace("`", "")
    return message.replace("Input should be", "Must be")


# --- labels for the error summary -------------------------------------------------------------

_LABELS = {
    "name": "Name",
    "kind": "Kind",
    "description": "Description",
    "category-1": "Category",
    "address": "Address",
    "postcode": "Postcode",
    "place": "Place",
    "lat": "Latitude",
    "lon": "Longitude",
    "attendance": "How to join",
    "group_size": "Usual group size",
    "connection_types": "Good for",
    "languages": "Languages",
    "cost-amount": "Cost",
    "concessions": "Concessions",
    "access": "Accessibility",
    "access-notes": "Accessibility notes",
    "min_age": "Youngest age",
    "max_age": "Oldest age",
    "gender": "Who can come",
    "groups": "Groups it is for",
    "eligibility-notes": "Notes on who it is for",
    "contact-name": "Contact name",
    "contact-email": "Contact email",
    "contact-phone": "Contact phone",
    "contact-url": "Web page",
}
_PART_LABELS = {
    "days": "days",
    "start": "start",
    "end": "end",
    "often": "how often",
    "notes": "notes",
}


def label_of(name: str) -> str:
    """What the error summary calls a field."""
    m = re.fullmatch(r"s(\d+)-(\w+)", name)
    if m:
        return f"Session {int(m[1]) + 1} {_PART_LABELS.get(m[2], m[2])}"
    return _LABELS.get(name, "")


def anchor_of(name: str) -> str:
    """The id the error summary links to: a group's first control, else the field."""
    if name == "access":
        return f"access-{ACCESS_FEATURES[0]}"
    if name == "connection_types":
        return f"connection-{CONNECTION_TYPES[0]}"
    m = re.fullmatch(r"s(\d+)-days", name)
    if m:
        return f"s{m[1]}-day-{WEEKDAYS[0]}"
    return name or "listing-form"


# --- choices for the template -----------------------------------------------------------------


def category_groups(taxonomy: Taxonomy) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(root name, [(term id, label), ...]), ...]`` for grouped category selects."""
    out = []
    for root in taxonomy.roots():
        options = [(root.id, f"{root.name} (any)")]
        for term_id in taxonomy.descendants(root.id):
            term = taxonomy.get(term_id)
            indent = "\u2013 " * (taxonomy.depth(term_id) - 1)
            options.append((term_id, f"{indent}{term.name}"))
        out.append((root.name, options))
    return out


def frequency_choices(values: dict[str, Any]) -> dict[str, str]:
    """The "how often" options, plus any stored monthly pattern the list lacks."""
    choices = dict(FREQUENCY_LABELS)
    for s in values["sessions"]:
        often = s["often"]
        if often.startswith("monthly:") and often not in choices:
            weeks = often.partition(":")[2].split(",")
            names = [_ORDINALS.get(int(w), w) if w.lstrip("-").isdigit() else w for w in weeks]
            choices[often] = f"Monthly, {' and '.join(names)} weeks"
    return choices


WEEKDAY_CHOICES = [(d, WEEKDAY_NAMES[d]) for d in WEEKDAYS]
GENDERS: tuple[str, ...] = get_args(Gender)
ATTENDANCES: tuple[str, ...] = get_args(Attendance)
