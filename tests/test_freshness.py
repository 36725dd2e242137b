"""Freshness: one stale threshold for the flag, the score, `stale` and "still running"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo_assets import freshness, matching
from geo_assets.cli import app
from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError
from geo_assets.freshness import (
    STALE_AFTER_DAYS,
    configured_stale_after_days,
    confirm_still_running,
    freshness_score,
    is_stale,
    stale_assets,
)
from geo_assets.model import utcnow
from geo_assets.store.base import Store
from tests.factories import make_asset, make_org

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
runner = CliRunner()


def _verified(days: float | None, **overrides: object):
    when = None if days is None else NOW - timedelta(days=days)
    return make_asset(last_verified_at=when, **overrides)


@pytest.fixture
def clear_setting_cache():
    configured_stale_after_days.cache_clear()
    yield
    configured_stale_after_days.cache_clear()


def test_one_definition_shared_with_matching_and_maps() -> None:
    from maps import directory

    assert matching.is_stale is freshness.is_stale
    assert matching.freshness_score is freshness.freshness_score
    assert matching.STALE_AFTER_DAYS == STALE_AFTER_DAYS == 180
    assert directory.is_stale is freshness.is_stale


@pytest.mark.parametrize(
    ("days", "stale"), [(0, False), (179.9, False), (180, False), (180.01, True), (900, True)]
)
def test_stale_after_the_default_threshold(days: float, stale: bool) -> None:
    assert is_stale(_verified(days), NOW) is stale


def test_never_confirmed_is_stale() -> None:
    assert is_stale(_verified(None), NOW)


def test_threshold_can_be_given() -> None:
    asset = _verified(40)
    assert is_stale(asset, NOW, 30) and not is_stale(asset, NOW, 60)


def test_bad_threshold_names_the_field() -> None:
    with pytest.raises(InvalidInputError) as err:
        is_stale(_verified(1), NOW, 0)
    assert err.value.field == "stale_after_days"


def test_setting_changes_the_default(monkeypatch, clear_setting_cache) -> None:
    monkeypatch.setenv("GEO_ASSETS_STALE_AFTER_DAYS", "30")
    configured_stale_after_days.cache_clear()
    asset = _verified(45)
    assert configured_stale_after_days() == 30
    assert is_stale(asset, NOW)
    assert freshness_score(asset, NOW) < 1.0  # past half of 30 days


def test_score_matches_the_earlier_matching_curve_at_the_default() -> None:
    """Hand-worked: 1 to day 90, then 1 - 0.8 (d - 90) / 640, floor 0.2; 0.3 if never."""
    assert freshness_score(_verified(None), NOW) == 0.3
    assert freshness_score(_verified(10), NOW) == 1.0
    assert freshness_score(_verified(90), NOW) == 1.0
    assert freshness_score(_verified(410), NOW) == pytest.approx(0.6)
    assert freshness_score(_verified(180), NOW) == pytest.approx(1 - 0.8 * 90 / 640)
    assert freshness_score(_verified(2000), NOW) == 0.2


@pytest.mark.parametrize("threshold", [30, 90, 180, 365])
def test_score_and_flag_agree_on_the_threshold(threshold: int) -> None:
    """Every stale listing scores below every fresh one, whatever the threshold."""
    fresh_days = [*range(0, threshold, 3), threshold]
    fresh = [freshness_score(_verified(d), NOW, threshold) for d in fresh_days]
    stale = [freshness_score(_verified(d), NOW, threshold) for d in range(threshold + 1, 4000, 7)]
    assert min(fresh) > max(stale)
    assert min(fresh) == freshness_score(_verified(threshold), NOW, threshold)


def test_confirm_sets_last_verified_and_audits(store: Store) -> None:
    created = store.create_asset(make_asset(last_verified_at=NOW - timedelta(days=400)))
    before = utcnow()
    confirmed = confirm_still_running(store, created.id, actor="user-1")
    assert confirmed.last_verified_at is not None and confirmed.last_verified_at >= before
    assert confirmed.version == created.version + 1
    assert not is_stale(store.get_asset(created.id), utcnow())
    entry = store.list_audit(created.id).items[0]
    assert entry.actor == "user-1" and entry.action == "update"
    assert "last_verified_at" in entry.changes


def test_confirm_refuses_unknown_and_archived(store: Store) -> None:
    with pytest.raises(NotFoundError):
        confirm_still_running(store, "no-such-asset")
    asset = store.create_asset(make_asset())
    store.archive_asset(asset.id)
    with pytest.raises(ConflictError):
        confirm_still_running(store, asset.id)


def _stale_world(store: Store) -> tuple[str, str]:
    a = store.create_organisation(make_org(name="Alpha"))
    b = store.create_organisation(make_org(name="Beta"))
    rows = [
        ("a-old", a.id, 400, "published"),
        ("a-never", a.id, None, "pending"),
        ("a-fresh", a.id, 10, "published"),
        ("a-draft", a.id, 900, "draft"),
        ("b-old", b.id, 200, "published"),
        ("b-archived", b.id, 900, "archived"),
        ("none-old", None, 365, "published"),
    ]
    for name, org, days, status in rows:
        store.create_asset(_verified(days, id=name, name=name, organisation_id=org, status=status))
    return a.id, b.id


def test_stale_assets_grouped_per_organisation(store: Store) -> None:
    a, b = _stale_world(store)
    groups = stale_assets(store, now=NOW)
    assert {k: [s.asset.id for s in v] for k, v in groups.items()} == {
        a: ["a-never", "a-old"],  # never confirmed first, then the oldest
        b: ["b-old"],
        None: ["none-old"],
    }
    assert groups[a][1].days_since_verified == pytest.approx(400)
    only_b = stale_assets(store, b, now=NOW)
    assert list(only_b) == [b]
    assert [s.asset.id for s in stale_assets(store, a, now=NOW, stale_after_days=500)[a]] == [
        "a-never"
    ]


@pytest.fixture
def cli_db(tmp_path: Path) -> tuple[str, Store]:
    from geo_assets.store import open_store

    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    store = open_store(url)
    store.upgrade()
    return url, store


def test_cli_stale_and_confirm(cli_db: tuple[str, Store]) -> None:
    url, store = cli_db
    now = utcnow()
    org = store.create_organisation(make_org(name="Alpha"))
    store.create_asset(
        make_asset(
            id="old-one",
            name="Old One",
            organisation_id=org.id,
            last_verified_at=now - timedelta(days=300),
        )
    )
    store.create_asset(make_asset(id="new-one", name="New One", last_verified_at=now))
    store.close()

    listed = runner.invoke(app, ["--database-url", url, "stale"])
    assert listed.exit_code == 0, listed.output
    assert "Alpha" in listed.output and "old-one" in listed.output
    assert "new-one" not in listed.output

    as_json = runner.invoke(app, ["--database-url", url, "stale", "--json", "--org", org.id])
    data = json.loads(as_json.output)
    assert data[0]["organisation_name"] == "Alpha"
    assert [a["id"] for a in data[0]["assets"]] == ["old-one"]
    assert data[0]["assets"][0]["days_since_verified"] == 300

    wider = runner.invoke(app, ["--database-url", url, "stale", "--json", "--days", "400"])
    assert json.loads(wider.output) == []

    confirmed = runner.invoke(app, ["--database-url", url, "confirm", "old-one"])
    assert confirmed.exit_code == 0, confirmed.output
    after = runner.invoke(app, ["--database-url", url, "stale", "--json"])
    assert json.loads(after.output) == []

    missing = runner.invoke(app, ["--database-url", url, "confirm", "nope"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_cli_stale_reads_the_setting(cli_db: tuple[str, Store], clear_setting_cache) -> None:
    url, store = cli_db
    store.create_asset(make_asset(id="x", last_verified_at=utcnow() - timedelta(days=40)))
    store.close()
    default = runner.invoke(app, ["--database-url", url, "stale", "--json"])
    assert json.loads(default.output) == []
    short = runner.invoke(
        app,
        ["--database-url", url, "stale", "--json"],
        env={"GEO_ASSETS_STALE_AFTER_DAYS": "30"},
    )
    assert json.loads(short.output)[0]["stale_after_days"] == 30
