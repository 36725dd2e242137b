"""Map builders and offline assets, without a browser (see tests/browser/ for that)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from datetime import timedelta

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from folium.plugins import FastMarkerCluster, FeatureGroupSubGroup, MarkerCluster

from geo_assets.errors import InvalidInputError
from geo_assets.matching import Match
from geo_assets.model import Asset, utcnow
from geo_assets.network import NetworkTravel, graph_from_edges
from geo_assets.taxonomy import default_taxonomy
from maps.assets import (
    LOCAL_FILES,
    MAX_ZOOM,
    MapAssetsError,
    MapSettings,
    localize,
    missing_files,
    new_map,
    render_page,
    render_parts,
    require_assets,
)
from maps.coverage import class_breaks, class_colours, coverage_map
from maps.directory import directory_map
from maps.popups import result_popup, travel_text
from maps.results import results_map
from maps.style import (
    CATEGORY_COLOURS,
    COVERAGE_COLOURS,
    NO_DATA_COLOUR,
    category_colour,
    contrast_ratio,
    html_text,
)

OFFLINE = MapSettings(map_assets="local", tiles="none")
ORIGIN = (53.7945, -1.7520)
EXTERNAL = re.compile(r"""(?:src|href)=["']((?:https?:)?//[^"']+)""")
M_PER_DEG = 111_195.0


def _asset(i: int, *, category: str = "nature.gardening", **changes: object) -> Asset:
    lat = ORIGIN[0] + (i % 7) * 0.002
    lon = ORIGIN[1] + (i // 7) * 0.003
    data: dict[str, object] = {
        "id": f"asset{i:05d}",
        "kind": "group",
        "name": f"Group {i}",
        "categories": [category],
        "location": {"lat": lat, "lon": lon, "place": "Bradford"},
        "status": "published",
        "last_verified_at": utcnow() - timedelta(days=10),
    }
    data.update(changes)
    return Asset.model_validate(data)


def _match(asset: Asset, minutes: float = 10.0, *, stale: bool = False) -> Match:
    return Match(
        asset=asset,
        score=0.5,
        components={},
        minutes=minutes,
        mode="walk",
        distance_m=700.0,
        reasons=["matches your interest: gardening", f"{minutes:.0f} min walk"],
        stale=stale,
    )


# --- offline assets ---------------------------------------------------------------------------


def _with_every_plugin() -> folium.Map:
    m = new_map(ORIGIN, settings=OFFLINE)
    parent = MarkerCluster().add_to(m)
    FeatureGroupSubGroup(parent, name="x").add_to(m)
    FastMarkerCluster([[ORIGIN[0], ORIGIN[1]]]).add_to(m)
    folium.Marker(ORIGIN, popup="p").add_to(m)
    return m


def test_every_folium_resource_we_use_has_a_local_entry():
    for cls in (folium.Map, MarkerCluster, FastMarkerCluster, FeatureGroupSubGroup):
        for name, _url in [*cls.default_js, *cls.default_css]:
            assert name in LOCAL_FILES, f"{cls.__name__}: {name}"


def test_local_mode_links_only_to_static_and_leaves_folium_untouched():
    before = list(folium.Map.default_js)
    parts = render_parts(_with_every_plugin(), OFFLINE)
    links = re.findall(r"""(?:src|href)=["']([^"']+)""", parts.header)
    assert links and all(link.startswith("/static/") for link in links)
    assert not EXTERNAL.findall(parts.header + parts.html + parts.script)
    assert "/static/leaflet.markercluster/dist/leaflet.markercluster.js" in links
    assert "/static/jquery/dist/jquery.min.js" in links  # popups need jQuery
    # Folium's class-level lists are shared by every map: they must not change.
    assert folium.Map.default_js == before
    assert new_map(ORIGIN, settings=MapSettings(map_assets="cdn")).default_js == before


def test_cdn_mode_keeps_folium_links():
    settings = MapSettings(map_assets="cdn", tiles="none")
    html = render_page(_with_every_plugin(), settings)
    assert re.search(r'src="https://[^"]*leaflet\.js"', html)


def test_embedded_parts_leave_page_level_markup_to_our_template():
    parts = render_parts(new_map(ORIGIN, settings=OFFLINE), OFFLINE)
    assert 'name="viewport"' not in parts.header  # Folium's blocks zooming (WCAG 1.4.4)
    assert "html, body" not in parts.header
    assert 'class="folium-map"' in parts.html
    assert "L.map(" in parts.script and "<script" not in parts.script


def test_a_resource_without_local_copy_fails_with_its_name():
    m = new_map(ORIGIN, settings=OFFLINE)
    plugin = MarkerCluster().add_to(m)
    plugin.default_js = [("somethingnew", "https://example.invalid/x.js")]
    with pytest.raises(MapAssetsError, match="somethingnew"):
        localize(m, OFFLINE)


def test_no_tiles_means_no_tile_layer_but_an_explicit_max_zoom():
    script = render_parts(new_map(ORIGIN, settings=OFFLINE), OFFLINE).script
    assert "tileLayer" not in script
    assert f'"maxZoom": {MAX_ZOOM}' in script


def test_default_tiles_are_openstreetmap_and_configurable():
    default = render_parts(new_map(ORIGIN, settings=MapSettings()), MapSettings()).script
    assert "tile.openstreetmap.org" in default
    custom = MapSettings(tiles="http://127.0.0.1:9000/{z}/{x}/{y}.png", tiles_attribution="me")
    assert "127.0.0.1:9000" in render_parts(new_map(ORIGIN, settings=custom), custom).script


def test_missing_assets_fail_with_the_fix_in_the_message(tmp_path):
    settings = MapSettings(map_assets="local", static_dir=tmp_path)
    assert "leaflet/dist/leaflet.js" in missing_files(tmp_path)
    with pytest.raises(MapAssetsError, match="ensure_assets.sh"):
        require_assets(settings)
    require_assets(MapSettings(map_assets="cdn", static_dir=tmp_path))  # no files needed


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GEO_ASSETS_MAP_ASSETS", "cdn")
    monkeypatch.setenv("GEO_ASSETS_TILES", "none")
    settings = MapSettings()
    assert settings.map_assets == "cdn" and not settings.has_tiles


# --- style ------------------------------------------------------------------------------------


def test_every_top_level_category_has_its_own_readable_colour():
    roots = [t.id for t in default_taxonomy().roots()]
    assert set(roots) <= set(CATEGORY_COLOURS)
    colours = [CATEGORY_COLOURS[r] for r in roots]
    assert len(set(colours)) == len(colours)
    for root, colour in zip(roots, colours, strict=True):
        assert contrast_ratio(colour, "#ffffff") >= 4.5, root  # white rank numbers
    assert category_colour("nature.gardening.allotments") == CATEGORY_COLOURS["nature"]


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_travel_says_a_walk_the_person_can_manage_beside_a_quicker_bus():
    m = _match(_asset(1))
    m.mode, m.minutes, m.distance_m = "public_transport", 13.2, 940.0
    m.other_modes = (("walk", 16.4),)
    assert travel_text(m) == "13 min by bus or train, or 16 min walk (0.9 km)"
    assert travel_text(m, distance=False) == "13 min by bus or train, or 16 min walk"
    assert "13 min by bus or train, or 16 min walk (0.9 km)" in result_popup(m, 1, "/listings")
    # From a pin at the area's centre, the time is to there, not to the door.
    rough = m.asset.location.model_copy(update={"precision": "area"})
    m.asset = m.asset.model_copy(update={"location": rough})
    assert travel_text(m) == "about 13 min by bus or train, or 16 min walk (0.9 km)"


def test_popup_text_cannot_break_out_of_folium_template_literals():
    nasty = "`${alert(1)}` \\u0060 </script><b>x</b>"
    text = html_text(nasty)
    for ch in "`$\\<>":
        assert ch not in text
    m = results_map(ORIGIN, [("walk", 20)], [_match(_asset(1, name=nasty))], settings=OFFLINE)
    script = render_parts(m, OFFLINE).script
    literals = re.findall(r"\$\(`(.*?)`\)", script, re.S)  # Folium's popup HTML
    assert literals and all("${" not in lit and "<b>" not in lit for lit in literals)
    assert "</script>" not in script


# Jinja that would run if map text were rendered as a template: "pwned" appears only then.
TEMPLATE_TEXT = "Knit {{ 'pw' ~ 'ned' }} club {% for x in range(2) %}{{ 'pw' ~ 'ned' }}{% endfor %}"


def _branca_sections(m: folium.Map) -> tuple[str, str, str]:
    """The sections as branca renders them itself (the second pass included)."""
    root = m.get_root()
    root.render()
    return root.header.render(), root.html.render(), root.script.render()


# Text a Jinja compile refuses: were it compiled, the whole page would fail.
BROKEN_TEXT = "Knit {{ 'x\\' }} {% if %} {# club"


@pytest.mark.parametrize("text", [TEMPLATE_TEXT, BROKEN_TEXT], ids=["runs", "breaks"])
@pytest.mark.parametrize("where", ["name", "description", "place"])
def test_listing_text_is_never_taken_for_a_template(where: str, text: str):
    """Branca compiles each part's output as a Jinja template and renders it again
    (unsandboxed): an organisation's "{{ ... }}" in a listing would run on the server,
    and a broken one would fail every page with the map. Our maps render each part once
    and make listing text inert, so it arrives as written."""
    if where == "place":
        asset = _asset(1, location={"lat": ORIGIN[0], "lon": ORIGIN[1], "place": text})
    else:
        asset = _asset(1, **{where: text})
    maps = [
        directory_map([asset], settings=OFFLINE),
        results_map(ORIGIN, [("walk", 20)], [_match(asset)], settings=OFFLINE),
    ]
    for m in maps:
        parts = render_parts(m, OFFLINE)
        shown = parts.header + parts.html + parts.script
        assert "pwned" not in shown
        if where == "name":  # the name is on both maps, as written (escaped, inert)
            assert "Knit {\u200b{" in shown
    assert "pwned" not in render_page(results_map(ORIGIN, [], [_match(asset)], settings=OFFLINE))


def test_a_parts_output_is_never_rendered_a_second_time():
    """Even text that reaches Folium without being made inert (here a tooltip given to
    Folium directly) is shown as written, not run."""
    m = new_map(ORIGIN, settings=OFFLINE)
    folium.Marker(ORIGIN, tooltip=TEMPLATE_TEXT).add_to(m)
    parts = render_parts(m, OFFLINE)
    assert "pwned" not in parts.script and "range(2)" in parts.script
    assert "pwned" not in render_page(m, OFFLINE)


def test_a_planners_text_on_the_coverage_map_is_inert():
    cells = _cells()
    cells["area"] = [TEMPLATE_TEXT, BROKEN_TEXT] * (len(cells) // 2) + [""] * (len(cells) % 2)
    m = coverage_map(cells, "access", label="Groups", tooltip_columns=["area"], settings=OFFLINE)
    script = render_parts(m, OFFLINE).script
    assert "pwned" not in script and "Knit {\\u200b{" in script  # Folium's JSON escapes it


def test_rendering_once_gives_what_branca_gives_for_plain_text():
    """For text with no template syntax in it the two ways agree exactly: nothing a map
    shows is lost by leaving out branca's second pass. (Each way renders a map of its
    own, built alike; only the random element ids differ.)"""
    assets = [_asset(i, category=c) for i, c in enumerate(["nature", "arts", "sport", "social"])]
    builders = [
        _with_every_plugin,
        lambda: directory_map(assets, settings=OFFLINE),
        lambda: results_map(
            ORIGIN, [("walk", 20), ("cycle", 15)], [_match(a) for a in assets], settings=OFFLINE
        ),
        lambda: coverage_map(
            _cells(), "access", label="Groups", gap_column="gap", settings=OFFLINE
        ),
    ]

    def same_ids(text: str) -> str:
        return re.sub(r"_[0-9a-f]{32}", "_ID", text)

    for build in builders:
        ours = render_parts(build(), OFFLINE)
        theirs = build()
        localize(theirs, OFFLINE)
        _, html, script = _branca_sections(theirs)
        assert same_ids(ours.html) == same_ids(html)
        assert same_ids(ours.script) == same_ids(script)


# --- results map ------------------------------------------------------------------------------


def test_results_map_numbers_markers_and_draws_the_reach_disc():
    matches = [_match(_asset(i, category=c)) for i, c in enumerate(["nature", "arts", "sport"])]
    matches[2].stale = True
    m = results_map(ORIGIN, [("walk", 20), ("cycle", 15)], matches, settings=OFFLINE)
    script = render_parts(m, OFFLINE).script
    for rank in (1, 2, 3):
        assert f'aria-hidden=\\"true\\"\\u003e{rank}\\u003c/span' in script
    assert script.count("L.circle(") == 2  # one disc per mode, straight-line model
    assert CATEGORY_COLOURS["arts"] in script
    assert "ga-stale-pin" in script
    assert "Reachable within 20 min walk" in script
    assert "/listings/asset00000" in script
    assert "Why it was suggested" in script
    assert "Starting point" in script


def test_results_map_rings_a_pin_that_is_only_a_centre():
    exact, rough = _match(_asset(1)), _match(_asset(2))
    area = rough.asset.location.model_copy(update={"precision": "area"})
    rough.asset = rough.asset.model_copy(update={"location": area})
    script = render_parts(
        results_map(ORIGIN, [("walk", 20)], [exact], settings=OFFLINE), OFFLINE
    ).script
    assert "ga-rough" not in script and "Ringed:" not in script
    m = results_map(ORIGIN, [("walk", 20)], [exact, rough], settings=OFFLINE)
    script = render_parts(m, OFFLINE).script
    assert script.count("ga-pin ga-rough") == 1
    assert r"(shown at its area\u0027s centre)" in script  # JSON-escaped in the script
    assert "Ringed: shown at its postcode" in script


def _grid_travel() -> NetworkTravel:
    n, spacing_m = 11, 100.0
    ids, lats, lons, u, v = [], [], [], [], []
    for i in range(n):
        for j in range(n):
            ids.append(i * n + j)
            lats.append(ORIGIN[0] + (j - n // 2) * spacing_m / M_PER_DEG)
            lons.append(
                ORIGIN[1]
                + (i - n // 2) * spacing_m / (M_PER_DEG * math.cos(math.radians(ORIGIN[0])))
            )
            if i + 1 < n:
                u.append(i * n + j)
                v.append((i + 1) * n + j)
            if j + 1 < n:
                u.append(i * n + j)
                v.append(i * n + j + 1)
    graph = graph_from_edges(
        np.array(ids), np.array(lats), np.array(lons), np.array(u), np.array(v),
        np.full(len(u), spacing_m),
    )  # fmt: skip
    return NetworkTravel({"walk": graph})


def test_results_map_draws_an_isochrone_for_the_network_model():
    travel = _grid_travel()
    m = results_map(
        ORIGIN, [("walk", 5), ("public_transport", 20)], [_match(_asset(1))],
        travel=travel, settings=OFFLINE,
    )  # fmt: skip
    script = render_parts(m, OFFLINE).script
    assert script.count("L.circle(") == 1  # public transport has no graph: a disc
    assert '"type": "Polygon"' in script  # walking: the isochrone


def test_results_map_with_no_matches_still_shows_origin_and_reach():
    m = results_map(ORIGIN, [("walk", 15)], [], settings=OFFLINE)
    script = render_parts(m, OFFLINE).script
    assert "Starting point" in script and "L.circle(" in script


# --- directory map ----------------------------------------------------------------------------


def _directory_assets() -> list[Asset]:
    assets = [_asset(i, category=c) for i, c in enumerate(["nature", "arts", "arts", "sport"])]
    assets.append(_asset(10, status="draft"))
    assets.append(_asset(11, last_verified_at=utcnow() - timedelta(days=400)))
    return assets


def test_directory_map_clusters_published_assets_with_a_layer_per_category():
    m = directory_map(_directory_assets(), settings=OFFLINE)
    script = render_parts(m, OFFLINE).script
    assert "L.markerClusterGroup(" in script
    assert script.count("L.featureGroup.subGroup(") == 3  # nature, arts, sport
    assert "L.control.layers(" in script
    assert "Group 10" not in script  # drafts stay off the public map
    assert re.search(r'"asset00011", 1,', script)  # stale flag set
    assert re.search(r'"asset00000", 0,', script)
    assert "5 listings" in script


def test_directory_map_rings_a_listing_that_is_only_at_a_centre():
    exact = _asset(1)
    rough = _asset(2, last_verified_at=utcnow() - timedelta(days=400))
    area = rough.location.model_copy(update={"precision": "postcode"})
    rough = rough.model_copy(update={"location": area})
    script = render_parts(directory_map([exact], settings=OFFLINE), OFFLINE).script
    assert "Ringed:" not in script
    script = render_parts(directory_map([exact, rough], settings=OFFLINE), OFFLINE).script
    assert re.search(r'"asset00002", 3,', script)  # stale (1) and only a centre (2)
    assert re.search(r'"asset00001", 0,', script)
    assert "The map shows the postcode's centre: ask the organiser" in script
    assert "Ringed: shown at its postcode" in script


def test_empty_directory_map_renders():
    script = render_parts(directory_map([], settings=OFFLINE), OFFLINE).script
    assert "0 listings" in script


def test_the_directory_legend_counts_like_prose():
    script = render_parts(directory_map([_asset(1)], settings=OFFLINE), OFFLINE).script
    assert "\\u003e1 listing\\u003c/summary" in script  # the legend's heading
    assert "1 listings" not in script


# --- coverage map -----------------------------------------------------------------------------


def _cells() -> gpd.GeoDataFrame:
    boxes = [shapely.box(-1.80 + i * 0.01, 53.79, -1.79 + i * 0.01, 53.80) for i in range(6)]
    return gpd.GeoDataFrame(
        {
            "access": [0.0, 0.5, 1.0, 2.0, 4.0, np.nan],
            "population": [100, 200, 300, 400, 500, 600],
            "gap": [True, False, False, False, False, True],
        },
        geometry=boxes,
        crs="EPSG:4326",
    )


def test_coverage_classes_run_light_to_dark_and_missing_is_grey():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0, np.nan])
    breaks = class_breaks(values)
    assert breaks[0] == 0.0 and breaks[-1] == 4.0
    colours = class_colours(values, breaks)
    assert colours[0] == COVERAGE_COLOURS[0]
    assert colours[4] == COVERAGE_COLOURS[-1]
    assert colours[5] == NO_DATA_COLOUR
    # Minutes to the nearest asset: fewer is better, so the shortest times are darkest.
    minutes = class_colours(values, breaks, higher_is_better=False)
    assert minutes[0] == COVERAGE_COLOURS[-1] and minutes[4] == COVERAGE_COLOURS[0]
    assert minutes[5] == NO_DATA_COLOUR


def test_coverage_map_colours_cells_and_outlines_gaps():
    m = coverage_map(
        _cells(), "access", label="Groups within 20 min", gap_column="gap",
        tooltip_columns=["population"], settings=OFFLINE,
    )  # fmt: skip
    parts = render_parts(m, OFFLINE)
    assert COVERAGE_COLOURS[0] in parts.script and NO_DATA_COLOUR in parts.script
    assert "Gap (2 units)" in parts.script
    assert "Groups within 20 min" in parts.script
    assert not EXTERNAL.findall(parts.header)


def test_coverage_map_reprojects_and_checks_columns():
    cells = _cells().to_crs(27700)
    m = coverage_map(cells, "access", settings=OFFLINE)
    assert "53.79" in render_parts(m, OFFLINE).script
    with pytest.raises(InvalidInputError, match="`cells` has no column 'nope'"):
        coverage_map(cells, "nope", settings=OFFLINE)
    with pytest.raises(InvalidInputError, match="`bins` must increase"):
        coverage_map(cells, "access", bins=[0, 2, 1], settings=OFFLINE)


# --- pages (no browser) -----------------------------------------------------------------------


@pytest.fixture
def page_client(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from geo_assets.settings import Settings
    from geo_assets.store import open_store

    url = f"sqlite:///{tmp_path / 'pages.sqlite'}"
    store = open_store(url)
    store.upgrade()
    store.bulk_upsert(
        [_asset(i, source="test", source_id=str(i)) for i in range(5)]
        + [_asset(9, status="draft", source="test", source_id="9")]
    )
    store.close()
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        yield app, client


def test_directory_page_embeds_the_map_in_our_layout(page_client, tmp_path):
    app, client = page_client
    app.state.map_settings = MapSettings(map_assets="cdn", tiles="none")
    response = client.get("/map")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert '<a class="skip-link" href="#main">' in response.text
    assert 'aria-label="Map of listings"' in response.text
    assert "5 published listings" in response.text
    assert "L.markerClusterGroup(" in response.text


def test_map_pages_say_how_to_fetch_missing_assets(page_client, tmp_path):
    app, client = page_client
    app.state.map_settings = MapSettings(map_assets="local", static_dir=tmp_path / "none")
    for path in ("/map", "/map/results", "/docs"):
        response = client.get(path)
        assert response.status_code == 503
        assert "ensure_assets.sh" in response.text


@pytest.mark.skipif(bool(missing_files(MapSettings().static_dir)), reason="assets not fetched")
def test_the_api_docs_load_swagger_ui_from_our_static_folder(page_client):
    app, client = page_client
    app.state.map_settings = MapSettings(map_assets="local")
    page = client.get("/docs")
    assert page.status_code == 200
    linked = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert linked and all(url.startswith("/") for url in linked), linked
    for url in linked:
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404  # ReDoc has no local copy
    # GEO_ASSETS_MAP_ASSETS=cdn keeps FastAPI's own page, as it keeps Folium's links
    app.state.map_settings = MapSettings(map_assets="cdn")
    assert "swagger-ui-dist@5" in client.get("/docs").text


@pytest.mark.skipif(bool(missing_files(MapSettings().static_dir)), reason="assets not fetched")
def test_static_files_are_served_compressed(page_client):
    _, client = page_client
    response = client.get("/static/leaflet/dist/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
    assert "javascript" in response.headers["content-type"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_rendered_map_scripts_are_valid_javascript(tmp_path):
    maps = {
        "results": results_map(ORIGIN, [("walk", 20)], [_match(_asset(1))], settings=OFFLINE),
        "directory": directory_map(_directory_assets(), settings=OFFLINE),
        "coverage": coverage_map(_cells(), "access", gap_column="gap", settings=OFFLINE),
    }
    for name, m in maps.items():
        path = tmp_path / f"{name}.js"
        path.write_text(render_parts(m, OFFLINE).script, encoding="utf-8")
        checked = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{name}: {checked.stderr}"


def test_directory_page_is_rebuilt_when_published_listings_change(page_client):
    import dataclasses

    app, client = page_client
    app.state.map_settings = MapSettings(map_assets="cdn", tiles="none")
    store = app.state.store
    cache = app.state.directory_map_cache
    assert "5 published listings" in client.get("/map").text
    first = cache._entry
    assert "5 published listings" in client.get("/map").text
    assert cache._entry is first  # reused
    store.bulk_upsert([_asset(20, source="test", source_id="20")])
    assert "6 published listings" in client.get("/map").text  # count changed
    # An edit after the newest change drawn (stamps have whole seconds: move it back).
    cache._entry = dataclasses.replace(
        cache._entry, latest=cache._entry.latest - timedelta(seconds=5)
    )
    store.update_asset("asset00001", {"name": "Renamed group"})
    assert "Renamed group" in client.get("/map").text


def test_every_local_file_comes_from_a_locked_npm_package_copied_by_the_setup_script():
    import json
    from pathlib import Path

    from maps.assets import TEST_FILES

    root = Path(__file__).resolve().parent.parent
    package = json.loads((root / "maps/static-src/package.json").read_text())
    lock = json.loads((root / "maps/static-src/package-lock.json").read_text())
    script = (root / "scripts/ensure_assets.sh").read_text()
    copied = re.search(r"COPY=\((.*?)\)", script, re.S).group(1).split()
    for path in [p for p in LOCAL_FILES.values() if p] + list(TEST_FILES.values()):
        parts = path.split("/")
        name = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]
        assert name in package["dependencies"], path
        assert f"node_modules/{name}" in lock["packages"], path
        assert any(path == c or path.startswith(c + "/") for c in copied), path
    assert "resolved" not in json.dumps(lock)  # no registry address in the repo


def test_the_public_map_shows_a_hostile_name_as_written(page_client):
    """An organisation names its listing "{{ ... }}": the public map (every visitor's)
    still draws, and shows the words, never what they would compute."""
    app, client = page_client
    app.state.map_settings = MapSettings(map_assets="cdn", tiles="none")
    for i, text in enumerate((TEMPLATE_TEXT, BROKEN_TEXT)):
        app.state.store.update_asset(f"asset0000{i}", {"name": text})
    page = client.get("/map")
    assert page.status_code == 200
    assert "pwned" not in page.text and page.text.count("Knit {\u200b{") == 2
