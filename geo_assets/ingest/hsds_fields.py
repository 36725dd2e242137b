"""Field-level readers shared by the HSDS importers: typed access with JSON paths, and the
parts of a service that map one to one onto ours (cost, eligibility, languages, access).

Every problem is reported where it is in the source: a JSON path such as
``$.contents[2].cost_options[0].currency``, or for a node read from a CSV package the file
and row it came from (``cost_options.csv row 4: currency``, via :data:`SRC_KEY`).
The rules themselves are listed in :mod:`geo_assets.ingest.hsds_map`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from geo_assets.errors import InvalidInputError, RowError, error_message
from geo_assets.geocode import Geocoder
from geo_assets.hsds import (
    _ACCESS_TEXT,  # noqa: PLC2701 - the sentences our export writes; read back here
    ATTENDANCE_TEXT,
    COMPANION_TEXT,
    eligibility_text,
    hsds_id,
    sub_id,
)
from geo_assets.languages import language_by_name, lower_language
from geo_assets.model import ASSET_KINDS, CONNECTION_TYPES, Asset, Cost, Eligibility
from geo_assets.taxonomy import default_taxonomy

M = TypeVar("M", bound=BaseModel)
Part = tuple[type[BaseModel], dict[str, Any], Callable[[str], str]]
"""A sub-object of an asset: its model, its data, and where each of its fields came from."""
DEFAULT_KIND = "activity"
SRC_KEY = "@src"
"""Key a CSV reader puts on each nested object: where it came from ("schedules.csv row 7")."""

FACTS_TAXONOMY = "geo-assets listing facts"
FACTS_TAXONOMY_ID = hsds_id("taxonomy", "geo-assets-facts")
MAX_ERRORS = 1000
_PER_RE = re.compile(r"^per (session|week|month|year|course)$", re.I)
_PER_IN_TEXT = re.compile(r"\bper (?:[\w-]+ ){0,3}?(session|week|month|year|course)\b", re.I)
_GENDER_RE = re.compile(r"\b(women|ladies|men|gents)(?:'s)? only\b", re.I)
_PATTERN_TEXT = {
    "email": "an email address like name@example.org",
    "url": "a web address starting with http:// or https://",
    "currency": "a three-letter ISO 4217 currency code such as GBP",
}
_ACCESS_SYNONYMS = {
    "wheelchair access": "wheelchair",
    "wheelchair accessible venue": "wheelchair",
    "step free": "step_free",
    "level access": "step_free",
    "induction loop": "hearing_loop",
    "accessible toilets": "accessible_toilet",
    "disabled toilet": "accessible_toilet",
    "british sign language": "bsl",
    "quiet room": "quiet_space",
    "large print": "large_print",
    "easy read": "easy_read",
    "car park": "parking",
    "guide dogs welcome": "assistance_dogs",
}


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").rstrip(".").split())


_ACCESS_BY_TEXT = {
    **{_norm(t): k for k, t in _ACCESS_TEXT.items()},
    **{_norm(k.replace("_", " ")): k for k in _ACCESS_TEXT},
    **{_norm(t): k for t, k in _ACCESS_SYNONYMS.items()},
}


# --- the facts taxonomy (written by the exporter, read here) ---------------------------------


def fact_attribute(service_uuid: str, code: str, value: str | None = None) -> dict[str, Any]:
    """An HSDS ``attribute`` carrying one fact HSDS has no field for."""
    term_id = hsds_id("taxonomy_term", f"fact:{code}")
    term = {
        "id": term_id,
        "code": code,
        "name": code.replace(":", ": ").replace("-", " "),
        "description": f"geo-assets listing fact `{code}`.",
        "taxonomy": FACTS_TAXONOMY,
        "taxonomy_id": FACTS_TAXONOMY_ID,
        "language": "en",
    }
    role = f"fact/{code}" + (f"/{value}" if value is not None else "")
    doc = {
        "id": sub_id(service_uuid, role),
        "link_id": service_uuid,
        "link_entity": "service",
        "link_type": "listing_fact",
        "taxonomy_term_id": term_id,
        "taxonomy_term": term,
    }
    if value is not None:
        doc["value"] = value
    return doc


def fact_attributes(asset: Asset, service_uuid: str) -> list[dict[str, Any]]:
    """The facts of ``asset`` as attributes, in a fixed order."""
    out = [fact_attribute(service_uuid, f"kind:{asset.kind}")]
    out += [fact_attribute(service_uuid, f"connection:{c}") for c in asset.connection_types]
    if asset.group_size is not None:
        out.append(fact_attribute(service_uuid, "group-size", str(asset.group_size)))
    if asset.eligibility.gender != "any":
        out.append(fact_attribute(service_uuid, f"gender:{asset.eligibility.gender}"))
    if asset.eligibility.with_carers:
        out.append(fact_attribute(service_uuid, "with-carers"))
    if asset.location.approximate:
        out.append(fact_attribute(service_uuid, f"precision:{asset.location.precision}"))
    out += [fact_attribute(service_uuid, "eligible-group", g) for g in asset.eligibility.groups]
    return out


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadOptions:
    """How foreign feeds are read; ``source`` is the provenance name of every record."""

    source: str = "hsds"
    fallback_category: str | None = None
    term_confidence: float = 0.9
    # Places a location with no latitude/longitude by its postal code, city or address
    # (``geocode.place_listing``); None: such a location is refused.
    geocoder: Geocoder | None = None

    def __post_init__(self) -> None:
        if self.fallback_category is not None and self.fallback_category not in default_taxonomy():
            raise InvalidInputError(
                f"`fallback_category` {self.fallback_category!r} is not a taxonomy id; "
                "see `geo-assets taxonomy`",
                field="fallback_category",
            )


@dataclass
class FeedIndex:
    """Objects referenced by id from elsewhere in the feed: (node, path)."""

    organizations: dict[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    locations: dict[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    terms: dict[str, Mapping[str, Any]] = field(default_factory=dict)


def field_at(node: Any, path: str, key: str = "") -> str:
    """Where a field is, for a report: a JSON path, or the CSV row a node came from."""
    src = node.get(SRC_KEY) if isinstance(node, dict) else None
    if src:
        return f"{src}: {key}" if key else str(src)
    return f"{path}.{key}" if key else path


def type_name(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def message(key: str, err: Any) -> str:
    """pydantic's message, in words for the patterns people trip over."""
    last = key.rsplit(".", 1)[-1]
    if err["type"] == "string_pattern_mismatch" and last in _PATTERN_TEXT:
        return f"{err['input']!r} is not {_PATTERN_TEXT[last]}"
    return error_message(err)


