"""One HSDS 3.0 / ORUK ``service`` (with its locations) read back into our assets.

The inverse of :mod:`geo_assets.hsds`: what that module writes is read back exactly, and
foreign feeds are read by the rules below. One asset per physical location the service is
offered at (``service_at_locations``); ``source_id`` is ``"<service id>/<location id>"``
and re-imports match on it (new assets get fresh ids). Field-level reading (types, JSON
paths, cost, eligibility, languages, accessibility) lives in
:mod:`geo_assets.ingest.hsds_fields`; schedules in :mod:`geo_assets.ingest.hsds_schedule`.

Rules for foreign data (each keeps the import -> export -> import round trip stable):

- **Categories** (``attributes`` -> ``taxonomy_term``): a term whose ``code`` is one of our
  ids, or whose id is the UUID we publish for one, is that term. Otherwise its ``name`` (or
  ORUK ``term``) goes through the interest resolver and the best match is taken when its
  confidence is at least ``term_confidence`` (0.9: a name or synonym, or a near-exact
  spelling). Terms that do not map are ignored when another term of the service maps. A
  service with no mapped term gets ``fallback_category`` when one is given, else it is
  reported (naming the terms) and not imported.
- **Facts HSDS has no field for** (kind, connection types, group size, gender, children
  who come with their carers, eligible groups, a point that is only a postcode's or an
  area's centre) travel as attributes of a second taxonomy, ``geo-assets listing facts``
  (codes ``kind:club``, ``connection:local``, ``group-size`` + value, ``gender:women``,
  ``with-carers``, ``eligible-group`` + value, ``precision:postcode``).
  Without them: kind ``activity``, no connection types.
- **Status**: active -> published, inactive / temporarily closed -> draft, defunct -> archived.
- **Attendance**: our own ``application_process`` sentences are read back; other text
  suggests referral ("referr...") or booking ("book..."), else drop in.
- **Cost**: the first ``cost_option`` gives amount, currency and period (``per week``...);
  its other text and any further options go to notes. With no options, a
  ``fees_description`` of just "Free" means free; other text becomes notes, amount unknown.
- **Eligibility**: ``minimum_age``/``maximum_age``; the sentences we derive from our fields
  are dropped from ``eligibility_description``, the rest is notes; "women/men only" in
  foreign text sets gender.
- **Accessibility**: an entry whose whole description names one feature ("Hearing loop",
  "Wheelchair access") sets it; longer prose is kept as notes, never mined for features
  (a sentence may say "no wheelchair access").
- **Location**: latitude/longitude in WGS84 degrees are required; address = address_1,
  address_2 and city of the physical address, postcode = postal_code, place = city (with no
  address: a short location description). Virtual locations are skipped.
- Not carried by HSDS and so not round-tripped: ``venue_id``, ``location.footprint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from geo_assets.errors import RowError
from geo_assets.geocode import GeocodeResult, ListingPlacer
from geo_assets.hsds import our_id_for, term_from_hsds
from geo_assets.ingest.hsds_fields import (
    MAX_ERRORS,
    SRC_KEY,
    Facts,
    FeedIndex,
    Part,
    ReadOptions,
    Record,
    applies,
    cost_part,
    eligibility_part,
    fact_attributes,
    field_at,
    id_of,
    language_codes,
    message,
    phone_number,
    read_accessibility,
    read_attendance,
    read_fact,
)
from geo_assets.ingest.hsds_schedule import ScheduleError, parse_date, schedule_sessions
from geo_assets.interests import InterestResolver, default_resolver
from geo_assets.model import Asset, Contact, Location, Organisation, Session
from geo_assets.taxonomy import Taxonomy, default_taxonomy

# Re-exported: the importers and the exporter use them through this module.
__all__ = [
    "MAX_ERRORS",
    "SRC_KEY",
    "FeedIndex",
    "ReadOptions",
    "ServiceReader",
    "fact_attributes",
    "field_at",
]

_PARTS = ("contact", "cost", "eligibility")
# Every schedule field schedule_sessions reads (ids and links are not among them).
_SCHEDULE_KEYS = (
    "freq",
    "interval",
    "byday",
    "bymonthday",
    "byweekno",
    "byyearday",
    "opens_at",
    "closes_at",
    "valid_from",
    "valid_to",
    "dtstart",
    "until",
    "count",
    "wkst",
    "description",
    "notes",
)
_SCHEDULE_CACHE_SIZE = 50_000
_STATUS_IN = {
    "active": "published",
    "inactive": "draft",
    "temporarily closed": "draft",
    "defunct": "archived",
}


class ServiceReader:
    """Reads services of one feed; collects the organisations they name (our id -> model)."""

    def __init__(self, options: ReadOptions, index: FeedIndex | None = None) -> None:
        self.options = options
        self.index = index or FeedIndex()
        self.taxonomy: Taxonomy = default_taxonomy()
        self._resolver: InterestResolver | None = None
        self._term_cache: dict[tuple[Any, ...], str | None] = {}
        self._schedule_cache: dict[tuple[Any, ...], list[Session] | ScheduleError] = {}
        self.organisations: dict[str, Organisation] = {}
        # Organisations services name by id alone, held elsewhere: our id -> the feed's.
        self.organisation_refs: dict[str, tuple[str | None, str]] = {}
        geocoder = options.geocoder
        self._placer = ListingPlacer(geocoder) if geocoder is not None else None
        self.placed = 0  # locations with no coordinates placed by postcode, city or address

    # --- organisations --------------------------------------------------------------------

    def organisation(
        self, node: Mapping[str, Any], path: str, row: int
    ) -> tuple[str | None, list[RowError]]:
        """Our id for an HSDS organization, reading it the first time it is seen."""
        rec = Record(row)
        hid = rec.text(node, path, "id")
        if hid is None:
            rec.fail(field_at(node, path, "id"), "an organization needs an `id`")
            return None, rec.errors
        our = our_id_for(hid)
        if our in self.organisations:
            return our, rec.errors
        phones = rec.items(node, path, "phones")
        data = {
            "id": our,
            "name": rec.text(node, path, "name"),
            "description": rec.text(node, path, "description") or "",
            "email": rec.text(node, path, "email"),
            "url": rec.text(node, path, "website"),
            "phone": next(
                (phone_number(rec, p, pp) for p, pp in phones if phone_number(rec, p, pp)), None
            ),
            "source": self.options.source,
            "source_id": hid,
        }
        if rec.errors:
            return None, rec.errors
        names = {"url": "website", "phone": "phones"}
        org = rec.model(Organisation, data, lambda key: field_at(node, path, names.get(key, key)))
        if org is None:
            return None, rec.errors
        self.organisations[our] = org
        return our, rec.errors

    # --- services -------------------------------------------------------------------------

    def read_service(
        self,
        row: int,
        node: Mapping[str, Any],
        path: str,
        sals: list[tuple[Mapping[str, Any], str]] | None = None,
    ) -> tuple[list[Asset], list[RowError]]:
        """Assets of one service (one per physical location), or the record's errors.

        ``sals`` overrides the service's own ``service_at_locations`` (a
        ``service_at_location`` record carries its service inside).
        """
        rec = Record(row)
        base = self._common(rec, node, path)
        if sals is None:
            sals = rec.items(node, path, "service_at_locations")
        places = self._places(rec, node, path, sals)
        service_id = base.pop("_service_id")
        precision = base.pop("_precision")
        schedules = rec.items(node, path, "schedules")
        assets: list[Asset] = []
        seen: set[str] = set()
        for sal, sal_path, loc, loc_path in places:
            loc_id = id_of(loc) or id_of(sal) or f"location-{len(seen) + 1}"
            if loc_id in seen:
                continue
            seen.add(loc_id)
            source_id = f"{service_id}/{loc_id}"
            asset = self._asset(
                rec,
                base,
                node,
                path,
                (sal, sal_path),
                (loc, loc_path),
                schedules,
                source_id,
                precision,
            )
            if asset is not None:
                assets.append(asset)
        # Service-level problems repeat for each place: report each once.
        return (assets, []) if not rec.errors else ([], list(dict.fromkeys(rec.errors)))

    def _common(self, rec: Record, node: Mapping[str, Any], path: str) -> dict[str, Any]:
        """The fields every asset of the service shares."""
        service_id = rec.text(node, path, "id")
        if service_id is None:
            rec.fail(field_at(node, path, "id"), "a service needs an `id` (re-imports match on it)")
        name = rec.text(node, path, "name")
        if name is None:
            rec.fail(field_at(node, path, "name"), "a service needs a `name`")
        status_text = (rec.text(node, path, "status") or "active").casefold()
        status = _STATUS_IN.get(status_text)
        if status is None:
            rec.fail(
                field_at(node, path, "status"),
                f"must be one of {sorted(_STATUS_IN)}, not {status_text!r}",
            )
        facts = self._categories(rec, node, path)
        verified = rec.text(node, path, "assured_date")
        last_verified_at = None
        if verified:
            try:
                day = parse_date(verified, "assured_date")
                last_verified_at = datetime(day.year, day.month, day.day, tzinfo=UTC)
            except ScheduleError as exc:
                rec.fail(field_at(node, path, "assured_date"), str(exc))
        attendance, companion = read_attendance(rec.text(node, path, "application_process"))
        return {
            "_service_id": service_id,
            "_precision": facts.precision,
            "name": name,
            "description": rec.text(node, path, "description") or "",
            "status": status,
            "kind": facts.kind,
            "categories": facts.categories,
            "connection_types": facts.connections,
            "group_size": facts.group_size,
            "organisation_id": self._service_org(rec, node, path),
            "cost": cost_part(rec, node, path),
            "eligibility": eligibility_part(rec, node, path, facts),
            "languages": language_codes(rec, node, path),
            "attendance": attendance,
            "companion_welcome": companion,
            "last_verified_at": last_verified_at,
            "contact": self._contact(rec, node, path, {}, path),
        }

    def _service_org(self, rec: Record, node: Mapping[str, Any], path: str) -> str | None:
        org = node.get("organization")
        if isinstance(org, dict):
            our, errors = self.organisation(org, f"{path}.organization", rec.row)
            rec.errors.extend(errors)
            return our
        hid = rec.text(node, path, "organization_id")
        if hid is None:
            return None
        if hid in self.index.organizations:
            org_node, org_path = self.index.organizations[hid]
            our, errors = self.organisation(org_node, org_path, rec.row)
            rec.errors.extend(errors)
            return our
        # Not in this feed: it may be in the store already (the import finds it by the
        # feed's id, as it finds the feed's own; a row error if it is not there).
        our = our_id_for(hid)
        self.organisation_refs[our] = (self.options.source, hid)
        return our

    def _places(
        self,
        rec: Record,
        node: Mapping[str, Any],
        path: str,
        sals: list[tuple[Mapping[str, Any], str]],
    ) -> list[tuple[Any, str, Any, str]]:
        """(sal, sal path, location, location path) of each physical place."""
        out, virtual, broken = [], 0, 0
        for sal, sal_path in sals:
            loc, loc_path = sal.get("location"), f"{sal_path}.location"
            if not isinstance(loc, dict):
                ref = rec.text(sal, sal_path, "location_id")
                if ref is None or ref not in self.index.locations:
                    rec.fail(
                        field_at(sal, sal_path, "location_id" if ref else "location"),
                        f"location {ref!r} is not in this feed" if ref else "has no location",
                    )
                    broken += 1
                    continue
                loc, loc_path = self.index.locations[ref]
            if str(loc.get("location_type") or "").casefold() == "virtual":
                virtual += 1
                continue
            out.append((sal, sal_path, loc, loc_path))
        if not out and not broken:
            what = "only online (virtual) locations" if virtual else "no service_at_locations"
            rec.fail(
                field_at(node, path, "service_at_locations"),
                f"the service has {what}; a listing needs a physical location with "
                "latitude and longitude",
            )
        return out

    def _asset(
        self,
        rec: Record,
        base: dict[str, Any],
        node: Mapping[str, Any],
        path: str,
        sal_at: tuple[Mapping[str, Any], str],
        loc_at: tuple[Mapping[str, Any], str],
        schedules: list[tuple[Any, str]],
        source_id: str,
        precision: str | None,
    ) -> Asset | None:
        """One asset of the service at one location. ``precision``: the listing fact that
        says the service's points are only a postcode's or an area's centre, if any."""
        (sal, sal_path), (loc, loc_path) = sal_at, loc_at
        sal_id, loc_id = id_of(sal), id_of(loc)
        chosen = [(s, p) for s, p in schedules if applies(s, sal_id, loc_id)]
        chosen += rec.items(sal, sal_path, "schedules")
        sessions, session_paths, seen = [], [], set()
        for sched, sched_path in chosen:
            key = id_of(sched) or repr(sorted(sched.items(), key=str))
            if key in seen:
                continue
            seen.add(key)
            try:
                found = self._sessions(sched)
            except ScheduleError as exc:
                rec.fail(field_at(sched, sched_path, exc.field), str(exc))
                continue
            sessions += found
            session_paths += [sched_path] * len(found)
        parts: dict[str, Part] = {k: base[k] for k in _PARTS}
        contact = parts["contact"][1]
        if not (contact["name"] or contact["email"] or contact["phone"]) and (
            sal.get("contacts") or sal.get("phones")
        ):
            parts["contact"] = self._contact(rec, node, path, sal, sal_path)
        located = self._location(rec, loc, loc_path, precision or "point")
        if located is not None:
            parts["location"] = located
        if rec.errors:  # this place's or the service's: report them all, build nothing
            for model, part, where in parts.values():
                rec.model(model, part, where)
            return None
        data = {
            **base,
            **{k: v[1] for k, v in parts.items()},
            "source": self.options.source,
            "source_id": source_id,
            "accessibility": read_accessibility(rec, loc, loc_path),
            "sessions": sessions,
        }
        try:
            return Asset.model_validate(data)
        except ValidationError as exc:
            blame = _Blame(node, path, loc, loc_path, session_paths)
            for err in exc.errors():
                head, *rest = [str(p) for p in err["loc"]] or [""]
                key = ".".join(rest)
                at = parts[head][2](key) if head in parts else blame(".".join([head, *rest]))
                rec.fail(at, message(key or head, err))
            return None

    def _sessions(self, sched: Mapping[str, Any]) -> list[Session]:
        """:func:`schedule_sessions`, remembered: feeds repeat the same few patterns."""
        try:
            key = tuple(sched.get(k) for k in _SCHEDULE_KEYS)
            hash(key)
        except TypeError:  # a list or object where text belongs: let the reader say so
            return schedule_sessions(sched)
        found = self._schedule_cache.get(key)
        if found is None:
            try:
                found = schedule_sessions(sched)
            except ScheduleError as exc:
                found = exc
            if len(self._schedule_cache) >= _SCHEDULE_CACHE_SIZE:
                self._schedule_cache.clear()
            self._schedule_cache[key] = found
        if isinstance(found, ScheduleError):
            raise found
        return list(found)  # sessions are frozen: assets may share them

    def _location(
        self, rec: Record, loc: Mapping[str, Any], path: str, precision: str
    ) -> Part | None:
        """The location; ``precision`` is what its given coordinates are worth (a point
        the importer places by postcode or city gets that place's instead)."""
        lat = rec.number(loc, path, "latitude")
        lon = rec.number(loc, path, "longitude")
        addresses = rec.items(loc, path, "addresses")
        physical = [
            a
            for a in addresses
            if str(a[0].get("address_type") or "").casefold() in ("physical", "")
        ] or addresses
        address = postcode = city = None
        if physical:
            adr, adr_path = physical[0]
            city = rec.text(adr, adr_path, "city")
            lines = [rec.text(adr, adr_path, k) for k in ("address_1", "address_2")] + [city]
            address = ", ".join(dict.fromkeys(p for p in lines if p)) or None
            postcode = rec.text(adr, adr_path, "postal_code")
        description = rec.text(loc, path, "description")
        short = None
        if address is None and description and len(description) <= 80 and "\n" not in description:
            short = description  # what our export writes for a place with no address
        unwritten = all(loc.get(k) in (None, "") for k in ("latitude", "longitude"))
        if unwritten and self._placer is not None and (postcode or city or address):
            found = self._placed(rec, loc, path, postcode, city or short, address)
            if found is None:
                return None
            lat, lon, precision = found.lat, found.lon, found.precision
        for key, value, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
            if value is None and key in loc and loc.get(key) not in (None, ""):
                continue  # already reported as not a number
            if value is None:
                rec.fail(
                    field_at(loc, path, key),
                    f"is missing; a listing needs a point ({key} in WGS84 degrees)",
                )
            elif not -limit <= value <= limit:
                rec.fail(
                    field_at(loc, path, key),
                    f"{value:g} is not a WGS84 {key} (-{limit:g}..{limit:g} degrees)",
                )
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        data = {
            "lat": lat,
            "lon": lon,
            "address": address,
            "postcode": postcode,
            "place": city or short,
            "precision": precision,
        }
        return Location, data, lambda key: field_at(loc, path, key)

    def _placed(
        self,
        rec: Record,
        loc: Mapping[str, Any],
        path: str,
        postcode: str | None,
        place: str | None,
        address: str | None,
    ) -> GeocodeResult | None:
        """The point of a location given no coordinates, by its postal code, else city,
        else address; None (reported at its latitude) when that is not found."""
        assert self._placer is not None
        placing = self._placer.place({"postcode": postcode, "place": place, "address": address})
        assert placing is not None  # the caller checked that one of them is given
        if placing.found is None:
            what = {"postcode": "postal code", "place": "city", "address": "address"}
            guess = f" (did you mean {placing.guess!r}?)" if placing.guess else ""
            rec.fail(
                field_at(loc, path, "latitude"),
                f"is missing, and its {what[placing.field]} {placing.text!r} was not found"
                f"{guess} to place it by: give latitude and longitude (WGS84 degrees), or a "
                "known postal code",
            )
        else:
            self.placed += 1
        return placing.found

    def _contact(
        self,
        rec: Record,
        node: Mapping[str, Any],
        path: str,
        sal: Mapping[str, Any],
        sal_path: str,
    ) -> Part:
        contacts = rec.items(node, path, "contacts") or rec.items(sal, sal_path, "contacts")
        first, first_path = contacts[0] if contacts else ({}, path)
        email = rec.text(node, path, "email")
        email_at = field_at(node, path, "email")
        if email is None and first:
            email, email_at = (
                rec.text(first, first_path, "email"),
                field_at(first, first_path, "email"),
            )
        phone_lists = [rec.items(node, path, "phones")]
        if first:
            phone_lists.append(rec.items(first, first_path, "phones"))
        phone_lists.append(rec.items(sal, sal_path, "phones"))
        phone = next(
            (n for plist in phone_lists for p, pp in plist if (n := phone_number(rec, p, pp))), None
        )
        where = {
            "email": email_at,
            "url": field_at(node, path, "url"),
            "name": field_at(first, first_path, "name"),
        }
        data = {
            "name": rec.text(first, first_path, "name") if first else None,
            "email": email,
            "phone": phone,
            "url": rec.text(node, path, "url"),
        }
        return Contact, data, lambda key: where.get(key, field_at(node, path, "phones"))

    # --- categories and facts -------------------------------------------------------------

    def _categories(self, rec: Record, node: Mapping[str, Any], path: str) -> Facts:
        facts = Facts()
        unmapped: list[str] = []
        for attr, attr_path in rec.items(node, path, "attributes"):
            term = attr.get("taxonomy_term")
            term_ref = attr.get("taxonomy_term_id")
            if not isinstance(term, dict):
                term = self.index.terms.get(str(term_ref)) if term_ref else None
            term = term if isinstance(term, dict) else {"id": term_ref}
            code = str(term.get("code") or "").strip()
            if read_fact(facts, code, attr.get("value")):
                continue
            found = self._term(term)
            if found is None:
                label = next((term[k] for k in ("name", "term", "code", "id") if term.get(k)), None)
                unmapped.append(str(label or f"attribute {attr.get('id') or attr_path}"))
            elif found not in facts.categories:
                facts.categories.append(found)
        if not facts.categories:
            if self.options.fallback_category:
                facts.categories.append(self.options.fallback_category)
            else:
                named = f" (terms: {', '.join(repr(u) for u in unmapped)})" if unmapped else ""
                rec.fail(
                    field_at(node, path, "attributes"),
                    f"no taxonomy term maps to a geo-assets category{named}; use our term "
                    "codes (`geo-assets taxonomy`), add the name as a synonym in "
                    "data/taxonomy.json, or import with a fallback category",
                )
        return facts

    def _term(self, term: Mapping[str, Any]) -> str | None:
        key = tuple(str(term.get(k) or "") for k in ("code", "id", "name", "term"))
        if key in self._term_cache:
            return self._term_cache[key]
        code, tid, *labels = key
        found: str | None = None
        if code and code in self.taxonomy:
            found = code
        elif tid and (ours := term_from_hsds(tid, self.taxonomy)) is not None:
            found = ours.id
        else:
            self._resolver = self._resolver or default_resolver()
            for label in labels:
                matches = self._resolver.resolve(label, limit=1) if label else []
                if matches and matches[0].confidence >= self.options.term_confidence:
                    found = matches[0].term_id
                    break
        self._term_cache[key] = found
        return found


class _Blame:
    """Our field (``name``, ``sessions.0.end``) -> where it came from in the feed."""

    def __init__(
        self,
        node: Mapping[str, Any],
        path: str,
        loc: Mapping[str, Any],
        loc_path: str,
        session_paths: list[str],
    ) -> None:
        self.node, self.path, self.session_paths = node, path, session_paths
        self.fields = {
            "categories": "attributes",
            "group_size": "attributes",
            "organisation_id": "organization",
        }
        self.accessibility = field_at(loc, loc_path, "accessibility")

    def __call__(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        index = rest.split(".", 1)[0]
        if head == "sessions" and index.isdigit() and int(index) < len(self.session_paths):
            return self.session_paths[int(index)]
        if head == "accessibility":
            return self.accessibility
        return field_at(self.node, self.path, self.fields.get(head, head))
