"""The demo sample (data/sample/) and the national benchmark generator."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from geo_assets.geodesy import geodesic_m
from geo_assets.model import ASSET_KINDS, Asset
from geo_assets.sample import (
    ASSETS_FILE,
    ORGANISATIONS_FILE,
    SAMPLE_DIR,
    load_sample,
    read_sample,
    write_sample,
)
from geo_assets.store import Store
from geo_assets.store.base import AssetFilters
from geo_assets.synthetic import (
    BRADFORD_CENTRES,
    NATIONAL_EXTENT,
    SAMPLE_EXTENT,
    VOCABULARY_PATH,
    densest_town,
    generate_sample,
    national_assets,
    national_towns,
)
from geo_assets.taxonomy import default_taxonomy


@pytest.fixture(scope="module")
def sample() -> tuple[list, list[Asset]]:
    orgs, assets = read_sample()
    return list(orgs), list(assets)


def test_generating_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in write_sample(tmp_path / "a")]
    second = [p.read_bytes() for p in write_sample(tmp_path / "b")]
    assert first == second


def test_committed_files_match_the_generator(tmp_path: Path) -> None:
    """Compared decompressed, so a different zlib build cannot make this fail."""
    write_sample(tmp_path)
    for name in (ORGANISATIONS_FILE, ASSETS_FILE):
        committed = gzip.decompress((SAMPLE_DIR / name).read_bytes())
        fresh = gzip.decompress((tmp_path / name).read_bytes())
        assert committed == fresh, f"{name} is stale: run `geo-assets sample generate`"


def test_sample_size_and_coverage(sample: tuple[list, list[Asset]]) -> None:
    orgs, assets = sample
    assert 1900 <= len(assets) <= 2100
    assert 200 <= len(orgs) <= 300
    taxonomy = default_taxonomy()
    roots = Counter(taxonomy.root_of(a.categories[0]) for a in assets)
    assert set(roots) == {t.id for t in taxonomy.roots()}
    assert min(roots.values()) >= 20
    assert set(Counter(a.kind for a in assets)) == set(ASSET_KINDS)


def test_sample_ids_and_references(sample: tuple[list, list[Asset]]) -> None:
    orgs, assets = sample
    by_id = {a.id: a for a in assets}
    assert len(by_id) == len(assets)
    assert len({(a.source, a.source_id) for a in assets}) == len(assets)
    assert all(a.source == "sample" for a in assets)
    assert len({a.name for a in assets}) == len(assets)
    with_venue = [a for a in assets if a.venue_id is not None]
    assert len(with_venue) > 300
    for asset in with_venue:
        venue = by_id[asset.venue_id]
        assert venue.kind == "venue"
        assert asset.point == venue.point
    org_ids = {o.id for o in orgs}
    owned = Counter(a.organisation_id for a in assets if a.organisation_id is not None)
    assert set(owned) == org_ids
    assert min(owned.values()) >= 2


def test_sample_is_inside_bradford_and_varied(sample: tuple[list, list[Asset]]) -> None:
    _, assets = sample
    south, north, west, east = SAMPLE_EXTENT
    assert all(south <= a.location.lat <= north and west <= a.location.lon <= east for a in assets)
    statuses = Counter(a.status for a in assets)
    assert statuses["published"] > 0.9 * len(assets) and statuses["pending"] and statuses["draft"]
    frequencies = Counter(s.frequency for a in assets for s in a.sessions)
    assert set(frequencies) == {"weekly", "fortnightly", "monthly"}
    free = sum(1 for a in assets if a.cost.free)
    assert 0.3 * len(assets) < free < 0.9 * len(assets)
    assert any(a.cost.concessions for a in assets)
    assert any(a.eligibility.gender == "women" for a in assets)
    assert any("carers" in a.eligibility.groups for a in assets)
    assert any(a.eligibility.min_age for a in assets)
    languages = {code for a in assets for code in a.languages}
    assert {"en", "ur", "pa", "pl", "bn"} <= languages
    assert any("wheelchair" in a.accessibility.features for a in assets)
    verified = [a.last_verified_at for a in assets if a.last_verified_at is not None]
    assert (max(verified) - min(verified)).days > 600


def test_every_listing_names_the_place_its_point_is_in(sample: tuple[list, list[Asset]]) -> None:
    """A point drawn around one centre can land nearer another; the listing then names the
    nearer one, in its place, address, description and name (a street such as Bradford Road
    aside), and a group at a venue meets at one of that place."""
    _, assets = sample
    points = np.array([[a.location.lat, a.location.lon] for a in assets])
    metres = np.stack([geodesic_m((c.lat, c.lon), points) for c in BRADFORD_CENTRES])
    nearest = [BRADFORD_CENTRES[k].name for k in metres.argmin(axis=0)]
    elsewhere = [a.name for a, n in zip(assets, nearest, strict=True) if a.location.place != n]
    assert elsewhere == []
    vocabulary = json.loads(VOCABULARY_PATH.read_text(encoding="utf-8"))
    streets = re.compile("|".join(map(re.escape, vocabulary["streets"])))
    shorts = {c.name: c.name.removesuffix(" city centre") for c in BRADFORD_CENTRES}
    for asset in assets:
        short = shorts[asset.location.place]
        assert asset.location.address and asset.location.address.endswith(f", {short}")
        assert f" in {short}, open to " in asset.description
        text = streets.sub("", f"{asset.name} {asset.description}")
        others = [p for p in shorts.values() if p != short and re.search(rf"\b{p}\b", text)]
        assert others == [], asset.name


def _name_pattern(pattern: str) -> re.Pattern[str]:
    """A vocabulary name pattern as a regex: any {place} or {saint}, and the " (...)" that
    tells a repeated name apart."""
    parts = re.split(r"\{\w+\}", pattern)
    return re.compile(".+".join(map(re.escape, parts)) + r"( \(.+\))?")


def test_faith_organisations_keep_to_one_tradition(sample: tuple[list, list[Asset]]) -> None:
    """A parish runs no Jewish group and a mosque no church hall: what a faith organisation
    runs is its own tradition's, by category or by a building's name, or no tradition's."""
    orgs, assets = sample
    vocabulary = json.loads(VOCABULARY_PATH.read_text(encoding="utf-8"))
    traditions = vocabulary["roots"]["faith"]["traditions"]

    def named(name: str, key: str) -> set[str]:
        return {
            t
            for t, v in traditions.items()
            for patterns in ([v[key]] if key == "organisations" else v[key].values())
            for p in patterns
            if _name_pattern(p).fullmatch(name)
        }

    tradition_of = {}
    for org in orgs:
        found = named(org.name, "organisations")
        assert len(found) <= 1, org.name
        if found:
            tradition_of[org.id] = found.pop()
    assert len(set(tradition_of.values())) >= 5
    runs = Counter()
    faith_buildings = {t for v in traditions.values() for t in v["venues"]}
    for asset in assets:
        tradition = tradition_of.get(asset.organisation_id or "")
        if tradition is None:
            # Nor does an organisation of no faith own a place of worship or a church hall.
            owned = asset.organisation_id is not None and asset.kind == "venue"
            assert not (owned and asset.categories[0] in faith_buildings), asset.name
            continue
        term = asset.categories[0]
        by_term = {t for t, v in traditions.items() if term in v["terms"]}
        by_name = named(asset.name, "venues") if asset.kind == "venue" else set()
        for claimed in (by_term, by_name):
            assert not claimed or tradition in claimed, (asset.name, term, tradition)
        runs[tradition] += bool(by_term or by_name)
    assert min(runs[t] for t in set(tradition_of.values())) >= 1


