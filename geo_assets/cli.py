"""The ``geo-assets`` command: taxonomy, schema upgrades, sample data and the web service.

Every command reads the store from ``--database-url`` or ``GEO_ASSETS_DATABASE_URL``
(default: the embedded SQLite file ``./geo_assets.sqlite``). Errors the library
raises on purpose are printed as one line on stderr; bad input exits with 2,
anything else (e.g. an unreachable database) with 1.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, Field, ValidationError

from geo_assets.auth import MAX_TOKEN_DAYS
from geo_assets.clock import set_time_zone
from geo_assets.errors import BulkValidationError, GeoAssetsError, InvalidInputError, error_message
from geo_assets.model import MAX_MATCH_LIMIT, utcnow
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from geo_assets.store.backup import backup_store, restore_store
from geo_assets.store.base import iter_pages
from geo_assets.taxonomy import default_taxonomy

# Imported by uvicorn in `serve`, by name, so this core package never imports the web layer.
APP_FACTORY = "api.app:create_app"
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# The pool logs every failed reconnect; a one-shot command reports the outcome once instead.
_POOL_LOGGER = logging.getLogger("psycopg.pool")

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="geo-assets",
    help="Community asset mapping for Connecting People practice.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
db_app = typer.Typer(
    help="The database: schema upgrades, backups and restores.", no_args_is_help=True
)
sample_app = typer.Typer(help="The demo data set (a mid-sized city).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sample_app, name="sample")


def _fail(exc: Exception) -> typer.Exit:
    """Print one line on stderr and pick the exit code (2 for bad input, 1 otherwise)."""
    if isinstance(exc, ValidationError):
        where, said = _first_error(exc)
        message = f"`{where or 'settings'}`: {said}"
    else:
        message = str(exc)
    typer.echo(f"error: {message}", err=True)
    bad_input = isinstance(exc, InvalidInputError | BulkValidationError | ValidationError)
    return typer.Exit(EXIT_BAD_INPUT if bad_input else EXIT_FAILED)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """Where the first error is (``children_ages.0``; "" for the model itself) and what it says."""
    err = exc.errors()[0]
    return ".".join(str(p) for p in err["loc"]), error_message(err)


def _reported(fn: F) -> F:
    """Turn expected failures (our errors, bad settings, files) into one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (GeoAssetsError, ValidationError, OSError) as exc:
            raise _fail(exc) from exc

    return wrapper  # type: ignore[return-value]


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@contextmanager
def _open(ctx: typer.Context) -> Iterator[Store]:
    settings = _settings(ctx)
    _POOL_LOGGER.setLevel(logging.ERROR)
    store = open_store(
        settings.database_url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
    )
    try:
        yield store
    finally:
        store.close()


@app.callback()
@_reported
def main(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="GEO_ASSETS_DATABASE_URL",
            show_envvar=True,
            help="sqlite:///path (embedded store) or postgresql://user@host/db (PostGIS). "
            "Default: sqlite:///./geo_assets.sqlite",
        ),
    ] = None,
) -> None:
    """Community asset mapping for Connecting People practice."""
    ctx.obj = Settings(database_url=database_url) if database_url else Settings()
    set_time_zone(ctx.obj.time_zone)


@app.command()
@_reported
def taxonomy(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print a JSON list of {id, name, parent_id, synonyms, five_ways}."
        ),
    ] = False,
) -> None:
    """Print the category tree (indented), or the whole taxonomy as JSON."""
    tree = default_taxonomy()
    if as_json:
        typer.echo(json.dumps(tree.as_records(), indent=2, ensure_ascii=False))
        return
    for term in tree:
        indent = "  " * tree.depth(term.id)
        ways = f"  [{', '.join(term.five_ways)}]" if term.five_ways else ""
        typer.echo(f"{indent}{term.name} ({term.id}){ways}")


