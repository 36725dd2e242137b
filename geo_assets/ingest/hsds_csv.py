"""The HSDS 3.0 tabular package: a folder (or .zip) of CSV files plus ``datapackage.json``.

Import (:func:`parse_hsds_csv`) joins the tables back into nested HSDS services and reads
them exactly as the JSON importer does (:mod:`geo_assets.ingest.hsds_map`): one record per
row of ``services.csv``, numbered as the spreadsheet shows it (the header is row 1). A
problem in another table names that table and row (``schedules.csv row 7: byday``).

Tables read, by their HSDS file names (singular names, as some ORUK packages use, are read
too; the plural wins when both are there): services, organizations, service_at_location,
locations, addresses, accessibility, schedules, cost_options, languages, contacts, phones,
attributes, taxonomy_terms. Rows are joined by their id columns (``service_id``,
``location_id``, ``contact_id``, ``link_id``...); rows that name a service that is not in
``services.csv`` are left out with a warning. ``datapackage.json`` is optional on import.

Export (:func:`export_hsds_csv`) flattens the schema-checked services of
:func:`geo_assets.ingest.hsds.service_documents` into those tables, with the columns (in
order) of the vendored HSDS 3.0 table schemas, and writes a ``datapackage.json`` describing
them. A path ending in ``.zip`` gets a zip file, anything else a folder. Values are
written as they are, unlike the spreadsheet export's: this is data for other directories'
software, where "+44 1274 ..." is a phone number and "-1FR" a last Friday, and a guarding
apostrophe would change them (open it in a spreadsheet with care).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from geo_assets.errors import InvalidInputError, RowError
from geo_assets.geocode import Geocoder
from geo_assets.hsds_validate import SCHEMA_DIR
from geo_assets.ingest.base import ParsedFeed, unpacked_problem
from geo_assets.ingest.hsds import FILE_FIELD, read_items, service_documents
from geo_assets.ingest.hsds_map import SRC_KEY, FeedIndex, ReadOptions
from geo_assets.store.base import AssetFilters, Store, paused_gc

# A national directory's tables: larger than any workbook an organisation uploads.
HSDS_MAX_UNPACKED_BYTES = 4 * 2**30

# Our name for each table -> (HSDS object schema, file names it may have).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "organizations": ("organization", ("organizations.csv", "organization.csv")),
    "services": ("service", ("services.csv", "service.csv")),
    "service_at_locations": (
        "service_at_location",
        ("service_at_location.csv", "service_at_locations.csv"),
    ),
    "locations": ("location", ("locations.csv", "location.csv")),
    "addresses": ("address", ("addresses.csv", "address.csv")),
    "accessibility": ("accessibility", ("accessibility.csv", "accessibility_for_disabilities.csv")),
    "schedules": ("schedule", ("schedules.csv", "schedule.csv")),
    "cost_options": ("cost_option", ("cost_options.csv", "cost_option.csv")),
    "languages": ("language", ("languages.csv", "language.csv")),
    "contacts": ("contact", ("contacts.csv", "contact.csv")),
    "phones": ("phone", ("phones.csv", "phone.csv")),
    "attributes": ("attribute", ("attributes.csv", "attribute.csv")),
    "taxonomy_terms": ("taxonomy_term", ("taxonomy_terms.csv", "taxonomy_term.csv")),
    "taxonomies": ("taxonomy", ("taxonomies.csv", "taxonomy.csv")),
}
PACKAGE_NAME = "geo-assets-hsds"
# Attributes of these objects are not about a service.
_OTHER_ENTITIES = frozenset(
    {"organization", "location", "service_at_location", "contact", "phone", "program"}
)

Row = dict[str, Any]


# --- reading the files ----------------------------------------------------------------------


class _Package:
    """The CSV files of a folder or a zip, by lower-case base name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, Any] = {}
        self._zip: zipfile.ZipFile | None = None
        if path.is_file() and path.suffix.lower() == ".zip":
            self._zip = zipfile.ZipFile(path)
            if problem := unpacked_problem(self._zip.infolist(), max_bytes=HSDS_MAX_UNPACKED_BYTES):
                self._zip.close()
                raise InvalidInputError(f"{path.name} is refused: {problem}", field="file")
            for name in self._zip.namelist():
                if not name.endswith("/"):
                    self.files.setdefault(Path(name).name.lower(), name)
        else:
            folder = path.parent if path.is_file() else path
            for child in sorted(folder.iterdir()):
                if child.is_file():
                    self.files[child.name.lower()] = child

    def read(self, name: str) -> bytes:
        where = self.files[name]
        if self._zip is not None:
            return self._zip.read(where)
        return Path(where).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _rows(pkg: _Package, name: str, errors: list[RowError]) -> list[Row]:
    """The rows of one CSV file: blank cells left out, ``@src`` naming file and row."""
    raw = pkg.read(name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(
            RowError(
                0,
                name,
                f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}); save it as UTF-8",
            )
        )
        return []
    out = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader, [])]
        for number, cells in enumerate(reader, start=2):
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                errors.append(
                    RowError(
                        number,
                        f"{name} row {number}",
                        f"{len(cells)} cells but {len(header)} columns",
                    )
                )
                continue
            row: Row = {
                h: c.strip() for h, c in zip(header, cells, strict=False) if h and c.strip()
            }
            if row:
                row[SRC_KEY] = f"{name} row {number}"
                out.append(row)
    except csv.Error as exc:
        errors.append(RowError(0, name, f"not a readable CSV file: {exc}"))
        return []
    return out


