"""Calendar files (.ics) of listings: for the person's phone, or the practitioner's diary.

Three ways in: a published listing's own calendar (public, from its page), an unsaved
plan's (by POST: which activities a person chose says something about them, so the
choice stays out of URLs), and a saved plan's (its owner only). None says who it is
for, and none is kept by browsers or proxies (``no-store``), as the pages are not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from api.deps import public_base
from api.plan_view import published_listing
from api.web import render
from geo_assets.clock import local_today
from geo_assets.ical import Listed, calendar, sessions_to_come
from geo_assets.model import Asset
from geo_assets.store import Store
from maps.popups import asset_link, listing_facts

MEDIA_TYPE = "text/calendar; charset=utf-8"


def description(asset: Asset) -> str:
    """What a calendar entry says beside the time and place: what the listing is, how to
    join, what it costs, and who to ask."""
    contact, facts = asset.contact, listing_facts(asset)
    lines = [
        asset.description or "",
        f"How to join: {facts['joining']}",
        f"Cost: {facts['cost']}",
    ]
    if facts["languages"]:
        lines.append(f"Languages: {facts['languages']}")
    if facts["access"]:
        lines.append(f"Access: {facts['access']}")
    ask = ", ".join(part for part in (contact.name, contact.phone, contact.email) if part)
    if ask:
        lines.append(f"Contact: {ask}")
    return "\n".join(line for line in lines if line)


def filename_for(name: str) -> str:
    """A safe download name from a listing's name: "Knit & Natter!" -> knit-natter.ics,
    "Café Żurek" -> cafe-zurek.ics (accents dropped; other scripts give listing.ics, and
    the header's ``filename*`` carries the name itself)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.casefold()).strip("-")[:60].strip("-")
    return f"{slug or 'listing'}.ics"


def _disposition(name: str) -> str:
    """``attachment`` with an ASCII file name and, for names in any script, RFC 6266's
    UTF-8 one: "Żłobek" is saved as Żłobek.ics where the browser can."""
    plain = filename_for(name)
    full = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "-", name).strip(" .-")[:60] or "listing"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(full + '.ics')}"


def calendar_response(
    request: Request,
    assets: Iterable[Asset],
    *,
    name: str,
    file_name: str,
    empty_status: int = 404,
) -> Response:
    """The listings' sessions still to come, as a downloaded .ics file; a page saying
    so (``empty_status``) when none meets again, rather than a calendar with no event,
    which RFC 5545 does not allow."""
    today = local_today()
    shown = list(assets)
    if not sessions_to_come(shown, today):
        context = {
            "title": "Nothing to put in a calendar",
            "message": "This activity has no session still to come."
            if len(shown) == 1
            else "None of these activities has a session still to come.",
        }
        return render(request, "error.html", context, status_code=empty_status)
    base = public_base(request)
    listed = [
        Listed(asset, url=base + asset_link(asset.id), description=description(asset))
        for asset in shown
    ]
    return Response(
        calendar(listed, name=name, today=today),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": _disposition(file_name), "Cache-Control": "no-store"},
    )


def plan_calendar_response(
    request: Request, store: Store, asset_ids: Sequence[str], *, empty_status: int = 404
) -> Response:
    """A plan's activities that are still listed, in the plan's order, each once."""
    listed = [published_listing(store, asset_id) for asset_id in dict.fromkeys(asset_ids)]
    return calendar_response(
        request,
        [a for a in listed if a is not None],
        name="Connection plan",
        file_name="Connection plan",
        empty_status=empty_status,
    )
