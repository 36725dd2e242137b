"""Which stored organisation a feed's organisation is: by provenance, never by id alone."""

from __future__ import annotations

from typing import Any

import pytest

from geo_assets.errors import ConflictError
from geo_assets.ingest.base import run_import
from geo_assets.ingest.hsds import parse_hsds_document
from geo_assets.ingest.hsds_map import ReadOptions
from geo_assets.store.base import AssetFilters, Store, iter_assets
from tests.factories import make_org


def _feed(org_id: str, org_name: str, service: str) -> list[dict[str, Any]]:
    return [
        {
            "id": service,
            "name": f"{org_name} lunch club",
            "status": "active",
            "organization": {"id": org_id, "name": org_name},
            "attributes": [{"id": "a1", "taxonomy_term": {"id": "t1", "code": "social"}}],
            "service_at_locations": [
                {"id": "sal", "location": {"id": "loc", "latitude": 53.8, "longitude": -1.75}}
            ],
        }
    ]


def _import(store: Store, doc: list[dict[str, Any]], source: str) -> None:
    report = run_import(store, parse_hsds_document(doc, ReadOptions()), source=source)
    assert report.ok, report.errors


def _owners(store: Store) -> dict[str, str]:
    """Each listing's name -> the name of the organisation it is listed under."""
    return {
        a.name: store.get_organisation(a.organisation_id).name
        for a in iter_assets(store, AssetFilters())
        if a.organisation_id
    }


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True
)
def test_two_feeds_numbering_their_organisations_alike_keep_them_apart(store: Store) -> None:
    _import(store, _feed("1", "Scouts", "svc-a"), source="council-a")
    _import(store, _feed("1", "Age UK", "svc-b"), source="council-b")
    assert _owners(store) == {"Scouts lunch club": "Scouts", "Age UK lunch club": "Age UK"}
    assert store.list_organisations().total == 2
    first = {o.name: o.id for o in store.list_organisations().items}
    # Imported again, each feed finds its own organisation: nothing new, nothing moved.
    _import(store, _feed("1", "Age UK", "svc-b"), source="council-b")
    _import(store, _feed("1", "Scouts", "svc-a"), source="council-a")
    assert {o.name: o.id for o in store.list_organisations().items} == first
    assert first["Scouts"] == "1"  # the first feed kept its own id
    assert _owners(store)["Age UK lunch club"] == "Age UK"


def test_a_feed_naming_a_portal_organisations_id_gets_its_own_organisation(
    sqlite_store: Store,
) -> None:
    """Its listings must not fall to the portal organisation's users to edit."""
    sqlite_store.create_organisation(make_org(id="org-a", name="Portal Trust"))
    _import(sqlite_store, _feed("org-a", "Feed Trust", "svc-1"), source="feed")
    assert _owners(sqlite_store) == {"Feed Trust lunch club": "Feed Trust"}
    assert sqlite_store.get_organisation("org-a").name == "Portal Trust"


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True
)
def test_an_import_whose_load_fails_leaves_none_of_its_organisations(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Organisations go in before the listings' one transaction: when that fails (a
    clash only the database sees, another writer), they are taken out again."""

    def clash(*_: Any, **__: Any) -> None:
        raise ConflictError("bulk load clashes with stored data")

    monkeypatch.setattr(store, "bulk_upsert", clash)
    with pytest.raises(ConflictError):
        run_import(store, parse_hsds_document(_feed("7", "Lost Trust", "svc"), ReadOptions()))
    assert store.list_organisations().total == 0


def _service_naming(org_id: str, service: str) -> list[dict[str, Any]]:
    """A service that names its organisation by id alone (the feed does not hold it)."""
    (doc,) = _feed(org_id, "unused", service)
    del doc["organization"]
    return [doc | {"organization_id": org_id, "name": f"{service} club"}]


def test_an_organisation_a_service_names_by_id_alone_is_found_as_the_feeds_own_are(
    sqlite_store: Store,
) -> None:
    """By source and source id: not the portal's organisation that happens to have the
    same id, and the stored one of that provenance whatever id it was given."""
    sqlite_store.create_organisation(make_org(id="1", name="Portal Trust"))
    _import(sqlite_store, _feed("1", "Council Trust", "svc-a"), source="council")
    _import(sqlite_store, _service_naming("1", "svc-b"), source="council")
    assert _owners(sqlite_store) == {
        "Council Trust lunch club": "Council Trust",
        "svc-b club": "Council Trust",
    }
    sqlite_store.create_organisation(
        make_org(id="older-7", name="Older Trust", source="council", source_id="7")
    )
    _import(sqlite_store, _service_naming("7", "svc-c"), source="council")
    assert _owners(sqlite_store)["svc-c club"] == "Older Trust"
    refused = run_import(
        sqlite_store, parse_hsds_document(_service_naming("8", "svc-d"), ReadOptions())
    )
    assert [e.field for e in refused.errors] == ["organisation_id"]
