"""The seed taxonomy in data/taxonomy.json and the Taxonomy look-ups over it."""

from __future__ import annotations

import json

import pytest

from geo_assets.errors import InvalidInputError
from geo_assets.taxonomy import (
    FIVE_WAYS,
    TAXONOMY_PATH,
    Taxonomy,
    Term,
    default_taxonomy,
    load_taxonomy,
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return default_taxonomy()


def test_loads_from_data_file(taxonomy: Taxonomy) -> None:
    assert len(load_taxonomy(TAXONOMY_PATH)) == len(taxonomy)
    assert 120 <= len(taxonomy) <= 200


def test_has_12_to_15_roots_covering_the_issue_groups(taxonomy: Taxonomy) -> None:
    roots = {t.id for t in taxonomy.roots()}
    assert 12 <= len(roots) <= 15
    for required in (
        "social",
        "hobbies",
        "sport",
        "arts",
        "heritage",
        "nature",
        "learning",
        "volunteering",
        "faith",
        "family",
        "advice",
        "health",
        "venues",
    ):
        assert required in roots


def test_depth_is_two_or_three_levels(taxonomy: Taxonomy) -> None:
    depths = [taxonomy.depth(t.id) for t in taxonomy]
    assert max(depths) == 2
    for root in taxonomy.roots():
        assert taxonomy.children.get(root.id), f"{root.id} has no children"


def test_every_term_has_synonyms_and_five_ways(taxonomy: Taxonomy) -> None:
    for term in taxonomy:
        assert 2 <= len(term.synonyms) <= 12, term.id
        assert all(s.strip() for s in term.synonyms), term.id
        assert term.five_ways, term.id
        assert set(term.five_ways) <= set(FIVE_WAYS), term.id


def test_every_five_ways_tag_is_used(taxonomy: Taxonomy) -> None:
    used = {tag for term in taxonomy for tag in term.five_ways}
    assert used == set(FIVE_WAYS)


def test_ids_are_parent_prefix_plus_slug(taxonomy: Taxonomy) -> None:
    for term in taxonomy:
        if term.parent_id is None:
            assert "." not in term.id
        else:
            assert term.id.rsplit(".", 1)[0] == term.parent_id


def test_file_order_is_parent_before_children() -> None:
    raw = json.loads(TAXONOMY_PATH.read_text(encoding="utf-8"))
    seen: set[str] = set()
    for record in raw:
        assert set(record) == {"id", "name", "parent_id", "synonyms", "five_ways"}
        assert record["parent_id"] is None or record["parent_id"] in seen
        seen.add(record["id"])


def test_examples_from_the_brief_exist(taxonomy: Taxonomy) -> None:
    for term_id in (
        "nature.gardening.allotments",
        "sport.football.walking-football",
        "hobbies.crafts.knitting",
        "arts.music.choirs",
        "social.peer-support",
    ):
        assert term_id in taxonomy
    assert "footy" in taxonomy.get("sport.football").synonyms
    assert "knit and natter" in taxonomy.get("hobbies.crafts.knitting").synonyms


def test_descendants_and_ancestors(taxonomy: Taxonomy) -> None:
    below = taxonomy.descendants("nature.gardening")
    assert "nature.gardening.allotments" in below
    assert "nature.gardening" not in below
    assert taxonomy.descendants("nature.gardening", include_self=True)[0] == "nature.gardening"
    assert taxonomy.descendants("nature.gardening.allotments") == []
    everything = taxonomy.descendants("nature", include_self=True)
    assert all(t == "nature" or t.startswith("nature.") for t in everything)
    assert len(everything) == sum(1 for t in taxonomy if taxonomy.root_of(t.id) == "nature")

    assert taxonomy.ancestors("nature.gardening.allotments") == ["nature.gardening", "nature"]
    assert taxonomy.ancestors("nature") == []
    assert taxonomy.root_of("sport.football.walking-football") == "sport"
    assert taxonomy.root_of("sport") == "sport"


def test_iteration_is_depth_first_in_file_order(taxonomy: Taxonomy) -> None:
    ids = [t.id for t in taxonomy]
    raw_ids = [r["id"] for r in json.loads(TAXONOMY_PATH.read_text(encoding="utf-8"))]
    assert ids == raw_ids
    assert [r["id"] for r in taxonomy.as_records()] == ids


@pytest.mark.parametrize("call", ["get", "descendants", "ancestors", "root_of"])
def test_unknown_id_raises_naming_the_field(taxonomy: Taxonomy, call: str) -> None:
    with pytest.raises(InvalidInputError, match="no-such-term") as info:
        getattr(taxonomy, call)("no-such-term")
    assert info.value.field == "category"


def test_bad_trees_are_rejected() -> None:
    with pytest.raises(InvalidInputError) as info:
        Taxonomy([Term(id="a", name="A"), Term(id="a", name="A again")])
    assert info.value.field == "id"
    with pytest.raises(InvalidInputError) as info:
        Taxonomy([Term(id="a.b", name="B", parent_id="a")])
    assert info.value.field == "parent_id"
