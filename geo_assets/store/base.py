"""The storage contract shared by the PostGIS and SQLite stores.

Logic that does not depend on the database (patching, bulk validation,
category expansion, stable ordering) lives here once, above both stores.
"""

from __future__ import annotations

import gc
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from types import MappingProxyType
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from geo_assets.auth import TokenRecord, User
from geo_assets.errors import (
    BulkValidationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RowError,
    error_message,
)
from geo_assets.model import (
    ADULT_AGE,
    WEEKDAYS,
    AccessFeature,
    Asset,
    AssetKind,
    AssetStatus,
    BBox,
    Gender,
    Latitude,
    LocationPrecision,
    Longitude,
    MergedRecord,
    Organisation,
    UtcDatetime,
    Weekday,
    check_new_id,
    features_meeting,
    utcnow,
)
from geo_assets.plans import SavedPlan, plan_error
from geo_assets.review import (
    AnyHeld,
    HeldChanges,
    HeldOrganisationChanges,
    decided,
    hold_audit,
    merge_held,
)
from geo_assets.store.gazetteer import Place, PostcodePoint

T = TypeVar("T")
R = TypeVar("R", Asset, Organisation)

MAX_PER_PAGE = 1000
# A billion listings at the largest page size: far beyond any store, and it keeps each
# page's offset inside the 64-bit integers SQLite and PostgreSQL count rows in.
MAX_PAGE = 1_000_000
MAX_RADIUS_M = 500_000.0
MAX_AGE = 120  # years; the most any eligibility bound may say
# Fields a caller may never set through a patch: the store owns them.
_STORE_OWNED = frozenset({"id", "created_at", "updated_at", "version", "moderated"})


class NearQuery(BaseModel):
    """A radius query: centre in degrees (WGS84), radius in metres."""

    lat: Latitude
    lon: Longitude
    radius_m: float = Field(gt=0, le=MAX_RADIUS_M, allow_inf_nan=False)


