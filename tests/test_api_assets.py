"""``/assets``: search with every filter (JSON and GeoJSON), read one, create, patch, archive.

Searches run on the sample data (``geo_assets.sample.load_sample``) in SQLite, and the
main filter test once more on PostGIS. Expected answers are worked out in Python from
all stored documents (``reference`` restates the filter rules). Writes run on a small
store of hand-made assets.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import LEEDS, distances_m, make_asset, make_org, pick_terms
from test_store_contract_filters import reference

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.freshness import is_stale
from geo_assets.model import Asset, BBox, utcnow
from geo_assets.sample import load_sample
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.store.base import AssetFilters, NearQuery

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"
BRADFORD = (53.795, -1.752)  # (lat, lon) degrees: the sample's centre


@dataclass
class Site:
    """A running app over a store, with a bearer-token header per role."""

    client: TestClient
    store: Store
    assets: list[Asset]  # everything stored, every status
    auth: dict[str, dict[str, str]]
    org_id: str  # the organisation of the "organisation" user


def _all_assets(store: Store) -> list[Asset]:
    out: list[Asset] = []
    page = 1
    while True:
        got = store.list_assets(page=page, per_page=1000)
        out.extend(got.items)
        if page >= got.pages:
            return out
        page += 1


def _site(url: str, *, sample: bool) -> Iterator[Site]:
    store = open_store(url)
    store.upgrade()
    if sample and not store.count_assets():  # a copy of the sample store has it already
        load_sample(store)
    elif not sample:
        store.create_organisation(make_org(id="org-a", name="A Trust"))
        store.create_organisation(make_org(id="org-b", name="B Trust"))
    assets = _all_assets(store)
    org_id = "org-a"
    if sample:  # an organisation with unpublished assets, for the status tests
        org_id = next(
            a.organisation_id for a in assets if a.status != "published" and a.organisation_id
        )
    people = {
        "admin": User(name="Ada", role="admin"),
        "organisation": User(name="Olu", role="organisation", organisation_id=org_id),
        "practitioner": User(name="Pat", role="practitioner"),
    }
    auth = {}
    for role, person in people.items():
        store.create_user(person)
        auth[role] = {"Authorization": f"Bearer {issue_token(store, person.id)}"}
    settings = Settings(database_url=url, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as client:
        yield Site(client, store, assets, auth, org_id)
    store.close()


@pytest.fixture(scope="module")
def sample(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> Iterator[Site]:
    """The sample data; the tests using it only read."""
    yield from _site(sample_sqlite(tmp_path_factory.mktemp("api_assets")), sample=True)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Site]:
    """Two organisations and no assets: for the write tests."""
    yield from _site(f"sqlite:///{tmp_path / 'small.sqlite'}", sample=False)


def _get(site: Site, params: dict[str, Any], *, role: str | None = None, **kw: Any) -> Any:
    headers = {**(site.auth[role] if role else {}), **kw.pop("headers", {})}
    response = site.client.get("/assets", params=params, headers=headers, **kw)
    assert response.status_code == 200, response.text
    return response


def _ids(body: dict[str, Any]) -> list[str]:
    if "features" in body:
        return [f["id"] for f in body["features"]]
    return [item["id"] for item in body["items"]]


def _problem(response: Any, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert body["field"] == field
        assert f"`{field}`" in body["detail"]
    return body


# --- searching ------------------------------------------------------------------------------

# (query parameters, the AssetFilters they mean); statuses default to published.
TERMS = pick_terms()
SEARCHES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "all": ({}, {}),
    "bbox": (
        {"bbox": "-1.77,53.78,-1.74,53.80"},
        {"bbox": BBox(west=-1.77, south=53.78, east=-1.74, north=53.80)},
    ),
    "category": ({"category": ["sport", "arts"]}, {"categories": ["sport", "arts"]}),
    "kind": ({"kind": ["club", "venue"]}, {"kinds": ["club", "venue"]}),
    "text": ({"text": "walk"}, {"text": "walk"}),
    "day": ({"day": "tu"}, {"weekdays": ["tu"]}),
    "days": ({"day": ["sa", "su"]}, {"weekdays": ["sa", "su"]}),
    "min_age": ({"min_age": 16}, {"age_min": 16}),
    "max_age": ({"max_age": 70}, {"age_max": 70}),
    "person_aged_12": ({"min_age": 12, "max_age": 12}, {"age_min": 12, "age_max": 12}),
    # A grown-up is let into toddler groups that say the parents come too.
    "person_aged_31": ({"min_age": 31, "max_age": 31}, {"age_min": 31, "age_max": 31}),
    "free_only": ({"free_only": "true"}, {"free_only": True}),
    "combined": (
        {"day": ["mo", "we"], "free_only": "true", "max_age": 65, "kind": "group"},
        {"weekdays": ["mo", "we"], "free_only": True, "age_max": 65, "kinds": ["group"]},
    ),
    "near": ({"near": f"{BRADFORD[0]},{BRADFORD[1]}", "radius_m": 1500}, {}),
    "near+filters": (
        {"near": "53.80,-1.76", "radius_m": 3000, "day": "th", "category": "sport"},
        {"weekdays": ["th"], "categories": ["sport"]},
    ),
}


def _expected(site: Site, params: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """Ids in the order the API must list them (by name, or by distance with `near`)."""
    filters = AssetFilters(**{"statuses": ["published"], **spec})
    if "near" not in params:
        return reference(site.assets, filters)
    lat, lon = (float(x) for x in params["near"].split(","))
    radius_m = float(params["radius_m"])
    keep = set(
        reference(
            site.assets,
            filters.model_copy(update={"near": NearQuery(lat=lat, lon=lon, radius_m=radius_m)}),
        )
    )
    chosen = [a for a in site.assets if a.id in keep]
    dist = distances_m(chosen, lat, lon)
    return [a.id for d, a in sorted(zip(dist, chosen, strict=True), key=lambda p: (p[0], p[1].id))]


def check_searches(site: Site) -> None:
    """Every search in SEARCHES: ids, order and totals as the reference says, every page."""
    for label, (params, spec) in SEARCHES.items():
        expected = _expected(site, params, spec)
        assert expected, f"{label}: the case should find something"
        body = _get(site, {**params, "per_page": 1000}).json()
        assert _ids(body) == expected[:1000], label
        assert body["total"] == len(expected), label
        per_page = max(1, len(expected) // 3)
        paged = _get(site, {**params, "per_page": per_page, "page": 2}).json()
        assert _ids(paged) == expected[per_page : 2 * per_page], label
        assert (paged["total"], paged["page"], paged["pages"]) == (
            len(expected),
            2,
            -(-len(expected) // per_page),
        ), label


def test_searches_match_the_reference(sample: Site) -> None:
    check_searches(sample)


@pytest.mark.postgis
def test_searches_match_the_reference_on_postgis(postgis_store: Store, postgis_db_url: str) -> None:
    for site in _site(postgis_db_url, sample=True):
        check_searches(site)


def test_json_is_the_default_and_lists_whole_assets(sample: Site) -> None:
    response = _get(sample, {"per_page": 5})
    assert response.headers["content-type"].startswith("application/json")
    assert "Accept" in response.headers["vary"]
    body = response.json()
    assert set(body) == {"items", "total", "page", "per_page", "pages", "radius_m"}
    first = body["items"][0]
    stored = next(a for a in sample.assets if a.id == first["id"])
    assert first == {**stored.model_dump(mode="json"), "distance_m": None}
    assert body["total"] == sum(a.status == "published" for a in sample.assets)


def test_near_items_carry_their_distance(sample: Site) -> None:
    body = _get(sample, {"near": "53.795,-1.752", "radius_m": 800, "format": "json"}).json()
    distances = [item["distance_m"] for item in body["items"]]
    assert distances == sorted(distances) and distances[-1] <= 800
    assert body["radius_m"] == 800
    by_id = {a.id: a for a in sample.assets}
    ref = distances_m([by_id[item["id"]] for item in body["items"]], *BRADFORD)
    assert distances == pytest.approx(list(ref), abs=0.5)


@pytest.mark.parametrize(
    ("params", "headers", "geojson"),
    [
        ({"format": "geojson"}, {}, True),
        ({}, {"Accept": GEOJSON}, True),
        ({}, {"Accept": f"{GEOJSON}, application/json;q=0.5"}, True),
        ({}, {"Accept": f"application/json, {GEOJSON};q=0.9"}, False),
        ({}, {"Accept": "*/*"}, False),
        ({"format": "json"}, {"Accept": GEOJSON}, False),
        # A radius search is a map layer: GeoJSON unless JSON is asked for.
        ({"near": "53.795,-1.752"}, {}, True),
        ({"near": "53.795,-1.752"}, {"Accept": "*/*"}, True),
        ({"near": "53.795,-1.752"}, {"Accept": "application/json"}, False),
        ({"near": "53.795,-1.752", "format": "json"}, {}, False),
    ],
)
def test_format_by_parameter_or_accept_header(
    sample: Site, params: dict[str, str], headers: dict[str, str], geojson: bool
) -> None:
    response = _get(sample, {"per_page": 3, **params}, headers=headers)
    kind = GEOJSON if geojson else "application/json"
    assert response.headers["content-type"].startswith(kind)
    assert ("features" in response.json()) is geojson


def test_geojson_collection_and_features(sample: Site) -> None:
    params = {"near": "53.795,-1.752", "radius_m": 1000, "per_page": 4, "format": "geojson"}
    body = _get(sample, params).json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == 4 and body["numberMatched"] == body["total"] > 4
    assert body["truncated"] is True and body["radius_m"] == 1000
    feature = body["features"][0]
    asset = next(a for a in sample.assets if a.id == feature["id"])
    assert feature["geometry"] == {
        "type": "Point",
        "coordinates": [asset.location.lon, asset.location.lat],
    }
    assert feature["properties"]["name"] == asset.name
    assert feature["properties"]["distance_m"] <= 1000
    # What a map client needs to say whether the person can go: how, in what, how accessible.
    said = feature["properties"]
    assert said["attendance"] == asset.attendance
    assert said["accessibility"] == asset.accessibility.features
    assert said["languages"] == asset.languages
    single = sample.client.get(f"/assets/{asset.id}", params={"format": "geojson"})
    assert single.headers["content-type"].startswith(GEOJSON)
    assert single.json()["geometry"] == feature["geometry"]


def test_one_asset_names_its_web_page(sample: Site) -> None:
    """``Link: </listings/ID>; rel="alternate"`` in both formats; the page is there."""
    asset = next(a for a in sample.assets if a.status == "published")
    expected = f'</listings/{asset.id}>; rel="alternate"; type="text/html"'
    for params in ({}, {"format": "geojson"}):
        response = sample.client.get(f"/assets/{asset.id}", params=params)
        assert response.headers["link"] == expected
    page = sample.client.get(f"/listings/{asset.id}")
    assert page.status_code == 200 and asset.name in html.unescape(page.text)


def test_modified_after(sample: Site) -> None:
    stamps = sorted({a.updated_at for a in sample.assets if a.updated_at})
    body = _get(sample, {"modified_after": (stamps[-1] - timedelta(seconds=1)).isoformat()}).json()
    assert body["total"] == sum(
        a.status == "published" and a.updated_at == stamps[-1] for a in sample.assets
    )
    assert _get(sample, {"modified_after": stamps[-1].isoformat()}).json()["total"] == 0


def test_verified_before(sample: Site) -> None:
    stamps = sorted({a.last_verified_at for a in sample.assets if a.last_verified_at})
    middle = stamps[len(stamps) // 2]
    published = [a for a in sample.assets if a.status == "published"]
    due = [a for a in published if a.last_verified_at is None or a.last_verified_at < middle]
    assert 0 < len(due) < len(published)
    body = _get(sample, {"verified_before": middle.isoformat(), "per_page": 1000}).json()
    assert body["total"] == len(due)
    assert {item["id"] for item in body["items"]} == {a.id for a in due}
    # A naive time is UTC, as for `modified_after`.
    naive = middle.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert _get(sample, {"verified_before": naive}).json()["total"] == len(due)
    _problem(sample.client.get("/assets", params={"verified_before": "last spring"}), 422, None)


@pytest.mark.parametrize("param", ["verified_before", "modified_after"])
@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_that_leaves_the_calendar_in_utc_is_a_clear_422(
    sample: Site, param: str, when: str
) -> None:
    body = _problem(sample.client.get("/assets", params={param: when}), 422, param)
    assert "out of range once put in UTC" in body["detail"]


# --- who sees what ----------------------------------------------------------------------------


def test_status_depends_on_the_caller(sample: Site) -> None:
    drafts = {"status": ["draft", "pending"], "per_page": 1000}
    _problem(sample.client.get("/assets", params=drafts), 401, None)
    _problem(
        sample.client.get("/assets", params=drafts, headers=sample.auth["practitioner"]), 403, None
    )
    hidden = [a for a in sample.assets if a.status in ("draft", "pending")]
    admin = _get(sample, drafts, role="admin").json()
    assert admin["total"] == len(hidden)
    own = _get(sample, drafts, role="organisation").json()
    assert own["total"] == sum(a.organisation_id == sample.org_id for a in hidden) > 0
    assert all(item["organisation_id"] == sample.org_id for item in own["items"])


def test_one_asset_is_hidden_unless_published_or_yours(sample: Site) -> None:
    draft = next(
        a for a in sample.assets if a.status != "published" and a.organisation_id == sample.org_id
    )
    published = next(a for a in sample.assets if a.status == "published")
    got = sample.client.get(f"/assets/{published.id}")
    assert got.status_code == 200 and got.json() == published.model_dump(mode="json")
    _problem(sample.client.get(f"/assets/{draft.id}"), 404, None)
    _problem(
        sample.client.get(f"/assets/{draft.id}", headers=sample.auth["practitioner"]), 404, None
    )
    for role in ("organisation", "admin"):
        assert (
            sample.client.get(f"/assets/{draft.id}", headers=sample.auth[role]).status_code == 200
        )
    _problem(sample.client.get("/assets/no-such-asset"), 404, None)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,60,1,50"}, "bbox"),
        ({"bbox": "-200,50,1,51"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"day": "monday"}, "day"),
        ({"min_age": -1}, "min_age"),
        ({"max_age": 500}, "max_age"),
        ({"min_age": 40, "max_age": 30}, "max_age"),
        ({"free_only": "perhaps"}, "free_only"),
        ({"modified_after": "yesterday"}, "modified_after"),
        ({"category": "no-such-term"}, "category"),
        ({"kind": "castle"}, "kind"),
        ({"near": "53.8"}, "near"),
        ({"near": "53.8,-1.7", "radius_m": 0}, "radius_m"),
        ({"radius_m": 100}, "near"),
        ({"per_page": 1001}, "per_page"),
        ({"page": 0}, "page"),
        ({"format": "xml"}, "format"),
        ({"status": "gone"}, "status"),
        ({"location_precision": "roughly"}, "location_precision"),
    ],
)
def test_bad_parameters_are_problems_naming_them(
    sample: Site, params: dict[str, Any], field: str
) -> None:
    _problem(sample.client.get("/assets", params=params), 422, field)


# --- writing ------------------------------------------------------------------------------


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "group",
        "name": "Thursday Knitters",
        "categories": [TERMS.root],
        "location": {
            "lat": LEEDS[0],
            "lon": LEEDS[1],
            "address": "1 High St",
            "postcode": "LS1 1AA",
        },
        "organisation_id": "org-a",
        "status": "published",
        "sessions": [{"weekdays": ["th"], "start": "10:00", "end": "12:00"}],
    }
    return body | overrides


def test_admin_creates_an_asset(small: Site) -> None:
    response = small.client.post("/assets", json=_body(), headers=small.auth["admin"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/assets/{body['id']}"
    assert body["status"] == "published" and body["version"] == 1
    assert body["likely_duplicates"] == []
    stored = small.store.get_asset(body["id"])
    assert {k: v for k, v in body.items() if k != "likely_duplicates"} == stored.model_dump(
        mode="json"
    )
    assert small.client.get(response.headers["location"]).json()["name"] == "Thursday Knitters"
    assert small.store.list_audit(body["id"]).items[0].action == "create"


def test_a_listing_created_with_an_id_of_its_own_is_found_at_its_location(small: Site) -> None:
    for given in ["knit-club_2.b~c", "K9"]:
        response = small.client.post("/assets", json=_body(id=given), headers=small.auth["admin"])
        assert response.status_code == 201, response.text
        assert response.headers["location"] == f"/assets/{given}"
        assert small.client.get(response.headers["location"]).json()["id"] == given


def test_a_created_listing_starts_confirmed_unless_it_says_otherwise(small: Site) -> None:
    """The portal's rule too: whoever adds a listing vouches that it runs."""
    before = utcnow().replace(microsecond=0)
    fresh = small.client.post("/assets", json=_body(), headers=small.auth["organisation"])
    assert fresh.status_code == 201, fresh.text
    verified = datetime.fromisoformat(fresh.json()["last_verified_at"].replace("Z", "+00:00"))
    assert before <= verified <= utcnow()
    assert not is_stale(small.store.get_asset(fresh.json()["id"]), utcnow())
    given = _body(name="Older Knitters", last_verified_at="2025-01-31T09:00:00Z")
    kept = small.client.post("/assets", json=given, headers=small.auth["admin"]).json()
    assert kept["last_verified_at"] == "2025-01-31T09:00:00Z"
    never = _body(name="Unknown Knitters", last_verified_at=None)
    assert (
        small.client.post("/assets", json=never, headers=small.auth["admin"]).json()[
            "last_verified_at"
        ]
        is None
    )


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_a_nul_character_is_the_same_problem_naming_its_field_on_both_stores(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """PostgreSQL refuses the NUL character in text: these answered 500 on PostGIS, and the
    look-ups 404 on SQLite."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'nul.sqlite'}"
    else:
        request.getfixturevalue("postgis_store")  # an empty database
        url = request.getfixturevalue("postgis_db_url")
    for site in _site(url, sample=False):
        admin = site.auth["admin"]
        location = {**_body()["location"], "address": "1 High St\x00"}
        created = site.client.post("/assets", json=_body(location=location), headers=admin)
        _problem(created, 422, "location.address")
        named = site.client.post("/organisations", json={"name": "Trust\x00"}, headers=admin)
        _problem(named, 422, "name")
        for path, field in [
            ("/assets/a%00b", "asset_id"),
            ("/organisations/a%00b", "org_id"),
            ("/hsds/services/a%00b", "id"),
            ("/assets?text=knit%00", "text"),
            ("/geocode?q=LS1%00", "q"),
        ]:
            _problem(site.client.get(path, headers=admin), 422, field)
        assert site.client.get("/healthz?probe=%00").status_code == 200  # takes no parameters
        assert site.store.count_assets() == 0


def test_organisation_users_assets_start_pending_and_belong_to_them(small: Site) -> None:
    body = _body()
    del body["organisation_id"]
    response = small.client.post("/assets", json=body, headers=small.auth["organisation"])
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["organisation_id"]) == ("pending", "org-a")


def test_create_warns_of_a_likely_duplicate(small: Site) -> None:
    first = small.client.post("/assets", json=_body(), headers=small.auth["admin"]).json()
    moved = {"lat": LEEDS[0] + 0.0003, "lon": LEEDS[1]}
    second = small.client.post(
        "/assets",
        json=_body(name="Thursday Knitters Group", location=moved),
        headers=small.auth["admin"],
    )
    assert second.status_code == 201, second.text  # a warning, not a refusal
    warned = second.json()["likely_duplicates"]
    assert [w["asset_id"] for w in warned] == [first["id"]]
    assert warned[0]["reasons"] and 0 < warned[0]["score"] <= 1


def test_a_listing_at_an_areas_centre_is_found_by_precision_and_warned_of(small: Site) -> None:
    """One listing was placed by typing its area's name; the same group added at its door,
    2 km from that centre, is warned of it, and a search by precision finds the rough pin."""
    centre = {"lat": LEEDS[0], "lon": LEEDS[1], "place": "Leeds", "precision": "area"}
    admin = small.auth["admin"]
    rough = small.client.post("/assets", json=_body(location=centre), headers=admin).json()
    door = {"lat": LEEDS[0] + 0.018, "lon": LEEDS[1], "place": "Leeds"}  # 2.0 km north
    second = small.client.post("/assets", json=_body(location=door), headers=admin)
    assert second.status_code == 201, second.text
    warned = second.json()["likely_duplicates"]
    assert [w["asset_id"] for w in warned] == [rough["id"]]
    assert any("stands at its area's centre" in r for r in warned[0]["reasons"])
    for params, expected in (
        ({"location_precision": ["postcode", "area"]}, [rough["id"]]),
        ({"location_precision": "area", "near": f"{door['lat']},{door['lon']}"}, [rough["id"]]),
        ({"location_precision": "postcode"}, []),
    ):
        query = {**params, "radius_m": 3000} if "near" in params else params
        assert _ids(_get(small, query).json()) == expected, params
    assert second.json()["id"] in _ids(_get(small, {"location_precision": "point"}).json())


def test_create_refusals(small: Site) -> None:
    admin = small.auth["admin"]
    small.client.post("/assets", json=_body(id="fixed-id"), headers=admin)
    _problem(small.client.post("/assets", json=_body(id="fixed-id"), headers=admin), 409, None)
    _problem(
        small.client.post("/assets", json=_body(organisation_id="nobody"), headers=admin),
        422,
        "organisation_id",
    )
    bad_point = _body(location={"lat": 91, "lon": 0})
    _problem(small.client.post("/assets", json=bad_point, headers=admin), 422, "location.lat")
    unknown = _problem(
        small.client.post("/assets", json=_body(categories=["nope"]), headers=admin),
        422,
        "categories",
    )
    # Our check's own words, without pydantic's "Value error, " before them.
    assert unknown["detail"].startswith("`categories`: unknown category id 'nope'")
    _problem(small.client.post("/assets", json=_body(colour="red"), headers=admin), 422, "colour")
    _problem(small.client.post("/assets", json=_body(id="a/b?c#d"), headers=admin), 422, "id")
    _problem(small.client.post("/assets", json=_body()), 401, None)


def test_patch_merges_nested_objects_and_is_audited(small: Site) -> None:
    asset = small.store.create_asset(
        make_asset(
            organisation_id="org-a",
            location={"lat": LEEDS[0], "lon": LEEDS[1], "address": "1 High St"},
        )
    )
    admin = small.auth["admin"]
    response = small.client.patch(
        f"/assets/{asset.id}", json={"location": {"lat": 53.81}, "name": "Renamed"}, headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["location"]["lat"] == 53.81 and body["location"]["address"] == "1 High St"
    assert (body["name"], body["version"]) == ("Renamed", 2)
    entry = small.store.list_audit(asset.id).items[0]
    assert entry.changes["name"] == ["Test Group", "Renamed"]
    # An empty patch changes nothing; fields the store owns and bad values are refused.
    same = small.client.patch(f"/assets/{asset.id}", json={}, headers=admin)
    assert same.status_code == 200 and same.json()["version"] == 2
    _problem(
        small.client.patch(f"/assets/{asset.id}", json={"version": 9}, headers=admin),
        422,
        "version",
    )
    _problem(
        small.client.patch(f"/assets/{asset.id}", json={"location": {"lat": 123}}, headers=admin),
        422,
        "location.lat",
    )
    _problem(
        small.client.patch(f"/assets/{asset.id}", json={"name": None}, headers=admin), 422, "name"
    )
    _problem(small.client.patch("/assets/missing", json={"name": "x"}, headers=admin), 404, None)
    assert small.store.get_asset(asset.id).version == 2


def test_delete_archives(small: Site) -> None:
    asset = small.store.create_asset(make_asset(organisation_id="org-a"))
    response = small.client.delete(f"/assets/{asset.id}", headers=small.auth["organisation"])
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["version"]) == ("archived", 2)
    assert small.store.get_asset(asset.id).status == "archived"
    listed = _get(small, {}).json()
    assert asset.id not in _ids(listed)
    _problem(small.client.delete("/assets/missing", headers=small.auth["admin"]), 404, None)


def test_openapi_documents_the_asset_routes(small: Site) -> None:
    doc = small.client.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/assets"]) == {"get", "post"}
    assert set(paths["/assets/{asset_id}"]) == {"get", "patch", "delete"}
    listing = paths["/assets"]["get"]["responses"]["200"]["content"]
    assert set(listing) == {"application/json", GEOJSON}
    assert listing["application/json"]["schema"] == {"$ref": "#/components/schemas/AssetPage"}
    description = " ".join(p.get("description", "") for p in paths["/assets"]["get"]["parameters"])
    assert "minimum age is unset or at most" in description
    created = paths["/assets"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]
    assert small.client.get("/docs").status_code == 200
