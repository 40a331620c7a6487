"""The ``talking`` command: serve, db, demo, report, users, tokens."""

from __future__ import annotations

import asyncio
import os

import click

from talking.mail import commands as mail_commands
from talking.mail import transport as mail_transport
from talking.members import commands as members_commands
from talking.settings import Settings


@click.group()
def main() -> None:
    """talking: resident engagement surveys for community-safety partners."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [TALKING_HOST, default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port [TALKING_PORT, default 8000]")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes [TALKING_WORKERS, 1]")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the app with granian (one process per worker; they share the database)."""
    from granian import Granian
    from granian.constants import Interfaces

    settings = Settings.from_env()
    # Workers re-read the environment; pin the secret so all of them sign CSRF tokens alike.
    os.environ.setdefault("TALKING_SECRET_KEY", settings.secret_key)
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    click.echo(f"talking: serving http://{host}:{port}/ with {workers} worker(s) on {_describe(settings)}")
    try:
        click.echo(f"talking: {mail_transport.describe_destination(settings)}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    Granian(
        "talking.app:create_asgi_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_access=False,
    ).serve()


@main.group()
def db() -> None:
    """Database schema: migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (the same ones on SQLite and PostgreSQL)."""
    from talking.db import migrate

    settings = Settings.from_env()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"talking: database at {revision} on {_describe(settings)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (``base`` empties the database)."""
    from talking.db import migrate

    migrate.downgrade(Settings.from_env().database_url, revision)
    click.echo(f"talking: database at {revision}")


@main.command()
@click.option(
    "--responses",
    "n_responses",
    type=click.IntRange(min=0),
    default=2_000,
    show_default=True,
    help="How many synthetic responses to add",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed, for repeatable answers")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already holds a survey")
def demo(n_responses: int, seed: int, if_empty: bool) -> None:
    """Publish the demo survey and fill it with realistic synthetic answers that differ by district."""
    from talking.demo import load_demo

    survey_id = asyncio.run(load_demo(Settings.from_env(), n_responses=n_responses, seed=seed, if_empty=if_empty))
    if survey_id is None:
        click.echo("talking: the database already has surveys; demo not loaded")
    else:
        click.echo(f"talking: demo survey {survey_id} published with {n_responses:,} responses")


@db.command("retally")
@click.argument("survey_id", type=int, required=False)
def db_retally(survey_id: int | None) -> None:
    """Recount the running tallies reports read, from the stored responses (one survey, or all)."""
    from tqdm import tqdm

    from talking import tallies

    with tqdm(total=len(tallies.STATEMENTS), desc="retally", unit="table") as bar:
        progress = _steps(bar)

        async def retally(conn):
            await conn.run_sync(tallies.rebuild, survey_id, progress)

        _run_in_transaction(retally)
        bar.update(1)
    click.echo(f"talking: tallies recounted for {'survey ' + str(survey_id) if survey_id else 'every survey'}")