class AssetFilters(BaseModel):
    """Filters understood by every store; all given filters must hold (AND).

    - ``kinds``, ``statuses``: the asset's value is one of these (an empty list matches
      nothing). ``categories``: the asset has any of these terms or their descendants.
    - ``text``: every word is a prefix of a word of the name or description.
    - ``modified_after``: ``updated_at`` later than this. ``organisation_id``: equality.
    - ``verified_before``: ``last_verified_at`` unset or earlier than this: listings not
      confirmed since (``geo_assets.freshness`` asks for the stale ones this way).
    - ``weekdays``: at least one session meets on one of these days (whatever its
      frequency or validity dates); an empty list matches nothing.
    - ``age_min``: the asset admits people aged ``age_min``, as far as its lower bound
      goes: ``eligibility.min_age`` is unset or <= ``age_min``. ``age_max``: likewise for
      the upper bound, ``eligibility.max_age`` unset or >= ``age_max``. Together: the
      asset admits every age from ``age_min`` to ``age_max`` (years, inclusive); one
      person aged A is ``age_min=A, age_max=A``. A grown-up range (``age_min`` at least
      ``ADULT_AGE``, or unset) is also admitted by ``eligibility.with_carers`` listings,
      whatever their children's ages (``Eligibility.admits_age``).
    - ``children_ages``: the ages of the children a person would bring. A
      ``with_carers`` listing then passes the age filter only where one of them is of
      its ages (or the ``age_min``/``age_max`` range is, when given); other listings are
      judged by that range alone, as without it. An empty list is the same as None.
    - ``free_only``: ``cost.amount`` is 0 (an unstated cost is not free).
    - ``max_session_cost``: ``cost.per_session`` is stated and at most this.
    - ``access_needs``: ``accessibility.features`` meet each of these needs (a feature of
      that name, or one that meets it too: wheelchair access is step-free); an empty list
      asks for nothing.
    - ``genders``: ``eligibility.gender`` is one of these (``["any", "women"]``: open to
      a woman; ``["women"]``: women only); an empty list matches nothing.
    - ``precisions``: ``location.precision`` is one of these (``["postcode", "area"]``:
      listings whose point is only a centre); an empty list matches nothing.
    - ``bbox``: the point lies in the lon/lat box, edges included (``west > east``
      crosses the antimeridian), as in ``Store.within``.
    - ``near``: the WGS84 geodesic distance to the centre is at most ``radius_m``
      metres, as in ``Store.nearby`` (lets ``count_assets`` count a radius query).
    """

    model_config = ConfigDict(extra="forbid")

    kinds: list[AssetKind] | None = None
    categories: list[str] | None = None
    statuses: list[AssetStatus] | None = None
    text: str | None = Field(default=None, max_length=200)
    modified_after: UtcDatetime | None = None
    verified_before: UtcDatetime | None = None
    organisation_id: str | None = None
    weekdays: list[Weekday] | None = None
    age_min: int | None = Field(default=None, ge=0, le=MAX_AGE)
    age_max: int | None = Field(default=None, ge=0, le=MAX_AGE)
    children_ages: list[Annotated[int, Field(ge=0, le=MAX_AGE)]] | None = Field(
        default=None, max_length=20
    )
    free_only: bool = False
    max_session_cost: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    access_needs: list[AccessFeature] | None = None
    genders: list[Gender] | None = None
    precisions: list[LocationPrecision] | None = None
    bbox: BBox | None = None
    near: NearQuery | None = None

    @field_validator("age_max")
    @classmethod
    def _age_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("age_min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"must not be below `age_min` ({low})")
        return value

    @field_validator("categories")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from geo_assets.taxonomy import default_taxonomy

        taxonomy = default_taxonomy()
        unknown = [c for c in value if c not in taxonomy]
        if unknown:
            raise ValueError(f"unknown category id(s) {unknown}")
        return value

    def expanded_categories(self) -> list[str] | None:
        """The requested terms plus all their descendants, sorted."""
        if not self.categories:
            return None
        from geo_assets.taxonomy import default_taxonomy

        taxonomy = default_taxonomy()
        out: set[str] = set()
        for term in self.categories:
            out.update(taxonomy.descendants(term, include_self=True))
        return sorted(out)

    def age_parts(self) -> list[tuple[str, list[Any]]]:
        """The age filter as named conditions and their values, for each store to write
        in its own SQL: ``age_min`` / ``age_max`` test one bound each; where the range is
        a grown-up's, ``ages_or_carers`` (both bounds), ``age_min_or_carers`` or
        ``age_max_or_carers`` also let in ``with_carers`` listings.

        With ``children_ages``: ``ages_or_carers_of`` (both bounds, then the list of
        children's ages) lets in what the range admits, and ``with_carers`` listings
        of one child's age; ``carers_of`` (the list alone) keeps out ``with_carers``
        listings of none of them. A missing bound is sent as one that always holds
        (``MAX_AGE`` for the lower, 0 for the upper), so each shape is one SQL text."""
        bounds = [
            (name, [value])
            for name, value in (("age_min", self.age_min), ("age_max", self.age_max))
            if value is not None
        ]
        if self.children_ages:
            children = sorted(set(self.children_ages))
            if not bounds:
                return [("carers_of", [children])]
            low = MAX_AGE if self.age_min is None else self.age_min
            high = 0 if self.age_max is None else self.age_max
            return [("ages_or_carers_of", [low, high, children])]
        if not bounds or (self.age_min is not None and self.age_min < ADULT_AGE):
            return bounds
        if len(bounds) == 2:
            return [("ages_or_carers", [values[0] for _, values in bounds])]
        name, values = bounds[0]
        return [(f"{name}_or_carers", values)]

    def rough_only(self) -> bool:
        """Whether only listings whose point is a postcode's or an area's centre are wanted:
        few, so both stores answer from an index of those points alone."""
        return self.precisions is not None and "point" not in self.precisions

    def text_terms(self) -> list[str]:
        """Words of the text filter, lower-cased, punctuation dropped; all must match."""
        if not self.text:
            return []
        cleaned = "".join(ch if ch.isalnum() else " " for ch in self.text.casefold())
        return [w for w in cleaned.split() if w]


# --- the columns that the schedule, age, cost, precision, sex and access filters read ---------


# Bit of each access feature in the stored ``access_mask`` column. Stored data: never
# renumber; a new feature takes the next bit (and a migration fills it in).
ACCESS_BITS: Mapping[str, int] = MappingProxyType(
    {
        "wheelchair": 1,
        "step_free": 2,
        "accessible_toilet": 4,
        "changing_places": 8,
        "hearing_loop": 16,
        "bsl": 32,
        "quiet_space": 64,
        "large_print": 128,
        "easy_read": 256,
        "parking": 512,
        "assistance_dogs": 1024,
    }
)


def access_mask(features: Iterable[str]) -> int:
    """The ``ACCESS_BITS`` of ``features``, ORed."""
    mask = 0
    for feature in features:
        mask |= ACCESS_BITS[feature]
    return mask


def need_masks(needs: Iterable[str]) -> list[int]:
    """One mask per need: a listing meets the need when its ``access_mask`` shares a bit."""
    return [access_mask(features_meeting(need)) for need in dict.fromkeys(needs)]


def weekday_mask(days: Iterable[str]) -> int:
    """Bit ``i`` set for ``WEEKDAYS[i]`` (mo = 1, tu = 2, ... su = 64)."""
    mask = 0
    for day in days:
        mask |= 1 << WEEKDAYS.index(day)
    return mask


@dataclass(frozen=True)
class FilterColumns:
    """Copies of document fields that both stores keep as columns for the filters.

    ``session_days`` is ``weekday_mask`` of every session's days; ``min_age``/``max_age``
    are the eligibility bounds in years (None = no bound); ``is_free`` is ``cost.free``;
    ``location_precision`` is ``location.precision``; ``gender`` is ``eligibility.gender``;
    ``access_mask`` is ``access_mask`` of ``accessibility.features``; ``session_cost`` is
    ``cost.per_session`` (None when not stated); ``with_carers`` is
    ``eligibility.with_carers``; ``last_verified_at`` is the listing's own (a time: SQLite
    holds it as ``ts_text``).
    """

    session_days: int
    min_age: int | None
    max_age: int | None
    is_free: bool
    location_precision: str
    gender: str
    access_mask: int
    session_cost: float | None
    with_carers: bool
    last_verified_at: datetime | None

    @classmethod
    def of(cls, asset: Asset) -> FilterColumns:
        return cls(
            session_days=weekday_mask(d for s in asset.sessions for d in s.weekdays),
            min_age=asset.eligibility.min_age,
            max_age=asset.eligibility.max_age,
            is_free=asset.cost.free,
            location_precision=asset.location.precision,
            gender=asset.eligibility.gender,
            access_mask=access_mask(asset.accessibility.features),
            session_cost=asset.cost.per_session,
            with_carers=asset.eligibility.with_carers,
            last_verified_at=asset.last_verified_at,
        )

    def values(self) -> tuple[Any, ...]:
        """In ``FILTER_COLUMN_NAMES`` order."""
        return _filter_values(self)  # type: ignore[no-any-return]


#: The filter columns as both stores name them, in the order of ``FilterColumns.values()``:
#: the stores build their INSERT, UPDATE, COPY and merge statements from it, so a new
#: filter column is a field here, a migration and (for PostGIS) its SQL type.
FILTER_COLUMN_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FilterColumns))
_filter_values = attrgetter(*FILTER_COLUMN_NAMES)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


