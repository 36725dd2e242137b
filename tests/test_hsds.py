"""The HSDS 3.0 / ORUK 3.0 mapping and the read API under /hsds/.

Mapping tests check hand-worked schedules, costs and ids; API tests run the ORUK validator's
checks (page 1, a middle page and the last page of each list; up to 10 ids fetched through the
item endpoints) against the sample data, validating every response with the compiled HSDS 3.0
schemas offline.
"""

from __future__ import annotations

import socket
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod

from api.app import create_app
from geo_assets import hsds, hsds_validate
from geo_assets.errors import InvalidInputError
from geo_assets.model import (
    Accessibility,
    Asset,
    Contact,
    Cost,
    Eligibility,
    Location,
    Organisation,
    Session,
)
from geo_assets.sample import load_sample, read_sample
from geo_assets.settings import Settings
from geo_assets.store import Store
from geo_assets.store.gazetteer import PostcodePoint, normalise_postcode
from geo_assets.taxonomy import default_taxonomy

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
GEOD = Geod(ellps="WGS84")
ORIGIN = (53.795, -1.752)  # (lat, lon) degrees, central Bradford
# list path -> (page kind, item path, item kind)
LISTS = {
    "/hsds/services": ("service_page", "/hsds/services/{id}", "service"),
    "/hsds/service_at_locations": (
        "service_at_location_page",
        "/hsds/service_at_locations/{id}",
        "service_at_location",
    ),
    "/hsds/organizations": ("organization_page", "/hsds/organizations/{id}", "organization"),
    "/hsds/taxonomies": ("taxonomy_page", "/hsds/taxonomies/{id}", "taxonomy"),
    "/hsds/taxonomy_terms": ("taxonomy_term_page", "/hsds/taxonomy_terms/{id}", "taxonomy_term"),
}


def _asset(**changes: Any) -> Asset:
    base: dict[str, Any] = {
        "id": "0123456789abcdef0123456789abcdef",
        "kind": "group",
        "name": "Knit and natter",
        "description": "Knitting and a chat",
        "categories": ["social"],
        "location": Location(
            lat=53.8, lon=-1.75, address="1 Church Street, Bradford", postcode="BD1 1AA",
            place="Bradford",
        ),
        "status": "published",
    }  # fmt: skip
    base.update(changes)
    return Asset(**base)


# --- mapping --------------------------------------------------------------------------------


def test_first_and_last_monday_is_a_monthly_byday_pair() -> None:
    session = Session(
        weekdays=["mo"], start=time(19), end=time(21), frequency="monthly", weeks_of_month=[1, -1]
    )
    doc = hsds.schedule_doc(session, 0, _asset(sessions=[session]))
    assert doc["freq"] == "MONTHLY"
    assert doc["byday"].split(",") == ["1MO", "-1MO"]
    assert doc["interval"] == 1
    assert (doc["opens_at"], doc["closes_at"]) == ("19:00", "21:00")
    assert doc["description"] == "1st and last Monday of the month 19:00-21:00"
    assert "dtstart" not in doc
    hsds.validate_hsds("service", hsds.service_doc(_asset(sessions=[session]), None))


def test_fortnightly_is_weekly_with_interval_two_and_a_phase() -> None:
    # Valid from Wednesday 4 March 2026; fortnights count from Monday 2 March, so the
    # Tuesday of that week (3 March) is before the start and the first one is 17 March.
    session = Session(
        weekdays=["tu"], start=time(10), end=time(12), frequency="fortnightly",
        valid_from=date(2026, 3, 4), valid_to=date(2026, 12, 31),
    )  # fmt: skip
    doc = hsds.schedule_doc(session, 0, _asset(sessions=[session]))
    assert (doc["freq"], doc["interval"], doc["byday"]) == ("WEEKLY", 2, "TU")
    assert doc["dtstart"] == "2026-03-17"
    assert (doc["valid_from"], doc["valid_to"]) == ("2026-03-04", "2026-12-31")
    # With no valid_from the phase comes from the anchor Monday, 5 January 2026.
    anchored = Session(weekdays=["tu"], start=time(10), end=time(12), frequency="fortnightly")
    assert hsds.schedule_doc(anchored, 0, _asset())["dtstart"] == "2026-01-06"


