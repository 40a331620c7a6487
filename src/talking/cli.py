"""The ``talking`` command: serve, db, demo."""

from __future__ import annotations

import asyncio
import os

import click

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
    Granian(
        "talking.app:create_app",
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


def _describe(settings: Settings) -> str:
    """Where the data lives, without any password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)
