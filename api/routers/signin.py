"""``/sign-in`` and ``/sign-out`` for the web pages (see :mod:`api.web` for the cookie)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import StoreDep
from api.web import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    PageUser,
    SameOrigin,
    clear_session,
    render,
    safe_next,
    set_session,
)
from geo_assets.auth import TokenRecord, authenticate, parse_token, start_session
from geo_assets.errors import AuthenticationRequired, ConflictError, PermissionDenied
from geo_assets.model import utcnow
from geo_assets.store import Store

router = APIRouter(include_in_schema=False, tags=["pages"])

MAX_TOKEN_CHARS = 200


@router.get("/sign-in")
def sign_in_form(request: Request, user: PageUser) -> Response:
    return render(request, "sign_in.html", {"title": "Sign in", "error": None})


@router.post("/sign-in", dependencies=[SameOrigin])
def sign_in(
    request: Request,
    store: StoreDep,
    token: Annotated[str, Form(max_length=MAX_TOKEN_CHARS)] = "",
) -> Response:
    """Check the pasted token like the API would; the session cookie then holds a token of
    this browser's own, which ends with the session (or at sign-out), never the pasted one:
    a copied cookie is no lasting key to the API, and signing out ends it everywhere. Only
    a user's own token signs in: a session's cannot start another (a copied cookie would
    otherwise renew itself forever)."""
    pasted = token.strip()
    try:
        user = authenticate(store, pasted)
        # Only the user's own live API token (a session may not beget another), checked
        # again as the session's token is stored: a revocation meanwhile refuses it.
        session, record = start_session(
            store,
            user.id,
            parse_token(pasted)[0],
            expires_at=utcnow() + timedelta(seconds=SESSION_MAX_AGE_S),
        )
    except (AuthenticationRequired, PermissionDenied, ConflictError):
        context = {
            "title": "Sign in",
            "error": "That token was not accepted: check it was copied whole, or ask an "
            "administrator for a new one.",
        }
        return render(request, "sign_in.html", context, status_code=401)
    _end_session(store, request)  # signing in again ends this browser's last session
    response = RedirectResponse(safe_next(request.cookies.get("ga_next"), user), status_code=303)
    assert record.expires_at is not None  # a session's token always ends
    set_session(response, request, session, int((record.expires_at - utcnow()).total_seconds()))
    response.delete_cookie("ga_next", path="/")
    return response


@router.post("/sign-out", dependencies=[SameOrigin])
def sign_out(request: Request, store: StoreDep) -> Response:
    """Forget the session: its token is revoked, not only the cookie cleared.

    Only a session's own token, and only once it proved itself: a cookie made up to name
    another's token, or one from before sessions had tokens of their own (the user's API
    token), revokes nothing."""
    _end_session(store, request)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session(response)
    return response


def _session_of(store: Store, token: str) -> TokenRecord | None:
    """The stored record of ``token`` when it is a web session's."""
    record = store.find_token(parse_token(token)[0])
    return record if record is not None and record.kind == "session" else None


def _end_session(store: Store, request: Request) -> None:
    """Revoke the session token in the request's cookie, once it has proved itself."""
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        authenticate(store, token)
        record = _session_of(store, token)
    except (AuthenticationRequired, PermissionDenied):
        return  # no live session: nothing to revoke
    if record is not None:
        store.revoke_token(record.token_id)
