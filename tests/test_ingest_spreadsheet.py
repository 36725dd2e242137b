"""The spreadsheet template: CSV/XLSX reading, encodings, cell-level errors, round trips."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import GOOD_ROW, rows, write_csv

from geo_assets.geocode import Geocoder
from geo_assets.ingest import run_import
from geo_assets.ingest.spreadsheet import (
    EXAMPLE_CSV,
    EXAMPLE_XLSX,
    export_csv,
    export_xlsx,
    parse_csv,
    parse_xlsx,
    write_xlsx,
)
from geo_assets.ingest.template import COLUMNS
from geo_assets.model import Asset
from geo_assets.store.base import AssetFilters, Store

_OWNED = {"id", "created_at", "updated_at", "version", "moderated", "organisation_id"}


def _content(assets: list[Asset]) -> list[dict[str, Any]]:
    return sorted(
        (a.model_dump(mode="json", exclude=_OWNED) for a in assets), key=lambda d: d["source_id"]
    )


def _assets(feed: Any) -> list[Asset]:
    assert feed.errors == []
    return [a for _, a in feed.records]


def test_example_files_read_cleanly_and_agree() -> None:
    from_csv = _assets(parse_csv(EXAMPLE_CSV))
    from_xlsx = _assets(parse_xlsx(EXAMPLE_XLSX))
    assert len(from_csv) == 5
    assert _content(from_csv) == _content(from_xlsx)
    knit = next(a for a in from_csv if a.name == "Knit and Natter")
    assert knit.categories == ["hobbies.crafts.knitting", "social.coffee-mornings"]
    assert [s.describe() for s in knit.sessions] == ["Tuesdays 10:00-12:00"]
    assert (knit.cost.amount, knit.cost.concessions) == (2.0, "free for carers")
    assert knit.accessibility.features == ["hearing_loop", "wheelchair"]
    assert knit.languages == ["en", "ur"]
    swim = next(a for a in from_csv if a.source_id == "ba-swim-w")
    assert swim.eligibility.gender == "women"
    assert [s.frequency for s in swim.sessions] == ["weekly", "fortnightly"]


def test_example_xlsx_is_generated_from_the_csv(tmp_path: Path) -> None:
    from geo_assets.ingest.spreadsheet import write_example_xlsx

    write_example_xlsx(EXAMPLE_CSV, tmp_path / "again.xlsx")
    assert _content(_assets(parse_xlsx(tmp_path / "again.xlsx"))) == _content(
        _assets(parse_xlsx(EXAMPLE_XLSX))
    )


def test_every_template_column_is_documented_in_the_readme() -> None:
    readme = Path("README.md").read_text(encoding="utf-8")
    for column in COLUMNS:
        assert f"`{column.name}`" in readme, column.name


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trips(fmt: str, store: Store, tmp_path: Path) -> None:
    first = run_import(store, parse_csv(EXAMPLE_CSV))
    assert first.inserted == 5
    rough = store.list_assets().items[0]  # placed at an area's centre: the export keeps it
    store.update_asset(rough.id, {"location": {"precision": "area"}})
    before = _content(store.list_assets().items)
    assert "area" in {a["location"]["precision"] for a in before}
    path = tmp_path / f"out.{fmt}"
    export = export_csv if fmt == "csv" else export_xlsx
    assert export(store, path) == 5
    feed = (parse_csv if fmt == "csv" else parse_xlsx)(path)
    assert _content(_assets(feed)) == before
    again = run_import(store, feed)
    assert (again.inserted, again.updated, again.organisations_created) == (0, 5, 0)
    assert _content(store.list_assets().items) == before
    orgs = {a.organisation_id for a in store.list_assets().items}
    assert len(orgs) == 3


def test_export_filters(sqlite_store: Store, tmp_path: Path) -> None:
    run_import(sqlite_store, parse_csv(EXAMPLE_CSV))
    count = export_csv(sqlite_store, tmp_path / "o.csv", filters=AssetFilters(categories=["sport"]))
    assert count == 2
    count = export_csv(sqlite_store, tmp_path / "o.csv", filters=AssetFilters(statuses=["draft"]))
    assert count == 1


def test_encodings(tmp_path: Path) -> None:
    data = rows(1, description="Café group, £2 a go")
    bom = parse_csv(write_csv(tmp_path / "bom.csv", data, encoding="utf-8-sig"))
    assert bom.warnings == [] and _assets(bom)[0].description == "Café group, £2 a go"
    utf16 = parse_csv(write_csv(tmp_path / "u16.csv", data, encoding="utf-16"))
    assert _assets(utf16)[0].description == "Café group, £2 a go"
    legacy = parse_csv(write_csv(tmp_path / "win.csv", data, encoding="cp1252"))
    assert _assets(legacy)[0].description == "Café group, £2 a go"
    assert len(legacy.warnings) == 1 and "Windows-1252" in legacy.warnings[0]
    assert "line 2" in legacy.warnings[0]


def test_undecodable_and_binary_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"name,categories,lat,lon\n\x81\x8d\x8f,x,1,2\n")
    assert "not Windows-1252 either" in parse_csv(bad).errors[0].message
    xlsx_as_csv = tmp_path / "book.csv"
    xlsx_as_csv.write_bytes(EXAMPLE_XLSX.read_bytes())
    assert "use FORMAT xlsx" in parse_csv(xlsx_as_csv).errors[0].message
    not_a_book = tmp_path / "book.xlsx"
    not_a_book.write_bytes(b"name,categories\n")
    error = parse_xlsx(not_a_book).errors[0]
    assert (error.row, error.field) == (0, "(file)")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert parse_csv(empty).errors[0].message == "file is empty"


def test_missing_columns_are_named(tmp_path: Path) -> None:
    data = [{k: v for k, v in GOOD_ROW.items() if k not in ("name", "categories")}]
    feed = parse_csv(write_csv(tmp_path / "a.csv", data))
    (error,) = feed.errors
    assert (error.row, error.field) == (1, "name, categories")
    assert "missing column(s) name, categories" in error.message and "'kind'" in error.message


def test_rows_without_lat_lon_are_placed_by_postcode_or_place(
    sqlite_store: Store, tmp_path: Path
) -> None:
    sqlite_store.upsert_postcodes([("BD8 7QU", 53.8012, -1.7634)])
    geocoder = Geocoder(postcodes=sqlite_store, places=sqlite_store)
    data = rows(7)
    for i in range(6):
        data[i]["lat"] = data[i]["lon"] = ""
    data[1].update(postcode="", address="", place="Manningham")  # a demo area centre
    data[2]["postcode"] = "BD9 9ZZ"  # not in the table
    data[3].update(postcode="", address="", place="")  # nothing to go by
    # Nobody sees an import's pins before they are saved: near misses are not taken.
    data[4].update(postcode="", address="", place="Shipley Glen")
    data[5].update(postcode="", address="1 Lumb Lane, Bradford")
    path = write_csv(tmp_path / "a.csv", data)
    feed = parse_csv(path, geocoder=geocoder)
    assert [(e.row, e.field) for e in feed.errors] == [
        (4, "postcode"), (5, "lat"), (5, "lon"), (6, "place"), (7, "address"),
    ]  # fmt: skip
    assert "'BD9 9ZZ' was not found" in feed.errors[0].message
    assert "(cell " in feed.errors[0].message and "give lat and lon" in feed.errors[0].message
    assert "'Shipley Glen' was not found (did you mean 'Shipley'?)" in feed.errors[3].message
    assert "(did you mean 'Bradford'?)" in feed.errors[4].message
    placed = {row: a.location for row, a in feed.records}
    assert (placed[2].lat, placed[2].lon, placed[2].precision) == (53.8012, -1.7634, "postcode")
    assert placed[3].precision == "area" and placed[3].place == "Manningham"
    assert placed[8].precision == "point"  # its own lat/lon
    assert feed.warnings == [
        "2 row(s) gave no lat/lon and were placed at their postcode's or place's centre "
        "(rows 2 at BD8 7QU, 3 at Manningham); their pins say so until someone moves them"
    ]
    # Without a geocoder (no store to look in) a row needs its lat/lon, as before.
    plain = parse_csv(path)
    assert {(e.row, e.field) for e in plain.errors} >= {(2, "lat"), (3, "lat"), (4, "lat")}
    # A sheet with no lat/lon columns at all is read the same way.
    bare = [{k: v for k, v in r.items() if k not in ("lat", "lon")} for r in data[:2]]
    feed = parse_csv(write_csv(tmp_path / "b.csv", bare), geocoder=geocoder)
    assert feed.errors == [] and len(feed.records) == 2
    report = run_import(sqlite_store, feed)
    assert report.ok and report.inserted == 2


def test_header_aliases_semicolons_and_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "Name;Category;Latitude;Longitude;Organization;Colour\n"
        "Book club;book clubs;53.8;-1.75;Library Friends;blue\n",
        encoding="utf-8",
    )
    feed = parse_csv(path)
    (asset,) = _assets(feed)
    assert asset.categories == ["arts.writing.book-clubs"]
    assert (asset.location.lat, asset.location.lon) == (53.8, -1.75)
    assert [o.name for o in feed.organisations] == ["Library Friends"]
    assert asset.source_id == "library-friends/book-club/"
    assert feed.warnings == ["ignored unknown column(s): Colour"]


@pytest.mark.parametrize(
    ("column", "value", "field", "needle"),
    [
        ("lat", "abc", "lat", "'abc' is not a number (cell G3)"),
        ("lat", "", "lat", "is empty"),
        ("lat", "95", "lat", "latitude 95.0 is outside -90..90"),
        ("lon", "200", "lon", "less than or equal to 180 (cell H3)"),
        ("lat", "-181", "lat", "are lat and lon swapped"),
        ("lon", "0", "lon", "0, 0 is not a real place"),
        ("min_age", "twelve", "min_age", "'twelve' is not a number"),
        ("min_age", "12.5", "min_age", "not a whole number"),
        ("women_only", "maybe", "women_only", "write yes or no"),
        ("men_only", "sometimes", "men_only", "'sometimes': write yes or no (cell"),
        ("with_carers", "mums", "with_carers", "'mums': write yes or no (cell"),
        ("companion_welcome", "perhaps", "companion_welcome", "'perhaps': write yes or no"),
        ("kind", "shop", "kind", "'shop' is not one of group, club, venue, activity"),
        ("sessions", "Tuesday 25:00-26:00", "sessions", "not a time of day"),
        ("sessions", "Tuesdays", "sessions", "e.g. 'Tuesdays 10:00-12:00'"),
        ("categories", "knitting; basket weaving", "categories",
         "unknown category 'basket weaving'; use ids, names or synonyms"),
        ("categories", "", "categories", "give at least one category"),
        ("accessibility", "ramp", "accessibility", "unknown feature(s) 'ramp'"),
        ("cost", "£2 per fortnight", "cost", "must be one of session, week"),
        ("contact_email", "not-an-email", "contact_email", "cell"),
        ("languages", "Klingon!", "languages", "not a language we know"),
        ("last_verified", "yesterday", "last_verified", "write YYYY-MM-DD"),
        ("name", "", "name", "is empty"),
        ("location_precision", "roughly", "location_precision",
         "'roughly' is not one of point, postcode, area"),
    ],
)  # fmt: skip
def test_cell_errors_name_row_column_and_cell(
    tmp_path: Path, column: str, value: str, field: str, needle: str
) -> None:
    data = rows(2)
    data[1][column] = value
    if value == "0":  # 0,0 needs both
        data[1]["lat"] = "0"
        field = "lat"
    feed = parse_csv(write_csv(tmp_path / "a.csv", data))
    assert len(feed.records) == 1
    assert [(e.row, e.field) for e in feed.errors] == [(3, field)]
    assert needle in feed.errors[0].message


def test_a_row_says_how_its_point_was_found(tmp_path: Path) -> None:
    data = rows(3)
    data[0]["location_precision"] = "Area"
    data[1]["location_precision"] = "postcode"
    feed = parse_csv(write_csv(tmp_path / "a.csv", data))
    assert [a.location.precision for _, a in feed.records] == ["area", "postcode", "point"]


def test_cells_are_read_loosely_where_safe(tmp_path: Path) -> None:
    data = rows(1, cost="free", kind="", women_only="Yes", languages="English, Polish",
                accessibility="Wheelchair accessible; induction loop; step-free",
                attendance="Drop-in", categories="Allotment")  # fmt: skip
    (asset,) = _assets(parse_csv(write_csv(tmp_path / "a.csv", data)))
    assert asset.kind == "activity" and asset.cost.amount == 0
    assert asset.eligibility.gender == "women"
    assert asset.languages == ["en", "pl"]
    assert asset.accessibility.features == ["hearing_loop", "step_free", "wheelchair"]
    assert asset.attendance == "drop_in"
    assert asset.categories == ["nature.gardening.allotments"]


def test_who_can_come_men_only_and_children_with_carers(tmp_path: Path) -> None:
    data = rows(3)
    data[0].update(name="Stay and Play", min_age="0", max_age="5", with_carers="yes")
    data[1].update(name="Men's Shed", men_only="Yes", with_carers="no")
    data[2].update(men_only="", women_only="", with_carers="")  # blank: no
    play, shed, plain = _assets(parse_csv(write_csv(tmp_path / "a.csv", data)))
    assert (play.eligibility.min_age, play.eligibility.max_age) == (0, 5)
    assert play.eligibility.with_carers and play.eligibility.gender == "any"
    assert shed.eligibility.gender == "men" and not shed.eligibility.with_carers
    assert plain.eligibility.gender == "any" and not plain.eligibility.with_carers


def test_a_sheet_from_before_men_only_and_with_carers_still_imports(tmp_path: Path) -> None:
    data = rows(2)
    data[1]["women_only"] = "yes"
    path = write_csv(tmp_path / "old.csv", data)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "women_only" in header and not {"men_only", "with_carers"} & set(header)
    feed = parse_csv(path)
    assert feed.warnings == []
    assert [a.eligibility.gender for a in _assets(feed)] == ["any", "women"]
    assert not any(a.eligibility.with_carers for a in _assets(feed))


def test_women_only_and_men_only_both_yes_is_refused_and_nothing_is_saved(
    sqlite_store: Store, tmp_path: Path
) -> None:
    data = rows(3)
    data[1].update(women_only="yes", men_only="y")  # sheet row 3
    path = write_csv(tmp_path / "a.csv", data)
    feed = parse_csv(path)
    assert [(e.row, e.field) for e in feed.errors] == [(3, "women_only, men_only")]
    message = feed.errors[0].message
    assert "women_only and men_only are both yes" in message
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    women, men = (f"{chr(65 + header.index(c))}3" for c in ("women_only", "men_only"))
    assert f"(cells {women}, {men})" in message
    assert str(feed.errors[0]).startswith("row 3, field `women_only, men_only`: ")
    report = run_import(sqlite_store, feed)
    assert not report.ok and report.inserted == 0
    assert sqlite_store.list_assets().total == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_men_only_and_with_carers_survive_export_then_import(
    fmt: str, sqlite_store: Store, tmp_path: Path
) -> None:
    data = rows(3)
    data[0].update(min_age="0", max_age="4", with_carers="yes", women_only="yes")
    data[1].update(men_only="yes", with_carers="yes")
    assert run_import(sqlite_store, parse_csv(write_csv(tmp_path / "in.csv", data))).ok
    before = _content(sqlite_store.list_assets().items)
    assert [(a["eligibility"]["gender"], a["eligibility"]["with_carers"]) for a in before] == [
        ("women", True), ("men", True), ("any", False),
    ]  # fmt: skip
    path = tmp_path / f"out.{fmt}"
    (export_csv if fmt == "csv" else export_xlsx)(sqlite_store, path)
    assert _content(_assets((parse_csv if fmt == "csv" else parse_xlsx)(path))) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_first_visit_welcome_is_yes_unless_said_and_survives_export_then_import(
    fmt: str, sqlite_store: Store, tmp_path: Path
) -> None:
    data = rows(3)
    data[0]["companion_welcome"] = "no"
    data[1]["companion_welcome"] = "yes"  # and the third leaves it blank
    assert run_import(sqlite_store, parse_csv(write_csv(tmp_path / "in.csv", data))).ok
    before = _content(sqlite_store.list_assets().items)
    assert [a["companion_welcome"] for a in before] == [False, True, True]
    path = tmp_path / f"out.{fmt}"
    (export_csv if fmt == "csv" else export_xlsx)(sqlite_store, path)
    assert _content(_assets((parse_csv if fmt == "csv" else parse_xlsx)(path))) == before


@pytest.mark.parametrize(
    ("text", "amount", "currency", "per", "notes"),
    [
        ("", None, "GBP", "session", None),
        ("£3.50 per week", 3.5, "GBP", "week", None),
        ("10 EUR a month", 10.0, "EUR", "month", None),
        ("$5", 5.0, "USD", "session", None),
        ("donations welcome", None, "GBP", "session", "donations welcome"),
    ],
)
def test_costs(
    tmp_path: Path, text: str, amount: float | None, currency: str, per: str, notes: str | None
) -> None:
    (asset,) = _assets(parse_csv(write_csv(tmp_path / "a.csv", rows(1, cost=text))))
    assert (asset.cost.amount, asset.cost.currency, asset.cost.per, asset.cost.notes) == (
        amount, currency, per, notes,
    )  # fmt: skip


def test_xlsx_typed_cells_and_row_numbers(tmp_path: Path) -> None:
    data: list[dict[str, Any]] = rows(3)
    for row in data:
        row["lat"], row["lon"] = float(row["lat"]), float(row["lon"])
        row["min_age"] = 18
    data[2]["lat"] = "north"
    path = tmp_path / "a.xlsx"
    write_xlsx(path, data[:1] + [{}] + data[1:])  # a blank row keeps its number
    feed = parse_xlsx(path)
    assert [r for r, _ in feed.records] == [2, 4]
    assert [(e.row, e.field) for e in feed.errors] == [(5, "lat")]
    assert "cell J5" in feed.errors[0].message
    assert feed.records[0][1].eligibility.min_age == 18


def test_formula_like_text_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    write_xlsx(path, rows(1, description='=HYPERLINK("http://x")'))
    (asset,) = _assets(parse_xlsx(path))
    assert asset.description == '=HYPERLINK("http://x")'


def test_broken_csv_quoting_stops_with_a_row_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    header = ",".join(["name", "categories", "lat", "lon"])
    path.write_text(header + '\nA,knitting,53.8,-1.7\n"B' + "x" * 200_000 + "\n", "utf-8")
    feed = parse_csv(path)
    assert len(feed.records) == 1
    assert feed.errors[0].row == 3 and "not valid CSV" in feed.errors[0].message


def test_template_header_matches_columns() -> None:
    with open(EXAMPLE_CSV, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == [c.name for c in COLUMNS]


def test_an_import_warns_of_names_that_say_whom_a_listing_is_for(
    sqlite_store: Store, tmp_path: Path
) -> None:
    data = rows(3)
    data[1]["name"] = "Ladies' Darts"  # sheet row 3, open to everyone
    data[2]["name"] = "Over 50s Walk"
    data[2]["min_age"] = "50"
    report = run_import(sqlite_store, parse_csv(write_csv(tmp_path / "a.csv", data)))
    assert report.ok and report.inserted == 3, "imported as it is: a hint, not an error"
    (warning,) = [w for w in report.warnings if "say whom" in w]
    assert warning.startswith("1 listing(s) have names that say whom they are for")
    assert "row 3 “Ladies' Darts”: the name says it is for women" in warning


# --- hostile workbooks (a security review) ----------------------------------------------------


def _rewrite_part(
    path: Path, part: str, change: Any, *, extra: dict[str, bytes] | None = None
) -> None:
    """Rewrite one part of a workbook (and add ``extra`` parts), as a hand-made file would."""
    import zipfile

    with zipfile.ZipFile(path) as packed:
        parts = {info.filename: packed.read(info) for info in packed.infolist()}
    parts[part] = change(parts[part])
    parts.update(extra or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as packed:
        for name, data in parts.items():
            packed.writestr(name, data)


def test_a_sheets_claimed_size_is_not_believed(tmp_path: Path) -> None:
    """A 5 KB workbook may claim 16,384 columns by 100,000 rows; openpyxl padded every
    row to that claim (minutes of work for one upload). Rows are read as stored."""
    from openpyxl import load_workbook

    from geo_assets.ingest.spreadsheet import MAX_COLUMNS, sheet_rows

    path = tmp_path / "claims.xlsx"
    write_xlsx(path, rows(2))
    _rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<sheetViews>", b'<dimension ref="A1:XFD100000"/><sheetViews>'),
    )
    book = load_workbook(path, read_only=True)
    assert book.worksheets[0].max_column == 16384  # what the sheet claims
    stored = list(sheet_rows(book.worksheets[0]))
    book.close()
    assert len(stored) == 3 and max(len(r) for r in stored) <= MAX_COLUMNS
    assert [a.name for a in _assets(parse_xlsx(path))] == ["Activity 000", "Activity 001"]


def test_a_workbook_that_unpacks_too_far_is_refused_unread(tmp_path: Path) -> None:
    import os

    path = tmp_path / "big.xlsx"
    write_xlsx(path, rows(1))
    padding = {"xl/media/photo.bin": os.urandom(3 * 2**20)}  # does not pack: a real 3 MiB
    _rewrite_part(path, "[Content_Types].xml", lambda xml: xml, extra=padding)
    feed = parse_xlsx(path, max_unpacked_bytes=2 * 2**20)
    assert [(e.row, e.field) for e in feed.errors] == [(0, "(file)")]
    assert "would unpack to 3 MiB" in feed.errors[0].message and not feed.records
    assert _assets(parse_xlsx(path))  # within the default limit, the same file reads


def test_a_part_packed_as_no_data_packs_is_refused_unread(tmp_path: Path) -> None:
    """A zip bomb: megabytes of zeros pack to a few kilobytes, a thousand times over."""
    path = tmp_path / "bomb.xlsx"
    write_xlsx(path, rows(1))
    _rewrite_part(
        path, "[Content_Types].xml", lambda xml: xml, extra={"xl/z.bin": bytes(3 * 2**20)}
    )
    assert path.stat().st_size < 2**20
    feed = parse_xlsx(path)
    assert [(e.row, e.field) for e in feed.errors] == [(0, "(file)")]
    assert "'xl/z.bin' is packed" in feed.errors[0].message and not feed.records
    # A flat bitmap pasted into a sheet packs as tight, but nobody here unpacks it.
    pictured = tmp_path / "pictured.xlsx"
    write_xlsx(pictured, rows(1))
    flat = {"xl/media/image1.bmp": bytes(3 * 2**20)}
    _rewrite_part(pictured, "[Content_Types].xml", lambda xml: xml, extra=flat)
    assert _assets(parse_xlsx(pictured))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_past_the_limit_stop_the_file(tmp_path: Path, fmt: str) -> None:
    """A limit on rows, blank ones included (a sheet can yield a million of those)."""
    data = rows(3) + [{}] * 6 + rows(1, source_id="late")
    path = tmp_path / f"long.{fmt}"
    if fmt == "csv":
        write_csv(path, data)
        feed = parse_csv(path, max_rows=5)
    else:
        write_xlsx(path, data)
        feed = parse_xlsx(path, max_rows=5)
    assert [r for r, _ in feed.records] == [2, 3, 4]
    assert [(e.row, e.field) for e in feed.errors] == [(7, "(file)")]
    assert "past 5 rows" in feed.errors[0].message
    assert parse_csv(path, max_rows=10).errors == [] if fmt == "csv" else True


def test_the_portal_upload_is_limited_to_an_organisations_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo_assets.ingest import organisation_upload

    monkeypatch.setattr(organisation_upload, "MAX_UPLOAD_ROWS", 2)
    raw = write_csv(tmp_path / "up.csv", rows(3)).read_bytes()
    feed = organisation_upload.parse_upload("up.csv", raw)
    assert [(e.row, e.field) for e in feed.errors] == [(4, "(file)")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_in_listings_are_exported_as_text_and_read_back_as_written(
    fmt: str, sqlite_store: Store, tmp_path: Path
) -> None:
    """An organisation's description "=HYPERLINK(...)" would run when whoever exports
    opens the CSV in Excel; it is written with an apostrophe first (Excel shows text),
    and importing the file gives back exactly what was written. Numbers stay numbers."""
    run_import(sqlite_store, parse_csv(EXAMPLE_CSV))
    first = sqlite_store.list_assets().items[0]
    hostile = {"description": '=HYPERLINK("http://x.example","Click")', "name": "@SUM(1+1)"}
    sqlite_store.update_asset(first.id, hostile)
    before = _content(sqlite_store.list_assets().items)
    path = tmp_path / f"out.{fmt}"
    (export_csv if fmt == "csv" else export_xlsx)(sqlite_store, path)
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            cells = [cell for row in csv.reader(fh) for cell in row]
        assert '\'=HYPERLINK("http://x.example","Click")' in cells and "'@SUM(1+1)" in cells
        assert not [c for c in cells if c[:1] in ("=", "+", "@")]
        assert any(c.startswith("-1.") for c in cells)  # a longitude, not guarded
    feed = (parse_csv if fmt == "csv" else parse_xlsx)(path)
    assert _content(_assets(feed)) == before


def test_a_row_with_more_cells_than_the_header_is_refused(tmp_path: Path) -> None:
    """ "Knit club" with a comma in its times, unquoted: lat 53 and lon 8 were stored."""
    path = tmp_path / "a.csv"
    path.write_text(
        "name,categories,sessions,lat,lon\n"
        "Knit club,knitting,Tuesdays 10-12,53,8,-1.76\n"
        "Darts,knitting,Fridays 7pm-9pm,53.8,-1.76,,\n",  # trailing blank cells are no cells
        "utf-8",
    )
    feed = parse_csv(path)
    assert [(e.row, e.field) for e in feed.errors] == [(2, "(row)")]
    assert feed.errors[0].message.startswith("row 2 has 6 cells, the header has 5: ")
    assert [a.name for _, a in feed.records] == ["Darts"]


def test_a_sheet_row_with_cells_past_the_header_is_refused(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["name", "categories", "lat", "lon", None])
    sheet.append(["Knit club", "knitting", 53.8, -1.76, None, None, "checked by Sue"])
    sheet.append(["Darts", "knitting", 53.8, -1.76])
    book.save(tmp_path / "a.xlsx")
    feed = parse_xlsx(tmp_path / "a.xlsx")
    assert [(e.row, e.field) for e in feed.errors] == [(2, "(row)")]
    assert "row 2 has 7 cells, the header has 4: clear column E onwards" in feed.errors[0].message
    assert [a.name for _, a in feed.records] == ["Darts"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_session_note_with_a_semicolon_survives_export_then_import(
    fmt: str, sqlite_store: Store, tmp_path: Path
) -> None:
    run_import(sqlite_store, parse_csv(EXAMPLE_CSV))
    first = sqlite_store.list_assets().items[0]
    sessions = [
        {"weekdays": ["we"], "start": "12:00", "end": "14:00", "notes": "bring a plate; tea"},
        {"weekdays": ["fr"], "start": "10:00", "end": "12:00", "notes": "1st floor;\nroom 2"},
    ]
    sqlite_store.update_asset(first.id, {"sessions": sessions})
    before = _content(sqlite_store.list_assets().items)
    path = tmp_path / f"out.{fmt}"
    (export_csv if fmt == "csv" else export_xlsx)(sqlite_store, path)
    feed = (parse_csv if fmt == "csv" else parse_xlsx)(path)
    assert _content(_assets(feed)) == before


def test_control_characters_do_not_stop_an_excel_export(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """openpyxl refuses them (IllegalCharacterError), which ended the whole export."""
    run_import(sqlite_store, parse_csv(EXAMPLE_CSV))
    first = sqlite_store.list_assets().items[0]
    sqlite_store.update_asset(first.id, {"description": "Tea\u000band\u0001 cake\u001f"})
    assert export_xlsx(sqlite_store, tmp_path / "out.xlsx") == 5
    (back,) = [a for a in _assets(parse_xlsx(tmp_path / "out.xlsx")) if a.name == first.name]
    assert back.description == "Tea and  cake"