@dataclass(frozen=True)
class NearbyHit:
    asset: Asset
    distance_m: float


# One radius query of a batch (``Store.nearby_each``): its filters and its limit.
NearbyQuery = tuple[AssetFilters | None, int | None]


@dataclass
class UpsertReport:
    inserted: int = 0
    updated: int = 0
    ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.inserted + self.updated


AuditAction = Literal[
    "create", "update", "archive", "bulk_upsert", "revoke", "delete", "propose", "approve", "reject"
]
AuditEntity = Literal["asset", "organisation", "user", "plan"]
# Fields every update changes; the audit row's own `at` says when.
_AUDIT_SKIPPED = frozenset({"updated_at", "version"})


@dataclass(frozen=True)
class AuditEntry:
    """One write: who (``actor``, a user id), when (``at``, UTC), what (``changes``).

    ``changes`` is the created document for "create", ``{field: [old, new]}`` (dotted
    paths into nested objects) for "update"/"archive"/"revoke", and
    ``{"inserted", "updated", "ids"}`` for "bulk_upsert" (whose ``entity_id`` is None).
    A saved plan's "create"/"delete" rows hold only ``plan_audit`` (never its reference
    or items).
    ``seq`` increases with every row and orders the log.
    """

    seq: int
    at: datetime
    actor: str
    action: AuditAction
    entity: AuditEntity
    entity_id: str | None
    changes: dict[str, Any]


@dataclass(frozen=True)
class RecordUpdate:
    """One update (or archive) of a record, as ``RecordUpdates`` hands it to a store:
    ``changes`` to make, refused unless the record is at ``expected_version``; ``hold``,
    reviewed fields to merge into its held changes instead, refused unless those are at
    ``held_revision`` (0: none held). ``action`` names the write in the audit log."""

    changes: Mapping[str, Any]
    actor: str | None
    action: str = "update"
    expected_version: int | None = None
    hold: Mapping[str, Any] | None = None
    held_revision: int | None = None


class RecordUpdates:
    """The update and archive methods of ``Store``, the same on every store: each store
    writes only the transaction behind them (``_update_organisation``, ``_update_asset``:
    read and lock the record, then ``HeldChangeRules._apply_update``)."""

    _update_organisation: Callable[[str, RecordUpdate], Organisation]
    _update_asset: Callable[[str, RecordUpdate], Asset]

    def update_organisation(
        self,
        org_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        hold: Mapping[str, Any] | None = None,
        held_revision: int | None = None,
    ) -> Organisation:
        """As ``update_asset``: ``hold`` is merged into the organisation's held changes
        (``geo_assets.review``), not applied; with nothing else to change, the record
        itself is not written."""
        update = RecordUpdate(changes, actor, "update", expected_version, hold, held_revision)
        return self._update_organisation(org_id, update)

    def archive_organisation(self, org_id: str, *, actor: str | None = None) -> Organisation:
        return self._update_organisation(
            org_id, RecordUpdate({"status": "archived"}, actor, "archive")
        )

    def update_asset(
        self,
        asset_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        hold: Mapping[str, Any] | None = None,
        held_revision: int | None = None,
    ) -> Asset:
        """``expected_version``: refuse (ConflictError) unless the asset is still at it.

        ``hold``: reviewed fields and their proposed values (see ``geo_assets.review``),
        merged into the asset's held changes in the same transaction, not applied.
        ``held_revision``: refuse (ConflictError) unless those are still at this revision
        (0: none held), as a proposal alone leaves the asset's version as it is."""
        update = RecordUpdate(changes, actor, "update", expected_version, hold, held_revision)
        return self._update_asset(asset_id, update)

    def archive_asset(self, asset_id: str, *, actor: str | None = None) -> Asset:
        return self._update_asset(asset_id, RecordUpdate({"status": "archived"}, actor, "archive"))


#: Each kind of record that can hold changes: its held changes' table, key column and model.
HELD_TABLES: dict[str, tuple[str, str, type[HeldChanges] | type[HeldOrganisationChanges]]] = {
    "asset": ("held_changes", "asset_id", HeldChanges),
    "organisation": ("held_organisation_changes", "organisation_id", HeldOrganisationChanges),
}


def entity_of(record: Asset | Organisation) -> str:
    """The audit log's (and ``HELD_TABLES``') name for ``record``'s kind."""
    return "asset" if isinstance(record, Asset) else "organisation"


