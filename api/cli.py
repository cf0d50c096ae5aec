"""Command-line parts of the service, as typer apps for the ``assigner`` command to mount:

    app.add_typer(serve_app, name="serve")   # assigner serve [--host] [--port] [--workers]
    app.add_typer(keys_app, name="keys")     # assigner keys create --role admin --name ops
    app.add_typer(db_app, name="db")         # assigner db check

``python -m api serve`` / ``python -m api keys create`` run them without the main CLI.
"""

from __future__ import annotations

import logging
import os
import sys
import unicodedata
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy import String
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from api import audit
from api.app import prepare_database
from api.auth import Role, create_key, revoke_key
from api.db import (
    Database,
    DatabaseNotReady,
    driver_reason,
    open_existing,
    run_migrations,
    shown_url,
    sqlite_file,
)
from api.models import ApiKeyRow
from api.recommending import RosterCache
from api.settings import Settings
from api.stored_check import Checked, stored_record_issues

serve_app = typer.Typer(
    help="Run the REST service (embedded SQLite by default).",
    invoke_without_command=True,
    add_completion=False,
)
keys_app = typer.Typer(
    help="API keys: create, list, revoke.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(
    help="The service's database: check stored records.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_RECORDS_REFUSED = 3

_DB_HELP = "Database URL (default: ASSIGNER_DATABASE_URL or sqlite:///./var/assigner.sqlite)."


@serve_app.callback()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes.")] = 1,
    database_url: Annotated[str | None, typer.Option(help=_DB_HELP)] = None,
    seed_demo: Annotated[
        bool | None,
        typer.Option(
            "--seed-demo/--no-seed-demo",
            help="Seed the demo county into an empty database (default on).",
        ),
    ] = None,
    jobs: Annotated[
        bool | None, typer.Option("--jobs/--no-jobs", help="Run queued jobs in this server.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log a line per request (off by default: it costs CPU on every request).",
        ),
    ] = False,
) -> None:
    """Start the service: migrations run, demo data is seeded on first start, jobs resume."""
    # Settings travel by environment so that every worker process reads the same ones.
    if database_url is not None:
        os.environ["ASSIGNER_DATABASE_URL"] = database_url
    if seed_demo is not None:
        os.environ["ASSIGNER_SEED_DEMO"] = "true" if seed_demo else "false"
    if jobs is not None:
        os.environ["ASSIGNER_RUN_JOBS"] = "true" if jobs else "false"
    settings = _settings(None)  # refuse bad settings before binding the port
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr)
    # Migrations and the demo seed run once, here, not in each worker.
    db = _connect(settings)
    try:
        prepare_database(settings, db, RosterCache())
    finally:
        db.dispose()
    os.environ["ASSIGNER_MIGRATE_ON_START"] = "false"
    os.environ["ASSIGNER_SEED_DEMO"] = "false"
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        # The compiled event loop and HTTP parser (pyproject installs both), named so that a
        # missing one stops the start instead of falling back to the slower pure-Python ones.
        loop="asyncio" if sys.platform == "win32" else "uvloop",
        http="httptools",
    )


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _settings(database_url: str | None) -> Settings:
    """The settings (ASSIGNER_* variables) with ``database_url`` if one is given, or exit 2
    naming the refused setting."""
    try:
        return Settings() if database_url is None else Settings(database_url=database_url)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        _fail(f"setting {field} (ASSIGNER_{field.upper()}) is refused: {err['msg']}")


