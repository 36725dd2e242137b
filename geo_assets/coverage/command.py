"""The ``geo-assets coverage`` command: access to a category from every demand unit.

Registered on the main CLI in ``geo_assets/cli.py``; the heavy imports (numpy, h3,
geopandas, matplotlib) happen inside the command, so other commands start fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from geo_assets.errors import InvalidInputError

MEASURE_HELP = (
    "Headline measure: nearest (minutes), cumulative (assets within reach), 2sfca, "
    "e2sfca (Luo & Qi step weights) or g2sfca (Gaussian)."
)


def coverage(
    ctx: typer.Context,
    category: Annotated[
        list[str],
        typer.Option(
            help="Category id (see `geo-assets taxonomy`); narrower terms count. Repeatable."
        ),
    ],
    mode: Annotated[
        str, typer.Option(help="walk, cycle, public_transport, car or wheelchair.")
    ] = "walk",
    minutes: Annotated[
        float, typer.Option(min=0.1, max=240, help="Travel-time threshold in minutes.")
    ] = 20.0,
    measure: Annotated[str, typer.Option(help=MEASURE_HELP)] = "e2sfca",
    resolution: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=15,
            help="H3 resolution of the demand cells (default 8); with --demand polygons, "
            "spread their population over cells of this resolution (points stay points).",
        ),
    ] = None,
    demand: Annotated[
        Path | None,
        typer.Option(
            help="Demand units: GeoJSON/GeoPackage polygons or a CSV (h3, lat/lon or wkt "
            "column) with population. Default: the synthetic Bradford population."
        ),
    ] = None,
    population_column: Annotated[
        str | None, typer.Option(help="Population column of --demand.")
    ] = None,
    need_column: Annotated[
        str | None, typer.Option(help="Need-weight column of --demand (default: need 1).")
    ] = None,
    gap: Annotated[
        str,
        typer.Option(
            help="Gap definition: no_asset (none within the threshold) or below_percentile."
        ),
    ] = "no_asset",
    percentile: Annotated[
        float, typer.Option(help="Access percentile for --gap below_percentile.")
    ] = 20.0,
    sites: Annotated[
        int, typer.Option(min=0, max=100, help="Suggest this many new sites (greedy MCLP).")
    ] = 0,
    candidates: Annotated[
        str,
        typer.Option(help="Candidate sites: cells, venues (without the category) or a file."),
    ] = "cells",
    network: Annotated[
        Path | None,
        typer.Option(help="An OpenStreetMap .osm.pbf extract: travel on streets."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the result: .gpkg, .geojson or .csv.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Write the access-distribution chart (PNG).")
    ] = None,
    top: Annotated[int, typer.Option(min=0, max=1000, help="Gaps to list.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary, gaps and sites as JSON.")
    ] = False,
) -> None:
    """Who can reach a category, where access is missing, where a new venue would help.

    Uses the published assets in the store, demand per H3 cell (or your areas) and
    straight-line travel times (or the street network with --network).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from geo_assets.cli import _open
    from geo_assets.coverage import analysis
    from geo_assets.coverage.demand import load_demand
    from geo_assets.coverage.gaps import GapDefinition
    from geo_assets.coverage.service import check_categories, run_coverage

    check_categories(category)  # unknown ids fail here, before any work
    params = analysis.CoverageParams(
        categories=tuple(category),
        mode=mode,
        minutes=minutes,
        measure=measure,
        gap=GapDefinition(kind=gap, percentile=percentile),  # type: ignore[arg-type]
        travel="network" if network else "straight_line",
    )
    if out is not None and out.suffix.lower() not in analysis.OUTPUT_SUFFIXES:
        raise InvalidInputError(
            f"`--out` must end in one of {list(analysis.OUTPUT_SUFFIXES)}", field="out"
        )
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        step = bar.add_task("demand units", total=None)

        def stage(description: str) -> None:
            bar.update(step, description=description, completed=0, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(step, completed=done, total=total)

        units = load_demand(demand, resolution, population_column, need_column)
        travel = _travel(network, mode)
        with _open(ctx) as store:
            run = run_coverage(
                store,
                params,
                demand=units,
                candidates=candidates,
                travel=travel,
                progress=advance,
                step=stage,
            )
        result = run.result
        suggestion = None
        if sites:
            stage("site suggestion")
            suggestion = run.suggest(sites, progress=advance)
        stage("writing")
        if out is not None:
            analysis.write_result(
                result, out, sites=None if suggestion is None else suggestion.table
            )
        if chart is not None:
            from geo_assets.coverage.chart import access_chart

            access_chart(result, chart)
    _report(result, suggestion, top, as_json, out, chart)


def _travel(network: Path | None, mode: str) -> Any:
    if network is None:
        return None
    from geo_assets.network import NetworkTravel

    return NetworkTravel.from_pbf(network, modes=(mode,))


def _report(
    result: Any, suggestion: Any, top: int, as_json: bool, out: Path | None, chart: Path | None
) -> None:
    s = result.summary
    gaps = result.gaps(top)
    if as_json:
        payload = {
            "summary": s,
            "gaps": json.loads(gaps.drop(columns=["lack"]).to_json(orient="records")),
            "sites": None
            if suggestion is None
            else json.loads(suggestion.table.to_json(orient="records")),
        }
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    p = result.params
    console.print(
        f"[bold]{', '.join(p.categories)}[/bold] by {p.mode} within {p.minutes:g} min: "
        f"{s['pct_population_within']:.1f}% of {s['population']:,.0f} people "
        f"({s['pct_need_within']:.1f}% weighted by need); {s['assets']} assets, "
        f"{s['units']} units, {s['pairs']:,} pairs in reach"
    )
    if len(gaps) and top:
        table = Table(title=f"Worst gaps ({p.gap.kind})")
        for column in ("#", "unit", "population", "need", "nearest min", p.measure, "score"):
            table.add_column(column, justify="right")
        for row in gaps.itertuples():
            table.add_row(
                str(row.gap_rank),
                str(row.id),
                f"{row.population:,.0f}",
                f"{row.need:.2f}",
                "-" if row.nearest_min == float("inf") else f"{row.nearest_min:.1f}",
                f"{row.access:.3g}",
                f"{row.gap_score:,.0f}",
            )
        console.print(table)
    if suggestion is not None and not len(suggestion.table):
        console.print("No new site would bring anyone more within reach.")
    elif suggestion is not None:
        table = Table(title="Suggested new sites (greedy maximal covering)")
        for column in ("#", "site", "lat", "lon", "new people", "new people x need"):
            table.add_column(column, justify="right")
        for row in suggestion.table.itertuples():
            table.add_row(
                str(row.rank),
                str(row.name),
                f"{row.lat:.5f}",
                f"{row.lon:.5f}",
                f"{row.new_population:,.0f}",
                f"{row.new_need:,.0f}",
            )
        console.print(table)
    for path in (out, chart):
        if path is not None:
            console.print(f"wrote {path}")