def test_weekly_sessions_list_their_days() -> None:
    session = Session(weekdays=["th", "tu"], start=time(9, 30), end=time(11))
    doc = hsds.schedule_doc(session, 2, _asset())
    assert (doc["freq"], doc["interval"], doc["byday"]) == ("WEEKLY", 1, "TU,TH")
    assert doc["opens_at"] == "09:30"
    assert doc["id"] == hsds.sub_id(hsds.service_uuid(_asset()), "schedule/2")


def test_costs() -> None:
    free = hsds.service_doc(_asset(), None)
    assert free["cost_options"][0]["amount"] == 0
    assert free["cost_options"][0]["option"] == "Free"
    assert free["fees_description"] == "Free"
    paid = hsds.service_doc(_asset(cost=Cost(amount=2.5, concessions="£1 for carers")), None)
    option = paid["cost_options"][0]
    assert (option["amount"], option["currency"], option["option"]) == (2.5, "GBP", "per session")
    assert option["amount_description"] == "Concessions: £1 for carers"
    assert paid["fees_description"] == "£2.50 per session; concessions: £1 for carers"
    unknown = hsds.service_doc(_asset(cost=Cost(amount=None)), None)
    assert unknown["cost_options"] == []
    assert "fees_description" not in unknown


def test_eligibility_contacts_languages_and_categories() -> None:
    asset = _asset(
        eligibility=Eligibility(min_age=18, max_age=65, gender="women", groups=["carers"]),
        contact=Contact(name="Ann", email="ann@example.org", phone="01632 960000"),
        languages=["en", "ur"],
        categories=["social.coffee-mornings"],
    )
    doc = hsds.service_doc(asset, None)
    assert (doc["minimum_age"], doc["maximum_age"]) == (18, 65)
    assert doc["eligibility_description"] == "Ages 18 to 65. Women only. For carers."
    assert doc["email"] == "ann@example.org"
    assert doc["contacts"][0]["name"] == "Ann"
    assert doc["contacts"][0]["phones"][0]["number"] == "01632 960000"
    assert doc["phones"][0]["number"] == "01632 960000"
    assert [(lang["code"], lang["name"]) for lang in doc["languages"]] == [
        ("en", "English"), ("ur", "Urdu"),
    ]  # fmt: skip
    (attribute,) = doc["attributes"]
    assert attribute["taxonomy_term"]["code"] == "social.coffee-mornings"
    assert attribute["taxonomy_term_id"] == hsds.term_uuid("social.coffee-mornings")
    assert attribute["link_id"] == doc["id"]
    hsds.validate_hsds("service", doc)


def test_children_who_come_with_carers_are_said_in_the_eligibility_description() -> None:
    asset = _asset(eligibility=Eligibility(min_age=0, max_age=4, with_carers=True))
    doc = hsds.service_doc(asset, None)
    assert (doc["minimum_age"], doc["maximum_age"]) == (0, 4)
    assert doc["eligibility_description"] == (
        "Ages 0 to 4. Children come with a parent or carer, who joins in."
    )
    hsds.validate_hsds("service", doc)


def test_location_address_and_accessibility() -> None:
    asset = _asset(accessibility=Accessibility(features=["wheelchair", "hearing_loop"]))
    location = hsds.service_doc(asset, None)["service_at_locations"][0]["location"]
    assert (location["latitude"], location["longitude"]) == (53.8, -1.75)
    (address,) = location["addresses"]
    assert (address["address_1"], address["city"], address["postal_code"]) == (
        "1 Church Street", "Bradford", "BD1 1AA",
    )  # fmt: skip
    assert address["country"] == "GB"
    assert [a["description"] for a in location["accessibility"]] == [
        "Hearing loop", "Wheelchair accessible",
    ]  # fmt: skip


