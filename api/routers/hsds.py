"""Read-only Open Referral HSDS 3.0 / ORUK 3.0 API under ``/hsds/``.

Only published assets are visible; an asset is an HSDS service at one location. Lists use the
HSDS ``Page`` envelope; different parameters combine with AND. No API key; every ``/hsds/``
response carries ``Access-Control-Allow-Origin: *`` (the ORUK openness rule).

Filters the stores understand (``search``, ``taxonomy_term_id`` with its descendants,
``organization_id``, ``modified_after``) go to the store; the ORUK ones it cannot express
(``minimum_age``, ``maximum_age``, ``day``, ``start_time``, ``end_time``) are applied here over
the store's filtered list, which must hold at most ``MAX_SCAN_ASSETS`` services, so paging
totals stay exact. Item endpoints accept our HSDS UUIDs and also our own ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, params
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import StoreDep, public_base
from api.errors import PROBLEM_JSON, PROBLEM_TYPE_PREFIX, problem_response
from geo_assets import hsds
from geo_assets.errors import InvalidInputError, NotFoundError
from geo_assets.model import Asset, AssetStatus, Organisation
from geo_assets.store import AssetFilters, Store
from geo_assets.store.base import (
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_RADIUS_M,
    OrganisationLookup,
    iter_assets,
    iter_organisations,
)
from geo_assets.taxonomy import Term, default_taxonomy

PREFIX = "/hsds"
DEFAULT_PER_PAGE = 50
# Most services one request may filter in Python (age, day, times) or look through for an id.
MAX_SCAN_ASSETS = 20_000
# Services looked through to find one whose id of ours is not 32-hex (rare: ours are
# made by `new_id`); above this such services are found by our own id only.
MAX_ID_SCAN_ASSETS = 5_000
# Radius around `postcode` when no `proximity` is given, in metres.
DEFAULT_PROXIMITY_M = 10_000.0
PUBLISHED: list[AssetStatus] = ["published"]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The postcode is not known", "content": {PROBLEM_JSON: {}}},
    404: {"description": "No such record", "content": {PROBLEM_JSON: {}}},
    422: {"description": "A parameter is invalid", "content": {PROBLEM_JSON: {}}},
    503: {"description": "The store cannot be reached", "content": {PROBLEM_JSON: {}}},
}

router = APIRouter(prefix=PREFIX, tags=["hsds"], responses=_PROBLEMS)

PageParam = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page number, from 1")]
PerPageParam = Annotated[
    int, Query(ge=1, le=MAX_PER_PAGE, description="number of results in a page")
]
SearchParam = Annotated[
    str | None, Query(max_length=200, description="words matched as prefixes of name/description")
]
TermParam = Annotated[
    str | None,
    Query(description="taxonomy term id (UUID or our dotted code); matches its descendants too"),
]
TaxonomyParam = Annotated[str | None, Query(description="only terms of this taxonomy")]
OrgParam = Annotated[str | None, Query(description="services of this organization")]
ModifiedParam = Annotated[
    datetime | None, Query(description="modified on or after this time (ISO 8601; naive = UTC)")
]
MinAgeParam = Annotated[
    float | None,
    Query(ge=0, le=150, allow_inf_nan=False,
          description="services whose minimum age is at least this (years)"),
]  # fmt: skip
MaxAgeParam = Annotated[
    float | None,
    Query(ge=0, le=150, allow_inf_nan=False,
          description="services whose maximum age is at most this (years)"),
]  # fmt: skip
DayParam = Annotated[str | None, Query(description="weekday: MO..SU, Mon or Monday")]
StartParam = Annotated[
    time | None, Query(description="a session starts at or after this local time (HH:MM)")
]
EndParam = Annotated[
    time | None, Query(description="a session ends at or before this local time (HH:MM)")
]
FullParam = Annotated[bool, Query(description="fully nested records instead of list rows")]


# --- CORS -----------------------------------------------------------------------------------


class HSDSCorsMiddleware:
    """Adds ``Access-Control-Allow-Origin: *`` to every response under ``/hsds`` (errors too)
    unless another layer already set the header; other paths are left alone."""

    def __init__(self, app: ASGIApp, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "access-control-allow-origin" not in headers:
                    headers["Access-Control-Allow-Origin"] = "*"
            await send(message)

        await self.app(scope, receive, send_with_cors)


def install(app: FastAPI, *, dependencies: Sequence[params.Depends] = ()) -> None:
    """Mount the HSDS router (``dependencies`` on each route) and its CORS header; one call
    in ``create_app``."""
    app.include_router(router, dependencies=dependencies)
    app.add_middleware(HSDSCorsMiddleware)


# --- helpers --------------------------------------------------------------------------------


def _candidates(text: str) -> list[str]:
    """Our ids an HSDS id may stand for: the UUID's hex, then the text itself when it could
    be an id of ours (at most 100 printable characters)."""
    raw = text.strip()
    plausible = raw if 0 < len(raw) <= 100 and raw.isprintable() else None
    return list(dict.fromkeys(c for c in (hsds.our_id_from_hsds(text), plausible) if c))


def _scan(store: Store, filters: AssetFilters, *, field: str) -> Iterator[Asset]:
    """Every asset matching ``filters``, in store order; refuses more than MAX_SCAN_ASSETS."""
    total = store.count_assets(filters)
    if total > MAX_SCAN_ASSETS:
        raise InvalidInputError(
            f"`{field}` is applied to at most {MAX_SCAN_ASSETS} services and {total} match the "
            "other parameters; narrow them with `search`, `taxonomy_term_id` or `postcode`",
            field=field,
        )
    yield from iter_assets(store, filters)


def _published_asset(store: Store, service_id: str, *, kind: str, shown_id: str) -> Asset:
    """The published asset whose HSDS service id (or our id) is ``service_id``."""
    for candidate in _candidates(service_id):
        try:
            asset = store.get_asset(candidate)
        except NotFoundError:
            continue
        if asset.status == "published":
            return asset
    # A uuid5 stands for an id of ours that is not 32-hex: look through (a bounded number).
    filters = AssetFilters(statuses=PUBLISHED)
    if hsds.is_derived_id(service_id) and store.count_assets(filters) <= MAX_ID_SCAN_ASSETS:
        wanted = str(uuid.UUID(service_id.strip()))
        for asset in _scan(store, filters, field="id"):
            if hsds.service_uuid(asset) == wanted:
                return asset
    raise NotFoundError(kind, shown_id)


def _active_organisation(store: Store, org_id: str) -> Organisation | None:
    for candidate in _candidates(org_id):
        try:
            org = store.get_organisation(candidate)
        except NotFoundError:
            continue
        return org if org.status == "active" else None
    if hsds.is_derived_id(org_id):
        wanted = str(uuid.UUID(org_id.strip()))
        for org in iter_organisations(store):
            if org.status == "active" and hsds.hsds_id("organization", org.id) == wanted:
                return org
    return None


def _on_or_after(value: datetime) -> datetime:
    """HSDS means "on or after"; stores compare ``updated_at > x`` at whole seconds."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if value.microsecond:
            value = value.replace(microsecond=0) + timedelta(seconds=1)
        return value - timedelta(seconds=1)
    except OverflowError:
        raise InvalidInputError(
            "`modified_after` must lie between the years 1 and 9999", field="modified_after"
        ) from None


