"""Consistent copies of the database while the service runs (`talking db backup`), and restoring one
into an empty database (`talking db restore`).

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live file page by page.
The copying connection first opens a read transaction, so every step reads the same snapshot (WAL
lets writers carry on meanwhile) and the copy holds exactly what was committed when the backup
began; without it SQLite restarts the copy whenever another process commits, which under load may
be never done. PostgreSQL: ``pg_dump --format=custom`` (one snapshot, by the dump's own
transaction) and ``pg_restore`` in a single transaction. Both write to ``FILE.partial`` and rename
it only when complete, so a file named FILE is always a whole backup.

Every refusal is a ``BackupError`` whose message says why and what to do instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# Told (done, total) as a copy goes on: pages for SQLite, tables for PostgreSQL.
Progress = Callable[[int, int], None]

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
# Pages copied per step of SQLite's backup: about 4 MB, a progress report every few milliseconds.
_PAGES_PER_STEP = 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def back_up(database_url: str, target: Path, progress: Progress) -> None:
    """Write a consistent copy of the database at ``database_url`` to ``target`` (a new file)."""
    if target.exists():
        raise BackupError(f"{target} already exists: give a new file name (a backup never overwrites a file)")
    if not target.parent.is_dir():
        raise BackupError(f"there is no folder {target.parent} to write {target.name} in")
    url = make_url(database_url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # left by a backup that was stopped
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_path(url, must_exist=True), partial, progress)
        else:
            _pg_dump(url, partial, progress)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)


def restore(database_url: str, source: Path, progress: Progress) -> None:
    """Restore the backup ``source`` into the database at ``database_url``, which must be empty."""
    try:
        with source.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from None
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and not header.startswith(SQLITE_HEADER):
        hint = " (it is a PostgreSQL dump: point TALKING_DATABASE_URL at PostgreSQL)" if _is_dump(header) else ""
        raise BackupError(f"{source} is not a backup of an SQLite database{hint}")
    if not sqlite and not _is_dump(header):
        hint = (
            " (it is an SQLite backup: point TALKING_DATABASE_URL at an SQLite file)" if header == SQLITE_HEADER else ""
        )
        raise BackupError(f"{source} is not a PostgreSQL dump made by `talking db backup`{hint}")
    if sqlite:
        _sqlite_restore(source, _sqlite_path(url, must_exist=False), progress)
    else:
        _pg_restore(url, source, progress)


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(url: URL, *, must_exist: bool) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up or restore into")
    path = Path(url.database)
    if must_exist and not path.is_file():
        raise BackupError(f"there is no database at {path}")
    return path


def _sqlite_backup(database: Path, partial: Path, progress: Progress) -> None:
    # mode=rw: never create an empty database where the real one was expected.
    source = sqlite3.connect(f"file:{database}?mode=rw", uri=True, isolation_level=None, timeout=15)
    copy = sqlite3.connect(partial, isolation_level=None)
    try:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
        source.backup(copy, pages=_PAGES_PER_STEP, progress=_pages(progress))
        source.execute("COMMIT")
        # One self-contained file (the live one is in WAL mode, with its journal beside it).
        copy.execute("PRAGMA journal_mode=DELETE")
        if (check := copy.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
            raise BackupError(f"the copy failed its check ({check}); nothing was kept")
    finally:
        copy.close()
        source.close()


def _sqlite_restore(source: Path, database: Path, progress: Progress) -> None:
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    try:
        try:
            tables = _sqlite_tables(backup)
        except sqlite3.DatabaseError:
            raise BackupError(f"{source} is damaged: it does not open as an SQLite database") from None
        if "alembic_version" not in tables:
            raise BackupError(f"{source} is an SQLite database, but not one of talking's")
        database.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database, isolation_level=None, timeout=15)
        try:
            if existing := _sqlite_tables(target):
                raise BackupError(_not_empty(str(database), existing, "move the file away or name a new one"))
            backup.backup(target, pages=_PAGES_PER_STEP, progress=_pages(progress))
            target.execute("PRAGMA journal_mode=WAL")  # as the app keeps it
        finally:
            target.close()
    finally:
        backup.close()


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def _pages(progress: Progress) -> Callable[[int, int, int], None]:
    """sqlite3's backup callback (status, remaining, total) as (done, total)."""
    return lambda _status, remaining, total: progress(total - remaining, total)