def test_organisation_and_taxonomy_documents_validate() -> None:
    org = Organisation(id="org-1", name="Friends of the Park", phone="01632 960001")
    doc = hsds.organization_doc(org)
    assert doc["id"] == hsds.hsds_id("organization", "org-1")
    assert doc["phones"][0]["number"] == "01632 960001"
    hsds.validate_hsds("organization", doc)
    hsds.validate_hsds("organization_list", hsds.organization_doc(org, full=False))
    hsds.validate_hsds("taxonomy", hsds.taxonomy_doc())
    taxonomy = default_taxonomy()
    child = taxonomy.get("social.coffee-mornings")
    term = hsds.taxonomy_term_doc(child)
    assert term["code"] == "social.coffee-mornings"
    assert term["parent_id"] == hsds.term_uuid("social")
    assert "coffee morning" in term["description"]
    assert "parent_id" not in hsds.taxonomy_term_doc(taxonomy.get("social"))
    hsds.validate_hsds("taxonomy_term", term)


def test_ids_are_uuids_stable_and_reversible() -> None:
    hex_id = "0123456789abcdef0123456789abcdef"
    assert hsds.hsds_id("service", hex_id) == "01234567-89ab-cdef-0123-456789abcdef"
    assert hsds.our_id_from_hsds("01234567-89ab-cdef-0123-456789abcdef") == hex_id
    derived = hsds.hsds_id("service", "a0")
    assert derived == hsds.hsds_id("service", "a0") != hsds.hsds_id("organization", "a0")
    assert uuid.UUID(derived).version == 5 and hsds.is_derived_id(derived)
    for asset in (_asset(), _asset(id="a0")):
        sal = hsds.service_at_location_uuid(asset)
        assert sal != hsds.service_uuid(asset)
        assert uuid.UUID(sal).version == uuid.UUID(hsds.service_uuid(asset)).version
        assert hsds.service_uuid_from_sal(sal) == hsds.service_uuid(asset)
    assert hsds.term_from_hsds(hsds.term_uuid("nature")).id == "nature"  # type: ignore[union-attr]
    assert hsds.term_from_hsds("nature").id == "nature"  # type: ignore[union-attr]
    assert hsds.term_from_hsds(str(uuid.uuid4())) is None


def test_service_query_follows_oruk_semantics() -> None:
    tue = Session(weekdays=["tu"], start=time(10), end=time(12))
    adults = _asset(eligibility=Eligibility(min_age=18), sessions=[tue])
    anyone = _asset(sessions=[tue])
    assert hsds.ServiceQuery(minimum_age=18).matches(adults)
    assert not hsds.ServiceQuery(minimum_age=18).matches(anyone)
    assert not hsds.ServiceQuery(maximum_age=65).matches(adults)  # no stated maximum
    assert hsds.ServiceQuery(day="tu", start_time=time(10), end_time=time(12)).matches(anyone)
    assert not hsds.ServiceQuery(day="tu", start_time=time(10, 30)).matches(anyone)
    assert not hsds.ServiceQuery(day="we").matches(anyone)
    assert not hsds.ServiceQuery(day="tu").matches(_asset())  # no sessions at all
    assert [hsds.parse_day(d) for d in ("TU", "tue", "Tuesday")] == ["tu"] * 3
    with pytest.raises(InvalidInputError, match="`day`"):
        hsds.parse_day("someday")


class _Postcodes:
    """A postcode table of one postcode."""

    def find_postcode(self, postcode: str) -> PostcodePoint | None:
        code = normalise_postcode(postcode)
        if code == "BD1 1QY":
            return PostcodePoint(code, 53.802662, -1.750471)
        return PostcodePoint("BD1", 53.8, -1.75, exact=False) if code == "BD1" else None


