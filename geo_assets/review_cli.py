"""``geo-assets review``: changes held for a moderator (``geo_assets.review``) from the
command line: what waits, one listing's or organisation's proposal beside what is
published, and a decision on the revision read.

For an admin without the web pages (a clinic's laptop, a script). The decisions are the
store's, as on the moderation queue: one audited transaction each (the audit log names
``cli:<login name>``), refused when the organisation proposed more since the revision
given. Registered on the main CLI by :func:`register`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from geo_assets.errors import NotFoundError
from geo_assets.review import AnyHeld, HeldOrganisationChanges

review_app = typer.Typer(
    help="Changes organisations made to checked listings and to their own details, held "
    "for review: list, show, approve, reject.",
    no_args_is_help=True,
)

OrganisationFlag = Annotated[
    bool,
    typer.Option(
        "--organisation", help="The id is an organisation's (its own details), not a listing's."
    ),
]
Revision = Annotated[
    int, typer.Option("--revision", min=1, help="The revision you read (see `review show`).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")]


def _cli() -> Any:
    from geo_assets import cli

    return cli


def _name(store: Any, held: AnyHeld) -> str:
    """The name of the listing or organisation ``held`` waits on."""
    organisation = isinstance(held, HeldOrganisationChanges)
    try:
        record = (store.get_organisation if organisation else store.get_asset)(held.record_id)
    except NotFoundError:  # removed since the list was read
        return "?"
    return str(record.name)


def _summary(held: AnyHeld, name: str) -> dict[str, Any]:
    return {
        "kind": "organisation" if isinstance(held, HeldOrganisationChanges) else "listing",
        "id": held.record_id,
        "name": name,
        "fields": held.fields(),
        "revision": held.revision,
        "proposed_at": held.proposed_at.isoformat(),
        "proposed_by": held.proposed_by,
    }


def review_list(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List every listing and organisation with changes awaiting review, the
    longest-waiting first."""
    with _cli()._open(ctx) as store:
        waiting: list[AnyHeld] = [*store.list_held_changes()]
        waiting += store.list_held_organisation_changes()
        waiting.sort(key=lambda h: (h.proposed_at, h.record_id))
        rows = [_summary(h, _name(store, h)) for h in waiting]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no changes await review")
        return
    for row in rows:
        typer.echo(
            f"{row['kind']:<12} {row['id']}  {row['name']!r}  revision {row['revision']}: "
            f"{', '.join(row['fields'])} (since {row['proposed_at'][:16]}, by {row['proposed_by']})"
        )
    typer.echo(
        f"{len(rows)} awaiting review; see one with `geo-assets review show ID` "
        "(add --organisation for an organisation's details)"
    )


def _held(store: Any, record_id: str, organisation: bool) -> tuple[Any, AnyHeld]:
    """The record and what waits on it (NotFoundError when nothing does)."""
    if organisation:
        record, held = (
            store.get_organisation(record_id),
            store.get_held_organisation_changes(record_id),
        )
    else:
        record, held = store.get_asset(record_id), store.get_held_changes(record_id)
    if held is None:
        kind = "organisation" if organisation else "asset"
        raise NotFoundError(f"held changes for {kind}", record_id)
    return record, held


def review_show(
    ctx: typer.Context,
    record_id: Annotated[str, typer.Argument(help="The listing's (or organisation's) id.")],
    organisation: OrganisationFlag = False,
    as_json: AsJson = False,
) -> None:
    """Show the changes awaiting review on one listing (or organisation), each field's
    published value beside the proposed one."""
    with _cli()._open(ctx) as store:
        record, held = _held(store, record_id, organisation)
    published = record.model_dump(mode="json")
    fields = {f: {"published": published[f], "proposed": held.changes[f]} for f in held.fields()}
    if as_json:
        out = {**_summary(held, record.name), "changes": fields}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{record.name!r} ({record_id}), revision {held.revision}")
    typer.echo(f"proposed by {held.proposed_by} since {held.proposed_at.isoformat()}")
    for f, pair in fields.items():
        typer.echo(f"  {f}:")
        typer.echo(f"    published: {json.dumps(pair['published'], ensure_ascii=False)}")
        typer.echo(f"    proposed:  {json.dumps(pair['proposed'], ensure_ascii=False)}")
    flag = " --organisation" if organisation else ""
    typer.echo(
        f"decide with `geo-assets review approve {record_id}{flag} --revision {held.revision}`"
        " (or `reject`)"
    )


def _decide(
    ctx: typer.Context, record_id: str, organisation: bool, revision: int, approve: bool
) -> None:
    cli = _cli()
    with cli._open(ctx) as store:
        resolve = (
            store.resolve_held_organisation_changes if organisation else store.resolve_held_changes
        )
        record = resolve(record_id, approve=approve, revision=revision, actor=cli._cli_actor())
    verb = "approved" if approve else "rejected"
    typer.echo(f"{verb} revision {revision} of the changes to {record.name!r} ({record_id})")


def review_approve(
    ctx: typer.Context,
    record_id: Annotated[str, typer.Argument(help="The listing's (or organisation's) id.")],
    revision: Revision,
    organisation: OrganisationFlag = False,
) -> None:
    """Make the changes at the revision you read; refused if more was proposed since."""
    _decide(ctx, record_id, organisation, revision, approve=True)


def review_reject(
    ctx: typer.Context,
    record_id: Annotated[str, typer.Argument(help="The listing's (or organisation's) id.")],
    revision: Revision,
    organisation: OrganisationFlag = False,
) -> None:
    """Drop the changes at the revision you read: the published version stays."""
    _decide(ctx, record_id, organisation, revision, approve=False)


def register(app: typer.Typer, reported: Any) -> None:
    """Add ``review`` to the main CLI (``reported`` turns our errors into exit codes)."""
    review_app.command("list")(reported(review_list))
    review_app.command("show")(reported(review_show))
    review_app.command("approve")(reported(review_approve))
    review_app.command("reject")(reported(review_reject))
    app.add_typer(review_app, name="review")
