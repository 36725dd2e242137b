"""Domain errors raised by the core library.

The web layer maps each class to one HTTP status in a single table; core code
never knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class GeoAssetsError(Exception):
    """Base class for every error this library raises on purpose."""


class InvalidInputError(GeoAssetsError, ValueError):
    """Input that breaks a rule; ``field`` names the offending field when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(GeoAssetsError, LookupError):
    """A record with the given id does not exist."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} `{ident}` not found")
        self.kind = kind
        self.ident = ident


class ConflictError(GeoAssetsError):
    """The write clashes with what is stored (e.g. duplicate source id)."""


class StoreUnavailableError(GeoAssetsError):
    """The database cannot be reached right now; the caller may retry later."""


class AuthenticationRequired(GeoAssetsError):
    """No valid credentials: none were given where needed, or the token is unknown or revoked.

    ``invalid_token`` is true when a token was presented but refused (RFC 6750's
    ``invalid_token``), false when none was given.
    """

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(message)
        self.invalid_token = invalid_token


class PermissionDenied(GeoAssetsError):
    """The caller is known but their role does not allow this action."""


class RateLimited(GeoAssetsError):
    """Too many requests from one caller; ``retry_after_s`` says when one more is allowed."""

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message or f"too many requests; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


def error_message(err: Mapping[str, Any]) -> str:
    """A pydantic error's message as people should read it: without the "Value error, "
    pydantic puts before the words of a ValueError one of our checks raised."""
    return str(err.get("msg", "is not valid")).removeprefix("Value error, ")


@dataclass(frozen=True)
class RowError:
    """One problem found in one input record.

    ``row`` is 1-based, counted over the records given (not file lines).
    """

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, field `{self.field}`: {self.message}"


@dataclass
class BulkValidationError(GeoAssetsError, ValueError):
    """A bulk write was rejected; nothing was written. ``errors`` lists every bad row."""

    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        shown = "; ".join(str(e) for e in self.errors[:10])
        more = f" (and {len(self.errors) - 10} more)" if len(self.errors) > 10 else ""
        return f"{len(self.errors)} invalid record(s), nothing written: {shown}{more}"