def test_locate_reads_lat_lon_and_the_postcode_table() -> None:
    table = _Postcodes()
    assert hsds.locate(" 53.795 , -1.752 ", None) == (53.795, -1.752)
    assert hsds.locate("bd11qy", table) == (53.802662, -1.750471)
    assert hsds.locate("BD1", table) == (53.8, -1.75)  # a district's centroid
    assert hsds.locate("BD1 1AA", table) is None
    assert hsds.locate("BD1 1QY", None) is None  # no table, no postcodes
    assert hsds.locate("Bradford", table) is None  # a place name is not a postcode
    with pytest.raises(InvalidInputError, match="`postcode`"):
        hsds.locate("95,0", table)


def test_envelope_of_an_empty_result() -> None:
    assert hsds.page_envelope([], total=0, page=1, per_page=10) == {
        "total_items": 0, "total_pages": 0, "page_number": 1, "size": 0, "first_page": True,
        "last_page": True, "empty": True, "contents": [],
    }  # fmt: skip


def test_validation_names_what_is_wrong() -> None:
    with pytest.raises(hsds.HSDSValidationError) as caught:
        hsds.validate_hsds("service", {"id": "not-a-uuid", "name": "x"})
    messages = " ".join(caught.value.errors)
    assert "'status' is a required property" in messages
    assert "$.id" in messages
    bad_page = {"total_items": 1, "contents": [{"id": str(uuid.uuid4())}]}
    errors = hsds.hsds_errors("service_page", bad_page)
    assert any("'page_number' is a required property" in e for e in errors)
    assert any(e.startswith("$.contents[0]") for e in errors)
    with pytest.raises(InvalidInputError, match="`kind`"):
        hsds.validate_hsds("castle", {})


def test_validation_never_uses_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    hsds_validate._retrieve.cache_clear()
    hsds_validate._validator.cache_clear()
    hsds.validate_hsds("service_page", hsds.page_envelope([], total=0, page=1, per_page=5))
    hsds.validate_hsds("organization", hsds.organization_doc(Organisation(name="X")))
    with pytest.raises(Exception, match="example.org"):
        hsds_validate._retrieve("https://example.org/schema.json")


# --- the API over the sample data -----------------------------------------------------------


@pytest.fixture(scope="module")
def sample_url(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> str:
    return sample_sqlite(tmp_path_factory.mktemp("hsds"))


@pytest.fixture(scope="module")
def client(sample_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sample_url))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sample_assets() -> list[Asset]:
    return list(read_sample()[1])


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    body: dict[str, Any] = response.json()
    return body


