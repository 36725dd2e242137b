"""Limits every request passes through: body size, rate, CORS, and private access logs.

Each limit is a plain ASGI middleware so it can answer before FastAPI reads a body or
resolves a route; ``install_limits(app, settings)`` registers them all in the order
they must run (outermost first):

1. CORS: the origins in ``settings.cors_origins`` (none by default); ``/hsds/`` always
   allows every origin, as the ORUK openness rule asks.
2. Rate limit: writes (POST, PUT, PATCH, DELETE, which includes ``POST /match``) are
   counted per bearer token, or per client IP for anonymous callers, in a token bucket;
   an empty bucket gives a 429 problem with ``Retry-After``. The buckets live in the
   process, so with N uvicorn workers a caller may get up to N times the limit.
3. Body size: a declared ``Content-Length`` over ``settings.max_body_bytes`` (or, for the
   spreadsheet upload page, ``settings.max_upload_bytes``) is refused with 413 before it is
   used; a body without one (chunked) is counted as it streams and refused as soon as it
   passes the limit. A browser's form post is answered with a page that says what
   happened, once its body has been read and dropped.

Privacy: ``install_log_privacy()`` drops query strings from uvicorn's access log lines for
``/match`` and ``/geocode`` (a postcode or coordinates are personal data). No code here or
in the routers logs request bodies.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from time import monotonic

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import domain_problem, problem_response
from api.routers.hsds import PREFIX as HSDS_PREFIX
from api.routers.portal_pages import UPLOAD_PATH
from api.web import SESSION_COOKIE, megabytes, render
from geo_assets.auth import VERIFIED, VerifiedTokens
from geo_assets.errors import RateLimited
from geo_assets.settings import Settings

# Methods that change data (or, for POST /match, carry a personal profile): rate limited.
LIMITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Path segments whose query strings never reach the access log: a person's profile, what
# they typed to find a place, and the ORUK search near a postcode (someone's home, often).
SECONDS_PER_MINUTE = 60.0
# Buckets idle this long are full again and can be forgotten; pruning runs at most this often.
_PRUNE_EVERY_S = SECONDS_PER_MINUTE
# Headers a browser on an allowed origin may send and read.
_CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Accept"]
_CORS_EXPOSED_HEADERS = ["Retry-After", "Location"]
# A refused browser form's body is read and dropped up to this size so the browser gets
# the answer; past it the connection is simply closed.
_DRAIN_MAX_BYTES = 64 * 1024 * 1024


# --- body size --------------------------------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException, so
    FastAPI re-raises it from body parsing and the problem handler renders it."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, detail=_too_large_detail(max_body_bytes))


def _too_large_detail(max_body_bytes: int) -> str:
    return f"the request body is larger than the limit of {max_body_bytes} bytes"


class BodySizeLimit:
    """Refuse request bodies over the limit with a 413, reading no more than the limit (plus
    one chunk) of them; browsers' form posts get a page instead of a problem document.

    ``uploads`` maps a path to its own, larger limit (the spreadsheet upload page).
    """

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, uploads: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope["path"], self.max_body_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit, declared)
            return
        received_bytes = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received_bytes
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Normally the app's problem handler answered already; this covers an app that
            # let the error escape before responding.
            if response_started:
                raise
            await _refuse(scope, receive, send, limit, None)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, limit: int, declared: int | None
) -> None:
    """The 413 for a body over ``limit``: a page for a browser's form, else the problem
    document the error handlers give a streamed body that ran over.

    The page goes out once the body has been read and dropped (as nginx's lingering close
    does): a browser still sending when the server hangs up may show a reset connection
    instead of the answer."""
    accept = Headers(scope=scope).get("accept", "")
    if "text/html" in accept and (declared is None or declared <= _DRAIN_MAX_BYTES):
        drained = await _drain(receive)
        path = scope["path"]
        sent = f" ({megabytes(declared)})" if declared is not None else ""
        page = render(
            Request(scope),
            "error.html",
            {
                "title": "File too large",
                "message": f"What this form sent{sent} is more than the {megabytes(limit)} it "
                "accepts, so none of it was used. A spreadsheet can be split into smaller "
                "files, or its empty rows and columns removed, and each part uploaded.",
                # Our own path, never another site's ("//host" would be one).
                "back": path if path.startswith("/") and not path.startswith("//") else "/",
            },
            status_code=413,
        )
        if not drained:
            page.headers["Connection"] = "close"
        await page(scope, receive, send)
        return
    # Plain HTTP semantics (type about:blank). The unread body is still on the wire, so
    # the connection cannot be reused.
    response = problem_response(
        413, detail=_too_large_detail(limit), headers={"Connection": "close"}
    )
    await response(scope, receive, send)


async def _drain(receive: Receive) -> bool:
    """Read and drop the rest of a request body, up to ``_DRAIN_MAX_BYTES``; whether it
    all came (the connection can then carry the answer and stay open)."""
    dropped = 0
    while dropped <= _DRAIN_MAX_BYTES:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return False
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # the server rejects a malformed length before we see it


# --- rate limit -------------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    updated_at_s: float


class RateLimiter:
    """Token buckets, one per caller key: each holds up to ``per_minute`` tokens and refills
    at ``per_minute`` per minute; a request takes one token or is refused.

    Thread-safe (one lock; each call is a few float operations). Buckets idle long enough
    to be full again are forgotten, so memory follows the callers of the last minute.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = monotonic) -> None:
        if per_minute < 1:
            raise ValueError("`per_minute` must be at least 1")
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / SECONDS_PER_MINUTE
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._pruned_at_s = clock()

    def take(self, key: str) -> None:
        """Take one token for ``key``; raise ``RateLimited`` (seconds until the next token
        is due, at least 1) when the bucket is empty."""
        with self._lock:
            now_s = self._clock()
            if now_s - self._pruned_at_s >= _PRUNE_EVERY_S:
                self._prune(now_s)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.capacity, now_s)
            else:
                elapsed_s = max(0.0, now_s - bucket.updated_at_s)
                bucket.tokens = min(self.capacity, bucket.tokens + elapsed_s * self.refill_per_s)
                bucket.updated_at_s = now_s
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait_s = (1.0 - bucket.tokens) / self.refill_per_s
        raise RateLimited(max(1, math.ceil(wait_s)))

    def _prune(self, now_s: float) -> None:
        full_after_s = self.capacity / self.refill_per_s
        idle = [k for k, b in self._buckets.items() if now_s - b.updated_at_s >= full_after_s]
        for key in idle:
            del self._buckets[key]
        self._pruned_at_s = now_s

    def __len__(self) -> int:
        return len(self._buckets)