def _table_files(pkg: _Package) -> dict[str, str]:
    """Our table name -> file name in the package (the first of its names found)."""
    found = {}
    for table, (_, names) in TABLES.items():
        name = next((n for n in names if n in pkg.files), None)
        if name is not None:
            found[table] = name
    # A datapackage.json may name other paths (resource names are the singular objects).
    if "datapackage.json" in pkg.files:
        try:
            meta = json.loads(pkg.read("datapackage.json"))
            by_object = {obj: table for table, (obj, _) in TABLES.items()}
            for res in meta.get("resources", []):
                wanted = by_object.get(str(res.get("name")))
                path = Path(str(res.get("path") or "")).name.lower()
                if wanted and wanted not in found and path in pkg.files:
                    found[wanted] = path
        except (ValueError, AttributeError, TypeError, RecursionError):
            pass  # the CSV names above are enough; a broken datapackage.json is not fatal
    return found


# --- import ---------------------------------------------------------------------------------


def parse_hsds_csv(
    path: str | os.PathLike[str],
    *,
    source: str = "hsds",
    fallback_category: str | None = None,
    geocoder: Geocoder | None = None,
) -> ParsedFeed:
    """Read an HSDS tabular package (a folder, its ``datapackage.json``, or a .zip).

    ``source``, ``fallback_category`` and ``geocoder`` are as for
    :func:`geo_assets.ingest.hsds.parse_hsds`.
    """
    options = ReadOptions(source=source, fallback_category=fallback_category, geocoder=geocoder)
    target = Path(path)
    try:
        pkg = _Package(target)
    except (OSError, zipfile.BadZipFile) as exc:
        return ParsedFeed(errors=[RowError(0, FILE_FIELD, f"cannot read {target}: {exc}")])
    except InvalidInputError as exc:
        return ParsedFeed(errors=[RowError(0, FILE_FIELD, str(exc))])
    try:
        with paused_gc():
            return _parse_package(pkg, options)
    finally:
        pkg.close()


def _parse_package(pkg: _Package, options: ReadOptions) -> ParsedFeed:
    files = _table_files(pkg)
    if "services" not in files:
        return ParsedFeed(
            errors=[
                RowError(
                    0,
                    FILE_FIELD,
                    f"no services.csv in {pkg.path}; an HSDS tabular package needs one",
                )
            ]
        )
    errors: list[RowError] = []
    tables = {table: _rows(pkg, name, errors) for table, name in files.items()}
    index = FeedIndex()
    items, warnings = _nest(tables, index)
    feed = read_items(items, options, index, force_kind="service")
    feed.errors[:0] = errors
    feed.warnings.extend(warnings)
    return feed


