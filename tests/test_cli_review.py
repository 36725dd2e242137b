"""`geo-assets review ...` (list, show, approve, reject) through typer's CliRunner: held
changes to a listing and to an organisation's details, decided from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import make_asset, make_org
from typer.testing import CliRunner

import geo_assets.review as review
from geo_assets.cli import app
from geo_assets.store import Store, open_store

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store where an organisation proposed a new name for its listing (first) and a new
    phone number for itself (a day later)."""
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    ticks = iter([datetime(2026, 5, 1, 9, tzinfo=UTC), datetime(2026, 5, 2, 9, tzinfo=UTC)])
    monkeypatch.setattr(review, "utcnow", lambda: next(ticks))
    store = open_store(url)
    try:
        store.upgrade()
        store.create_organisation(make_org(id="org-1", name="A Trust"))
        store.create_asset(make_asset(id="knit", name="Knit and Natter", organisation_id="org-1"))
        store.update_asset("knit", {}, actor="u-olu", hold={"name": "Knit Club"})
        store.update_organisation("org-1", {}, actor="u-olu", hold={"phone": "0113 496 0000"})
    finally:
        store.close()
    monkeypatch.undo()
    return url


def _run(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, "review", *args])
    return result.exit_code, result.stdout, result.stderr


def _store(url: str) -> Store:
    return open_store(url)


def test_list_shows_both_kinds_oldest_first(url: str) -> None:
    code, out, err = _run(url, "list", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["kind"], r["id"], r["name"], r["fields"], r["revision"]) for r in rows] == [
        ("listing", "knit", "Knit and Natter", ["name"], 1),
        ("organisation", "org-1", "A Trust", ["phone"], 1),
    ]
    code, out, _ = _run(url, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("listing") and "'Knit and Natter'" in lines[0]
    assert lines[1].startswith("organisation") and "phone" in lines[1]
    assert lines[2].startswith("2 awaiting review")


def test_show_sets_the_published_value_beside_the_proposed_one(url: str) -> None:
    code, out, err = _run(url, "show", "org-1", "--organisation", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["changes"] == {"phone": {"published": None, "proposed": "0113 496 0000"}}
    assert shown["revision"] == 1
    code, out, _ = _run(url, "show", "knit")
    assert code == 0
    assert 'published: "Knit and Natter"' in out and 'proposed:  "Knit Club"' in out
    assert "geo-assets review approve knit --revision 1" in out
    code, _, err = _run(url, "show", "org-1")  # not a listing's id
    assert code == 1 and "asset `org-1` not found" in err


def test_approve_and_reject_decide_the_revision_read_and_are_audited(url: str) -> None:
    code, out, err = _run(url, "approve", "knit", "--revision", "1")
    assert code == 0, err
    assert out.startswith("approved revision 1 of the changes to 'Knit Club'")
    code, _, err = _run(url, "reject", "org-1", "--organisation", "--revision", "2")
    assert code == 1 and "at revision 1, not 2" in err  # not the revision waiting
    code, out, err = _run(url, "reject", "org-1", "--organisation", "--revision", "1")
    assert code == 0, err
    store = _store(url)
    try:
        assert store.get_asset("knit").name == "Knit Club"
        assert store.get_organisation("org-1").phone is None
        assert store.get_held_changes("knit") is None
        assert store.get_held_organisation_changes("org-1") is None
        for record_id, action in (("knit", "approve"), ("org-1", "reject")):
            entry = store.list_audit(record_id).items[0]
            assert entry.action == action and entry.actor.startswith("cli")
    finally:
        store.close()
    code, out, _ = _run(url, "list")
    assert (code, out.strip()) == (0, "no changes await review")
    code, _, err = _run(url, "approve", "knit", "--revision", "1")
    assert code == 1 and "held changes for asset `knit` not found" in err


def test_a_revision_is_required_and_positive(url: str) -> None:
    code, _, err = _run(url, "approve", "knit")
    assert code == 2 and "--revision" in err
    code, _, err = _run(url, "approve", "knit", "--revision", "0")
    assert code == 2
