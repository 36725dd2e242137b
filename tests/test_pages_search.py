"""The practitioner's search pages over HTTP (no browser): who may use them, what the form
does with good and bad input, and that the page ranks exactly as the matching engine does."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web import SESSION_COOKIE
from geo_assets.auth import User, authenticate, issue_token, parse_token
from geo_assets.errors import AuthenticationRequired
from geo_assets.matching import match
from geo_assets.model import Profile, utcnow
from geo_assets.settings import Settings
from geo_assets.store import AssetFilters, Store, open_store
from geo_assets.widen import InterestSplit, SearchAgain, reasons_under_summary
from maps.assets import MapSettings, missing_files

SAME_SITE = {"origin": "http://testserver"}
PLACE = "Manningham"
FORM = {
    "where": PLACE,
    "interests": "gardening, singing",
    "mode": ["walk", "public_transport"],
    "minutes_walk": "20",
    "minutes_public_transport": "30",
    "free": "tue 09:00-13:00; thu",
    "budget": "any",
    "limit": "10",
}
PLAN_ID = re.compile(r'name="plan_asset" value="([^"]+)"')


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> Iterator[tuple[TestClient, Store, dict]]:
    """The app over a sample store, that store, and a token per role."""
    if missing_files(MapSettings().static_dir):
        pytest.skip("map assets missing: run scripts/ensure_assets.sh")
    url = sample_sqlite(tmp_path_factory.mktemp("pages"))
    store = open_store(url)
    org = store.list_organisations(per_page=1).items[0]
    tokens = {}
    for role in ("practitioner", "organisation", "planner", "admin"):
        user = store.create_user(
            User(
                name=f"{role} user",
                role=role,
                organisation_id=org.id if role == "organisation" else None,
            )
        )
        tokens[role] = issue_token(store, user.id)
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield client, store, tokens
    store.close()


def _post_token(client: TestClient, token: str) -> httpx.Response:
    return client.post("/sign-in", data={"token": token}, headers=SAME_SITE, follow_redirects=False)


def _signed_in(site, role: str) -> TestClient:
    client, _, tokens = site
    client.cookies.clear()
    assert _post_token(client, tokens[role]).status_code == 303
    return client


def test_search_needs_a_practitioner(site) -> None:
    client, _, _ = site
    client.cookies.clear()
    anonymous = client.get("/search", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/sign-in")
    assert (
        client.post("/search", data=FORM, headers=SAME_SITE, follow_redirects=False).status_code
        == 303
    )
    _signed_in(site, "organisation")
    assert client.get("/search").status_code == 403
    _signed_in(site, "practitioner")
    assert client.get("/search").status_code == 200
    _signed_in(site, "admin")
    assert client.get("/search").status_code == 200


def test_signing_in_lands_on_the_roles_home_and_refuses_bad_tokens(site) -> None:
    client, _, tokens = site
    client.cookies.clear()
    for role, home in (("practitioner", "/search"), ("planner", "/planner")):
        got = _post_token(client, tokens[role])
        assert got.headers["location"] == home
        cookie = got.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
    bad = client.post("/sign-in", data={"token": "ga_0123456789abcdef_nope"}, headers=SAME_SITE)
    assert bad.status_code == 401 and "not accepted" in bad.text
    # A page asked for before signing in is where the sign-in goes next; other sites are not.
    client.cookies.clear()
    client.get("/search/plan", follow_redirects=False)
    client.get("/search", follow_redirects=False)
    assert _post_token(client, tokens["practitioner"]).headers["location"] == "/search"
    client.cookies.set("ga_next", "//elsewhere.example/x")
    assert _post_token(client, tokens["practitioner"]).headers["location"] == "/search"


def test_a_session_has_its_own_token_which_signing_out_ends(site) -> None:
    """The cookie holds a token of the browser's own, not the pasted one: a copied cookie
    is no lasting key to the API, and signing out ends it. The user's token lives on."""
    client, store, tokens = site
    client.cookies.clear()
    _post_token(client, tokens["practitioner"])
    session = client.cookies.get(SESSION_COOKIE)
    assert session and session != tokens["practitioner"]
    record = store.find_token(parse_token(session)[0])
    assert record is not None and record.expires_at is not None
    assert client.get("/search", follow_redirects=False).status_code == 200
    out = client.post("/sign-out", headers=SAME_SITE, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set(SESSION_COOKIE, session)  # the cookie, kept or copied
    assert client.get("/search", follow_redirects=False).status_code == 303
    with pytest.raises(AuthenticationRequired, match="revoked"):
        authenticate(store, session)
    assert authenticate(store, tokens["practitioner"]).role == "practitioner"
    client.cookies.clear()


def test_a_session_cannot_start_another_and_signing_in_again_ends_the_last(site) -> None:
    """A copied cookie may not renew itself (a session's token signs nobody in), and a
    browser signing in again leaves no earlier session alive."""
    client, store, tokens = site
    client.cookies.clear()
    _post_token(client, tokens["practitioner"])
    first = client.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    renewed = _post_token(client, first)
    assert renewed.status_code == 401 and client.cookies.get(SESSION_COOKIE) is None
    client.cookies.set(SESSION_COOKIE, first)
    again = _post_token(client, tokens["practitioner"])  # again, in the same browser
    second = again.cookies.get(SESSION_COOKIE)
    assert second and second != first
    with pytest.raises(AuthenticationRequired, match="revoked"):
        authenticate(store, first)
    assert authenticate(store, second).role == "practitioner"
    client.cookies.clear()


def test_a_token_that_ends_signs_in_and_revoking_it_ends_its_sessions(site) -> None:
    """An API token an administrator gave an end date is still the user's own; revoking
    a token (say, one that leaked) ends the web sessions signed in with it."""
    client, store, tokens = site
    user_id = authenticate(store, tokens["practitioner"]).id
    ending = issue_token(store, user_id, expires_at=utcnow() + timedelta(days=30))
    client.cookies.clear()
    assert _post_token(client, ending).status_code == 303
    session = client.cookies.get(SESSION_COOKIE)
    record = store.find_token(parse_token(session)[0])
    assert record is not None and (record.kind, record.parent_id) == (
        "session",
        parse_token(ending)[0],
    )
    assert client.get("/search", follow_redirects=False).status_code == 200
    assert store.revoke_token(parse_token(ending)[0]) is True
    assert client.get("/search", follow_redirects=False).status_code == 303
    client.cookies.clear()
    refused = _post_token(client, ending)
    assert refused.status_code == 401 and client.cookies.get(SESSION_COOKIE) is None
    assert authenticate(store, tokens["practitioner"]).role == "practitioner"
    client.cookies.clear()


def test_a_session_and_its_cookie_end_with_the_token_that_signed_in(site) -> None:
    client, store, tokens = site
    user_id = authenticate(store, tokens["practitioner"]).id
    ends = utcnow() + timedelta(minutes=2)
    brief = issue_token(store, user_id, expires_at=ends)
    client.cookies.clear()
    got = _post_token(client, brief)
    assert got.status_code == 303
    max_age = int(re.search(r"max-age=(\d+)", got.headers["set-cookie"], re.I).group(1))
    assert 60 < max_age <= 120
    session = store.find_token(parse_token(client.cookies.get(SESSION_COOKIE))[0])
    assert session is not None and session.expires_at == ends.replace(microsecond=0)
    client.cookies.clear()


def test_signing_out_revokes_only_a_session_that_proves_itself(site) -> None:
    """A cookie made up to name someone's token, or one holding a user's own API token
    (as cookies did before sessions had tokens), revokes nothing."""
    client, store, tokens = site
    token_id = parse_token(tokens["planner"])[0]
    for cookie in (f"ga_{token_id}_{'x' * 43}", tokens["planner"]):
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, cookie)
        client.post("/sign-out", headers=SAME_SITE, follow_redirects=False)
        assert authenticate(store, tokens["planner"]).role == "planner"
    client.cookies.clear()


