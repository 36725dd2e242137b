"""``POST /match`` over the sample data: the same ranking as ``geo_assets.matching.match``,
plus each asset's summary; limits, weights, roles, and nothing personal sent back."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.matching import DEFAULT_WEIGHTS, match
from geo_assets.model import Profile
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.widen import InterestSplit, notes_on

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
PROFILE: dict[str, Any] = {
    "origin": {"lat": 53.7941, "lon": -1.7519},
    "interests": ["gardening", "singing"],
    "travel": [
        {"mode": "walk", "max_minutes": 25},
        {"mode": "public_transport", "max_minutes": 30},
    ],
    "availability": ["tue 09:00-13:00", "sat"],
    "age": 67,
}


@dataclass
class Site:
    client: TestClient
    store: Store
    auth: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sample_sqlite: Callable[[Path], str]
) -> Iterator[Site]:
    url = sample_sqlite(tmp_path_factory.mktemp("match"))
    store = open_store(url)
    auth: dict[str, dict[str, str]] = {}
    for role in ("practitioner", "admin", "planner"):
        user = store.create_user(User(name=role.title(), role=role))
        auth[role] = {"Authorization": f"Bearer {issue_token(store, user.id)}"}
    with TestClient(
        create_app(
            Settings(database_url=url, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
        )
    ) as client:
        yield Site(client, store, auth)
    store.close()


def _match(site: Site, body: dict[str, Any], role: str = "practitioner") -> Any:
    return site.client.post("/match", json=body, headers=site.auth[role])


def _problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    if field is not None:
        assert body["field"] == field, body
    return body


def test_results_are_the_engines_ranking_with_summaries(site: Site) -> None:
    response = _match(site, PROFILE)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = match(site.store, Profile.model_validate(PROFILE), limit=10)
    assert body["count"] == len(body["results"]) == len(expected) > 0
    assert body["weights"] == dict(DEFAULT_WEIGHTS)
    for got, want in zip(body["results"], expected, strict=True):
        summary = want.as_dict()
        # next_session depends on the clock; everything else must agree exactly.
        assert {k: got[k] for k in summary if k != "next_session"} == {
            k: v for k, v in summary.items() if k != "next_session"
        }
        asset = want.asset
        assert got["kind"] == asset.kind and got["categories"] == asset.categories
        assert (got["location"]["lat"], got["location"]["lon"]) == asset.point
        assert got["location"]["place"] == asset.location.place
        assert got["reasons"], "every result explains itself"
        assert got["mode"] not in {other["mode"] for other in got["other_modes"]}
    # Walking 25 minutes or a 30-minute bus: near the centre, both get to some listings.
    assert any(r["other_modes"] for r in body["results"])
    scores = [r["score"] for r in body["results"]]
    assert scores[0] == max(scores)


def test_same_request_same_order(site: Site) -> None:
    first = [r["asset_id"] for r in _match(site, PROFILE).json()["results"]]
    again = [r["asset_id"] for r in _match(site, PROFILE).json()["results"]]
    assert first == again


def test_limit(site: Site) -> None:
    body = _match(site, {**PROFILE, "limit": 3}).json()
    assert body["count"] == 3
    assert [r["asset_id"] for r in body["results"]] == [
        m.asset.id for m in match(site.store, Profile.model_validate(PROFILE), limit=3)
    ]
    _problem(_match(site, {**PROFILE, "limit": 51}), 422, "limit")
    _problem(_match(site, {**PROFILE, "limit": 0}), 422, "limit")


def test_weights_override_the_defaults(site: Site) -> None:
    others_off = {name: 0.0 for name in DEFAULT_WEIGHTS if name != "travel"}
    body = _match(site, {**PROFILE, "weights": others_off}).json()
    assert body["weights"] == others_off | {"travel": DEFAULT_WEIGHTS["travel"]}
    for result in body["results"]:  # the score is now the travel component alone
        assert result["score"] <= result["components"]["travel"] + 1e-4
    default_order = [r["asset_id"] for r in _match(site, PROFILE).json()["results"]]
    assert [r["asset_id"] for r in body["results"]] != default_order
    _problem(_match(site, {**PROFILE, "weights": {"beauty": 1}}), 422, "weights")
    _problem(_match(site, {**PROFILE, "weights": {"travel": 11}}), 422, "weights.travel")
    _problem(_match(site, {**PROFILE, "weights": {"travel": -1}}), 422, "weights.travel")
    every_zero = {name: 0 for name in DEFAULT_WEIGHTS}
    _problem(_match(site, {**PROFILE, "weights": every_zero}), 422, "weights")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"travel": []}, "travel"),
        ({"origin": {"lat": 95, "lon": 0}}, "origin.lat"),
        ({"age": 200}, "age"),
        ({"children_ages": [2, 18]}, "children_ages.1"),
        ({"availability": ["whenever"]}, "availability"),
        ({"shoe_size": 9}, "shoe_size"),
        ({"languages": ["Urdu", "Klingon"]}, "languages"),
        ({"gender": "men", "access_needs": ["women_only"]}, "access_needs"),
    ],
)
def test_bad_profiles_are_problems_naming_the_field(
    site: Site, change: dict[str, Any], field: str
) -> None:
    _problem(_match(site, {**PROFILE, **change}), 422, field)


def test_who_may_match(site: Site) -> None:
    assert _match(site, PROFILE, "admin").status_code == 200
    _problem(_match(site, PROFILE, "planner"), 403)
    anonymous = site.client.post("/match", json=PROFILE)
    _problem(anonymous, 401)
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


NARROW: dict[str, Any] = {
    "origin": {"lat": 53.805, "lon": -1.765},
    "interests": ["football"],
    "travel": [{"mode": "walk", "max_minutes": 15}],
}


def test_the_answer_says_how_the_results_split_by_interest(site: Site) -> None:
    body = _match(site, NARROW).json()
    split = InterestSplit.of(match(site.store, Profile.model_validate(NARROW), limit=10))
    assert body["split"] == {**asdict(split), "text": split.text()}
    assert split.fit < body["count"] and split.text()
    assert body["wider"] is None  # not asked for: no more searches run
    assert _match(site, {**NARROW, "interests": []}).json()["split"] is None


def test_wider_searches_say_what_they_would_add(site: Site) -> None:
    body = _match(site, {**NARROW, "wider": True}).json()
    profile = Profile.model_validate(NARROW)
    notes = notes_on(site.store, profile, match(site.store, profile, limit=10), limit=10)
    assert [w["added_mode"] for w in body["wider"]] == [None, "public_transport"]
    for got, want in zip(body["wider"], notes.wider, strict=True):
        assert got["text"] == want.text() and got["more_that_fit"] == want.more_that_fit > 0
        assert got["at_least"] == want.at_least
        assert [(t["mode"], t["max_minutes"]) for t in got["travel"]] == [
            (t.mode, t.max_minutes) for t in want.travel
        ]
    # Sent back as the person's travel, they find what was said.
    bus = body["wider"][1]
    again = _match(site, {**NARROW, "travel": bus["travel"]}).json()
    shown = {r["asset_id"] for r in body["results"]}
    fits = [r for r in again["results"] if any("matches your interest" in x for x in r["reasons"])]
    assert sum(1 for r in fits if r["asset_id"] not in shown) == bus["more_that_fit"]
    # Every result fits: there is nothing to widen for.
    fitting = {**PROFILE, "interests": ["gardening"], "limit": 1, "wider": True}
    assert _match(site, fitting).json()["wider"] == []


def test_never_a_get(site: Site) -> None:
    response = site.client.get("/match", headers=site.auth["practitioner"])
    _problem(response, 405)


def test_nothing_personal_comes_back(site: Site) -> None:
    text = json.dumps(_match(site, {**PROFILE, "wider": True}).json())
    assert "53.7941" not in text and "1.7519" not in text
    assert '"age"' not in text and "tue 09:00" not in text


def test_openapi_documents_match(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    assert set(paths["/match"]) == {"post"}
    operation = paths["/match"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MatchRequest"
    }
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MatchResponse"
    }