# --- PostgreSQL -----------------------------------------------------------------------------------

_DUMPING = re.compile(r"dumping contents of table")
_RESTORING = re.compile(r"processing data for table")


def _pg_dump(url: URL, partial: Path, progress: Progress) -> None:
    program = _client_program("pg_dump", url)
    total = len(asyncio.run(_pg_tables(url)))
    command = [program, "--format=custom", "--verbose", f"--file={partial}", f"--dbname={_libpq(url)}"]
    _run_counting(command, url, _DUMPING, total, progress, "pg_dump")


def _pg_restore(url: URL, source: Path, progress: Progress) -> None:
    program = _client_program("pg_restore", url)
    if existing := asyncio.run(_pg_tables(url)):
        raise BackupError(_not_empty(_where(url), existing, "create a new one (createdb) and restore into that"))
    listed = subprocess.run([program, "--list", str(source)], capture_output=True, text=True, check=False)  # noqa: S603
    if listed.returncode != 0:
        raise BackupError(f"{source} cannot be read as a dump: {listed.stderr.strip()}")
    total = sum(" TABLE DATA " in line for line in listed.stdout.splitlines())
    command = [
        program,
        "--exit-on-error",
        "--single-transaction",  # all of it or none of it
        "--no-owner",  # the tables belong to whoever restores them
        "--no-privileges",
        "--verbose",
        f"--dbname={_libpq(url)}",
        str(source),
    ]
    _run_counting(command, url, _RESTORING, total, progress, "pg_restore")


def _run_counting(
    command: list[str], url: URL, step: re.Pattern[str], total: int, progress: Progress, name: str
) -> None:
    """Run a client program, telling ``progress`` each time its verbose output starts another table."""
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = 0
    progress(done, total)
    tail: list[str] = []
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env) as process:  # noqa: S603
        for line in process.stderr or ():
            if step.search(line):
                done += 1
                progress(min(done, total), total)
            tail = [*tail[-9:], line.rstrip()]
    if process.returncode != 0:
        errors = "\n".join(line for line in tail if "error" in line.lower()) or "\n".join(tail)
        raise BackupError(f"{name} failed (exit {process.returncode}); nothing was changed:\n{errors}")
    progress(total, total)


def _client_program(name: str, url: URL) -> str:
    """The path of pg_dump or pg_restore, if it is new enough for the server (an older one refuses)."""
    program = shutil.which(name)
    if program is None:
        raise BackupError(f"{name} is not installed: install PostgreSQL's client programs (Debian: postgresql-client)")
    found = re.search(r"(\d+)", subprocess.run([program, "--version"], capture_output=True, text=True).stdout)  # noqa: S603
    client_major = int(found.group(1)) if found else 0
    server_major = asyncio.run(_pg_server_major(url))
    if client_major < server_major:
        raise BackupError(
            f"{name} is version {client_major} but the server is {server_major}: install the client programs"
            f" of PostgreSQL {server_major} or newer"
        )
    return program


async def _pg_tables(url: URL) -> list[str]:
    """The tables in the database's own schemas (none: an empty database)."""
    conn = await _pg_connect(url)
    try:
        rows = await conn.fetch(
            "SELECT schemaname || '.' || tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
    finally:
        await conn.close()
    return [row[0] for row in rows]


async def _pg_server_major(url: URL) -> int:
    conn = await _pg_connect(url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


async def _pg_connect(url: URL):
    import asyncpg

    try:
        return await asyncpg.connect(_libpq(url), password=url.password, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"cannot connect to {_where(url)}: {exc}") from None


def _libpq(url: URL) -> str:
    """The URL as libpq takes it, without the password (passed as PGPASSWORD, never on a command line)."""
    plain = url.set(drivername="postgresql", password=None, query={})
    return plain.render_as_string(hide_password=False)


def _where(url: URL) -> str:
    return url.render_as_string(hide_password=True)


# --- both -----------------------------------------------------------------------------------------


def _is_dump(header: bytes) -> bool:
    return header.startswith(PG_DUMP_HEADER)


def _not_empty(where: str, tables: list[str], instead: str) -> str:
    shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
    return (
        f"the database at {where} is not empty (it has {len(tables)} tables: {shown}); a backup is restored"
        f" only into an empty database, so nothing is overwritten: {instead}"
    )


def _fsync(path: Path) -> None:
    """Make a file (or a folder's entry for it) durable before the backup is called done."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
