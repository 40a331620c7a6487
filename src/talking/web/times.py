"""Moments as people read them on our pages, in UK time: GOV.UK style for residents, compact for staff."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def staff_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """A moment in UK time as staff pages show it: "21 Nov 2025, 17:11" (or "Never")."""
    if moment is None:
        return "Never"
    local = moment.astimezone(LONDON)
    return f"{local.day} {local.strftime('%b %Y, %H:%M' + (':%S' if seconds else ''))}"


def london_time(moment: datetime) -> str:
    """A moment as residents read it, in UK time and GOV.UK style: "5pm on 3 March 2026".

    Midnight is ambiguous, so a survey closing at midnight says "11:59pm" the day before.
    """
    local = moment.astimezone(LONDON)
    if (local.hour, local.minute) == (0, 0):
        local -= timedelta(minutes=1)
    hour = local.hour % 12 or 12
    clock = f"{hour}{local.strftime(':%M') if local.minute else ''}{'am' if local.hour < 12 else 'pm'}"
    if (local.hour, local.minute) == (12, 0):
        clock = "midday"
    return f"{clock} on {local.day} {local.strftime('%B %Y')}"
