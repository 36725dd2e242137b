"""Our model as Open Referral HSDS 3.0 documents, and offline validation against its schemas.

Pure functions, no web imports: ``api/routers/hsds.py`` serves what they build. One asset is one
HSDS ``service`` offered at one ``location`` (joined by one ``service_at_location``).

=========================  ===============================================================
Ours                       HSDS 3.0
=========================  ===============================================================
Organisation               ``organization``: name, description, email, website (``url``),
                           phones (``phone``)
Asset                      ``service``: name, description, status (published -> active),
                           url/email (from ``contact``), last_modified (``updated_at``),
                           assured_date (``last_verified_at``), organization_id +
                           ``organization``, application_process (``attendance``,
                           ``companion_welcome``)
Asset.location             ``location`` (physical): latitude/longitude (WGS84 degrees),
                           ``addresses`` (address -> address_1/address_2, place -> city,
                           postcode -> postal_code, country GB), name (the venue's own name
                           for a venue, else the first address line or place)
Asset.accessibility        ``location.accessibility``: one entry per feature (+ notes)
Session                    ``schedule``: freq WEEKLY (weekly, fortnightly with interval 2) or
                           MONTHLY with byday like ``1MO,-1MO``; opens_at/closes_at ``HH:MM``
                           in the venue's local time (Europe/London for our data);
                           valid_from/valid_to; dtstart (first occurrence, fixes the phase of
                           a fortnightly rule); description (plain English); wkst MO
Cost                       ``cost_options`` (one): amount (0 = free), currency,
                           option ("Free" / "per session"...), amount_description
                           (concessions, notes); also ``fees_description``
Eligibility                minimum_age / maximum_age; eligibility_description (gender,
                           children with carers, groups, notes)
languages                  ``languages``: code + English name
Contact                    ``contacts`` (name, email, phones) and ``phones``
categories                 ``attributes`` (link_entity service) -> ``taxonomy_term``
Taxonomy (seed tree)       one ``taxonomy``; each Term -> ``taxonomy_term`` (code = our id,
                           parent_id, description from synonyms and Five Ways)
=========================  ===============================================================

Ids: HSDS 3.0 wants UUIDs. An id of ours that is 32 lower-case hex digits (what ``new_id`` makes)
is shown as that UUID; any other id becomes ``uuid5(HSDS_NAMESPACE, "<kind>:<id>")``. Sub-objects
(locations, schedules, phones...) get ``uuid5`` of their parent's UUID and their role, so ids are
stable across requests and exports. A ``service_at_location`` id is the service UUID XOR a fixed
mask (version and variant bits kept), so it can be turned back into the service id.

``validate_hsds(kind, document)`` (from :mod:`geo_assets.hsds_validate`) checks a document
against the vendored HSDS 3.0 schemas offline.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

from geo_assets.errors import InvalidInputError
from geo_assets.geocode import Geocoder, PostcodeLookup

# Validation lives in its own module; re-exported here as part of this module's interface.
from geo_assets.hsds_validate import HSDS_KINDS as HSDS_KINDS
from geo_assets.hsds_validate import HSDSValidationError as HSDSValidationError
from geo_assets.hsds_validate import hsds_errors as hsds_errors
from geo_assets.hsds_validate import validate_hsds as validate_hsds
from geo_assets.languages import language_name
from geo_assets.model import (
    FORTNIGHT_ANCHOR,
    NEW_ID,
    WEEKDAY_NAMES,
    Asset,
    Cost,
    Eligibility,
    Organisation,
    Session,
)
from geo_assets.taxonomy import Taxonomy, Term, default_taxonomy

HSDS_VERSION = "3.0"
ORUK_PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile/blob/main/docs/index.md"
# Fixed forever: changing it changes every derived id we have ever published.
HSDS_NAMESPACE = uuid.UUID("6b0e1c3a-4f55-5d8e-9a57-3c1f0d2e7b64")
TAXONOMY_SLUG = "geo-assets"
TAXONOMY_NAME = "geo-assets community activities"
TAXONOMY_VERSION = "1"
COUNTRY = "GB"

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_STATUS = {"published": "active", "pending": "inactive", "draft": "inactive", "archived": "defunct"}
_ACCESS_TEXT = {
    "wheelchair": "Wheelchair accessible",
    "step_free": "Step-free access",
    "accessible_toilet": "Accessible toilet",
    "changing_places": "Changing Places toilet",
    "hearing_loop": "Hearing loop",
    "bsl": "British Sign Language (BSL) available",
    "quiet_space": "Quiet space",
    "large_print": "Large print materials",
    "easy_read": "Easy read materials",
    "parking": "Parking",
    "assistance_dogs": "Assistance dogs welcome",
}
# How to join, as the export's `application_process` says it and the reader reads it back.
ATTENDANCE_TEXT = {
    "drop_in": "Drop in: no need to book.",
    "booking": "Book before you come.",
    "referral": "By referral: ask a practitioner or the organiser.",
}
COMPANION_TEXT = "A supporter may come along on the first visit."
_CURRENCY_SYMBOL = {"GBP": "£", "EUR": "€", "USD": "$"}
_DAY_ALIASES = {
    alias: code
    for code, name in WEEKDAY_NAMES.items()
    for alias in (code, name.casefold(), name[:3].casefold())
}


# --- ids ------------------------------------------------------------------------------------


def hsds_id(kind: str, our_id: str) -> str:
    """The HSDS UUID of one of our records (``kind`` is the HSDS object, e.g. ``"service"``)."""
    if _HEX32.match(our_id):
        return str(uuid.UUID(hex=our_id))
    return str(uuid.uuid5(HSDS_NAMESPACE, f"{kind}:{our_id}"))


def our_id_from_hsds(text: str) -> str | None:
    """The 32-hex id of ours that ``text`` (a UUID) shows, or None when it is not a UUID."""
    try:
        return uuid.UUID(text.strip()).hex
    except ValueError:
        return None


def our_id_for(hid: str) -> str:
    """Our id for a record a feed calls ``hid``: the 32 hex digits of a UUID; else ``hid``
    itself where it may be a new record's id (``NEW_ID``); else an id derived from it,
    the same on every import."""
    if (ours := our_id_from_hsds(hid)) is not None:
        return ours
    if NEW_ID.fullmatch(hid):
        return hid
    return uuid.uuid5(HSDS_NAMESPACE, f"feed-id:{hid}").hex


def is_derived_id(text: str) -> bool:
    """True for a ``uuid5`` id: one we derived from an id of ours that is not 32-hex."""
    try:
        return uuid.UUID(text.strip()).version == 5
    except ValueError:
        return False


def sub_id(parent_uuid: str, role: str) -> str:
    """A stable UUID for a sub-object (``role`` like ``"schedule/0"``) of an HSDS object."""
    return str(uuid.uuid5(HSDS_NAMESPACE, f"{parent_uuid}/{role}"))


def _keep_version_bits(value: int) -> int:
    # Bits 76-79 hold the UUID version and 62-63 the variant; a mask without them keeps both.
    return value & ~((0xF << 76) | (0x3 << 62))


_SAL_MASK = _keep_version_bits(uuid.uuid5(HSDS_NAMESPACE, "service_at_location").int)


def service_uuid(asset: Asset) -> str:
    return hsds_id("service", asset.id)


def service_at_location_uuid(asset: Asset) -> str:
    return str(uuid.UUID(int=uuid.UUID(service_uuid(asset)).int ^ _SAL_MASK))


def service_uuid_from_sal(text: str) -> str | None:
    """The service UUID behind a ``service_at_location`` id (None when ``text`` is no UUID)."""
    try:
        return str(uuid.UUID(int=uuid.UUID(text.strip()).int ^ _SAL_MASK))
    except ValueError:
        return None


def location_uuid(asset: Asset) -> str:
    return sub_id(service_uuid(asset), "location")


def taxonomy_uuid() -> str:
    return hsds_id("taxonomy", TAXONOMY_SLUG)


def term_uuid(term_id: str) -> str:
    return hsds_id("taxonomy_term", term_id)


def term_from_hsds(text: str, taxonomy: Taxonomy | None = None) -> Term | None:
    """The term whose HSDS UUID or our slug is ``text``; None when there is none."""
    taxonomy = taxonomy or default_taxonomy()
    text = text.strip()
    if text in taxonomy:
        return taxonomy.get(text)
    return _terms_by_uuid(taxonomy).get(text.lower())


@cache
def _terms_by_uuid(taxonomy: Taxonomy) -> dict[str, Term]:
    return {term_uuid(t.id): t for t in taxonomy}


# --- documents ------------------------------------------------------------------------------


def _compact(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values: HSDS fields are typed (``"type": "string"``), never nullable."""
    return {k: v for k, v in doc.items() if v is not None}


