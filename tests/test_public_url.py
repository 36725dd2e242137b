"""The service's public address (GEO_ASSETS_PUBLIC_URL): where the links it writes start."""

from __future__ import annotations

import pytest
from factories import make_asset
from fastapi.testclient import TestClient
from icalendar import Calendar
from pydantic import ValidationError

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.model import Session
from geo_assets.settings import Settings
from geo_assets.store import open_store


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, None),
        ("", None),
        ("https://assets.council.example", "https://assets.council.example"),
        ("https://assets.council.example/", "https://assets.council.example"),
        ("https://council.example/directory/", "https://council.example/directory"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_the_public_address_is_kept_without_its_last_slash(
    given: str | None, kept: str | None
) -> None:
    assert Settings(public_url=given).public_url == kept


@pytest.mark.parametrize(
    "bad",
    [
        "assets.council.example",
        "/directory",
        "ftp://council.example",
        "https://",
        "https://council.example/?x=1",
        "https://council.example/#top",
        "https://me:secret@council.example",
        "https://@council.example",
        "https://council.example:notaport",
        "https://council.example:99999",
        "https://council example",
        "https://council.example/<b>",
        "https://council.example\\x",
        "https://bücher.example",
        "https://council.example/a\x0bb",
    ],
)
def test_an_address_that_cannot_start_links_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=bad)


@pytest.mark.parametrize(
    ("public_url", "base"),
    [(None, "http://testserver"), ("https://council.example/directory", None)],
)
def test_calendar_and_hsds_links_start_at_the_public_address(
    tmp_path, public_url: str | None, base: str | None
) -> None:
    base = base or public_url
    url = f"sqlite:///{tmp_path / 'public.sqlite'}"
    store = open_store(url)
    store.upgrade()
    # An id from before new ones had to suit a web address as they are (a bulk load
    # keeps ids as given): links %-encode it.
    store.bulk_upsert(
        [
            make_asset(
                id="knit #1",
                source="older",
                source_id="1",
                status="published",
                sessions=[Session(weekdays=["tu"], start="10:00", end="12:00")],
            )
        ]
    )
    store.close()
    with TestClient(create_app(Settings(database_url=url, public_url=public_url))) as client:
        about = client.get("/hsds/")
        assert about.json()["openapi_url"] == f"{base}/openapi.json"
        page = client.get("/listings/knit%20%231")
        assert 'href="/listings/knit%20%231/calendar.ics"' in page.text
        got = client.get("/listings/knit%20%231/calendar.ics")
        assert got.status_code == 200, got.text[:300]
        events = [c for c in Calendar.from_ical(got.content).walk() if c.name == "VEVENT"]
        assert events and {str(e["url"]) for e in events} == {f"{base}/listings/knit%20%231"}


@pytest.mark.parametrize(
    ("public_url", "secure"), [(None, False), ("https://council.example", True)]
)
def test_behind_an_https_address_the_session_cookie_is_secure(
    tmp_path, public_url: str | None, secure: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'cookie.sqlite'}"
    store = open_store(url)
    store.upgrade()
    user = store.create_user(User(name="Ada", role="practitioner"))
    token = issue_token(store, user.id)
    store.close()
    with TestClient(create_app(Settings(database_url=url, public_url=public_url))) as client:
        got = client.post(
            "/sign-in",
            data={"token": token},
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )
        assert got.status_code == 303
        assert ("secure" in got.headers["set-cookie"].lower()) is secure
