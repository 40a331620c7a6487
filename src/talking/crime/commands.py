"""`talking crime ...`: police.uk recorded crime from the command line (joined to `talking` in cli.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from talking.settings import Settings


@click.group()
def crime() -> None:
    """Recorded crime from police.uk, set beside residents' concerns in reports."""


@crime.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_files(files: tuple[Path, ...]) -> None:
    """Import police.uk street-level crime CSV files (any force, any number of months).

    Each file is read whole, then stored in one transaction: importing a month of a force again
    replaces it. A file that cannot be read (not UTF-8, not CSV, empty, without police.uk's
    columns, a month that is not YYYY-MM) is reported and nothing of it is stored; the others
    go on. Exits 1 if any file was refused.
    """
    from tqdm import tqdm

    from talking.crime.police_file import UnreadableCrimeFile, read_path

    database_url = Settings.from_env().database_url
    refused = 0
    for file in files:
        try:
            with tqdm(
                total=file.stat().st_size, desc=file.name[:30], unit="B", unit_scale=True, file=sys.stderr
            ) as bar:
                found = read_path(file, progress=bar.update)
                bar.update(max(0, bar.total - bar.n))
        except UnreadableCrimeFile as exc:
            click.echo(f"{file}: refused, nothing imported: {exc}", err=True)
            refused += 1
            continue
        report = asyncio.run(_store(database_url, found, file.name))
        for row in report.refused:
            click.echo(f"{file.name} line {row.line}: {row.reason}")
        if report.rows_refused > len(report.refused):
            click.echo(f"{file.name}: ... and {report.rows_refused - len(report.refused):,} more rows refused")
        if report.outside:
            where = ", ".join(f"{area.name} {area.rows:,}" for area in report.outside)
            click.echo(f"{file.name}: rows outside the 14 areas, not stored: {where}")
        click.echo(report.summary())
    if refused:
        raise click.ClickException(f"{refused} of {len(files)} file(s) refused: see above")


async def _store(database_url: str, found, file_name: str):
    from talking.crime import services
    from talking.db.engine import create_engine, immediate

    engine = create_engine(database_url)
    try:
        async with immediate(engine).begin() as conn:
            return await services.store_file(conn, found, file_name, via="command")
    finally:
        await engine.dispose()
