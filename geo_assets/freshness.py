"""Freshness: when a listing was last confirmed, and which listings are stale.

One threshold drives everything: a listing is *stale* when nobody has confirmed it
for more than ``stale_after_days`` days (setting ``GEO_ASSETS_STALE_AFTER_DAYS``,
default :data:`STALE_AFTER_DAYS`), or was never confirmed. The matching engine's
``freshness_score``, the stale flag on matches and maps, ``geo-assets stale`` and the
"still running" action all read it from here.

An organisation confirms a listing with :func:`confirm_still_running`, which sets
``last_verified_at`` to now through the store (so the write is versioned and audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from geo_assets.errors import ConflictError, InvalidInputError
from geo_assets.model import Asset, utcnow
from geo_assets.store.base import AssetFilters, Store, iter_assets

#: Default age, in days, after which an unconfirmed listing is flagged stale.
STALE_AFTER_DAYS = 180
#: Statuses whose listings people can see, so only they are reported as stale.
LIVE_STATUSES: tuple[str, ...] = ("published", "pending")
# Shape of the freshness score at the default threshold (kept from the first version of
# matching, which the evaluation set was judged with): full marks up to half the stale
# age, then a straight fall to the floor at 730 days.
_FRESH_SHARE = 0.5
_FLOOR = 0.2
_FLOOR_AT_MULTIPLE = 730 / STALE_AFTER_DAYS
_NEVER_CONFIRMED = 0.3


@lru_cache(maxsize=1)
def configured_stale_after_days() -> int:
    """The ``stale_after_days`` setting (environment ``GEO_ASSETS_STALE_AFTER_DAYS``).

    Read once per process; tests that change the environment call
    ``configured_stale_after_days.cache_clear()``.
    """
    from geo_assets.settings import Settings

    return int(Settings().stale_after_days)


def stale_days(stale_after_days: int | None = None) -> int:
    """``stale_after_days`` itself, or the configured value when None; must be 1 or more."""
    days = configured_stale_after_days() if stale_after_days is None else stale_after_days
    if days < 1:
        raise InvalidInputError(
            f"`stale_after_days` must be 1 or more, not {days}", field="stale_after_days"
        )
    return days


def days_since_verified(asset: Asset, now: datetime) -> float | None:
    """Days (fractional) since the listing was last confirmed; None if never. ``now`` is UTC."""
    if asset.last_verified_at is None:
        return None
    return (now - asset.last_verified_at).total_seconds() / 86400.0


def stale_cutoff(now: datetime, stale_after_days: int | None = None) -> datetime:
    """A listing last confirmed before this instant is stale (``is_stale``, and the
    store filter of ``stale_filters``)."""
    return now - timedelta(days=stale_days(stale_after_days))


def is_stale(asset: Asset, now: datetime, stale_after_days: int | None = None) -> bool:
    """True when the listing was never confirmed or not within ``stale_after_days`` days.

    ``now`` is an aware UTC datetime; ``stale_after_days`` defaults to the setting.
    """
    verified = asset.last_verified_at
    return verified is None or verified < stale_cutoff(now, stale_after_days)


def freshness_score(asset: Asset, now: datetime, stale_after_days: int | None = None) -> float:
    """A score in [0.2, 1] for how recently the listing was confirmed; 0.3 if never.

    1 up to half the stale age, then falling in a straight line to 0.2 at about four
    times the stale age (at the default 180 days: 1 until day 90, 0.89 when it turns
    stale, 0.2 from day 730). Stale listings therefore always score below fresh ones.
    """
    days = stale_days(stale_after_days)
    age = days_since_verified(asset, now)
    if age is None:
        return _NEVER_CONFIRMED
    full_until = _FRESH_SHARE * days
    if age <= full_until:
        return 1.0
    floor_at = _FLOOR_AT_MULTIPLE * days
    return max(_FLOOR, 1.0 - (1.0 - _FLOOR) * (age - full_until) / (floor_at - full_until))


def _confirmed_at(now: datetime | None) -> datetime:
    """When a confirmation made now is recorded (to the second)."""
    return (now or utcnow()).replace(microsecond=0)


def confirmed_on_creation(asset: Asset, now: datetime | None = None) -> Asset:
    """The listing a person is adding, confirmed as of now: whoever adds a listing vouches
    that it runs, so it starts fresh, not stale. One that says when it was last confirmed
    (even "never", as null) keeps that. The portal's form and ``POST /assets`` share this
    rule; imports keep the dates their source gives."""
    if "last_verified_at" in asset.model_fields_set:
        return asset
    return asset.model_copy(update={"last_verified_at": _confirmed_at(now)})


def confirm_still_running(
    store: Store, asset_id: str, *, actor: str | None = None, now: datetime | None = None
) -> Asset:
    """Record that the listing is still running: ``last_verified_at`` = now (UTC).

    The "still running" action an organisation takes on its listing. Goes through
    ``store.update_asset`` so the version increases and, with ``actor``, the audit log
    records who confirmed it. Raises ``NotFoundError`` for an unknown id and
    ``ConflictError`` for an archived listing (restore it first).
    """
    asset = store.get_asset(asset_id)
    if asset.status == "archived":
        raise ConflictError(
            f"asset `{asset_id}` is archived; publish it again before confirming it is running"
        )
    return store.update_asset(asset_id, {"last_verified_at": _confirmed_at(now)}, actor=actor)


@dataclass(frozen=True)
class StaleListing:
    """A stale listing and how long it has gone unconfirmed (None: never confirmed)."""

    asset: Asset
    days_since_verified: float | None

    def as_dict(self) -> dict[str, Any]:
        a = self.asset
        return {
            "id": a.id,
            "name": a.name,
            "status": a.status,
            "organisation_id": a.organisation_id,
            "last_verified_at": a.last_verified_at.isoformat() if a.last_verified_at else None,
            "days_since_verified": None
            if self.days_since_verified is None
            else int(self.days_since_verified),
        }


def stale_filters(
    organisation_id: str | None = None,
    *,
    now: datetime | None = None,
    stale_after_days: int | None = None,
) -> AssetFilters:
    """The store filters that pick the stale live listings (``is_stale``, asked of the
    store): published or pending, and not confirmed within ``stale_after_days`` of
    ``now``; only ``organisation_id``'s when given."""
    return AssetFilters(
        statuses=list(LIVE_STATUSES),  # type: ignore[arg-type]
        organisation_id=organisation_id,
        verified_before=stale_cutoff(now or utcnow(), stale_after_days),
    )


