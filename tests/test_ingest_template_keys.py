"""The template's identities: the keys made for rows with no ``source_id``, and the
organisations rows name (matched to the store's by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import make_asset, make_org, pick_terms
from ingest_helpers import write_csv

from geo_assets.ingest import run_import
from geo_assets.ingest.spreadsheet import export_csv, parse_csv, stored_organisations
from geo_assets.ingest.template import organisation_id
from geo_assets.store.base import Store


def _row(name: str, organisation: str = "", postcode: str = "", **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "organisation": organisation,
        "categories": "knitting",
        "postcode": postcode,
        "lat": "53.8",
        "lon": "-1.76",
        "sessions": "Tuesdays 10-12",
        **more,
    }


def _keys(path: Path) -> list[str | None]:
    feed = parse_csv(path)
    assert feed.errors == []
    return [a.source_id for _, a in feed.records]


# --- keys -------------------------------------------------------------------------------------


def test_names_in_other_scripts_get_keys_of_their_own(sqlite_store: Store, tmp_path: Path) -> None:
    """Every Devanagari letter used to be dropped, so both rows were keyed "नेपाल समुदाय"'s
    "//": refused as repeats in one file, the second overwriting the first across two."""
    yoga, song = _row("योग कक्षा", "नेपाल समुदाय"), _row("गीत समूह", "नेपाल समुदाय")
    both = write_csv(tmp_path / "both.csv", [yoga, song])
    assert _keys(both) == ["नेपाल-समुदाय/योग-कक्षा/", "नेपाल-समुदाय/गीत-समूह/"]
    assert run_import(sqlite_store, parse_csv(both)).inserted == 2
    for i, row in enumerate([yoga, song, _row("Клуб вязания"), _row("编织俱乐部")]):
        report = run_import(sqlite_store, parse_csv(write_csv(tmp_path / f"{i}.csv", [row])))
        assert (report.inserted, report.updated) == ((0, 1) if i < 2 else (1, 0))
    assert sqlite_store.count_assets() == 4


def test_keys_of_any_script_ignore_case_and_how_the_text_is_composed(tmp_path: Path) -> None:
    composed, decomposed = "\u0958\u093f\u0932\u093e", "\u0915\u093c\u093f\u0932\u093e"  # क़िला
    rows = [_row(f"КЛУБ {composed}"), _row(f"клуб {decomposed}", source_id="other")]
    path = write_csv(tmp_path / "a.csv", rows)
    (first, other) = _keys(path)
    assert other == "other" and first is not None
    again = write_csv(tmp_path / "b.csv", [_row(f"клуб {decomposed}")])
    assert _keys(again) == [first]


def test_a_name_with_any_latin_letter_keeps_the_key_it_always_had(tmp_path: Path) -> None:
    """Only the Latin part, as before: a sheet imported then must still update."""
    path = write_csv(tmp_path / "a.csv", [_row("Bangla Women's Group বাংলা মহিলা", "Leeds Trust")])
    assert _keys(path) == ["leeds-trust/bangla-women-s-group/"]


@pytest.mark.parametrize(
    ("organisation", "name", "postcode", "key"),
    [
        ("Test Community Association", "Knit and Natter", "BD8 7QU",
         "test-community-association/knit-and-natter/bd8-7qu"),
        ("", "Café Crème", "", "/caf-cr-me/"),
        ("St. Mary's", "Ladies' Darts (Over 50s)", "", "st-mary-s/ladies-darts-over-50s/"),
        ("Straße e.V.", "1º de Maio", "", "strasse-e-v/1-de-maio/"),
        ("O\u02bcReilly Trust", "Éire ☕ Club ½", "", "o-reilly-trust/ire-club/"),
    ],
)  # fmt: skip
def test_latin_names_keep_the_keys_they_always_had(
    tmp_path: Path, organisation: str, name: str, postcode: str, key: str
) -> None:
    """Accents and all: a stored listing's key must still be the one its sheet makes."""
    assert _keys(write_csv(tmp_path / "a.csv", [_row(name, organisation, postcode)])) == [key]


