"""A spreadsheet uploaded by one organisation: the template import, kept to its own listings.

The portal's upload runs the same pipeline as ``geo-assets import csv|xlsx``
(:func:`geo_assets.ingest.base.run_import`: every row checked, then one all-or-nothing
load), with the organisation rules of :func:`geo_assets.auth.authorise_asset_write`
applied to each row first:

- every row is listed under the uploader's organisation (the sheet's ``organisation``
  column is ignored, with a warning) and no organisation is created;
- rows are keyed under a ``source`` of the organisation's own (:func:`organisation_source`),
  so two organisations using the same ``source_id`` never overwrite each other, and
  uploading the same sheet again updates that organisation's listings; a blank
  ``source_id`` is made from name and postcode alone, whatever the ignored column says
  (a listing keyed by an older upload, with the organisation, is still found by them);
- a new listing starts ``pending`` (an admin publishes it); a row that updates a stored
  listing keeps that listing's status, whatever the ``status`` column says;
- on a published listing, a row's new name, description, place, contact details and
  the rest of what a moderator checked are held for review (``geo_assets.review``), in
  the load's own transaction; its other columns are loaded at once.

Admins have no organisation: their upload is the plain import, as on the command line,
whose rows go under the stored organisation they name.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from geo_assets.auth import User, authorise_asset_write
from geo_assets.errors import PermissionDenied, RowError
from geo_assets.geocode import Geocoder
from geo_assets.ingest.base import ImportReport, ParsedFeed, run_import
from geo_assets.ingest.spreadsheet import parse_csv, parse_xlsx, stored_organisations
from geo_assets.model import Asset, Session
from geo_assets.review import FIELD_LABELS, REVIEWED_FIELDS, proposals, split_for_review
from geo_assets.store.base import AssetFilters, Store, iter_assets, row_errors

#: File name endings the upload accepts, and the parser each gets.
UPLOAD_FORMATS = {".csv": parse_csv, ".xlsx": parse_xlsx}
#: Rows one upload may hold: an organisation's listings, not a national directory (the
#: command line's import has no such limit).
MAX_UPLOAD_ROWS = 5_000
_ZIP_MAGIC = b"PK\x03\x04"  # every .xlsx workbook is a zip file
_SOURCE_PREFIX = "portal:"
_SOURCE_MAX_CHARS = 100  # Asset.source's limit


def organisation_source(organisation_id: str) -> str:
    """The ``source`` an organisation's uploaded rows are keyed under (at most 100 chars)."""
    source = f"{_SOURCE_PREFIX}{organisation_id}"
    if len(source) <= _SOURCE_MAX_CHARS:
        return source
    return _SOURCE_PREFIX + hashlib.sha256(organisation_id.encode("utf-8")).hexdigest()[:40]


