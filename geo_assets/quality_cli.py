"""Data-quality commands: ``duplicates``, ``merge``, ``stale``, ``confirm`` and the
geocoder's ``import postcodes`` / ``import places``.

Registered on the main CLI by :func:`register` (called at the end of ``cli.py``); the
store helpers come from ``geo_assets.cli`` when a command runs, so importing this module
costs nothing at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

EXIT_BAD_INPUT = 2


def _cli() -> Any:
    from geo_assets import cli

    return cli


def duplicates(
    ctx: typer.Context,
    min_score: Annotated[
        float,
        typer.Option(
            "--min-score", min=0.0, max=1.0, help="Report pairs scoring this or more (0-1)."
        ),
    ] = 0.8,
    max_distance: Annotated[
        float,
        typer.Option("--max-distance", min=1.0, max=10_000.0, help="Farthest apart, in metres."),
    ] = 150.0,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many pairs.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """List likely duplicate listings (published and pending), best first, with reasons."""
    from geo_assets.duplicates import find_duplicates

    with _cli()._open(ctx) as store:
        pairs = find_duplicates(store, min_score=min_score, max_distance_m=max_distance)
    shown = pairs[:limit]
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in shown], indent=2, ensure_ascii=False))
        return
    if not pairs:
        typer.echo(f"no likely duplicates (score >= {min_score})")
        return
    for p in shown:
        typer.echo(f"{p.score:.2f}  keep {p.a.id} {p.a.name!r}")
        typer.echo(f"      drop {p.b.id} {p.b.name!r}")
        typer.echo(f"      {'; '.join(p.reasons)}")
    more = f" (showing {len(shown)})" if len(shown) < len(pairs) else ""
    typer.echo(
        f"{len(pairs)} likely duplicate pair(s){more}; merge with `geo-assets merge KEEP DROP`"
    )


def merge(
    ctx: typer.Context,
    keep_id: Annotated[str, typer.Argument(help="The listing to keep.")],
    drop_id: Annotated[str, typer.Argument(help="The duplicate: merged in, then archived.")],
) -> None:
    """Merge a duplicate listing into the one to keep, then archive the duplicate.

    The kept listing's empty fields are filled from the duplicate, and the duplicate's
    id and source are recorded in its `merged_from`.
    """
    from geo_assets.duplicates import merge as run_merge

    cli = _cli()
    with cli._open(ctx) as store:
        kept, dropped = run_merge(store, keep_id, drop_id, actor=cli._cli_actor())
    typer.echo(
        f"merged {dropped.id} ({dropped.name}) into {kept.id} ({kept.name}); "
        f"{dropped.id} is archived"
    )


def stale(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Option("--org", help="Only this organisation's listings.")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Stale after this many days without confirmation. "
            "Default: the stale_after_days setting (GEO_ASSETS_STALE_AFTER_DAYS, 180).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """List published and pending listings nobody has confirmed lately, per organisation."""
    from geo_assets.errors import NotFoundError
    from geo_assets.freshness import stale_assets, stale_days

    threshold = stale_days(days if days is not None else _cli()._settings(ctx).stale_after_days)
    with _cli()._open(ctx) as store:
        groups = stale_assets(store, org, stale_after_days=threshold)
        names: dict[str | None, str] = {None: "(no organisation)"}
        for org_id in groups:
            if org_id is not None:
                try:
                    names[org_id] = store.get_organisation(org_id).name
                except NotFoundError:
                    names[org_id] = "(unknown organisation)"
    order = sorted(groups, key=lambda o: (o is None, names[o].casefold(), o or ""))
    if as_json:
        out = [
            {
                "organisation_id": o,
                "organisation_name": None if o is None else names[o],
                "stale_after_days": threshold,
                "assets": [s.as_dict() for s in groups[o]],
            }
            for o in order
        ]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    total = sum(len(v) for v in groups.values())
    if not total:
        typer.echo(f"no stale listings (all confirmed within {threshold} days)")
        return
    for o in order:
        typer.echo(f"{names[o]}{'' if o is None else f' ({o})'}: {len(groups[o])} stale")
        for s in groups[o]:
            when = (
                f"{int(s.days_since_verified)} days ago"
                if s.days_since_verified is not None
                else "never"
            )
            typer.echo(f"  {s.asset.id}  {s.asset.name}  (last confirmed {when})")
    typer.echo(
        f"{total} stale listing(s) not confirmed within {threshold} days; "
        "confirm one with `geo-assets confirm ASSET_ID`"
    )


def confirm(
    ctx: typer.Context,
    asset_id: Annotated[str, typer.Argument(help="The listing that is still running.")],
) -> None:
    """Record that a listing is still running (sets last_verified_at to now)."""
    from geo_assets.freshness import confirm_still_running

    cli = _cli()
    with cli._open(ctx) as store:
        asset = confirm_still_running(store, asset_id, actor=cli._cli_actor())
    assert asset.last_verified_at is not None
    typer.echo(
        f"{asset.id} ({asset.name}) confirmed still running at {asset.last_verified_at.isoformat()}"
    )


def _table_import(table: str) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="The file to read.")],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Check everything, write nothing.")
        ] = False,
        skip_invalid: Annotated[
            bool, typer.Option("--skip-invalid", help="Load the valid rows, report the others.")
        ] = False,
    ) -> None:
        from rich.console import Console

        from geo_assets.ingest.gazetteer import import_places, import_postcodes

        load = import_postcodes if table == "postcodes" else import_places
        with _cli()._open(ctx) as store:
            report = load(store, path, dry_run=dry_run, skip_invalid=skip_invalid)
        Console(stderr=True).print(report.render())
        if not report.ok:
            raise typer.Exit(EXIT_BAD_INPUT)

    command.__doc__ = (
        "Load postcodes for the geocoder from an ONS Postcode Directory-style CSV "
        "(pcds or pcd, lat, long columns)."
        if table == "postcodes"
        else "Load place names for the geocoder from a CSV (name, lat, lon, kind) "
        "or an OpenStreetMap .osm.pbf extract."
    )
    return command


def register(app: typer.Typer, import_app: typer.Typer, reported: Callable[[Any], Any]) -> None:
    """Add the commands to the main CLI (``reported`` turns our errors into exit codes)."""
    app.command("duplicates")(reported(duplicates))
    app.command("merge")(reported(merge))
    app.command("stale")(reported(stale))
    app.command("confirm")(reported(confirm))
    import_app.command("postcodes")(reported(_table_import("postcodes")))
    import_app.command("places")(reported(_table_import("places")))
