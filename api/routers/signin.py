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
from geo_assets.auth import authenticate, issue_token, parse_token
from geo_assets.errors import AuthenticationRequired, PermissionDenied
from geo_assets.model import utcnow

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
    a copied cookie is no lasting key to the API, and signing out ends it everywhere."""
    try:
        user = authenticate(store, token.strip())
    except (AuthenticationRequired, PermissionDenied):
        context = {
            "title": "Sign in",
            "error": "That token was not accepted: check it was copied whole, or ask an "
            "administrator for a new one.",
        }
        return render(request, "sign_in.html", context, status_code=401)
    session = issue_token(
        store, user.id, expires_at=utcnow() + timedelta(seconds=SESSION_MAX_AGE_S)
    )
    response = RedirectResponse(safe_next(request.cookies.get("ga_next"), user), status_code=303)
    set_session(response, request, session)
    response.delete_cookie("ga_next", path="/")
    return response


@router.post("/sign-out", dependencies=[SameOrigin])
def sign_out(request: Request, store: StoreDep) -> Response:
    """Forget the session: its token is revoked, not only the cookie cleared.

    Only a session's own token, and only once it proved itself: a cookie made up to name
    another's token, or one from before sessions had tokens of their own (the user's API
    token), revokes nothing."""
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        authenticate(store, token)
        record = store.find_token(parse_token(token)[0])
    except (AuthenticationRequired, PermissionDenied):
        record = None  # no live session: nothing to revoke
    if record is not None and record.expires_at is not None:
        store.revoke_token(record.token_id)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session(response)
    return response