@main.command()
@click.argument("survey_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xlsx", "html"]),
    default="html",
    show_default=True,
    help="json: everything; csv: one row per area and issue; xlsx: a sheet per table; html: the analyst pages",
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="File to write")
@click.option(
    "--bootstrap",
    is_flag=True,
    help="Intervals by resampling respondents within district (reads every response) instead of from the tallies",
)
@click.option("--draws", type=click.IntRange(min=100), default=2000, show_default=True, help="Draws, or replicates B")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same report")
@click.option(
    "--min-cell",
    type=click.IntRange(min=1),
    default=None,
    help="Suppress below this many [TALKING_REPORT_MIN_CELL, 10]",
)
def report(survey_id: int, fmt: str, out: str, bootstrap: bool, draws: int, seed: int, min_cell: int | None) -> None:
    """Write a survey's report: ranked issues by district, groups, themes and waves."""
    from tqdm import tqdm

    from talking import audit
    from talking.errors import SurveyNotFound
    from talking.reports import service
    from talking.reports.api import report_file

    steps = ["survey definition", "running tallies", "sample of respondents", "sample of comments", "analysis"]
    with tqdm(total=len(steps) + 1, desc="report", unit="step") as bar:
        progress = _steps(bar, expected=steps)

        app_settings = Settings.from_env()
        method = service.report_settings(
            app_settings,
            interval="bootstrap" if bootstrap else "gaussian",
            draws=draws,
            random_state=seed,
            min_cell=min_cell or app_settings.report_min_cell,
        )

        async def build(conn):
            inputs = await conn.run_sync(service.load_inputs, survey_id, progress=progress, all_rows=bootstrap)
            built = await asyncio.to_thread(service.analyse, inputs, method, progress=progress)
            await audit.record(
                conn,
                "report_exported",
                actor_email="command line",
                target_type="survey",
                target_id=survey_id,
                detail={"format": fmt, "responses": built.report.responses},
            )
            return built

        try:
            built = _run_in_transaction(build)
        except SurveyNotFound:
            raise click.ClickException(f"no survey with id {survey_id}") from None
        bar.update(1)
        bar.set_postfix_str(f"writing {fmt}")
        if fmt == "html":
            from talking.reports.html import render_report_html

            content = render_report_html(built).encode()
        else:
            content, _media_type, _name = report_file(built, fmt)
        with open(out, "wb") as file:
            file.write(content)
        bar.update(1)
    click.echo(f"talking: report on {built.report.responses} responses written to {out}")


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "staff", "analyst"]), required=True, help="What they may do")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)")
def users_create(email: str, role: str, password_stdin: bool) -> None:
    """Add a staff account (prompts for the password unless --password-stdin)."""
    from talking.auth.services import AccountError, create_user

    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = _run_in_transaction(lambda db: create_user(db, email, role, password))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"talking: created {user.role} {user.email} (id {user.id})")


@users.command("list")
def users_list() -> None:
    """List staff accounts."""
    from talking.auth.services import list_users

    for user in _run_in_transaction(list_users):
        state = "active" if user.is_active else "deactivated"
        click.echo(f"{user.id:>5}  {user.role:<8} {state:<12} {user.email}")


@main.group()
def tokens() -> None:
    """API tokens for scripts (`Authorization: Bearer TOKEN`)."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What the token is for")
def tokens_create(email: str, name: str) -> None:
    """Create a token acting as EMAIL; the token is printed once, on the last line."""
    from talking.auth.services import AccountError, create_token, get_user_by_email

    async def make(db):
        user = await get_user_by_email(db, email)
        if user is None:
            raise AccountError([])
        return await create_token(db, user.id, name)

    try:
        token, record = _run_in_transaction(make)
    except AccountError as exc:
        raise click.ClickException(str(exc) or f"no account for {email}") from exc
    click.echo(f"talking: token {record.prefix}... (id {record.id}) for {email}; keep it secret, it is shown once:")
    click.echo(token)


@tokens.command("list")
@click.argument("email")
def tokens_list(email: str) -> None:
    """List a user's tokens (never the tokens themselves)."""
    from talking.auth.services import get_user_by_email, list_tokens

    async def fetch(db):
        user = await get_user_by_email(db, email)
        return [] if user is None else await list_tokens(db, user.id)

    for token in _run_in_transaction(fetch):
        state = "revoked" if token.revoked_at else "live"
        click.echo(f"{token.id:>5}  {token.prefix}...  {state:<8} {token.name}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from talking import audit
    from talking.db.models import api_tokens

    async def revoke(db):
        done = await db.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if done.rowcount:
            await audit.record(db, "token_revoked", actor_email="command line", target_type="token", target_id=token_id)
        return done.rowcount

    if not _run_in_transaction(revoke):
        raise click.ClickException(f"no live token with id {token_id}")
    click.echo(f"talking: token {token_id} revoked")


def _steps(bar, expected: list[str] | None = None):
    """A progress callback for a bar counted in named steps: a step starting means the one before is done.

    A step not in `expected` (a previous wave's, for a report) lengthens the bar.
    """

    def step(name: str) -> None:
        if expected is not None and name not in expected:
            bar.total += 1
        if bar.postfix:
            bar.update(1)
        bar.set_postfix_str(name)

    return step


def _run_in_transaction(work):
    """Run ``await work(connection)`` in one committed transaction on the configured database."""
    from talking.db.engine import create_engine

    async def run():
        engine = create_engine(Settings.from_env().database_url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


main.add_command(members_commands.members)
main.add_command(mail_commands.mail)


def _describe(settings: Settings) -> str:
    """Where the data lives, without any password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)
