"""Who may do what: users, bearer tokens and the authorisation rules (no web imports).

Tokens look like ``ga_<token_id>_<secret>``. The store keeps only an argon2id hash of
the secret, found by ``token_id`` and checked with :class:`argon2.PasswordHasher`.

Cost parameters: the secret is 256 random bits (``secrets.token_urlsafe(32)``), so a
slow hash adds nothing against guessing; it only matters if the table leaks, and even
then 2**256 guesses stay out of reach. We therefore use OWASP's minimum argon2id
setting (m = 19 MiB, t = 2, p = 1; about 35 ms per check here, against ~230 ms with
argon2-cffi's defaults) and, on top, remember recently verified tokens for
``VERIFIED_TTL_S`` seconds (keyed by a SHA-256 of the token, never the token) so a busy
``POST /match`` client pays the hash about once a minute. The cache only remembers that
the *secret matched*: the token and its user are looked up in the store on every
request, so revoking a user (which revokes all their tokens) takes effect at once.

The rules (``require_role``, ``authorise_asset_write``...) raise
:class:`~geo_assets.errors.AuthenticationRequired` when nobody (or nobody valid) is
signed in and :class:`~geo_assets.errors.PermissionDenied` when the role does not allow
the action; the web layer turns them into 401 and 403.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import TYPE_CHECKING, Annotated, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from geo_assets.errors import AuthenticationRequired, InvalidInputError, PermissionDenied
from geo_assets.model import (
    ASSET_STATUSES,
    Asset,
    Organisation,
    RefusesNul,
    UtcDatetime,
    new_id,
    utcnow,
)

if TYPE_CHECKING:
    from geo_assets.store.base import AssetFilters, Store

Role = Literal["practitioner", "organisation", "planner", "admin"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
TOKEN_PREFIX = "ga_"
# OWASP Password Storage Cheat Sheet, argon2id minimum: 19 MiB, 2 passes, 1 lane.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
# How long a verified token skips the argon2 check (the store is still asked every time).
VERIFIED_TTL_S = 60.0
VERIFIED_MAX_ENTRIES = 10_000

_HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
)
# Bearer tokens made at the command line may end after at most ten years (or never).
MAX_TOKEN_DAYS = 3650
_TOKEN_ID_HEX_CHARS = 16  # 64 random bits: an identifier, not a secret
_MAX_TOKEN_CHARS = 200

UserName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class User(RefusesNul):
    """Someone who signs in with a token; ``organisation_id`` is set iff role is organisation."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(default_factory=new_id, min_length=1, max_length=100)
    name: UserName
    role: Role
    organisation_id: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool = True
    created_at: UtcDatetime | None = None
    revoked_at: UtcDatetime | None = None

    @model_validator(mode="after")
    def _organisation_iff_role(self) -> User:
        if self.role == "organisation" and self.organisation_id is None:
            raise ValueError("`organisation_id` is required when `role` is 'organisation'")
        if self.role != "organisation" and self.organisation_id is not None:
            raise ValueError("`organisation_id` is only allowed when `role` is 'organisation'")
        return self


# An API token is made by an administrator (the command line); a session's is made by
# signing in to the web pages with one, and ends with the session.
TokenKind = Literal["api", "session"]


@dataclass(frozen=True)
class TokenRecord:
    """A stored token: its id, owner and the argon2 hash of its secret (never the secret)."""

    token_id: str
    user_id: str
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None  # None: until revoked
    kind: TokenKind = "api"
    parent_id: str | None = None  # a session's: the token that signed in to start it


# --- tokens -----------------------------------------------------------------------------------


