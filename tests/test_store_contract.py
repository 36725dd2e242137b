"""The store contract: one suite, run against SQLite and PostGIS through the ``store`` fixture.

Written against the ``Store`` protocol only. Expected answers come from the
reference functions in ``tests/factories.py`` (plain Python restating the
contract; distances from pyproj's WGS84 ``Geod``). The last section loads the
same data into both stores and checks they answer a battery of queries alike.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from datetime import timedelta, timezone
from typing import NamedTuple

import pytest
from factories import (
    BRISTOL,
    FIJI,
    LEEDS,
    ORG_A,
    ORG_B,
    Loaded,
    bulk_records,
    catalogue,
    catalogue_orgs,
    distances_m,
    dump_assets,
    ids,
    invalid_field,
    load,
    make_asset,
    make_org,
    name_ordered,
    nearby_problems,
    pick_terms,
    reference_list,
    reference_within,
    rich_asset,
    same_hits,
    spatial_dataset,
    stable_id,
    without_store_fields,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_assets.auth import User
from geo_assets.duplicates import merge
from geo_assets.errors import BulkValidationError, ConflictError, InvalidInputError, NotFoundError
from geo_assets.model import Asset, BBox
from geo_assets.store.base import (
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_RADIUS_M,
    AssetFilters,
    NearbyHit,
    Store,
)
from geo_assets.store.migrations import migrations

FEW = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _sleep_to_next_second() -> None:
    """Timestamps have second precision: wait until the clock has surely moved on."""
    time.sleep(1.02 - time.time() % 1)


@pytest.fixture
def cat(store: Store) -> Loaded:
    """The store with the hand-written catalogue (and its organisations) created one by one."""
    for org in catalogue_orgs():
        store.create_organisation(org)
    return Loaded(store, [store.create_asset(a) for a in catalogue()])


@pytest.fixture
def spatial(store: Store) -> Loaded:
    """The store with ~330 points around Leeds, Bristol, the antimeridian and the poles."""
    data = spatial_dataset()
    load(store, data)
    return Loaded(store, data)


# --- schema ---------------------------------------------------------------------------------------


def test_upgrade_twice_changes_nothing(store: Store) -> None:
    store.create_asset(make_asset(id="keep-me"))
    assert store.upgrade() == []
    store.ping()
    assert store.get_asset("keep-me").name == "Test Group"


@pytest.mark.parametrize("dialect", ["postgis", "sqlite"])
def test_every_backfill_says_which_table_it_rewrites(dialect: str) -> None:
    """A migration that updates stored rows declares it (``-- rewrites: assets``), or
    the upgrade would leave its dead rows and stale statistics behind."""
    for migration in migrations(dialect):
        updated = set(re.findall(r"^UPDATE (\w+)", migration.sql, re.M))
        assert set(migration.rewrites) == updated, migration.name


# --- organisations --------------------------------------------------------------------------------


def test_organisation_round_trip_and_conflict(store: Store) -> None:
    org = make_org(id="org-1", email="hello@example.org", url="https://example.org", version=9)
    created = store.create_organisation(org)
    assert without_store_fields(created) == without_store_fields(org)
    assert created.version == 1
    assert created.created_at is not None and created.created_at == created.updated_at
    assert created.created_at.utcoffset() == timedelta(0) and created.created_at.microsecond == 0
    assert store.get_organisation("org-1") == created
    with pytest.raises(ConflictError):
        store.create_organisation(make_org(id="org-1", name="Someone else"))


def test_organisation_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError) as exc:
        store.get_organisation("nope")
    assert exc.value.kind == "organisation" and exc.value.ident == "nope"
    with pytest.raises(NotFoundError):
        store.update_organisation("nope", {"name": "x"})
    with pytest.raises(NotFoundError):
        store.archive_organisation("nope")


def test_organisation_patch_and_archive(store: Store) -> None:
    created = store.create_organisation(make_org(id="org-1", phone="0113 000"))
    updated = store.update_organisation("org-1", {"description": "Now bigger."})
    assert updated.description == "Now bigger." and updated.phone == "0113 000"
    assert updated.name == created.name and updated.version == 2
    assert updated.created_at == created.created_at
    assert store.get_organisation("org-1") == updated
    for owned in ("id", "version", "created_at", "updated_at"):
        with pytest.raises(InvalidInputError) as exc:
            store.update_organisation("org-1", {owned: "2020-01-01T00:00:00Z"})
        assert exc.value.field == owned
    with pytest.raises(ValueError):
        store.update_organisation("org-1", {"name": "  "})
    assert store.get_organisation("org-1") == updated
    archived = store.archive_organisation("org-1")
    assert archived.status == "archived" and archived.version == 3
    assert store.get_organisation("org-1") == archived
    assert ids(store.list_organisations().items) == ["org-1"]  # archived ones are still listed


def test_an_organisation_nothing_names_can_be_deleted(store: Store) -> None:
    store.create_organisation(make_org(id="unused"))
    store.create_organisation(make_org(id="listed"))
    store.create_asset(make_asset(organisation_id="listed"))
    store.create_organisation(make_org(id="staffed"))
    store.create_user(User(name="Olu", role="organisation", organisation_id="staffed"))
    store.delete_organisation("unused", actor="import")
    with pytest.raises(NotFoundError):
        store.get_organisation("unused")
    assert [e.action for e in store.list_audit("unused").items] == ["delete"]
    for named in ("listed", "staffed"):
        with pytest.raises(ConflictError, match="archive it instead"):
            store.delete_organisation(named)
        assert store.get_organisation(named).id == named
    with pytest.raises(NotFoundError):
        store.delete_organisation("unused")


def test_organisation_list_order_and_paging(store: Store) -> None:
    names = ["beta", "Alpha", "alpha", "Ärger", "Zed", "zebra", "Straße", "strasse", "ALPHA"]
    orgs = [store.create_organisation(make_org(id=stable_id("org", n), name=n)) for n in names]
    expected = name_ordered(orgs)  # type: ignore[arg-type]
    first = store.list_organisations(page=1, per_page=4)
    assert (first.total, first.page, first.per_page, first.pages) == (9, 1, 4, 3)
    seen = []
    for page in (1, 2, 3):
        got = store.list_organisations(page=page, per_page=4)
        assert got.total == 9
        seen += ids(got.items)
    assert seen == expected
    assert len(store.list_organisations(page=3, per_page=4).items) == 1
    beyond = store.list_organisations(page=4, per_page=4)
    assert beyond.items == [] and beyond.total == 9
    for bad in (0, MAX_PER_PAGE + 1):
        with pytest.raises(InvalidInputError) as exc:
            store.list_organisations(per_page=bad)
        assert exc.value.field == "per_page"


def test_timestamps_move_on_update(store: Store) -> None:
    org = store.create_organisation(make_org(id="org-t"))
    asset = store.create_asset(make_asset(id="asset-t"))
    _sleep_to_next_second()
    org2 = store.update_organisation("org-t", {"name": "Renamed"})
    asset2 = store.update_asset("asset-t", {"name": "Renamed"})
    for before, after in ((org, org2), (asset, asset2)):
        assert after.created_at == before.created_at
        assert after.updated_at is not None and before.updated_at is not None
        assert after.updated_at > before.updated_at
        assert after.version == before.version + 1
    _sleep_to_next_second()
    archived = store.archive_asset("asset-t")
    assert archived.updated_at > asset2.updated_at and archived.version == 3  # type: ignore[operator]


def test_an_update_expecting_an_old_version_is_refused_and_changes_nothing(store: Store) -> None:
    asset = store.create_asset(make_asset(id="asset-v"))
    moved = store.update_asset("asset-v", {"name": "Changed elsewhere"})
    with pytest.raises(ConflictError):
        store.update_asset("asset-v", {"name": "Lost update"}, expected_version=asset.version)
    assert store.get_asset("asset-v") == moved
    kept = store.update_asset("asset-v", {"name": "Next"}, expected_version=moved.version)
    assert (kept.name, kept.version) == ("Next", moved.version + 1)


# --- assets: single records -----------------------------------------------------------------------


def test_asset_round_trip(store: Store) -> None:
    store.create_organisation(make_org(id="org-1"))
    asset = rich_asset(organisation_id="org-1", version=4)
    created = store.create_asset(asset)
    assert without_store_fields(created) == without_store_fields(asset)
    assert created.version == 1 and created.created_at == created.updated_at
    assert created.created_at is not None and created.created_at.utcoffset() == timedelta(0)
    assert store.get_asset(asset.id) == created


def test_asset_create_conflicts_and_bad_organisation(store: Store) -> None:
    store.create_asset(make_asset(id="a1", source="src", source_id="1"))
    with pytest.raises(ConflictError):
        store.create_asset(make_asset(id="a1", name="Other"))
    with pytest.raises(ConflictError):
        store.create_asset(make_asset(id="a2", source="src", source_id="1"))
    with pytest.raises(InvalidInputError) as exc:
        store.create_asset(make_asset(id="a3", organisation_id="no-such-org"))
    assert exc.value.field == "organisation_id"
    assert store.count_assets() == 1
    with pytest.raises(NotFoundError) as nf:
        store.get_asset("a3")
    assert nf.value.kind == "asset" and nf.value.ident == "a3"


@pytest.mark.parametrize("bad", ["a/b", "a?b", "a#b", "a%2Fb", "a b", ".", "..", "-a", "café"])
def test_a_new_record_whose_id_would_break_its_address_is_refused(store: Store, bad: str) -> None:
    with pytest.raises(InvalidInputError) as org_exc:
        store.create_organisation(make_org(id=bad))
    with pytest.raises(InvalidInputError) as asset_exc:
        store.create_asset(make_asset(id=bad))
    assert org_exc.value.field == asset_exc.value.field == "id"
    assert repr(bad) in str(asset_exc.value)
    assert store.count_assets() == 0
    assert store.list_organisations().total == 0


def test_ids_made_of_letters_digits_and_unreserved_marks_are_kept(store: Store) -> None:
    for i, good in enumerate(["A", "7", "knit-001", "club_2.b~c", "x.." + "y" * 97]):
        org = store.create_organisation(make_org(id=good))
        asset = store.create_asset(make_asset(id=good, organisation_id=org.id))
        assert (org.id, asset.id) == (good, good)
        assert store.get_asset(good).organisation_id == good
        assert store.count_assets() == i + 1


def test_asset_patch_nested_field_keeps_the_rest_and_moves_the_point(store: Store) -> None:
    created = store.create_asset(rich_asset())
    old_lat, old_lon = created.point
    updated = store.update_asset(created.id, {"location": {"lat": 53.9}})
    assert updated.location.lat == 53.9 and updated.location.lon == old_lon
    assert updated.location.address == created.location.address
    assert updated.location.footprint == created.location.footprint
    # rich_asset stands at its postcode's centre; a pin moved by hand is a point.
    assert (created.location.precision, updated.location.precision) == ("postcode", "point")
    assert updated.sessions == created.sessions and updated.version == 2
    assert store.get_asset(created.id) == updated
    # The spatial index must follow the document.
    assert ids(store.nearby(53.9, old_lon, 50)) == [created.id]
    assert store.nearby(old_lat, old_lon, 50) == []
    box = BBox(west=old_lon - 0.01, south=53.89, east=old_lon + 0.01, north=53.91)
    assert ids(store.within(box)) == [created.id]


def test_asset_patch_that_leaves_the_point_keeps_its_precision(store: Store) -> None:
    created = store.create_asset(rich_asset())
    renamed = store.update_asset(created.id, {"location": {"address": "Plot 5"}})
    assert renamed.location.precision == "postcode"
    said = store.update_asset(created.id, {"location": {"lat": 53.9, "precision": "area"}})
    assert said.location.precision == "area"


def test_asset_patch_updates_indexed_fields(store: Store) -> None:
    t = pick_terms()
    store.create_asset(make_asset(id="a1", name="Knitting Circle", categories=[t.other_root]))
    store.update_asset(
        "a1", {"name": "Pottery Class", "categories": [t.grandchild], "status": "pending"}
    )
    assert store.count_assets(AssetFilters(text="knit")) == 0
    assert ids(store.list_assets(AssetFilters(text="pottery")).items) == ["a1"]
    assert ids(store.list_assets(AssetFilters(categories=[t.root])).items) == ["a1"]
    assert store.count_assets(AssetFilters(categories=[t.other_root])) == 0
    assert store.count_assets(AssetFilters(statuses=["published"])) == 0
    assert store.count_assets(AssetFilters(statuses=["pending"])) == 1


def test_asset_store_owned_fields_cannot_be_patched(store: Store) -> None:
    created = store.create_asset(make_asset(id="a1"))
    for owned, value in [
        ("id", "other"),
        ("created_at", "2001-01-01T00:00:00Z"),
        ("updated_at", "2001-01-01T00:00:00Z"),
        ("version", 7),
    ]:
        changes = {owned: value, "name": "Changed"}
        assert invalid_field(lambda c=changes: store.update_asset("a1", c)) == owned
    assert store.get_asset("a1") == created


INVALID_PATCHES = {
    "lat95": {"location": {"lat": 95}},
    "latnan": {"location": {"lat": float("nan")}},
    "emptyname": {"name": ""},
    "badcategory": {"categories": ["no.such.term"]},
    "unknownfield": {"no_such_field": 1},
    "sessionorder": {"sessions": [{"weekdays": ["mo"], "start": "12:00", "end": "11:00"}]},
}


def test_asset_invalid_patch_changes_nothing(store: Store) -> None:
    created = store.create_asset(make_asset(id="a1"))
    before = dump_assets(store)
    for label, changes in INVALID_PATCHES.items():
        with pytest.raises(ValueError):  # InvalidInputError or pydantic's ValidationError
            store.update_asset("a1", changes)
        assert dump_assets(store) == before, label
    assert ids(store.nearby(*created.point, 1.0)) == ["a1"]


def test_asset_patch_that_clashes_changes_nothing(store: Store) -> None:
    store.create_organisation(make_org(id="org-1"))
    store.create_asset(make_asset(id="a1", source="src", source_id="1", organisation_id="org-1"))
    store.create_asset(make_asset(id="a2", source="src", source_id="2"))
    before = dump_assets(store)
    with pytest.raises(InvalidInputError) as exc:
        store.update_asset("a1", {"organisation_id": "no-such-org"})
    assert exc.value.field == "organisation_id"
    with pytest.raises(ConflictError):
        store.update_asset("a2", {"source_id": "1"})
    assert dump_assets(store) == before


def test_asset_archive_and_not_found(store: Store) -> None:
    store.create_asset(make_asset(id="a1"))
    archived = store.archive_asset("a1")
    assert archived.status == "archived" and archived.version == 2
    assert store.get_asset("a1") == archived
    assert ids(store.list_assets().items) == ["a1"]
    assert ids(store.list_assets(AssetFilters(statuses=["archived"])).items) == ["a1"]
    assert store.list_assets(AssetFilters(statuses=["published"])).items == []
    assert ids(store.nearby(*LEEDS, 10)) == ["a1"]
    for call in (store.get_asset, store.archive_asset):
        with pytest.raises(NotFoundError):
            call("missing")
    with pytest.raises(NotFoundError):
        store.update_asset("missing", {"name": "x"})


# --- list_assets and count_assets -----------------------------------------------------------------


FILTER_CASES = {
    "none": {},
    "kind": {"kinds": ["club"]},
    "kinds": {"kinds": ["group", "venue"]},
    "root-incl-grandchildren": {"categories": ["root"]},
    "child": {"categories": ["child"]},
    "grandchild": {"categories": ["grandchild"]},
    "two-roots": {"categories": ["root", "other_root"]},
    "status": {"statuses": ["archived"]},
    "statuses": {"statuses": ["draft", "pending"]},
    "org": {"organisation_id": ORG_A},
    "org-unknown": {"organisation_id": "nobody"},
    "kind+status": {"kinds": ["group"], "statuses": ["published"]},
    "cat+text": {"categories": ["root"], "text": "garden"},
    "cat+kind+status": {"categories": ["root"], "kinds": ["club"], "statuses": ["pending"]},
    "text+org": {"text": "circle", "organisation_id": ORG_B},
    "empty-kinds": {"kinds": []},  # IN (): matches nothing
    "empty-statuses": {"statuses": [], "text": "club"},
    "empty-categories": {"categories": []},  # expanded_categories() is None: no condition
}


def _filters(spec: dict) -> AssetFilters:
    """AssetFilters from a spec naming categories by their role in ``pick_terms()``."""
    if "categories" in spec:
        t = pick_terms()
        spec = {**spec, "categories": [getattr(t, c) for c in spec["categories"]]}
    return AssetFilters(**spec)


def test_list_filters_match_reference(cat: Loaded) -> None:
    store, assets = cat
    by_id = {a.id: a for a in assets}
    failures = []
    for label, spec in FILTER_CASES.items():
        filters = _filters(spec)
        expected = reference_list(assets, filters)
        got = store.list_assets(filters, per_page=100)
        if ids(got.items) != expected:
            failures.append(f"{label}: got {ids(got.items)}, want {expected}")
        elif got.items != [by_id[i] for i in expected]:
            failures.append(f"{label}: documents differ from the stored ones")
        if not got.total == len(expected) == store.count_assets(filters):
            failures.append(f"{label}: total {got.total} / count {store.count_assets(filters)}")
        by_org = Counter(by_id[i].organisation_id for i in expected)
        if store.count_assets_by_organisation(filters) != by_org:
            failures.append(
                f"{label}: per organisation {store.count_assets_by_organisation(filters)}"
            )
    assert not failures, "\n".join(failures)


def test_category_filter_includes_descendants(cat: Loaded) -> None:
    store, assets = cat
    t = pick_terms()
    tagged_grandchild = {a.id for a in assets if a.categories == [t.grandchild]}
    assert tagged_grandchild
    for term in (t.root, t.child, t.grandchild):
        found = set(ids(store.list_assets(AssetFilters(categories=[term]), per_page=100).items))
        assert tagged_grandchild <= found, term
    only_root = {a.id for a in assets if a.categories == [t.root]}
    found = set(ids(store.list_assets(AssetFilters(categories=[t.child]), per_page=100).items))
    assert not only_root & found


TEXT_CASES = [
    # (query, names that must be among the hits, or None for "no hits at all")
    ("garden", ["Allotment Gardening Club", "Garden Volunteers", "Gardeners' Question Time"]),
    ("GARDEN", ["Allotment Gardening Club", "Garden Volunteers"]),
    ("gardeni", ["Allotment Gardening Club", "Gardeners' Question Time"]),
    ("arden", None),  # a prefix of a word, not a substring
    ("knit circle", ["Knitting Circle", "knitting circle"]),
    ("knit tea", ["Knitting Circle"]),  # words may match in name or description
    ("and", ["Rock and Roll Dance", "Chess and Draughts"]),  # no stop words
    ("rock and roll", ["Rock and Roll Dance"]),
    ("o'brien; drop table", ["O'Brien Drop-in Table Tennis"]),
    ("'; DROP TABLE assets; --", None),
    ('" OR 1=1 --', None),
    ("100% _x_", None),
    ("not near", None),  # FTS query-language words are plain words here
    ("café", ["Café Society", "Community Centre"]),
    ("cafe", None),  # text_terms() folds case, not accents
    ("straße", ["Straße Walkers"]),  # case folding: "straße" -> "strasse" on both sides
    ("STRASSE walk", ["Straße Walkers"]),
    ("ÉLAN", ["Élan Dance Studio"]),
    ("zum", ["Zumba Gold"]),
    ("dance fit", ["Zumba Gold"]),
    ("*", ["Library", "Book Club"]),  # no words at all: no text condition
]


def test_text_filter(cat: Loaded) -> None:
    store, assets = cat
    failures = []
    for query, names in TEXT_CASES:
        filters = AssetFilters(text=query)
        got = store.list_assets(filters, per_page=100)
        expected = reference_list(assets, filters)
        found = [a.name for a in got.items]
        if ids(got.items) != expected:
            want = [a.name for a in assets if a.id in expected]
            failures.append(f"{query!r}: got {found}, want {want}")
        elif not got.total == len(expected) == store.count_assets(filters):
            failures.append(f"{query!r}: total {got.total} / count differ from {len(expected)}")
        if not ((not found) if names is None else set(names) <= set(found)):
            failures.append(f"{query!r}: want {names or 'nothing'} among {found}")
    assert not failures, "\n".join(failures)


def test_list_order_is_casefolded_name_then_id(cat: Loaded) -> None:
    store, assets = cat
    got = ids(store.list_assets(per_page=MAX_PER_PAGE).items)
    assert got == name_ordered(assets)
    names = [a.name for a in store.list_assets(per_page=MAX_PER_PAGE).items]
    assert names[-2:] == ["Ärger Management Workshop", "Élan Dance Studio"]  # bytes, not locale


def test_list_paging(cat: Loaded) -> None:
    store, assets = cat
    expected = name_ordered(assets)
    pages = [store.list_assets(page=p, per_page=6) for p in (1, 2, 3, 4)]
    assert [ids(p.items) for p in pages] == [expected[i : i + 6] for i in (0, 6, 12, 18)]
    assert all(p.total == 20 and p.per_page == 6 and p.pages == 4 for p in pages)
    assert len(pages[-1].items) == 2 and pages[1].page == 2
    beyond = store.list_assets(page=5, per_page=6)
    assert beyond.items == [] and beyond.total == 20
    pub = AssetFilters(statuses=["published"])
    expected_pub = reference_list(assets, pub)
    second = store.list_assets(pub, page=2, per_page=5)
    assert ids(second.items) == expected_pub[5:10] and second.total == len(expected_pub)
    assert len(store.list_assets(per_page=MAX_PER_PAGE).items) == 20
    assert ids(store.list_assets(per_page=1, page=20).items) == expected[-1:]


def test_list_paging_bounds(store: Store) -> None:
    for page, per_page, field in [
        (1, 0, "per_page"),
        (1, -5, "per_page"),
        (1, MAX_PER_PAGE + 1, "per_page"),
        (0, 10, "page"),
        (MAX_PAGE + 1, 10, "page"),
        # An offset past SQLite's and PostgreSQL's 64-bit integers, once a server error.
        (22_551_031_874_950_554, 409, "page"),
    ]:
        assert invalid_field(lambda p=page, n=per_page: store.list_assets(page=p, per_page=n)) == (
            field
        )
        assert invalid_field(
            lambda p=page, n=per_page: store.list_organisations(page=p, per_page=n)
        ) == (field)


def test_the_last_page_allowed_is_empty_not_an_error(store: Store) -> None:
    store.create_organisation(make_org(id="org-last"))
    store.create_asset(make_asset(id="asset-last", organisation_id="org-last"))
    assets = store.list_assets(page=MAX_PAGE, per_page=MAX_PER_PAGE)
    assert (assets.items, assets.total, assets.page) == ([], 1, MAX_PAGE)
    orgs = store.list_organisations(page=MAX_PAGE, per_page=MAX_PER_PAGE)
    assert (orgs.items, orgs.total) == ([], 1)


def test_modified_after(store: Store) -> None:
    for i in range(3):
        store.create_asset(make_asset(id=f"a{i}", name=f"Asset {i}"))
    t0 = store.get_asset("a0").updated_at
    assert t0 is not None
    _sleep_to_next_second()
    store.update_asset("a1", {"description": "changed"})
    store.archive_asset("a2")
    t1 = store.get_asset("a1").updated_at
    assert t1 is not None and t1 > t0

    def listed(**spec: object) -> list[str]:
        filters = AssetFilters(**spec)  # type: ignore[arg-type]
        got = store.list_assets(filters)
        assert got.total == store.count_assets(filters) == len(got.items)
        return ids(got.items)

    assert listed(modified_after=t0) == ["a1", "a2"]
    assert listed(modified_after=t0 - timedelta(seconds=1)) == ["a0", "a1", "a2"]
    assert listed(modified_after=max(t1, store.get_asset("a2").updated_at)) == []  # strictly after
    plus2 = timezone(timedelta(hours=2))
    assert listed(modified_after=t0.astimezone(plus2)) == ["a1", "a2"]  # same instant
    assert listed(modified_after=t0.replace(tzinfo=None)) == ["a1", "a2"]  # naive = UTC
    assert listed(modified_after=t0, statuses=["archived"]) == ["a2"]


_FILTER_SPECS = st.fixed_dictionaries(
    {},
    optional={
        "kinds": st.lists(st.sampled_from(["group", "club", "venue", "activity"])),
        "statuses": st.lists(st.sampled_from(["draft", "pending", "published", "archived"])),
        "categories": st.lists(
            st.sampled_from(
                ["root", "child", "grandchild", "sibling", "other_root", "other_term", "third_root"]
            ),
            max_size=3,
        ),
        "text": st.sampled_from([q for q, _ in TEXT_CASES] + ["walk", "club", "k", "Tea cake"]),
        # (an empty kinds/statuses list matches nothing; an empty categories list is no filter)
        "organisation_id": st.sampled_from([ORG_A, ORG_B]),
    },
)


@FEW
@given(spec=_FILTER_SPECS, per_page=st.integers(1, 8), page=st.integers(1, 4))
def test_list_combined_filters_property(cat: Loaded, spec: dict, per_page: int, page: int) -> None:
    store, assets = cat
    filters = _filters(spec)
    expected = reference_list(assets, filters)
    got = store.list_assets(filters, page=page, per_page=per_page)
    start = (page - 1) * per_page
    assert ids(got.items) == expected[start : start + per_page]
    assert got.total == len(expected) == store.count_assets(filters)


# --- nearby ---------------------------------------------------------------------------------------


NEARBY_CENTRES = {
    "leeds": LEEDS,
    "bristol": BRISTOL,
    "leeds-edge": (LEEDS[0] + 0.05, LEEDS[1] - 0.07),
    "fiji-east": (FIJI[0], -179.99),
    "fiji-west": (FIJI[0] + 0.01, 179.98),
    "antimeridian-180": (FIJI[0], 180.0),
    "antimeridian-minus180": (FIJI[0], -180.0),
    "near-pole": (89.96, 100.0),
    "pole": (90.0, -45.0),
    "south-pole": (-90.0, 0.0),
}
NEARBY_RADII_M = [1.0, 300.0, 1_500.0, 5_000.0, 20_000.0, 300_000.0, MAX_RADIUS_M]


def test_nearby_matches_geodesic_reference(spatial: Loaded) -> None:
    store, assets = spatial
    failures = []
    for label, (lat, lon) in NEARBY_CENTRES.items():
        for radius in NEARBY_RADII_M:
            hits = store.nearby(lat, lon, radius)
            for problem in nearby_problems(hits, assets, lat, lon, radius):
                failures.append(f"{label} r={radius}: {problem}")
    assert not failures, "\n".join(failures)
    # Sanity of the data: the interesting places really have neighbours across the edge.
    fiji = {round(a.location.lon) for a in ids_to_assets(store.nearby(*FIJI, 10_000))}
    assert fiji == {180, -180}
    pole = {a.location.lon for a in ids_to_assets(store.nearby(90.0, 0.0, 12_000))}
    assert min(pole) < -90 and max(pole) > 90


def ids_to_assets(hits: list[NearbyHit]) -> list[Asset]:
    return [h.asset for h in hits]


def test_nearby_returns_whole_stored_assets(spatial: Loaded) -> None:
    store, assets = spatial
    by_id = {a.id: a for a in assets}
    hits = store.nearby(*BRISTOL, 2_000)
    assert hits
    for h in hits:
        assert without_store_fields(h.asset) == without_store_fields(by_id[h.asset.id])
        assert h.asset == store.get_asset(h.asset.id)


def test_nearby_with_filters(spatial: Loaded) -> None:
    store, assets = spatial
    t = pick_terms()
    specs = [
        {"statuses": ["published"]},
        {"kinds": ["club", "venue"]},
        {"categories": [t.root]},
        {"text": "knit"},
        {"text": "walk", "statuses": ["published", "draft"]},
        {"categories": [t.grandchild], "kinds": ["group", "club", "activity"]},
    ]
    failures = []
    for spec in specs:
        filters = AssetFilters(**spec)
        for lat, lon in (LEEDS, BRISTOL, FIJI):
            for radius in (2_000.0, 300_000.0):
                hits = store.nearby(lat, lon, radius, filters)
                for problem in nearby_problems(hits, assets, lat, lon, radius, filters):
                    failures.append(f"{spec} at {lat},{lon} r={radius}: {problem}")
    assert not failures, "\n".join(failures)


def test_nearby_limit(spatial: Loaded) -> None:
    store, _ = spatial
    full = ids(store.nearby(*LEEDS, 5_000))
    assert len(full) > 20
    for limit in (1, 5, 20, len(full), len(full) + 10):
        assert ids(store.nearby(*LEEDS, 5_000, limit=limit)) == full[:limit]
    pub = AssetFilters(statuses=["published"])
    top3 = ids(store.nearby(*LEEDS, 5_000, pub, limit=3))
    assert top3 == ids(store.nearby(*LEEDS, 5_000, pub))[:3]


def test_nearby_each_answers_as_separate_queries(spatial: Loaded) -> None:
    """The matcher's batch of pools gives each query's own answer, in order."""
    store, _ = spatial
    t = pick_terms()
    queries = [
        (AssetFilters(statuses=["published"], categories=[t.grandchild]), 30),
        (AssetFilters(statuses=["published"], categories=[t.root]), 10),
        (None, 15),
        (AssetFilters(text="walk"), None),
        (AssetFilters(statuses=["published"]), 1),
    ]
    for lat, lon in (LEEDS, BRISTOL, FIJI):
        batch = store.nearby_each(lat, lon, 20_000.0, queries)
        alone = [store.nearby(lat, lon, 20_000.0, f, limit=n) for f, n in queries]
        assert [[(h.asset.id, round(h.distance_m, 3)) for h in hits] for hits in batch] == [
            [(h.asset.id, round(h.distance_m, 3)) for h in hits] for hits in alone
        ]
    assert store.nearby_each(*LEEDS, 1_000.0, []) == []


def test_nearby_each_rejects_bad_input_before_running_any(store: Store) -> None:
    fine = (None, 5)
    assert invalid_field(lambda: store.nearby_each(*LEEDS, 1_000.0, [fine, (None, 0)])) == "limit"
    assert invalid_field(lambda: store.nearby_each(91.0, 0.0, 1_000.0, [fine])) == "lat"
    assert invalid_field(lambda: store.nearby_each(*LEEDS, -1.0, [fine])) == "radius_m"


def test_nearby_radius_is_exact(spatial: Loaded) -> None:
    """An asset at distance d is found with radius d + 5 cm and not with d - 5 cm."""
    store, assets = spatial
    failures = []
    for lat, lon in (LEEDS, BRISTOL, (FIJI[0], 179.995), (89.97, 30.0)):
        dists = distances_m(assets, lat, lon)
        for target in (800.0, 3_000.0, 9_000.0, 250_000.0):
            k = int(abs(dists - target).argmin())
            d, aid = float(dists[k]), assets[k].id
            if (abs(dists - d) < 0.2).sum() > 1:
                continue  # another asset at (almost) the same distance
            inside = ids(store.nearby(lat, lon, d + 0.05))
            outside = ids(store.nearby(lat, lon, d - 0.05))
            if aid not in inside or aid in outside:
                failures.append(f"{aid} at {d:.3f} m from {lat},{lon}")
    assert not failures, "\n".join(failures)


def test_nearby_radius_edges(store: Store) -> None:
    assert store.nearby(*LEEDS, 1_000) == []  # empty store
    for i in range(3):
        store.create_asset(make_asset(id=f"dup{2 - i}", source="s", source_id=str(i)))
    hits = store.nearby(*LEEDS, 0.001)
    assert ids(hits) == ["dup0", "dup1", "dup2"]  # same point: ties broken by id
    assert all(abs(h.distance_m) < 0.01 for h in hits)
    assert len(store.nearby(-LEEDS[0], LEEDS[1] + 180, MAX_RADIUS_M)) == 0  # antipode
    assert len(store.nearby(LEEDS[0] + 4.0, LEEDS[1], MAX_RADIUS_M)) == 3  # ~445 km


BAD_NEARBY = [
    # (lat, lon, radius_m, limit, the field the error must name)
    (91.0, 0.0, 1000.0, None, "lat"),
    (-90.5, 0.0, 1000.0, None, "lat"),
    (float("nan"), 0.0, 1000.0, None, "lat"),
    (0.0, 180.5, 1000.0, None, "lon"),
    (0.0, float("inf"), 1000.0, None, "lon"),
    (0.0, 0.0, 0.0, None, "radius_m"),
    (0.0, 0.0, -1.0, None, "radius_m"),
    (0.0, 0.0, float("nan"), None, "radius_m"),
    (0.0, 0.0, float("inf"), None, "radius_m"),
    (0.0, 0.0, MAX_RADIUS_M + 1, None, "radius_m"),
    (0.0, 0.0, 1000.0, 0, "limit"),
    (0.0, 0.0, 1000.0, -3, "limit"),
]


def test_nearby_rejects_bad_input(store: Store) -> None:
    got = [
        invalid_field(lambda a=lat, o=lon, r=radius, k=limit: store.nearby(a, o, r, limit=k))
        for lat, lon, radius, limit, _ in BAD_NEARBY
    ]
    assert got == [field for *_, field in BAD_NEARBY]


def _wrap_lon(lon: float) -> float:
    return lon - 360.0 if lon > 180.0 else lon + 360.0 if lon < -180.0 else lon


CENTRE_LIST = [LEEDS, BRISTOL, FIJI, (89.97, 0.0)]


@FEW
@given(
    which=st.integers(0, len(CENTRE_LIST) - 1),
    dlat=st.floats(-0.1, 0.1),
    dlon=st.floats(-0.15, 0.15),
    radius_m=st.floats(1.0, 30_000.0),
)
def test_nearby_property(
    spatial: Loaded, which: int, dlat: float, dlon: float, radius_m: float
) -> None:
    store, assets = spatial
    lat = min(90.0, CENTRE_LIST[which][0] + dlat)
    lon = _wrap_lon(CENTRE_LIST[which][1] + dlon)
    hits = store.nearby(lat, lon, radius_m)
    assert nearby_problems(hits, assets, lat, lon, radius_m) == []


# --- within ---------------------------------------------------------------------------------------


def test_within_matches_reference(spatial: Loaded) -> None:
    store, assets = spatial
    t = pick_terms()
    boxes = [
        BBox(west=-1.6, south=53.75, east=-1.5, north=53.85),
        BBox(west=-3.0, south=51.0, east=-1.0, north=54.0),
        BBox(west=179.97, south=-17.0, east=-179.97, north=-16.6),  # crosses the antimeridian
        BBox(west=170.0, south=-20.0, east=-170.0, north=-10.0),
        BBox(west=-180.0, south=89.95, east=180.0, north=90.0),
        BBox(west=-180.0, south=-90.0, east=180.0, north=90.0),
        BBox(west=10.0, south=10.0, east=11.0, north=11.0),
    ]
    specs = [{}, {"statuses": ["published"]}, {"categories": [t.root], "kinds": ["group"]}]
    failures = []
    for box in boxes:
        for spec in specs:
            filters = AssetFilters(**spec) if spec else None
            got = ids(store.within(box, filters))
            want = reference_within(assets, box, filters)
            if got != want:
                failures.append(f"{box} {spec}: got {len(got)} ids, want {len(want)}")
    assert not failures, "\n".join(failures)
    across = store.within(boxes[2])
    assert {a.location.lon > 0 for a in across} == {True, False}
    assert {180.0, -180.0} <= {a.location.lon for a in across}


def test_within_edges_are_inclusive_and_exact(spatial: Loaded) -> None:
    store, assets = spatial
    a = next(x for x in assets if x.location.lat > 53 and x.location.lon < -1.5)
    lat, lon = a.point
    exact_point = BBox(west=lon, south=lat, east=lon, north=lat)
    assert a.id in ids(store.within(exact_point))
    assert ids(store.within(exact_point)) == reference_within(assets, exact_point)
    for box in (
        BBox(west=lon, south=lat, east=lon + 0.01, north=lat + 0.01),
        BBox(west=lon - 0.01, south=lat - 0.01, east=lon, north=lat),
    ):
        assert a.id in ids(store.within(box))
    eps = 1e-9  # about 0.1 mm
    for box in (
        BBox(west=lon + eps, south=lat - 0.01, east=lon + 0.01, north=lat + 0.01),
        BBox(west=lon - 0.01, south=lat + eps, east=lon + 0.01, north=lat + 0.01),
        BBox(west=lon - 0.01, south=lat - 0.01, east=lon - eps, north=lat + 0.01),
        BBox(west=lon - 0.01, south=lat - 0.01, east=lon + 0.01, north=lat - eps),
    ):
        assert a.id not in ids(store.within(box)), box


# --- bulk_upsert ----------------------------------------------------------------------------------


def test_bulk_insert_then_update_by_source_key(store: Store) -> None:
    first = store.bulk_upsert(r for r in bulk_records(60))  # any iterable will do
    assert (first.inserted, first.updated, len(first.ids)) == (60, 0, 60)
    stored = [store.get_asset(i) for i in first.ids]
    assert [a.source_id for a in stored] == [f"row-{i}" for i in range(60)]
    assert all(a.version == 1 for a in stored)
    _sleep_to_next_second()
    again = bulk_records(60, tag="v2")
    again[5]["location"] = {"lat": 51.0, "lon": 0.5}
    second = store.bulk_upsert(again)
    assert (second.inserted, second.updated) == (0, 60)
    assert second.ids == first.ids  # stored ids kept, not the new records' ids
    assert store.count_assets() == 60
    for old, aid in zip(stored, first.ids, strict=True):
        new = store.get_asset(aid)
        assert new.version == 2 and new.created_at == old.created_at
        assert new.updated_at > old.updated_at  # type: ignore[operator]
        assert new.name == old.name.replace("v1", "v2")
    assert store.count_assets(AssetFilters(text="v1")) == 0
    assert store.count_assets(AssetFilters(text="v2")) == 60
    assert ids(store.nearby(51.0, 0.5, 10)) == [first.ids[5]]


def test_a_bulk_load_does_not_undo_what_the_directory_decided(store: Store) -> None:
    """A listing archived (a duplicate merged into another) stays archived when its feed
    is loaded again, and the one it went into keeps its record of the merge; the feed's
    new values still load."""
    first = store.bulk_upsert(bulk_records(3))
    keep, drop, other = first.ids
    merge(store, keep, drop)
    store.archive_asset(other)
    before = {i: store.get_asset(i) for i in first.ids}
    assert before[keep].merged_from and before[drop].status == "archived"
    again = bulk_records(3, tag="v2")  # every row says published, none names a merge
    assert store.bulk_upsert(again).updated == 3
    after = {i: store.get_asset(i) for i in first.ids}
    assert [after[i].status for i in first.ids] == ["published", "archived", "archived"]
    assert after[keep].merged_from == before[keep].merged_from
    assert all(a.name.startswith("Bulk v2") for a in after.values())
    assert [after[i].moderated for i in first.ids] == [before[i].moderated for i in first.ids]
    listed = store.list_assets(AssetFilters(statuses=["archived"]), per_page=10).items
    assert sorted(a.id for a in listed) == sorted([drop, other])
    published = AssetFilters(statuses=["published"])
    assert ids(store.nearby(*LEEDS, 1_000, published)) == [keep]  # column agrees with doc


def test_bulk_mixed_inserts_updates_and_models(store: Store) -> None:
    store.bulk_upsert(bulk_records(10))
    before = {a["source_id"]: a["id"] for a in dump_assets(store)}
    records: list = bulk_records(5, tag="v2", start=8)  # rows 8, 9 exist; 10-12 are new
    records.append(make_asset(id="model-1", source="bulk-test", source_id="model-1"))
    report = store.bulk_upsert(records)
    assert (report.inserted, report.updated) == (4, 2)
    assert report.ids[:2] == [before["row-8"], before["row-9"]]
    assert report.ids[5] == "model-1" and len(set(report.ids)) == 6
    assert store.count_assets() == 14
    assert store.get_asset("model-1").version == 1
    empty = store.bulk_upsert([])
    assert (empty.inserted, empty.updated, empty.ids) == (0, 0, [])


def test_bulk_one_bad_row_changes_nothing(store: Store) -> None:
    store.bulk_upsert(bulk_records(30))
    before = dump_assets(store)
    batch = bulk_records(60, tag="v2")  # rows 1-30 update, 31-60 insert
    batch[36]["location"] = {"lat": 200.0, "lon": 0.0}  # row 37 (1-based)
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(batch)
    assert {(e.row, e.field) for e in exc.value.errors} == {(37, "location.lat")}
    assert "37" in str(exc.value) and "location.lat" in str(exc.value)
    assert dump_assets(store) == before
    assert store.count_assets() == 30


def test_bulk_reports_every_bad_row(store: Store) -> None:
    batch = bulk_records(40)
    batch[4]["location"] = {"lat": 10.0, "lon": -181.0}  # row 5
    del batch[19]["source"], batch[19]["source_id"]  # row 20
    batch[32]["name"] = "   "  # row 33
    batch[38]["categories"] = ["no.such.term"]  # row 39
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(batch)
    got = {(e.row, e.field) for e in exc.value.errors}
    assert got == {(5, "location.lon"), (20, "source_id"), (33, "name"), (39, "categories")}
    assert store.count_assets() == 0


def test_bulk_row_with_a_nul_character_names_the_row_and_field(store: Store) -> None:
    """PostgreSQL refuses the NUL character in text; both stores report it like any bad row."""
    store.bulk_upsert(bulk_records(3))
    before = dump_assets(store)
    batch = bulk_records(6, tag="v2")
    batch[4]["location"] = {**batch[4]["location"], "address": "1 Mill Lane\x00"}  # row 5
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(batch)
    assert [(e.row, e.field) for e in exc.value.errors] == [(5, "location.address")]
    assert dump_assets(store) == before


def test_bulk_duplicate_key_in_one_batch(store: Store) -> None:
    store.bulk_upsert(bulk_records(3))
    before = dump_assets(store)
    batch = bulk_records(12, tag="v2")
    batch[9]["source_id"] = batch[2]["source_id"]  # row 10 repeats row 3
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(batch)
    assert [(e.row, e.field) for e in exc.value.errors] == [(10, "source_id")]
    assert "3" in exc.value.errors[0].message
    assert dump_assets(store) == before


def test_bulk_rows_only_the_database_can_check(store: Store) -> None:
    store.create_asset(make_asset(id="taken", source="elsewhere", source_id="x"))
    before = dump_assets(store)
    batch = bulk_records(8)
    batch[3]["organisation_id"] = "no-such-org"  # row 4
    batch[6]["id"] = "taken"  # row 7: the id belongs to another (source, source_id)
    with pytest.raises(BulkValidationError) as exc:
        store.bulk_upsert(batch)
    assert {(e.row, e.field) for e in exc.value.errors} == {(4, "organisation_id"), (7, "id")}
    assert dump_assets(store) == before


# --- cross-store equivalence ----------------------------------------------------------------------


@pytest.fixture
def both(sqlite_store: Store, postgis_store: Store) -> Both:
    """The catalogue and the spatial dataset, loaded the same way into both stores."""
    loaded: list[Asset] = []
    for s in (sqlite_store, postgis_store):
        for org in catalogue_orgs():
            s.create_organisation(org)
        loaded = [s.create_asset(a) for a in catalogue()]
        load(s, spatial_dataset())
    return Both(sqlite_store, postgis_store, loaded + list(spatial_dataset()))


class Both(NamedTuple):
    lite: Store
    pg: Store
    assets: list[Asset]

    def __repr__(self) -> str:
        return f"Both({len(self.assets)} assets)"


def _battery() -> list[tuple[str, str, dict]]:
    t = pick_terms()
    out: list[tuple[str, str, dict]] = []
    for label, centre in [
        ("leeds", LEEDS),
        ("bristol", BRISTOL),
        ("fiji", (FIJI[0], 179.99)),
        ("pole", (89.97, 10.0)),
        ("leeds-east", (53.81, -1.45)),
    ]:
        for radius in (1_000.0, 2_500.0, 6_000.0, 25_000.0):
            out.append(("nearby", f"{label} r={radius}", {"centre": centre, "radius": radius}))
    filtered = [
        {"statuses": ["published"]},
        {"kinds": ["club", "group"], "categories": [t.root]},
        {"text": "knit"},
        {"text": "walk", "statuses": ["published", "pending"]},
    ]
    for spec in filtered:
        for centre, radius, limit in ((LEEDS, 5_000.0, None), (BRISTOL, 300_000.0, 10)):
            out.append(
                (
                    "nearby",
                    f"{spec} r={radius}",
                    {"centre": centre, "radius": radius, "filters": spec, "limit": limit},
                )
            )
    for spec in [
        {},
        {"statuses": ["published"]},
        {"categories": [t.root]},
        {"text": "garden"},
        {"text": "club", "kinds": ["club"]},
        {"organisation_id": ORG_A},
    ]:
        out.append(("list", f"{spec}", {"filters": spec, "page": 1, "per_page": 1000}))
    out.append(("list", "page 3 of 25", {"filters": {}, "page": 3, "per_page": 25}))
    out.append(
        ("list", "last page", {"filters": {"statuses": ["draft"]}, "page": 2, "per_page": 30})
    )
    for box in [
        (-1.6, 53.75, -1.5, 53.85),
        (-3.0, 51.0, -1.0, 54.0),
        (179.97, -17.0, -179.97, -16.6),
        (-180.0, 89.95, 180.0, 90.0),
        (-2.7, 51.4, -2.5, 51.5),
    ]:
        out.append(("within", f"{box}", {"box": box}))
    out.append(
        (
            "within",
            "published",
            {"box": (-3.0, 51.0, -1.0, 54.0), "filters": {"statuses": ["published"]}},
        )
    )
    return out


def _run(store: Store, kind: str, q: dict) -> list[NearbyHit] | list[str]:
    filters = AssetFilters(**q["filters"]) if q.get("filters") else None
    if kind == "nearby":
        return store.nearby(*q["centre"], q["radius"], filters, limit=q.get("limit"))
    if kind == "list":
        page = store.list_assets(filters, page=q["page"], per_page=q["per_page"])
        return [f"total={page.total}"] + ids(page.items)
    west, south, east, north = q["box"]
    return ids(store.within(BBox(west=west, south=south, east=east, north=north), filters))


@pytest.mark.postgis
def test_stores_answer_the_battery_alike(both: Both) -> None:
    lite, pg, _ = both
    battery = _battery()
    assert len(battery) >= 40
    failures, non_empty = [], 0
    for kind, label, q in battery:
        a, b = _run(lite, kind, q), _run(pg, kind, q)
        non_empty += bool(a)
        if kind == "nearby":
            problems = same_hits(a, b, q["radius"])  # type: ignore[arg-type]
        else:
            problems = [] if a == b else [f"got {len(a)} vs {len(b)} rows; {a[:3]} vs {b[:3]}"]
        failures += [f"{kind} {label}: {p}" for p in problems]
    assert not failures, "\n".join(failures)
    assert non_empty >= len(battery) - 3  # the battery really exercises data
    assert lite.count_assets() == pg.count_assets()


@pytest.mark.postgis
def test_stores_hold_the_same_documents(both: Both) -> None:
    lite, pg, _ = both

    def untimed(store: Store) -> list[dict]:
        return [
            {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
            for row in dump_assets(store)
        ]

    assert untimed(lite) == untimed(pg)


@pytest.mark.postgis
@FEW
@given(
    which=st.integers(0, len(CENTRE_LIST) - 1),
    dlat=st.floats(-0.1, 0.1),
    dlon=st.floats(-0.15, 0.15),
    radius_m=st.floats(1.0, 40_000.0),
    spec=_FILTER_SPECS,
)
def test_stores_agree_on_random_nearby(
    both: Both,
    which: int,
    dlat: float,
    dlon: float,
    radius_m: float,
    spec: dict,
) -> None:
    lite, pg, assets = both
    lat = min(90.0, CENTRE_LIST[which][0] + dlat)
    lon = _wrap_lon(CENTRE_LIST[which][1] + dlon)
    filters = _filters(spec) if spec else None
    a, b = lite.nearby(lat, lon, radius_m, filters), pg.nearby(lat, lon, radius_m, filters)
    assert same_hits(a, b, radius_m) == []
    assert nearby_problems(a, assets, lat, lon, radius_m, filters) == []
    assert not math.isnan(sum(h.distance_m for h in a))
