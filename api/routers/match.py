"""``POST /match``: the ranked, explained assets for one person (practitioners and admins).

The profile is special-category personal data (interests, age, children's ages, access
needs, where the person lives), so it only ever travels in a POST body: never in a URL,
never in a log, never stored. The answer carries nothing of it back but the results and, when asked
for, the ways of travelling of the wider searches it tried.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from api.deps import StoreDep, TravelDep, require_roles
from api.routers.schemas import WRITE_STATUSES, problems
from geo_assets.auth import User
from geo_assets.matching import COMPONENTS, DEFAULT_WEIGHTS, Match, check_weights, match
from geo_assets.model import AssetKind, Profile, TravelOption
from geo_assets.widen import ResultsNotes, WiderSearch, notes_on, split_of

router = APIRouter(tags=["matching"])

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_WEIGHT = 10.0
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT, allow_inf_nan=False)]


class MatchRequest(Profile):
    """A person's profile, plus how many results to return and optional weight overrides."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="results wanted")
    weights: dict[str, Weight] | None = Field(
        default=None,
        description=(
            "overrides of the component weights, each 0-10 (the rest keep their defaults: "
            + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_WEIGHTS.items())
            + ")"
        ),
    )
    wider: bool = Field(
        default=False,
        description="also say what longer journeys, and buses and trains when not among "
        "`travel`, would add (up to two more searches; see `wider` in the answer)",
    )


class MatchLocation(BaseModel):
    """Where the asset is: WGS84 degrees and its public address."""

    lat: float
    lon: float
    place: str | None = None
    address: str | None = None
    postcode: str | None = None


class ModeMinutes(BaseModel):
    """Another way the person can get there within their own limit for that mode."""

    mode: str
    minutes: float = Field(description="travel time one way")


class MatchResult(BaseModel):
    """One ranked asset: its summary, score, travel and the reasons it was chosen."""

    asset_id: str
    name: str
    kind: AssetKind
    categories: list[str]
    location: MatchLocation
    score: float = Field(description="weighted sum of the components, in [0, 1]")
    minutes: float = Field(description="travel time one way, by `mode`")
    mode: str = Field(description="the quickest allowed way to get there")
    other_modes: list[ModeMinutes] = Field(
        description="the person's other modes that also get there within their limits, "
        "quickest first"
    )
    distance_m: float = Field(description="straight-line (geodesic) metres")
    next_session: str | None = Field(
        description="the next session when the person is free (local time, ISO 8601)"
    )
    reasons: list[str] = Field(description="plain-English reasons, most important first")
    components: dict[str, float] = Field(description=f"scores in [0, 1]: {', '.join(COMPONENTS)}")
    stale: bool = Field(description="nobody has confirmed the listing lately")


class InterestSplitOut(BaseModel):
    """How the results split by the person's interests."""

    fit: int = Field(description="results matching one of the interests")
    related: int = Field(description="results only related to one (a neighbouring category)")
    other: int = Field(description="results here for what else they offer")
    text: str | None = Field(description="the split in a sentence; null when every result fits")


class WiderSearchOut(BaseModel):
    """The same search with other ways of travelling, and what it would add."""

    travel: list[TravelOption] = Field(description="the ways of travelling it allows")
    added_mode: str | None = Field(
        description="the way of travelling it adds to the person's own; null when it only "
        "lengthens their limits"
    )
    more_that_fit: int = Field(description="results fitting an interest that are not in `results`")
    at_least: bool = Field(description="its own list was full of them, so there may be more")
    text: str = Field(description="what it adds, in a sentence")


class MatchResponse(BaseModel):
    results: list[MatchResult]
    count: int
    weights: dict[str, float] = Field(description="the component weights used")
    split: InterestSplitOut | None = Field(
        description="how the results split by interest; null when no interests were given"
    )
    wider: list[WiderSearchOut] | None = Field(
        description="when asked for (`wider`): what longer journeys, then buses and trains, "
        "would add; each only where some result fits no interest and it can be tried "
        "(buses and trains only when they find more)"
    )


def result_of(m: Match) -> MatchResult:
    """``Match.as_dict()`` plus the asset summary a list or map needs."""
    loc = m.asset.location
    return MatchResult.model_validate(
        {
            **m.as_dict(),
            "kind": m.asset.kind,
            "categories": m.asset.categories,
            "location": MatchLocation(
                lat=loc.lat,
                lon=loc.lon,
                place=loc.place,
                address=loc.address,
                postcode=loc.postcode,
            ),
        }
    )


@router.post(
    "/match",
    response_model=MatchResponse,
    summary="Ranked, explained assets for a person (practitioner or admin)",
    responses=problems(*WRITE_STATUSES),
)
def post_match(
    store: StoreDep,
    travel: TravelDep,
    user: Annotated[User, Depends(require_roles("practitioner"))],
    request: Annotated[MatchRequest, Body()],
) -> MatchResponse:
    """Candidates within reach of ``origin`` by the allowed ``travel`` modes, filtered by
    eligibility, access needs and budget, scored, re-ranked for variety and explained.
    Deterministic: the same profile gives the same order. Nothing is logged or stored."""
    weights = check_weights(request.weights)
    matches = match(store, request, travel=travel, weights=weights, limit=request.limit)
    results = [result_of(m) for m in matches]
    notes = (
        notes_on(store, request, matches, limit=request.limit, travel=travel, weights=weights)
        if request.wider
        else ResultsNotes(split_of(request, matches), longer=None)
    )
    split = notes.split
    return MatchResponse(
        results=results,
        count=len(results),
        weights=weights,
        split=None if split is None else InterestSplitOut(**asdict(split), text=split.text()),
        wider=[wider_of(w) for w in notes.wider] if request.wider else None,
    )


def wider_of(wider: WiderSearch) -> WiderSearchOut:
    return WiderSearchOut(
        travel=list(wider.travel),
        added_mode=wider.added,
        more_that_fit=wider.more_that_fit,
        at_least=wider.at_least,
        text=wider.text(),
    )