def test_reimporting_a_sheet_keyed_before_updates_it(sqlite_store: Store, tmp_path: Path) -> None:
    sheet = [_row("Café Crème", "Test Trust"), _row("Knit and Natter", "Test Trust", "BD8 7QU")]
    sqlite_store.create_organisation(make_org(id=organisation_id("Test Trust"), name="Test Trust"))
    keys = ("test-trust/caf-cr-me/", "test-trust/knit-and-natter/bd8-7qu")
    for key, row in zip(keys, sheet, strict=True):
        sqlite_store.create_asset(
            make_asset(
                name=row["name"],
                organisation_id=organisation_id("Test Trust"),
                source="spreadsheet",
                source_id=key,
            )
        )
    report = run_import(sqlite_store, parse_csv(write_csv(tmp_path / "a.csv", sheet)))
    assert (report.inserted, report.updated) == (0, 2)
    assert sqlite_store.count_assets() == 2


# --- organisations ----------------------------------------------------------------------------


def _listing(store: Store, org_id: str, name: str) -> None:
    store.create_asset(
        make_asset(
            name=name,
            organisation_id=org_id,
            categories=[pick_terms().root],
            source="api",
            source_id=name.casefold(),
        )
    )


def test_a_reimported_export_stays_with_its_organisations(store: Store, tmp_path: Path) -> None:
    """Organisations made in the directory have ids of their own, not the id an import
    would make from the name: re-importing the export moved every listing to a new one."""
    store.create_organisation(make_org(id="org-mca", name="Manningham Community Association"))
    store.create_organisation(make_org(id="org-lct", name="Leeds Community Trust"))
    _listing(store, "org-mca", "Knit and Natter")
    _listing(store, "org-lct", "Walking Football")
    organisations = store.list_organisations().total
    path = tmp_path / "e.csv"
    assert export_csv(store, path) == 2
    feed = parse_csv(path, known_organisations=stored_organisations(store))
    assert feed.organisations == []
    report = run_import(store, feed)
    assert (report.updated, report.organisations_created) == (2, 0)
    assert store.list_organisations().total == organisations
    by_name = {a.name: a.organisation_id for a in store.list_assets().items}
    assert by_name == {"Knit and Natter": "org-mca", "Walking Football": "org-lct"}


def test_a_name_is_matched_without_case_or_spacing_and_only_when_one_has_it(
    sqlite_store: Store, tmp_path: Path
) -> None:
    sqlite_store.create_organisation(make_org(id="org-one", name="Manningham  Trust"))
    sqlite_store.create_organisation(make_org(id="twin-1", name="Twin Trust"))
    sqlite_store.create_organisation(make_org(id="twin-2", name="twin trust"))
    rows = [
        _row("Knit", " MANNINGHAM trust "),
        _row("Darts", "Twin Trust"),
        _row("Choir", "New Trust"),
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    feed = parse_csv(path, known_organisations=stored_organisations(sqlite_store))
    assert feed.errors == []
    got = {a.name: a.organisation_id for _, a in feed.records}
    # Two organisations share "twin trust": which one is meant is not guessed.
    assert got == {
        "Knit": "org-one",
        "Darts": organisation_id("Twin Trust"),
        "Choir": organisation_id("New Trust"),
    }
    assert sorted(o.name for o in feed.organisations) == ["New Trust", "Twin Trust"]
    assert parse_csv(path).records[0][1].organisation_id == organisation_id("Manningham Trust")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_command_lines_import_of_its_own_export_keeps_the_organisations(
    sqlite_store: Store, tmp_path: Path, fmt: str
) -> None:
    """`geo-assets export csv` then `geo-assets import csv`: nothing moves."""
    from typer.testing import CliRunner

    from geo_assets.cli import app

    sqlite_store.create_organisation(make_org(id="org-mca", name="Manningham Trust"))
    _listing(sqlite_store, "org-mca", "Knit and Natter")
    url = sqlite_store.url
    path = tmp_path / f"e.{fmt}"
    runner = CliRunner()
    exported = runner.invoke(app, ["--database-url", url, "export", fmt, str(path)])
    assert exported.exit_code == 0, exported.output
    imported = runner.invoke(app, ["--database-url", url, "import", fmt, str(path)])
    assert imported.exit_code == 0, imported.output
    assert sqlite_store.list_organisations().total == 1
    assert [a.organisation_id for a in sqlite_store.list_assets().items] == ["org-mca"]
