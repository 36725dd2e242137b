"""A saved connection plan: pseudonymous, and nothing more personal than that.

A client's location, interests, access needs, age and name are special-category data
that are never stored. When a practitioner explicitly saves a plan, what is kept is
only what the plan says about the activities: a reference code the practitioner
chose (never the person's details), which activities, when they meet, and roughly how
long the journey takes. No origin, no distance, no interests, no name.

Journey times are kept in bands (``journey_band``: "15-30 min walk"), never to the
minute: the listings' places are public, and three exact times from one home to three
of them (straight-line times follow distance exactly) put that home within metres.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geo_assets.errors import InvalidInputError, error_message
from geo_assets.model import RefusesNul, UtcDatetime, new_id, utcnow

if TYPE_CHECKING:
    from geo_assets.store import Store

MAX_PLAN_ITEMS = 10
MAX_REFERENCE = 40
REFERENCE_ADVICE = "use a code (e.g. AB-0427), not the person's details"
# Who the audit log names for plans deleted because they outlived the retention period.
RETENTION_ACTOR = "system:retention"

_EMAIL = re.compile(r"\S+@\S+|@")
# A UK phone number (0 or +44, then 9 or 10 more digits, however spaced) or any
# international one (+ and 8 or more digits).
_PHONE = re.compile(
    r"(?<!\d)(?:(?:\+\s*44|0)(?:[\s\-().]*\d){9,10}|\+(?:[\s\-().]*\d){8,})(?![\d])"
)
# A UK postcode, full ("BD1 1HY") or run together ("BD11HY").
_POSTCODE = re.compile(
    r"(?<![A-Z0-9])[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}(?![A-Z0-9])", re.IGNORECASE
)


def check_reference(value: str) -> str:
    """The reference, stripped; ValueError when it looks like the person's details."""
    text = value.strip()
    if not text:
        raise ValueError(f"is required: {REFERENCE_ADVICE}")
    if len(text) > MAX_REFERENCE:
        raise ValueError(f"must be at most {MAX_REFERENCE} characters: {REFERENCE_ADVICE}")
    if any(not ch.isprintable() for ch in text):
        raise ValueError(f"must be one line of text: {REFERENCE_ADVICE}")
    for pattern, what in (
        (_EMAIL, "an email address"),
        (_PHONE, "a phone number"),
        (_POSTCODE, "a postcode"),
    ):
        if pattern.search(text):
            raise ValueError(f"looks like {what}: {REFERENCE_ADVICE}")
    return text


# Upper ends of the journey bands a saved plan keeps, in minutes, and how each is said.
# (Migration 0018 says the same bands in SQL, for plans saved before.)
JOURNEY_BANDS = (
    (15, "under 15 min"),
    (30, "15–30 min"),
    (45, "30–45 min"),
    (60, "45–60 min"),
    (120, "1–2 hours"),
)
BEYOND_BANDS = "over 2 hours"


def journey_band(minutes: float) -> str:
    """How long a journey takes, as a saved plan keeps it: a band, never the minute."""
    for upper, said in JOURNEY_BANDS:
        if minutes < upper:
            return said
    return BEYOND_BANDS


class PlanItem(BaseModel):
    """One activity of a saved plan, as the plan described it when it was saved.

    ``travel`` is in bands (``journey_band``); the quickest way is ``mode``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    when: str = Field(max_length=300)
    travel: str = Field(max_length=100)
    mode: str = Field(min_length=1, max_length=40)


class SavedPlan(RefusesNul):
    """A pseudonymous connection plan; ``owner_id`` is the practitioner's user id."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, max_length=100)
    reference: str
    owner_id: str = Field(min_length=1, max_length=100)
    created_at: UtcDatetime = Field(default_factory=utcnow)
    items: list[PlanItem] = Field(min_length=1, max_length=MAX_PLAN_ITEMS)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        return check_reference(value)


def new_plan(reference: str, owner_id: str, items: Sequence[PlanItem]) -> SavedPlan:
    """A plan to save; ``InvalidInputError`` naming the field (``reference``) when not."""
    try:
        return SavedPlan(reference=reference, owner_id=owner_id, items=list(items))
    except ValidationError as exc:
        raise plan_error(exc) from exc


def plan_error(exc: ValidationError) -> InvalidInputError:
    """Our error for a plan's pydantic one: the first failing field and its message."""
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or None
    cause = (err.get("ctx") or {}).get("error")
    message = f" {cause}" if isinstance(cause, ValueError) else f": {error_message(err)}"
    return InvalidInputError(f"`{name}`{message}", field=name)


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    """Plans saved before this time have outlived a retention of ``days`` days."""
    return (now or utcnow()) - timedelta(days=days)


def kept_until(plan: SavedPlan, days: int) -> datetime:
    """When ``plan`` outlives a retention of ``days`` days (the cutoff, seen from the plan)."""
    return plan.created_at + timedelta(days=days)


def purge_expired(store: Store, days: int, now: datetime | None = None) -> int:
    """Delete the plans older than ``days`` days (each audited, by id and owner only).

    Even a pseudonymous plan says which groups someone was offered: it is kept no longer
    than the retention period the service is configured with."""
    return store.purge_plans(before=retention_cutoff(days, now), actor=RETENTION_ACTOR)
