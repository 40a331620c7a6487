"""`talking members ...`: the panel from the command line (joined to the `talking` command in cli.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from talking.members.schemas import ImportReport
from talking.settings import Settings


@click.group()
def members() -> None:
    """The resident panel's members."""


@members.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would happen; store nothing")
def import_file(file: Path, dry_run: bool) -> None:
    """Add members from the messaging service's export (CSV: email, postcode or district, age_band, sex).

    Exits 0 when the file could be read, whatever rows were refused (each is listed with its line
    and why); 1 when the file itself cannot be read, and then nothing is stored.
    """
    from tqdm import tqdm

    from talking.db.engine import create_engine
    from talking.members import services
    from talking.members.member_file import UnreadableFile, as_text, read_text_file

    try:
        total, rows = read_text_file(file.read_bytes())
    except UnreadableFile as exc:
        raise click.ClickException(f"{file}: {exc}") from exc

    async def run() -> ImportReport:
        engine = create_engine(Settings.from_env().database_url)
        try:
            with tqdm(total=total, desc="members", unit="row", file=sys.stderr) as bar:
                async with engine.begin() as conn:
                    return await services.import_members(conn, rows, dry_run=dry_run, progress=bar.update)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except UnreadableFile as exc:  # found part-way: the transaction is rolled back, nothing is stored
        raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
    if report.refused:
        click.echo(as_text(report.refused), nl=False)
    if report.kept_unsubscribed:
        click.echo(f"{report.kept_unsubscribed:,} of the updated members had unsubscribed: they stay unsubscribed")
    click.echo(report.summary())


@members.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
def erase(email: str, yes: bool) -> None:
    """Erase a member for good (a request by post or phone): their address and details are removed."""
    from talking.db.engine import create_engine
    from talking.members import directory

    if not yes:
        click.confirm(f"Erase the member {email}? Their address and details are removed for good", abort=True)

    async def run() -> int:
        engine = create_engine(Settings.from_env().database_url)
        try:
            async with engine.begin() as conn:
                return await directory.erase_by_email(conn, email)
        finally:
            await engine.dispose()

    try:
        member_id = asyncio.run(run())
    except directory.MemberNotFound as exc:
        raise click.ClickException(f"No member has the address {email}") from exc
    click.echo(f"talking: member {member_id} erased (address and details removed)")
