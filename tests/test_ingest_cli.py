"""`geo-assets import/export FORMAT PATH` end to end on the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import rows, write_csv
from typer.testing import CliRunner

from geo_assets.cli import app
from geo_assets.ingest.spreadsheet import EXAMPLE_CSV, EXAMPLE_XLSX
from geo_assets.store import open_store

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert runner.invoke(app, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    return url


def _count(url: str) -> int:
    store = open_store(url)
    try:
        return store.count_assets()
    finally:
        store.close()


def test_import_then_export_every_format(url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--database-url", url, "import", "xlsx", str(EXAMPLE_XLSX)])
    assert result.exit_code == 0, result.output
    assert "5 inserted, 0 updated, 3 organisation(s) created" in result.output
    for fmt in ("csv", "xlsx", "geojson", "gpkg"):  # hsds formats: tests/test_ingest_hsds*
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(app, ["--database-url", url, "export", fmt, str(out)])
        assert result.exit_code == 0, result.output
        assert f"wrote 5 asset(s) to {out}" in result.output
        again = runner.invoke(app, ["--database-url", url, "import", fmt, str(out)])
        assert again.exit_code == 0, again.output
        assert "0 inserted, 5 updated" in again.output
    assert _count(url) == 5


def test_export_filters(url: str, tmp_path: Path) -> None:
    runner.invoke(app, ["--database-url", url, "import", "csv", str(EXAMPLE_CSV)])
    out = tmp_path / "sport.csv"
    result = runner.invoke(app, ["--database-url", url, "export", "csv", str(out),
                                 "--category", "sport", "--status", "published"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 2 asset(s)" in result.output
    bad = runner.invoke(app, ["--database-url", url, "export", "csv", str(out),
                              "--category", "nope"])  # fmt: skip
    assert bad.exit_code == 2
    assert "nope" in bad.output


def test_invalid_file_exits_2_with_the_report_and_writes_nothing(url: str, tmp_path: Path) -> None:
    data = rows(3)
    data[1]["sessions"] = "sometimes"
    path = write_csv(tmp_path / "bad.csv", data)
    result = runner.invoke(app, ["--database-url", url, "import", "csv", str(path)])
    assert result.exit_code == 2
    for needle in ("import refused, nothing written", "row", "field", "problem", "sessions",
                   "no hours given"):  # fmt: skip
        assert needle in result.output
    assert _count(url) == 0
    skipped = runner.invoke(
        app, ["--database-url", url, "import", "csv", str(path), "--skip-invalid"]
    )
    assert skipped.exit_code == 2  # something was refused, so the status says so
    flat = " ".join(skipped.output.split())  # rich wraps long lines
    assert "2 inserted" in flat and "1 record(s) skipped" in flat
    assert _count(url) == 2


def test_dry_run_and_source(url: str, tmp_path: Path) -> None:
    dry = runner.invoke(app, ["--database-url", url, "import", "csv", str(EXAMPLE_CSV),
                              "--dry-run"])  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert "dry run: 5 valid record(s), nothing written" in dry.output
    assert _count(url) == 0
    named = runner.invoke(app, ["--database-url", url, "import", "csv", str(EXAMPLE_CSV),
                                "--source", "bradford-vcs"])  # fmt: skip
    assert named.exit_code == 0, named.output
    store = open_store(url)
    try:
        assert {a.source for a in store.list_assets().items} == {"bradford-vcs"}
    finally:
        store.close()


def test_garbage_and_missing_files(url: str, tmp_path: Path) -> None:
    garbage = tmp_path / "junk.csv"
    garbage.write_bytes(bytes(range(256)) * 4096)
    result = runner.invoke(app, ["--database-url", url, "import", "csv", str(garbage)])
    assert result.exit_code == 2
    assert "not a text file" in result.output
    missing = runner.invoke(app, ["--database-url", url, "import", "geojson",
                                  str(tmp_path / "nope.geojson")])  # fmt: skip
    assert missing.exit_code == 2
    assert "cannot read" in missing.output


def test_osm_is_import_only() -> None:
    result = runner.invoke(app, ["export", "--help"])
    assert "osm" not in result.output.split("Commands")[-1]


def test_parsed_records_are_dropped_before_garbage_collection_resumes(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept past the pause, a big feed's records were walked by the first collection."""
    import gc
    import io

    from rich.console import Console

    from geo_assets.ingest import cli_support
    from geo_assets.ingest.base import ParsedFeed

    class Marked(ParsedFeed):
        pass

    parse_csv, export_csv = cli_support._format("csv")

    def marked_parse(path: Path, **options: Any) -> ParsedFeed:
        feed = parse_csv(path, **options)
        return Marked(**{k: getattr(feed, k) for k in feed.__dataclass_fields__})

    alive: list[int] = []
    monkeypatch.setattr(cli_support, "_format", lambda fmt: (marked_parse, export_csv))
    monkeypatch.setattr(
        cli_support,
        "print_report",
        lambda report, console: alive.append(sum(isinstance(o, Marked) for o in gc.get_objects())),
    )
    store = open_store(url)
    try:
        ok = cli_support.import_file(
            store, "csv", EXAMPLE_CSV, dry_run=True, console=Console(file=io.StringIO())
        )
    finally:
        store.close()
    assert ok and alive == [0]


def test_import_places_rows_without_lat_lon_by_postcode(url: str, tmp_path: Path) -> None:
    store = open_store(url)
    try:
        store.upsert_postcodes([("BD8 7QU", 53.8012, -1.7634)])
    finally:
        store.close()
    path = write_csv(tmp_path / "a.csv", rows(2, lat="", lon=""))  # both with BD8 7QU
    result = runner.invoke(app, ["--database-url", url, "import", "csv", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 row(s) gave no lat/lon" in " ".join(result.output.split())
    store = open_store(url)
    try:
        located = {(a.location.lat, a.location.precision) for a in store.list_assets().items}
    finally:
        store.close()
    assert located == {(53.8012, "postcode")}
