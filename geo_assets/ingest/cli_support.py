"""What ``geo-assets import/export FORMAT PATH`` do, apart from argument parsing.

Kept out of ``cli.py`` so the command module stays small and imports stay lazy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo_assets.errors import InvalidInputError
from geo_assets.geocode import Geocoder
from geo_assets.ingest import FORMATS, GEOCODED_FORMATS
from geo_assets.ingest.base import ImportReport, run_import
from geo_assets.store.base import AssetFilters, Store, invalid_input, paused_gc

# Show a progress bar only when there is enough to wait for.
_BAR_FROM_RECORDS = 2_000


def _format(fmt: str) -> tuple:  # type: ignore[type-arg]
    try:
        return FORMATS[fmt]
    except KeyError:
        raise InvalidInputError(
            f"`FORMAT` must be one of {sorted(FORMATS)}, not {fmt!r}", field="format"
        ) from None


def import_file(
    store: Store,
    fmt: str,
    path: Path,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    source: str | None = None,
    actor: str | None = None,
    console: Console | None = None,
) -> bool:
    """Parse, load and print the report; True when nothing was refused.

    The cyclic garbage collector stays off from reading to loading: between the two
    steps it would otherwise walk every parsed record once more (seconds at 100,000);
    the records are dropped before it comes back on, for the same reason.
    """
    console = console or Console(stderr=True)
    with paused_gc():
        parse, _ = _format(fmt)
        options: dict[str, Any] = {}
        if fmt in GEOCODED_FORMATS:
            options["geocoder"] = Geocoder(postcodes=store, places=store)
        if fmt in ("csv", "xlsx"):  # a sheet names organisations: the stored ones first
            from geo_assets.ingest.spreadsheet import stored_organisations

            options["known_organisations"] = stored_organisations(store)
        with console.status(f"reading {path}"):
            feed = parse(path, **options)
        records = list(feed.records)
        feed.records = records
        if len(records) >= _BAR_FROM_RECORDS and console.is_terminal:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("checking", total=len(records))
                report = run_import(
                    store,
                    feed,
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                    source=source,
                    actor=actor,
                    progress=lambda done, total: bar.update(
                        task,
                        completed=done,
                        total=total,
                        # Checking ends at the total; the load then runs in one transaction.
                        description="writing" if done == total else "checking",
                    ),
                )
        else:
            report = run_import(
                store, feed, dry_run=dry_run, skip_invalid=skip_invalid, source=source, actor=actor
            )
        # Freed now, the parsed records leave the collector's lists; kept to the end, the
        # first collection after the pause would walk them all (4 s at 100,000 services).
        del feed, records
    if report.ids and not report.dry_run:
        # The store-level duplicate check: warns in the report, never blocks the import.
        from geo_assets.duplicates import import_duplicate_warnings

        with console.status("checking for duplicates"):
            report.warnings.extend(import_duplicate_warnings(store, report.ids))
    print_report(report, console)
    return report.ok


def print_report(report: ImportReport, console: Console) -> None:
    console.print(report.render())


def export_file(
    store: Store,
    fmt: str,
    path: Path,
    *,
    categories: list[str] | None = None,
    statuses: list[str] | None = None,
) -> int:
    """Write the store's assets (optionally filtered) to ``path``; returns how many."""
    _, export = _format(fmt)
    try:
        filters = AssetFilters.model_validate(
            {"categories": categories or None, "statuses": statuses or None}
        )
    except ValidationError as exc:
        raise invalid_input(exc) from exc
    return int(export(store, path, filters=filters))
