"""Domain errors raised by the core library.

The web layer maps each class to one HTTP status in a single table; core code
never knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
