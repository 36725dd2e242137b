"""Personal data stays out of the logs and the store.

A real uvicorn server (access log on, every logger at uvicorn's TRACE level, below DEBUG,
which also logs each ASGI message) serves a match request and a postcode lookup, and
nothing it logs, through the logging module or straight to stdout/stderr, carries the
origin coordinates, the postcode or the interests. A connection plan the practitioner
saves keeps none of them either, nor the name typed on the plan page."""

from __future__ import annotations

import copy
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import TRACE_LOG_LEVEL

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.settings import Settings
from geo_assets.store import open_store

# Personal data of the person being helped, chosen so that no other text can contain it.
ORIGIN = (53.7941637, -1.7518423)  # (lat, lon) degrees, central Bradford
POSTCODE = "BD1 1HY"
INTERESTS = ["bagpipe ensembles", "origami", "gardening"]
PERSON = "Zebedee Quixote"  # the name or initials typed on the plan page: printed only
REFERENCE = "PRIV-0427"  # the practitioner's code for the saved plan
SECRETS = [
    "Zebedee",
    "Quixote",
    "53.7941",
    "1.75184",
    "bagpipe",
    "origami",
    "BD1 1HY",
    "BD11HY",
    "BD1+1HY",
    "BD1%201HY",
    "bd1 1hy",
    "bd1%201hy",
]
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
STARTUP_TIMEOUT_S = 20.0


def _profile() -> dict[str, object]:
    return {
        "origin": {"lat": ORIGIN[0], "lon": ORIGIN[1]},
        "interests": INTERESTS,
        "travel": [{"mode": "walk", "max_minutes": 25}],
    }


@pytest.fixture
def sample_settings(tmp_path: Path, sample_sqlite: Callable[[Path], str]) -> tuple[Settings, str]:
    """Settings for a sample-loaded SQLite store, and a practitioner's token."""
    url = sample_sqlite(tmp_path)
    store = open_store(url)
    try:
        user = store.create_user(User(name="Privacy practitioner", role="practitioner"))
        token = issue_token(store, user.id)
    finally:
        store.close()
    return Settings(database_url=url), token


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """uvicorn's dictConfig rewires its loggers process-wide: put them back afterwards."""
    saved = {}
    for name in (*UVICORN_LOGGERS, ""):
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate, logger.filters[:])
    try:
        yield
    finally:
        for name, (handlers, level, propagate, filters) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
            logger.filters[:] = filters


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn on a free loopback port, as `geo-assets serve` would, at TRACE."""
    config = uvicorn.Config(
        create_app(settings),
        log_config=copy.deepcopy(LOGGING_CONFIG),
        log_level="trace",
        access_log=True,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started_at = time.monotonic()
    while not server.started:
        assert thread.is_alive(), "uvicorn exited during startup"
        assert time.monotonic() - started_at < STARTUP_TIMEOUT_S, "uvicorn did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _record_text(record: logging.LogRecord) -> str:
    """Everything a formatter could print from a record: the message and every attribute."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    return message + "\n" + repr(vars(record))