def caller_key(scope: Scope, verified: VerifiedTokens = VERIFIED) -> str:
    """Who is asking: the user, when the request carries a token (bearer header or the
    pages' session cookie) that lately proved itself (``verified``, the cache the sign-in
    checks fill); else the client IP address.

    An unproven token counts as its IP: keyed by any token sent, each made-up one would
    open a fresh bucket, and so a way round the limit. (Colleagues behind one address
    each get their own once signed in.)"""
    headers = Headers(scope=scope)
    scheme, _, bearer = headers.get("authorization", "").partition(" ")
    tokens = [bearer.strip()] if scheme.lower() == "bearer" else []
    tokens.append(cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE, ""))
    for token in tokens:
        if token and (known := verified.get(token)) is not None:
            return "user:" + known[1]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimit:
    """Refuse write and match requests over the caller's rate with a 429 problem, before
    their body is read; and, counted apart, reads of the JSON APIs (``reads``): a filtered
    Open Referral query can scan thousands of listings, and anyone may ask."""

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter | None, reads: RateLimiter | None = None
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = None
        if scope["type"] == "http":
            if scope["method"] in LIMITED_METHODS:
                limiter = self.limiter
            elif scope["method"] in ("GET", "HEAD") and _is_api_read(scope):
                limiter = self.reads
        if limiter is not None:
            try:
                limiter.take(caller_key(scope))
            except RateLimited as exc:
                await domain_problem(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


# The JSON APIs whose reads are counted (pages, map files and probes are not).
API_READ_PREFIXES = ("/assets", "/organisations", HSDS_PREFIX, "/geocode", "/coverage")


def _is_api_read(scope: Scope) -> bool:
    return any(_under(scope, prefix) for prefix in API_READ_PREFIXES)


# --- CORS -------------------------------------------------------------------------------------


class CorsByPath:
    """CORS for ``/hsds/`` (every origin, read-only methods) and for the rest of the API (the
    configured origins; no CORS headers at all when none are configured)."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.hsds: ASGIApp = CORSMiddleware(
            app, allow_origins=["*"], allow_methods=["GET", "HEAD", "OPTIONS"], allow_headers=["*"]
        )
        origins = list(origins)
        self.api: ASGIApp = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
                allow_headers=_CORS_REQUEST_HEADERS,
                expose_headers=_CORS_EXPOSED_HEADERS,
                # Bearer tokens, not cookies: browsers need not send credentials.
                allow_credentials=False,
            )
            if origins
            else app
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _under(scope, HSDS_PREFIX):
            await self.hsds(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _under(scope: Scope, prefix: str) -> bool:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == prefix or path.startswith(prefix + "/")


# --- private access logs ----------------------------------------------------------------------

# A path's query in free text: "/x?..." up to a space or a quote.
_QUERY_AFTER_PATH = re.compile(r"(/[^\s?\"]*)\?[^\s\"]*")


def scrub_path(path_with_query: str) -> str:
    """``/geocode?q=LS1 4AP`` -> ``/geocode``: no query string reaches a log. Any may say
    where a person lives (``near=``, ``bbox=``, ``q=``), their age or what they enjoy
    (``text=``), typed by a practitioner for a client; the method, path and status are
    what an operator needs."""
    return path_with_query.partition("?")[0]


class PrivateQueryFilter(logging.Filter):
    """Strips query strings from uvicorn's log records.

    The access log passes ``(client, method, path?query, http_version, status)`` as the
    record's arguments and its formatter unpacks them, so that tuple keeps its shape; the
    trace-level ASGI log (``uvicorn.asgi``) passes the request scope as a dict, whose
    ``query_string`` is blanked. Any other record naming a path with a query is
    flattened and scrubbed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], scrub_path(args[2]), args[3], args[4])
        elif isinstance(args, tuple) and any(isinstance(a, dict) for a in args):
            record.args = tuple(_scrub_scope(a) if isinstance(a, dict) else a for a in args)
        message = record.getMessage()
        scrubbed = _QUERY_AFTER_PATH.sub(r"\1", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def _scrub_scope(scope: dict[str, object]) -> dict[str, object]:
    if scope.get("query_string"):
        return {**scope, "query_string": b"<private>"}
    return scope


# uvicorn's request log and its trace-level ASGI message log.
PRIVATE_LOGGERS = ("uvicorn.access", "uvicorn.asgi")


def install_log_privacy() -> None:
    """Add ``PrivateQueryFilter`` to uvicorn's request loggers once per process (idempotent).

    A filter on the logger survives uvicorn's ``dictConfig`` (which replaces handlers but
    keeps filters), and runs before any handler, whatever the log configuration. Request
    bodies never reach a log: nothing here logs them and uvicorn's trace log shows only
    their length."""
    for name in PRIVATE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, PrivateQueryFilter) for f in logger.filters):
            logger.addFilter(PrivateQueryFilter())


# --- registration -----------------------------------------------------------------------------


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Register the limits on ``app``; call after every other ``add_middleware`` so these
    run first (Starlette runs the last added middleware outermost)."""
    install_log_privacy()
    app.add_middleware(
        BodySizeLimit,
        max_body_bytes=settings.max_body_bytes,
        uploads={UPLOAD_PATH: settings.max_upload_bytes},
    )
    writes = reads = None
    if settings.rate_limit_per_minute > 0:
        writes = app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    if settings.read_rate_limit_per_minute > 0:
        reads = app.state.read_rate_limiter = RateLimiter(settings.read_rate_limit_per_minute)
    if writes is not None or reads is not None:
        app.add_middleware(RateLimit, limiter=writes, reads=reads)
    app.add_middleware(CorsByPath, origins=settings.cors_origins)