@db_app.command("upgrade")
@_reported
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (safe to run again: it then changes nothing)."""
    with _open(ctx) as store:
        applied = store.upgrade()
    if applied:
        typer.echo(f"applied migrations: {', '.join(applied)}")
    else:
        typer.echo("database schema is up to date")


@db_app.command("backup")
@_reported
def db_backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The backup file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
) -> None:
    """Copy the whole store to PATH; safe while the service runs.

    SQLite: a checked copy of the database file. PostGIS: pg_dump's custom format (needs
    PostgreSQL's client tools). The file holds saved plans, so only its owner may read it.
    """
    summary = backup_store(_settings(ctx).database_url, path, overwrite=force)
    typer.echo(f"backed up to {path}: {summary.describe()}")


@db_app.command("restore")
@_reported
def db_restore(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A file written by `geo-assets db backup`.")],
) -> None:
    """Put a backup back as the store, then bring its schema up to date.

    SQLite: replaces the store's content in one step, first keeping a copy of it beside
    the store; stop the service first if you can. PostGIS: restores into an empty
    database (createdb NAME, then --database-url for it), all or nothing.
    """
    report = restore_store(_settings(ctx).database_url, path)
    if report.kept is not None:
        typer.echo(f"kept the store it replaced as {report.kept}")
    typer.echo(f"restored from {path}: {report.summary.describe()}")
    if report.applied:
        typer.echo(f"applied migrations: {', '.join(report.applied)}")


@sample_app.command("load")
@_reported
def sample_load(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Option("--from", help="Folder holding the sample files. Default: data/sample"),
    ] = None,
) -> None:
    """Load the demo data into the store; running it again updates instead of duplicating."""
    from geo_assets.sample import SAMPLE_DIR, load_sample

    with _open(ctx) as store:
        orgs_created, report = load_sample(store, folder or SAMPLE_DIR)
    typer.echo(
        f"sample loaded: {report.total} assets ({report.inserted} new, {report.updated} updated), "
        f"{orgs_created} organisations created"
    )


@sample_app.command("generate")
@_reported
def sample_generate(
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Folder to write the files to. Default: data/sample"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed; the default gives the shipped sample.")
    ] = None,
) -> None:
    """Regenerate the demo data files from the generator (the same seed gives the same bytes)."""
    from geo_assets.sample import SAMPLE_DIR, write_sample
    from geo_assets.synthetic import SAMPLE_SEED

    written = write_sample(output or SAMPLE_DIR, seed=SAMPLE_SEED if seed is None else seed)
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
@_reported
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on. Default: 127.0.0.1")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="TCP port. Default: 8000")
    ] = None,
) -> None:
    """Run the web service (FastAPI under uvicorn) until interrupted."""
    import uvicorn

    settings = _settings(ctx)
    # Fail here with one clear line rather than inside the server's startup.
    with _open(ctx) as store:
        store.ping()
    # A long-running service should log reconnect attempts again.
    _POOL_LOGGER.setLevel(logging.NOTSET)
    # The app factory reads its settings from the environment, like any deployment.
    os.environ["GEO_ASSETS_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
    )


def _travel_option(text: str) -> dict[str, object]:
    mode, sep, minutes = text.partition(":")
    if not sep:
        raise InvalidInputError(
            f"`--travel` must be MODE:MINUTES such as walk:20, not {text!r}", field="travel"
        )
    try:
        return {"mode": mode.strip(), "max_minutes": float(minutes)}
    except ValueError as exc:
        raise InvalidInputError(
            f"`--travel` minutes must be a number, not {minutes!r}", field="travel"
        ) from exc


@app.command()
@_reported
def match(
    ctx: typer.Context,
    near: Annotated[str, typer.Option(help="Where the person lives: LAT,LON in decimal degrees.")],
    interest: Annotated[
        list[str] | None,
        typer.Option(
            help="Something they care about, in their words or a category id. Repeatable."
        ),
    ] = None,
    travel: Annotated[
        list[str] | None,
        typer.Option(
            help="MODE:MAX_MINUTES; modes walk, cycle, public_transport, car, wheelchair. "
            "Repeatable. Default: walk:20"
        ),
    ] = None,
    free: Annotated[
        list[str] | None,
        typer.Option(help="When they are free, e.g. 'tue 09:00-13:00', 'thu', 'weekends'."),
    ] = None,
    goal: Annotated[
        list[str] | None, typer.Option(help="Connection goal: local, interest or reconnect.")
    ] = None,
    need: Annotated[
        list[str] | None,
        typer.Option(help="Access need, e.g. wheelchair, hearing_loop, quiet_space, women_only."),
    ] = None,
    # Numbers arrive as text and the profile (or `_MatchLimit`) reads them, so "--age x"
    # gets the same one-line error as "--age 200", not the option parser's boxed usage
    # message.
    age: Annotated[
        str | None, typer.Option(metavar="YEARS", help="Age in years (for eligibility).")
    ] = None,
    child_age: Annotated[
        list[str] | None,
        typer.Option(
            metavar="YEARS",
            help="Age of a child the person would bring; repeat for each child.",
        ),
    ] = None,
    free_only: Annotated[bool, typer.Option("--free-only", help="Only free activities.")] = False,
    max_cost: Annotated[
        str | None, typer.Option(metavar="AMOUNT", help="Most they can pay per session.")
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option(
            help="An OpenStreetMap .osm.pbf extract: route on streets, not straight lines."
        ),
    ] = None,
    limit: Annotated[
        str, typer.Option(metavar="N", help=f"How many results, 1 to {MAX_MATCH_LIMIT}.")
    ] = "10",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Rank the assets a person can reach against their interests, with reasons.

    Nothing typed here is logged or stored.
    """
    from geo_assets.matching import match as run_match
    from geo_assets.model import GeoPoint, Profile

    origin = GeoPoint.parse(near, field="near")
    try:
        profile = Profile.model_validate(
            {
                "origin": origin.model_dump(),
                "interests": interest or [],
                "travel": [_travel_option(t) for t in (travel or ["walk:20"])],
                "availability": free or [],
                "connection_goals": goal or [],
                "access_needs": need or [],
                "age": age,
                "children_ages": child_age or [],
                "budget": {"free_only": free_only, "max_per_session": max_cost},
            }
        )
        wanted = _MatchLimit.model_validate({"limit": limit}).limit
    except ValidationError as exc:
        raise _naming_the_option(exc) from exc
    model = None
    if network is not None:
        from geo_assets.network import NetworkTravel

        model = NetworkTravel.from_pbf(network, modes=tuple(t.mode for t in profile.travel))
    with _open(ctx) as store:
        results = run_match(store, profile, travel=model, limit=wanted)
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
            return
        _print_matches(results)
        # As the search page says it under its heading: how many fit, and whether
        # longer journeys would find more.
        from geo_assets.widen import notes_on

        for line in notes_on(store, profile, results, limit=wanted, travel=model).lines():
            typer.echo(line)


