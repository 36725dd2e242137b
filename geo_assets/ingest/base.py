"""The import pipeline every format shares: parsed feed in, one all-or-nothing load out.

A parser turns a file into a :class:`ParsedFeed` (organisations, numbered records and the
problems it met while reading); :func:`run_import` validates every record, then writes
organisations and assets, or nothing.

Transactions
------------
Assets go through ``store.bulk_upsert``, which is one transaction and all or nothing.
The store has no transaction that spans organisations *and* assets, so organisations are
written only after every record has passed validation (the model rules, references to
organisations, repeated keys): a file with any bad row writes nothing at all. Should the
asset load still fail in the database (say, a concurrent writer took an id), the
organisations this import created are removed again with ``store.delete_organisation``
where the store offers it; otherwise the report says which ones remain.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from geo_assets.audience import audience_hints
from geo_assets.errors import BulkValidationError, NotFoundError, RowError
from geo_assets.geodesy import WGS84
from geo_assets.model import Asset, Organisation
from geo_assets.store.base import (
    BulkCollector,
    Store,
    iter_organisations,
    paused_gc,
    row_errors,
)
from geo_assets.store.gazetteer import normalise_postcode

#: ``progress(done, total)``: records handled so far and the total (None when unknown).
Progress = Callable[[int, int | None], None]
# Call the progress callback once per this many records.
_PROGRESS_EVERY = 500
# Passes of --skip-invalid that drop rows the database refused and try again.
_MAX_DB_RETRIES = 3
#: A point within this many metres of its own postcode's centre, in a feed that does not
#: say how its points were found, is read as placed by that postcode (centres are
#: published to 6 decimals of a degree, about 0.1 m).
POSTCODE_CENTRE_M = 1.0


@dataclass
class ParsedFeed:
    """What a parser read from one file.

    ``records`` pairs each record with its number in the SOURCE file (1-based; for CSV
    the spreadsheet row including the header, so people can find it). ``errors`` are the
    problems met while parsing; a RowError's ``field`` names the column or JSON path.
    ``warnings`` are notes that do not stop an import (e.g. "read as cp1252").
    ``provenance`` keeps source attributes the Asset model has no field for (e.g. the
    OSM tags of each feature), keyed by ``source_id``. ``precision_given`` is False for a
    file with no field for how its points were found (HSDS, a GeoJSON without
    ``location_precision``): see :func:`read_postcode_centres`. ``holds`` are changes to
    stored listings to hold for review rather than load, by asset id (an organisation's
    upload: ``geo_assets.review``), decided on the versions in ``read_at``.
    """

    organisations: list[Organisation] = field(default_factory=list)
    records: Iterable[tuple[int, dict[str, Any] | Asset]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)
    precision_given: bool = True
    holds: dict[str, dict[str, Any]] = field(default_factory=dict)
    read_at: dict[str, int] = field(default_factory=dict)
    # Organisations records name but the feed does not hold: our id as read -> (source,
    # the feed's id), to find the stored one as the feed's own organisations are found.
    organisation_refs: dict[str, tuple[str | None, str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    """The outcome of one import. With ``dry_run`` nothing was written and ``valid``
    counts the records that would have been."""

    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    organisations_created: int = 0
    valid: int = 0
    warnings: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every record was good (nothing was refused)."""
        return not self.errors

    @property
    def written(self) -> bool:
        return (self.inserted + self.updated + self.organisations_created) > 0

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if self.dry_run:
            head = f"dry run: {self.valid} valid record(s), nothing written"
        elif self.errors and not self.written and not self.skipped:
            head = "import refused, nothing written"
        else:
            head = (
                f"{self.inserted} inserted, {self.updated} updated, "
                f"{self.organisations_created} organisation(s) created"
            )
        tail = f"; {len(self.errors)} problem(s)" if self.errors else ""
        if self.skipped:
            tail += f"; {self.skipped} record(s) skipped"
        return head + tail

    def render(self, *, max_rows: int = 200) -> Any:
        """A rich renderable: the summary, then a table of row, field, problem."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        parts: list[Any] = [Text(self.summary(), style="bold red" if self.errors else "bold")]
        parts.extend(Text(f"warning: {w}", style="yellow") for w in self.warnings)
        if self.errors:
            table = Table("row", "field", "problem", title="Problems", title_justify="left")
            for err in self.errors[:max_rows]:
                table.add_row(str(err.row) if err.row else "(file)", err.field, err.message)
            parts.append(table)
            if len(self.errors) > max_rows:
                parts.append(Text(f"... and {len(self.errors) - max_rows} more"))
        return Group(*parts)


def run_import(
    store: Store,
    feed: ParsedFeed,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
    source: str | None = None,
) -> ImportReport:
    """Validate a parsed feed and load it; all or nothing unless ``skip_invalid``.

    Parameters
    ----------
    store : the store to write to.
    feed : what a ``parse_<format>`` function returned.
    dry_run : validate and report, write nothing.
    skip_invalid : load the valid records and report the bad ones (otherwise any
        problem means nothing is written).
    actor : user id recorded in the audit log.
    progress : called as ``progress(done, total)`` while records are checked and loaded.
    source : when given, replaces the ``source`` of every record and organisation (the
        CLI's ``--source``); records are keyed by (source, source_id), so re-importing
        the same file under the same source updates rather than duplicates.
    """
    with paused_gc():
        return _run_import(store, feed, dry_run, skip_invalid, actor, progress, source)


def _run_import(
    store: Store,
    feed: ParsedFeed,
    dry_run: bool,
    skip_invalid: bool,
    actor: str | None,
    progress: Progress | None,
    source: str | None,
) -> ImportReport:
    report = ImportReport(dry_run=dry_run, warnings=list(feed.warnings))
    errors = list(feed.errors)
    orgs = [_with_source(o, source) for o in feed.organisations]
    keys = {o.id: (o.source, o.source_id) for o in orgs}
    keys |= {i: (source or s, hid) for i, (s, hid) in feed.organisation_refs.items()}
    moved = _settle_organisations(store, keys)
    orgs = [o.model_copy(update={"id": moved[o.id]}) if o.id in moved else o for o in orgs]
    org_ids = {o.id for o in orgs}
    known_orgs: dict[str, bool] = {}
    records = list(feed.records)
    total = len(records)
    collector = BulkCollector()
    good: list[tuple[int, Asset]] = []
    bad_rows = {e.row for e in errors}
    for i, (row, record) in enumerate(records, start=1):
        asset, problems = _validate(row, record, source)
        if asset is not None and asset.organisation_id in moved:
            asset = asset.model_copy(update={"organisation_id": moved[asset.organisation_id]})
        if asset is not None:
            org_id = asset.organisation_id
            if org_id is not None and org_id not in org_ids:
                if org_id not in known_orgs:
                    known_orgs[org_id] = _org_exists(store, org_id)
                if not known_orgs[org_id]:
                    problems.append(
                        RowError(row, "organisation_id", f"no organisation with id {org_id!r}")
                    )
            if not problems:
                kept = collector.accept(row, asset)
                problems.extend(collector.errors)
                collector.errors.clear()
                if kept is not None and row not in bad_rows:
                    good.append((row, kept))
        errors.extend(problems)
        bad_rows.update(e.row for e in problems)
        if progress is not None and (i % _PROGRESS_EVERY == 0 or i == total):
            progress(i, total)
    errors.sort(key=lambda e: e.row)
    report.errors = errors
    good = [(row, a) for row, a in good if row not in bad_rows]
    report.valid = len(good)
    if not feed.precision_given:
        good = read_postcode_centres(store, good, report)
    report.warnings.extend(audience_warnings(good))
    if dry_run or (errors and not skip_invalid):
        return report
    report.skipped = len(bad_rows - {0})  # row 0: a problem with the whole file
    used = {a.organisation_id for _, a in good}
    created = _create_organisations(store, [o for o in orgs if o.id in used], actor)
    report.organisations_created = len(created)
    try:
        loaded = _load(store, good, report, actor, skip_invalid, feed)
    except BaseException:
        report.warnings.extend(_undo_organisations(store, created))
        report.organisations_created = 0
        raise
    if not loaded:  # the store refused the load: nothing of this import may remain
        report.warnings.extend(_undo_organisations(store, created))
        report.organisations_created = 0
    if progress is not None:
        progress(total, total)
    return report


def read_postcode_centres(
    store: Store, good: list[tuple[int, Asset]], report: ImportReport
) -> list[tuple[int, Asset]]:
    """Mark as placed by postcode the listings whose point is their own postcode's centre
    (within ``POSTCODE_CENTRE_M``, by the store's postcode table).

    For feeds that do not say how a point was found: directories often place a listing
    by its postcode, and one read as a door would hide that its pin may be hundreds of
    metres out. Marked, it wears the "pin at the postcode's centre" badge, and the
    duplicate check looks farther around it. One table look-up for the whole feed.
    """
    wanted = [a.location.postcode for _, a in good if a.location.precision == "point"]
    centres = store.find_postcodes(p for p in wanted if p)
    if not centres:
        return good
    out, marked = [], 0
    for row, asset in good:
        loc = asset.location
        centre = centres.get(normalise_postcode(loc.postcode)) if loc.postcode else None
        if loc.precision == "point" and centre is not None:
            _, _, metres = WGS84.inv(loc.lon, loc.lat, centre.lon, centre.lat)
            if metres <= POSTCODE_CENTRE_M:
                moved = loc.model_copy(update={"precision": "postcode"})
                asset = asset.model_copy(update={"location": moved})
                marked += 1
        out.append((row, asset))
    if marked:
        report.warnings.append(
            f"{marked} listing(s) stand at their postcode's centre: read as placed by "
            "postcode, so their pins say so and the duplicate check looks farther around them"
        )
    return out


def audience_warnings(good: list[tuple[int, Asset]], most: int = 10) -> list[str]:
    """One warning naming the rows whose names say whom they are for where their
    eligibility does not (:mod:`geo_assets.audience`): imported as they are, since
    searches go by eligibility, the organisation should know."""
    found = [(row, a.name, hints) for row, a in good if (hints := audience_hints(a))]
    if not found:
        return []
    shown = "; ".join(
        f"row {row} “{name}”: {', '.join(hints)}" for row, name, hints in found[:most]
    )
    more = f"; and {len(found) - most} more" if len(found) > most else ""
    return [
        f"{len(found)} listing(s) have names that say whom they are for, but their "
        f"eligibility does not (searches go by eligibility): {shown}{more}"
    ]


def _validate(
    row: int, record: Mapping[str, Any] | Asset, source: str | None
) -> tuple[Asset | None, list[RowError]]:
    """The record as an Asset, or its problems numbered with the source row."""
    if isinstance(record, Asset):
        asset = record
        if source is not None and asset.source_id is not None:
            asset = asset.model_copy(update={"source": source})
    else:
        data = dict(record)
        if source is not None and data.get("source_id") is not None:
            data["source"] = source
        try:
            asset = Asset.model_validate(data)
        except ValidationError as exc:
            return None, row_errors(row, exc)
    if asset.source is None or asset.source_id is None:
        return None, [RowError(row, "source_id", "imports need `source` and `source_id`")]
    return asset, []


def _with_source(org: Organisation, source: str | None) -> Organisation:
    if source is None or org.source_id is None:
        return org
    return org.model_copy(update={"source": source})


# Ids derived for a feed's organisations whose own id a stored organisation of another
# provenance already has.
_ORG_NAMESPACE = uuid.UUID("0b7c6f4e-2d1a-5f3e-8c9b-7a6d5e4f3a21")


def _settle_organisations(
    store: Store, keys: Mapping[str, tuple[str | None, str | None]]
) -> dict[str, str]:
    """The ids the feed's organisations have in the store, where not the ids read
    (``keys``: each id read -> its (source, source_id)).

    An organisation a feed names, holding it or only referring to it, is the stored one
    of the same (source, source_id): what an earlier import of that feed made, whatever
    id it was given. A feed's id that a different organisation already has (two
    councils' feeds both numbering from 1; a feed naming an organisation of the
    portal's) is not that organisation: it gets an id of its own, derived from source and
    source_id, so the same on every import."""
    keyed = {i: k for i, k in keys.items() if k[0] is not None and k[1] is not None}
    if not keyed:
        return {}
    stored = list(iter_organisations(store))
    by_key = {(o.source, o.source_id): o.id for o in stored}
    taken = {o.id for o in stored}
    moved: dict[str, str] = {}
    for read_id, (source, source_id) in keyed.items():
        if (source, source_id) in by_key:
            ours = by_key[(source, source_id)]
        elif read_id not in taken:
            continue
        else:
            ours = uuid.uuid5(_ORG_NAMESPACE, f"{source}\x1f{source_id}").hex
        if ours != read_id:
            moved[read_id] = ours
    return moved


def _org_exists(store: Store, org_id: str) -> bool:
    try:
        store.get_organisation(org_id)
    except NotFoundError:
        return False
    return True


def _create_organisations(store: Store, orgs: list[Organisation], actor: str | None) -> list[str]:
    """Create the feed's organisations the store does not have yet; returns their ids.

    Organisations already stored (same id) are left as they are: an import never
    overwrites what an organisation maintains through the directory itself.
    """
    created = []
    for org in orgs:
        if _org_exists(store, org.id):
            continue
        store.create_organisation(org, actor=actor)
        created.append(org.id)
    return created


def _undo_organisations(store: Store, created: list[str]) -> list[str]:
    """Remove organisations this import created; warnings for any that must remain."""
    left = []
    for org_id in created:
        try:
            store.delete_organisation(org_id)
        except Exception:  # best effort: report rather than hide the original failure
            left.append(org_id)
    return [f"could not remove organisation {org_id!r} created by this import" for org_id in left]


def _load(
    store: Store,
    good: list[tuple[int, Asset]],
    report: ImportReport,
    actor: str | None,
    skip_invalid: bool,
    feed: ParsedFeed,
) -> bool:
    """bulk_upsert the valid records (holding the feed's ``holds`` of those loaded, as
    read at its ``read_at``), renumbering the store's errors to source rows.

    With ``skip_invalid``, rows the database refuses are dropped and the rest retried.
    Returns False when the store refused the load and nothing was written.
    """
    for _ in range(_MAX_DB_RETRIES):
        if not good:
            return True
        loading = {a.id for _, a in good}
        held = {i: h for i, h in feed.holds.items() if i in loading}
        read_at = {i: v for i, v in feed.read_at.items() if i in loading}
        try:
            result = store.bulk_upsert(
                [a for _, a in good], actor=actor, holds=held or None, read_at=read_at or None
            )
        except BulkValidationError as exc:
            rows = [r for r, _ in good]
            renumbered = [RowError(rows[e.row - 1], e.field, e.message) for e in exc.errors]
            report.errors = sorted(report.errors + renumbered, key=lambda e: e.row)
            if not skip_invalid:
                return False
            refused = {e.row for e in renumbered}
            report.skipped += len(refused)
            good = [(r, a) for r, a in good if r not in refused]
            continue
        report.inserted, report.updated, report.ids = result.inserted, result.updated, result.ids
        return True
    return False


# A zip (a workbook, a tabular HSDS package) may unpack to far more than its own size.
# Real ones unpack five to twenty times over; a "zip bomb" a thousand times.
MAX_UNPACKED_BYTES = 256 * 2**20
MAX_PACKED_PARTS = 1_000
MAX_PACKING_RATIO = 100
# A flat bitmap pasted into a workbook can pack 70 times over, and is never read here.
_NEVER_UNPACKED = (".bmp", ".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".emf", ".wmf")


def unpacked_problem(
    parts: Sequence[zipfile.ZipInfo], *, max_bytes: int = MAX_UNPACKED_BYTES
) -> str | None:
    """Why a zip with these ``parts`` is refused unread, or None: too many parts, too many
    bytes once unpacked, or a part packed tighter than real data packs."""
    unpacked = sum(part.file_size for part in parts)
    if len(parts) > MAX_PACKED_PARTS or unpacked > max_bytes:
        return (
            f"it would unpack to {unpacked / 2**20:,.0f} MiB in {len(parts):,} parts, more"
            f" than the {max_bytes / 2**20:,.0f} MiB and {MAX_PACKED_PARTS:,} parts allowed"
        )
    for part in parts:
        if part.filename.lower().endswith(_NEVER_UNPACKED):
            continue  # pictures in a workbook: nobody here unpacks them
        ratio = part.file_size // max(part.compress_size, 1)
        if part.file_size > 2**20 and ratio > MAX_PACKING_RATIO:
            return f"its part {part.filename!r} is packed {ratio:,} times over, as no data packs"
    return None