def test_the_front_door_is_the_directory_map(site) -> None:
    client, _, _ = site
    response = client.get("/", follow_redirects=False)
    assert response.headers["location"] == "/map"


def test_a_garbled_session_cookie_means_signed_out(site) -> None:
    client, _, _ = site
    client.cookies.clear()
    client.cookies.set("ga_session", "ga_not-a-token")
    assert client.get("/search", follow_redirects=False).status_code == 303
    client.cookies.clear()


def test_forms_from_other_sites_are_refused(site) -> None:
    client = _signed_in(site, "practitioner")
    assert client.post("/search", data=FORM).status_code == 403  # no Origin or Referer
    foreign = {"origin": "http://elsewhere.example"}
    assert client.post("/search", data=FORM, headers=foreign).status_code == 403
    referer = {"referer": "http://testserver/search"}
    assert client.post("/search", data=FORM, headers=referer).status_code == 200


def test_results_rank_as_the_matching_engine_does(site) -> None:
    client = _signed_in(site, "practitioner")
    response = client.post("/search", data=FORM, headers=SAME_SITE)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    shown = PLAN_ID.findall(response.text)
    _, store, _ = site
    lat, lon = _place(store)
    profile = Profile.model_validate(
        {
            "origin": {"lat": lat, "lon": lon},
            "interests": ["gardening", "singing"],
            "travel": [
                {"mode": "walk", "max_minutes": 20},
                {"mode": "public_transport", "max_minutes": 30},
            ],
            "availability": ["tue 09:00-13:00", "thu"],
        }
    )
    ranked = match(store, profile, limit=10)
    assert shown == [m.asset.id for m in ranked] and len(shown) == 10
    # Each result gives every reason the engine gave, in its order: the ones that
    # come last (who may come, access, a supporter welcome) are often the deciding ones.
    lists = re.findall(r'<ul class="reasons">(.*?)</ul>', response.text, re.S)
    said = [[html.unescape(r) for r in re.findall(r"<li>(.*?)</li>", ul, re.S)] for ul in lists]
    assert said == [m.reasons for m in ranked]
    assert max(len(m.reasons) for m in ranked) > 4
    assert "Starting from Manningham" in response.text