class _MatchLimit(BaseModel):
    """How many results ``match`` shows, read as the profile reads its numbers."""

    limit: int = Field(ge=1, le=MAX_MATCH_LIMIT)


# The profile's fields (and ``limit``) named by the option each came from
# ("children_ages.0" came from "--child-age").
_MATCH_OPTION_OF = {
    "age": "--age",
    "children_ages": "--child-age",
    "budget": "--max-cost",
    "availability": "--free",
    "access_needs": "--need",
    "connection_goals": "--goal",
    "limit": "--limit",
}


def _naming_the_option(exc: ValidationError) -> ValidationError | InvalidInputError:
    """The profile's error with the option it came from named beside its field."""
    where, said = _first_error(exc)
    option = _MATCH_OPTION_OF.get(where.partition(".")[0])
    if option is None:
        return exc
    return InvalidInputError(f"`{where}` (`{option}`): {said}", field=where)


def _print_matches(results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from geo_assets.travel import MODE_WORDS

    if not results:
        typer.echo("no assets found within reach; try a longer travel time or another mode")
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("#", width=2)
    table.add_column("score", width=5)
    # Shares of the rest of the width: the reasons are what a practitioner reads.
    for column, share in (("name", 5), ("travel", 4), ("next session", 4), ("why", 8)):
        table.add_column(column, ratio=share, overflow="fold")
    for i, r in enumerate(results, start=1):
        table.add_row(
            str(i),
            f"{r.score:.2f}",
            r.asset.name,
            f"{r.minutes:.0f} min {MODE_WORDS[r.mode]}",
            r.next_session.strftime("%a %d %b %H:%M") if r.next_session else "-",
            "\n".join(f"- {reason}" for reason in r.reasons),  # one reason a line
        )
    Console().print(table)


# --- users and their tokens -------------------------------------------------------------------

users_app = typer.Typer(
    help="People who may sign in to the web service, and their bearer tokens.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


def _cli_actor() -> str:
    """Who the audit log names for a command-line change: ``cli:<login name>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _show_token(token: str, expires_at: datetime | None = None) -> None:
    """The token alone on stdout (so scripts can capture it), the warning on stderr."""
    until = "until revoked" if expires_at is None else f"until {_when(expires_at)}"
    typer.echo(
        f"bearer token, valid {until} (shown only this once; it cannot be recovered):", err=True
    )
    typer.echo(token)


_ExpiresDays = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_TOKEN_DAYS,
        help="Days until the token stops working (default: until revoked).",
    ),
]


def _expiry(days: int | None) -> datetime | None:
    return None if days is None else utcnow().replace(microsecond=0) + timedelta(days=days)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@users_app.command("add")
@_reported
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The person's name, as shown in lists.")],
    role: Annotated[
        str,
        typer.Option(help="practitioner, organisation, planner or admin."),
    ],
    organisation: Annotated[
        str | None,
        typer.Option(help="Organisation id; required for (and only for) role organisation."),
    ] = None,
    expires_days: _ExpiresDays = None,
) -> None:
    """Create a user and print a bearer token for them, once."""
    from geo_assets.auth import User, issue_token

    user = User(name=name, role=role, organisation_id=organisation)  # type: ignore[arg-type]
    expires_at = _expiry(expires_days)
    with _open(ctx) as store:
        created = store.create_user(user, actor=_cli_actor())
        token = issue_token(store, created.id, expires_at=expires_at)
    where = f", organisation {created.organisation_id}" if created.organisation_id else ""
    typer.echo(f"created user {created.id} ({created.name}, {created.role}{where})", err=True)
    _show_token(token, expires_at)


@users_app.command("token")
@_reported
def users_token(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id (see `users list`).")],
    expires_days: _ExpiresDays = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Also revoke every other token of the user (web sessions included): "
            "for a token that was lost or may have been seen.",
        ),
    ] = False,
) -> None:
    """Print a new bearer token for an active user, once."""
    from geo_assets.auth import issue_token, parse_token

    expires_at = _expiry(expires_days)
    with _open(ctx) as store:
        token = issue_token(store, user_id, expires_at=expires_at)
        revoked = 0
        if replace:  # one transaction: a sign-in with an old token is refused or ended
            keep = parse_token(token)[0]
            revoked = store.revoke_user_tokens(user_id, keep=keep, actor=_cli_actor())
    if replace:
        typer.echo(f"revoked {revoked} other token(s) of user {user_id}", err=True)
    _show_token(token, expires_at)


@users_app.command("tokens")
@_reported
def users_tokens(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id (see `users list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List a user's tokens, oldest first: id, kind (api, or a web session's), state,
    when made, when they end (never the secrets; the id is the 16 characters after `ga_`)."""
    from geo_assets.auth import token_state

    with _open(ctx) as store:
        records = store.list_tokens(user_id)
    rows = [
        {
            "token_id": r.token_id,
            "kind": r.kind,
            "started_by": r.parent_id,
            "state": token_state(r),
            "created_at": r.created_at.isoformat(),
            "expires_at": None if r.expires_at is None else r.expires_at.isoformat(),
            "revoked_at": None if r.revoked_at is None else r.revoked_at.isoformat(),
        }
        for r in records
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not records:
        typer.echo(f"user {user_id} has no tokens; `geo-assets users token {user_id}` makes one")
        return
    typer.echo(
        f"{'token id':<16}  {'kind':<7}  {'state':<7}  {'created':<20}  {'ends':<20}  revoked"
    )
    for r in records:
        ends = "until revoked" if r.expires_at is None else _when(r.expires_at)
        typer.echo(
            f"{r.token_id:<16}  {r.kind:<7}  {token_state(r):<7}  {_when(r.created_at):<20}"
            f"  {ends:<20}  {_when(r.revoked_at)}"
        )


@users_app.command("revoke-token")
@_reported
def users_revoke_token(
    ctx: typer.Context,
    token: Annotated[
        str,
        typer.Argument(help="The token's id (see `users tokens`), or the whole token."),
    ],
) -> None:
    """Revoke one token, and the web sessions signed in with it (effective on the next
    request); the user and their other tokens keep working."""
    from geo_assets.auth import token_id_of
    from geo_assets.errors import NotFoundError

    token_id = token_id_of(token)
    with _open(ctx) as store:
        record = store.find_token(token_id)
        if record is None:
            raise NotFoundError("token", token_id)
        revoked = store.revoke_token(token_id, actor=_cli_actor())
    if revoked:
        typer.echo(f"revoked token {token_id} of user {record.user_id}")
    else:
        typer.echo(f"token {token_id} of user {record.user_id} was already revoked")


@users_app.command("list")
@_reported
def users_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every user (never their tokens), by name."""
    with _open(ctx) as store:
        users = list(iter_pages(lambda page, n: store.list_users(page=page, per_page=n), 500))
    if as_json:
        typer.echo(json.dumps([u.model_dump(mode="json") for u in users], indent=2))
        return
    if not users:
        typer.echo("no users yet; add one with `geo-assets users add NAME --role ROLE`")
        return
    for u in users:
        state = "active" if u.active else "revoked"
        org = u.organisation_id or "-"
        created = u.created_at.isoformat() if u.created_at else "-"
        typer.echo(f"{u.id}  {u.role:<12}  {state:<7}  {org}  {created}  {u.name}")


@users_app.command("revoke")
@_reported
def users_revoke(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id (see `users list`).")],
    purge_plans: Annotated[
        bool,
        typer.Option("--purge-plans", help="Also delete every plan this user saved."),
    ] = False,
) -> None:
    """Deactivate a user and revoke all their tokens (effective on the next request)."""
    with _open(ctx) as store:
        before = store.get_user(user_id)
        store.revoke_user(user_id, actor=_cli_actor())
        deleted = store.purge_plans(owner_id=user_id, actor=_cli_actor()) if purge_plans else 0
    if before.active:
        typer.echo(f"revoked user {user_id} and all their tokens")
    else:
        typer.echo(f"user {user_id} was already revoked")
    if purge_plans:
        typer.echo(f"deleted {deleted} saved plan(s) of user {user_id}")


plans_app = typer.Typer(
    help="Saved connection plans (pseudonymous): retention and clean-up.",
    no_args_is_help=True,
)
app.add_typer(plans_app, name="plans")


@plans_app.command("purge")
@_reported
def plans_purge(
    ctx: typer.Context,
    owner: Annotated[
        str | None,
        typer.Option(help="Delete this user's plans (all of them, unless --older-than-days)."),
    ] = None,
    older_than_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Delete plans saved more than this many days ago. Default without --owner: "
            "the retention period (GEO_ASSETS_PLAN_RETENTION_DAYS).",
        ),
    ] = None,
) -> None:
    """Delete saved plans for good: those past the retention period, or one user's."""
    from geo_assets.plans import purge_expired, retention_cutoff

    ended = None
    with _open(ctx) as store:
        if owner is None and older_than_days is None:  # what the running service does daily
            older_than_days = _settings(ctx).plan_retention_days
            deleted = purge_expired(store, older_than_days)
        else:
            before = None if older_than_days is None else retention_cutoff(older_than_days)
            deleted = store.purge_plans(before=before, owner_id=owner, actor=_cli_actor())
        whose = f" of user {owner}" if owner else ""
        age = f" saved more than {older_than_days} days ago" if older_than_days else ""
        typer.echo(f"deleted {deleted} saved plan(s){whose}{age}")
        if owner is None:  # what the service also does daily, for cron's sake
            ended = store.delete_expired_tokens(utcnow())
    if ended is not None:
        typer.echo(f"deleted {ended} ended web session token(s)")


# Coverage analysis (issue 7): the command lives in its package and imports its heavy parts lazily.
from geo_assets.coverage.command import coverage as _coverage  # noqa: E402

app.command("coverage")(_reported(_coverage))


# --- data in and out (issue 5) ---------------------------------------------------------------
# `import FORMAT PATH` / `export FORMAT PATH`: one subcommand per format, so other commands
# (`import postcodes FILE`, `import places FILE`) can join the same groups.
import_app = typer.Typer(help="Load assets from a file (all or nothing).", no_args_is_help=True)
export_app = typer.Typer(help="Write assets to a file.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
_FORMAT_HELP = {
    "hsds": "Open Referral HSDS 3.0 / ORUK JSON",
    "hsds-csv": "HSDS tabular package (a folder or .zip of CSV files)",
    "csv": "the spreadsheet template as CSV (see README)",
    "xlsx": "the spreadsheet template as an Excel workbook",
    "geojson": "GeoJSON points (EPSG:4326)",
    "gpkg": "GeoPackage, layer `assets` (EPSG:4326)",
    "osm": "OpenStreetMap .osm.pbf (community venues)",
}


def _import_command(fmt: str) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="The file to read.")],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Check everything, write nothing.")
        ] = False,
        skip_invalid: Annotated[
            bool,
            typer.Option("--skip-invalid", help="Import the valid rows, report the others."),
        ] = False,
        source: Annotated[
            str | None,
            typer.Option(help="Provenance name for every record (re-imports update by it)."),
        ] = None,
    ) -> None:
        from geo_assets.ingest.cli_support import import_file

        with _open(ctx) as store:
            ok = import_file(
                store,
                fmt,
                path,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                source=source,
                actor=_cli_actor(),
            )
        if not ok:
            raise typer.Exit(EXIT_BAD_INPUT)

    command.__doc__ = f"Import {_FORMAT_HELP[fmt]}."
    return command


def _export_command(fmt: str) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="The file to write (replaced if it exists).")],
        category: Annotated[
            list[str] | None, typer.Option(help="Only this category (and narrower). Repeatable.")
        ] = None,
        status: Annotated[
            list[str] | None,
            typer.Option(help="Only this status: draft, pending, published, archived."),
        ] = None,
    ) -> None:
        from geo_assets.ingest.cli_support import export_file

        with _open(ctx) as store:
            count = export_file(store, fmt, path, categories=category, statuses=status)
        typer.echo(f"wrote {count} asset(s) to {path}")

    command.__doc__ = f"Export {_FORMAT_HELP[fmt]}."
    return command


for _fmt in _FORMAT_HELP:
    import_app.command(_fmt)(_reported(_import_command(_fmt)))
    if _fmt != "osm":
        export_app.command(_fmt)(_reported(_export_command(_fmt)))

# Data quality (issue 5): duplicates, merge, stale, confirm, import postcodes|places.
from geo_assets.quality_cli import register as _register_quality  # noqa: E402

_register_quality(app, import_app, _reported)

# Changes held for review: list, show, approve, reject.
from geo_assets.review_cli import register as _register_review  # noqa: E402

_register_review(app, _reported)