def stale_assets(
    store: Store,
    organisation_id: str | None = None,
    *,
    now: datetime | None = None,
    stale_after_days: int | None = None,
) -> dict[str | None, list[StaleListing]]:
    """Published and pending listings that are stale, grouped by organisation id.

    Parameters
    ----------
    store : where the listings are.
    organisation_id : only this organisation's listings (None: every organisation, and
        listings with no organisation under the key None).
    now : aware UTC datetime to judge by (default: now).
    stale_after_days : threshold in days (default: the ``stale_after_days`` setting).

    Returns
    -------
    ``{organisation_id: [StaleListing, ...]}``; within each organisation the listings
    unconfirmed longest come first (never-confirmed ones before all), then by name.
    Organisations with no stale listing are left out.
    """
    days = stale_days(stale_after_days)
    now = now or utcnow()
    out: dict[str | None, list[StaleListing]] = {}
    filters = stale_filters(organisation_id, now=now, stale_after_days=days)
    for asset in iter_assets(store, filters):
        out.setdefault(asset.organisation_id, []).append(
            StaleListing(asset, days_since_verified(asset, now))
        )
    for listings in out.values():
        listings.sort(key=_oldest_first)
    return out


def _oldest_first(item: StaleListing) -> tuple[float, str, str]:
    age = float("inf") if item.days_since_verified is None else item.days_since_verified
    return (-age, item.asset.name.casefold(), item.asset.id)
