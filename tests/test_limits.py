"""Request limits (api/limits.py): body size, rate, CORS, pagination bounds."""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request

from api.app import create_app
from api.limits import BodySizeLimit, PrivateQueryFilter, RateLimiter, caller_key, scrub_path
from api.routers.portal_pages import UPLOAD_PATH
from api.web import megabytes
from geo_assets.auth import User, VerifiedTokens, authenticate, issue_token
from geo_assets.errors import RateLimited
from geo_assets.settings import Settings
from geo_assets.store.base import MAX_PAGE, MAX_PER_PAGE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
LIMIT_BYTES = 1_000


def _app(tmp_path: Path, **settings: object) -> tuple[FastAPI, list[int]]:
    """The real app plus one test route that reads its body and records its size."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'l.sqlite'}", **settings))
    seen: list[int] = []

    @app.post("/test-echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    return app, seen


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[TestClient, list[int]]]:
    app, seen = _app(tmp_path, max_body_bytes=LIMIT_BYTES, rate_limit_per_minute=0)
    with TestClient(app) as client:
        yield client, seen


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    return body


# --- body size ------------------------------------------------------------------------------


def test_a_body_within_the_limit_reaches_the_route(limited) -> None:
    client, seen = limited
    response = client.post("/test-echo", content=b"x" * LIMIT_BYTES)
    assert response.status_code == 200
    assert seen == [LIMIT_BYTES]


def test_a_declared_length_over_the_limit_is_refused_unread(limited) -> None:
    client, seen = limited
    response = client.post("/test-echo", content=b"x" * (LIMIT_BYTES + 1))
    body = _is_problem(response, 413)
    assert str(LIMIT_BYTES) in body["detail"]
    assert seen == []


def test_a_streamed_body_is_counted_and_refused_past_the_limit(limited) -> None:
    client, seen = limited

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"y" * 100

    response = client.post("/test-echo", content=chunks())
    assert "content-length" not in response.request.headers
    body = _is_problem(response, 413)
    assert str(LIMIT_BYTES) in body["detail"]
    assert seen == []


def test_reading_stops_at_the_limit() -> None:
    """At the ASGI level: a body-reading app behind the limit pulls at most one chunk past it."""
    pulled: list[int] = []
    sent: list[dict] = []

    async def read_all(scope: dict, receive, send) -> None:
        while (await receive()).get("more_body"):
            pass

    async def receive() -> dict:
        pulled.append(1)
        return {"type": "http.request", "body": b"z" * 100, "more_body": len(pulled) < 50}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    # In a thread of its own: the browser tests keep Playwright's event loop running in
    # the main thread for the whole session.
    worker = threading.Thread(
        target=asyncio.run,
        args=(BodySizeLimit(read_all, max_body_bytes=LIMIT_BYTES)(scope, receive, send),),
    )
    worker.start()
    worker.join()
    assert len(pulled) == LIMIT_BYTES // 100 + 1
    assert sent[0]["status"] == 413


def test_the_default_limit_is_one_mebibyte() -> None:
    assert Settings().max_body_bytes == 1024 * 1024
    assert Settings().max_upload_bytes == 10 * 1024 * 1024


def test_the_upload_page_has_its_own_larger_limit(tmp_path: Path) -> None:
    """A sheet bigger than the general limit reaches the upload route (which then wants a
    signed-in user); one over the upload limit does not."""
    app, _ = _app(tmp_path, max_body_bytes=LIMIT_BYTES, max_upload_bytes=4 * LIMIT_BYTES)
    with TestClient(app) as client:
        within = client.post(UPLOAD_PATH, content=b"x" * (2 * LIMIT_BYTES))
        assert within.status_code != 413
        over = client.post(UPLOAD_PATH, content=b"x" * (4 * LIMIT_BYTES + 1))
        assert str(4 * LIMIT_BYTES) in _is_problem(over, 413)["detail"]
        elsewhere = client.post("/test-echo", content=b"x" * (2 * LIMIT_BYTES))
        _is_problem(elsewhere, 413)


def test_a_browser_form_over_the_limit_gets_a_page(limited) -> None:
    client, seen = limited
    response = client.post(
        "/test-echo",
        content=b"x" * (3 * LIMIT_BYTES),
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>File too large</h1>" in response.text
    assert "(3 KB)" in response.text and "the 1 KB it accepts" in response.text
    assert '<a href="/test-echo">Back to the form</a>' in response.text
    assert seen == []


@pytest.mark.parametrize("more", [True, False])
def test_a_refused_browser_form_is_read_to_its_end_first(more: bool) -> None:
    """The browser gets its answer only once it has sent everything: the body is drained
    (and dropped), and the connection kept unless it could not be."""
    pulled: list[int] = []
    sent: list[dict] = []
    chunk = 100
    total = 40 if more else 2_000_000  # the second declares more than is ever drained

    async def never_called(scope: dict, receive, send) -> None:
        raise AssertionError("the app must not see a refused body")

    async def receive() -> dict:
        pulled.append(1)
        return {"type": "http.request", "body": b"z" * chunk, "more_body": len(pulled) < 40}

    async def send(message: dict) -> None:
        sent.append(message)

    declared = str(total * chunk).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/form",
        "headers": [(b"accept", b"text/html"), (b"content-length", declared)],
    }
    limiter = BodySizeLimit(never_called, max_body_bytes=LIMIT_BYTES)
    worker = threading.Thread(target=asyncio.run, args=(limiter(scope, receive, send),))
    worker.start()
    worker.join()
    assert sent[0]["status"] == 413
    headers = dict(sent[0]["headers"])
    if more:
        assert len(pulled) == 40
        assert b"connection" not in headers
    else:  # 200 MB declared: not worth reading, so not read, and the connection closes
        assert pulled == []
        assert headers[b"connection"] == b"close"


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [(10 * 1024 * 1024, "10 MB"), (1536 * 1024, "1.5 MB"), (1000, "1 KB"), (1, "1 KB")],
)
def test_sizes_read_as_people_write_them(n_bytes: int, text: str) -> None:
    assert megabytes(n_bytes) == text


# --- rate limit -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1_000.0

    def __call__(self) -> float:
        return self.now_s


def test_the_bucket_allows_a_minute_of_requests_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(6, clock=clock)  # one token every 10 s
    for _ in range(6):
        limiter.take("a")
    with pytest.raises(RateLimited) as caught:
        limiter.take("a")
    assert caught.value.retry_after_s == 10
    limiter.take("b")  # another caller has its own bucket
    clock.now_s += 4.0
    with pytest.raises(RateLimited) as caught:
        limiter.take("a")
    assert caught.value.retry_after_s == 6
    clock.now_s += 6.0
    limiter.take("a")


def test_idle_buckets_are_forgotten() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock)
    for i in range(100):
        limiter.take(f"caller {i}")
    assert len(limiter) == 100
    clock.now_s += 61.0
    limiter.take("new")
    assert len(limiter) == 1


def test_caller_key_is_the_user_of_a_proven_token_else_the_ip() -> None:
    verified = VerifiedTokens()
    verified.put("ga_abc_secret", "abc", "user-7")
    client = ("203.0.113.9", 5555)

    def key(*headers: tuple[bytes, bytes]) -> str:
        return caller_key({"type": "http", "headers": list(headers), "client": client}, verified)

    assert key((b"authorization", b"Bearer ga_abc_secret")) == "user:user-7"
    assert key((b"cookie", b"other=1; ga_session=ga_abc_secret")) == "user:user-7"
    # Made-up tokens, in either place, are the address they come from: no bucket each.
    assert key((b"authorization", b"Bearer ga_made_up")) == "ip:203.0.113.9"
    assert key((b"cookie", b"ga_session=ga_made_up")) == "ip:203.0.113.9"
    assert key() == "ip:203.0.113.9"


def test_made_up_tokens_do_not_get_round_the_rate(tmp_path: Path) -> None:
    """Each request with a fresh invented bearer token once had a bucket of its own."""
    app, seen = _app(tmp_path, rate_limit_per_minute=3)
    with TestClient(app) as client:
        codes = [
            client.post(
                "/test-echo", content=b"{}", headers={"authorization": f"Bearer ga_x{i}_y"}
            ).status_code
            for i in range(6)
        ]
    assert codes == [200, 200, 200, 429, 429, 429] and len(seen) == 3


def test_writes_over_the_rate_get_429_with_retry_after(tmp_path: Path) -> None:
    app, seen = _app(tmp_path, rate_limit_per_minute=3)
    with TestClient(app) as client:
        for _ in range(3):
            assert client.post("/test-echo", content=b"{}").status_code == 200
        refused = client.post("/test-echo", content=b"{}")
        body = _is_problem(refused, 429)
        assert body["type"].endswith("rate-limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert len(seen) == 3  # refused before the route ran
        # Reads are not limited; a signed-in caller (its token proven) has its own allowance.
        assert client.get("/healthz").status_code == 200
        store = app.state.store
        token = issue_token(store, store.create_user(User(name="Ann", role="practitioner")).id)
        authenticate(store, token)
        other = client.post(
            "/test-echo", content=b"{}", headers={"Authorization": f"Bearer {token}"}
        )
        assert other.status_code == 200


# --- CORS -----------------------------------------------------------------------------------

ORIGIN = "https://council.example"
PREFLIGHT = {"Access-Control-Request-Method": "GET"}


def test_no_cors_headers_by_default(tmp_path: Path) -> None:
    app, _ = _app(tmp_path)
    with TestClient(app) as client:
        response = client.get("/healthz", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in response.headers
        hsds = client.get("/hsds/", headers={"Origin": ORIGIN})
        assert hsds.headers["access-control-allow-origin"] == "*"
        preflight = client.options("/hsds/services", headers={"Origin": ORIGIN, **PREFLIGHT})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"


def test_configured_origins_may_call_the_api(tmp_path: Path) -> None:
    app, _ = _app(tmp_path, cors_origins=[ORIGIN])
    with TestClient(app) as client:
        allowed = client.get("/healthz", headers={"Origin": ORIGIN})
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        other = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(
            "/assets",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]
        # /hsds/ stays open to every origin whatever the configured list says.
        hsds = client.get("/hsds/services", headers={"Origin": "https://elsewhere.example"})
        assert hsds.headers["access-control-allow-origin"] == "*"


def test_cors_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_ASSETS_CORS_ORIGINS", f'["{ORIGIN}"]')
    assert Settings().cors_origins == [ORIGIN]


# --- pagination -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/assets", "/hsds/services", "/hsds/organizations"])
def test_pages_larger_than_the_maximum_are_refused(limited, path: str) -> None:
    client, _ = limited
    response = client.get(path, params={"per_page": MAX_PER_PAGE + 1})
    assert _is_problem(response, 422)["field"] == "per_page"


@pytest.mark.parametrize(
    "path", ["/assets", "/organisations", "/hsds/services", "/hsds/organizations"]
)
def test_page_numbers_past_the_maximum_are_refused(limited, path: str) -> None:
    """Found by a longer schemathesis run: page 22,551,031,874,950,554 of 409 put the
    offset past SQLite's integers, and /organisations answered 500."""
    client, _ = limited
    for page in (MAX_PAGE + 1, 22_551_031_874_950_554):
        response = client.get(path, params={"page": page, "per_page": 409})
        assert _is_problem(response, 422)["field"] == "page"