def new_token() -> tuple[str, str, str]:
    """A fresh ``(token_id, secret, token)`` where token is ``ga_<token_id>_<secret>``."""
    token_id = secrets.token_hex(_TOKEN_ID_HEX_CHARS // 2)
    secret = secrets.token_urlsafe(32)
    return token_id, secret, f"{TOKEN_PREFIX}{token_id}_{secret}"


def token_id_of(text: str) -> str:
    """The id in a whole token, or ``text`` itself when it is already an id (16 hex
    characters); anything else is InvalidInputError."""
    text = text.strip()
    if text.startswith(TOKEN_PREFIX):
        try:
            return parse_token(text)[0]
        except AuthenticationRequired:
            pass
    elif len(text) == _TOKEN_ID_HEX_CHARS and all(c in "0123456789abcdef" for c in text):
        return text
    raise InvalidInputError(
        f"a token id is {_TOKEN_ID_HEX_CHARS} characters 0-9 a-f (the part after `{TOKEN_PREFIX}`)",
        field="token",
    )


def session_parent_problem(parent: TokenRecord | None, user_id: str, now: datetime) -> str | None:
    """Why ``parent`` may not start a web session for ``user_id`` (None: it may). The
    stores ask it inside the transaction that adds the session's token, so a revocation
    of the parent either comes first (and refuses the session) or ends it too."""
    if parent is None or parent.user_id != user_id:
        return "the token that signed in is not known"
    if parent.kind != "api":
        return "a session's token cannot start another session"
    if token_state(parent, now) != "live":
        return f"the token that signed in is {token_state(parent, now)}"
    return None


def session_end(parent: TokenRecord, requested: datetime | None) -> datetime | None:
    """When a session started with ``parent`` ends: as ``requested``, but never after
    the parent itself (an API token about to end cannot buy 12 more hours)."""
    if parent.expires_at is None:
        return requested
    return parent.expires_at if requested is None else min(requested, parent.expires_at)


def token_state(record: TokenRecord, now: datetime | None = None) -> str:
    """live, revoked or expired."""
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= (now or utcnow()):
        return "expired"
    return "live"


def parse_token(token: str) -> tuple[str, str]:
    """``(token_id, secret)`` of a token; anything malformed is AuthenticationRequired."""
    bad = AuthenticationRequired("the bearer token is malformed", invalid_token=True)
    if len(token) > _MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        raise bad
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != _TOKEN_ID_HEX_CHARS or not secret:
        raise bad
    if any(c not in "0123456789abcdef" for c in token_id):
        raise bad
    return token_id, secret


def hash_secret(secret: str) -> str:
    """The argon2id hash (PHC string, parameters included) stored for a token secret."""
    return _HASHER.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    """Whether ``secret`` matches; hashes made with other parameters still verify."""
    try:
        return _HASHER.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(store: Store, user_id: str, *, expires_at: datetime | None = None) -> str:
    """Create an API token for an active user and return it; only its hash is stored.

    The token is shown to the caller once: it cannot be recovered later. One with
    ``expires_at`` is refused from then on.
    """
    token_id, secret, token = new_token()
    store.add_token(user_id, token_id, hash_secret(secret), expires_at=expires_at)
    return token


def start_session(
    store: Store, user_id: str, signed_in_with: str, expires_at: datetime
) -> tuple[str, TokenRecord]:
    """A web session's token for an active user, signed in with the token whose id is
    ``signed_in_with`` (the user's own live API token, or ConflictError); the token
    and its stored record, which ends no later than that token."""
    token_id, secret, token = new_token()
    record = store.add_token(
        user_id, token_id, hash_secret(secret), expires_at=expires_at, session_of=signed_in_with
    )
    return token, record


class VerifiedTokens:
    """Tokens whose secret matched recently: SHA-256(token) -> (token_id, user id, expiry).

    Saves the argon2 check for ``ttl_s`` seconds; it never decides on its own whether a
    token is still valid (the caller re-reads the token and user from the store).
    """

    def __init__(self, ttl_s: float = VERIFIED_TTL_S, max_entries: int = VERIFIED_MAX_ENTRIES):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[bytes, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8")).digest()

    def get(self, token: str) -> tuple[str, str] | None:
        hit = self._items.get(self.key(token))
        if hit is None or hit[2] < monotonic():
            return None
        return hit[0], hit[1]

    def put(self, token: str, token_id: str, user_id: str) -> None:
        with self._lock:
            if len(self._items) >= self.max_entries:
                now = monotonic()
                self._items = {k: v for k, v in self._items.items() if v[2] >= now}
                while len(self._items) >= self.max_entries:
                    del self._items[next(iter(self._items))]
            self._items[self.key(token)] = (token_id, user_id, monotonic() + self.ttl_s)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


VERIFIED = VerifiedTokens()


def authenticate(store: Store, token: str, *, cache: VerifiedTokens = VERIFIED) -> User:
    """The active user a bearer token belongs to.

    Raises
    ------
    AuthenticationRequired
        The token is malformed, unknown, does not match, is revoked, or its user is.
    """
    token_id, secret = parse_token(token)
    record = store.find_token(token_id)
    if record is None:
        raise AuthenticationRequired("the bearer token is not known", invalid_token=True)
    cached = cache.get(token)
    if cached is None or cached != (record.token_id, record.user_id):
        if not verify_secret(record.secret_hash, secret):
            raise AuthenticationRequired("the bearer token is not known", invalid_token=True)
        cache.put(token, record.token_id, record.user_id)
    if record.revoked_at is not None:
        raise AuthenticationRequired("the bearer token has been revoked", invalid_token=True)
    if record.expires_at is not None and record.expires_at <= utcnow():
        ended = (
            "the session has ended: sign in again"
            if record.kind == "session"
            else "the bearer token has expired"
        )
        raise AuthenticationRequired(ended, invalid_token=True)
    user = store.get_user(record.user_id)
    if not user.active:
        raise AuthenticationRequired("the bearer token's user has been revoked", invalid_token=True)
    return user


# --- authorisation rules ----------------------------------------------------------------------


def require_role(user: User | None, *roles: str) -> User:
    """``user`` if signed in with one of ``roles`` (admin always passes)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; allowed: {list(ROLES)}")
    if user is None:
        raise AuthenticationRequired("this needs a bearer token (Authorization: Bearer ga_...)")
    if user.role == "admin" or user.role in roles:
        return user
    allowed = ", ".join(sorted({*roles, "admin"}))
    raise PermissionDenied(f"role `{user.role}` may not do this; allowed roles: {allowed}")


def authorise_asset_write(user: User | None, before: Asset | None, after: Asset) -> Asset:
    """Check a create (``before`` None), update or archive of an asset; returns what to store.

    - admin: anything;
    - organisation: only assets of its own ``organisation_id`` (a new asset without one
      gets it), never publishing; what it creates starts ``pending`` whatever it sent;
    - everyone else: nothing.
    """
    user = require_role(user, "organisation")
    if user.role == "admin":
        return after
    own = user.organisation_id
    if before is not None and before.organisation_id != own:
        raise PermissionDenied(
            f"asset `{before.id}` belongs to another organisation; "
            f"role `organisation` may only change assets of organisation `{own}`"
        )
    if before is None and after.organisation_id is None:
        after = after.model_copy(update={"organisation_id": own})
    if after.organisation_id != own:
        raise PermissionDenied(
            f"`organisation_id` must be `{own}`: role `organisation` may only "
            "create and edit its own organisation's assets"
        )
    if before is None:
        return after.model_copy(update={"status": "pending"})
    if after.status == "published" and before.status != "published":
        raise PermissionDenied("only an admin may publish an asset (`status` -> published)")
    return after


def authorise_organisation_write(
    user: User | None, before: Organisation | None, after: Organisation
) -> Organisation:
    """Admins create and edit organisations; an organisation user may edit its own
    record (not its ``status``)."""
    user = require_role(user, "organisation")
    if user.role == "admin":
        return after
    if before is None:
        raise PermissionDenied("only an admin may create organisations")
    if before.id != user.organisation_id:
        raise PermissionDenied(
            f"role `organisation` may only edit its own organisation `{user.organisation_id}`"
        )
    if after.status != before.status:
        raise PermissionDenied("only an admin may change an organisation's `status`")
    return after


def owns_asset(user: User | None, asset: Asset) -> bool:
    """Whether ``user`` answers for ``asset``: an admin, or a user of its organisation."""
    if user is None:
        return False
    if user.role == "admin":
        return True
    return user.role == "organisation" and asset.organisation_id == user.organisation_id


def can_read_asset(user: User | None, asset: Asset) -> bool:
    """Published assets are public; admins see all; organisations see all of their own."""
    return asset.status == "published" or owns_asset(user, asset)


def readable_filters(user: User | None, filters: AssetFilters) -> AssetFilters:
    """``filters`` narrowed to what ``user`` may read.

    ``statuses=None`` means every status (the store contract), so routers should set
    their default (``["published"]``) first. Asking for unpublished assets needs a
    token: an organisation user then only sees its own organisation's assets; other
    roles (except admin) are refused.
    """
    hidden = set(filters.statuses if filters.statuses is not None else ASSET_STATUSES)
    hidden.discard("published")
    if not hidden or (user is not None and user.role == "admin"):
        return filters
    if user is None:
        raise AuthenticationRequired("unpublished assets (`status`) need a bearer token")
    if user.role != "organisation":
        raise PermissionDenied(f"role `{user.role}` may only read published assets (`status`)")
    if filters.organisation_id not in (None, user.organisation_id):
        raise PermissionDenied(
            "role `organisation` may only read unpublished assets of its own organisation"
        )
    return filters.model_copy(update={"organisation_id": user.organisation_id})