class HeldChangeRules:
    """What both stores do with held changes (``geo_assets.review``) inside their own
    transactions; each store supplies reading and writing one record's row of them
    (by entity: see ``HELD_TABLES``)."""

    _load_held: Callable[[Any, str, str], AnyHeld | None]  # with no changes once decided
    _save_held: Callable[[Any, str, AnyHeld], None]
    _waiting_ids: Callable[[Any], set[str]]  # listings with changes waiting
    _audit: Callable[[Any, str, str, str, str | None, dict[str, Any]], None]

    def _apply_update(
        self, conn: Any, current: R, update: RecordUpdate, write: Callable[[R], None]
    ) -> R:
        """The body of every update's transaction, on ``current`` as read (and locked) in
        it: make the changes (``apply_patch``), ``write`` them with their audit row, and
        merge what ``update`` holds into what waits. A proposal alone leaves the record
        as it is (no new version)."""
        updated: R = apply_patch(current, update.changes, update.expected_version)
        if update.changes or update.hold is None:
            write(updated)
            if update.actor is not None:
                diff = audit_changes(current, updated)
                self._audit(conn, update.actor, update.action, entity_of(current), current.id, diff)
        else:
            updated = current
        self._merge_hold(conn, updated, update.hold, update.actor, update.held_revision)
        return updated

    def _merge_hold(
        self,
        conn: Any,
        current: Asset | Organisation,
        proposal: Mapping[str, Any] | None,
        actor: str | None,
        expected_revision: int | None = None,
    ) -> None:
        """Merge ``proposal`` into what ``current`` holds (pruning what the record now
        says anyway); audited as a proposal when there was one. With
        ``expected_revision``, ConflictError unless what waits is still at it (0: none)."""
        entity = entity_of(current)
        existing = self._load_held(conn, entity, current.id)
        waiting = existing.waiting() if existing is not None else None
        now_at = waiting.revision if waiting is not None else 0
        if expected_revision is not None and expected_revision != now_at:
            raise ConflictError(
                f"the held changes of `{current.id}` are at revision {now_at}, not "
                f"{expected_revision}: they changed meanwhile"
            )
        if waiting is None and not proposal:
            return
        held = merge_held(current, existing, proposal or {}, actor)
        if held is not None and held.changes and proposal:
            apply_patch(current, held.changes)  # what waits must make a valid record
        if held is not None and held is not existing:
            self._save_held(conn, entity, held)
        if proposal and actor is not None:
            waits = held.waiting() if held is not None else None
            self._audit(conn, actor, "propose", entity, current.id, hold_audit(waits, proposal))

    def _merge_holds(
        self,
        conn: Any,
        holds: Mapping[str, Mapping[str, Any]] | None,
        actor: str | None,
        current_of: Callable[[Any, str], Asset],
        loaded: Iterable[str],
        read_at: Mapping[str, int] | None = None,
    ) -> None:
        """After a bulk load of ``loaded`` (asset ids): ConflictError if a listing in
        ``read_at`` (id -> the version its caller read) had moved on before the load
        updated it; then ``_merge_hold`` for each listing it holds changes on, and pruning
        for the others with changes waiting (what the load made true no longer waits)."""
        current = {i: current_of(conn, i) for i in read_at or {}}
        for asset_id, version in (read_at or {}).items():
            now_at = current[asset_id].version
            if now_at != version + 1:  # this load's update made it version + 1
                raise ConflictError(
                    f"`{asset_id}` changed after it was read (version {now_at - 1}, not "
                    f"{version}): nothing was loaded; load it again"
                )
        proposals = dict(holds or {})
        for asset_id in self._waiting_ids(conn).intersection(loaded):
            proposals.setdefault(asset_id, {})
        for asset_id, proposal in proposals.items():
            if asset_id not in current:
                current[asset_id] = current_of(conn, asset_id)
            self._merge_hold(conn, current[asset_id], proposal, actor)

    def _settle_held(
        self, conn: Any, current: R, approve: bool, revision: int, actor: str | None
    ) -> R:
        """Approve (apply) or reject the held changes at ``revision``; returns the record
        as it must now be stored (``current`` itself when nothing changes)."""
        entity = entity_of(current)
        stored = self._load_held(conn, entity, current.id)
        held = stored.waiting() if stored is not None else None
        if held is None:
            raise NotFoundError(f"held changes for {entity}", current.id)
        if held.revision != revision:
            raise ConflictError(
                f"the held changes of `{current.id}` are at revision {held.revision}, not "
                f"{revision}: the organisation proposed more since; read them again"
            )
        updated: R = apply_patch(current, held.changes) if approve else current
        self._save_held(conn, entity, decided(held))
        if actor is not None:
            audit: dict[str, Any] = {"revision": revision, "fields": held.fields()}
            if approve:
                audit["changes"] = audit_changes(current, updated)
            self._audit(conn, actor, "approve" if approve else "reject", entity, current.id, audit)
        return updated


_log = logging.getLogger(__name__)
H = TypeVar("H", HeldChanges, HeldOrganisationChanges)


