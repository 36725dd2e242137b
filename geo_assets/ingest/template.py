"""The spreadsheet template for community organisations: one row per activity.

:data:`COLUMNS` documents every column (the README table is written from it); a
:class:`RowReader` turns one row of cells into an :class:`Asset`, naming the column and
cell of every problem; :func:`asset_row` writes an asset back into the same columns, so
export -> import gives the same assets.

Identity: a row is keyed by (``source``, ``source_id``). ``source`` defaults to
"spreadsheet"; a blank ``source_id`` is derived from organisation, name and postcode, so
re-importing the same sheet updates rather than duplicates (give your own ``source_id``
if you rename activities). Organisations are matched by name: the same name, in any
file, is the same organisation, and the stored one of that name when the reader is
given the store's (``organisations_by_name``), so a re-imported export stays under the
organisations it came from.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, get_args

from pydantic import ValidationError

from geo_assets.errors import InvalidInputError, RowError, error_message
from geo_assets.geocode import LISTING_PLACE_FIELDS, Geocoder, GeocodeResult, ListingPlacer
from geo_assets.ingest.categories import CategoryResolver
from geo_assets.ingest.sessions import format_sessions, parse_sessions
from geo_assets.languages import languages_in
from geo_assets.model import (
    ASSET_KINDS,
    ASSET_STATUSES,
    CONNECTION_TYPES,
    LOCATION_PRECISIONS,
    AccessFeature,
    Asset,
    Attendance,
    CostPeriod,
    Organisation,
)
from geo_assets.taxonomy import Taxonomy

DEFAULT_SOURCE = "spreadsheet"
# Fixed namespace so an organisation's id follows from its name in every file and run.
_ORG_NAMESPACE = uuid.UUID("6f1d2c1e-58b1-4f0e-9a55-0b7f3f0c2a11")


@dataclass(frozen=True)
class Column:
    name: str
    help: str
    required: bool = False
    example: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name of the activity, group or venue.", True, "Knit and Natter"),
    Column("kind", "activity, group, club or venue (blank: activity).", False, "group"),
    Column("organisation", "Who runs it; rows with the same name share one organisation.",
           False, "Manningham Community Association"),
    Column("description", "A few sentences, plain text.", False, "Friendly knitting group."),
    Column("categories", "Taxonomy ids, names or synonyms, separated by ';' "
           "(see `geo-assets taxonomy`).", True, "knitting; coffee morning"),
    Column("connection_types", "local, interest and/or reconnect, separated by ';'."),
    Column("address", "Street address.", False, "1 Lumb Lane, Bradford"),
    Column("postcode", "Postcode, if any.", False, "BD8 7QU"),
    Column("place", "Town, village or neighbourhood.", False, "Manningham"),
    Column("lat", "Latitude, decimal degrees (WGS84). Leave lat and lon blank to place it "
           "at its postcode's centre (else its place's, else its address's).", False,
           "53.8012"),
    Column("lon", "Longitude, decimal degrees (WGS84); blank with lat.", False, "-1.7634"),
    Column("location_precision", "What lat/lon mark: point (where it meets; blank: point), "
           "postcode (a postcode's centre) or area (a postcode district's or a place's "
           "centre)."),
    Column("sessions", "When it runs, as people write it, several separated by ';' "
           "(e.g. 'Tuesdays 10-12; 1st Monday of the month 7pm-9pm').", False,
           "Tuesdays 10-12"),
    Column("cost", "'free', an amount ('£3', '£2.50 per week', '10 EUR'), or blank "
           "when not stated.", False, "£2 per session"),
    Column("cost_notes", "Anything else about cost (e.g. 'donations welcome')."),
    Column("concessions", "Reduced prices, in words.", False, "free for carers"),
    Column("accessibility", "Features separated by ';': wheelchair, step free, accessible "
           "toilet, changing places, hearing loop, bsl, quiet space, large print, easy read, "
           "parking, assistance dogs.", False, "wheelchair; hearing loop"),
    Column("accessibility_notes", "Access details in words."),
    Column("min_age", "Youngest age welcome, whole years."),
    Column("max_age", "Oldest age welcome, whole years."),
    Column("with_carers", "yes when the ages are the children's and the parents or carers "
           "who bring them join in (parent and toddler, stay and play); no or blank "
           "otherwise.", False, "no"),
    Column("women_only", "yes / no (blank: no).", False, "no"),
    Column("men_only", "yes / no (blank: no); not both women_only and men_only.", False, "no"),
    Column("eligibility_groups", "Groups it is for, separated by ';' (e.g. carers; veterans)."),
    Column("languages", "Language names or codes, e.g. 'English; Urdu' or 'en, ur' "
           "(blank: en).", False, "en; ur"),
    Column("attendance", "drop_in, booking or referral (blank: drop_in).", False, "drop_in"),
    Column("group_size", "Typical number of people."),
    Column("companion_welcome", "yes / no: a friend or supporter may come along on the "
           "first visit (blank: yes).", False, "yes"),
    Column("contact_name", "Who to ask."),
    Column("contact_email", "Email address.", False, "hello@example.org"),
    Column("contact_phone", "Phone number."),
    Column("contact_url", "Web page, starting http:// or https://."),
    Column("status", "draft, pending, published or archived (blank: draft).", False,
           "published"),
    Column("last_verified", "Date the listing was last confirmed (YYYY-MM-DD)."),
    Column("source", "Where the row comes from (blank: spreadsheet)."),
    Column("source_id", "Your own reference for the row; keeps re-imports from duplicating "
           "(blank: made from organisation, name and postcode).", False, "knit-001"),
)  # fmt: skip
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
# Header spellings people use, normalised (lower case, spaces to underscores).
_HEADER_ALIASES = {
    "organization": "organisation", "org": "organisation", "organisation_name": "organisation",
    "category": "categories", "latitude": "lat", "longitude": "lon", "lng": "lon",
    "long": "lon", "post_code": "postcode", "postal_code": "postcode", "zip": "postcode",
    "session": "sessions", "times": "sessions", "when": "sessions", "type": "kind",
    "email": "contact_email", "phone": "contact_phone", "telephone": "contact_phone",
    "website": "contact_url", "url": "contact_url", "web": "contact_url",
    "language": "languages", "town": "place", "id": "source_id", "reference": "source_id",
}  # fmt: skip
_FEATURES: tuple[str, ...] = get_args(AccessFeature)
_FEATURE_ALIASES = {
    "wheelchair accessible": "wheelchair", "wheelchair access": "wheelchair",
    "disabled access": "wheelchair", "step-free": "step_free", "level access": "step_free",
    "disabled toilet": "accessible_toilet", "accessible toilets": "accessible_toilet",
    "induction loop": "hearing_loop", "loop": "hearing_loop", "british sign language": "bsl",
    "guide dogs": "assistance_dogs", "assistance dog": "assistance_dogs",
    "car park": "parking", "quiet room": "quiet_space", "changing place": "changing_places",
}  # fmt: skip
_CURRENCY_SYMBOLS = {"£": "GBP", "€": "EUR", "$": "USD"}
_SYMBOL_OF = {v: k for k, v in _CURRENCY_SYMBOLS.items()}
_PERIODS: tuple[str, ...] = get_args(CostPeriod)
_ATTENDANCE: tuple[str, ...] = get_args(Attendance)
_TRUE = frozenset({"yes", "y", "true", "t", "1", "x"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})
# Model error paths -> the column the person should fix.
_PATH_COLUMNS = {
    "location.lat": "lat", "location.lon": "lon", "location.address": "address",
    "location.postcode": "postcode", "location.place": "place", "cost": "cost",
    "cost.concessions": "concessions", "accessibility": "accessibility",
    "eligibility.min_age": "min_age", "eligibility.max_age": "max_age",
    "eligibility": "max_age", "contact.email": "contact_email",
    "contact.phone": "contact_phone", "contact.url": "contact_url",
    "contact.name": "contact_name", "last_verified_at": "last_verified",
}  # fmt: skip


def normalise_header(text: Any) -> str:
    key = re.sub(r"[\s\-]+", "_", str(text or "").strip().casefold())
    return _HEADER_ALIASES.get(key, key)


def column_letter(index: int) -> str:
    """Spreadsheet letters of a 0-based column index (0 -> A, 26 -> AA)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _slug(text: str) -> str:
    """A part of a derived ``source_id``: its ASCII letters and digits, as it always was
    (a stored listing's key must still be the one its sheet makes); text with none, as in
    a name written only in Devanagari, keeps every letter, mark and digit instead, else
    "योग कक्षा" and "गीत समूह" both gave "" and one overwrote the other."""
    plain = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    if plain:
        return plain
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in folded)
    return "-".join(kept.split())