def _is_our_taxonomy(text: str) -> bool:
    return text.strip().lower() in (hsds.taxonomy_uuid(), hsds.TAXONOMY_SLUG)


def _asset_filters(
    store: Store,
    *,
    search: str | None,
    taxonomy_term_id: str | None,
    taxonomy_id: str | None = None,
    organization_id: str | None = None,
    modified_after: datetime | None = None,
) -> AssetFilters | None:
    """Store filters for the parameters; None when one of them can match nothing."""
    categories = None
    if taxonomy_term_id is not None:
        term = hsds.term_from_hsds(taxonomy_term_id)
        if term is None:
            return None
        categories = [term.id]
    if taxonomy_id is not None and not _is_our_taxonomy(taxonomy_id):
        return None
    org_id = None
    if organization_id is not None:
        org = _active_organisation(store, organization_id)
        if org is None:
            return None
        org_id = org.id
    return AssetFilters(
        statuses=PUBLISHED,
        text=search or None,
        categories=categories,
        organisation_id=org_id,
        modified_after=_on_or_after(modified_after) if modified_after else None,
    )


def _service_query(
    minimum_age: float | None,
    maximum_age: float | None,
    day: str | None,
    start_time: time | None,
    end_time: time | None,
) -> hsds.ServiceQuery:
    return hsds.ServiceQuery(
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        day=hsds.parse_day(day) if day else None,
        # Session times are local wall-clock times; an offset on the query is ignored.
        start_time=start_time.replace(tzinfo=None) if start_time else None,
        end_time=end_time.replace(tzinfo=None) if end_time else None,
    )


