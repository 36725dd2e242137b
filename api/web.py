"""What every web page shares: templates, compressed rendering, and who is signed in.

Pages use the API's identities: a user signs in by pasting the token that
``geo-assets users add`` printed. The token then rides in an HttpOnly,
``SameSite=Strict`` cookie, so page JavaScript never sees it and other sites cannot
send it; every state-changing form is a POST that must also come from our own origin
(``same_origin``). The JSON API still takes only ``Authorization: Bearer``: a cookie
there would make it forgeable from other sites.

Nothing personal travels in a page URL: the practitioner's forms are POSTs.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from api.deps import StoreDep
from geo_assets.auth import ROLES, User, authenticate, require_role
from geo_assets.clock import local_time
from geo_assets.errors import AuthenticationRequired, PermissionDenied
from geo_assets.store import Store
from maps.assets import MapSettings
from maps.popups import asset_link, rough_place_text

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def megabytes(n_bytes: int) -> str:
    """A size as people read it on a form: "10 MB", "1.5 MB", "512 KB" (binary units)."""
    if n_bytes < 1024 * 1024:
        return f"{max(1, round(n_bytes / 1024))} KB"
    return f"{n_bytes / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def thousands(n: int) -> str:
    """A count as people read it: "1,527"."""
    return f"{n:,}"


templates.env.filters["megabytes"] = megabytes
templates.env.filters["thousands"] = thousands
templates.env.filters["listing_url"] = asset_link
templates.env.filters["local"] = local_time
templates.env.globals["rough_place"] = rough_place_text

SESSION_COOKIE = "ga_session"
# A signed-in page session lasts a working day; the token itself may live longer.
SESSION_MAX_AGE_S = 12 * 3600
GZIP_MIN_BYTES = 1024
# Where each role lands after signing in.
HOME_OF_ROLE = {
    "practitioner": "/search",
    "organisation": "/portal",
    "planner": "/planner",
    "admin": "/admin",
}


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """A rendered template, gzip-compressed when the browser accepts it (map pages carry
    their marker data inline: 10,000 listings are ~1.7 MB of HTML, ~0.3 MB gzipped)."""
    context = {"user": getattr(request.state, "page_user", None), **context}
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # pages may hold a client's details
    body = bytes(response.body)
    if len(body) < GZIP_MIN_BYTES or "gzip" not in request.headers.get("accept-encoding", ""):
        return response
    return Response(
        gzip.compress(body, compresslevel=6),
        status_code=status_code,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Encoding": "gzip",
            "Vary": "Accept-Encoding",
            "Cache-Control": "no-store",
        },
    )


def map_settings_of(request: Request) -> MapSettings:
    """The map settings ``api.routers.pages.install`` put on the app."""
    settings: MapSettings = request.app.state.map_settings
    return settings


# --- who is signed in -------------------------------------------------------------------------


class SignInRequired(Exception):
    """A page needs a signed-in user; answered with a redirect to the sign-in form."""


class NotForYourRole(Exception):
    """The signed-in user's role may not use this page; answered with a 403 page."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__(roles)
        self.roles = roles


class ForeignOrigin(Exception):
    """A form was posted from another site (or with no way to tell); answered with 403."""


def cookie_user(request: Request, store: Store) -> User | None:
    """The user whose token is in the session cookie, or None (a bad or revoked token
    counts as signed out, and the page then asks to sign in again)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate(store, token)
    except (AuthenticationRequired, PermissionDenied):
        return None


def page_user(request: Request, store: StoreDep) -> User | None:
    """The signed-in user for a page, also kept on ``request.state`` for the templates."""
    user = cookie_user(request, store)
    request.state.page_user = user
    return user


PageUser = Annotated[User | None, Depends(page_user)]


def page_role(*roles: str) -> Any:
    """A dependency: the signed-in user if their role is one of ``roles`` (admins always
    pass); otherwise a redirect to sign in, or a 403 page for another role."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}")

    def dependency(user: PageUser) -> User:
        # The API's rule (geo_assets.auth.require_role), answered the way a page should.
        try:
            return require_role(user, *roles)
        except AuthenticationRequired:
            raise SignInRequired() from None
        except PermissionDenied:
            raise NotForYourRole(roles) from None

    return Depends(dependency)