def organisation_key(name: str) -> str:
    """What organisation names are matched by: case and spacing ignored."""
    return " ".join(name.casefold().split())


def organisation_id(name: str) -> str:
    """The id an organisation named ``name`` gets (case and spacing ignored)."""
    return uuid.uuid5(_ORG_NAMESPACE, organisation_key(name)).hex


def organisations_by_name(organisations: Iterable[Organisation]) -> dict[str, str]:
    """``RowReader``'s ``known_organisations``: ids by ``organisation_key`` of the name, for
    the names only one of them has (of two, which one a row means is a guess)."""
    ids: dict[str, set[str]] = {}
    for org in organisations:
        ids.setdefault(organisation_key(org.name), set()).add(org.id)
    return {key: found.pop() for key, found in ids.items() if len(found) == 1}


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


class RowReader:
    """Reads template rows into assets; collects the organisations they name, but for
    those in ``known_organisations`` (``organisations_by_name``), which rows go under.

    ``key_by_organisation=False`` leaves the organisation out of a derived ``source_id``:
    for an organisation's own upload, whose ``organisation`` column is ignored, so editing
    that column must not make the same row a new listing."""

    def __init__(
        self,
        *,
        source: str = DEFAULT_SOURCE,
        taxonomy: Taxonomy | None = None,
        geocoder: Geocoder | None = None,
        known_organisations: Mapping[str, str] | None = None,
        key_by_organisation: bool = True,
    ):
        self.source = source
        self.categories = CategoryResolver(taxonomy)
        self.organisations: dict[str, Organisation] = {}
        self.known = known_organisations or {}
        self.key_by_organisation = key_by_organisation
        # Places rows with no lat/lon by postcode, place or address; None: they need both.
        self.placer = ListingPlacer(geocoder) if geocoder is not None else None
        self.placed: list[tuple[int, str]] = []  # (row, what placed it) for rows placed so

    def read(
        self, row: int, cells: Mapping[str, Any], cell_ref: Callable[[str], str]
    ) -> Asset | list[RowError]:
        """One row (column name -> cell value) as an Asset, or every problem in it."""
        errors: list[RowError] = []

        def take(column: str, convert: Callable[[Any], Any]) -> Any:
            try:
                return convert(cells.get(column))
            except _CellError as exc:
                errors.append(RowError(row, exc.column, f"{exc} (cell {cell_ref(exc.column)})"))
            except InvalidInputError as exc:
                errors.append(RowError(row, column, f"{exc} (cell {cell_ref(column)})"))
            return None

        name = _text(cells.get("name"))
        org_name = _text(cells.get("organisation"))
        postcode = _text(cells.get("postcode"))
        key_org = org_name if self.key_by_organisation else None
        placed = self._place(row, cells, cell_ref, errors)
        need_point = placed is None and not errors
        women, men = take("women_only", _boolean), take("men_only", _boolean)
        if women and men:  # a listing is for women, for men or for everyone
            where = f"cells {cell_ref('women_only')}, {cell_ref('men_only')}"
            errors.append(
                RowError(
                    row,
                    "women_only, men_only",
                    f"women_only and men_only are both yes: write yes in one at most ({where})",
                )
            )
        data: dict[str, Any] = {
            "name": name or "",
            "kind": take("kind", lambda v: _choice(v, "kind", ASSET_KINDS, "activity")),
            "description": _text(cells.get("description")) or "",
            "categories": take("categories", self._categories),
            "connection_types": take(
                "connection_types",
                lambda v: [
                    _choice(x, "connection_types", CONNECTION_TYPES, None) for x in _items(v)
                ],
            ),
            "location": {
                "lat": take("lat", lambda v: _number(v, "lat", required=need_point)),
                "lon": take("lon", lambda v: _number(v, "lon", required=need_point)),
                "address": _text(cells.get("address")),
                "postcode": postcode,
                "place": _text(cells.get("place")),
                "precision": take(
                    "location_precision",
                    lambda v: _choice(v, "location_precision", LOCATION_PRECISIONS, "point"),
                ),
            },
            "sessions": take("sessions", lambda v: parse_sessions(_text(v) or "")),
            "cost": take("cost", lambda v: _cost(v, cells)),
            "accessibility": {
                "features": take("accessibility", _features),
                "notes": _text(cells.get("accessibility_notes")),
            },
            "eligibility": {
                "min_age": take("min_age", lambda v: _integer(v, "min_age")),
                "max_age": take("max_age", lambda v: _integer(v, "max_age")),
                "gender": "women" if women else "men" if men else "any",
                "groups": _items(cells.get("eligibility_groups")),
                "with_carers": take("with_carers", _boolean),
            },
            "languages": take("languages", _languages),
            "attendance": take(
                "attendance", lambda v: _choice(v, "attendance", _ATTENDANCE, "drop_in")
            ),
            "group_size": take("group_size", lambda v: _integer(v, "group_size")),
            "companion_welcome": take(
                "companion_welcome", lambda v: True if _text(v) is None else _boolean(v)
            ),
            "contact": {
                "name": _text(cells.get("contact_name")),
                "email": _text(cells.get("contact_email")),
                "phone": _text(cells.get("contact_phone")),
                "url": _text(cells.get("contact_url")),
            },
            "status": take("status", lambda v: _choice(v, "status", ASSET_STATUSES, "draft")),
            "last_verified_at": take("last_verified", _date),
            "source": _text(cells.get("source")) or self.source,
            "source_id": _text(cells.get("source_id"))
            or "/".join(_slug(p) for p in (key_org or "", name or "", postcode or ""))[:300],
        }
        if placed is not None:
            data["location"].update(lat=placed.lat, lon=placed.lon, precision=placed.precision)
        lat, lon = data["location"]["lat"], data["location"]["lon"]
        if lat is not None and lon is not None:
            problem = _coordinate_problem(lat, lon)
            if problem:
                errors.append(
                    RowError(row, "lat", f"{problem} (cells {cell_ref('lat')}, {cell_ref('lon')})")
                )
        if not name:
            errors.append(RowError(row, "name", f"is empty (cell {cell_ref('name')})"))
        if org_name:
            data["organisation_id"] = self._organisation(org_name)
        if errors:
            return errors
        try:
            return Asset.model_validate(data)
        except ValidationError as exc:
            return [_model_error(row, err, cell_ref) for err in exc.errors()]

    def _place(
        self,
        row: int,
        cells: Mapping[str, Any],
        cell_ref: Callable[[str], str],
        errors: list[RowError],
    ) -> GeocodeResult | None:
        """The point of a row whose lat and lon are both blank, from its postcode, place or
        address (``place_listing``); None when it has coordinates, when there is no
        geocoder, or when the look-up failed (then a row error names the field)."""
        if self.placer is None or any(_text(cells.get(c)) for c in ("lat", "lon")):
            return None
        placing = self.placer.place({name: _text(cells.get(name)) for name in LISTING_PLACE_FIELDS})
        if placing is None:
            return None  # nothing to go by: "lat is empty" says what to give
        if placing.found is None:
            guess = f" (did you mean {placing.guess!r}?)" if placing.guess else ""
            errors.append(
                RowError(
                    row,
                    placing.field,
                    f"{placing.text!r} was not found{guess}, so the row cannot be placed: "
                    f"check it, or give lat and lon (cell {cell_ref(placing.field)})",
                )
            )
            return None
        self.placed.append((row, placing.found.label))
        return placing.found

    def _categories(self, value: Any) -> list[str]:
        items = _items(value)
        if not items:
            raise InvalidInputError("give at least one category (see `geo-assets taxonomy`)")
        out, unknown = [], []
        for item in items:
            term = self.categories.resolve(item)
            (out.append(term) if term else unknown.append(item))
        if unknown:
            raise InvalidInputError(
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(repr(u) for u in unknown)}; use ids, names or synonyms from "
                "`geo-assets taxonomy`"
            )
        return list(dict.fromkeys(out))

    def _organisation(self, name: str) -> str:
        key = organisation_key(name)
        if key in self.known:
            return self.known[key]
        org_id = organisation_id(name)
        if org_id not in self.organisations:
            self.organisations[org_id] = Organisation(
                id=org_id, name=name, source=self.source, source_id=key[:300]
            )
        return org_id


