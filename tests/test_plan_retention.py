"""Saved plans are kept no longer than the retention period (``plan_retention_days``).

The running service deletes expired plans at start-up and then daily (``api.retention``);
``geo-assets plans purge`` does it from the command line, and ``users revoke
--purge-plans`` removes a departing practitioner's plans."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.retention import purge_plans_periodically
from geo_assets.auth import User
from geo_assets.cli import app as cli
from geo_assets.errors import NotFoundError, StoreUnavailableError
from geo_assets.model import utcnow
from geo_assets.plans import RETENTION_ACTOR, PlanItem, SavedPlan, purge_expired
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

runner = CliRunner()
ITEM = PlanItem(
    asset_id="a-1", name="Allotment club", when="Tue", travel="under 15 min walk", mode="walk"
)


def _plan(owner: str, reference: str, days_old: float) -> SavedPlan:
    return SavedPlan(
        reference=reference,
        owner_id=owner,
        created_at=utcnow() - timedelta(days=days_old),
        items=[ITEM],
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A store with two practitioners and plans 1, 100 and 400 days old for each."""
    url = f"sqlite:///{tmp_path / 'plans.sqlite'}"
    store = open_store(url)
    store.upgrade()
    for owner in ("prac-a", "prac-b"):
        store.create_user(User(id=owner, name=owner, role="practitioner"))
        for days in (1, 100, 400):
            store.save_plan(_plan(owner, f"{owner}-{days}", days))
    store.close()
    return url


def _references(url: str) -> set[str]:
    store = open_store(url)
    try:
        return {p.reference for o in ("prac-a", "prac-b") for p in store.list_plans(o).items}
    finally:
        store.close()


def test_purge_expired_keeps_plans_within_the_retention(url: str) -> None:
    store = open_store(url)
    try:
        assert purge_expired(store, 365) == 2
        assert purge_expired(store, 365) == 0
        actors = {e.actor for e in store.list_audit().items if e.entity == "plan"}
        assert actors == {RETENTION_ACTOR}
    finally:
        store.close()
    assert _references(url) == {"prac-a-1", "prac-a-100", "prac-b-1", "prac-b-100"}


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["--database-url", url, *args])
    return result.exit_code, result.stdout + result.stderr


def test_cli_purge_uses_the_retention_setting_by_default(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_ASSETS_PLAN_RETENTION_DAYS", "30")
    store = open_store(url)
    try:  # an ended web session, which cron's purge also clears (as the service does)
        store.add_token("prac-a", "eeeeeeeeeeeeeee0", "h")  # the token signed in with
        store.add_token(
            "prac-a",
            "eeeeeeeeeeeeeee1",
            "h",
            expires_at=utcnow() - timedelta(hours=1),
            session_of="eeeeeeeeeeeeeee0",
        )
    finally:
        store.close()
    code, out = _cli(url, "plans", "purge")
    assert code == 0, out
    assert "deleted 4 saved plan(s) saved more than 30 days ago" in out
    assert "deleted 1 ended web session token(s)" in out
    assert _references(url) == {"prac-a-1", "prac-b-1"}


def test_cli_purge_of_one_owner_and_age(url: str) -> None:
    code, out = _cli(url, "plans", "purge", "--owner", "prac-a", "--older-than-days", "50")
    assert code == 0, out
    assert "deleted 2 saved plan(s) of user prac-a" in out
    assert _references(url) == {"prac-a-1", "prac-b-1", "prac-b-100", "prac-b-400"}
    code, out = _cli(url, "plans", "purge", "--owner", "prac-b")
    assert code == 0 and "deleted 3 saved plan(s) of user prac-b" in out
    assert _references(url) == {"prac-a-1"}


def test_cli_purge_refuses_a_nonsense_age(url: str) -> None:
    code, out = _cli(url, "plans", "purge", "--older-than-days", "0")
    assert code != 0
    assert _references(url) == {f"prac-{o}-{d}" for o in "ab" for d in (1, 100, 400)}


def test_revoking_a_practitioner_can_delete_their_plans(url: str) -> None:
    code, out = _cli(url, "users", "revoke", "prac-a", "--purge-plans")
    assert code == 0, out
    assert "deleted 3 saved plan(s) of user prac-a" in out
    assert _references(url) == {"prac-b-1", "prac-b-100", "prac-b-400"}


def test_the_service_deletes_expired_plans_when_it_starts(url: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=url, plan_retention_days=90))
    with TestClient(app):
        deadline = time.monotonic() + 10
        while _references(url) != {"prac-a-1", "prac-b-1"} and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _references(url) == {"prac-a-1", "prac-b-1"}