def test_generate_sample_is_deterministic() -> None:
    _, first = generate_sample(seed=7)
    _, again = generate_sample(seed=7)
    assert [a.model_dump() for a in first[:50]] == [a.model_dump() for a in again[:50]]


def test_national_assets_are_deterministic_and_prefix_stable() -> None:
    first = [a.model_dump_json() for a in national_assets(1000)]
    assert first == [a.model_dump_json() for a in national_assets(1000)]
    assert first[:300] == [a.model_dump_json() for a in national_assets(300)]
    assert first != [a.model_dump_json() for a in national_assets(1000, seed=2)]


def test_national_towns_follow_zipf() -> None:
    towns = national_towns()
    assert len(towns) == 300
    assert [t.weight for t in towns[:3]] == [1.0, 0.5, pytest.approx(1 / 3)]
    south, north, west, east = NATIONAL_EXTENT
    assert all(south <= t.lat <= north and west <= t.lon <= east for t in towns)
    assert densest_town() == towns[0]


def test_densest_town_holds_about_16_percent() -> None:
    town = densest_town()
    assets = list(national_assets(20_000))
    share = sum(1 for a in assets if a.location.place == town.name) / len(assets)
    assert 0.12 <= share <= 0.20
    roots = {default_taxonomy().root_of(a.categories[0]) for a in assets}
    assert roots == {t.id for t in default_taxonomy().roots()}
    assert all(a.organisation_id is None and a.status == "published" for a in assets[:100])


def test_load_sample_twice_never_duplicates(store: Store) -> None:
    created, report = load_sample(store)
    assert created > 200
    assert report.inserted == report.total and report.updated == 0
    count = store.count_assets()
    assert count == report.total

    created_again, again = load_sample(store)
    assert created_again == 0
    assert again.inserted == 0 and again.updated == report.total
    assert again.ids == report.ids
    assert store.count_assets() == count
    published = store.count_assets(AssetFilters(statuses=["published"]))
    assert 0.9 * count < published < count