def _model_error(row: int, err: Mapping[str, Any], cell_ref: Callable[[str], str]) -> RowError:
    path = ".".join(str(p) for p in err["loc"])
    column = _PATH_COLUMNS.get(path) or _PATH_COLUMNS.get(path.split(".")[0])
    if column is None:
        head = path.split(".")[0]
        column = head if head in COLUMN_NAMES else path or "(row)"
    where = f" (cell {cell_ref(column)})" if column in COLUMN_NAMES else ""
    return RowError(row, column, f"{error_message(err)}{where}")


def _coordinate_problem(lat: float, lon: float) -> str | None:
    if lat == 0 and lon == 0:
        return "0, 0 is not a real place (empty coordinates?)"
    if abs(lat) > 90 and abs(lon) <= 90:
        return f"latitude {lat} is outside -90..90: are lat and lon swapped?"
    return None


# --- cell converters -------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = str(value).strip()
    return text or None


def _items(value: Any) -> list[str]:
    text = _text(value)
    if not text:
        return []
    return [p.strip() for p in re.split(r"[;,\n]", text) if p.strip()]


def _number(value: Any, column: str, *, required: bool = False) -> float | None:
    if isinstance(value, bool):
        raise InvalidInputError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return float(value)
    text = _text(value)
    if text is None:
        if required:
            raise InvalidInputError("is empty: give decimal degrees, e.g. 53.7950 / -1.7590")
        return None
    try:
        number = float(text.replace("\u2212", "-"))
    except ValueError:
        raise InvalidInputError(f"{text!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidInputError(f"{text!r} is not a finite number")
    return number


def _integer(value: Any, column: str) -> int | None:
    number = _number(value, column)
    if number is None:
        return None
    if not number.is_integer():
        raise InvalidInputError(f"{number:g} is not a whole number")
    return int(number)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = (_text(value) or "no").casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"{text!r}: write yes or no")