def _first_python_field(query: hsds.ServiceQuery) -> str:
    for name in ("minimum_age", "maximum_age", "day", "start_time", "end_time"):
        if getattr(query, name) is not None:
            return name
    return "page"


def _select(
    store: Store, filters: AssetFilters, query: hsds.ServiceQuery, page: int, per_page: int
) -> tuple[list[Asset], int]:
    """One page of matching assets in store order (name, id) and the total count."""
    if not query.active:
        result = store.list_assets(filters, page=page, per_page=per_page)
        return result.items, result.total
    field = _first_python_field(query)
    matching = [a for a in _scan(store, filters, field=field) if query.matches(a)]
    start = (page - 1) * per_page
    return matching[start : start + per_page], len(matching)


def _empty(page: int, per_page: int) -> dict[str, Any]:
    return hsds.page_envelope([], total=0, page=page, per_page=per_page)


def _words_match(terms: list[str], *texts: str) -> bool:
    """Every term is a prefix of some word of ``texts`` (case-insensitive), as stores do."""
    joined = " ".join(texts).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in joined).split()
    return all(any(w.startswith(t) for w in words) for t in terms)


def _search_terms(search: str | None) -> list[str]:
    return AssetFilters(text=search).text_terms() if search else []


# --- endpoints ------------------------------------------------------------------------------


@router.get("/", summary="HSDS version, profile and OpenAPI location")
def hsds_about(request: Request) -> dict[str, str]:
    """What the ORUK validator reads first: the HSDS version, the profile and our OpenAPI URL."""
    openapi_path = request.app.openapi_url or "/openapi.json"
    return {
        "version": hsds.HSDS_VERSION,
        "profile": hsds.ORUK_PROFILE_URL,
        "openapi_url": public_base(request) + openapi_path,
    }


@router.get("/services", summary="Published services (HSDS service_list rows), paged")
def hsds_list_services(
    store: StoreDep,
    page: PageParam = 1,
    per_page: PerPageParam = DEFAULT_PER_PAGE,
    search: SearchParam = None,
    taxonomy_term_id: TermParam = None,
    taxonomy_id: TaxonomyParam = None,
    organization_id: OrgParam = None,
    modified_after: ModifiedParam = None,
    minimum_age: MinAgeParam = None,
    maximum_age: MaxAgeParam = None,
    day: DayParam = None,
    start_time: StartParam = None,
    end_time: EndParam = None,
    full: FullParam = False,
) -> dict[str, Any]:
    """Ordered by name. ``full=true`` gives fully nested services."""
    query = _service_query(minimum_age, maximum_age, day, start_time, end_time)
    filters = _asset_filters(
        store,
        search=search,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        organization_id=organization_id,
        modified_after=modified_after,
    )
    if filters is None:
        return _empty(page, per_page)
    assets, total = _select(store, filters, query, page, per_page)
    orgs = OrganisationLookup(store)
    contents = [hsds.service_doc(a, orgs.get(a.organisation_id), full=full) for a in assets]
    return hsds.page_envelope(contents, total=total, page=page, per_page=per_page)


