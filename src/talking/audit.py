"""The audit log: who did what to what, and when. Written in the same transaction as the action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking.db.models import audit_events
from talking.principal import Principal

# The actions we record; the admin audit page filters by these.
ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "user_created",
    "user_role_changed",
    "user_deactivated",
    "user_reactivated",
    "token_created",
    "token_revoked",
    "survey_created",
    "survey_updated",
    "survey_published",
    "survey_closed",
    "survey_wave_created",
    "report_exported",
    "responses_exported",
    "members_imported",
    "members_searched",
    "member_viewed",
    "member_erased",
    # talking.invitations: a round of invitations or reminders for a members survey (counts, never who)
    "invitations_sent",
    "reminders_sent",
    # talking.retention: a daily run claimed by a worker, a run's removals, a resident's response erased
    "retention_started",
    "retention_applied",
    "response_erased",
    # talking.crime: a police.uk file imported (by the command or the upload page)
    "crime_imported",
    # talking.results: public results, their quotes and partners' updates
    "results_published",
    "results_withdrawn",
    "quote_approved",
    "quote_removed",
    "results_update_added",
    "results_update_removed",
    # talking.packs: a report frozen as a Strategic Assessment pack
    "pack_made",
)


async def record(
    db: AsyncSession | AsyncConnection,
    action: str,
    *,
    actor: Principal | None = None,
    actor_email: str | None = None,
    target_type: str | None = None,
    target_id: object = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Add one audit event to the caller's transaction (it commits or rolls back with the action)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    await db.execute(
        insert(audit_events).values(
            at=datetime.now(UTC),
            actor_id=actor.user_id if actor else None,
            actor_email=actor.email if actor else actor_email,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            detail=msgspec.json.encode(detail or {}).decode(),
            ip=ip,
        )
    )


class AuditQuery(msgspec.Struct, frozen=True):
    """Which events to list: any part may be left out."""

    action: str | None = None
    # Part of the actor's email, any case.
    actor: str | None = None
    since: datetime | None = None
    before: datetime | None = None


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.action:
        conditions.append(audit_events.c.action == query.action)
    if query.actor:
        pattern = query.actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(audit_events.c.actor_email).like(f"%{pattern}%", escape="\\"))
    if query.since:
        conditions.append(audit_events.c.at >= query.since)
    if query.before:
        conditions.append(audit_events.c.at < query.before)
    return conditions


async def search(
    db: AsyncSession | AsyncConnection, query: AuditQuery, *, limit: int, offset: int = 0
) -> tuple[int, list[Row[Any]]]:
    """How many events match, and one page of them, newest first."""
    conditions = _conditions(query)
    total = (await db.execute(select(func.count()).select_from(audit_events).where(*conditions))).scalar_one()
    rows = await db.execute(
        select(audit_events)
        .where(*conditions)
        .order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return total, list(rows)