def _choice(value: Any, column: str, allowed: tuple[str, ...], default: str | None) -> Any:
    text = _text(value)
    if text is None:
        if default is None:
            raise InvalidInputError(f"is empty; allowed: {', '.join(allowed)}")
        return default
    key = re.sub(r"[\s\-]+", "_", text.casefold())
    if key not in allowed:
        raise InvalidInputError(f"{text!r} is not one of {', '.join(allowed)}")
    return key


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInputError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _features(value: Any) -> list[str]:
    out, unknown = [], []
    for item in _items(value):
        key = item.casefold().strip()
        feature = _FEATURE_ALIASES.get(key) or re.sub(r"[\s\-]+", "_", key)
        (out.append(feature) if feature in _FEATURES else unknown.append(item))
    if unknown:
        raise InvalidInputError(
            f"unknown feature(s) {', '.join(repr(u) for u in unknown)}; allowed: "
            f"{', '.join(f.replace('_', ' ') for f in _FEATURES)}"
        )
    return out


def _languages(value: Any) -> list[str]:
    return languages_in(_text(value) or "") or ["en"]


_COST_RE = re.compile(
    r"^(?P<sym>[£€$])?\s*(?P<amount>\d+(?:\.\d{1,2})?)\s*(?P<code>[A-Za-z]{3})?"
    r"(?:\s*(?:per|a|an|/)\s*(?P<per>\w+))?$"
)