def _by(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if key in row:
            out[row[key]].append(row)
    return out


def _nest(
    tables: dict[str, list[Row]], index: FeedIndex
) -> tuple[list[tuple[int, Any, str]], list[str]]:
    """Services with their related rows nested the way HSDS JSON has them."""
    get = lambda name: tables.get(name, [])  # noqa: E731
    phones_by = {
        key: _by(get("phones"), key)
        for key in ("service_id", "contact_id", "organization_id", "service_at_location_id")
    }
    for term in get("taxonomy_terms"):
        if "id" in term:
            index.terms.setdefault(term["id"], term)
    for org in get("organizations"):
        if "id" in org:
            org = {**org, "phones": phones_by["organization_id"].get(org["id"], [])}
            index.organizations.setdefault(org["id"], (org, org[SRC_KEY]))
    addresses, access = (
        _by(get("addresses"), "location_id"),
        _by(get("accessibility"), "location_id"),
    )
    locations: dict[str, Row] = {}
    for loc in get("locations"):
        if "id" in loc:
            locations[loc["id"]] = {
                **loc,
                "addresses": addresses.get(loc["id"], []),
                "accessibility": access.get(loc["id"], []),
            }
            index.locations.setdefault(loc["id"], (locations[loc["id"]], loc[SRC_KEY]))
    contacts = [
        {**c, "phones": phones_by["contact_id"].get(c.get("id", ""), [])} for c in get("contacts")
    ]
    schedules = get("schedules")
    sal_schedules = _by([s for s in schedules if "service_id" not in s], "service_at_location_id")
    sals = [
        {
            **sal,
            "schedules": sal_schedules.get(sal.get("id", ""), []),
            "phones": phones_by["service_at_location_id"].get(sal.get("id", ""), []),
            **(
                {"location": locations[sal["location_id"]]}
                if sal.get("location_id") in locations
                else {}
            ),
        }
        for sal in get("service_at_locations")
    ]
    related = {
        "service_at_locations": _by(sals, "service_id"),
        "schedules": _by(schedules, "service_id"),
        "cost_options": _by(get("cost_options"), "service_id"),
        "languages": _by(get("languages"), "service_id"),
        "contacts": _by(contacts, "service_id"),
        "phones": phones_by["service_id"],
        "attributes": _by(
            [
                a
                for a in get("attributes")
                if a.get("link_entity", "service") not in _OTHER_ENTITIES
            ],
            "link_id",
        ),
    }
    items: list[tuple[int, Any, str]] = []
    service_ids = set()
    for service in get("services"):
        sid = service.get("id", "")
        service_ids.add(sid)
        node = {**service, **{k: rows.get(sid, []) for k, rows in related.items()}}
        row = int(service[SRC_KEY].rsplit(" ", 1)[-1])
        items.append((row, node, service[SRC_KEY]))
    return items, _orphans(tables, service_ids)


def _orphans(tables: dict[str, list[Row]], service_ids: set[str]) -> list[str]:
    """Warnings for rows that name a service the package does not have."""
    out = []
    for table in ("service_at_locations", "schedules", "cost_options"):
        lost = [
            r[SRC_KEY].rsplit(" ", 1)[-1]
            for r in tables.get(table, [])
            if r.get("service_id") and r["service_id"] not in service_ids
        ]
        if lost:
            name = TABLES[table][1][0]
            out.append(
                f"{name}: rows {', '.join(lost[:20])}{' ...' if len(lost) > 20 else ''} "
                "name a service_id that is not in services.csv; left out"
            )
    return out


# --- export ---------------------------------------------------------------------------------


@cache
def table_schema(table: str) -> tuple[str, list[dict[str, Any]]]:
    """(file name, datapackage fields) of one table, from the vendored HSDS 3.0 schema."""
    obj, _ = TABLES[table]
    schema = json.loads((SCHEMA_DIR / f"{obj}.json").read_text(encoding="utf-8"))
    fields = []
    for name, prop in schema["properties"].items():
        if prop.get("type") in ("array", "object") or "$ref" in prop:
            continue
        entry: dict[str, Any] = {
            "name": name,
            "type": prop.get("datapackage_type") or prop.get("type", "string"),
        }
        if prop.get("format") in ("uuid", "email", "uri"):
            entry["format"] = prop["format"]
        if name in schema.get("required", []):
            entry["constraints"] = {"required": True}
        fields.append(entry)
    return schema["path"], fields


class _Tables:
    """Rows per table, each object written once (by id)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = defaultdict(list)
        self.seen: dict[str, set[str]] = defaultdict(set)

    def add(self, table: str, obj: Mapping[str, Any], **links: Any) -> None:
        key = str(obj.get("id"))
        if key in self.seen[table]:
            return
        self.seen[table].add(key)
        self.rows[table].append(
            {**{k: v for k, v in obj.items() if not isinstance(v, list | dict)}, **links}
        )


def flatten(services: Iterable[Mapping[str, Any]]) -> tuple[dict[str, list[Row]], int]:
    """HSDS services -> rows per table; also returns the number of services."""
    t = _Tables()
    count = 0
    for svc in services:
        count += 1
        sid = svc["id"]
        org = svc.get("organization")
        if org:
            t.add("organizations", org)
            for phone in org.get("phones", []):
                t.add("phones", phone, organization_id=org["id"])
        t.add("services", svc)
        for sal in svc.get("service_at_locations", []):
            loc = sal.get("location") or {}
            t.add("service_at_locations", sal, service_id=sid, location_id=loc.get("id"))
            if loc:
                t.add("locations", loc)
                for adr in loc.get("addresses", []):
                    t.add("addresses", adr, location_id=loc["id"])
                for acc in loc.get("accessibility", []):
                    t.add("accessibility", acc, location_id=loc["id"])
            for sched in sal.get("schedules", []):
                t.add("schedules", sched, service_at_location_id=sal["id"])
        for sched in svc.get("schedules", []):
            t.add("schedules", sched, service_id=sid)
        for key in ("cost_options", "languages", "phones"):
            for item in svc.get(key, []):
                t.add(key, item, service_id=sid)
        for contact in svc.get("contacts", []):
            t.add("contacts", contact, service_id=sid)
            for phone in contact.get("phones", []):
                t.add("phones", phone, contact_id=contact["id"])
        for attr in svc.get("attributes", []):
            t.add("attributes", attr)
            term = attr.get("taxonomy_term")
            if term:
                t.add("taxonomy_terms", term)
                t.add(
                    "taxonomies",
                    {
                        "id": term.get("taxonomy_id"),
                        "name": term.get("taxonomy"),
                        "description": term.get("taxonomy"),
                    },
                )
    return dict(t.rows), count


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _write_package(folder: Path, tables: dict[str, list[Row]]) -> None:
    resources = []
    for table in TABLES:
        file_name, fields = table_schema(table)
        names = [f["name"] for f in fields]
        with (folder / file_name).open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(names)
            for row in tables.get(table, []):
                writer.writerow([_cell(row.get(n)) for n in names])
        resources.append(
            {
                "name": TABLES[table][0],
                "path": file_name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": fields, "primaryKey": "id"},
            }
        )
    package = {
        "name": PACKAGE_NAME,
        "profile": "tabular-data-package",
        "title": "geo-assets listings as Open Referral HSDS 3.0 tables",
        "resources": resources,
    }
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")


def export_hsds_csv(
    store: Store, path: str | os.PathLike[str], filters: AssetFilters | None = None
) -> int:
    """Write the selected assets as an HSDS tabular package; returns the services written.

    ``path`` ending in ``.zip`` gets a zip file, otherwise a folder (created; CSV files of
    the same names are replaced). Every service is checked against the HSDS 3.0 schema
    first; on a violation nothing is written.
    """
    target = Path(path)
    tables, count = flatten(service_documents(store, filters))
    with tempfile.TemporaryDirectory(dir=target.parent if target.parent.exists() else None) as tmp:
        folder = Path(tmp) / "package"
        folder.mkdir()
        _write_package(folder, tables)
        if target.suffix.lower() == ".zip":
            staged = Path(tmp) / "package.zip"
            with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as zf:
                for child in sorted(folder.iterdir()):
                    zf.write(child, child.name)
            os.replace(staged, target)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for child in folder.iterdir():
                shutil.move(str(child), target / child.name)
    return count


def iter_table(path: Path, table: str) -> Iterator[Row]:
    """Rows of one table of a written package (for checks and tests); blanks left out."""
    pkg = _Package(path)
    try:
        name = _table_files(pkg).get(table)
        yield from (_rows(pkg, name, []) if name else [])
    finally:
        pkg.close()