# --- log scrubbing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        ("/geocode?q=LS1%204AP", "/geocode"),
        ("/geocode/?q=LS1", "/geocode/"),
        ("/api/v1/GEOCODE?q=LS1", "/api/v1/GEOCODE"),
        ("/match?debug=1", "/match"),
        ("/hsds/service_at_locations?postcode=BD1+1QY", "/hsds/service_at_locations"),
        # Public routes too: a practitioner may look near a client's home, or by age.
        ("/assets?near=53.8,-1.7&min_age=34", "/assets"),
        ("/hsds/services?minimum_age=34&text=bereavement", "/hsds/services"),
        ("/map", "/map"),
    ],
)
def test_scrub_path(logged: str, expected: str) -> None:
    assert scrub_path(logged) == expected


def _record(msg: str, args: tuple) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_the_filter_keeps_the_access_log_shape() -> None:
    record = _record('%s - "%s %s HTTP/%s" %d', ("1.2.3.4:5", "GET", "/geocode?q=LS1", "1.1", 200))
    PrivateQueryFilter().filter(record)
    assert record.args == ("1.2.3.4:5", "GET", "/geocode", "1.1", 200)


def test_the_filter_blanks_private_queries_in_logged_scopes() -> None:
    scope = {"type": "http", "path": "/geocode", "query_string": b"q=LS1+4AP"}
    record = _record("%s [%d] Started scope=%s", ("ASGI", 1, scope))
    PrivateQueryFilter().filter(record)
    assert "LS1" not in record.getMessage()
    other = {"type": "http", "path": "/assets", "query_string": b"near=1,2"}
    public = _record("%s [%d] Started scope=%s", ("ASGI", 2, other))
    PrivateQueryFilter().filter(public)
    assert "near=1,2" not in public.getMessage() and "/assets" in public.getMessage()


def test_the_filter_scrubs_free_text_mentions() -> None:
    record = _record("redirecting %s", ("/geocode/?q=LS1 to /geocode?q=LS1",))
    PrivateQueryFilter().filter(record)
    assert "LS1" not in record.getMessage()


def test_reads_of_the_json_apis_are_counted_apart_and_pages_not_at_all(tmp_path: Path) -> None:
    """A filtered Open Referral query can scan thousands of listings, and anyone may ask:
    reads of the JSON APIs have a rate of their own; pages and map files none."""
    app, seen = _app(tmp_path, rate_limit_per_minute=2, read_rate_limit_per_minute=3)
    with TestClient(app) as client:
        reads = [client.get(path).status_code for path in ("/assets", "/hsds/services") * 2]
        assert reads == [200, 200, 200, 429]
        refused = client.get("/organisations")
        assert _is_problem(refused, 429)["type"].endswith("rate-limited")
        assert int(refused.headers["retry-after"]) >= 1
        assert all(client.get("/map").status_code == 200 for _ in range(5))
        assert client.get("/healthz").status_code == 200
        # Writes keep their own allowance.
        assert client.post("/test-echo", content=b"{}").status_code == 200