def _cost(value: Any, cells: Mapping[str, Any]) -> dict[str, Any]:
    notes = _text(cells.get("cost_notes"))
    concessions = _text(cells.get("concessions"))
    base = {"notes": notes, "concessions": concessions}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {**base, "amount": float(value)}
    text = _text(value)
    if text is None:
        return {**base, "amount": None}
    if text.casefold() in ("free", "no charge", "none", "0"):
        return {**base, "amount": 0.0}
    m = _COST_RE.match(text.replace(",", ""))
    if m is None:
        if re.search(r"\d", text):
            raise InvalidInputError(
                f"{text!r}: write 'free', an amount such as '£3' or '£2.50 per week', "
                "or put words in cost_notes"
            )
        return {**base, "amount": None, "notes": notes or text}
    per = (m["per"] or "session").casefold().rstrip("s")
    per = {"term": "course", "class": "session", "visit": "session"}.get(per, per)
    if per not in _PERIODS:
        raise InvalidInputError(f"{text!r}: 'per {m['per']}' must be one of {', '.join(_PERIODS)}")
    currency = (m["code"] or "").upper() or _CURRENCY_SYMBOLS.get(m["sym"] or "£", "GBP")
    return {**base, "amount": float(m["amount"]), "currency": currency, "per": per}