async def posted_form(request: Request) -> FormData:
    """The posted form, read in the event loop so that page routes can stay synchronous
    (FastAPI runs those in its thread pool, away from the store's blocking calls)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def form_values(form: PostedForm) -> dict[str, list[str]]:
    """Every text field of the posted form, each with all its values in order."""
    return {key: [str(v) for v in form.getlist(key)] for key in form}


FormValues = Annotated[dict[str, list[str]], Depends(form_values)]


def first_value(values: Mapping[str, Sequence[str]], name: str) -> str:
    """The first value posted for ``name``, or "" when there is none."""
    got = values.get(name) or [""]
    return got[0]


def form_text(value: Any) -> str:
    """A posted text value as stored text: browsers send a text box's line breaks as CR LF,
    which would otherwise make an untouched multi-line description look changed."""
    return "" if value is None else str(value).replace("\r\n", "\n").strip()


def form_number(values: Mapping[str, Any], name: str) -> int:
    """A whole number a form carries unseen (a version, a revision): 0, which none of
    them is, if it is missing or garbled."""
    text = str(values.get(name) or "")
    return int(text) if text.isdigit() else 0


def same_origin(request: Request) -> None:
    """Refuse a form POST whose ``Origin`` (or, failing that, ``Referer``) is another site.

    The ``SameSite=Strict`` cookie already stops most cross-site posts; this is the
    second lock OWASP recommends (verifying the source origin with standard headers).
    """
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        raise ForeignOrigin()
    parts = urlsplit(sent)
    expected = request.headers.get("host", "")
    if parts.netloc != expected or parts.scheme not in ("http", "https"):
        raise ForeignOrigin()


SameOrigin = Depends(same_origin)


def safe_next(target: str | None, user: User) -> str:
    """Where to go after signing in: a path on this site, else the role's home page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME_OF_ROLE.get(user.role, "/map")


def set_session(
    response: Response, request: Request, token: str, max_age_s: int = SESSION_MAX_AGE_S
) -> None:
    """The session cookie; ``max_age_s``: what is left of the session's token (less than
    12 hours when the token signed in with ends sooner)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(0, min(max_age_s, SESSION_MAX_AGE_S)),
        httponly=True,
        samesite="strict",
        # Behind a proxy that does not pass the scheme on, the public address says.
        secure=request.url.scheme == "https"
        or (request.app.state.settings.public_url or "").startswith("https://"),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    # The page asked for is passed on in the form, never in a query string that logs keep:
    # paths of our pages carry no personal data, but keep the habit.
    response = RedirectResponse("/sign-in", status_code=303)
    response.set_cookie(
        "ga_next", request.url.path, max_age=600, httponly=True, samesite="strict", path="/"
    )
    return response


async def _not_for_your_role(request: Request, exc: Exception) -> Response:
    roles = getattr(exc, "roles", ())
    words = " or ".join(roles) if roles else "another role"
    return render(
        request,
        "error.html",
        {
            "title": "Not available to you",
            "message": f"This page is for {words} accounts. Sign in with one to use it.",
        },
        status_code=403,
    )


async def _foreign_origin(request: Request, exc: Exception) -> HTMLResponse | Response:
    return render(
        request,
        "error.html",
        {
            "title": "Form refused",
            "message": "The form did not come from this site. Open the page again and retry.",
        },
        status_code=403,
    )


def install_page_errors(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(NotForYourRole, _not_for_your_role)
    app.add_exception_handler(ForeignOrigin, _foreign_origin)
