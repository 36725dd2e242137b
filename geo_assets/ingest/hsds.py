"""Open Referral HSDS 3.0 / ORUK JSON in and out.

Import (:func:`parse_hsds`) reads a JSON file holding a list of services, an HSDS page
(``{"contents": [...]}``, as the ``/services`` API returns), or a single service; a
``service_at_location`` or an ``organization`` with its ``services`` is read too, wherever a
service may stand. Each top-level item is one record (numbered from 1); every problem is
reported with that number and the JSON path of the field (``$.contents[2].schedules[0].byday``).
How fields map is described in :mod:`geo_assets.ingest.hsds_map` and
:mod:`geo_assets.ingest.hsds_schedule`.

Export (:func:`export_hsds`) writes the selected assets as a JSON list of HSDS services built
by :mod:`geo_assets.hsds`, plus the listing facts HSDS has no field for, and checks every
service against the compiled HSDS 3.0 schema before anything is written: a schema violation
raises :class:`~geo_assets.hsds.HSDSValidationError` and leaves no file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pydantic_core

from geo_assets.errors import RowError
from geo_assets.geocode import Geocoder
from geo_assets.hsds import (
    HSDSValidationError,
    hsds_errors,
    organization_doc,
    service_doc,
)
from geo_assets.ingest.base import ParsedFeed
from geo_assets.ingest.hsds_map import (
    MAX_ERRORS,
    FeedIndex,
    ReadOptions,
    ServiceReader,
    fact_attributes,
    field_at,
)
from geo_assets.model import Asset, Organisation
from geo_assets.store.base import AssetFilters, Store, iter_assets, paused_gc
from geo_assets.taxonomy import Taxonomy, default_taxonomy

FILE_FIELD = "(file)"
"""The ``field`` of a problem with the whole file (encoding, not JSON, wrong shape); row 0."""


# --- import ---------------------------------------------------------------------------------


def parse_hsds(
    path: str | os.PathLike[str],
    *,
    source: str = "hsds",
    fallback_category: str | None = None,
    geocoder: Geocoder | None = None,
) -> ParsedFeed:
    """Read an HSDS 3.0 / ORUK JSON file into assets and organisations.

    Parameters
    ----------
    path
        The JSON file (UTF-8, a byte-order mark is allowed).
    source
        Provenance name of every record; re-imports match on (source, service id/location id).
    fallback_category
        Taxonomy id given to a service none of whose terms maps to our taxonomy; without it
        such a service is reported and not imported.
    geocoder
        Places a location given no latitude/longitude by its postal code, else its city or
        address (the portal's rules); without it such a location is reported.
    """
    options = ReadOptions(source=source, fallback_category=fallback_category, geocoder=geocoder)
    with paused_gc():
        doc, problem = read_json(Path(path))
        if problem is not None:
            return ParsedFeed(organisations=[], records=[], errors=[problem])
        return parse_hsds_document(doc, options)


def read_json(path: Path) -> tuple[Any, RowError | None]:
    """The parsed file, or a row-0 problem saying why it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, RowError(0, FILE_FIELD, f"cannot read {path}: {exc.strerror or exc}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        # pydantic's Rust parser: several times faster than the json module on big feeds.
        # Caching every short string, values too, makes the feed's repeated codes, days
        # and statuses one object each: 100,000 services read 0.5 s faster (8.1-8.4 s ->
        # 7.7 s), mostly in building and freeing fewer objects.
        return pydantic_core.from_json(raw, cache_strings="all"), None
    except ValueError:
        pass
    # Slow path, only to say exactly what is wrong.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, RowError(
            0,
            FILE_FIELD,
            f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}); save the file as UTF-8",
        )
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, RowError(
            0, FILE_FIELD, f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
    except RecursionError:
        return None, RowError(0, FILE_FIELD, "not usable JSON: nested too deeply")
    except ValueError as exc:  # a number of thousands of digits, say
        return None, RowError(0, FILE_FIELD, f"not usable JSON: {exc}")


def top_items(doc: Any) -> tuple[list[tuple[int, Any, str]], RowError | None]:
    """(record number, item, JSON path) of each record of a list, a page or one object."""
    if isinstance(doc, list):
        return [(i + 1, item, f"$[{i}]") for i, item in enumerate(doc)], None
    if isinstance(doc, dict):
        contents = doc.get("contents")
        if isinstance(contents, list):
            return [(i + 1, item, f"$.contents[{i}]") for i, item in enumerate(contents)], None
        return [(1, doc, "$")], None
    return [], RowError(
        0,
        FILE_FIELD,
        "the file must hold an HSDS service, a list of services, or a page "
        f"with `contents`; found {type(doc).__name__}",
    )


_SERVICE_KEYS = frozenset(
    {
        "status",
        "service_at_locations",
        "organization",
        "organization_id",
        "cost_options",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "fees",
        "fees_description",
        "application_process",
        "program_id",
        "assured_date",
        "assurer_email",
        "service_areas",
        "alert",
        "accreditations",
        "interpretation_services",
        "wait_time",
        "licenses",
    }
)
_ORGANIZATION_KEYS = frozenset(
    {
        "website",
        "tax_status",
        "tax_id",
        "legal_status",
        "year_incorporated",
        "logo",
        "parent_organization_id",
        "organization_identifiers",
        "funding",
        "locations",
        "programs",
    }
)
_OTHER_KINDS = (
    ("an HSDS location", {"latitude", "longitude", "location_type", "addresses"}),
    (
        "an HSDS taxonomy or taxonomy term",
        {"taxonomy_terms", "parent_id", "term_uri", "code", "taxonomy", "taxonomy_detail", "term"},
    ),
)


def _kind(item: Mapping[str, Any]) -> str | None:
    """service, service_at_location, organization, or None for anything else."""
    keys = set(item)
    if isinstance(item.get("service"), dict) and keys & {"location", "location_id"}:
        return "service_at_location"
    if isinstance(item.get("services"), list):
        return "organization"
    if any(keys & marks for _, marks in _OTHER_KINDS):
        return None
    if keys & _SERVICE_KEYS:
        return "service"
    if "name" in keys and keys & _ORGANIZATION_KEYS:
        return "organization"
    return None


def _not_a_service(item: Mapping[str, Any]) -> str:
    keys = set(item)
    what = next((name for name, marks in _OTHER_KINDS if keys & marks), None)
    shown = ", ".join(sorted(keys)[:8]) or "no fields"
    return (
        f"is {what or 'not an HSDS service'} (fields: {shown}); import a list of services, "
        "a page of services (`contents`), a service_at_location or an organization"
    )


def parse_hsds_document(
    doc: Any, options: ReadOptions, index: FeedIndex | None = None
) -> ParsedFeed:
    """Assets of an already parsed HSDS document (see :func:`parse_hsds`)."""
    items, problem = top_items(doc)
    if problem is not None:
        return ParsedFeed(organisations=[], records=[], errors=[problem])
    return read_items(items, options, index)


def read_items(
    items: list[tuple[int, Any, str]],
    options: ReadOptions,
    index: FeedIndex | None = None,
    *,
    force_kind: str | None = None,
) -> ParsedFeed:
    """Assets of records given as (record number, object, where); shared with the CSV reader,
    which knows its records are services (``force_kind``)."""
    index = index or FeedIndex()
    kinds = [
        (force_kind or _kind(item)) if isinstance(item, dict) else None for _, item, _ in items
    ]
    for (_, item, path), kind in zip(items, kinds, strict=True):
        if kind == "organization":  # organizations and their locations, referenced by id
            if item.get("id"):
                index.organizations.setdefault(str(item["id"]).strip(), (item, path))
            for j, loc in enumerate(item.get("locations") or []):
                if isinstance(loc, dict) and loc.get("id"):
                    index.locations.setdefault(
                        str(loc["id"]).strip(), (loc, f"{path}.locations[{j}]")
                    )
    reader = ServiceReader(options, index)
    records: list[tuple[int, Asset]] = []
    errors: list[RowError] = []
    for (row, item, path), kind in zip(items, kinds, strict=True):
        if len(errors) >= MAX_ERRORS:
            errors.append(RowError(row, FILE_FIELD, f"stopped after {MAX_ERRORS} problems"))
            break
        if not isinstance(item, dict):
            errors.append(
                RowError(
                    row,
                    field_at(item, path),
                    f"must be an object (an HSDS service), not {item!r:.40}",
                )
            )
            continue
        if kind is None:
            errors.append(RowError(row, field_at(item, path), _not_a_service(item)))
            continue
        for service, service_path, sals in _services_of(kind, item, path, reader, row, errors):
            assets, problems = reader.read_service(row, service, service_path, sals)
            errors.extend(problems)
            records.extend((row, asset) for asset in assets)
    warnings = []
    if reader.placed:
        warnings.append(
            f"{reader.placed} location(s) gave no latitude/longitude and were placed at their "
            "postal code's (else city's or address's) centre; their pins say so"
        )
    return ParsedFeed(
        organisations=list(reader.organisations.values()),
        organisation_refs=reader.organisation_refs,
        records=records,
        errors=errors,
        warnings=warnings,
        # HSDS has no field for how a point was found. Our own exports say it as a listing
        # fact (read above); other points are checked against the postcode table.
        precision_given=False,
    )


def _services_of(
    kind: str,
    item: Mapping[str, Any],
    path: str,
    reader: ServiceReader,
    row: int,
    errors: list[RowError],
) -> Iterator[tuple[Mapping[str, Any], str, list[tuple[Mapping[str, Any], str]] | None]]:
    """(service, its path, service_at_locations override) of one top-level record."""
    if kind == "service":
        yield item, path, None
    elif kind == "service_at_location":
        yield item["service"], f"{path}.service", [(item, path)]
    else:
        org_id, problems = reader.organisation(item, path, row)
        errors.extend(problems)
        for j, service in enumerate(item.get("services") or []):
            where = f"{path}.services[{j}]"
            if not isinstance(service, dict):
                errors.append(RowError(row, where, "must be an object (an HSDS service)"))
                continue
            if org_id and not service.get("organization") and not service.get("organization_id"):
                service = {**service, "organization_id": item.get("id")}
            yield service, where, None


# --- export ---------------------------------------------------------------------------------


def hsds_service(
    asset: Asset, org: Organisation | None, taxonomy: Taxonomy | None = None
) -> dict[str, Any]:
    """The HSDS service we export for one asset: :func:`geo_assets.hsds.service_doc` with the
    full organization (phones too) and the listing facts as attributes."""
    doc = service_doc(asset, org, taxonomy=taxonomy)
    if org is not None:
        doc["organization"] = organization_doc(org, full=True)
    doc["attributes"] = doc.get("attributes", []) + fact_attributes(asset, doc["id"])
    return doc


def service_documents(
    store: Store, filters: AssetFilters | None = None
) -> Iterator[dict[str, Any]]:
    """Each selected asset as a schema-checked HSDS service, in the store's list order.

    Raises :class:`HSDSValidationError` naming the asset at the first service that breaks
    the HSDS 3.0 schema.
    """
    taxonomy = default_taxonomy()
    orgs: dict[str, Organisation | None] = {}
    for asset in iter_assets(store, filters):
        org = None
        if asset.organisation_id:
            if asset.organisation_id not in orgs:
                orgs[asset.organisation_id] = store.get_organisation(asset.organisation_id)
            org = orgs[asset.organisation_id]
        doc = hsds_service(asset, org, taxonomy)
        problems = hsds_errors("service", doc)
        if problems:
            raise HSDSValidationError(f"service (asset {asset.id}, {asset.name!r})", problems)
        yield doc


def export_hsds(
    store: Store, path: str | os.PathLike[str], filters: AssetFilters | None = None
) -> int:
    """Write the selected assets to ``path`` as a JSON list of HSDS 3.0 services.

    Returns the number of services written. Every service is validated first; on a
    violation nothing is written (the file is built aside and moved into place at the end).
    """
    target = Path(path)
    count = 0
    fd, tmp = tempfile.mkstemp(prefix=".hsds-", suffix=".json", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("[")
            for doc in service_documents(store, filters):
                out.write(",\n" if count else "\n")
                out.write(json.dumps(doc, ensure_ascii=False))
                count += 1
            out.write("\n]\n" if count else "]\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
