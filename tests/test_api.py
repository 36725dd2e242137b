"""The HTTP service, built through ``create_app`` with explicit test settings."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pyproj import Geod

from api.app import create_app
from geo_assets.model import Asset, AssetStatus, Location, Session
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store

with warnings.catch_warnings():
    # Starlette suggests the httpx2 package; httpx is what we depend on.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

GEOD = Geod(ellps="WGS84")
ORIGIN = (53.795, -1.752)  # (lat, lon) degrees
# (name, metres north-east of ORIGIN, status); the draft is close but must stay hidden.
PLACES: list[tuple[str, float, AssetStatus]] = [
    ("Chess club", 650.0, "published"),
    ("Allotment society", 120.0, "published"),
    ("Knit and natter", 380.0, "published"),
    ("Walking group", 1_800.0, "published"),
    ("Unpublished choir", 50.0, "draft"),
]
PROBLEM = "application/problem+json"


def _assets() -> list[Asset]:
    out = []
    for i, (name, distance_m, status) in enumerate(PLACES):
        lon, lat, _ = GEOD.fwd(ORIGIN[1], ORIGIN[0], 45.0, distance_m)
        out.append(
            Asset(
                id=f"a{i}",
                kind="group",
                name=name,
                description=f"{name} for everyone",
                categories=["social"],
                location=Location(lat=lat, lon=lon, place="Bradford"),
                sessions=[Session(weekdays=["tu"], start=time(10), end=time(12))],
                status=status,
            )
        )
    return out


def _fill(store: Store) -> None:
    for asset in _assets():
        store.create_asset(asset)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    store = open_store(url)
    try:
        store.upgrade()
        _fill(store)
    finally:
        store.close()
    return Settings(database_url=url)


@pytest.fixture
def client(sqlite_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings)) as test_client:
        yield test_client


def _near(client: TestClient, **params: object) -> dict:
    query = {"near": f"{ORIGIN[0]},{ORIGIN[1]}", "radius_m": 1000, "format": "geojson", **params}
    response = client.get("/assets", params=query)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return response.json()


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_the_store_answers(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_a_plain_near_query_is_a_feature_collection_nearest_first(client: TestClient) -> None:
    """What `curl '.../assets?near=LAT,LON&radius_m=1000'` gets (it sends Accept: */*)."""
    query = {"near": f"{ORIGIN[0]},{ORIGIN[1]}", "radius_m": 1000}
    response = client.get("/assets", params=query, headers={"Accept": "*/*"})
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances and distances == sorted(distances)


def test_near_returns_published_assets_nearest_first(client: TestClient) -> None:
    body = _near(client)
    assert body["type"] == "FeatureCollection"
    names = [f["properties"]["name"] for f in body["features"]]
    assert names == ["Allotment society", "Knit and natter", "Chess club"]
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances)
    assert distances == pytest.approx([120.0, 380.0, 650.0], abs=0.5)
    assert body["numberReturned"] == 3


def test_feature_shape(client: TestClient) -> None:
    feature = _near(client)["features"][0]
    asset = _assets()[1]
    assert feature["type"] == "Feature"
    assert feature["id"] == asset.id
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx(
        [asset.location.lon, asset.location.lat]
    )
    props = feature["properties"]
    assert props["kind"] == "group"
    assert props["categories"] == ["social"]
    assert props["status"] == "published"
    assert props["description"] == "Allotment society for everyone"
    assert props["cost"]["free"] is True
    assert props["sessions"] == ["Tuesdays 10:00-12:00"]
    assert props["next_session"].endswith("T10:00")
    assert props["location_precision"] == "point"


def test_near_honours_limit_and_filters(client: TestClient) -> None:
    limited = _near(client, limit=2)
    assert len(limited["features"]) == 2
    assert limited["truncated"] is True
    assert _near(client, limit=3)["truncated"] is False
    assert _near(client, text="knit")["numberReturned"] == 1
    assert _near(client, kind="club")["numberReturned"] == 0
    # Drafts are not public: an anonymous caller asking for them must sign in.
    drafts = client.get("/assets", params={"near": f"{ORIGIN[0]},{ORIGIN[1]}", "status": "draft"})
    assert drafts.status_code == 401
    assert drafts.headers["content-type"].startswith("application/problem+json")


def test_without_near_lists_published_assets_by_page(client: TestClient) -> None:
    response = client.get("/assets", params={"per_page": 3, "page": 2, "format": "geojson"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (4, 2, 3, 2)
    assert [f["properties"]["name"] for f in body["features"]] == ["Walking group"]
    assert body["features"][0]["properties"]["distance_m"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near": "95,0", "radius_m": 1000}, "near"),
        ({"near": "0,181", "radius_m": 1000}, "near"),
        ({"near": "somewhere", "radius_m": 1000}, "near"),
        ({"near": "53.8,-1.75", "radius_m": -1}, "radius_m"),
        ({"near": "53.8,-1.75", "radius_m": "nan"}, "radius_m"),
        ({"near": "53.8,-1.75", "radius_m": 10_000_000}, "radius_m"),
        ({"radius_m": 100}, "near"),
        ({"category": "no-such-term"}, "category"),
        ({"kind": "castle"}, "kind"),
        ({"per_page": 0}, "per_page"),
    ],
)
def test_bad_parameters_give_a_problem_naming_the_field(
    client: TestClient, params: dict, field: str
) -> None:
    response = client.get("/assets", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 422
    assert body["field"] == field
    assert f"`{field}`" in body["detail"]
    assert {"type", "title", "status", "detail"} <= set(body)


def test_the_tab_icon_is_an_svg_image(client: TestClient) -> None:
    for path in ("/favicon.ico", "/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/svg+xml"
        assert ElementTree.fromstring(response.text).tag == "{http://www.w3.org/2000/svg}svg"


def test_unknown_route_is_a_problem_too(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 404


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:9/geo_assets", database_timeout_s=1.0
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


@pytest.mark.postgis
def test_near_query_on_postgis(postgis_store: Store, postgis_db_url: str) -> None:
    _fill(postgis_store)
    with TestClient(create_app(Settings(database_url=postgis_db_url))) as client:
        assert client.get("/readyz").status_code == 200
        body = _near(client)
    names = [f["properties"]["name"] for f in body["features"]]
    assert names == ["Allotment society", "Knit and natter", "Chess club"]
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == pytest.approx([120.0, 380.0, 650.0], abs=0.5)
