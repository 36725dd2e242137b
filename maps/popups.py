"""Popup and label text for assets on maps: short, plain English, escaped.

Everything here returns HTML made safe with ``html_text`` (listing names come from
the public and may contain anything).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from geo_assets.hsds import how_to_join
from geo_assets.languages import languages_text
from geo_assets.matching import Match, travel_reason
from geo_assets.model import Asset, Cost, Eligibility, Location
from maps.style import html_text

FEATURE_WORDS = {
    "wheelchair": "wheelchair accessible",
    "step_free": "step-free access",
    "accessible_toilet": "accessible toilet",
    "changing_places": "Changing Places toilet",
    "hearing_loop": "hearing loop",
    "bsl": "BSL interpreted",
    "quiet_space": "quiet space",
    "large_print": "large print",
    "easy_read": "easy read",
    "parking": "parking",
    "assistance_dogs": "assistance dogs welcome",
}
# The listing's own web page ({id}: the asset id).
LISTING_URL = "/listings/{id}"
STALE_NOTE = "Not confirmed recently: check it is still running"


def asset_link(asset_id: str, asset_url: str = LISTING_URL) -> str:
    """``asset_url`` with ``{id}`` filled in, the id percent-encoded: ids come from
    imports, and ``?``, ``#``, ``%`` or a space would otherwise break the link. (An id
    with ``/``, or ``.`` or ``..`` alone, still names no page: the router decodes it
    first.)"""
    return asset_url.replace("{id}", quote(asset_id, safe=""))


def cost_text(cost: Cost) -> str:
    if cost.amount is None:
        return "Cost not stated"
    if cost.amount == 0:
        return "Free"
    amount = (
        f"£{cost.amount:.2f}" if cost.currency == "GBP" else f"{cost.amount:.2f} {cost.currency}"
    )
    text = f"{amount} per {cost.per}"
    return text + (" (concessions)" if cost.concessions else "")


def access_text(asset: Asset) -> str | None:
    features = asset.accessibility.features
    if not features:
        return None
    return ", ".join(FEATURE_WORDS.get(f, f.replace("_", " ")) for f in features)


def listing_facts(asset: Asset) -> dict[str, str | None]:
    """How to join, the cost, the access features and (when it is news: most listings are
    run in English alone) the languages, in words: what a printed plan lists, and a
    calendar entry says beside the time and place."""
    return {
        "joining": how_to_join(asset),
        "cost": cost_text(asset.cost),
        "access": access_text(asset),
        "languages": languages_text(asset.languages) if asset.languages != ["en"] else None,
    }


def who_text(eligibility: Eligibility) -> str:
    """Who may come, in words: "Women only; aged 16 and over". A ``with_carers`` group's
    ages are its children's, so it reads "Children aged 0–5, with a parent or carer" (or
    "Dads and male carers, bringing children aged 11 and under"), not an age range that
    seems to keep the parents out."""
    ages = (
        eligibility.with_carers_text(groups=True)
        if eligibility.with_carers
        else eligibility.ages_text()
    )
    sex = {"women": "women only", "men": "men only"}.get(eligibility.gender, "")
    groups = eligibility.groups_text()
    text = "; ".join(p for p in (sex, ages, groups) if p) or "everyone"
    return text[0].upper() + text[1:]


def rough_place_note(location: Location) -> str:
    """For a point that is only a centre, that the map pin is not the door (else "")."""
    if not location.approximate:
        return ""
    centre = "the postcode's" if location.precision == "postcode" else "the area's"
    return f"the map shows {centre} centre: ask the organiser where exactly"


def rough_place_text(location: Location) -> str:
    """``rough_place_note`` as it follows an address: " (the map shows ...)"."""
    note = rough_place_note(location)
    return f" ({note})" if note else ""


def when_text(asset: Asset, next_session: datetime | None = None) -> str:
    if next_session is not None:
        return "Next: " + next_session.strftime("%a %d %b, %H:%M")
    if asset.sessions:
        text = asset.sessions[0].describe()
        return text[0].upper() + text[1:]
    return "No regular session times listed"


def travel_text(match: Match, *, distance: bool = True) -> str:
    """How long it takes and by which of the person's ways (``travel_reason``: a walk
    they can manage beside a quicker bus), then how far."""
    text = travel_reason(match)
    if distance:
        text += f" ({match.distance_m / 1000:.1f} km)"
    return text


def result_popup(match: Match, rank: int, asset_url: str) -> str:
    """Popup for a ranked result: name and link, travel, next session, cost, access, reasons."""
    asset = match.asset
    rows = [
        f'<h2><a href="{html_text(asset_link(asset.id, asset_url))}">'
        f"{rank}. {html_text(asset.name)}</a></h2>",
        f"<p>{html_text(travel_text(match))}</p>",
        f"<p>{html_text(when_text(asset, match.next_session))}</p>",
        f"<p>{html_text(cost_text(asset.cost))}</p>",
    ]
    access = access_text(asset)
    if access:
        rows.append(f"<p>Access: {html_text(access)}</p>")
    if match.stale:
        rows.append(f"<p><strong>{html_text(STALE_NOTE)}</strong></p>")
    if match.reasons:
        items = "".join(f"<li>{html_text(r)}</li>" for r in match.reasons)
        rows.append(f"<p>Why it was suggested:</p><ul>{items}</ul>")
    return f'<div class="ga-popup">{"".join(rows)}</div>'
