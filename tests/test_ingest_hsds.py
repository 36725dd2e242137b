"""HSDS 3.0 / ORUK import and export: JSON and the tabular CSV package.

Reads the shared reference files (../shared/reference/hsds): the HSDS 3.0 and ORUK examples
and the ORUK validator's mock feeds. Those examples carry placeholder values no real
listing can have (latitude 100, longitude 101; a weekly rule also limited to days of the
month 2,3,4 and week numbers 41,42; a term called "name"). Imported as published, each
is reported precisely and nothing is written. The round trips use a *repaired* copy, the
repair being exactly: the coordinates become a point in Bradford, the rule parts we do not
represent (bymonthday, byweekno, byyearday, count) are dropped, and services whose terms
do not map get a fallback category. Every other field goes through as published.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from geo_assets.errors import RowError
from geo_assets.geocode import Geocoder
from geo_assets.hsds import HSDSValidationError, hsds_errors
from geo_assets.ingest import FORMATS
from geo_assets.ingest import hsds as hsds_json
from geo_assets.ingest.base import run_import
from geo_assets.ingest.hsds import (
    FILE_FIELD,
    export_hsds,
    hsds_service,
    parse_hsds,
    parse_hsds_document,
)
from geo_assets.ingest.hsds_csv import export_hsds_csv, iter_table, parse_hsds_csv
from geo_assets.ingest.hsds_map import MAX_ERRORS, ReadOptions
from geo_assets.ingest.hsds_schedule import ScheduleError, schedule_sessions
from geo_assets.model import Asset, Organisation, Session
from geo_assets.store.base import AssetFilters, Store
from geo_assets.synthetic import generate_sample
from tests.factories import make_asset
from tests.ingest_helpers import dump

REF = Path(__file__).parents[2] / "shared" / "reference" / "hsds" / "examples"
needs_ref = pytest.mark.skipif(
    not REF.is_dir(), reason=f"shared HSDS reference files not found at {REF}"
)
MOCKS = REF / "oruk-validator-mocks" / "OpenReferralApi" / "Mocks"
FALLBACK = "health.mental-health"
BRADFORD = (53.7937, -1.7521)
# What HSDS cannot carry (or the store owns); everything else must survive a round trip.
NOT_COMPARED = {"id", "created_at", "updated_at", "version", "source", "source_id"}
# Files whose items are services (as a list, a page, one service, a service_at_location or
# an organization with its services).
SERVICE_FILES = [
    "hsds-3.0/examples/service_full.json",
    "hsds-3.0/examples/service_at_location_full.json",
    "hsds-3.0/examples/service_at_location_list.json",
    "hsds-3.0/examples/organization_full.json",
    "oruk-uk-profile-3.0/examples/service_full.json",
    "oruk-uk-profile-3.0/examples/service_at_location_full.json",
    "oruk-uk-profile-3.0/examples/service_at_location_list.json",
    "oruk-uk-profile-3.0/examples/organization_full.json",
    *(
        f"oruk-validator-mocks/OpenReferralApi/Mocks/V3.0-UK-{v}/{f}"
        for v in ("Default", "Test", "Warn")
        for f in (
            "service_full.json",
            "service_at_location_full.json",
            "service_at_location_list.json",
        )
    ),
]


def all_reference_json() -> list[Path]:
    return sorted(REF.rglob("*.json")) if REF.is_dir() else []


def repaired(doc: Any) -> Any:
    """The reference document with the placeholders described above replaced."""
    doc = copy.deepcopy(doc)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("latitude") == 100:
                node["latitude"], node["longitude"] = BRADFORD
            for key in ("bymonthday", "byweekno", "byyearday", "count"):
                node.pop(key, None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return doc


def comparable(asset: Asset) -> dict[str, Any]:
    data = asset.model_dump(mode="json", exclude=NOT_COMPARED)
    return data


def org_comparable(org: Organisation) -> dict[str, Any]:
    return org.model_dump(mode="json", exclude={"created_at", "updated_at", "version"})


def load(store: Store, feed: Any) -> None:
    report = run_import(store, feed)
    assert report.ok, report.errors[:5]


def stored(store: Store) -> list[Asset]:
    return store.list_assets(AssetFilters(), per_page=1000).items


# --- the reference files ----------------------------------------------------------------------


@needs_ref
@pytest.mark.parametrize("path", all_reference_json(), ids=lambda p: str(p.relative_to(REF)))
def test_every_reference_json_is_read_or_reported_never_crashes(path: Path) -> None:
    feed = parse_hsds(path)
    for err in feed.errors:
        assert isinstance(err, RowError) and err.row >= 0 and err.field and err.message
    records = list(feed.records)
    # Every file either yields assets or says why not.
    assert records or feed.errors or feed.organisations


@needs_ref
@pytest.mark.parametrize("name", SERVICE_FILES)
def test_examples_as_published_report_their_placeholders(name: str) -> None:
    feed = parse_hsds(REF / name)
    assert list(feed.records) == []
    messages = {e.field: e.message for e in feed.errors}
    latitude = [f for f in messages if f.endswith("location.latitude")]
    assert latitude and "100 is not a WGS84 latitude" in messages[latitude[0]]
    assert any(
        f.endswith(".attributes") and "no taxonomy term maps" in m for f, m in messages.items()
    )


@needs_ref
def test_schedule_with_days_of_month_is_reported_with_its_path() -> None:
    feed = parse_hsds(REF / "hsds-3.0/examples/service_full.json")
    (err,) = [e for e in feed.errors if "bymonthday" in e.field]
    assert err.row == 1
    assert err.field == "$.schedules[0].bymonthday"
    assert "days of the month" in err.message and "byday" in err.message


@needs_ref
def test_fail_mock_service_reports_each_bad_field() -> None:
    feed = parse_hsds(MOCKS / "V3.0-UK-Fail/service_full.json", fallback_category=FALLBACK)
    messages = {e.field: e.message for e in feed.errors}
    assert "is not an email address" in messages["$.email"]
    assert "web address" in messages["$.url"]
    assert "latitude" in messages["$.service_at_locations[0].location.latitude"]
    assert list(feed.records) == []


@needs_ref
def test_fail_mock_list_reports_wrong_types_and_missing_names() -> None:
    feed = parse_hsds(MOCKS / "V3.0-UK-Fail/service_list.json", fallback_category=FALLBACK)
    messages = {(e.row, e.field): e.message for e in feed.errors}
    assert "needs a `name`" in messages[(1, "$.contents[0].name")]
    assert "must be text, not a number" in messages[(4, "$.contents[3].email")]
    assert "must be text, not true/false" in messages[(3, "$.contents[2].email")]
    assert "physical location" in messages[(2, "$.contents[1].service_at_locations")]


@needs_ref
@pytest.mark.parametrize(
    "name",
    [
        "service_full.json",
        "service_list.json",
        "service_at_location_full.json",
        "organization_full.json",
    ],
)
def test_fail_mocks_leave_the_store_unchanged(sqlite_store: Store, name: str) -> None:
    before = dump(sqlite_store)
    report = run_import(sqlite_store, parse_hsds(MOCKS / "V3.0-UK-Fail" / name))
    assert not report.ok and report.errors
    assert dump(sqlite_store) == before


@needs_ref
def test_non_service_documents_say_what_they_are() -> None:
    feed = parse_hsds(REF / "hsds-3.0/examples/taxonomy_term.json")
    (err,) = feed.errors
    assert err.field == "$" and "taxonomy" in err.message and "list of services" in err.message
    feed = parse_hsds(MOCKS / "V3.0-UK-Default/api_details.json")
    assert "not an HSDS service" in feed.errors[0].message


@needs_ref
def test_organization_list_imports_organisations() -> None:
    feed = parse_hsds(MOCKS / "V3.0-UK-Default/organization_list.json")
    assert not feed.errors
    assert len(feed.organisations) == 10
    assert all(o.source == "hsds" and o.source_id for o in feed.organisations)


@needs_ref
@pytest.mark.parametrize("name", SERVICE_FILES)
def test_repaired_examples_round_trip_through_json(
    sqlite_store: Store, tmp_path: Path, name: str
) -> None:
    doc = repaired(json.loads((REF / name).read_text(encoding="utf-8")))
    first = parse_hsds_document(doc, ReadOptions(fallback_category=FALLBACK))
    assert not first.errors, first.errors
    assets = [a for _, a in first.records]
    assert assets and all(a.point == BRADFORD for a in assets)
    load(sqlite_store, first)

    out = tmp_path / "export.json"
    assert export_hsds(sqlite_store, out) == len(assets)
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert all(hsds_errors("service", s) == [] for s in exported)

    second = parse_hsds(out)
    assert not second.errors, second.errors
    assert sorted(map(json.dumps, map(comparable, (a for _, a in second.records)))) == sorted(
        map(json.dumps, map(comparable, assets))
    )
    assert {o.id: org_comparable(o) for o in second.organisations} == {
        o.id: org_comparable(o) for o in first.organisations
    }


@needs_ref
def test_example_service_fields_are_read() -> None:
    doc = repaired(json.loads((REF / "hsds-3.0/examples/service_full.json").read_text()))
    feed = parse_hsds_document(doc, ReadOptions(fallback_category=FALLBACK))
    ((row, asset),) = feed.records
    assert row == 1
    assert asset.source_id == (
        "ac148810-d857-441c-9679-408f346de14b/3a19ff88-4620-4d17-9830-ac1d859eb5d5"
    )
    assert asset.name == "Community Counselling"
    assert asset.status == "published"
    assert (asset.eligibility.min_age, asset.eligibility.max_age) == (12, 100)
    assert asset.cost.amount == 35 and asset.cost.currency == "GBP" and asset.cost.per == "session"
    assert asset.cost.notes and "Under 18s and Over 60s" in asset.cost.notes
    assert asset.languages == ["ur"]
    assert asset.contact.name == "Ann Persona" and asset.contact.phone == "+44 1234 234567"
    assert asset.attendance == "referral"
    assert asset.location.postcode == "ABC 1234" and asset.location.place == "MyCity"
    assert asset.location.address == "1-30 Main Street, MyVillage, MyCity"
    assert "induction loops" in (asset.accessibility.notes or "")
    (session,) = asset.sessions
    assert session.weekdays == ["th", "fr"] and session.frequency == "weekly"
    assert (session.start.hour, session.end.hour) == (10, 18)
    assert asset.organisation_id == "d9d5e0f5d3ce4f739a2f4dd0ecc6c610"
    assert asset.categories == [FALLBACK]


@needs_ref
@pytest.mark.parametrize("folder", ["hsds-3.0/examples/csv", "oruk-uk-profile-3.0/examples/csv"])
def test_example_csv_packages_report_placeholders(folder: str) -> None:
    feed = parse_hsds_csv(REF / folder)
    fields = [e.field for e in feed.errors]
    assert any(f.startswith("locations.csv row") and f.endswith(": latitude") for f in fields)
    assert any(f.startswith("schedules.csv row 2: bymonthday") for f in fields)
    assert list(feed.records) == []


def _repair_csv(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for path in src.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.DictReader(fh)]
            fields = list(rows[0]) if rows else []
        for row in rows:
            if row.get("latitude") == "100":
                row["latitude"], row["longitude"] = (str(v) for v in BRADFORD)
            for key in ("bymonthday", "byweekno", "byyearday", "count"):
                if key in row:
                    row[key] = ""
        with (dst / path.name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return dst


@needs_ref
@pytest.mark.parametrize("folder", ["hsds-3.0/examples/csv", "oruk-uk-profile-3.0/examples/csv"])
def test_repaired_csv_example_round_trips(sqlite_store: Store, tmp_path: Path, folder: str) -> None:
    pkg = _repair_csv(REF / folder, tmp_path / "in")
    first = parse_hsds_csv(pkg, fallback_category=FALLBACK)
    assert not first.errors, first.errors
    assets = [a for _, a in first.records]
    assert len(assets) == 1
    assert assets[0].sessions and assets[0].cost.amount == 35
    load(sqlite_store, first)
    out = tmp_path / "out.zip"
    assert export_hsds_csv(sqlite_store, out) == 1
    second = parse_hsds_csv(out)
    assert not second.errors, second.errors
    assert [comparable(a) for _, a in second.records] == [comparable(a) for a in assets]


# --- our own data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[list[Organisation], list[Asset]]:
    orgs, assets = generate_sample()
    # And a toddler group, whose carers come too, and a listing placed only by its
    # postcode (facts HSDS has no field for).
    by_postcode = assets[120].model_copy(
        update={"location": assets[120].location.model_copy(update={"precision": "postcode"})}
    )
    picked = assets[:120] + [next(a for a in assets if a.eligibility.with_carers), by_postcode]
    used = {a.organisation_id for a in picked}
    return [o for o in orgs if o.id in used], picked


def _expected_after_hsds(asset: Asset) -> dict[str, Any]:
    """What HSDS keeps of one of our assets (see the tables in geo_assets.hsds and hsds_map)."""
    data = comparable(asset)
    data["venue_id"] = None
    data["location"]["footprint"] = None
    if asset.last_verified_at:
        day = asset.last_verified_at.replace(hour=0, minute=0, second=0)
        data["last_verified_at"] = day.isoformat().replace("+00:00", "Z")
    if asset.status == "pending":
        data["status"] = "draft"  # HSDS has one "inactive" for both
    loc = asset.location
    if loc.address and loc.place and not loc.address.endswith(loc.place):
        data["location"]["address"] = f"{loc.address}, {loc.place}"
    return data


def _setup(store: Store, sample: tuple[list[Organisation], list[Asset]]) -> list[Asset]:
    orgs, assets = sample
    for org in orgs:
        store.create_organisation(org)
    store.bulk_upsert(assets)
    return assets


@pytest.mark.parametrize("fmt", ["hsds", "hsds-csv"])
def test_our_assets_survive_export_and_import(
    store: Store, tmp_path: Path, sample: Any, fmt: str
) -> None:
    assets = _setup(store, sample)
    parse, export = FORMATS[fmt]
    out = tmp_path / ("out.json" if fmt == "hsds" else "package")
    assert export(store, out) == len(assets)
    feed = parse(out)
    assert not feed.errors, feed.errors[:3]
    got = {a.name: _json(comparable(a)) for _, a in feed.records}
    want = {a.name: _json(_expected_after_hsds(a)) for a in assets}
    assert got == want
    orgs = {o.id: o for o in sample[0]}
    for org in feed.organisations:
        assert org_comparable(org) | {"source": None, "source_id": None} == org_comparable(
            orgs[org.id]
        ) | {"source": None, "source_id": None}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def test_reimport_updates_and_never_duplicates(store: Store, tmp_path: Path, sample: Any) -> None:
    orgs, assets = sample
    docs = [
        hsds_service(a, next((o for o in orgs if o.id == a.organisation_id), None))
        for a in assets[:30]
    ]
    path = tmp_path / "feed.json"
    path.write_text(json.dumps({"contents": docs}), encoding="utf-8")
    first = run_import(store, parse_hsds(path))
    assert first.inserted == 30 and first.ok
    second = run_import(store, parse_hsds(path))
    assert (second.inserted, second.updated) == (0, 30)
    assert store.count_assets() == 30


def test_csv_export_has_hsds_columns_and_a_datapackage(
    sqlite_store: Store, tmp_path: Path, sample: Any
) -> None:
    _setup(sqlite_store, sample)
    out = tmp_path / "pkg"
    export_hsds_csv(sqlite_store, out)
    meta = json.loads((out / "datapackage.json").read_text())
    paths = {r["path"] for r in meta["resources"]}
    assert {
        "services.csv",
        "organizations.csv",
        "locations.csv",
        "service_at_location.csv",
        "schedules.csv",
        "cost_options.csv",
        "addresses.csv",
    } <= paths
    with (out / "services.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[:4] == ["id", "organization_id", "program_id", "name"]
    assert len(list(iter_table(out, "services"))) == len(sample[1])


def test_export_refuses_a_schema_violation_and_writes_nothing(
    sqlite_store: Store, tmp_path: Path, sample: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(sqlite_store, sample)
    real = hsds_json.hsds_service

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        doc = real(*args, **kwargs)
        doc["status"] = "open"  # not in the HSDS enum
        return doc

    monkeypatch.setattr(hsds_json, "hsds_service", broken)
    out = tmp_path / "out.json"
    with pytest.raises(HSDSValidationError, match="status"):
        export_hsds(sqlite_store, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("test.sqlite")] == []


# --- mapping rules ------------------------------------------------------------------------------


def _service(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "00000000-0000-4000-8000-000000000001",
        "name": "Walk and Talk",
        "status": "active",
        "attributes": [{"id": "a1", "taxonomy_term": {"id": "t1", "name": "Walking group"}}],
        "service_at_locations": [
            {"id": "sal-1", "location": {"id": "loc-1", "latitude": 53.8, "longitude": -1.75}}
        ],
    }
    doc.update(extra)
    return doc


def _read(*docs: dict[str, Any], **options: Any) -> tuple[list[Asset], list[RowError]]:
    feed = parse_hsds_document(list(docs), ReadOptions(**options))
    return [a for _, a in feed.records], feed.errors


def test_term_names_go_through_the_resolver() -> None:
    (asset,), errors = _read(_service())
    assert not errors and asset.categories == ["sport.walking"]


def test_our_codes_win_and_unmapped_terms_are_ignored_beside_mapped_ones() -> None:
    attrs = [
        {"taxonomy_term": {"id": "x", "code": "nature.gardening", "name": "Gardening"}},
        {"taxonomy_term": {"id": "y", "name": "Qwzzyx"}},
    ]
    (asset,), errors = _read(_service(attributes=attrs))
    assert not errors and asset.categories == ["nature.gardening"]


def test_unmapped_terms_are_an_error_or_the_fallback() -> None:
    attrs = [{"taxonomy_term": {"id": "y", "name": "Qwzzyx"}}]
    assets, errors = _read(_service(attributes=attrs))
    assert not assets and errors[0].field == "$[0].attributes" and "'Qwzzyx'" in errors[0].message
    (asset,), errors = _read(_service(attributes=attrs), fallback_category="social")
    assert not errors and asset.categories == ["social"]


def test_a_feeds_organisation_ids_become_ids_that_suit_a_web_address(sqlite_store: Store) -> None:
    uuid_id, plain, awkward = "5A9C1D1E-0F3B-4C4B-9B0E-1D2C3B4A5F60", "org-7", "Leeds Mind / north"
    services = [
        _service(
            id=f"00000000-0000-4000-8000-00000000000{i}", organization={"id": org, "name": org}
        )
        for i, org in enumerate([uuid_id, plain, awkward], start=1)
    ]
    feed = parse_hsds_document(services, ReadOptions())
    assert not feed.errors, feed.errors
    ids = [o.id for o in feed.organisations]
    assert ids[:2] == ["5a9c1d1e0f3b4c4b9b0e1d2c3b4a5f60", "org-7"]
    assert re.fullmatch("[0-9a-f]{32}", ids[2])
    assert [o.source_id for o in feed.organisations] == [uuid_id, plain, awkward]
    load(sqlite_store, feed)
    again = parse_hsds_document(services, ReadOptions())
    assert [o.id for o in again.organisations] == ids  # the same on every import
    load(sqlite_store, again)
    assert sorted(a.organisation_id or "" for a in stored(sqlite_store)) == sorted(ids)
    assert sqlite_store.list_organisations().total == 3


def test_one_asset_per_service_at_location() -> None:
    sals = [
        {
            "id": f"sal-{i}",
            "location": {"id": f"loc-{i}", "latitude": 53.8 + i / 100, "longitude": -1.75},
        }
        for i in (1, 2)
    ]
    sals.append({"id": "sal-web", "location": {"id": "web", "location_type": "virtual"}})
    schedules = [
        {
            "id": "s1",
            "service_at_location_id": "sal-1",
            "freq": "WEEKLY",
            "byday": "MO",
            "opens_at": "10:00",
            "closes_at": "12:00",
        },
        {"id": "s2", "freq": "WEEKLY", "byday": "FR", "opens_at": "14:00", "closes_at": "15:00"},
    ]
    assets, errors = _read(_service(service_at_locations=sals, schedules=schedules))
    assert not errors
    assert [a.source_id for a in assets] == [
        "00000000-0000-4000-8000-000000000001/loc-1",
        "00000000-0000-4000-8000-000000000001/loc-2",
    ]
    assert [[s.weekdays for s in a.sessions] for a in assets] == [[["mo"], ["fr"]], [["fr"]]]


def test_record_numbers_and_paths_in_a_page() -> None:
    bad = _service(
        service_at_locations=[{"location": {"id": "l", "latitude": "north", "longitude": 0}}]
    )
    feed = parse_hsds_document({"contents": [_service(), bad]}, ReadOptions())
    assert [row for row, _ in feed.records] == [1]
    (err,) = feed.errors
    assert err.row == 2
    assert err.field == "$.contents[1].service_at_locations[0].location.latitude"


def test_garbage_files_are_reported_not_raised(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_bytes(bytes(range(256)) * 4000)
    (err,) = parse_hsds(junk).errors
    assert err.row == 0 and "UTF-8" in err.message
    junk.write_text('{"contents": [1, 2', encoding="utf-8")
    (err,) = parse_hsds(junk).errors
    assert "not JSON" in err.message and "line 1" in err.message
    junk.write_text(json.dumps(list(range(5000))), encoding="utf-8")
    errors = parse_hsds(junk).errors
    assert len(errors) == MAX_ERRORS + 1 and "stopped after" in errors[-1].message
    assert "must be an object" in errors[0].message
    (err,) = parse_hsds_csv(tmp_path).errors
    assert "no services.csv" in err.message


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"freq": "WEEKLY", "byday": "TU,TH"}, [("weekly", ["tu", "th"], None)]),
        ({"byday": "sa"}, [("weekly", ["sa"], None)]),
        ({"freq": "WEEKLY", "interval": "2", "byday": "WE"}, [("fortnightly", ["we"], None)]),
        ({"freq": "DAILY"}, [("weekly", ["mo", "tu", "we", "th", "fr", "sa", "su"], None)]),
        ({"freq": "MONTHLY", "byday": "1MO,3MO"}, [("monthly", ["mo"], [1, 3])]),
        (
            {"freq": "MONTHLY", "byday": "1MO,-1FR"},
            [("monthly", ["mo"], [1]), ("monthly", ["fr"], [-1])],
        ),
        ({"freq": "MONTHLY", "byday": "TU"}, [("weekly", ["tu"], None)]),
    ],
)
def test_schedule_patterns(schedule: dict[str, Any], expected: list[Any]) -> None:
    found = schedule_sessions({"opens_at": "10:00:00", "closes_at": "12:00Z", **schedule})
    assert [(s.frequency, s.weekdays, s.weeks_of_month) for s in found] == expected


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"freq": "YEARLY", "byday": "MO"}, "freq"),
        ({"freq": "WEEKLY", "interval": 3, "byday": "MO"}, "interval"),
        ({"freq": "MONTHLY", "byday": "2MO", "interval": 2}, "interval"),
        ({"freq": "MONTHLY", "byday": "-2MO"}, "byday"),
        ({"freq": "WEEKLY", "byday": "1MO"}, "byday"),
        ({"freq": "WEEKLY", "byday": "MO", "bymonthday": "15"}, "bymonthday"),
        ({"freq": "WEEKLY", "byday": "Mondays"}, "byday"),
        ({"freq": "WEEKLY"}, "byday"),
        ({"description": "Open most days"}, "freq"),
        ({"freq": "WEEKLY", "byday": "MO", "closes_at": "09:00"}, "closes_at"),
        ({"freq": "WEEKLY", "byday": "MO", "opens_at": "25:00"}, "opens_at"),
        ({"freq": "WEEKLY", "byday": "MO", "opens_at": None}, "opens_at"),
        ({"freq": "WEEKLY", "byday": "MO", "count": 4}, "count"),
        ({"freq": "WEEKLY", "interval": 2, "byday": "MO", "wkst": "SU"}, "wkst"),
    ],
)
def test_unsupported_schedules_name_the_field(schedule: dict[str, Any], field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule_sessions({"opens_at": "10:00", "closes_at": "12:00", **schedule})
    assert caught.value.field == field


def test_dtstart_sets_the_fortnight_phase_and_count_the_end() -> None:
    (s,) = schedule_sessions(
        {
            "freq": "WEEKLY",
            "interval": 2,
            "byday": "WE",
            "dtstart": "2026-01-14",
            "opens_at": "10:00",
            "closes_at": "11:00",
            "count": 3,
        }
    )
    from datetime import date, datetime

    dates = [d.date() for d in s.occurrences(datetime(2026, 1, 1), 5)]
    assert dates == [date(2026, 1, 14), date(2026, 1, 28), date(2026, 2, 11)]
    assert s.valid_to == date(2026, 2, 11)


def test_our_fortnightly_schedule_reads_back_unchanged() -> None:
    from geo_assets.hsds import schedule_doc

    for valid_from in (None, "2026-03-03"):
        session = Session.model_validate(
            {
                "weekdays": ["th"],
                "start": "18:00",
                "end": "20:00",
                "frequency": "fortnightly",
                "valid_from": valid_from,
            }
        )
        asset = Asset(
            kind="group",
            name="x",
            categories=["social"],
            location={"lat": 53.8, "lon": -1.7},
            sessions=[session],
        )
        (back,) = schedule_sessions(schedule_doc(session, 0, asset))
        assert back == session


@pytest.mark.parametrize(
    ("description", "notes"),
    [
        ("Monday to Wednesday 10:00-12:00", None),  # what our export writes now
        ("Mondays and Tuesdays and Wednesdays 10:00-12:00", None),  # and wrote before
        ("Mon-Wed 10am-12pm", None),
        ("Mondays 10:00-12:00", "Mondays 10:00-12:00"),  # not what the fields say: kept
        ("Ring first to check", "Ring first to check"),
    ],
)
def test_a_description_that_restates_the_schedule_is_not_kept_as_a_note(
    description: str, notes: str | None
) -> None:
    (session,) = schedule_sessions(
        {"freq": "WEEKLY", "byday": "MO,TU,WE", "opens_at": "10:00", "closes_at": "12:00",
         "description": description}
    )  # fmt: skip
    assert session.notes == notes


def test_formats_registry_has_both_hsds_formats() -> None:
    assert FORMATS["hsds"][0].spec == "geo_assets.ingest.hsds:parse_hsds"
    assert FORMATS["hsds-csv"][1].spec == "geo_assets.ingest.hsds_csv:export_hsds_csv"


# --- points at a postcode's centre ----------------------------------------------------------

CENTRE = ("BD1 1QY", 53.802662, -1.750471)


def _service_at(name: str, lat: float, lon: float, postcode: str | None) -> dict[str, Any]:
    asset = make_asset(
        name=name,
        source="feed",
        source_id=name,
        location={"lat": lat, "lon": lon, "postcode": postcode, "address": "1 Any Street"},
    )
    return hsds_service(asset, None)


def test_a_point_at_its_postcode_centre_is_read_as_placed_by_postcode(
    store: Store, tmp_path: Path
) -> None:
    code, lat, lon = CENTRE
    docs = [
        _service_at("At the centre", lat, lon, "bd1 1qy"),  # any spelling of the code
        _service_at("Its own door", lat + 0.0005, lon, code),  # 56 m north
        _service_at("Another postcode", lat, lon, "BD1 2DU"),  # not in the table
        _service_at("No postcode", lat, lon, None),
    ]
    path = tmp_path / "feed.json"
    path.write_text(json.dumps({"contents": docs}), encoding="utf-8")
    before = run_import(store, parse_hsds(path), dry_run=True)
    assert before.warnings == []  # no postcode table: nothing to go by
    store.upsert_postcodes([CENTRE])
    report = run_import(store, parse_hsds(path))
    assert report.ok and report.inserted == 4
    assert any("1 listing(s) stand at their postcode's centre" in w for w in report.warnings)
    precision = {a.name: a.location.precision for a in stored(store)}
    assert precision == {
        "At the centre": "postcode",
        "Its own door": "point",
        "Another postcode": "point",
        "No postcode": "point",
    }


def test_our_own_export_says_which_points_are_only_a_centre(store: Store, tmp_path: Path) -> None:
    """A listing fact carries the precision through HSDS, with no postcode table to go by."""
    code, lat, lon = CENTRE
    docs = []
    for name, precision in (
        ("By postcode", "postcode"),
        ("In the area", "area"),
        ("Door", "point"),
    ):
        asset = make_asset(
            name=name,
            source="ours",
            source_id=name,
            location={"lat": lat, "lon": lon, "postcode": code, "precision": precision},
        )
        docs.append(hsds_service(asset, None))
    path = tmp_path / "feed.json"
    path.write_text(json.dumps({"contents": docs}), encoding="utf-8")
    report = run_import(store, parse_hsds(path))
    assert report.ok and report.inserted == 3
    precision = {a.name: a.location.precision for a in stored(store)}
    assert precision == {"By postcode": "postcode", "In the area": "area", "Door": "point"}


def _without_point(doc: dict[str, Any], **address: str) -> dict[str, Any]:
    location = doc["service_at_locations"][0]["location"]
    del location["latitude"], location["longitude"]
    location["addresses"][0].update(address)
    return doc


def test_a_location_without_coordinates_is_placed_by_its_postal_code(
    store: Store, tmp_path: Path
) -> None:
    code, lat, lon = CENTRE
    store.upsert_postcodes([CENTRE])
    docs = [
        _without_point(_service_at("By postcode", 0, 0, code)),
        _without_point(_service_at("By city", 0, 0, None), city="Manningham"),
        _without_point(_service_at("Unknown code", 0, 0, "BD9 9ZZ")),
        _without_point(_service_at("Near miss", 0, 0, None), city="Shipley Glen"),
    ]
    path = tmp_path / "feed.json"
    path.write_text(json.dumps({"contents": docs}), encoding="utf-8")
    geocoder = Geocoder(postcodes=store, places=store)
    feed = parse_hsds(path, geocoder=geocoder)
    error, near_miss = feed.errors
    assert error.field.endswith("location.latitude")
    assert "postal code 'BD9 9ZZ' was not found" in error.message
    assert "city 'Shipley Glen' was not found (did you mean 'Shipley'?)" in near_miss.message
    assert feed.warnings == [
        "2 location(s) gave no latitude/longitude and were placed at their postal code's "
        "(else city's or address's) centre; their pins say so"
    ]
    placed = {a.name: a.location for _, a in feed.records}
    assert (placed["By postcode"].lat, placed["By postcode"].lon) == (lat, lon)
    assert placed["By postcode"].precision == "postcode"
    assert placed["By city"].precision == "area"
    # With no store to look in, a location needs its coordinates, as before.
    plain = parse_hsds(path)
    assert len(plain.errors) == 8 and all("is missing" in e.message for e in plain.errors)
    # --skip-invalid loads the two it placed.
    report = run_import(store, parse_hsds(path, geocoder=geocoder), skip_invalid=True)
    assert report.inserted == 2


# --- hostile files (a security review) --------------------------------------------------------


def test_a_tabular_package_packed_as_no_data_packs_is_refused_unread(tmp_path: Path) -> None:
    """A zip bomb: 612 KB reached 4.4 GB of memory before its tables were read."""
    import zipfile

    bomb = tmp_path / "feed.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("services.csv", b"id,name\n" + b"0" * (8 * 2**20))
    feed = parse_hsds_csv(bomb)
    assert [(e.row, e.field) for e in feed.errors] == [(0, FILE_FIELD)]
    assert "'services.csv' is packed" in feed.errors[0].message


def test_a_number_of_thousands_of_digits_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('[{"id": "s1", "name": "x", "n": ' + "9" * 5000 + "}]", encoding="utf-8")
    feed = parse_hsds(path)
    assert [(e.row, e.field) for e in feed.errors] == [(0, FILE_FIELD)]
    assert "not usable JSON" in feed.errors[0].message


def test_tabular_export_writes_values_as_they_are(sqlite_store: Store, tmp_path: Path) -> None:
    """Interchange data for other software: a guarding apostrophe, as the spreadsheet
    export puts before "+44 ...", would change a phone number and a "last Friday"."""
    org = sqlite_store.create_organisation(Organisation(name="Minus Trust", phone="+44 113 000"))
    last_friday = Session(
        weekdays=["fr"], start="10:00", end="11:00", frequency="monthly", weeks_of_month=[-1]
    )
    sqlite_store.create_asset(
        make_asset(
            name="@Home Club",
            organisation_id=org.id,
            sessions=[last_friday],
            contact={"phone": "+44 1274 000000", "email": "a@example.org"},
        )
    )
    out = tmp_path / "package"
    assert export_hsds_csv(sqlite_store, out) == 1
    cells = {
        cell
        for table in out.glob("*.csv")
        for row in csv.reader(table.open(encoding="utf-8", newline=""))
        for cell in row
    }
    assert {"+44 1274 000000", "-1FR", "@Home Club"} <= cells
    assert not any(c.startswith("'") for c in cells)
    ((_, asset),) = parse_hsds_csv(out).records
    assert (asset.name, asset.contact.phone) == ("@Home Club", "+44 1274 000000")