def _place(store: Store) -> tuple[float, float]:
    from geo_assets.geocode import Geocoder

    best = Geocoder(postcodes=store, places=store).geocode(PLACE, limit=1)[0]
    return best.lat, best.lon


def test_every_example_the_form_gives_is_found_in_the_demo(site) -> None:
    """A practitioner trying the hint's own examples must get results, not an error."""
    client = _signed_in(site, "practitioner")
    hint = re.search(r'id="where-hint">For example ([^.]+)\.', client.get("/search").text)
    assert hint is not None
    examples = re.split(r", | or ", hint.group(1))
    assert len(examples) == 3, examples
    for example in examples:
        response = client.post("/search", data={**FORM, "where": example}, headers=SAME_SITE)
        assert response.status_code == 200, example
        assert f"Starting from {example}" in response.text, example


def test_a_map_point_wins_over_the_place_and_the_form_is_kept(site) -> None:
    client = _signed_in(site, "practitioner")
    form = {**FORM, "where": "", "lat": "53.80", "lon": "-1.76", "age": "34"}
    response = client.post("/search", data=form, headers=SAME_SITE)
    assert response.status_code == 200
    assert "point chosen on the map" in response.text
    assert 'value="gardening, singing"' in response.text
    assert 'id="age" name="age" min="0" max="120" step="1" value="34"' in response.text


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"where": ""}, "where", "Enter a postcode or place"),
        ({"where": "Qwertyuiopville"}, "where", "No postcode or place"),
        ({"where": "", "lat": "95", "lon": "-1.7"}, "where", "90"),
        ({"where": "", "lat": "53.8", "lon": ""}, "where", "both latitude and longitude"),
        ({"mode": []}, "travel", "at least one way"),
        ({"minutes_walk": "abc"}, "travel", "must be a number"),
        ({"minutes_walk": "500"}, "travel", "240"),
        ({"free": "blursday"}, "free", "blursday"),
        ({"budget": "max", "max_cost": ""}, "budget", "most the person can pay"),
        ({"age": "old"}, "age", "must be a number"),
        ({"age": "150"}, "age", "120"),
    ],
)
def test_bad_input_is_named_beside_its_field(site, change, field, words) -> None:
    client = _signed_in(site, "practitioner")
    response = client.post("/search", data={**FORM, **change}, headers=SAME_SITE)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', response.text, re.S)
    assert error, response.text[:2000]
    assert words in html.unescape(error.group(1))
    assert not PLAN_ID.findall(response.text)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"minutes_walk": "0"}, "Walking minutes: input should be greater than 0"),
        ({"mode": ["walk", "car"], "minutes_car": "0"}, "By car (driven) minutes:"),
        ({"budget": "max", "max_cost": "-3"}, "Most per session: input should be greater"),
        ({"age": "-1"}, "Age: input should be greater than or equal to 0"),
        ({"where": "", "lat": "91", "lon": "-1.7"}, "Latitude: input should be less than"),
        ({"gender": "other"}, "Gender: input should be 'women' or 'men'"),
        ({"pref": "x"}, "Preferences: 'x' is not one of the choices"),
    ],
)
def test_the_summary_says_which_field_each_message_is_about(site, change, said) -> None:
    """The summary at the top lists messages apart from their fields: each must name its
    own ("Age: ...", not an "Input should be ..." that could be about anything)."""
    client = _signed_in(site, "practitioner")
    response = client.post("/search", data={**FORM, **change}, headers=SAME_SITE)
    assert response.status_code == 422
    summary = re.search(r'id="error-summary-title">.*?</ul>', response.text, re.S)
    assert summary, response.text[:2000]
    assert said in html.unescape(summary.group(0))


