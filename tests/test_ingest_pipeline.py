"""run_import on both stores: all or nothing, skip-invalid, dry run, idempotence, reports."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ingest_helpers import dump, rows, write_csv
from rich.console import Console

from geo_assets.errors import RowError
from geo_assets.ingest import FORMATS, ParsedFeed, run_import
from geo_assets.ingest.spreadsheet import parse_csv
from geo_assets.store.base import Store


def _seed(store: Store, tmp_path: Path) -> None:
    report = run_import(store, parse_csv(write_csv(tmp_path / "seed.csv", rows(5))))
    assert (report.inserted, report.errors) == (5, [])


def test_failing_import_leaves_store_unchanged(store: Store, tmp_path: Path) -> None:
    _seed(store, tmp_path)
    before = dump(store)
    data = rows(8, organisation="A Brand New Organisation")  # would create an organisation
    data[3]["lat"] = "abc"  # wrong type
    data[5]["categories"] = "knitting; underwater basket weaving"  # unknown category
    data[6]["sessions"] = "Tuesday 25:00-26:00"  # impossible time
    report = run_import(store, parse_csv(write_csv(tmp_path / "bad.csv", data)))
    assert [(e.row, e.field) for e in report.errors] == [
        (5, "lat"), (7, "categories"), (8, "sessions"),
    ]  # fmt: skip
    assert (report.inserted, report.updated, report.organisations_created) == (0, 0, 0)
    assert "nothing written" in report.summary()
    assert dump(store) == before


def test_store_level_failure_is_renumbered_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    _seed(store, tmp_path)
    taken = store.list_assets().items[0].id
    before = dump(store)
    good = parse_csv(write_csv(tmp_path / "more.csv", rows(3, source_id="x")))
    records = [(r, a.model_dump(mode="json") | {"source_id": f"new-{r}"})
               for r, a in good.records]  # fmt: skip
    records[1][1]["id"] = taken  # the id of an asset stored under another key
    feed = ParsedFeed(records=[(10 + i, rec) for i, (_, rec) in enumerate(records)])
    report = run_import(store, feed)
    assert [e.row for e in report.errors] == [11]  # the source row, not the batch position
    assert dump(store) == before


def test_skip_invalid_imports_the_good_rows(store: Store, tmp_path: Path) -> None:
    data = rows(6)
    data[2]["lat"] = "95"
    data[4]["categories"] = "nonsense"
    report = run_import(
        store, parse_csv(write_csv(tmp_path / "mixed.csv", data)), skip_invalid=True
    )
    assert (report.inserted, report.skipped) == (4, 2)
    assert [(e.row, e.field) for e in report.errors] == [(4, "lat"), (6, "categories")]
    assert store.count_assets() == 4
    assert report.organisations_created == 1


def test_dry_run_writes_nothing(store: Store, tmp_path: Path) -> None:
    before = dump(store)
    report = run_import(store, parse_csv(write_csv(tmp_path / "a.csv", rows(4))), dry_run=True)
    assert (report.valid, report.inserted, report.dry_run) == (4, 0, True)
    assert "dry run" in report.summary()
    assert dump(store) == before


def test_reimport_updates_never_duplicates(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(7))
    first = run_import(store, parse_csv(path))
    second = run_import(store, parse_csv(path))
    assert (first.inserted, first.updated, first.organisations_created) == (7, 0, 1)
    assert (second.inserted, second.updated, second.organisations_created) == (0, 7, 0)
    assert second.ids == first.ids
    assert store.count_assets() == 7
    assert {a.version for a in store.list_assets().items} == {2}
    assert store.list_organisations().total == 1


def test_source_option_keys_records(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(2))
    run_import(store, parse_csv(path), source="council-2026")
    run_import(store, parse_csv(path), source="council-2026")
    assert store.count_assets() == 2
    assert {a.source for a in store.list_assets().items} == {"council-2026"}


def test_unknown_organisation_reference_is_reported(store: Store) -> None:
    good = parse_csv(Path("data/templates/activities.csv"))
    records = [(r, a.model_dump(mode="json") | {"organisation_id": "nope"})
               for r, a in good.records]  # fmt: skip
    report = run_import(store, ParsedFeed(records=records[:1]))
    assert [(e.row, e.field) for e in report.errors] == [(2, "organisation_id")]
    assert store.count_assets() == 0


def test_repeated_keys_in_one_file_are_reported(store: Store, tmp_path: Path) -> None:
    data = rows(3)
    data[2]["source_id"] = data[0]["source_id"]
    report = run_import(store, parse_csv(write_csv(tmp_path / "a.csv", data)))
    assert [(e.row, e.field) for e in report.errors] == [(4, "source_id")]
    assert "repeats row 2" in report.errors[0].message
    assert store.count_assets() == 0


def test_progress_reports_the_total(sqlite_store: Store, tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    feed = parse_csv(write_csv(tmp_path / "a.csv", rows(1200)))
    run_import(sqlite_store, feed, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (500, 1200)
    assert calls[-1] == (1200, 1200)


def test_report_renders_row_field_problem() -> None:
    from geo_assets.ingest import ImportReport

    report = ImportReport(
        errors=[RowError(0, "(file)", "not a text file"), RowError(7, "lat", "'abc' is bad")],
        warnings=["read as cp1252"],
    )
    out = io.StringIO()
    Console(file=out, width=120).print(report.render())
    text = out.getvalue()
    for needle in ("row", "field", "problem", "(file)", "not a text file", "7", "lat",
                   "'abc' is bad", "warning: read as cp1252", "nothing written"):  # fmt: skip
        assert needle in text


def test_format_registry_names_every_cli_format() -> None:
    assert set(FORMATS) == {"hsds", "hsds-csv", "csv", "xlsx", "geojson", "gpkg", "osm"}
    assert FORMATS["csv"][0](Path("data/templates/activities.csv")).errors == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "gpkg", "osm"])
def test_garbage_50mb_gives_a_quick_clear_report(
    fmt: str, sqlite_store: Store, tmp_path: Path
) -> None:
    import os
    import time

    path = tmp_path / f"garbage.{fmt}"
    with open(path, "wb") as fh:
        fh.write(os.urandom(50 * 1024 * 1024))
    before = dump(sqlite_store)
    started = time.perf_counter()
    feed = FORMATS[fmt][0](path)
    report = run_import(sqlite_store, feed)
    elapsed_s = time.perf_counter() - started
    assert elapsed_s < 10
    assert len(report.errors) == 1
    assert report.errors[0].row == 0 and report.errors[0].field == "(file)"
    assert dump(sqlite_store) == before


def test_skip_invalid_creates_only_organisations_of_imported_rows(
    store: Store, tmp_path: Path
) -> None:
    data = rows(2)
    data[1]["organisation"] = "Only Bad Rows Ltd"
    data[1]["lat"] = "north"
    report = run_import(store, parse_csv(write_csv(tmp_path / "a.csv", data)), skip_invalid=True)
    assert (report.inserted, report.organisations_created) == (1, 1)
    assert [o.name for o in store.list_organisations().items] == ["Test Community Association"]
