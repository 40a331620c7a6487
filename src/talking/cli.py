"""The ``talking`` command: serve, db, demo, report, users, tokens."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import click

from talking.cli_accounts import run_in_transaction, tokens, users
from talking.cli_operations import (
    db_backup,
    db_restore,
    describe_database,
    responses,
    retention_group,
)
from talking.crime import commands as crime_commands
from talking.mail import commands as mail_commands
from talking.mail import transport as mail_transport
from talking.members import commands as members_commands
from talking.packs import commands as packs_commands
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

    from talking.processes import SERVE_PID_VARIABLE, port_taken

    settings = Settings.from_env()
    # Workers re-read the environment; pin the secret so all of them sign CSRF tokens alike.
    os.environ.setdefault("TALKING_SECRET_KEY", settings.secret_key)
    # Where the workers' metrics meet, so /metrics adds them up (talking.metrics); set before any
    # worker imports prometheus-client.
    given_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics_dir = given_metrics_dir or tempfile.mkdtemp(prefix="talking-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from talking.logs import GRANIAN_JSON_CONFIG

    _empty_metrics_dir(Path(metrics_dir))
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    # granian's SO_REUSEPORT would let this server start beside one already on the port.
    if (taken := port_taken(host, port)) is not None:
        raise click.ClickException(f"talking: {taken}; stop it or choose another with --port")
    os.environ[SERVE_PID_VARIABLE] = str(os.getpid())  # so each worker can stop when this process dies
    serving = f"talking: serving http://{host}:{port}/ with {workers} worker(s) on {describe_database(settings)}"
    try:
        emails = f"talking: {mail_transport.describe_destination(settings)}"
    except ValueError as exc:  # a TALKING_SMTP_URL that cannot work: say so before serving, not at the first email
        raise click.ClickException(str(exc)) from exc
    if settings.log_format == "json":  # every line of the server's output is then one JSON object
        import logging

        from talking import logs

        logs.configure("json")
        logging.getLogger("talking").info(serving)
        logging.getLogger("talking").info(emails)
    else:
        click.echo(serving)
        click.echo(emails)
    try:
        Granian(
            "talking.cli:worker_app",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_access=False,
            log_dictconfig=GRANIAN_JSON_CONFIG if settings.log_format == "json" else None,
            # A worker that dies (killed, out of memory) is replaced; the others serve on meanwhile.
            # granian still stops the server if workers keep dying (a crash loop).
            respawn_failed_workers=True,
        ).serve()
    finally:
        if not given_metrics_dir:  # ours: made for this run
            shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_app() -> object:
    """What each granian worker of `talking serve` runs: tie its life to the serving process, then
    build the app (create_asgi_app).

    First, before the app's imports, which take seconds on a busy machine: a worker orphaned
    meanwhile would hold the listening socket all that time (see talking/processes.py).
    """
    from talking.processes import die_with_parent

    die_with_parent()
    from talking.app import create_asgi_app

    return create_asgi_app()


@main.group()
def db() -> None:
    """Database schema: migrations."""


db.add_command(db_backup)
db.add_command(db_restore)


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (the same ones on SQLite and PostgreSQL)."""
    from talking.db import migrate

    settings = Settings.from_env()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"talking: database at {revision} on {describe_database(settings)}")


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
    """Publish the demo survey with realistic synthetic answers that differ by district, and a demo panel with
    a members survey, its invitations and some answers."""
    from talking.demo import load_demo, load_demo_panel

    settings = Settings.from_env()
    survey_id = asyncio.run(load_demo(settings, n_responses=n_responses, seed=seed, if_empty=if_empty))
    if survey_id is None:
        click.echo("talking: the database already has surveys; demo not loaded")
    else:
        click.echo(f"talking: demo survey {survey_id} published with {n_responses:,} responses")
        panel = asyncio.run(load_demo_panel(settings, seed=seed))
        click.echo(
            f"talking: demo panel of {panel.members:,} members; members survey {panel.survey_id} published, "
            f"{panel.invited:,} invited (their emails queued), {panel.answered:,} answered"
        )


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

        run_in_transaction(retally)
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
    from talking.reports.recorded_crime import with_recorded_crime_sync

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
            built = await conn.run_sync(with_recorded_crime_sync, built)
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
            built = run_in_transaction(build)
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


main.add_command(retention_group)
main.add_command(responses)


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


main.add_command(users)
main.add_command(tokens)
main.add_command(members_commands.members)
main.add_command(crime_commands.crime)
main.add_command(mail_commands.mail)
main.add_command(packs_commands.packs)


def _empty_metrics_dir(path: Path) -> None:
    """Make the workers' metrics directory, without files of an earlier run (counts start from zero).

    Not through talking.metrics: importing prometheus-client here would give this process files too.
    """
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