def parse_upload(
    filename: str,
    raw: bytes,
    geocoder: Geocoder | None = None,
    *,
    known_organisations: Mapping[str, str] | None = None,
    key_by_organisation: bool = True,
) -> ParsedFeed:
    """Parse an uploaded template by its name's ending (a workbook named .csv is still read
    as one); an unknown ending is a file-level problem naming the allowed ones. The
    keywords are the parsers' (:func:`geo_assets.ingest.spreadsheet.parse_csv`)."""
    suffix = Path(filename or "").suffix.casefold()
    if raw.startswith(_ZIP_MAGIC):
        suffix = ".xlsx"
    parse = UPLOAD_FORMATS.get(suffix)
    if parse is None:
        allowed = " or ".join(UPLOAD_FORMATS)
        return ParsedFeed(
            errors=[RowError(0, "file", f"{filename or 'the file'!r} is not a {allowed} file")]
        )
    # The parsers read paths (openpyxl needs a seekable file); the upload lives only briefly.
    with tempfile.TemporaryDirectory(prefix="ga-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(raw)
        feed = parse(
            path,
            geocoder=geocoder,
            max_rows=MAX_UPLOAD_ROWS,
            known_organisations=known_organisations,
            key_by_organisation=key_by_organisation,
        )
        feed.records = list(feed.records)  # read everything before the file goes
    return feed


def import_upload(store: Store, user: User, filename: str, raw: bytes) -> ImportReport:
    """Check and load an uploaded template for ``user``; all or nothing.

    Organisation users get their own listings only (see the module docstring); the
    report's errors name the spreadsheet row (the header is row 1) and column.
    """
    admin = user.role == "admin"
    feed = parse_upload(
        filename,
        raw,
        Geocoder(postcodes=store, places=store),
        known_organisations=stored_organisations(store) if admin else None,
        key_by_organisation=admin,  # else the column is ignored: it must key no row either
    )
    if not admin:
        feed = _for_organisation(store, user, feed)
    report = run_import(store, feed, actor=user.id)
    if feed.holds and (report.inserted or report.updated):
        report.warnings.extend(_held_warnings(store, user, feed.holds))
    if report.ids:
        # The store-level duplicate check, as the command line runs it: warns, never blocks.
        from geo_assets.duplicates import import_duplicate_warnings

        report.warnings.extend(import_duplicate_warnings(store, report.ids))
    return report


def _for_organisation(store: Store, user: User, feed: ParsedFeed) -> ParsedFeed:
    """The feed with every record moved under ``user``'s organisation and checked by
    ``authorise_asset_write``; records it refuses become row errors."""
    own = user.organisation_id
    assert own is not None  # User guarantees it for the organisation role
    source = organisation_source(own)
    stored = {
        a.source_id: a
        for a in iter_assets(store, AssetFilters(organisation_id=own))
        if a.source == source and a.source_id is not None
    }
    keyed_before = _by_name_and_postcode(stored)
    waiting = {h.asset_id: h for h in store.list_held_changes(organisation_id=own)}
    records: list[tuple[int, Asset | dict[str, Any]]] = []
    holds: dict[str, dict[str, Any]] = {}
    read_at: dict[str, int] = {}  # what was decided on: refused if it moves on before the load
    errors = list(feed.errors)
    for row, record in _as_assets(feed, errors):
        before = stored.get(record.source_id or "") or keyed_before.get(record.source_id or "")
        kept: dict[str, Any] = {"status": (before or record).status}
        if before is not None:
            kept |= _unwritable(before, record) | {"source_id": before.source_id}
        after = record.model_copy(update={"organisation_id": own, "source": source, **kept})
        try:
            after = authorise_asset_write(user, before, after)
        except PermissionDenied as exc:
            errors.append(RowError(row, "status", str(exc)))
            continue
        if before is not None:
            read_at[before.id] = before.version
            # What a moderator checked stays as published; the sheet's new values wait.
            _, held = split_for_review(user.role, before, after, dict.fromkeys(REVIEWED_FIELDS))
            after = after.model_copy(update={f: getattr(before, f) for f in held})
            proposed = proposals(before, waiting.get(before.id), held)
            if proposed:
                holds[before.id] = proposed
        records.append((row, after))
    warnings = list(feed.warnings)
    if feed.organisations:
        warnings.append(
            "the `organisation` column is ignored: every row is listed under your organisation"
        )
    return ParsedFeed(
        records=records, errors=errors, warnings=warnings, holds=holds, read_at=read_at
    )


def _by_name_and_postcode(stored: dict[str, Asset]) -> dict[str, Asset]:
    """Listings whose made-up key has an organisation's name first ("a-trust/knit/"), as
    uploads made it before the column was ignored, by the key an upload makes now
    ("/knit/"); a key two listings would share is left out (which one is it?)."""
    found: dict[str, list[Asset]] = {}
    for key, asset in stored.items():
        organisation, _, rest = key.partition("/")
        if organisation and rest.count("/") == 1:
            found.setdefault("/" + rest, []).append(asset)
    return {key: assets[0] for key, assets in found.items() if len(assets) == 1}


def _unwritable(before: Asset, record: Asset) -> dict[str, Any]:
    """What a row that updates ``before`` keeps of it: its id, its merge history, and
    what the template has no column for, which the row would otherwise clear: notes on
    who it is for; each session's dates and notes (a session the row still lists, by
    day and time); and, while the point stays where it was, its venue and the shape of
    its grounds."""
    location = record.location
    kept: dict[str, Any] = {"id": before.id, "merged_from": before.merged_from}
    if (location.lat, location.lon) == (before.location.lat, before.location.lon):
        kept["venue_id"] = record.venue_id or before.venue_id
        if location.footprint is None and before.location.footprint is not None:
            kept["location"] = location.model_copy(update={"footprint": before.location.footprint})
    if record.eligibility.notes is None and before.eligibility.notes is not None:
        kept["eligibility"] = record.eligibility.model_copy(
            update={"notes": before.eligibility.notes}
        )
    stored = {_when(s): s for s in before.sessions}
    kept["sessions"] = [_with_extras(s, stored.get(_when(s))) for s in record.sessions]
    return kept


def _when(session: Session) -> tuple[Any, ...]:
    return (
        tuple(session.weekdays),
        session.start,
        session.end,
        session.frequency,
        tuple(session.weeks_of_month or ()),
    )


def _with_extras(session: Session, stored: Session | None) -> Session:
    """``session`` with the dates and notes of the ``stored`` one it repeats, where it
    has none of its own."""
    if stored is None:
        return session
    extras = {
        k: getattr(stored, k)
        for k in ("valid_from", "valid_to", "notes")
        if getattr(session, k) is None
    }
    return session.model_copy(update=extras)


def _as_assets(feed: ParsedFeed, errors: list[RowError]) -> Iterator[tuple[int, Asset]]:
    """The feed's records as assets; records that are not valid add their row errors."""
    for row, record in feed.records:
        if isinstance(record, Asset):
            yield row, record
            continue
        try:
            yield row, Asset.model_validate(record)
        except ValidationError as exc:
            errors.extend(row_errors(row, exc))


def _held_warnings(store: Store, user: User, holds: dict[str, dict[str, Any]]) -> list[str]:
    """What the upload's organisation must know of its changes held for review."""
    held = store.list_held_changes(organisation_id=user.organisation_id)
    waiting = [h for h in held if h.asset_id in holds]
    if not waiting:
        return []
    fields = sorted({FIELD_LABELS[f] for h in waiting for f in h.fields()})
    many = len(waiting) != 1
    return [
        f"changes to the {', '.join(fields)} of {len(waiting)} "
        f"listing{'s' if many else ''} a moderator checked wait for a moderator; "
        f"{'they keep their' if many else 'it keeps its'} checked version until then"
    ]
