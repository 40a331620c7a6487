"""The panel's members: the rules and the queries.

An import adds new members (active, consent "imported" with the day) and refreshes the district
and about-you answers of members already on the panel, matched by email whatever its case. It never
re-subscribes anyone: an unsubscribed member's details are refreshed, their choice is kept. It runs
in the caller's transaction, a chunk of rows per statement, so 80,000 rows take seconds and a
failure leaves nothing half-imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.db.models import members
from talking.members.schemas import IMPORTED_CONSENT, ImportReport, MemberRow, RefusedRow
from talking.principal import Principal

Db = AsyncSession | AsyncConnection
# Rows per statement: small enough for SQLite's parameter limit in the IN (...) look-up.
CHUNK = 500
# Counts rows as they are handled, for a progress bar (the command's tqdm).
Progress = Callable[[int], None]


def _quiet(_rows: int) -> None:
    return None


async def import_members(
    db: Db,
    rows: Iterable[MemberRow | RefusedRow],
    *,
    dry_run: bool = False,
    actor: Principal | None = None,
    ip: str | None = None,
    progress: Progress = _quiet,
) -> ImportReport:
    """Add and update members from checked rows; in a dry run, count what would happen and store nothing."""
    imported = updated = kept_unsubscribed = 0
    refused: list[RefusedRow] = []
    chunk: list[MemberRow] = []

    async def flush() -> None:
        nonlocal imported, updated, kept_unsubscribed
        added, refreshed, unsubscribed = await _store_chunk(db, chunk, dry_run=dry_run)
        imported, updated, kept_unsubscribed = imported + added, updated + refreshed, kept_unsubscribed + unsubscribed
        progress(len(chunk))
        chunk.clear()

    for row in rows:
        if isinstance(row, RefusedRow):
            refused.append(row)
            progress(1)
            continue
        chunk.append(row)
        if len(chunk) >= CHUNK:
            await flush()
    if chunk:
        await flush()
    report = ImportReport(imported, updated, refused, dry_run=dry_run, kept_unsubscribed=kept_unsubscribed)
    if not dry_run:
        detail = {"imported": imported, "updated": updated, "refused": len(refused)}
        await audit.record(db, "members_imported", actor=actor, target_type="members", detail=detail, ip=ip)
    return report


async def _store_chunk(db: Db, chunk: list[MemberRow], *, dry_run: bool) -> tuple[int, int, int]:
    """Insert the chunk's new members and refresh the existing ones: (added, refreshed, kept unsubscribed)."""
    keys = [row.email_key for row in chunk]
    existing = {
        key: status
        for key, status in await db.execute(
            select(members.c.email_key, members.c.status).where(members.c.email_key.in_(keys))
        )
    }
    new = [row for row in chunk if row.email_key not in existing]
    known = [row for row in chunk if row.email_key in existing]
    unsubscribed = sum(1 for row in known if existing[row.email_key] == "unsubscribed")
    if dry_run:
        return len(new), len(known), unsubscribed
    now = datetime.now(UTC)
    if new:
        await db.execute(
            insert(members),
            [
                {
                    "email": row.email,
                    "email_key": row.email_key,
                    "district_code": row.district_code,
                    "age_band": row.age_band,
                    "sex": row.sex,
                    "status": "active",
                    "consent_version": IMPORTED_CONSENT,
                    "consent_at": now,
                    "joined_at": now,
                    "confirmed_at": now,
                    "updated_at": now,
                }
                for row in new
            ],
        )
    if known:
        await db.execute(_REFRESH, [_refresh_values(row, now) for row in known])
    return len(new), len(known), unsubscribed


# A member who had not confirmed yet becomes active with the import's consent; an unsubscribed one stays so.
_REFRESH = (
    update(members)
    .where(members.c.email_key == bindparam("key"))
    .values(
        email=bindparam("new_email"),
        district_code=bindparam("new_district"),
        age_band=func.coalesce(bindparam("new_age_band"), members.c.age_band),
        sex=func.coalesce(bindparam("new_sex"), members.c.sex),
        status=case((members.c.status == "pending", "active"), else_=members.c.status),
        consent_version=case((members.c.status == "pending", IMPORTED_CONSENT), else_=members.c.consent_version),
        consent_at=case((members.c.status == "pending", bindparam("now")), else_=members.c.consent_at),
        confirmed_at=func.coalesce(members.c.confirmed_at, bindparam("now")),
        updated_at=bindparam("now"),
    )
)


def _refresh_values(row: MemberRow, now: datetime) -> dict[str, object]:
    return {
        "key": row.email_key,
        "new_email": row.email,
        "new_district": row.district_code,
        "new_age_band": row.age_band,
        "new_sex": row.sex,
        "now": now,
    }