def test_a_deployment_can_leave_the_purge_to_cron(url: str) -> None:
    before = _references(url)
    app = create_app(
        Settings(database_url=url, plan_retention_days=90, purge_plans_in_service=False)
    )
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        time.sleep(0.5)  # the service's own purge would have run by now
    assert _references(url) == before and len(before) == 6
    assert runner.invoke(cli, ["--database-url", url, "plans", "purge"]).exit_code == 0
    assert _references(url) != before  # the command run from cron still does it


class _FlakyStore:
    """A store whose first purge finds the database down."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def purge_plans(self, **kwargs: object) -> int:
        self.calls.append(kwargs)
        if len(self.calls) == 1:
            raise StoreUnavailableError("PostgreSQL is unavailable")
        return 2

    def delete_expired_tokens(self, before: object) -> int:
        return 1


def test_a_failed_purge_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    store = _FlakyStore()

    async def run() -> None:
        task = asyncio.create_task(
            purge_plans_periodically(store, 365, every_s=0.01)  # type: ignore[arg-type]
        )
        while len(store.calls) < 3:
            await asyncio.sleep(0.01)
        task.cancel()

    caplog.set_level(logging.INFO, logger="api.retention")
    # In a thread of its own: the browser tests keep an event loop in the main thread.
    worker = threading.Thread(target=asyncio.run, args=(run(),))
    worker.start()
    worker.join(10)
    assert len(store.calls) >= 3
    assert all(set(c) == {"before", "actor"} for c in store.calls)
    messages = [r.getMessage() for r in caplog.records]
    assert "could not delete expired saved plans; will try again" in messages
    assert "deleted 2 saved plan(s) older than 365 days" in messages
    assert "deleted 1 ended web session token(s)" in messages


class _SlowStore:
    """A store whose purge takes a while, and which notes whether it was closed under it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.purging = False
        self.closed_while_purging = False

    def purge_plans(self, **kwargs: object) -> int:
        self.purging = True
        self.started.set()
        time.sleep(0.3)
        self.purging = False
        return 0

    def delete_expired_tokens(self, before: object) -> int:
        return 0

    def close(self) -> None:
        self.closed_while_purging = self.purging


def test_stopping_waits_for_a_purge_in_flight_before_the_store_closes() -> None:
    store = _SlowStore()

    async def run() -> None:
        task = asyncio.create_task(purge_plans_periodically(store, 365))  # type: ignore[arg-type]
        while not store.started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()  # as the app's lifespan does when the service stops
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()

    worker = threading.Thread(target=asyncio.run, args=(run(),))
    worker.start()
    worker.join(10)
    assert store.started.is_set() and not store.closed_while_purging


def test_the_retention_period_has_sane_bounds() -> None:
    assert Settings().plan_retention_days == 365
    for bad in (0, 4000):
        with pytest.raises(ValueError):
            Settings(plan_retention_days=bad)


def test_a_purged_plan_is_gone_for_good(url: str) -> None:
    store: Store = open_store(url)
    try:
        old = next(p for p in store.list_plans("prac-a").items if p.reference == "prac-a-400")
        purge_expired(store, 365)
        with pytest.raises(NotFoundError):
            store.get_plan(old.id)
    finally:
        store.close()