@router.get("/services/{id}", summary="One published service, fully nested")
def hsds_get_service(store: StoreDep, id: str) -> dict[str, Any]:
    asset = _published_asset(store, id, kind="service", shown_id=id)
    return hsds.service_doc(asset, OrganisationLookup(store).get(asset.organisation_id))


@router.get(
    "/service_at_locations",
    summary="Published services at their locations, paged; near a postcode with `proximity`",
)
def hsds_list_service_at_locations(
    store: StoreDep,
    page: PageParam = 1,
    per_page: PerPageParam = DEFAULT_PER_PAGE,
    search: SearchParam = None,
    taxonomy_term_id: TermParam = None,
    taxonomy_id: TaxonomyParam = None,
    organization_id: OrgParam = None,
    modified_after: ModifiedParam = None,
    minimum_age: MinAgeParam = None,
    maximum_age: MaxAgeParam = None,
    day: DayParam = None,
    start_time: StartParam = None,
    end_time: EndParam = None,
    postcode: Annotated[
        str | None,
        Query(max_length=100, description="a postcode, or 'lat,lon' in degrees (WGS84)"),
    ] = None,
    proximity: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_RADIUS_M,
            allow_inf_nan=False,
            description=f"metres from `postcode` (default {DEFAULT_PROXIMITY_M:g})",
        ),
    ] = None,  # fmt: skip
    full: FullParam = False,
) -> Any:
    """Ordered by name; with ``postcode``, nearest first within ``proximity`` metres."""
    query = _service_query(minimum_age, maximum_age, day, start_time, end_time)
    if proximity is not None and postcode is None:
        raise InvalidInputError("`proximity` needs `postcode` (the centre)", field="proximity")
    point = hsds.locate(postcode, store) if postcode is not None else None
    if postcode is not None and point is None:
        return problem_response(
            400,
            title="Postcode not known",
            detail=f"postcode {postcode.strip()!r} is not known; give a known postcode or "
            "'lat,lon' in degrees",
            type_uri=PROBLEM_TYPE_PREFIX + "postcode-not-known",
            field="postcode",
        )
    filters = _asset_filters(
        store,
        search=search,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        organization_id=organization_id,
        modified_after=modified_after,
    )
    if filters is None:
        return _empty(page, per_page)
    if point is None:
        assets, total = _select(store, filters, query, page, per_page)
    else:
        radius_m = proximity or DEFAULT_PROXIMITY_M
        hits = store.nearby(point[0], point[1], radius_m, filters, limit=MAX_SCAN_ASSETS + 1)
        if len(hits) > MAX_SCAN_ASSETS:
            raise InvalidInputError(
                f"more than {MAX_SCAN_ASSETS} services lie within `proximity`; use a smaller "
                "one or add `search` / `taxonomy_term_id`",
                field="proximity",
            )
        matching = [h.asset for h in hits if query.matches(h.asset)]
        start = (page - 1) * per_page
        assets, total = matching[start : start + per_page], len(matching)
    orgs = OrganisationLookup(store)
    contents = [
        hsds.service_at_location_doc(a, orgs.get(a.organisation_id), full=full) for a in assets
    ]
    return hsds.page_envelope(contents, total=total, page=page, per_page=per_page)


@router.get("/service_at_locations/{id}", summary="One published service at its location")
def hsds_get_service_at_location(store: StoreDep, id: str) -> dict[str, Any]:
    service_id = hsds.service_uuid_from_sal(id)
    if service_id is None:
        raise NotFoundError("service_at_location", id)
    asset = _published_asset(store, service_id, kind="service_at_location", shown_id=id)
    return hsds.service_at_location_doc(asset, OrganisationLookup(store).get(asset.organisation_id))


