"""Every response carries the security headers (api/security_headers.py): pages, the JSON
API, errors, static files and refusals alike; the policy names only our own origin, the
basemap's tile server, and Folium's CDNs where the maps are set to load from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security_headers import policy, tile_origin
from geo_assets.settings import Settings
from geo_assets.store import open_store
from maps.assets import OSM_TILES, MapSettings, cdn_origins, missing_files

EXPECTED = {
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}


@pytest.fixture
def app_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A client for the app under the given map settings (environment variables)."""
    if missing_files(MapSettings().static_dir):
        pytest.skip("map assets missing: run scripts/ensure_assets.sh")
    url = f"sqlite:///{tmp_path / 'headers.sqlite'}"
    store = open_store(url)
    store.upgrade()
    store.close()
    clients = []

    def make(**env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        client = TestClient(create_app(Settings(database_url=url)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in csp.split("; ")}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/map", 200),
        ("get", "/assets?near=53.79,-1.75&radius_m=500", 200),
        ("get", "/static/leaflet/dist/leaflet.js", 200),
        ("get", "/docs", 200),
        ("get", "/no/such/page", 404),
        ("post", "/match", 401),  # needs a practitioner
        ("get", "/search", 303),
        ("get", "/listings/none/calendar.ics", 404),
    ],
)
def test_every_kind_of_response_carries_the_headers(app_with, method, path, status) -> None:
    client = app_with(GEO_ASSETS_TILES="none")
    got = client.request(
        method, path, json={} if method == "post" else None, follow_redirects=False
    )
    assert got.status_code == status
    for name, value in EXPECTED.items():
        assert got.headers[name] == value, name
    csp = _directives(got.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["connect-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]  # no tiles: nothing else
    assert "camera=()" in got.headers["permissions-policy"]


def test_images_may_come_from_the_basemaps_tile_server(app_with) -> None:
    client = app_with(GEO_ASSETS_TILES="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    csp = _directives(client.get("/map").headers["content-security-policy"])
    assert csp["img-src"][-1] == "https://*.tiles.example.org"
    assert csp["script-src"] == ["'self'", "'unsafe-inline'"]


def test_maps_set_to_load_from_cdns_may_do_so(app_with) -> None:
    client = app_with(GEO_ASSETS_MAP_ASSETS="cdn", GEO_ASSETS_TILES="none")
    csp = _directives(client.get("/map").headers["content-security-policy"])
    origins = cdn_origins()
    assert origins and all(o.startswith("https://") for o in origins)
    for directive in ("script-src", "style-src", "font-src"):
        assert set(origins) <= set(csp[directive])
    assert not set(origins) & set(csp["img-src"] + csp["connect-src"])


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        (OSM_TILES, "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("/tiles/{z}/{x}/{y}.png", None),  # our own: 'self' covers it
        ("none", None),
    ],
)
def test_a_tile_templates_origin(template: str, origin: str | None) -> None:
    assert tile_origin(template) == origin


def test_the_policy_without_extras_names_only_this_service() -> None:
    csp = _directives(policy(None))
    sources = {s for values in csp.values() for s in values}
    assert sources <= {"'self'", "'unsafe-inline'", "'none'", "data:", "blob:"}
