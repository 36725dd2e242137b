"""Dependency aliases shared by the routers (declared once, used as type hints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from geo_assets.auth import ROLES, User, authenticate, require_role
from geo_assets.errors import AuthenticationRequired, StoreUnavailableError
from geo_assets.model import refuse_nul
from geo_assets.settings import Settings
from geo_assets.store import Store
from geo_assets.travel import TravelModel


def get_store(request: Request) -> Store:
    """The store opened by the app's lifespan (one per process, shared by requests)."""
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreUnavailableError("the store is not open (the service is starting or stopping)")
    return store


def refuse_nul_parameters(request: Request) -> None:
    """A path or query parameter holding the NUL character is refused, naming it. No record
    or search can hold one (``geo_assets.model.RefusesNul``), and PostgreSQL cannot even be
    asked for it, so without this ``/assets/a%00b`` was a 422 on PostGIS and a 404 on SQLite.
    """
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str):
            refuse_nul(value, name)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def public_base(request: Request) -> str:
    """Where the links the service writes start (no trailing slash): the configured
    ``public_url``, else the address this request came to."""
    configured: str | None = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


def get_travel(request: Request) -> TravelModel:
    """The travel model the app loaded at start-up (street network or straight line)."""
    travel: TravelModel = request.app.state.travel
    return travel


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TravelDep = Annotated[TravelModel, Depends(get_travel)]


# --- who is calling -------------------------------------------------------------------------

# Declares the scheme in OpenAPI (the /docs "Authorize" button); the header is read below.
_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="ga_<token_id>_<secret>",
    description="A token printed by `geo-assets users add`; send `Authorization: Bearer ga_...`.",
)


def current_user(
    request: Request,
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> User | None:
    """The signed-in user, or None for an anonymous (public) request.

    A header that is present but malformed, unknown, or revoked is a 401, never anonymous:
    a client that sends credentials must learn that they failed.
    """
    if "authorization" not in request.headers:
        return None
    if credentials is None:
        raise AuthenticationRequired("`Authorization` must be 'Bearer <token>'", invalid_token=True)
    return authenticate(store, credentials.credentials)


CurrentUser = Annotated[User | None, Depends(current_user)]


def require_roles(*roles: str) -> Callable[[User | None], User]:
    """A dependency that yields the signed-in ``User`` if their role is one of ``roles``.

    Admins always pass. Anonymous callers get 401 (AuthenticationRequired), other roles
    403 (PermissionDenied). Use as
    ``user: Annotated[User, Depends(require_roles("practitioner"))]``.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; allowed: {list(ROLES)}")

    def dependency(user: CurrentUser) -> User:
        return require_role(user, *roles)

    return dependency
