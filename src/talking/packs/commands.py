"""`talking packs ...`: make a pack and check one against the database (joined to `talking` in cli.py)."""

from __future__ import annotations

import asyncio
import sys

import click

from talking.settings import Settings


def _engine():
    from talking.db.engine import create_engine

    return create_engine(Settings.from_env().database_url)


@click.group()
def packs() -> None:
    """Strategic Assessment packs: frozen reports."""


@packs.command("make")
@click.argument("survey_id", type=click.IntRange(min=1))
def make(survey_id: int) -> None:
    """Freeze a survey's report as a pack, with the deployment's method; prints the pack's id and fingerprint."""
    from talking.errors import SurveyNotFound, WrongSurveyState
    from talking.packs import service
    from talking.reports.service import report_settings

    async def run():
        engine = _engine()
        try:
            settings = report_settings(Settings.from_env())
            progress = lambda step: click.echo(f"  {step}", err=True)  # noqa: E731
            return await service.make_pack(engine, survey_id, settings, made_by="command line", progress=progress)
        finally:
            await engine.dispose()

    try:
        pack_id, document = asyncio.run(run())
    except SurveyNotFound:
        raise click.ClickException(f"no survey with id {survey_id}") from None
    except WrongSurveyState as exc:
        raise click.ClickException(str(exc)) from None
    fingerprint = document["fingerprint"]
    click.echo(f"pack {pack_id}: {fingerprint['responses']} responses, fingerprint {fingerprint['value']}")


@packs.command("verify")
@click.argument("pack_id", type=click.IntRange(min=1))
def verify(pack_id: int) -> None:
    """Recompute a pack's report from the database with its method: exit 0 if the figures are the same, 1 if not."""
    from talking.packs import service

    async def run():
        engine = _engine()
        try:
            return await service.verify(engine, pack_id, progress=lambda step: click.echo(f"  {step}", err=True))
        finally:
            await engine.dispose()

    try:
        verdict = asyncio.run(run())
    except service.PackNotFound:
        raise click.ClickException(f"no pack with id {pack_id}") from None
    if verdict.same:
        click.echo(
            f"pack {pack_id}: the same: {verdict.responses_now} responses, fingerprint {verdict.fingerprint_now}"
        )
        return
    click.echo(f"pack {pack_id}: different")
    if verdict.fingerprint_then != verdict.fingerprint_now:
        click.echo(
            f"  answers: {verdict.responses_then} responses then, {verdict.responses_now} now; "
            f"fingerprint {verdict.fingerprint_then[:12]} then, {verdict.fingerprint_now[:12]} now"
        )
    for change in verdict.changes:
        click.echo(f"  {change}")
    if not verdict.changes:
        click.echo("  the figures are the same, but the answers they came from are not")
    sys.exit(1)