def _check_envelope(body: dict[str, Any], *, page: int, per_page: int) -> None:
    total = body["total_items"]
    assert body["total_pages"] == -(-total // per_page)
    assert body["page_number"] == page
    assert body["size"] == len(body["contents"])
    assert body["first_page"] is (page == 1)
    assert body["last_page"] is (page >= body["total_pages"])
    assert body["empty"] is (not body["contents"])
    expected = max(0, min(per_page, total - (page - 1) * per_page))
    assert len(body["contents"]) == expected


def _all_ids(client: TestClient, path: str, **params: Any) -> set[str]:
    body = _get(client, path, per_page=1000, **params)
    assert body["total_pages"] <= 1
    return {row["id"] for row in body["contents"]}


def test_version_info_points_at_our_openapi(client: TestClient) -> None:
    body = _get(client, "/hsds/")
    assert body["version"] == "3.0"
    assert body["profile"].startswith("https://")
    assert body["openapi_url"].startswith("http://testserver/")
    openapi = client.get(body["openapi_url"].removeprefix("http://testserver")).json()
    assert {"/hsds/services", "/hsds/service_at_locations/{id}"} <= set(openapi["paths"])


@pytest.mark.parametrize("path", list(LISTS))
def test_oruk_validator_checks(client: TestClient, path: str) -> None:
    page_kind, item_path, item_kind = LISTS[path]
    per_page = 25
    first = _get(client, path, per_page=per_page)
    last_page = max(1, first["total_pages"])
    pages = {1: first}
    for number in sorted({(1 + last_page) // 2, last_page} - {1}):
        pages[number] = _get(client, path, per_page=per_page, page=number)
    for number, body in pages.items():
        hsds.validate_hsds(page_kind, body)
        _check_envelope(body, page=number, per_page=per_page)
    ids = [row["id"] for body in pages.values() for row in body["contents"]][:10]
    assert ids
    for ident in ids:
        item = _get(client, item_path.format(id=ident))
        assert item["id"] == ident
        hsds.validate_hsds(item_kind, item)


def test_full_lists_hold_nested_records(client: TestClient) -> None:
    for path, item_kind in (("/hsds/services", "service"),
                            ("/hsds/service_at_locations", "service_at_location")):  # fmt: skip
        body = _get(client, path, full="true", per_page=20, page=3)
        hsds.validate_hsds(LISTS[path][0], body)
        for row in body["contents"]:
            hsds.validate_hsds(item_kind, row)
            assert "schedules" in row


def test_lists_page_through_every_published_service_once(
    client: TestClient, sample_assets: list[Asset]
) -> None:
    published = {hsds.service_uuid(a) for a in sample_assets if a.status == "published"}
    seen: list[str] = []
    first = _get(client, "/hsds/services", per_page=400)
    for page in range(1, first["total_pages"] + 1):
        seen += [s["id"] for s in _get(client, "/hsds/services", per_page=400, page=page)[
            "contents"]]  # fmt: skip
    assert first["total_items"] == len(published) == len(seen)
    assert set(seen) == published
    beyond = _get(client, "/hsds/services", per_page=400, page=first["total_pages"] + 1)
    _check_envelope(beyond, page=first["total_pages"] + 1, per_page=400)
    assert beyond["empty"] and beyond["last_page"]


def test_unpublished_assets_stay_hidden(client: TestClient, sample_assets: list[Asset]) -> None:
    hidden = next(a for a in sample_assets if a.status != "published")
    for path in (f"/hsds/services/{hsds.service_uuid(hidden)}",
                 f"/hsds/service_at_locations/{hsds.service_at_location_uuid(hidden)}",
                 f"/hsds/services/{hidden.id}"):  # fmt: skip
        assert client.get(path).status_code == 404


def test_item_endpoints_accept_our_own_ids_too(
    client: TestClient, sample_assets: list[Asset]
) -> None:
    asset = next(a for a in sample_assets if a.status == "published")
    assert _get(client, f"/hsds/services/{asset.id}")["id"] == hsds.service_uuid(asset)
    term = _get(client, "/hsds/taxonomy_terms/nature.gardening")
    assert term["code"] == "nature.gardening"


def test_records_with_non_hex_ids_are_found_by_their_uuid5(sqlite_store: Store) -> None:
    org = sqlite_store.create_organisation(Organisation(id="friends-1", name="Friends"))
    asset = sqlite_store.create_asset(_asset(id="club-1", organisation_id=org.id))
    with TestClient(create_app(Settings(database_url=sqlite_store.url))) as local:
        service = _get(local, f"/hsds/services/{hsds.service_uuid(asset)}")
        assert service["id"] == hsds.hsds_id("service", "club-1")
        assert service["organization"]["id"] == hsds.hsds_id("organization", "friends-1")
        sal = _get(local, f"/hsds/service_at_locations/{hsds.service_at_location_uuid(asset)}")
        assert sal["service_id"] == service["id"]
        org_doc = _get(local, f"/hsds/organizations/{service['organization']['id']}")
        assert [s["id"] for s in org_doc["services"]] == [service["id"]]
        hsds.validate_hsds("organization", org_doc)


@pytest.mark.parametrize("path", [item for _, item, _ in LISTS.values()])
@pytest.mark.parametrize("ident", ["342b24a7-b56d-4d83-8386-7c7fbbaef4a1", "no-such-thing"])
def test_unknown_ids_are_404_problems(client: TestClient, path: str, ident: str) -> None:
    response = client.get(path.format(id=ident))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["status"] == 404


def test_cors_header_only_under_hsds(client: TestClient) -> None:
    assert client.get("/hsds/taxonomies").headers["access-control-allow-origin"] == "*"
    bad = client.get("/hsds/services", params={"per_page": 0})
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in client.get("/healthz").headers


def test_parameters_combine_with_and(client: TestClient) -> None:
    term = hsds.term_uuid("social")
    by_term = _all_ids(client, "/hsds/services", taxonomy_term_id=term)
    by_text = _all_ids(client, "/hsds/services", search="community")
    by_day = _all_ids(client, "/hsds/services", day="TU")
    adults = _all_ids(client, "/hsds/services", minimum_age=18)
    assert by_term and by_text and by_day and adults
    both = _all_ids(client, "/hsds/services", taxonomy_term_id=term, search="community")
    assert both == by_term & by_text
    assert _all_ids(client, "/hsds/services", day="TU", minimum_age=18) == by_day & adults
    three = _all_ids(client, "/hsds/services", taxonomy_term_id=term, day="tu", minimum_age=18)
    assert three == by_term & by_day & adults
    # Our dotted code works as the term id too.
    assert _all_ids(client, "/hsds/services", taxonomy_term_id="social") == by_term


def test_python_filters_keep_paging_totals_exact(
    client: TestClient, sample_assets: list[Asset]
) -> None:
    query = hsds.ServiceQuery(day="mo", start_time=time(18))
    expected = [a for a in sample_assets if a.status == "published" and query.matches(a)]
    first = _get(client, "/hsds/services", day="Monday", start_time="18:00", per_page=7)
    assert first["total_items"] == len(expected) > 7
    last = _get(client, "/hsds/services", day="Monday", start_time="18:00", per_page=7,
                page=first["total_pages"])  # fmt: skip
    _check_envelope(last, page=first["total_pages"], per_page=7)
    hsds.validate_hsds("service_page", last)


def test_modified_after_means_on_or_after(client: TestClient) -> None:
    newest = max(
        s["last_modified"] for s in _get(client, "/hsds/services", per_page=1000)["contents"]
    )
    stamp = datetime.fromisoformat(newest.replace("Z", "+00:00"))
    assert _get(client, "/hsds/services", modified_after=newest)["total_items"] >= 1
    later = (stamp + timedelta(seconds=1)).isoformat()
    assert _get(client, "/hsds/services", modified_after=later)["total_items"] == 0
    assert _get(client, "/hsds/services", modified_after="2000-01-01T00:00:00")["total_items"]


def test_service_at_locations_near_a_point(client: TestClient) -> None:
    params = {"postcode": f"{ORIGIN[0]},{ORIGIN[1]}", "proximity": 1500, "per_page": 1000}
    body = _get(client, "/hsds/service_at_locations", **params)
    hsds.validate_hsds("service_at_location_page", body)
    assert body["total_items"] > 0
    distances = []
    for row in body["contents"]:
        loc = row["location"]
        _, _, metres = GEOD.inv(ORIGIN[1], ORIGIN[0], loc["longitude"], loc["latitude"])
        distances.append(metres)
    assert max(distances) <= 1500.5
    assert distances == sorted(distances)
    by_postcode = {**params, "postcode": "bd1 1qy"}  # a sample postcode, any case and spacing
    around = _get(client, "/hsds/service_at_locations", **by_postcode)
    assert around == _get(
        client, "/hsds/service_at_locations", **by_postcode | {"postcode": "53.802662,-1.750471"}
    )
    assert around["total_items"] > 0
    narrowed = _get(client, "/hsds/service_at_locations", **params, search="club")
    names = [row["service"]["name"].casefold() for row in narrowed["contents"]]
    assert 0 < len(names) < body["total_items"]
    assert {row["id"] for row in narrowed["contents"]} <= {row["id"] for row in body["contents"]}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"postcode": "BD1 1AA"}, 400, "postcode"),
        ({"postcode": "95,0"}, 422, "postcode"),
        ({"proximity": 100}, 422, "proximity"),
        ({"postcode": "53.8,-1.75", "proximity": -5}, 422, "proximity"),
        ({"day": "someday"}, 422, "day"),
        ({"start_time": "25:00"}, 422, "start_time"),
        ({"minimum_age": "old"}, 422, "minimum_age"),
        ({"modified_after": "yesterday"}, 422, "modified_after"),
        ({"per_page": 5000}, 422, "per_page"),
        ({"modified_after": "0001-01-01T00:00:00"}, 422, "modified_after"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    client: TestClient, params: dict[str, Any], status: int, field: str
) -> None:
    response = client.get("/hsds/service_at_locations", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert (body["status"], body["field"]) == (status, field)


def test_unknown_filters_match_nothing(client: TestClient) -> None:
    for params in ({"taxonomy_term_id": str(uuid.uuid4())}, {"taxonomy_id": "other"},
                   {"organization_id": str(uuid.uuid4())}):  # fmt: skip
        body = _get(client, "/hsds/services", **params)
        assert (body["total_items"], body["empty"]) == (0, True)
        hsds.validate_hsds("service_page", body)


def test_organisation_lists_its_published_services(
    client: TestClient, sample_assets: list[Asset]
) -> None:
    org_id = next(a.organisation_id for a in sample_assets if a.organisation_id)
    assert org_id is not None
    ours = {hsds.service_uuid(a) for a in sample_assets
            if a.organisation_id == org_id and a.status == "published"}  # fmt: skip
    uid = hsds.hsds_id("organization", org_id)
    doc = _get(client, f"/hsds/organizations/{uid}", full_service="true")
    hsds.validate_hsds("organization", doc)
    assert {s["id"] for s in doc["services"]} == ours
    assert _all_ids(client, "/hsds/services", organization_id=uid) == ours


def test_taxonomy_term_filters(client: TestClient) -> None:
    top = _get(client, "/hsds/taxonomy_terms", top_only="true", per_page=1000)
    assert {t["code"] for t in top["contents"]} == {t.id for t in default_taxonomy().roots()}
    children = _get(client, "/hsds/taxonomy_terms", parent_id=hsds.term_uuid("nature"))
    assert children["contents"] and all(
        t["parent_id"] == hsds.term_uuid("nature") for t in children["contents"]
    )
    found = _get(client, "/hsds/taxonomy_terms", search="allotment")
    assert "nature.gardening.allotments" in {t["code"] for t in found["contents"]}


# --- PostGIS --------------------------------------------------------------------------------


@pytest.mark.postgis
def test_lists_validate_on_postgis(postgis_store: Store, postgis_db_url: str) -> None:
    load_sample(postgis_store)
    with TestClient(create_app(Settings(database_url=postgis_db_url))) as pg:
        for path in ("/hsds/services", "/hsds/service_at_locations", "/hsds/organizations"):
            page_kind, item_path, item_kind = LISTS[path]
            first = _get(pg, path, per_page=100)
            last = _get(pg, path, per_page=100, page=first["total_pages"])
            for number, body in ((1, first), (first["total_pages"], last)):
                hsds.validate_hsds(page_kind, body)
                _check_envelope(body, page=number, per_page=100)
            ident = first["contents"][0]["id"]
            hsds.validate_hsds(item_kind, _get(pg, item_path.format(id=ident)))
        near = _get(pg, "/hsds/service_at_locations", postcode=f"{ORIGIN[0]},{ORIGIN[1]}",
                    proximity=1500, day="tu")  # fmt: skip
        hsds.validate_hsds("service_at_location_page", near)
        assert near["total_items"] > 0
        assert _get(pg, "/hsds/services")["total_items"] == 1889