def _new_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist yet (opening creates it)."""
    file = sqlite_file(url)
    return None if file is None or file.exists() else file


def _connect(settings: Settings) -> Database:
    """The database at the settings' URL, connected to once (a SQLite file that does not exist
    is created, and said so), or exit 2 saying why it cannot be used: not a URL, no driver,
    the server unreachable or refusing, a file that is not a database."""
    url = settings.database_url
    shown = shown_url(url)
    try:
        created = _new_sqlite_file(url)
        db = Database(settings)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:  # bad URL, missing driver
        _fail(f"--database-url {shown} cannot be used: {exc}")
    try:
        with db.engine.connect():  # the first use: unreachable, refused, not a database
            pass
    except DBAPIError as exc:
        db.dispose()
        _fail(f"--database-url {shown} cannot be opened: {driver_reason(exc)}")
    if created is not None:
        typer.echo(f"no database at {created}: created a new one", err=True)
    return db


def open_database(database_url: str | None) -> Database:
    """The service's database (the setting's URL unless one is given), created if it is a
    SQLite file that does not exist yet, and migrated to head."""
    db = _connect(_settings(database_url))
    try:
        run_migrations(db.engine)
    except BaseException:
        db.dispose()
        raise
    return db


def existing_database(database_url: str | None) -> Database:
    """The service's database, which must already exist at the newest schema (as for
    ``assigner rebalance --db``): listing or revoking keys in a database made by mistake, from
    a mistyped file name, would only show "no keys"."""
    url = _settings(database_url).database_url
    try:
        return open_existing(url)
    except DatabaseNotReady as exc:  # its message gives the driver's reason
        _fail(f"--database-url: {exc}")


def _key_name_error(name: str) -> str | None:
    """Why ``name`` cannot name a key, or None: it is what `keys list` and the audit show, in
    a column as long as the model's (PostgreSQL refuses a longer one)."""
    column = ApiKeyRow.__table__.c.name.type
    longest = column.length if isinstance(column, String) else None
    if not name.strip():
        return "--name must not be empty or blank: say who or what uses the key"
    if longest is not None and len(name) > longest:
        return f"--name is {len(name)} characters long; at most {longest}"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "--name must not hold control characters (tabs, line breaks)"
    return None


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="case-system, admin or read-only.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "api-client",
    database_url: Annotated[str | None, typer.Option(help=_DB_HELP)] = None,
) -> None:
    """Make a key; it is printed once (stdout) and stored hashed."""
    if (why := _key_name_error(name)) is not None:
        _fail(why)
    db = open_database(database_url)
    try:
        with db.transaction(write=True) as session:
            from api import policies

            policies.ensure_initial(session)
            new = create_key(session, role=role, name=name)
            audit.record(
                session,
                new.principal,
                "key.create",
                "api_key",
                new.principal.key_id,
                f"API key {new.principal.key_id} ({name}, role {role}) created on the command line",
            )
    finally:
        db.dispose()
    typer.echo(f"key {new.principal.key_id} for {name!r}, role {role}:", err=True)
    typer.echo(new.secret)


@keys_app.command("list")
def keys_list(database_url: Annotated[str | None, typer.Option(help=_DB_HELP)] = None) -> None:
    """Key ids, names, roles and states (never the secrets)."""
    db = existing_database(database_url)
    try:
        with db.transaction(write=False) as session:
            rows = session.query(ApiKeyRow).order_by(ApiKeyRow.created_at).all()
            for r in rows:
                state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
                typer.echo(f"{r.id}\t{r.role}\t{r.name}\t{state}")
    finally:
        db.dispose()


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after asg_).")],
    database_url: Annotated[str | None, typer.Option(help=_DB_HELP)] = None,
) -> None:
    """Revoke a key: every call with it is refused from then on."""
    db = existing_database(database_url)
    try:
        with db.transaction(write=True) as session:
            if not revoke_key(session, key_id):
                typer.echo(f"no active key {key_id}", err=True)
                raise typer.Exit(code=2)
    finally:
        db.dispose()
    typer.echo(f"key {key_id} revoked", err=True)


@db_app.command("check")
def db_check(
    database_url: Annotated[str | None, typer.Option(help=_DB_HELP)] = None,
    show: Annotated[int, typer.Option(help="Issues to list at most.", min=1)] = 50,
) -> None:
    """List the stored firms, lawyers and cases that today's record checks refuse (stored
    before the checks tightened, e.g. an id with '/' or a date from 9000 on): a GET of such a
    record fails and every batch and rebalance job refuses the caseload until it is corrected
    (PUT) or deleted.  Exit 0 when every record passes, 3 when any does not."""
    db = existing_database(database_url)
    checked = Checked({})
    shown = refused = 0
    try:
        with db.transaction(write=False) as session:
            for issue in stored_record_issues(session, checked):
                refused += 1
                if shown < show:
                    typer.echo(str(issue))
                    shown += 1
    finally:
        db.dispose()
    counts = ", ".join(f"{n:,} {kind}s" for kind, n in checked.counts.items())
    if refused:
        more = f" ({refused - shown:,} more not listed)" if refused > shown else ""
        typer.echo(f"{refused:,} field(s) refused{more}; read {counts}", err=True)
        raise typer.Exit(code=EXIT_RECORDS_REFUSED)
    typer.echo(f"every stored record passes today's checks: {counts}", err=True)