@router.get("/organizations", summary="Active organisations (HSDS organization_list rows), paged")
def hsds_list_organizations(
    store: StoreDep,
    page: PageParam = 1,
    per_page: PerPageParam = DEFAULT_PER_PAGE,
    search: SearchParam = None,
) -> dict[str, Any]:
    """Ordered by name; archived organisations are left out."""
    terms = _search_terms(search)
    orgs = [
        o
        for o in iter_organisations(store)
        if o.status == "active" and _words_match(terms, o.name, o.description)
    ]
    start = (page - 1) * per_page
    contents = [hsds.organization_doc(o, full=False) for o in orgs[start : start + per_page]]
    return hsds.page_envelope(contents, total=len(orgs), page=page, per_page=per_page)


@router.get("/organizations/{id}", summary="One organisation with its published services")
def hsds_get_organization(
    store: StoreDep,
    id: str,
    full_service: Annotated[
        bool, Query(description="fully nested services instead of their one-to-one fields")
    ] = False,
) -> dict[str, Any]:
    org = _active_organisation(store, id)
    if org is None:
        raise NotFoundError("organization", id)
    filters = AssetFilters(statuses=PUBLISHED, organisation_id=org.id)
    services = [
        hsds.service_doc(a, None, full=full_service) for a in _scan(store, filters, field="id")
    ]
    return hsds.organization_doc(org, services=services)


@router.get("/taxonomies", summary="The taxonomies in use (one: our seed tree)")
def hsds_list_taxonomies(
    page: PageParam = 1, per_page: PerPageParam = DEFAULT_PER_PAGE
) -> dict[str, Any]:
    everything = [hsds.taxonomy_doc()]
    start = (page - 1) * per_page
    contents = everything[start : start + per_page]
    return hsds.page_envelope(contents, total=len(everything), page=page, per_page=per_page)


@router.get("/taxonomies/{id}", summary="One taxonomy")
def hsds_get_taxonomy(id: str) -> dict[str, Any]:
    if not _is_our_taxonomy(id):
        raise NotFoundError("taxonomy", id)
    return hsds.taxonomy_doc()


@router.get("/taxonomy_terms", summary="Taxonomy terms, parents before children, paged")
def hsds_list_taxonomy_terms(
    page: PageParam = 1,
    per_page: PerPageParam = DEFAULT_PER_PAGE,
    search: SearchParam = None,
    taxonomy_id: TaxonomyParam = None,
    top_only: Annotated[bool, Query(description="only top-level terms")] = False,
    parent_id: Annotated[str | None, Query(description="only children of this term")] = None,
) -> dict[str, Any]:
    taxonomy = default_taxonomy()
    if taxonomy_id is not None and not _is_our_taxonomy(taxonomy_id):
        return _empty(page, per_page)
    terms: list[Term] = list(taxonomy)
    if top_only:
        terms = [t for t in terms if t.parent_id is None]
    if parent_id is not None:
        parent = hsds.term_from_hsds(parent_id, taxonomy)
        if parent is None:
            return _empty(page, per_page)
        terms = [t for t in terms if t.parent_id == parent.id]
    words = _search_terms(search)
    terms = [t for t in terms if _words_match(words, t.name, t.id, *t.synonyms)]
    start = (page - 1) * per_page
    contents = [hsds.taxonomy_term_doc(t) for t in terms[start : start + per_page]]
    return hsds.page_envelope(contents, total=len(terms), page=page, per_page=per_page)


@router.get("/taxonomy_terms/{id}", summary="One taxonomy term (UUID or our dotted code)")
def hsds_get_taxonomy_term(id: str) -> dict[str, Any]:
    term = hsds.term_from_hsds(id)
    if term is None:
        raise NotFoundError("taxonomy_term", id)
    return hsds.taxonomy_term_doc(term)