class Record:
    """Problems of one source record (row), each naming where it is."""

    def __init__(self, row: int) -> None:
        self.row = row
        self.errors: list[RowError] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(RowError(self.row, where, message))

    def text(self, node: Mapping[str, Any], path: str, key: str) -> str | None:
        value = node.get(key)
        if value is None or isinstance(value, str):
            return (value or "").strip() or None
        if isinstance(value, int | float) and not isinstance(value, bool) and key == "number":
            return str(value)
        self.fail(field_at(node, path, key), f"must be text, not {type_name(value)} ({value!r})")
        return None

    def number(self, node: Mapping[str, Any], path: str, key: str) -> float | None:
        value = node.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        self.fail(field_at(node, path, key), f"must be a number, not {value!r}")
        return None

    def whole(self, node: Mapping[str, Any], path: str, key: str) -> int | None:
        value = self.number(node, path, key)
        if value is None:
            return None
        if not value.is_integer():
            self.fail(field_at(node, path, key), f"must be a whole number of years, not {value}")
            return None
        return int(value)

    def model(self, cls: type[M], data: dict[str, Any], where: Callable[[str], str]) -> M | None:
        """``cls`` built from ``data``, or None with each problem reported where ``where`` says."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                self.fail(where(key), message(key, err))
            return None

    def items(self, node: Mapping[str, Any], path: str, key: str) -> list[tuple[Any, str]]:
        """(item, path) of a list field; reports a field that is not a list."""
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field_at(node, path, key), f"must be a list, not {type_name(value)}")
            return []
        out = []
        for i, item in enumerate(value):
            where = f"{path}.{key}[{i}]"
            if isinstance(item, dict):
                out.append((item, where))
            else:
                self.fail(field_at(item, where), f"must be an object, not {type_name(item)}")
        return out


@dataclass
class Facts:
    categories: list[str] = field(default_factory=list)
    kind: str = DEFAULT_KIND
    connections: list[str] = field(default_factory=list)
    group_size: int | None = None
    gender: str | None = None
    with_carers: bool = False
    precision: str | None = None
    groups: list[str] = field(default_factory=list)


def read_fact(facts: Facts, code: str, value: Any) -> bool:
    """Record a listing fact; False when ``code`` is not one."""
    head, _, tail = code.partition(":")
    if head == "kind" and tail in ASSET_KINDS:
        facts.kind = tail
    elif head == "connection" and tail in CONNECTION_TYPES:
        if tail not in facts.connections:
            facts.connections.append(tail)
    elif head == "gender" and tail in ("women", "men"):
        facts.gender = tail
    elif code == "with-carers":
        facts.with_carers = True
    elif head == "precision" and tail in ("postcode", "area"):
        facts.precision = tail
    elif code == "group-size" and str(value or "").strip().isdigit():
        facts.group_size = int(str(value).strip())
    elif code == "eligible-group" and str(value or "").strip():
        facts.groups.append(str(value).strip())
    else:
        return False
    return True


def id_of(node: Any) -> str | None:
    value = node.get("id") if isinstance(node, dict) else None
    return str(value).strip() or None if value is not None else None


def applies(sched: Mapping[str, Any], sal_id: str | None, loc_id: str | None) -> bool:
    """Whether a service-level schedule is for this service_at_location."""
    for key, ours in (("service_at_location_id", sal_id), ("location_id", loc_id)):
        theirs = sched.get(key)
        if theirs and ours and str(theirs).strip() != ours:
            return False
    return True


def phone_number(rec: Record, node: Mapping[str, Any], path: str) -> str | None:
    number = rec.text(node, path, "number")
    return number.strip('"').strip() or None if number else None


def read_attendance(text: str | None) -> tuple[str, bool]:
    if not text:
        return "drop_in", True
    for key, sentence in ATTENDANCE_TEXT.items():
        if text.startswith(sentence):
            return key, COMPANION_TEXT in text
    if re.search(r"\breferr", text, re.I):
        return "referral", True
    if re.search(r"\bbook", text, re.I):
        return "booking", True
    return "drop_in", True


def read_accessibility(rec: Record, loc: Mapping[str, Any], path: str) -> dict[str, Any]:
    features, notes = [], []
    for acc, acc_path in rec.items(loc, path, "accessibility"):
        text = rec.text(acc, acc_path, "description") or rec.text(acc, acc_path, "accessibility")
        details = rec.text(acc, acc_path, "details")
        key = _ACCESS_BY_TEXT.get(_norm(text)) if text else None
        if key and not details:
            features.append(key)
        elif text or details:
            notes.append(" ".join(p for p in (text, details) if p))
    return {"features": features, "notes": " ".join(notes) or None}


def cost_part(rec: Record, node: Mapping[str, Any], path: str) -> Part:
    options = rec.items(node, path, "cost_options")
    if not options:
        fees = rec.text(node, path, "fees_description") or rec.text(node, path, "fees")
        if fees is None:
            return Cost, {"amount": None}, lambda key: field_at(node, path, "fees")
        if re.fullmatch(r"free\.?", fees, re.I):
            return Cost, {"amount": 0.0}, lambda key: field_at(node, path, "fees")
        return Cost, {"amount": None, "notes": fees}, lambda key: field_at(node, path, "fees")
    first, first_path = options[0]
    amount = rec.number(first, first_path, "amount")
    option = rec.text(first, first_path, "option")
    extra = rec.text(first, first_path, "amount_description")
    per, ours = "session", option is None
    if option and option.casefold() == "free":
        amount, ours = (0.0 if amount is None else amount), True
    elif option and (m := _PER_RE.match(option)):
        per, ours = m[1].lower(), True
    elif extra and (m := _PER_IN_TEXT.search(extra)):
        per = m[1].lower()
    concessions = notes = None
    if extra and extra.startswith("Concessions: "):
        concessions, _, rest = extra[len("Concessions: ") :].partition("; ")
        notes = rest or None
    else:
        notes = extra
    if not ours:
        notes = f"{option}: {notes}" if notes else option
    more = []
    for other, other_path in options[1:]:
        label = rec.text(other, other_path, "option") or "option"
        value = rec.number(other, other_path, "amount")
        more.append(label + (f" {value:g}" if value is not None else ""))
    if more:
        notes = "; ".join(p for p in (notes, "also: " + ", ".join(more)) if p)
    currency = (rec.text(first, first_path, "currency") or "GBP").upper()
    data = {
        "amount": amount,
        "currency": currency,
        "per": per,
        "concessions": concessions or None,
        "notes": notes,
    }
    names = {
        "per": "option",
        "concessions": "amount_description",
        "notes": "amount_description",
    }
    return Cost, data, lambda key: field_at(first, first_path, names.get(key, key))


@lru_cache(maxsize=4096)
def _derived_eligibility(
    min_age: int | None,
    max_age: int | None,
    gender: str,
    with_carers: bool,
    groups: tuple[str, ...],
) -> str | None:
    """The sentences our export writes for these fields (stripped again on import)."""
    return eligibility_text(
        Eligibility.model_construct(
            min_age=min_age,
            max_age=max_age,
            gender=gender,
            with_carers=with_carers,
            groups=list(groups),
            notes=None,
        )
    )


def eligibility_part(rec: Record, node: Mapping[str, Any], path: str, facts: Facts) -> Part:
    min_age = rec.whole(node, path, "minimum_age")
    max_age = rec.whole(node, path, "maximum_age")
    text = rec.text(node, path, "eligibility_description")
    gender = facts.gender
    if gender is None and text and (m := _GENDER_RE.search(text)):
        gender = "women" if m[1].casefold() in ("women", "ladies") else "men"
    gender = gender or "any"
    derived = _derived_eligibility(min_age, max_age, gender, facts.with_carers, tuple(facts.groups))
    notes = text
    if text and derived and text.startswith(derived):
        notes = text[len(derived) :].strip() or None
    data = {
        "min_age": min_age,
        "max_age": max_age,
        "gender": gender,
        "with_carers": facts.with_carers,
        "groups": facts.groups,
        "notes": notes,
    }
    names = {"min_age": "minimum_age", "max_age": "maximum_age", "": "maximum_age"}
    return (
        Eligibility,
        data,
        lambda key: field_at(node, path, names.get(key, "eligibility_description")),
    )


def language_codes(rec: Record, node: Mapping[str, Any], path: str) -> list[str]:
    codes = []
    for lang, lang_path in rec.items(node, path, "languages"):
        code = rec.text(lang, lang_path, "code")
        name = rec.text(lang, lang_path, "name")
        if code:
            code = lower_language(code)
        elif name:
            code = language_by_name(name)
            if code is None:
                rec.fail(
                    field_at(lang, lang_path, "code"),
                    f"language {name!r} has no `code` and its name is not one we "
                    "know; give an ISO 639 code such as 'ur'",
                )
                continue
        if code and code not in codes:
            codes.append(code)
    return codes or ["en"]