def test_every_wrong_field_is_named_at_once_in_page_order(site) -> None:
    """The profile's own limits (an age over 120) are reported together with the
    form's (an unknown place, minutes that are not a number), not one per try."""
    client = _signed_in(site, "practitioner")
    bad = {"where": "Qwertyuiopville", "minutes_walk": "abc", "age": "150", "children": "19"}
    response = client.post("/search", data={**FORM, **bad}, headers=SAME_SITE)
    assert response.status_code == 422
    named = re.findall(r'class="field-error" id="([a-z]+)-error"', response.text)
    assert named == ["where", "travel", "age", "children"]
    summary = re.search(r'id="error-summary-title">.*?</ul>', response.text, re.S)
    assert summary
    links = re.findall(r'<a href="#([a-z-]+)">', summary.group(0))
    assert links == ["where", "travel-group", "age-group", "children-group"]
    assert "120" in (_field_error(response.text, "age") or "")
    assert not PLAN_ID.findall(response.text)


def test_the_profiles_own_check_alone_still_keeps_the_plan_back(site) -> None:
    from api.search_form import read_search_form
    from geo_assets.geocode import Geocoder

    _, store, _ = site
    posted = {k: [v] if isinstance(v, str) else v for k, v in {**FORM, "age": "150"}.items()}
    form = read_search_form(posted, Geocoder(postcodes=store, places=store))
    assert form.profile is None and list(form.errors) == ["age"]


@pytest.mark.parametrize(
    ("change", "given", "unfolded"),
    [
        ({}, 0, False),
        ({"pref": []}, 0, False),
        ({"age": "  "}, 0, False),  # blank is not given
        ({"languages": "Urdu"}, 1, True),
        ({"age": "40", "pref": ["small_group", "drop_in_only"]}, 2, True),  # preferences count once
        ({"children": "2", "gender": "women", "circumstances": "carer"}, 3, True),
        ({"age": "old"}, 1, True),
        ({"children": "19"}, 1, True),
    ],
)
def test_details_about_the_person_unfold_when_given_or_wrong(site, change, given, unfolded) -> None:
    """The optional details about the person fold away until one is filled in or needs
    fixing, so a search that uses none of them shows a short form."""
    from api.search_form import read_search_form
    from geo_assets.geocode import Geocoder

    _, store, _ = site
    posted = {k: [v] if isinstance(v, str) else v for k, v in {**FORM, **change}.items()}
    form = read_search_form(posted, Geocoder(postcodes=store, places=store))
    assert form.about_person_given() == given
    assert form.about_person_open() is unfolded


def test_the_folded_details_say_how_many_are_given(site) -> None:
    client = _signed_in(site, "practitioner")
    blank = client.get("/search").text
    assert '<details id="about-person">' in blank
    assert "given</span>" not in blank
    data = {**FORM, "languages": "Urdu", "pref": ["small_group"]}
    page = client.post("/search", data=data, headers=SAME_SITE).text
    assert re.search(r'<details id="about-person" open>\s*<summary>More about the person', page)
    assert '<span class="given">: 2 given</span>' in page


def test_the_form_asks_for_the_childrens_ages(site) -> None:
    client = _signed_in(site, "practitioner")
    page = client.get("/search").text
    assert '<label for="children">Ages of children they would bring (optional)</label>' in page
    assert 'id="children-hint">For parent and toddler or family groups' in page
    assert re.search(r'<input type="text" id="children" name="children" value=""', page)


def _women_only_listing(store: Store):
    listings = store.list_assets(AssetFilters(statuses=["published"]), per_page=500).items
    return next(a for a in listings if a.eligibility.gender == "women")


@pytest.mark.parametrize(("gender", "shown"), [("", True), ("women", True), ("men", False)])
def test_the_persons_gender_decides_whether_women_only_groups_are_shown(
    site, gender: str, shown: bool
) -> None:
    """Not given: a women-only group is shown and marked; for a man it is left out."""
    client = _signed_in(site, "practitioner")
    _, store, _ = site
    group = _women_only_listing(store)
    here = {"lat": str(group.location.lat), "lon": str(group.location.lon)}
    data = {**FORM, **here, "interests": group.name, "limit": "20", "gender": gender}
    response = client.post("/search", data=data, headers=SAME_SITE)
    assert response.status_code == 200, _field_error(response.text, "gender")
    assert (group.id in PLAN_ID.findall(response.text)) is shown
    assert ("<li>women only</li>" in response.text) is shown
    chosen = re.search(r'<option value="([a-z]*)" selected>', response.text)
    assert chosen and chosen.group(1) == gender  # kept in the form as chosen


