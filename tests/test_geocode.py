"""The geocoder: "lat,lon", postcode tables, place names (exact, prefix, word, fuzzy), and
``GET /geocode`` over it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from geo_assets.errors import InvalidInputError
from geo_assets.geocode import (
    EXACT_SCORE,
    Geocoder,
    parse_coordinates,
    sample_gazetteer,
)
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.store.gazetteer import Place, PostcodePoint, normalise_postcode
from geo_assets.synthetic import BRADFORD_CENTRES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


class PostcodeTable:
    """A postcode table in memory (codes of any country), as a store would answer."""

    def __init__(self, rows: dict[str, tuple[float, float]]) -> None:
        self.rows = {normalise_postcode(k): v for k, v in rows.items()}
        self.asked: list[str] = []

    def find_postcode(self, postcode: str) -> PostcodePoint | None:
        self.asked.append(postcode)
        code = normalise_postcode(postcode)
        if code in self.rows:
            return PostcodePoint(code, *self.rows[code])
        district = [v for k, v in self.rows.items() if " " in k and k.split(" ")[0] == code]
        if district:  # a UK outward code: the centroid of its postcodes
            lat = sum(p[0] for p in district) / len(district)
            lon = sum(p[1] for p in district) / len(district)
            return PostcodePoint(code, lat, lon, exact=False)
        return None


# --- coordinates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("53.79,-1.75", (53.79, -1.75)),
        (" 53.79 , -1.75 ", (53.79, -1.75)),
        ("53.79;-1.75", (53.79, -1.75)),
        ("53.79 -1.75", (53.79, -1.75)),
        ("-33.8688,151.2093", (-33.8688, 151.2093)),
        ("0,0", (0.0, 0.0)),
        ("90,180", (90.0, 180.0)),
    ],
)
def test_coordinates(text: str, point: tuple[float, float]) -> None:
    assert parse_coordinates(text) == point
    [result] = Geocoder().geocode(text)
    assert (result.lat, result.lon, result.kind, result.score) == (*point, "coordinates", 1.0)


@pytest.mark.parametrize("text", ["Bradford", "BD1 1QY", "1011 AB", "10115", "53 1", "12345-6789"])
def test_not_coordinates(text: str) -> None:
    assert parse_coordinates(text) is None


@pytest.mark.parametrize("text", ["95,0", "53.7,-181", "-90.5 10.0"])
def test_coordinates_out_of_range_name_the_field(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Geocoder().geocode(text, field="q")
    assert caught.value.field == "q" and "`q`" in str(caught.value)


# --- place names ------------------------------------------------------------------------------


def test_the_sample_gazetteer_holds_every_centre() -> None:
    names = {p.name for p in sample_gazetteer()}
    assert {c.name for c in BRADFORD_CENTRES} <= names
    assert "Bradford" in names  # "Bradford city centre" under its short name too


@pytest.mark.parametrize(
    ("text", "label", "match"),
    [
        ("Manningham", "Manningham", "exact"),
        ("manningham", "Manningham", "exact"),
        ("  MANNINGHAM ", "Manningham", "exact"),
        ("Mánningham", "Manningham", "exact"),  # accents ignored
        ("low-moor", "Low Moor", "exact"),  # punctuation ignored
        ("Great", "Great Horton", "prefix"),
        ("horton", "Great Horton", "word"),
        ("Keighly", "Keighley", "fuzzy"),  # a misspelling
        ("Sheepley", "Shipley", "fuzzy"),
    ],
)
def test_place_names(text: str, label: str, match: str) -> None:
    first = Geocoder().geocode(text)[0]
    assert (first.label, first.kind, first.match) == (label, "place", match)
    centre = next(c for c in BRADFORD_CENTRES if c.name == label)
    assert (first.lat, first.lon) == (centre.lat, centre.lon)


def test_scores_follow_the_kind_of_match() -> None:
    results = Geocoder().geocode("Bradford", limit=5)
    assert [r.label for r in results] == ["Bradford", "Bradford city centre"]
    assert results[0].score == EXACT_SCORE > results[1].score
    fuzzy = Geocoder().geocode("Keighly")[0]
    assert 0 < fuzzy.score < results[1].score


def test_nothing_found_is_an_empty_list() -> None:
    assert Geocoder().geocode("Atlantis under the sea") == []
    assert Geocoder().geocode("???") == []


def test_own_gazetteer_and_limit() -> None:
    places = [Place("Helsinki", 60.17, 24.94, "city"), Place("Helsingør", 56.03, 12.61, "town")]
    geocoder = Geocoder(places)
    assert [r.label for r in geocoder.geocode("hels", limit=5)] == ["Helsinki", "Helsingør"]
    assert len(geocoder.geocode("hels", limit=1)) == 1
    assert geocoder.geocode("Bradford") == []  # only the gazetteer given
    with pytest.raises(InvalidInputError) as caught:
        geocoder.geocode("hels", limit=0)
    assert caught.value.field == "limit"


@pytest.mark.parametrize("text", ["", "   ", "x" * 201, "LS1\x00", "Leeds\x00"])
def test_empty_long_or_nul_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Geocoder().geocode(text, field="q")
    assert caught.value.field == "q"


# --- postcodes ------------------------------------------------------------------------------


def test_without_a_postcode_table_there_are_no_postcode_answers() -> None:
    assert all(r.kind != "postcode" for r in Geocoder().geocode("BD1 1QY"))


def test_postcodes_of_any_country_come_from_the_table() -> None:
    table = PostcodeTable({"BD1 1QY": (53.8027, -1.7505), "00100": (60.17, 24.93)})
    geocoder = Geocoder(postcodes=table)
    [uk] = geocoder.geocode("bd11qy")
    assert (uk.kind, uk.label, uk.score, uk.lat) == ("postcode", "BD1 1QY", 1.0, 53.8027)
    [fi] = geocoder.geocode("00100")
    assert (fi.kind, fi.label) == ("postcode", "00100")
    district = geocoder.geocode("BD1")[0]
    assert district.kind == "postcode_district" and district.score < 1.0
    assert geocoder.geocode("ZZ9 9ZZ") == []


def test_texts_that_cannot_be_postcodes_are_not_looked_up() -> None:
    table = PostcodeTable({"BD1 1QY": (53.8, -1.75)})
    Geocoder(postcodes=table).geocode("Manningham")
    Geocoder(postcodes=table).geocode("a very long text with 1 digit in it")
    assert table.asked == []


def test_store_tables_join_the_gazetteer(sqlite_store: Store) -> None:
    sqlite_store.upsert_postcodes([("LS1 4AP", 53.7997, -1.5492)])
    sqlite_store.upsert_places(
        [("Saltaire station", 53.838, -1.791, "station"), ("Idle", 53.837, -1.74, "suburb")]
    )
    geocoder = Geocoder(postcodes=sqlite_store, places=sqlite_store)
    assert geocoder.geocode("ls1 4ap")[0].kind == "postcode"
    saltaire = [(r.label, r.place_type) for r in geocoder.geocode("saltaire")]
    assert saltaire == [("Saltaire", "locality"), ("Saltaire station", "station")]
    # The same place in both lists is answered once.
    assert [r.label for r in geocoder.geocode("Idle")] == ["Idle"]


# --- GET /geocode -----------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'geo.sqlite'}"
    store = open_store(url)
    store.upgrade()
    store.upsert_postcodes([("BD7 1AA", 53.78, -1.78), ("BD7 2BB", 53.79, -1.77)])
    store.close()
    with TestClient(create_app(Settings(database_url=url))) as test_client:
        yield test_client


def test_geocode_endpoint(client: TestClient) -> None:
    body = client.get("/geocode", params={"q": "Great Horton"}).json()
    assert body["count"] == 1
    assert body["results"][0] == {
        "lat": 53.78,
        "lon": -1.78,
        "label": "Great Horton",
        "kind": "place",
        "match": "exact",
        "score": 1.0,
        "place_type": "locality",
    }
    coords = client.get("/geocode", params={"q": "53.79,-1.75"}).json()["results"]
    assert [(r["kind"], r["lat"], r["lon"]) for r in coords] == [("coordinates", 53.79, -1.75)]
    postcode = client.get("/geocode", params={"q": "bd7 1aa"}).json()["results"][0]
    assert (postcode["kind"], postcode["label"]) == ("postcode", "BD7 1AA")
    district = client.get("/geocode", params={"q": "BD7"}).json()["results"][0]
    assert district["kind"] == "postcode_district"
    assert district["lat"] == pytest.approx(53.785)
    nothing = client.get("/geocode", params={"q": "Atlantis"})
    assert nothing.status_code == 200 and nothing.json() == {"results": [], "count": 0}
    assert len(client.get("/geocode", params={"q": "b", "limit": 2}).json()["results"]) <= 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "95,1"}, "q"),
        ({"q": "x", "limit": 0}, "limit"),
    ],
)
def test_geocode_errors_name_the_field(
    client: TestClient, params: dict[str, object], field: str
) -> None:
    response = client.get("/geocode", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["field"] == field


def test_taxonomy_endpoint(client: TestClient) -> None:
    tree = client.get("/taxonomy")
    assert tree.status_code == 200 and "max-age" in tree.headers["cache-control"]
    body = tree.json()
    flat = client.get("/taxonomy", params={"format": "flat"}).json()
    assert body["format"] == "tree" and flat["format"] == "flat"
    assert body["count"] == flat["count"] == len(flat["terms"])

    def walk(nodes: list[dict]) -> list[str]:
        return [i for n in nodes for i in [n["id"], *walk(n["children"])]]

    assert walk(body["terms"]) == [t["id"] for t in flat["terms"]]
    assert all(t["parent_id"] is None for t in flat["terms"] if t["depth"] == 0)
    child = next(t for t in flat["terms"] if t["depth"] == 1)
    assert child["id"].startswith(child["parent_id"] + ".")
    response = client.get("/taxonomy", params={"format": "xml"})
    assert response.status_code == 422 and response.json()["field"] == "format"
