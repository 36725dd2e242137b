"""The badges a listing wears on the portal and moderation pages, from the domain rules.

Stale comes from :mod:`geo_assets.freshness`, who-it-is-for hints from
:mod:`geo_assets.audience`, possible duplicates from
:func:`geo_assets.duplicates.duplicates_of` (radius queries per listing, so pages
show a page of listings at a time), the rest from the listing's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from geo_assets.audience import audience_hints
from geo_assets.duplicates import duplicates_of
from geo_assets.freshness import LIVE_STATUSES, is_stale
from geo_assets.model import Asset
from geo_assets.store import Store

# Statuses shown as "awaiting approval": not yet published, not archived.
UNPUBLISHED = ("draft", "pending")


@dataclass(frozen=True)
class FlaggedListing:
    """A listing and its badges; ``duplicate_of`` names the likeliest other listing,
    ``audience`` says where the name and who may come disagree."""

    asset: Asset
    stale: bool
    awaiting: bool
    archived: bool
    duplicate_of: Asset | None
    audience: tuple[str, ...]


def flag(store: Store, asset: Asset, now: datetime) -> FlaggedListing:
    """``asset`` with its badges as of ``now`` (aware UTC)."""
    live = asset.status in LIVE_STATUSES
    duplicate = None
    if asset.status != "archived":
        pairs = duplicates_of(store, asset, limit=1)
        if pairs:
            pair = pairs[0]
            duplicate = pair.b if pair.a.id == asset.id else pair.a
    return FlaggedListing(
        asset=asset,
        stale=live and is_stale(asset, now),
        awaiting=asset.status in UNPUBLISHED,
        archived=asset.status == "archived",
        duplicate_of=duplicate,
        audience=tuple(audience_hints(asset)),
    )