def test_a_man_who_needs_women_only_groups_is_told_against_the_need(site) -> None:
    """Nothing could be shown: the page says why, beside the access needs."""
    client = _signed_in(site, "practitioner")
    data = {**FORM, "gender": "men", "need": ["women_only"]}
    response = client.post("/search", data=data, headers=SAME_SITE)
    assert response.status_code == 422
    assert "no women-only group admits a man" in (_field_error(response.text, "needs") or "")


def test_a_gender_the_form_does_not_offer_is_named_on_its_field(site) -> None:
    client = _signed_in(site, "practitioner")
    response = client.post("/search", data={**FORM, "gender": "other"}, headers=SAME_SITE)
    assert response.status_code == 422
    assert "women" in (_field_error(response.text, "gender") or "")


def test_languages_are_read_from_names_and_an_unknown_one_is_named(site) -> None:
    from api.search_form import read_search_form
    from geo_assets.geocode import Geocoder

    _, store, _ = site
    posted = {k: [v] if isinstance(v, str) else v for k, v in FORM.items()}
    form = read_search_form(
        posted | {"languages": ["Urdu and polish\n"]}, Geocoder(postcodes=store, places=store)
    )
    assert form.errors == {}
    assert form.profile is not None and form.profile.languages == ["ur", "pl"]
    client = _signed_in(site, "practitioner")
    data = {**FORM, "languages": "Urdu, Klingon"}
    response = client.post("/search", data=data, headers=SAME_SITE)
    assert response.status_code == 422
    assert "'Klingon' is not a language we know" in (_field_error(response.text, "languages") or "")
    assert 'name="languages" value="Urdu, Klingon"' in response.text  # kept as typed


def test_the_groups_a_person_belongs_to_reach_the_profile(site) -> None:
    from api.search_form import read_search_form
    from geo_assets.geocode import Geocoder

    _, store, _ = site
    posted = {k: [v] if isinstance(v, str) else v for k, v in FORM.items()}
    typed = posted | {"circumstances": ["carer for her mum, veteran"]}
    form = read_search_form(typed, Geocoder(postcodes=store, places=store))
    assert form.profile is not None
    assert form.profile.circumstances == ["carer for her mum", "veteran"]
    client = _signed_in(site, "practitioner")
    data = {**FORM, "circumstances": ", ".join(f"group {n}" for n in range(11))}
    response = client.post("/search", data=data, headers=SAME_SITE)
    assert response.status_code == 422
    assert "at most 10" in (_field_error(response.text, "circumstances") or "")


@pytest.mark.parametrize(
    ("typed", "ages"),
    [("2, 5", [2, 5]), ("2 and 5", [2, 5]), ("3", [3]), ("0,17", [0, 17]), ("", [])],
)
def test_childrens_ages_are_read_as_people_write_them(site, typed, ages) -> None:
    from api.search_form import read_search_form
    from geo_assets.geocode import Geocoder

    _, store, _ = site
    posted = {k: [v] if isinstance(v, str) else v for k, v in {**FORM, "children": typed}.items()}
    form = read_search_form(posted, Geocoder(postcodes=store, places=store))
    assert form.errors == {}
    assert form.profile is not None and form.profile.children_ages == ages


def _field_error(text: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', text, re.S)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("nineteen", "'nineteen'"),
        ("19", "from 0 to 17"),
        ("-1", "'-1'"),
        ("2 and 18 months", "whole years"),
        (", ".join(["3"] * 11), "at most 10"),
    ],
)
def test_bad_childrens_ages_are_named_beside_their_field(site, typed, words) -> None:
    client = _signed_in(site, "practitioner")
    form = {**FORM, "age": "31", "children": typed}
    response = client.post("/search", data=form, headers=SAME_SITE)
    assert response.status_code == 422
    message = _field_error(response.text, "children")
    assert message and words in message, response.text[:2000]
    # Only this field is wrong: the summary links to it, and nothing typed is lost.
    assert re.findall(r'class="field-error" id="([a-z]+)-error"', response.text) == ["children"]
    assert '<a href="#children-group">' in response.text
    field = re.search(r'<input type="text" id="children"[^>]*>', response.text)
    assert field
    assert f'value="{html.escape(typed, quote=True)}"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert field.group(0).count("aria-describedby=") == 1
    assert 'aria-describedby="children-hint children-error"' in field.group(0)
    for kept in ('value="Manningham"', 'value="gardening, singing"', 'value="31"'):
        assert kept in response.text
    assert 'value="tue 09:00-13:00; thu"' in response.text
    assert not PLAN_ID.findall(response.text)