def _iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def organization_doc(
    org: Organisation, *, full: bool = True, services: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """HSDS ``organization``; ``full=False`` gives the one-to-one fields of the list schema."""
    oid = hsds_id("organization", org.id)
    doc = _compact(
        {"id": oid, "name": org.name, "description": org.description, "email": org.email,
         "website": org.url}
    )  # fmt: skip
    if full:
        doc["phones"] = (
            [{"id": sub_id(oid, "phone"), "organization_id": oid, "number": org.phone}]
            if org.phone
            else []
        )
        if services is not None:
            doc["services"] = services
    return doc


def fees_text(cost: Cost) -> str | None:
    """``"Free"``, ``"£2.50 per session; concessions: ..."`` or None when nothing is known."""
    parts = []
    if cost.amount == 0:
        parts.append("Free")
    elif cost.amount is not None:
        parts.append(f"{_money(cost.amount, cost.currency)} per {cost.per}")
    if cost.concessions:
        parts.append(f"concessions: {cost.concessions}")
    if cost.notes:
        parts.append(cost.notes)
    return "; ".join(parts) or None


def _money(amount: float, currency: str) -> str:
    symbol = _CURRENCY_SYMBOL.get(currency)
    return f"{symbol}{amount:.2f}" if symbol else f"{amount:.2f} {currency}"


def cost_option_docs(asset: Asset) -> list[dict[str, Any]]:
    """One HSDS ``cost_option``; amount 0 means free, no amount means not stated."""
    cost = asset.cost
    extra = "; ".join(p for p in (cost.concessions and f"Concessions: {cost.concessions}",
                                  cost.notes) if p)  # fmt: skip
    if cost.amount is None and not extra:
        return []
    sid = service_uuid(asset)
    option = "Free" if cost.amount == 0 else f"per {cost.per}" if cost.amount else None
    return [
        _compact(
            {"id": sub_id(sid, "cost_option"), "service_id": sid, "option": option,
             "amount": cost.amount, "currency": cost.currency, "amount_description": extra or None}
        )
    ]  # fmt: skip


def eligibility_text(elig: Eligibility) -> str | None:
    parts = []
    if elig.min_age is not None and elig.max_age is not None:
        parts.append(f"Ages {elig.min_age} to {elig.max_age}.")
    elif elig.min_age is not None:
        parts.append(f"Ages {elig.min_age} and over.")
    elif elig.max_age is not None:
        parts.append(f"Ages up to {elig.max_age}.")
    if elig.gender != "any":
        parts.append(f"{elig.gender.capitalize()} only.")
    if elig.with_carers:
        parts.append("Children come with a parent or carer, who joins in.")
    if elig.groups:
        parts.append(f"For {', '.join(elig.groups)}.")
    if elig.notes:
        parts.append(elig.notes)
    return " ".join(parts) or None


def schedule_doc(session: Session, index: int, asset: Asset) -> dict[str, Any]:
    """HSDS ``schedule`` (iCalendar terms) of one session; times are local ``HH:MM``."""
    sid = service_uuid(asset)
    days = [d.upper() for d in session.weekdays]
    if session.frequency == "monthly":
        weeks = session.weeks_of_month or []
        byday = ",".join(f"{n}{day}" for day in days for n in weeks)
        freq, interval = "MONTHLY", 1
    else:
        byday = ",".join(days)
        freq, interval = "WEEKLY", 2 if session.frequency == "fortnightly" else 1
    return _compact(
        {
            "id": sub_id(sid, f"schedule/{index}"),
            "service_id": sid,
            "service_at_location_id": service_at_location_uuid(asset),
            "valid_from": session.valid_from and session.valid_from.isoformat(),
            "valid_to": session.valid_to and session.valid_to.isoformat(),
            "dtstart": _dtstart(session),
            "freq": freq,
            "interval": interval,
            "byday": byday,
            "wkst": "MO",
            "opens_at": session.start.strftime("%H:%M"),
            "closes_at": session.end.strftime("%H:%M"),
            "description": session.describe(),
            "notes": session.notes,
        }
    )


def _dtstart(session: Session) -> str | None:
    """Date of the first occurrence: needed for an interval (fortnightly) rule, else only
    given when ``valid_from`` is."""
    base = session.valid_from or (FORTNIGHT_ANCHOR if session.frequency == "fortnightly" else None)
    if base is None:
        return None
    just_before = datetime.combine(base, time(0)) - timedelta(seconds=1)
    first = next(session.occurrences(just_before, 1), None)
    return (first.date() if first else base).isoformat()


def _address_parts(asset: Asset) -> tuple[str, str | None, str]:
    """(address_1, address_2, city) from our one-line address and place."""
    loc = asset.location
    parts = [p.strip() for p in (loc.address or "").split(",") if p.strip()]
    place = loc.place or ""
    if len(parts) > 1 and place and parts[-1].casefold() == place.casefold():
        parts = parts[:-1]
    city = place or (parts[-1] if len(parts) > 1 else "")
    first = parts[0] if parts else ""
    rest = ", ".join(parts[1:]) or None
    return first, rest, city


def location_doc(asset: Asset, *, full: bool = True) -> dict[str, Any]:
    """HSDS ``location`` (physical) at the asset's WGS84 point."""
    lid = location_uuid(asset)
    loc = asset.location
    first, rest, city = _address_parts(asset)
    name = asset.name if asset.kind == "venue" else (first or loc.place or asset.name)
    doc = _compact(
        {"id": lid, "location_type": "physical", "name": name, "description": loc.place,
         "latitude": loc.lat, "longitude": loc.lon}
    )  # fmt: skip
    if not full:
        return doc
    doc["addresses"] = (
        [
            _compact(
                {"id": sub_id(lid, "address"), "location_id": lid, "address_1": first,
                 "address_2": rest, "city": city, "state_province": "",
                 "postal_code": loc.postcode or "", "country": COUNTRY,
                 "address_type": "physical"}
            )
        ]
        if loc.address or loc.postcode
        else []
    )  # fmt: skip
    access = asset.accessibility
    entries: list[tuple[str, str]] = [(f, _ACCESS_TEXT.get(f, f)) for f in access.features]
    if access.notes:
        entries.append(("notes", access.notes))
    doc["accessibility"] = [
        {"id": sub_id(lid, f"accessibility/{key}"), "location_id": lid, "description": text}
        for key, text in entries
    ]
    return doc


def _language_docs(asset: Asset) -> list[dict[str, Any]]:
    sid = service_uuid(asset)
    return [
        {"id": sub_id(sid, f"language/{code}"), "service_id": sid,
         "name": language_name(code), "code": code}
        for code in asset.languages
    ]  # fmt: skip


def _contact_docs(asset: Asset) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(contacts, phones) of the service."""
    sid = service_uuid(asset)
    c = asset.contact
    phones = [{"id": sub_id(sid, "phone"), "service_id": sid, "number": c.phone}] if c.phone else []
    if not (c.name or c.email):
        return [], phones
    cid = sub_id(sid, "contact")
    contact = _compact({"id": cid, "service_id": sid, "name": c.name, "email": c.email})
    contact["phones"] = (
        [{"id": sub_id(cid, "phone"), "contact_id": cid, "number": c.phone}] if c.phone else []
    )
    return [contact], phones


def taxonomy_doc() -> dict[str, Any]:
    return {
        "id": taxonomy_uuid(),
        "name": TAXONOMY_NAME,
        "description": "The geo-assets tree of community groups, clubs, venues and activities; "
        "each term's code is its dotted id, e.g. nature.gardening.allotments.",
        "version": TAXONOMY_VERSION,
    }


def taxonomy_term_doc(term: Term) -> dict[str, Any]:
    """HSDS ``taxonomy_term``; ``code`` is our dotted id, the description lists synonyms."""
    text = term.name + "."
    if term.synonyms:
        text += " Also called: " + ", ".join(term.synonyms) + "."
    if term.five_ways:
        ways = ", ".join(w.replace("_", " ") for w in term.five_ways)
        text += f" Five Ways to Wellbeing: {ways}."
    return _compact(
        {"id": term_uuid(term.id), "code": term.id, "name": term.name, "description": text,
         "parent_id": term.parent_id and term_uuid(term.parent_id), "taxonomy": TAXONOMY_NAME,
         "taxonomy_id": taxonomy_uuid(), "language": "en"}
    )  # fmt: skip


def _attribute_docs(asset: Asset, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    sid = service_uuid(asset)
    return [
        {"id": sub_id(sid, f"attribute/{term}"), "link_id": sid, "link_entity": "service",
         "link_type": "category", "taxonomy_term_id": term_uuid(term),
         "taxonomy_term": taxonomy_term_doc(taxonomy.get(term))}
        for term in asset.categories
        if term in taxonomy
    ]  # fmt: skip


def how_to_join(asset: Asset) -> str:
    """ "Drop in: no need to book. A supporter may come along on the first visit." """
    text = ATTENDANCE_TEXT[asset.attendance]
    return f"{text} {COMPANION_TEXT}" if asset.companion_welcome else text


def service_doc(
    asset: Asset,
    org: Organisation | None,
    *,
    full: bool = True,
    with_locations: bool = True,
    taxonomy: Taxonomy | None = None,
) -> dict[str, Any]:
    """HSDS ``service``. ``full=False`` gives the one-to-one fields (plus ``organization``)
    of ``service_list``; ``with_locations=False`` leaves out ``service_at_locations`` (used
    when the service sits inside its own service_at_location)."""
    sid = service_uuid(asset)
    elig = asset.eligibility
    process = how_to_join(asset)
    doc = _compact(
        {
            "id": sid,
            "organization_id": asset.organisation_id
            and hsds_id("organization", asset.organisation_id),
            "name": asset.name,
            "description": asset.description,
            "url": asset.contact.url,
            "email": asset.contact.email,
            "status": _STATUS[asset.status],
            "application_process": process,
            "fees_description": fees_text(asset.cost),
            "eligibility_description": eligibility_text(elig),
            "minimum_age": elig.min_age,
            "maximum_age": elig.max_age,
            "assured_date": asset.last_verified_at and asset.last_verified_at.date().isoformat(),
            "last_modified": _iso_utc(asset.updated_at),
        }
    )
    if org is not None:
        doc["organization"] = organization_doc(org, full=False)
    if not full:
        return doc
    contacts, phones = _contact_docs(asset)
    if with_locations:
        doc["service_at_locations"] = [service_at_location_doc(asset, None, nested=True)]
    doc["schedules"] = [schedule_doc(s, i, asset) for i, s in enumerate(asset.sessions)]
    doc["cost_options"] = cost_option_docs(asset)
    doc["languages"] = _language_docs(asset)
    doc["contacts"] = contacts
    doc["phones"] = phones
    doc["attributes"] = _attribute_docs(asset, taxonomy or default_taxonomy())
    return doc


def service_at_location_doc(
    asset: Asset,
    org: Organisation | None,
    *,
    full: bool = True,
    nested: bool = False,
    taxonomy: Taxonomy | None = None,
) -> dict[str, Any]:
    """HSDS ``service_at_location``: the asset's service at its location.

    ``full=False`` is the ``service_at_location_list`` shape (one-to-one fields of the
    location and the service); ``nested=True`` leaves out ``service`` (inside a service)."""
    doc: dict[str, Any] = {
        "id": service_at_location_uuid(asset),
        "service_id": service_uuid(asset),
        "location_id": location_uuid(asset),
        "location": location_doc(asset, full=full),
    }
    if full:
        doc["schedules"] = [schedule_doc(s, i, asset) for i, s in enumerate(asset.sessions)]
    if not nested:
        doc["service"] = service_doc(asset, org, full=full, with_locations=False, taxonomy=taxonomy)
    return doc


# --- filters the stores cannot express ------------------------------------------------------


def parse_day(text: str) -> str:
    """``"MO"``, ``"mon"``, ``"Monday"`` -> ``"mo"``; raises naming `day` otherwise."""
    code = _DAY_ALIASES.get(text.strip().casefold())
    if code is None:
        raise InvalidInputError(
            f"`day` must be a weekday such as MO, TU... SU or Monday; got {text!r}", field="day"
        )
    return code


@dataclass(frozen=True)
class ServiceQuery:
    """The ORUK filters applied in Python over the store's already filtered list.

    ORUK 3.0 semantics: ``minimum_age`` keeps services whose minimum age is at least this
    (no stated minimum counts as 0); ``maximum_age`` keeps those whose maximum age is at most
    this (no stated maximum never qualifies). ``day``/``start_time``/``end_time`` need one
    session on that day that starts at or after ``start_time`` and ends by ``end_time``
    (local time).
    """

    minimum_age: float | None = None
    maximum_age: float | None = None
    day: str | None = None
    start_time: time | None = None
    end_time: time | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.minimum_age, self.maximum_age, self.day,
                                          self.start_time, self.end_time))  # fmt: skip

    def matches(self, asset: Asset) -> bool:
        elig = asset.eligibility
        if self.minimum_age is not None and (elig.min_age or 0) < self.minimum_age:
            return False
        if self.maximum_age is not None and (
            elig.max_age is None or elig.max_age > self.maximum_age
        ):
            return False
        if self.day is None and self.start_time is None and self.end_time is None:
            return True
        return any(self._session_fits(s) for s in asset.sessions)

    def _session_fits(self, session: Session) -> bool:
        return (
            (self.day is None or self.day in session.weekdays)
            and (self.start_time is None or session.start >= self.start_time)
            and (self.end_time is None or session.end <= self.end_time)
        )


# --- postcodes ------------------------------------------------------------------------------


def locate(text: str, postcodes: PostcodeLookup | None) -> tuple[float, float] | None:
    """The point ORUK's ``postcode`` parameter names: ``"lat,lon"`` in degrees, or a
    postcode (or a postcode district's centroid) from the ``postcodes`` table; None when
    the table does not know it. Place names are not read as postcodes."""
    found = Geocoder((), postcodes=postcodes).geocode(text, limit=1, field="postcode")
    if not found or found[0].kind == "place":
        return None
    return found[0].lat, found[0].lon


# --- paging ---------------------------------------------------------------------------------


def page_envelope(
    contents: list[dict[str, Any]], *, total: int, page: int, per_page: int
) -> dict[str, Any]:
    """The HSDS ``Page``: ``size`` is the number of entities on this page (as HSDS defines)."""
    total_pages = math.ceil(total / per_page) if per_page else 0
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }
