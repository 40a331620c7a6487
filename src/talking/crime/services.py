"""Recorded crime: storing a read file's counts, the import log, and the counts a report reads.

Storing runs in the caller's transaction: the months and forces the file covers are deleted and
its counts inserted together, so a re-import replaces a month whole or not at all. On PostgreSQL
the counts table is locked for the import's transaction, so two imports of the same month wait
for each other instead of colliding on the primary key; SQLite's write lock (taken at BEGIN by the
app's sessions and by the command) does the same there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.crime.police_file import CrimeFile
from talking.crime.schemas import CrimeImportReport, ImportLogEntry
from talking.db.models import crime_counts, crime_imports
from talking.principal import Principal

Db = AsyncSession | AsyncConnection
CHUNK = 1_000
SHOWN_REFUSALS = 50  # refused rows a report carries (the command and the log count them all)


async def store_file(
    db: Db,
    found: CrimeFile,
    file_name: str,
    *,
    via: str,
    actor: Principal | None = None,
    ip: str | None = None,
) -> CrimeImportReport:
    """Replace the months and forces the file covers with its counts, log the import, and say what it did."""
    conn = await db.connection() if isinstance(db, AsyncSession) else db
    if conn.dialect.name == "postgresql":
        await db.execute(text("LOCK TABLE crime_counts IN SHARE ROW EXCLUSIVE MODE"))
    covers = sorted(found.covers)
    replaced: list[str] = []
    if covers:
        already = await db.execute(
            select(crime_counts.c.month, crime_counts.c.force)
            .where(tuple_(crime_counts.c.month, crime_counts.c.force).in_(covers))
            .distinct()
        )
        replaced = sorted(f"{month} {force}" for month, force in already)
        for start in range(0, len(covers), CHUNK):
            part = covers[start : start + CHUNK]
            await db.execute(
                delete(crime_counts).where(
                    or_(*(and_(crime_counts.c.month == m, crime_counts.c.force == f) for m, f in part))
                )
            )
    months, forces = sorted(found.months), sorted(found.forces)
    import_id = (
        await db.execute(
            insert(crime_imports)
            .values(
                file_name=file_name[:255],
                forces=", ".join(forces),
                months=", ".join(months),
                rows_read=found.rows_read,
                rows_stored=found.rows_stored,
                rows_outside=found.rows_outside,
                rows_without_location=found.rows_without_location,
                rows_refused=found.rows_refused,
                imported_via=via,
                imported_by_id=actor.user_id if actor else None,
                imported_at=datetime.now(UTC),
            )
            .returning(crime_imports.c.id)
        )
    ).scalar_one()
    rows = [
        {"month": m, "force": f, "district_code": d, "crime_type": t, "incidents": n, "import_id": import_id}
        for (m, f, d, t), n in sorted(found.counts.items())
    ]
    for start in range(0, len(rows), CHUNK):
        await db.execute(insert(crime_counts), rows[start : start + CHUNK])
    detail = {"file": file_name[:100], "months": months, "stored": found.rows_stored, "replaced": len(replaced)}
    await audit.record(
        db, "crime_imported", actor=actor, target_type="crime_import", target_id=import_id, detail=detail, ip=ip
    )
    return CrimeImportReport(
        file=file_name,
        months=months,
        forces=forces,
        rows_read=found.rows_read,
        rows_stored=found.rows_stored,
        rows_outside=found.rows_outside,
        rows_without_location=found.rows_without_location,
        rows_refused=found.rows_refused,
        refused=found.refused[:SHOWN_REFUSALS],
        outside=found.outside_areas(),
        replaced=replaced,
    )


async def import_log(db: Db, *, latest: int = 20) -> list[ImportLogEntry]:
    """The latest imports, newest first."""
    c = crime_imports.c
    rows = await db.execute(
        select(
            c.id,
            c.file_name,
            c.months,
            c.forces,
            c.rows_read,
            c.rows_stored,
            c.rows_outside,
            c.rows_without_location,
            c.rows_refused,
            c.imported_via,
            c.imported_at,
        )
        .order_by(c.id.desc())
        .limit(latest)
    )
    return [ImportLogEntry(*row) for row in rows]


# --- what reports read (a synchronous connection: reports load their inputs in run_sync) -------------


def imported_months(conn: Connection) -> list[str]:
    """Every month with recorded crime stored, oldest first."""
    return list(conn.execute(select(crime_counts.c.month).distinct().order_by(crime_counts.c.month)).scalars())


def incidents_by_district(conn: Connection, months: Sequence[str]) -> dict[str, dict[str, int]]:
    """district code -> police.uk crime type -> incidents over the months given (every force's together)."""
    if not months:
        return {}
    found: dict[str, dict[str, int]] = defaultdict(dict)
    query = (
        select(crime_counts.c.district_code, crime_counts.c.crime_type, func.sum(crime_counts.c.incidents))
        .where(crime_counts.c.month.in_(list(months)))
        .group_by(crime_counts.c.district_code, crime_counts.c.crime_type)
    )
    for district, crime_type, incidents in conn.execute(query):
        found[district][crime_type] = int(incidents)
    return dict(found)
