"""``/sign-in`` and ``/sign-out`` for the web pages (see :mod:`api.web` for the cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import StoreDep
from api.web import (
    PageUser,
    SameOrigin,
    clear_session,
    render,
    safe_next,
    set_session,
)
from geo_assets.auth import authenticate
from geo_assets.errors import AuthenticationRequired, PermissionDenied

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
    """Check the pasted token like the API would, then keep it in the session cookie."""
    try:
        user = authenticate(store, token.strip())
    except (AuthenticationRequired, PermissionDenied):
        context = {
            "title": "Sign in",
            "error": "That token was not accepted: check it was copied whole, or ask an "
            "administrator for a new one.",
        }
        return render(request, "sign_in.html", context, status_code=401)
    response = RedirectResponse(safe_next(request.cookies.get("ga_next"), user), status_code=303)
    set_session(response, request, token.strip())
    response.delete_cookie("ga_next", path="/")
    return response


@router.post("/sign-out", dependencies=[SameOrigin])
def sign_out() -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session(response)
    return response
