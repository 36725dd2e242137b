"""Changes to a published listing, or to an organisation's record, that wait for a moderator.

Practitioners send people to a published listing because a moderator checked it: what
it is called, what it is, where it meets, how to get in touch and who it is for. An
organisation's change to any of those is held for review, and the listing goes on
showing the checked version until a moderator approves the change (or rejects it), so a
mistaken or hijacked account cannot send people somewhere else unseen. Everything else
(meeting times, cost, access, languages, a "still running" confirmation...) goes live at
once: keeping a listing current must never wait in a queue. A listing a moderator has
published stays under this rule if it is taken off the directory (``Asset.moderated``),
so it cannot be unpublished, changed and sent back to the queue as if it were checked.

An organisation's own record (its name, description, e-mail, phone and web site) was
checked by the admin who created it, and shows beside every one of its listings ("Run
by") and in the HSDS feed other directories copy: an organisation user's change to it
is held the same way, whatever state its listings are in.

A record holds at most one set of held changes, a field and its proposed value each. A
later proposal is merged into it field by field, and a field proposed back to its
published value drops out, so an organisation can take back what it proposed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geo_assets.model import Asset, Organisation, utcnow

R = TypeVar("R", Asset, Organisation)

#: Asset fields an organisation's change to a published listing is held for review in.
REVIEWED_FIELDS: tuple[str, ...] = (
    "name",
    "kind",
    "description",
    "categories",
    "location",
    "venue_id",
    "contact",
    "eligibility",
)

#: Organisation fields an organisation user's change to its own record is held in: all
#: it may change but its provenance.
ORGANISATION_REVIEWED_FIELDS: tuple[str, ...] = ("name", "description", "email", "phone", "url")

#: Plain names for the reviewed fields, for pages and messages.
FIELD_LABELS: dict[str, str] = {
    "name": "name",
    "kind": "kind",
    "description": "description",
    "categories": "categories",
    "location": "place",
    "venue_id": "venue",
    "contact": "contact details",
    "eligibility": "who it is for",
    "email": "e-mail",
    "phone": "phone",
    "url": "web site",
}


class _Held(BaseModel):
    """Proposed changes to one record, awaiting a moderator.

    ``revision`` goes up with each proposal merged in, and is never used twice for one
    record: a moderator approves or rejects the revision they read, never another one
    they have not seen. No ``changes``: nothing waits (all were decided or taken back).
    ``proposed_at`` is when the first of them was proposed (the queue's order);
    ``proposed_by``, who proposed last.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The record's fields that can be held, in the order pages list them.
    reviewed: ClassVar[tuple[str, ...]] = ()

    changes: dict[str, Any] = Field(description="reviewed field -> proposed value (as JSON)")
    proposed_by: str
    proposed_at: datetime
    revision: int = Field(ge=1)

    def fields(self) -> list[str]:
        """The held fields, in ``reviewed`` order."""
        return [f for f in self.reviewed if f in self.changes]

    def waiting(self) -> Self | None:
        """``self`` while something waits for a moderator, else None."""
        return self if self.changes else None


class HeldChanges(_Held):
    """An organisation's proposed changes to a published listing."""

    reviewed: ClassVar[tuple[str, ...]] = REVIEWED_FIELDS

    asset_id: str

    @property
    def record_id(self) -> str:
        return self.asset_id


class HeldOrganisationChanges(_Held):
    """An organisation user's proposed changes to its organisation's record."""

    reviewed: ClassVar[tuple[str, ...]] = ORGANISATION_REVIEWED_FIELDS

    organisation_id: str

    @property
    def record_id(self) -> str:
        return self.organisation_id


AnyHeld = HeldChanges | HeldOrganisationChanges


def held_type(record: Asset | Organisation) -> type[HeldChanges] | type[HeldOrganisationChanges]:
    """The kind of held changes ``record`` can have."""
    return HeldChanges if isinstance(record, Asset) else HeldOrganisationChanges


def _held_for(record: Asset | Organisation, **values: Any) -> AnyHeld:
    if isinstance(record, Asset):
        return HeldChanges(asset_id=record.id, **values)
    return HeldOrganisationChanges(organisation_id=record.id, **values)


def needs_review(role: str, before: Asset | Organisation) -> bool:
    """Whether a change by a user of ``role`` to ``before`` has its reviewed fields held:
    an organisation's to a listing a moderator has published (``Asset.moderated``: it
    may be pending, draft or archived since), or to its own record."""
    if isinstance(before, Organisation):
        return role == "organisation"
    # Taken off the directory and edited, a listing would otherwise come back to the
    # queue with changes nobody compared with what was checked.
    return role == "organisation" and (before.status == "published" or before.moderated)


def with_proposals(asset: R, held: AnyHeld | None) -> R:
    """``asset`` as what waits would make it: what an organisation edits, so that a
    change to part of a field (one contact detail) adds to its proposal rather than
    taking the rest of it back. The version stays the published one. ``asset`` itself
    when nothing waits, or when the proposal no longer makes a valid listing."""
    if held is None or not held.changes:
        return asset
    try:
        return type(asset).model_validate({**asset.model_dump(mode="json"), **held.changes})
    except ValidationError:
        return asset


def split_for_review(
    role: str, before: R, after: R, changes: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``changes`` as (what to apply now, what to hold): the held part names each reviewed
    field the change touches, with its whole value in ``after`` (so a partial change to
    ``location`` holds the complete place), even where that is the published value,
    which takes back an earlier proposal."""
    if not needs_review(role, before):
        return dict(changes), {}
    proposed = after.model_dump(mode="json")
    held = {f: proposed[f] for f in held_type(before).reviewed if f in changes}
    live = {k: v for k, v in changes.items() if k not in held}
    return live, held


def proposals(
    before: Asset | Organisation, held: AnyHeld | None, hold: Mapping[str, Any]
) -> dict[str, Any]:
    """Of ``hold`` (from ``split_for_review``), what proposes something: a field that
    differs from the published listing, or takes back a change held now. For callers
    that send every field (a form, a spreadsheet row), so that a save proposes, and the
    audit log names, only what the organisation changed."""
    published = before.model_dump(mode="json")
    waiting = held.changes if held is not None else {}
    return {f: v for f, v in hold.items() if v != published[f] or f in waiting}


def proposed_fields(before: Asset | Organisation, held: Mapping[str, Any]) -> list[str]:
    """The fields of ``held`` (from ``split_for_review``) that propose something new:
    the rest take a proposal back, or were never changed."""
    proposing = proposals(before, None, held)
    return [f for f in held_type(before).reviewed if f in proposing]


def merge_held(
    current: Asset | Organisation,
    existing: AnyHeld | None,
    proposal: Mapping[str, Any],
    actor: str | None,
    now: datetime | None = None,
) -> AnyHeld | None:
    """What ``current`` holds after ``proposal`` is merged into ``existing``: fields that
    equal the listing's value drop out (taken back, or since made by a moderator). A
    proposal that changes nothing keeps ``existing``; None only while nothing was ever held.

    Once a record has held anything, its held changes stay, with no changes while nothing
    waits: every later proposal then gets a revision never used before, so a decision on
    one can never land on another that reuses its number.
    """
    unknown = sorted(set(proposal) - set(held_type(current).reviewed))
    if unknown:
        raise ValueError(f"not reviewed fields: {unknown}")
    published = current.model_dump(mode="json")
    before = existing.changes if existing is not None else {}
    kept = {f: v for f, v in {**before, **proposal}.items() if v != published[f]}
    if existing is None and not kept:
        return None
    if existing is not None and kept == existing.changes:
        return existing
    revision = existing.revision + 1 if existing is not None else 1
    if existing is None or not existing.changes:
        return _held_for(
            current,
            changes=kept,
            proposed_by=actor or "unknown",
            proposed_at=now or utcnow(),
            revision=revision,
        )
    # The queue keeps its place from the first proposal; pruning alone (a moderator's
    # edit) leaves who proposed as it was.
    by = (actor or existing.proposed_by) if proposal else existing.proposed_by
    return existing.model_copy(update={"changes": kept, "proposed_by": by, "revision": revision})


def decided(held: AnyHeld) -> AnyHeld:
    """``held`` once a moderator has approved or rejected it: nothing waits, and the
    revision stays used."""
    return held.model_copy(update={"changes": {}})


def hold_audit(held: AnyHeld | None, proposal: Mapping[str, Any]) -> dict[str, Any]:
    """The audit row's changes for a proposal: the fields proposed, and what is now held."""
    return {
        "proposed": sorted(proposal),
        "held": held.fields() if held else [],
        "revision": held.revision if held else None,
    }
