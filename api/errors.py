"""One table from domain errors to HTTP statuses, rendered as RFC 9457 problem details.

Core code raises ``geo_assets.errors`` classes and never knows about HTTP; this
module is the only place that decides which status each one becomes. Every
error body is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` and, when one input is to blame, ``field``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo_assets.errors import (
    AuthenticationRequired,
    BulkValidationError,
    ConflictError,
    GeoAssetsError,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
    RateLimited,
    StoreUnavailableError,
    error_message,
)

PROBLEM_JSON = "application/problem+json"
# Problem types are tag URIs (RFC 4151): stable identifiers that need no web page.
PROBLEM_TYPE_PREFIX = "tag:geo-assets,2026:problem:"
# How long a client should wait before retrying when the database is away.
RETRY_AFTER_S = 5

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemKind:
    """How one class of domain error is shown over HTTP."""

    status: int
    slug: str
    title: str

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug


# The single mapping from domain errors to statuses. Subclasses not listed here use
# the entry of their nearest listed ancestor (found along the MRO).
ERROR_TABLE: dict[type[GeoAssetsError], ProblemKind] = {
    InvalidInputError: ProblemKind(422, "invalid-input", "Invalid input"),
    BulkValidationError: ProblemKind(422, "invalid-records", "Invalid records"),
    AuthenticationRequired: ProblemKind(401, "authentication-required", "Authentication required"),
    PermissionDenied: ProblemKind(403, "permission-denied", "Permission denied"),
    NotFoundError: ProblemKind(404, "not-found", "Not found"),
    ConflictError: ProblemKind(409, "conflict", "Conflict"),
    RateLimited: ProblemKind(429, "rate-limited", "Too many requests"),
    StoreUnavailableError: ProblemKind(503, "store-unavailable", "Store unavailable"),
    GeoAssetsError: ProblemKind(500, "internal", "Internal error"),
}
_VALIDATION = ProblemKind(422, "invalid-input", "Invalid input")
_INTERNAL = ERROR_TABLE[GeoAssetsError]


def www_authenticate(exc: AuthenticationRequired) -> str:
    """The RFC 6750 challenge sent with every 401."""
    if exc.invalid_token:
        return 'Bearer realm="geo-assets", error="invalid_token"'
    return 'Bearer realm="geo-assets"'


def kind_for(exc: GeoAssetsError) -> ProblemKind:
    """The table entry for ``exc``: its own class or the nearest listed base class."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return _INTERNAL


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_uri: str = "about:blank",
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response; ``extensions`` become extra members of the body."""
    body: dict[str, Any] = {
        "type": type_uri,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if field:
        body["field"] = field
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GeoAssetsError)
    return domain_problem(exc)


def domain_problem(exc: GeoAssetsError) -> JSONResponse:
    """The problem response for a domain error (also used by middleware, which runs
    outside the exception handlers)."""
    kind = kind_for(exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if kind.status == 503 else None
    if isinstance(exc, AuthenticationRequired):
        headers = {"WWW-Authenticate": www_authenticate(exc)}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    extensions: dict[str, Any] = {}
    if isinstance(exc, BulkValidationError):
        extensions["errors"] = [
            {"row": e.row, "field": e.field, "message": e.message} for e in exc.errors
        ]
    if kind.status >= 500 and kind.status != 503:
        _log.exception("unexpected domain error", exc_info=exc)
    return problem_response(
        kind.status,
        title=kind.title,
        detail=str(exc),
        type_uri=kind.type_uri,
        field=getattr(exc, "field", None),
        headers=headers,
        **extensions,
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """The name the caller used: ``("query", "kind", 0)`` -> ``kind``; body paths are dotted."""
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] in ("query", "path", "header", "cookie"):
        return parts[1]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "(request)"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_name(err.get("loc", ())), "message": error_message(err)}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "(request)", "message": "invalid request"}
    return problem_response(
        _VALIDATION.status,
        title=_VALIDATION.title,
        detail=f"`{first['field']}`: {first['message']}",
        type_uri=_VALIDATION.type_uri,
        field=first["field"],
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unknown route, wrong method) in the same problem format."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, detail=detail, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, detail="unexpected server error; see the service log")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""
    app.add_exception_handler(GeoAssetsError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