def test_the_profiles_own_limits_on_childrens_ages_show_beside_the_field(
    site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the form to let more ages through than a profile holds, the profile's
    refusal still lands on the field, not on the form as a whole."""
    import api.search_form
    from geo_assets.geocode import Geocoder

    monkeypatch.setattr(api.search_form, "MAX_CHILDREN", 99)
    _, store, _ = site
    posted = {k: [v] if isinstance(v, str) else v for k, v in FORM.items()}
    posted["children"] = [", ".join(["3"] * 11)]
    form = api.search_form.read_search_form(posted, Geocoder(postcodes=store, places=store))
    assert form.profile is None
    assert list(form.errors) == ["children"] and "at most 10" in form.errors["children"]


def test_ten_childrens_ages_are_as_many_as_a_profile_holds(site) -> None:
    client = _signed_in(site, "practitioner")
    ten = ", ".join(str(n) for n in range(10))
    response = client.post("/search", data={**FORM, "children": ten}, headers=SAME_SITE)
    assert response.status_code == 200, _field_error(response.text, "children")


def test_childrens_ages_reach_the_plan_but_are_not_saved_with_it(site) -> None:
    client = _signed_in(site, "practitioner")
    form = {**FORM, "interests": "parent and toddler group", "age": "31", "children": "2"}
    response = client.post("/search", data=form, headers=SAME_SITE)
    assert response.status_code == 200
    carried = re.search(r'name="profile" value="([^"]+)"', response.text)
    assert carried
    profile = html.unescape(carried.group(1))
    assert Profile.model_validate_json(profile).children_ages == [2]
    ids = PLAN_ID.findall(response.text)
    data = {"profile": profile, "plan_asset": ids[:2], "limit": "10"}
    plan = client.post("/search/plan", data=data, headers=SAME_SITE)
    assert plan.status_code == 200
    saved = client.post(
        "/plans",
        data={**data, "reference": "CH-0002"},
        headers=SAME_SITE,
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text[:500]
    _, store, _ = site
    kept = store.get_plan(saved.headers["location"].rsplit("/", 1)[-1])
    stored = kept.model_dump()
    keys = set(stored) | {key for item in stored["items"] for key in item}
    assert not keys & {"profile", "children_ages", "age", "origin", "interests"}, keys
    assert [i.asset_id for i in kept.items] == ids[:2]


def _search_ids(client: TestClient) -> tuple[list[str], str]:
    response = client.post("/search", data=FORM, headers=SAME_SITE)
    profile = re.search(r'name="profile" value="([^"]+)"', response.text)
    assert profile
    return PLAN_ID.findall(response.text), html.unescape(profile.group(1))


def test_the_plan_lists_the_chosen_activities_in_order(site) -> None:
    client = _signed_in(site, "practitioner")
    ids, profile = _search_ids(client)
    _, store, _ = site
    chosen = [ids[3], ids[0]]
    data = {"profile": profile, "plan_asset": chosen, "limit": "10", "person": "A.B."}
    response = client.post("/search/plan", data=data, headers=SAME_SITE)
    assert response.status_code == 200
    names = re.findall(r'<h2 id="plan-item-\d+">\d+\. (.*?)</h2>', response.text)
    assert names == [html.escape(store.get_asset(i).name, quote=True) for i in chosen]
    assert "Connection plan for A.B." in response.text
    assert "Getting there" in response.text


def test_the_plan_says_how_to_join_each_and_any_language_other_than_english(site) -> None:
    client = _signed_in(site, "practitioner")
    ids, profile = _search_ids(client)
    _, store, _ = site
    first = store.get_asset(ids[0])
    store.update_asset(first.id, {"languages": ["en", "pl"], "attendance": "referral"})
    try:
        data = {"profile": profile, "plan_asset": ids[:2], "limit": "10"}
        page = client.post("/search/plan", data=data, headers=SAME_SITE).text
        first_item, second_item = page.split("<article")[1:3]
        assert "<dt>How to join</dt>\n    <dd>By referral: ask a practitioner" in first_item
        assert "<dt>Languages</dt><dd>English, Polish</dd>" in first_item
        assert "<dt>How to join</dt>" in second_item
        if store.get_asset(ids[1]).languages == ["en"]:
            assert "<dt>Languages</dt>" not in second_item  # English alone goes unsaid
    finally:
        store.update_asset(first.id, {"languages": first.languages, "attendance": first.attendance})


def test_the_plan_says_when_a_listing_has_gone(site) -> None:
    client = _signed_in(site, "practitioner")
    ids, profile = _search_ids(client)
    _, store, _ = site
    gone = store.archive_asset(ids[1])
    try:
        data = {"profile": profile, "plan_asset": [ids[0], ids[1]], "limit": "10"}
        response = client.post("/search/plan", data=data, headers=SAME_SITE)
        assert response.status_code == 200
        assert response.text.count("<article") == 1
        assert "1 of the chosen activities is no longer listed" in response.text
    finally:
        store.update_asset(gone.id, {"status": "published"})


def test_a_plan_needs_a_choice_and_a_readable_search(site) -> None:
    client = _signed_in(site, "practitioner")
    ids, profile = _search_ids(client)
    none = client.post("/search/plan", data={"profile": profile}, headers=SAME_SITE)
    assert none.status_code == 422 and "Nothing chosen" in none.text
    tampered = {"profile": profile.replace('"lat"', '"latitude"'), "plan_asset": ids[0]}
    bad = client.post("/search/plan", data=tampered, headers=SAME_SITE)
    assert bad.status_code == 422 and "run the search again" in bad.text


def test_listing_pages_show_published_listings_to_anyone(site) -> None:
    client, store, _ = site
    client.cookies.clear()
    published = store.list_assets(AssetFilters(statuses=["published"]), per_page=1).items[0]
    page = client.get(f"/listings/{published.id}")
    assert page.status_code == 200 and html.escape(published.name, quote=True) in page.text
    archived = store.archive_asset(published.id)
    try:
        assert client.get(f"/listings/{archived.id}").status_code == 404
        _signed_in(site, "admin")
        assert client.get(f"/listings/{archived.id}").status_code == 200
    finally:
        store.update_asset(archived.id, {"status": "published"})
        client.cookies.clear()
    assert client.get("/listings/no-such-listing").status_code == 404


def test_a_listing_page_names_its_town_once(site) -> None:
    client, store, _ = site
    client.cookies.clear()
    listing = store.list_assets(AssetFilters(statuses=["published"]), per_page=1).items[0]
    location = listing.location.model_dump() | {
        "address": "101 Bolton Road, Keighley",
        "place": "Keighley",
        "postcode": None,
        "precision": "point",
    }
    store.update_asset(listing.id, {"location": location})  # fmt: skip
    try:
        page = client.get(f"/listings/{listing.id}").text
        assert "<td>101 Bolton Road, Keighley</td>" in page
    finally:
        store.update_asset(listing.id, {"location": listing.location.model_dump()})


def test_a_listing_page_says_how_to_join_and_in_which_languages(site) -> None:
    client, store, _ = site
    client.cookies.clear()
    listing = store.list_assets(AssetFilters(statuses=["published"]), per_page=1).items[0]
    keep = {k: getattr(listing, k) for k in ("languages", "group_size", "attendance")}
    keep["companion_welcome"] = listing.companion_welcome
    store.update_asset(
        listing.id,
        {"languages": ["en", "ur"], "group_size": 8, "attendance": "booking",
         "companion_welcome": True},
    )  # fmt: skip
    try:
        page = client.get(f"/listings/{listing.id}").text
        assert (
            '<td id="joining">Book before you come. A supporter may come along on the first '
            "visit. About 8 people come.</td>"
        ) in page
        assert '<td id="languages">English, Urdu</td>' in page
    finally:
        store.update_asset(listing.id, keep)


def test_a_listing_placed_at_a_centre_says_the_pin_is_not_the_door(site) -> None:
    client, store, _ = site
    client.cookies.clear()
    listing = store.list_assets(AssetFilters(statuses=["published"]), per_page=1).items[0]
    note = "the map shows the area&#39;s centre: ask the organiser where exactly"
    assert note not in client.get(f"/listings/{listing.id}").text
    location = listing.location.model_dump() | {"precision": "area"}
    store.update_asset(listing.id, {"location": location})
    try:
        assert note in client.get(f"/listings/{listing.id}").text
    finally:
        store.update_asset(listing.id, {"location": listing.location.model_dump()})


NARROW = {**FORM, "interests": "football", "mode": ["walk"], "minutes_walk": "15", "free": ""}


def _narrow_profile(store: Store, minutes: int = 15) -> Profile:
    lat, lon = _place(store)
    return Profile.model_validate(
        {
            "origin": {"lat": lat, "lon": lon},
            "interests": ["football"],
            "travel": [{"mode": "walk", "max_minutes": minutes}],
        }
    )


def test_a_narrow_search_says_how_few_fit_and_what_longer_journeys_add(site) -> None:
    """Few of the results fit the interest: the page says so above the list, says what
    a longer walk would add, and searches with it in one click, form kept."""
    client = _signed_in(site, "practitioner")
    _, store, _ = site
    profile = _narrow_profile(store)
    ranked = match(store, profile, limit=10)
    split = InterestSplit.of(ranked)
    longer = SearchAgain(store, 10).longer_journeys(profile, ranked)
    assert split.fit < len(ranked) and longer is not None and longer.more_that_fit > 0

    response = client.post("/search", data=NARROW, headers=SAME_SITE)
    assert response.status_code == 200
    summary = re.search(
        r'<div class="notice" id="results-summary">(.*?)</div>', response.text, re.S
    )
    assert summary
    said = html.unescape(re.sub(r"<[^>]+>", " ", summary.group(1)))
    assert split.text() in said and longer.text() in said
    assert "up to 25 min walk" in said

    form = re.search(
        r'<form method="post" action="/search" id="longer-form">(.*?)</form>', response.text, re.S
    )
    assert form
    fields = [
        (n, html.unescape(v))
        for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1))
    ]
    assert ("minutes_walk", "25") in fields and ("interests", "football") in fields
    assert ("where", PLACE) in fields and ("mode", "walk") in fields
    again = client.post("/search", data=_multi(fields), headers=SAME_SITE)
    assert again.status_code == 200
    wider = match(store, _narrow_profile(store, 25), limit=10)
    assert PLAN_ID.findall(again.text) == [m.asset.id for m in wider]
    assert re.search(r'id="minutes-walk"[^>]*value="25"', again.text)


def test_a_narrow_search_says_what_buses_would_add_and_adds_them_in_one_click(site) -> None:
    """Someone who only walks: the page says what buses and trains would add, and its
    button searches with them ticked as well, the walk and the rest of the form kept."""
    client = _signed_in(site, "practitioner")
    _, store, _ = site
    profile = _narrow_profile(store)
    ranked = match(store, profile, limit=10)
    bus = SearchAgain(store, 10).another_way(profile, ranked)
    assert bus is not None and bus.more_that_fit > 0

    response = client.post("/search", data=NARROW, headers=SAME_SITE)
    said = re.search(r'<p id="another-way-journeys">(.*?)</p>', response.text, re.S)
    assert said and html.unescape(said.group(1)) == bus.text()
    assert "Journeys by bus or train (up to 30 min) would find" in bus.text()
    form = re.search(
        r'<form method="post" action="/search" id="another-way-form">(.*?)</form>',
        response.text,
        re.S,
    )
    assert form and "Search by bus or train too" in form.group(1)
    fields = [
        (n, html.unescape(v))
        for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1))
    ]
    assert ("mode", "walk") in fields and ("mode", "public_transport") in fields
    assert ("minutes_walk", "15") in fields and ("minutes_public_transport", "30") in fields
    again = client.post("/search", data=_multi(fields), headers=SAME_SITE)
    assert again.status_code == 200
    with_bus = profile.model_copy(update={"travel": list(bus.travel)})
    assert PLAN_ID.findall(again.text) == [m.asset.id for m in match(store, with_bus, limit=10)]
    assert re.search(r'id="mode-public_transport"[^>]*checked', again.text)


def test_under_the_summary_a_result_fitting_no_interest_says_only_that(site) -> None:
    """The summary says once which interests none of the fillers fit and why they are
    shown; each filler's own first reason then says only that it is not one of them."""
    client = _signed_in(site, "practitioner")
    _, store, _ = site
    ranked = match(store, _narrow_profile(store), limit=10)
    response = client.post("/search", data=NARROW, headers=SAME_SITE)
    lists = re.findall(r'<ul class="reasons">(.*?)</ul>', response.text, re.S)
    said = [[html.unescape(r) for r in re.findall(r"<li>(.*?)</li>", ul, re.S)] for ul in lists]
    assert said == [reasons_under_summary(m) for m in ranked]
    fillers = [r for r, m in zip(said, ranked, strict=True) if m.components["interest"] == 0]
    assert fillers and all(r[0] == "not one of your interests" for r in fillers)
    assert all(r[1:] == m.reasons[1:] for r, m in zip(said, ranked, strict=True))
    assert "shown for" not in " ".join(" ".join(r) for r in said)


def _multi(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def test_a_search_without_interests_has_no_summary(site) -> None:
    client = _signed_in(site, "practitioner")
    response = client.post("/search", data={**NARROW, "interests": ""}, headers=SAME_SITE)
    assert response.status_code == 200
    assert PLAN_ID.findall(response.text)
    assert 'id="results-summary"' not in response.text