def readable_held(model: type[H], rows: Iterable[Sequence[Any]]) -> list[H]:
    """What waits, from rows of (record id, held document), leaving out a document that
    cannot be read (edited by hand, say) with a warning that names its record: one such
    row made every page listing what waits answer 500, for every other change too."""
    out: list[H] = []
    for record_id, doc in rows:
        try:
            out.append(model.model_validate_json(doc))
        except ValidationError:
            _log.warning("held changes of %r cannot be read: left out of the queue", record_id)
    return out


def held_of_row(row: Sequence[Any] | None, entity: str, record_id: str) -> Any:
    """What waits on a record, from a row of (record id, held document or NULL);
    NotFoundError when there is no row (no such record)."""
    if row is None:
        raise NotFoundError(entity, record_id)
    return None if row[1] is None else HELD_TABLES[entity][2].model_validate_json(row[1])


@runtime_checkable
class Store(Protocol):
    """What the rest of the system may ask of storage."""

    url: str

    def upgrade(self) -> list[str]: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...

    # Write methods take ``actor`` (a user id): when given, one audit row describing the
    # write is stored in the same transaction (see ``AuditEntry`` and ``audit_changes``).
    def create_organisation(
        self, org: Organisation, *, actor: str | None = None
    ) -> Organisation: ...
    def get_organisation(self, org_id: str) -> Organisation: ...
    def update_organisation(
        self,
        org_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        hold: Mapping[str, Any] | None = None,
        held_revision: int | None = None,
    ) -> Organisation: ...
    def archive_organisation(self, org_id: str, *, actor: str | None = None) -> Organisation: ...
    def delete_organisation(self, org_id: str, *, actor: str | None = None) -> None:
        """Remove an organisation nothing refers to (an import's own, when its load
        failed); ConflictError while a listing or a user names it: archive it instead."""
        ...

    def list_organisations(self, *, page: int = 1, per_page: int = 50) -> Page[Organisation]: ...

    def create_asset(self, asset: Asset, *, actor: str | None = None) -> Asset: ...
    def get_asset(self, asset_id: str) -> Asset: ...
    def update_asset(
        self,
        asset_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        hold: Mapping[str, Any] | None = None,
        held_revision: int | None = None,
    ) -> Asset: ...
    def archive_asset(self, asset_id: str, *, actor: str | None = None) -> Asset: ...
    def get_held_changes(self, asset_id: str) -> HeldChanges | None:
        """The changes held for review on ``asset_id``, if any (NotFoundError: no asset)."""
        ...

    def list_held_changes(self, *, organisation_id: str | None = None) -> list[HeldChanges]:
        """Every listing's held changes (or one organisation's listings'), oldest first."""
        ...

    def resolve_held_changes(
        self, asset_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Asset:
        """Apply (``approve``) or drop the held changes at ``revision``, in one transaction;
        returns the asset. ConflictError when more was proposed since ``revision``."""
        ...

    def get_held_organisation_changes(self, org_id: str) -> HeldOrganisationChanges | None:
        """The changes to an organisation's record held for review, if any
        (NotFoundError: no such organisation)."""
        ...

    def list_held_organisation_changes(self) -> list[HeldOrganisationChanges]:
        """Every organisation's held changes, oldest first."""
        ...

    def resolve_held_organisation_changes(
        self, org_id: str, *, approve: bool, revision: int, actor: str | None = None
    ) -> Organisation:
        """``resolve_held_changes`` for an organisation's record."""
        ...

    def list_assets(
        self, filters: AssetFilters | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[Asset]: ...
    def nearby(
        self,
        lat: float,
        lon: float,
        radius_m: float,
        filters: AssetFilters | None = None,
        *,
        limit: int | None = None,
    ) -> list[NearbyHit]: ...
    def nearby_each(
        self, lat: float, lon: float, radius_m: float, queries: Sequence[NearbyQuery]
    ) -> list[list[NearbyHit]]:
        """``nearby`` for each (filters, limit) around one point, in one go (one round
        trip on a server): the matcher's candidate pools."""
        ...

    def within(self, bbox: BBox, filters: AssetFilters | None = None) -> list[Asset]: ...
    def bulk_upsert(
        self,
        records: Iterable[Asset | Mapping[str, Any]],
        *,
        actor: str | None = None,
        holds: Mapping[str, Mapping[str, Any]] | None = None,
        read_at: Mapping[str, int] | None = None,
    ) -> UpsertReport:
        """``holds``: by asset id, reviewed fields to hold for review (as ``update_asset``'s
        ``hold``), merged after the load in its transaction; each asset must exist then.
        ``read_at``: by asset id, the version the caller read a listing this load updates
        at: ConflictError, and nothing loaded, if it had moved on since."""
        ...

    def count_assets(self, filters: AssetFilters | None = None) -> int: ...
    def count_assets_by_organisation(
        self, filters: AssetFilters | None = None
    ) -> dict[str | None, int]:
        """``count_assets`` per organisation id (None: listings with no organisation);
        organisations with no listing that passes are left out."""
        ...

    # Users, tokens and the audit log (geo_assets.auth holds the rules and the hashing).
    def create_user(self, user: User, *, actor: str | None = None) -> User: ...
    def get_user(self, user_id: str) -> User: ...
    def list_users(self, *, page: int = 1, per_page: int = 50) -> Page[User]: ...
    def revoke_user(self, user_id: str, *, actor: str | None = None) -> User: ...
    def add_token(
        self,
        user_id: str,
        token_id: str,
        secret_hash: str,
        *,
        expires_at: datetime | None = None,
        session_of: str | None = None,
    ) -> TokenRecord:
        """Store a token's hash for an active user (the caller hashed the secret).
        ``session_of``: a web session's token, started by signing in with that token,
        which must be the user's own live API token (``auth.session_parent_problem``)."""
        ...

    def find_token(self, token_id: str) -> TokenRecord | None: ...
    def list_tokens(self, user_id: str) -> list[TokenRecord]:
        """The user's tokens, ended ones included, oldest first (made within the same
        second: by id)."""
        ...

    def revoke_token(self, token_id: str, *, actor: str | None = None) -> bool:
        """Revoke one token and the web sessions it started; whether the token itself was
        live (False: revoked before, or unknown). With ``actor`` it is audited, as a
        change to the user."""
        ...

    def revoke_user_tokens(
        self, user_id: str, *, keep: str | None = None, actor: str | None = None
    ) -> int:
        """Revoke every live token of the user but ``keep`` (sessions included), in one
        transaction; how many. The user stays active."""
        ...

    def delete_expired_tokens(self, before: datetime) -> int:
        """Delete the web sessions' tokens that ended before ``before``; how many. (API
        tokens that ended are kept, and listed as expired.)"""
        ...

    def list_audit(
        self, entity_id: str | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[AuditEntry]: ...

    # Saved connection plans (geo_assets.plans): pseudonymous, newest first per owner;
    # deleting one removes it for good.
    def save_plan(self, plan: SavedPlan, *, actor: str | None = None) -> SavedPlan: ...
    def get_plan(self, plan_id: str) -> SavedPlan: ...
    def list_plans(
        self, owner_id: str, *, page: int = 1, per_page: int = 50
    ) -> Page[SavedPlan]: ...
    def delete_plan(self, plan_id: str, *, actor: str | None = None) -> None: ...
    def purge_plans(
        self,
        *,
        before: datetime | None = None,
        owner_id: str | None = None,
        actor: str | None = None,
    ) -> int: ...

    # The geocoder's lookup tables (geo_assets.store.gazetteer holds the shared rules).
    def upsert_postcodes(self, rows: Iterable[tuple[str, Any, Any]]) -> int: ...
    def find_postcode(self, postcode: str) -> PostcodePoint | None: ...
    def find_postcodes(self, postcodes: Iterable[str]) -> dict[str, PostcodePoint]: ...
    def upsert_places(self, rows: Iterable[Place | tuple[str, Any, Any, str]]) -> int: ...
    def search_places(self, query: str, *, limit: int = 10) -> list[Place]: ...


# --- helpers shared by both implementations -------------------------------------------------


def iter_pages(
    list_page: Callable[[int, int], Page[T]], per_page: int = MAX_PER_PAGE
) -> Iterator[T]:
    """Every item of a paged listing: ``list_page(page, per_page)`` from page 1 on."""
    page = 1
    while True:
        batch = list_page(page, per_page)
        yield from batch.items
        if page >= batch.pages or not batch.items:
            return
        page += 1


class OrganisationLookup:
    """Organisations read once each, for pages and documents that name the organisation
    of many listings (most share a few); None for an id no organisation has any more."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: dict[str, Organisation | None] = {}

    def get(self, org_id: str | None) -> Organisation | None:
        if org_id is None:
            return None
        if org_id not in self.seen:
            try:
                self.seen[org_id] = self.store.get_organisation(org_id)
            except NotFoundError:
                self.seen[org_id] = None
        return self.seen[org_id]


def iter_assets(
    store: Store, filters: AssetFilters | None = None, *, per_page: int = MAX_PER_PAGE
) -> Iterator[Asset]:
    """Every asset matching ``filters``, in the store's list order (name, then id)."""
    return iter_pages(lambda page, n: store.list_assets(filters, page=page, per_page=n), per_page)


def iter_organisations(store: Store) -> Iterator[Organisation]:
    """Every organisation, archived ones too, in the store's list order."""
    return iter_pages(lambda page, n: store.list_organisations(page=page, per_page=n))


def latest_change(assets: Iterable[Asset]) -> datetime | None:
    """The newest ``updated_at`` among ``assets`` (None when none has one)."""
    return max((a.updated_at for a in assets if a.updated_at is not None), default=None)


def unchanged_since(
    store: Store, filters: AssetFilters, count: int, latest: datetime | None
) -> bool:
    """Whether the assets matching ``filters`` still look as they did when there were
    ``count`` of them, the newest changed at ``latest``: as many now, none changed after.

    Two counts instead of reading every asset; an edit within the same second as
    ``latest`` cannot be told apart, so callers also let what they keep expire.
    """
    if store.count_assets(filters) != count:
        return False
    if latest is None:
        return True
    return store.count_assets(filters.model_copy(update={"modified_after": latest})) == 0


def check_page(page: int, per_page: int) -> tuple[int, int]:
    """Validate paging arguments; returns (limit, offset)."""
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInputError(f"`page` must be between 1 and {MAX_PAGE:,}", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInputError(
            f"`per_page` must be between 1 and {MAX_PER_PAGE}", field="per_page"
        )
    return per_page, (page - 1) * per_page


def check_near(lat: float, lon: float, radius_m: float) -> NearQuery:
    try:
        return NearQuery(lat=lat, lon=lon, radius_m=radius_m)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0])
        raise InvalidInputError(f"`{name}`: {error_message(err)}", field=name) from exc


def check_limit(limit: int | None) -> int | None:
    if limit is not None and limit < 1:
        raise InvalidInputError("`limit` must be 1 or more", field="limit")
    return limit


def check_nearby_each(
    lat: float, lon: float, radius_m: float, queries: Sequence[NearbyQuery]
) -> NearQuery:
    """A batch of radius queries is refused whole, before any runs, if any part is bad."""
    near = check_near(lat, lon, radius_m)
    for _, limit in queries:
        check_limit(limit)
    return near


def sort_name(name: str) -> str:
    """The key both stores order names by (byte order of the case-folded name)."""
    return name.casefold()


def stamp_new(model: Asset | Organisation, now: datetime | None = None) -> Any:
    """A copy ready to insert: timestamps set, version 1 (and, for a listing, whether it
    is moderated: whatever the caller said, only if it goes in published)."""
    now = now or utcnow()
    stamp: dict[str, Any] = {"created_at": now, "updated_at": now, "version": 1}
    if isinstance(model, Asset):
        stamp["moderated"] = model.status == "published"
    # Shallow: the stored document is serialised from the copy, nothing mutates it.
    return model.model_copy(update=stamp)


# An organisation that a listing or a user still names, which delete_organisation refuses.
ORGANISATION_IN_USE = (
    "SELECT EXISTS (SELECT 1 FROM assets WHERE organisation_id = {p})"
    " OR EXISTS (SELECT 1 FROM users WHERE organisation_id = {p})"
)


def organisation_in_use(org_id: str) -> ConflictError:
    return ConflictError(f"organisation `{org_id}` still has listings or users: archive it instead")


def stamp_created(model: Asset | Organisation) -> Any:
    """``stamp_new`` for a record created on its own (not by a bulk load, whose rows may
    update stored records under their old ids): its id must suit a web address."""
    check_new_id(model.id)
    return stamp_new(model)


def bulk_kept(asset: Asset, archived: bool, merged_from: str | None) -> dict[str, Any]:
    """What a bulk load keeps of a stored listing it updates, whatever the feed says.

    A listing the directory archived (a duplicate merged into another, a closure an
    admin recorded) stays archived, and the listings merged into one stay recorded on
    it (``merged_from``, as JSON, when any): a feed knows nothing of either, and
    importing it again must not undo them. The PostGIS store's merge (``BULK_MERGE``)
    keeps the same in SQL."""
    kept: dict[str, Any] = {}
    if archived:
        kept["status"] = "archived"
    if merged_from and not asset.merged_from:
        kept["merged_from"] = [MergedRecord.model_validate(r) for r in json.loads(merged_from)]
    return kept


def moderated_after(stored_moderated: bool, stored_status: str, new_status: str) -> bool:
    """Whether a listing is moderated after a write: once a moderator has published it,
    it stays so (``Asset.moderated``)."""
    return stored_moderated or "published" in (stored_status, new_status)


def apply_patch(
    current: Asset | Organisation,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Any:
    """Merge ``changes`` (a partial dict) into ``current`` and re-validate the whole.

    Nested objects (``location``, ``cost``...) are merged one level deep so a patch
    can change ``location.lat`` without restating the address; a patch that moves the
    point without saying its ``precision`` makes it a ``point``. A patch that breaks a
    rule raises ``InvalidInputError`` naming the field. With ``expected_version``, a
    record that has moved on since the caller read it raises ``ConflictError`` (stores
    call this on the row they hold locked, so no other write can slip in between).
    """
    if expected_version is not None and expected_version != current.version:
        raise ConflictError(
            f"`{current.id}` is at version {current.version}, not {expected_version}: "
            "it was changed meanwhile"
        )
    owned = _STORE_OWNED.intersection(changes)
    if owned:
        raise InvalidInputError(
            f"`{sorted(owned)[0]}` is set by the store and cannot be changed",
            field=sorted(owned)[0],
        )
    data = current.model_dump(mode="json")
    for key, value in changes.items():
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        if isinstance(value, Mapping) and isinstance(data.get(key), dict):
            merged = {**data[key], **value}
            if key == "location" and "precision" not in value and _moved(data[key], merged):
                merged["precision"] = "point"  # a pin moved by hand is where it was put
            data[key] = merged
        else:
            data[key] = value
    data["updated_at"] = utcnow().isoformat()
    data["version"] = current.version + 1
    if isinstance(current, Asset):
        data["moderated"] = moderated_after(current.moderated, current.status, data["status"])
    try:
        return type(current).model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from exc


def _moved(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return (before.get("lat"), before.get("lon")) != (after.get("lat"), after.get("lon"))


def invalid_input(exc: ValidationError) -> InvalidInputError:
    """Our error for a pydantic one, naming the first failing field (``location.lat``)."""
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or None
    # A check across fields has no one place: its message names the fields itself.
    message = error_message(err)
    return InvalidInputError(message if name is None else f"`{name}`: {message}", field=name)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a big feed is read, checked or loaded.

    A feed or a bulk load is many small objects that all stay alive; each collection
    would walk them all again, which made reading an HSDS feed several times slower and
    checking and loading 100,000 records about 1.7x slower (a PostGIS bulk load of
    100,000 assets: 14,000-16,000 rows/s with collection, 16,700-17,300 without).
    Nothing here makes cycles, so collection resumes (and finds little) afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validated_rows(
    records: Iterable[Asset | Mapping[str, Any]],
) -> Iterator[tuple[int, Asset | list[RowError]]]:
    """Yield (row number, asset or its errors) for each record, 1-based."""
    for row, record in enumerate(records, start=1):
        if isinstance(record, Asset):
            asset = record
        else:
            try:
                asset = Asset.model_validate(record)
            except ValidationError as exc:
                yield row, row_errors(row, exc)
                continue
        if asset.source is None or asset.source_id is None:
            yield row, [RowError(row, "source_id", "bulk loads need `source` and `source_id`")]
            continue
        yield row, asset


def row_errors(row: int, exc: ValidationError) -> list[RowError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        out.append(RowError(row, loc, error_message(err)))
    return out


class BulkCollector:
    """Collects assets and row errors from a stream; keeps the first key per (source, source_id)."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.seen: dict[tuple[str, str], int] = {}

    def accept(self, row: int, result: Asset | list[RowError]) -> Asset | None:
        if isinstance(result, list):
            self.errors.extend(result)
            return None
        key = (result.source or "", result.source_id or "")
        if key in self.seen:
            self.errors.append(
                RowError(row, "source_id", f"repeats row {self.seen[key]} ({key[0]}:{key[1]})")
            )
            return None
        self.seen[key] = row
        return result

    def raise_if_any(self) -> None:
        if self.errors:
            raise BulkValidationError(self.errors)


def audit_changes(
    before: BaseModel | Mapping[str, Any], after: BaseModel | Mapping[str, Any]
) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field that differs (JSON values).

    Nested objects are compared field by field under dotted names (``location.lat``);
    lists are compared whole. ``updated_at`` and ``version`` are left out.
    """
    old = before.model_dump(mode="json") if isinstance(before, BaseModel) else dict(before)
    new = after.model_dump(mode="json") if isinstance(after, BaseModel) else dict(after)
    out: dict[str, list[Any]] = {}
    _diff(old, new, "", out)
    return out


def revoked_token_audit(token_id: str, sessions: int) -> dict[str, Any]:
    """The audit row's changes for one token revoked (and the web sessions it started)."""
    return {"token_id": token_id, **({"sessions_ended": sessions} if sessions else {})}


def replaced_audit(count: int, kept: str | None) -> dict[str, Any]:
    """The audit row's changes for a user's tokens revoked at once, but ``kept``."""
    return {"tokens_revoked": count, **({"token_kept": kept} if kept else {})}


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str, out: dict) -> None:
    for key in sorted(set(old) | set(new)):
        if not prefix and key in _AUDIT_SKIPPED:
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            _diff(a, b, f"{prefix}{key}.", out)
        elif a != b:
            out[f"{prefix}{key}"] = [a, b]


def checked_plan(plan: SavedPlan) -> SavedPlan:
    """The plan re-validated as a whole before it is stored (``InvalidInputError`` if not)."""
    try:
        return SavedPlan.model_validate(plan.model_dump())
    except ValidationError as exc:
        raise plan_error(exc) from exc


def plan_audit(owner_id: str) -> dict[str, Any]:
    """The ``changes`` of a plan's audit rows: whose plan it is, nothing of what it says."""
    return {"owner_id": owner_id}


def check_purge(before: datetime | None, owner_id: str | None) -> None:
    """``purge_plans`` needs a limit: an age, an owner or both (never "everything")."""
    if before is None and owner_id is None:
        raise InvalidInputError(
            "purging plans needs `before` (a time) or `owner_id` (a user), or both",
            field="before",
        )
    if before is not None and before.tzinfo is None:
        raise InvalidInputError("`before` must carry a time zone (UTC)", field="before")


def bulk_audit(report: UpsertReport) -> dict[str, Any]:
    """The ``changes`` of a bulk_upsert audit row."""
    return {"inserted": report.inserted, "updated": report.updated, "ids": list(report.ids)}


def degree_box(lat: float, lon: float, radius_m: float) -> list[tuple[float, float, float, float]]:
    """Lon/lat boxes (west, south, east, north) that surely contain the geodesic circle.

    Uses the smallest metres-per-degree on the WGS84 ellipsoid plus 0.5% slack, and
    splits a box that crosses the antimeridian in two.
    """
    m_per_deg_lat = 110_574.0
    dlat = radius_m / m_per_deg_lat * 1.005
    south, north = lat - dlat, lat + dlat
    if south <= -90 or north >= 90:
        return [(-180.0, max(south, -90.0), 180.0, min(north, 90.0))]
    max_abs_lat = max(abs(south), abs(north))
    m_per_deg_lon = 111_320.0 * math.cos(math.radians(max_abs_lat))
    dlon = radius_m / m_per_deg_lon * 1.005
    if dlon >= 180:
        return [(-180.0, south, 180.0, north)]
    west, east = lon - dlon, lon + dlon
    if west < -180:
        return [(west + 360, south, 180.0, north), (-180.0, south, east, north)]
    if east > 180:
        return [(west, south, 180.0, north), (-180.0, south, east - 360, north)]
    return [(west, south, east, north)]