# --- export ----------------------------------------------------------------------------------


def cost_text(asset: Asset) -> str:
    cost = asset.cost
    if cost.amount is None:
        return ""
    if cost.amount == 0:
        return "free"
    symbol = _SYMBOL_OF.get(cost.currency)
    money = f"{symbol}{cost.amount:.2f}" if symbol else f"{cost.amount:.2f} {cost.currency}"
    return money if cost.per == "session" else f"{money} per {cost.per}"


def asset_row(asset: Asset, organisation_name: str | None) -> dict[str, Any]:
    """The template row of an asset (numbers stay numbers; lists joined with '; ')."""
    loc, elig, contact = asset.location, asset.eligibility, asset.contact
    verified = asset.last_verified_at
    return {
        "name": asset.name,
        "kind": asset.kind,
        "organisation": organisation_name or "",
        "description": asset.description,
        "categories": "; ".join(asset.categories),
        "connection_types": "; ".join(asset.connection_types),
        "address": loc.address or "",
        "postcode": loc.postcode or "",
        "place": loc.place or "",
        "lat": loc.lat,
        "lon": loc.lon,
        "location_precision": loc.precision,
        "sessions": format_sessions(asset.sessions),
        "cost": cost_text(asset),
        "cost_notes": asset.cost.notes or "",
        "concessions": asset.cost.concessions or "",
        "accessibility": "; ".join(f.replace("_", " ") for f in asset.accessibility.features),
        "accessibility_notes": asset.accessibility.notes or "",
        "min_age": elig.min_age if elig.min_age is not None else "",
        "max_age": elig.max_age if elig.max_age is not None else "",
        "with_carers": "yes" if elig.with_carers else "no",
        "women_only": "yes" if elig.gender == "women" else "no",
        "men_only": "yes" if elig.gender == "men" else "no",
        "eligibility_groups": "; ".join(elig.groups),
        "languages": "; ".join(asset.languages),
        "attendance": asset.attendance,
        "group_size": asset.group_size if asset.group_size is not None else "",
        "companion_welcome": "yes" if asset.companion_welcome else "no",
        "contact_name": contact.name or "",
        "contact_email": contact.email or "",
        "contact_phone": contact.phone or "",
        "contact_url": contact.url or "",
        "status": asset.status,
        "last_verified": verified.isoformat() if verified else "",
        "source": asset.source or "geo-assets",
        "source_id": asset.source_id or asset.id,
    }