def _search_through_the_web_pages(client: httpx.Client, token: str) -> str:
    """The practitioner's pages: sign in, search (by postcode, then by a map point), plan,
    save the plan; the saved plan's id."""
    same_site = {"Origin": str(client.base_url).rstrip("/")}
    signed = client.post("/sign-in", data={"token": token}, headers=same_site)
    assert signed.status_code in (200, 303), signed.text
    form = {
        "where": POSTCODE,
        "interests": ", ".join(INTERESTS),
        "mode": "walk",
        "minutes_walk": "25",
    }
    by_postcode = client.post("/search", data=form, headers=same_site)
    assert by_postcode.status_code in (200, 422), by_postcode.text
    by_point = {**form, "lat": str(ORIGIN[0]), "lon": str(ORIGIN[1])}
    found = client.post("/search", data=by_point, headers=same_site)
    assert found.status_code == 200, found.text
    assert 'name="plan_asset"' in found.text
    asset_id = found.text.split('name="plan_asset" value="', 1)[1].split('"', 1)[0]
    profile = json.dumps(_profile())
    plan = {"profile": profile, "plan_asset": asset_id, "limit": "10", "person": PERSON}
    made = client.post("/search/plan", data=plan, headers=same_site)
    assert made.status_code == 200, made.text
    assert 'action="/plans"' in made.text
    saved = client.post(
        "/plans", data={**plan, "reference": REFERENCE}, headers=same_site, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    plan_id = saved.headers["location"].removeprefix("/plans/")
    shown = client.get(f"/plans/{plan_id}")
    assert shown.status_code == 200 and REFERENCE in shown.text and PERSON not in shown.text
    return plan_id


def test_match_and_geocode_leave_no_personal_data_in_logs(
    sample_settings: tuple[Settings, str],
    restored_logging: None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings, token = sample_settings
    caplog.set_level(TRACE_LOG_LEVEL)
    # The test's own HTTP client logs the URLs it calls; it is not the service.
    for client_logger in ("httpx", "httpcore"):
        caplog.set_level(logging.WARNING, logger=client_logger)
    server, thread, base_url = _serve(settings)
    # uvicorn's own loggers do not propagate to the root: listen on each of them too.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(caplog.handler)
        logger.setLevel(TRACE_LOG_LEVEL)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            matched = client.post("/match", json=_profile(), headers=auth)
            assert matched.status_code == 200, matched.text
            geocoded = client.get("/geocode", params={"q": POSTCODE})
            assert geocoded.status_code in (200, 404), geocoded.text
            # Variants that reach other code paths: a redirect, a bad body, a bad query.
            client.get("/geocode/", params={"q": POSTCODE}, follow_redirects=True)
            # A directory's "services near me" through the Open Referral feed.
            near = client.get("/hsds/service_at_locations", params={"postcode": POSTCODE})
            assert near.status_code in (200, 400), near.text
            bad = dict(_profile(), travel=[])
            assert client.post("/match", json=bad, headers=auth).status_code == 422
            raw = json.dumps(_profile()) + "}"  # malformed JSON holding the same data
            client.post("/match", content=raw, headers={**auth, "Content-Type": "application/json"})
            _search_through_the_web_pages(client, token)
        time.sleep(0.2)  # the access log line is written after the response
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for name in UVICORN_LOGGERS:
            logging.getLogger(name).removeHandler(caplog.handler)

    logged = "\n".join(_record_text(r) for r in caplog.records)
    captured = capfd.readouterr()
    everything = "\n".join([logged, captured.out, captured.err])

    # The capture did see the requests (so an empty log cannot pass by accident) ...
    assert "POST /match HTTP/1.1" in everything
    assert "GET /geocode HTTP/1.1" in everything
    assert "GET /hsds/service_at_locations HTTP/1.1" in everything
    assert "POST /search/plan HTTP/1.1" in everything
    assert "POST /plans HTTP/1.1" in everything
    assert "Started scope=" in everything  # the trace-level ASGI log was on
    # ... and none of the person's data.
    leaks = [s for s in SECRETS if s.lower() in everything.lower()]
    assert not leaks, f"personal data in the logs: {leaks}"


def test_a_saved_plan_keeps_nothing_personal(sample_settings: tuple[Settings, str]) -> None:
    """Saved from the web pages, the plan holds the reference and the activities only:
    not in the model read back, nor in the raw row, nor in the audit log."""
    settings, token = sample_settings
    with TestClient(create_app(settings)) as client:
        plan_id = _search_through_the_web_pages(client, token)
    store = open_store(settings.database_url)
    try:
        plan = store.get_plan(plan_id)
        assert plan.reference == REFERENCE and len(plan.items) == 1
        read_back = plan.model_dump_json()
        audit = json.dumps([vars(e) for e in store.list_audit(plan_id).items], default=str)
    finally:
        store.close()
    path = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM plans").fetchall()
    assert len(rows) == 1 and plan_id in rows[0]
    raw = json.dumps(rows, default=str)
    assert set(json.loads(rows[0][-1])) == {"id", "reference", "owner_id", "created_at", "items"}
    for text in (read_back, raw, audit):
        leaks = [s for s in [*SECRETS, ", ".join(INTERESTS)] if s.lower() in text.lower()]
        assert not leaks, f"personal data stored with the plan: {leaks}"
    assert REFERENCE not in audit


def test_what_is_typed_about_a_person_is_not_remembered_between_searches() -> None:
    """The interest resolver remembers its own vocabulary's words ("gardening"), never
    the rest of what was typed: that stays in no cache once the search is over."""
    from geo_assets.interests import InterestResolver, default_resolver

    resolver = default_resolver()
    remembered = InterestResolver._resolve_known
    before = remembered.cache_info().currsize
    said = "recovering from a breakdown, used to play guitar"
    assert resolver.resolve(said)  # it is read: guitar
    assert remembered.cache_info().currsize == before
    assert resolver.resolve("gardening") and remembered.cache_info().currsize <= before + 1
    assert resolver.resolve(said) == resolver.resolve(said)
