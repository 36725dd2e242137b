"""Duplicate listings: similarity parts, candidate pairs, the create/import check, merge, CLI,
and the acceptance figures on 200 planted duplicates."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from types import ModuleType

import pytest
from pyproj import Geod
from typer.testing import CliRunner

from geo_assets.cli import app
from geo_assets.duplicates import (
    DEFAULT_MIN_SCORE,
    category_overlap,
    duplicate_warnings,
    duplicates_of,
    find_duplicates,
    import_duplicate_warnings,
    merge,
    merged_changes,
    name_contrast,
    name_similarity,
    pairs_among,
    score_pair,
    session_overlap,
)
from geo_assets.errors import ConflictError, InvalidInputError
from geo_assets.model import Asset, Session
from geo_assets.store.base import Store
from tests.factories import make_asset, make_org

ROOT = Path(__file__).resolve().parent.parent
GEOD = Geod(ellps="WGS84")
HOME = (53.7950, -1.7520)  # Bradford city centre (lat, lon)
runner = CliRunner()


def _moved(metres: float, bearing: float = 45.0) -> dict[str, float]:
    lon, lat, _ = GEOD.fwd(HOME[1], HOME[0], bearing, metres)
    return {"lat": lat, "lon": lon}


def _asset(
    asset_id: str,
    name: str,
    *,
    metres: float = 0.0,
    day: str = "tu",
    start: str = "10:00",
    end: str = "12:00",
    category: str = "hobbies.crafts.knitting",
    kind: str = "group",
    **extra: object,
) -> Asset:
    sessions = [{"weekdays": [day], "start": start, "end": end}] if day else []
    return make_asset(
        id=asset_id,
        name=name,
        kind=kind,
        categories=[category],
        location={**_moved(metres), "place": "Bradford"},
        sessions=sessions,
        **extra,
    )


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Knit and Natter", "Knit & Natter"),
        ("Tuesday Knit and Natter", "Knit and Natter Tuesday"),
        ("Bradford Community Centre Choir", "Bradford Comm. Ctr Choir"),
        ("University of the Third Age Walking", "U3A Walking"),
        ("Keighley Working Men's Club", "Keighley WMC"),
        ("Bradford Knit and Natter Group", "Knit and Natter"),  # place and generic words
        ("St Luke's Craft Circle", "Saint Lukes Craft Circle"),
        ("Café Chat", "cafe chat"),
        ("योग कक्षा", "योग  कक्षा"),  # names in any script are words (Nepali)
        ("خواتین کا سلائی گروپ", "خواتین کا سلائی گروپ"),  # Urdu
        ("太极拳班", "太极拳班"),
    ],
)
def test_names_that_are_the_same(a: str, b: str) -> None:
    assert name_similarity(a, b, ["Bradford", "Keighley"]) == 1.0


def test_names_in_another_script_differ_as_they_read() -> None:
    assert name_similarity("योग कक्षा", "गीत समूह") < 0.5


def test_acronym_of_the_other_name() -> None:
    assert name_similarity("BCC Rehearsal", "Bradford Community Choir Rehearsal") == 1.0


def test_typos_stay_close_and_different_names_do_not() -> None:
    typo = name_similarity("Shipley Chair Fit", "Shipley Chiar Fit", ["Shipley"])
    other = name_similarity("Shipley Chair Fit", "Shipley Keep Fit", ["Shipley"])
    assert 0.8 < typo < 1.0
    assert other < 0.7
    # A misspelt place name is still a place name.
    assert name_similarity("Manningham Time Bank", "Time Bank Maningham", ["Manningham"]) == 1.0
    # A typo in a word with a canonical spelling ("ladies" reads as "women") is still a typo.
    typo = name_similarity("Wibsey Ladies Group", "Wibsey Laddies Group", ["Wibsey"])
    assert 0.85 < typo < 1.0
    assert name_similarity("Wibsey Ladies Group", "Wibsey Chess Group", ["Wibsey"]) < 0.5


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("Ladies' Darts", "Men's Darts", 'one is for "women", the other for "men"'),
        ("Girls Brigade", "Boys' Brigade", 'one is for "girls", the other for "boys"'),
        ("Junior Chess Club", "Seniors Chess Club", 'one is for "junior", the other for "senior"'),
        ("Young Carers Group", "Adult Carers", 'one is for "adult", the other for "youth"'),
        (
            "Yoga for Beginners",
            "Improvers' Yoga",
            'one is for "beginner", the other for "improver"',
        ),
        ("Allerton FC Under 11s", "Allerton FC Under 12s", "different numbers (11, 12)"),
        ("2nd Shipley Scouts", "3rd Shipley Scouts", "different numbers (2, 3)"),
    ],
)
def test_names_for_different_people_or_numbers_contrast(a: str, b: str, why: str) -> None:
    assert name_contrast(a, b) == why or name_contrast(b, a) == why
    assert score_pair(_asset("a", a), _asset("b", b, metres=5), 5.0) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Wibsey Ladies Group", "Wibsey Laddies Group"),  # a typo, not another audience
        ("Mixed Badminton", "Badminton (Mixed)"),
        ("Women's and Men's Walking", "Men's Walking"),  # one says more, neither contradicts
        ("YMCA Gym", "Young Men's Christian Association Gym"),
        ("Over 50s Swim", "Over 50s Swim Session"),
        ("Knit and Natter", "Knit & Natter 2"),  # a number on one side only
    ],
)
def test_names_that_do_not_contrast(a: str, b: str) -> None:
    assert name_contrast(a, b) is None


def test_eligibility_for_different_people_is_never_a_pair() -> None:
    def listing(ident: str, **eligibility: object) -> Asset:
        return _asset(ident, "Knit and Natter", metres=5, eligibility=eligibility)

    women, men, anyone = listing("w", gender="women"), listing("m", gender="men"), listing("x")
    assert score_pair(women, men, 5.0) is None
    assert score_pair(women, anyone, 5.0) is not None  # "any" says nothing either way
    kids, adults = listing("k", min_age=5, max_age=11), listing("a", min_age=18)
    teens = listing("t", min_age=11, max_age=16)
    assert score_pair(kids, adults, 5.0) is None
    assert score_pair(adults, kids, 5.0) is None
    assert score_pair(kids, teens, 5.0) is not None  # both admit an 11-year-old
    assert score_pair(teens, listing("o", max_age=10), 5.0) is None


def test_place_words_alone_still_compare() -> None:
    assert name_similarity("Bradford", "Bradford", ["Bradford"]) == 1.0


# --- sessions, categories ---------------------------------------------------------------------


def _session(day: str, start: str, end: str) -> Session:
    return Session(weekdays=[day], start=time.fromisoformat(start), end=time.fromisoformat(end))


def test_session_overlap_hand_worked() -> None:
    tue = _session("tu", "10:00", "12:00")
    assert session_overlap([tue], [_session("tu", "10:30", "12:30")]) == (
        1.0,
        "both Tuesdays 10:00 and 10:30",
    )
    assert session_overlap([tue], [tue]) == (1.0, "both Tuesdays 10:00")
    assert session_overlap([tue], [_session("tu", "12:30", "13:00")])[0] == 0.5  # 30 min gap
    assert session_overlap([tue], [_session("tu", "18:00", "19:00")])[0] == 0.2
    assert session_overlap([tue], [_session("we", "10:00", "12:00")]) == (0.0, None)
    assert session_overlap([tue], []) == (0.5, None)  # unknown


def test_category_overlap_hand_worked() -> None:
    assert category_overlap(["nature.gardening"], ["nature.gardening"])[0] == 1.0
    assert category_overlap(["nature.gardening.allotments"], ["nature.gardening"])[0] == 0.7
    assert category_overlap(["hobbies.crafts.knitting"], ["hobbies.crafts.sewing"])[0] == 0.5
    assert category_overlap(["nature.gardening"], ["nature"])[0] == 0.7
    assert category_overlap(["nature.gardening"], ["sport.football"])[0] == 0.0


# --- pairs -----------------------------------------------------------------------------------


def test_score_pair_reasons_and_order() -> None:
    a = _asset("a", "Bradford Knit and Natter", last_verified_at=datetime(2026, 1, 1, tzinfo=UTC))
    b = _asset("b", "Knit & Natter", metres=38, start="10:15", end="12:15")
    pair = score_pair(b, a, 38.0)
    assert pair is not None
    assert pair.a.id == "a"  # confirmed more recently: the one to keep
    assert pair.score >= 0.95
    assert pair.reasons[:2] == ("names 100% alike", "38 m apart")
    assert "both Tuesdays 10:00 and 10:15" in pair.reasons
    assert "same category (Knitting and crochet)" in pair.reasons or any(
        r.startswith("same category") for r in pair.reasons
    )


def test_venues_and_groups_are_never_paired() -> None:
    venue = _asset("v", "Knit and Natter Hall", kind="venue", category="venues.halls", day="")
    group = _asset("g", "Knit and Natter Hall", metres=5, day="")
    assert score_pair(venue, group, 5.0) is None
    # A group is not a duplicate of the venue it meets at, whatever their kinds.
    as_group = venue.model_copy(update={"kind": "group"})
    at_venue = _asset("h", "Knit and Natter Hall", venue_id="v")
    assert score_pair(as_group, at_venue, 0.0) is None
    assert score_pair(as_group, group, 5.0) is not None


def test_pairs_among_uses_distance_and_threshold() -> None:
    assets = [
        _asset("a1", "Bradford Knit and Natter"),
        _asset("a2", "Knit & Natter Bradford", metres=90, start="10:30", end="12:30"),
        _asset("far", "Bradford Knit and Natter", metres=400),  # same name, too far
        _asset("other", "Bradford Chess Club", metres=20, category="hobbies.games.chess"),
        _asset("wed", "Knit and Natter", metres=30, day="we"),  # another day: a lower score
    ]
    pairs = pairs_among(assets)
    assert [tuple(sorted(p.ids)) for p in pairs] == [("a1", "a2")]
    everything = pairs_among(assets, min_score=0.5)
    assert ("a1", "far") not in {tuple(sorted(p.ids)) for p in everything}
    assert {"a1", "wed"} in [set(p.ids) for p in everything]
    with pytest.raises(InvalidInputError):
        pairs_among(assets, min_score=1.5)


def test_pairs_across_the_antimeridian() -> None:
    east = make_asset(id="e", name="Island Choir", location={"lat": -16.8, "lon": 179.9995})
    west = make_asset(id="w", name="Island Choir", location={"lat": -16.8, "lon": -179.9995})
    pairs = pairs_among([east, west])
    assert len(pairs) == 1 and pairs[0].distance_m == pytest.approx(106.6, abs=1)


def _load(store: Store, assets: list[Asset]) -> None:
    for asset in assets:
        store.create_asset(asset)


def test_find_duplicates_in_a_store(store: Store) -> None:
    _load(
        store,
        [
            _asset("a1", "Bradford Knit and Natter"),
            _asset("a2", "Knit & Natter", metres=60),
            _asset("gone", "Knit and Natter", metres=10, status="archived"),
            _asset("draft", "Knit and Natter", metres=10, status="draft"),
        ],
    )
    pairs = find_duplicates(store)
    assert [set(p.ids) for p in pairs] == [{"a1", "a2"}]
    assert find_duplicates(store, only_ids={"zzz"}) == []


def test_duplicates_of_a_new_listing_warns(store: Store) -> None:
    _load(store, [_asset("a1", "Bradford Knit and Natter", source="council", source_id="7")])
    new = _asset("new", "Knit & Natter", metres=40)
    found = duplicates_of(store, new)
    assert [p.a.id for p in found] == ["a1"] and found[0].b.id == "new"
    warnings = duplicate_warnings(store, new)
    assert len(warnings) == 1
    assert warnings[0].startswith("may duplicate 'Bradford Knit and Natter' (a1): names 100% alike")
    # The same source record re-imported is itself, not a duplicate.
    same = _asset("again", "Knit & Natter", source="council", source_id="7")
    assert duplicates_of(store, same) == []
    assert duplicates_of(store, _asset("x", "Chess Club", category="hobbies.games.chess")) == []


def _placed(asset_id: str, metres: float, precision: str, place: str = "Bradford") -> Asset:
    """The Knit and Natter, ``metres`` from HOME, its point found as ``precision``."""
    return make_asset(
        id=asset_id,
        name="Bradford Knit and Natter",
        categories=["hobbies.crafts.knitting"],
        location={**_moved(metres), "place": place, "precision": precision},
        sessions=[{"weekdays": ["tu"], "start": "10:00", "end": "12:00"}],
    )


@pytest.mark.parametrize(
    ("precision", "metres", "place", "paired"),
    [
        ("point", 400, "Bradford", False),  # two points 400 m apart: two groups
        ("postcode", 300, "Bradford", True),  # a postcode's centre may be 300 m off
        ("postcode", 900, "Bradford", False),
        ("area", 2_200, "Bradford", True),  # placed by "Bradford": at its centre
        ("area", 2_200, "Shipley", False),  # but it names another place
        ("area", 3_500, "Bradford", False),
    ],
)
def test_a_point_that_is_only_a_centre_pairs_farther(precision, metres, place, paired) -> None:
    exact = _placed("exact", 0, "point")
    rough = _placed("rough", metres, precision, place)
    pair = score_pair(exact, rough, metres)
    assert (pair is not None and pair.score >= DEFAULT_MIN_SCORE) is paired
    found = [set(p.ids) for p in pairs_among([exact, rough])]
    assert found == ([{"exact", "rough"}] if paired else [])
    if pair is not None and metres > 150:
        said = f"('Bradford Knit and Natter' stands at its {precision}'s centre)"
        assert f"{metres} m apart {said}" in pair.reasons


def test_a_new_listing_placed_by_place_name_finds_the_one_already_there(store: Store) -> None:
    _load(store, [_placed("there", 0, "point")])
    assert duplicates_of(store, _placed("new", 2_200, "point")) == []
    found = duplicates_of(store, _placed("new", 2_200, "area"))
    assert [p.ids for p in found] == [("there", "new")]


def test_a_precise_new_listing_finds_a_rough_one_of_any_organisation(store: Store) -> None:
    """One organisation placed an activity by its area's name; the same or another one
    adds it again at the door: the check looks kilometres round for listings whose own
    point is only a centre, and only there."""
    for org_id in ("org-1", "org-2"):
        store.create_organisation(make_org(id=org_id))
    rough = _placed("rough", 0, "area").model_copy(update={"organisation_id": "org-1"})
    elsewhere = _placed("elsewhere", 0, "area", place="Shipley")
    precise = _placed("precise", 60, "point")  # nearby but a point: the usual 150 m apply
    _load(store, [rough, elsewhere, precise])
    for asset_id, org_id in (("mine", "org-1"), ("theirs", "org-2"), ("anyone", None)):
        new = _placed(asset_id, 2_200, "point").model_copy(update={"organisation_id": org_id})
        assert [p.ids for p in duplicates_of(store, new)] == [("rough", asset_id)]
    assert duplicates_of(store, _placed("far", 3_500, "point")) == []
    _load(store, [_placed("pc", 0, "postcode")])
    near_pc = _placed("near-pc", 2_200, "point")
    assert [set(p.ids) for p in duplicates_of(store, near_pc)] == [{"rough", "near-pc"}]


def test_import_warnings_find_a_rough_listing_kilometres_away(store: Store) -> None:
    _load(store, [_placed("rough", 0, "area")])
    _load(store, [_placed("imported", 2_200, "point")])
    lines = import_duplicate_warnings(store, ["imported"])
    assert len(lines) == 1 and "stands at its area's centre" in lines[0]


def test_import_warnings_for_written_ids(store: Store) -> None:
    _load(store, [_asset("a1", "Bradford Knit and Natter"), _asset("b1", "Chess", metres=5)])
    _load(store, [_asset("new", "Knit & Natter", metres=40)])
    lines = import_duplicate_warnings(store, ["new", "missing-id"])
    assert len(lines) == 1 and lines[0].startswith("possible duplicate: 'Bradford Knit")
    assert import_duplicate_warnings(store, []) == []


# --- merge -----------------------------------------------------------------------------------


def test_merged_changes_fill_only_empty_fields() -> None:
    keep = _asset("k", "Knit and Natter", day="", description="")
    drop = _asset(
        "d",
        "Knit & Natter",
        description="Bring your needles.",
        contact={"email": "knit@example.org"},
        source="council",
        source_id="42",
        last_verified_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    changes = merged_changes(keep, drop)
    assert changes["description"] == "Bring your needles."
    assert changes["sessions"][0]["weekdays"] == ["tu"]
    assert changes["contact"] == {"email": "knit@example.org"}
    assert "name" not in changes and "categories" not in changes
    assert changes["merged_from"][0]["source_id"] == "42"
    assert changes["last_verified_at"] == datetime(2026, 5, 1, tzinfo=UTC)


def test_a_cost_not_stated_is_filled_whole_never_part_by_part() -> None:
    monthly = {"amount": 10, "currency": "EUR", "per": "month", "concessions": "half price"}
    drop = _asset("d", "Knit & Natter", cost=monthly)
    unstated = merged_changes(_asset("k", "Knit and Natter", cost={"amount": None}), drop)
    assert unstated["cost"] == monthly
    keep = _asset("k", "Knit and Natter", cost={"amount": 2, "per": "session"})
    stated = merged_changes(keep, drop)
    assert stated["cost"] == {"concessions": "half price"}  # the kept price stands


def test_merge_keeps_provenance_of_both(store: Store) -> None:
    org = store.create_organisation(make_org(name="Knitters"))
    _load(
        store,
        [
            _asset("k", "Knit and Natter", source="sheet", source_id="row-3", description=""),
            _asset(
                "d",
                "Knit & Natter",
                source="council",
                source_id="42",
                description="Bring your needles.",
                organisation_id=org.id,
            ),
        ],
    )
    kept, archived = merge(store, "k", "d", actor="cli:test")
    assert archived.status == "archived" and archived.source_id == "42"
    assert (kept.source, kept.source_id) == ("sheet", "row-3")
    assert [(m.id, m.source, m.source_id) for m in kept.merged_from] == [("d", "council", "42")]
    assert kept.description == "Bring your needles." and kept.organisation_id == org.id
    stored = store.get_asset("k")
    assert stored.merged_from == kept.merged_from
    assert store.list_audit("d").items[0].action == "archive"
    # Running it again completes nothing new and adds no second record.
    again, _ = merge(store, "k", "d")
    assert len(again.merged_from) == 1
    assert find_duplicates(store) == []


def test_merge_refuses_self_and_archived_keep(store: Store) -> None:
    _load(store, [_asset("k", "Knit"), _asset("d", "Knit", metres=5)])
    with pytest.raises(InvalidInputError):
        merge(store, "k", "k")
    store.archive_asset("k")
    with pytest.raises(ConflictError):
        merge(store, "k", "d")


# --- command line ----------------------------------------------------------------------------


def test_cli_duplicates_and_merge(tmp_path: Path) -> None:
    from geo_assets.store import open_store

    url = f"sqlite:///{tmp_path / 'dups.sqlite'}"
    store = open_store(url)
    store.upgrade()
    _load(
        store, [_asset("a1", "Bradford Knit and Natter"), _asset("a2", "Knit & Natter", metres=60)]
    )
    store.close()

    listed = runner.invoke(app, ["--database-url", url, "duplicates"])
    assert listed.exit_code == 0, listed.output
    assert "names 100% alike" in listed.output and "1 likely duplicate pair" in listed.output
    data = json.loads(runner.invoke(app, ["--database-url", url, "duplicates", "--json"]).output)
    assert {data[0]["keep"]["id"], data[0]["drop"]["id"]} == {"a1", "a2"}
    assert data[0]["score"] >= DEFAULT_MIN_SCORE and data[0]["reasons"]

    merged = runner.invoke(app, ["--database-url", url, "merge", "a1", "a2"])
    assert merged.exit_code == 0, merged.output
    assert "a2 is archived" in merged.output
    after = runner.invoke(app, ["--database-url", url, "duplicates", "--json"])
    assert json.loads(after.output) == []
    bad = runner.invoke(app, ["--database-url", url, "merge", "a1", "a1"])
    assert bad.exit_code == 2


# --- acceptance: 200 planted duplicates --------------------------------------------------------


def _eval_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "eval_duplicates", ROOT / "benchmarks" / "eval_duplicates.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_planted_duplicates_are_really_changed() -> None:
    module = _eval_module()
    from geo_assets.sample import read_sample

    _, assets = read_sample()
    originals = list(assets)
    copies, truth = module.plant_duplicates(originals)
    assert len(copies) == len(truth) == 200
    by_id = {a.id: a for a in originals}
    renamed = moved = 0
    for pair in truth:
        orig, copy = sorted((by_id.get(i) for i in pair), key=lambda a: a is None)
        copy = next(c for c in copies if c.id in pair)
        assert orig is not None and orig.id != copy.id
        renamed += orig.name != copy.name
        _, _, d = GEOD.inv(
            orig.location.lon, orig.location.lat, copy.location.lon, copy.location.lat
        )
        assert d <= module.MAX_MOVE_M + 0.5
        moved += d > 1
    assert renamed == 200 and moved >= 190


def test_planted_lookalikes_are_twins_for_different_people() -> None:
    from geo_assets.sample import read_sample

    module = _eval_module()
    copies, pairs = module.plant_lookalikes(list(read_sample()[1]))
    assert len(copies) == 2 * len(pairs) == 2 * module.LOOKALIKES
    by_id = {a.id: a for a in copies}
    for pair in pairs:
        first, second = (by_id[i] for i in sorted(pair))
        assert first.name != second.name and name_contrast(first.name, second.name) is not None
        assert first.sessions == second.sessions and first.categories == second.categories
        _, _, d = GEOD.inv(
            first.location.lon, first.location.lat, second.location.lon, second.location.lat
        )
        assert d <= 20.5


def test_precision_and_recall_on_planted_duplicates() -> None:
    result = _eval_module().evaluate()
    print(f"precision {result.precision:.3f} recall {result.recall:.3f}")
    assert result.planted == 200
    assert result.precision >= 0.9
    assert result.recall >= 0.9
    assert result.lookalikes == 100 and result.lookalikes_reported == []


def test_import_report_warns_about_duplicates(tmp_path: Path) -> None:
    """The store-level check on import: the report warns, the import still succeeds."""
    from rich.console import Console

    from geo_assets.ingest.cli_support import import_file
    from geo_assets.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'imp.sqlite'}")
    store.upgrade()
    lat, lon = 53.8012, -1.7634
    store.create_asset(
        make_asset(
            id="existing",
            name="Manningham Knit & Natter",
            categories=["hobbies.crafts.knitting"],
            location={"lat": lat + 0.0003, "lon": lon, "place": "Manningham"},
            sessions=[{"weekdays": ["tu"], "start": "10:15", "end": "12:00"}],
        )
    )
    sheet = tmp_path / "sheet.csv"
    header = "name,kind,categories,lat,lon,place,sessions,status,source_id"
    row = "Knit and Natter,group,knitting,53.8012,-1.7634,Manningham,Tuesdays 10-12,published,k1"
    sheet.write_text(f"{header}\n{row}\n", encoding="utf-8")
    console = Console(record=True, width=200)
    assert import_file(store, "csv", sheet, source="sheet", console=console)
    text = console.export_text()
    assert "1 inserted" in text
    assert "possible duplicate:" in text and "Knit & Natter" in text
    assert store.count_assets() == 2
    store.close()
