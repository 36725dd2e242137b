"""Browser test harness: the app under uvicorn on 127.0.0.1, driven by Debian's Chromium.

- ``live_server``: the app in a thread on a free loopback port, over a SQLite store
  loaded with the sample data, with no basemap tiles (``GEO_ASSETS_TILES=none``) and
  local map files, so nothing needs the internet.
- ``browser``: Chromium through Playwright with ``executable_path`` (never Playwright's
  own browser download), headless, with its background network chatter turned off.
  Playwright gives each launch a fresh temporary profile (user-data dir).
- ``page``: a fresh context and page per test that records console errors, page
  errors and every request URL. Requests to any other host are aborted. After the
  test it saves ``artifacts/browser/<test>.png`` and fails the test if there was a
  console error or a request that left 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    ARTIFACTS,
    CHROMIUM,
    LiveServer,
    PageLog,
    launch_chromium,
    open_page,
    start_app,
)

from geo_assets.auth import ROLES, User, issue_token
from geo_assets.sample import load_sample
from geo_assets.store import open_store
from maps.assets import MapSettings, missing_files

playwright_sync = pytest.importorskip("playwright.sync_api")


def _missing(what: str) -> None:
    """Skip locally; fail under CI, where a skipped browser suite would hide a broken set-up."""
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="session")
def map_settings() -> MapSettings:
    settings = MapSettings(map_assets="local", tiles="none")
    if missing_files(settings.static_dir):
        _missing(f"map assets missing in {settings.static_dir}: run scripts/ensure_assets.sh")
    return settings


@pytest.fixture(scope="session")
def sample_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'sample.sqlite'}"
    store = open_store(url)
    try:
        store.upgrade()
        load_sample(store)
    finally:
        store.close()
    return url


@dataclass(frozen=True)
class Account:
    """A user of the sample store and their token (for signing in through the page)."""

    user: User
    token: str


@pytest.fixture(scope="session")
def accounts(sample_db_url: str) -> dict[str, Account]:
    """One account per role; the organisation account runs the sample's first organisation."""
    store = open_store(sample_db_url)
    try:
        org = store.list_organisations(per_page=1).items[0]
        out: dict[str, Account] = {}
        for role in ROLES:
            user = User(
                name=f"Test {role}",
                role=role,
                organisation_id=org.id if role == "organisation" else None,
            )
            created = store.create_user(user)
            out[role] = Account(created, issue_token(store, created.id))
        return out
    finally:
        store.close()


@pytest.fixture
def sign_in(page: Any, live_server: LiveServer, accounts: dict[str, Account]) -> Any:
    """``sign_in(role)``: sign the test's page in through the form; returns the Account."""

    def _sign_in(role: str) -> Account:
        account = accounts[role]
        page.goto(f"{live_server.url}/sign-in")
        page.get_by_label("Access token").fill(account.token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return account

    return _sign_in


@pytest.fixture(scope="session")
def live_server(sample_db_url: str, map_settings: MapSettings) -> Iterator[LiveServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEO_ASSETS_TILES", "none")
        mp.setenv("GEO_ASSETS_MAP_ASSETS", "local")
        server = start_app(sample_db_url, map_settings)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        _missing(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh")
    with playwright_sync.sync_playwright() as pw:
        chromium = launch_chromium(pw)
        yield chromium
        chromium.close()


def _artifact_name(nodeid: str) -> str:
    name = nodeid.split("::", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120] or "test"


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(
    browser: Any, live_server: LiveServer, page_log: PageLog, request: pytest.FixtureRequest
) -> Iterator[Any]:
    context, page = open_page(browser, page_log, viewport={"width": 1280, "height": 800})
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.wait_for_timeout(300)  # let popup fades and pans finish
        page.screenshot(path=str(ARTIFACTS / f"{_artifact_name(request.node.nodeid)}.png"))
    finally:
        context.close()
    errors = page_log.unexpected_errors()
    assert not errors, f"console errors: {errors}"
    assert not page_log.external_requests(), (
        f"requests left 127.0.0.1: {page_log.external_requests()}"
    )
