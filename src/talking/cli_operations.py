"""The `talking` commands for operators: backups, retention and erasure (added to the command in cli.py)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click

from talking.settings import Settings


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Write a consistent copy of the database to FILE while the service runs (SQLite's backup API; pg_dump)."""
    from talking.backup import BackupError, back_up

    settings = Settings.from_env()
    try:
        with _copy_bar("backup") as progress:
            back_up(settings.database_url, file, progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"talking: {describe_database(settings)} backed up to {file} ({file.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def db_restore(file: Path) -> None:
    """Restore a backup made by `talking db backup` into an empty database (never over data)."""
    from talking.backup import BackupError, restore

    settings = Settings.from_env()
    try:
        with _copy_bar("restore") as progress:
            restore(settings.database_url, file, progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"talking: {file} restored into {describe_database(settings)}")


@click.group("retention")
def retention_group() -> None:
    """Removing what residents wrote or told about themselves once it is no longer needed."""


@retention_group.command("apply")
def retention_apply() -> None:
    """Remove comments, free-text and about-you answers of surveys closed over TALKING_RETENTION_DAYS ago."""
    from tqdm import tqdm

    from talking.retention import apply_retention

    settings = Settings.from_env()
    with tqdm(desc="retention", unit="response") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        run = _with_engine(
            lambda engine: apply_retention(
                engine, settings.retention_days, actor_email="command line", progress=progress
            )
        )
    surveys = ", ".join(map(str, run.surveys)) or "none"
    click.echo(
        f"talking: retention after {run.days} days applied to surveys {surveys}: {run.comments:,} comments,"
        f" {run.free_text_answers:,} free-text answers and {run.about_you:,} responses' about-you answers removed"
    )


@click.group("responses")
def responses() -> None:
    """Single responses, found by the reference on their confirmation page."""


@responses.command("erase")
@click.argument("reference")
def responses_erase(reference: str) -> None:
    """Erase a response a resident asks to have removed (REFERENCE as on their confirmation page)."""
    from talking.retention import ResponseNotFound, erase_response

    try:
        erased = _with_engine(lambda engine: erase_response(engine, reference, actor_email="command line"))
    except ResponseNotFound:
        raise click.ClickException(
            f"no response has the reference {reference.strip().upper()!r} (references look like LT-7K3M-9QX2;"
            " it may have been erased already)"
        ) from None
    click.echo(
        f"talking: response {erased.reference} to survey {erased.survey_id} erased, with its {erased.picks} picks"
        f" and {erased.answers} other answers; the tallies and the audit log are updated"
    )


@contextlib.contextmanager
def _copy_bar(name: str):
    """A progress bar told (done, total) by a copy: pages for SQLite, tables for PostgreSQL."""
    from tqdm import tqdm

    with tqdm(desc=name, unit="step") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def _with_engine(work):
    """Run ``await work(engine)`` with an engine on the configured database, disposed of afterwards."""
    from talking.db.engine import create_engine

    async def run():
        engine = create_engine(Settings.from_env().database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def describe_database(settings: Settings) -> str:
    """Where the data lives, without any password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)
