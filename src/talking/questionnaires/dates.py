"""Opening and closing times as staff type them: a GOV.UK date input and a time, in UK time.

Read from the form, shown again as typed (or as stored), and turned into aware UTC datetimes, with
errors by the ids of the date and time fields so the error summary's links land on them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import msgspec
from litestar.datastructures import FormMultiDict

from talking.errors import FieldError
from talking.web.forms import form_text
from talking.web.times import LONDON

_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")
MOMENT_IDS = ("opens-day", "opens-time", "closes-day", "closes-time")


class Moment(msgspec.Struct, kw_only=True):
    """A GOV.UK date input and a time, as typed."""

    day: str = ""
    month: str = ""
    year: str = ""
    time: str = ""


def moment_of(when: datetime | None, *, end_of_day: bool = False) -> Moment:
    """A stored time as the date and time fields show it, in UK time (midnight as a date alone, as typed)."""
    if when is None:
        return Moment()
    local = when.astimezone(LONDON)
    clock = local.strftime("%H:%M")
    if clock == "00:00":
        day = local.date() - timedelta(days=1) if end_of_day else local.date()
        return Moment(day=str(day.day), month=str(day.month), year=str(day.year))
    return Moment(day=str(local.day), month=str(local.month), year=str(local.year), time=clock)


def read_moment(form: FormMultiDict, prefix: str) -> Moment:
    """The date and time fields called ``prefix``-day, -month, -year and -time."""
    return Moment(**{part: form_text(form, f"{prefix}-{part}").strip() for part in ("day", "month", "year", "time")})


def _clock(text: str) -> time | None:
    """ "9", "9:30", "17:30", "9am", "5.30pm" as a time of day, or None."""
    found = _TIME.match(text.lower().replace(" ", ""))
    if not found:
        return None
    hour, minute, half = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_moment(typed: Moment, prefix: str, label: str, *, end_of_day: bool) -> tuple[datetime | None, dict[str, str]]:
    """The fields as an aware UTC datetime (None if all blank), or errors by field id.

    A date without a time means the start of that day in UK time, or for a closing date its end.
    """
    parts = [typed.day, typed.month, typed.year]
    if not any(parts) and not typed.time:
        return None, {}
    if not any(parts):
        return None, {f"{prefix}-day": f"Enter the {label} date as well as the time"}
    if not all(parts):
        missing = [name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part]
        return None, {f"{prefix}-day": f"The {label} date must include a {' and '.join(missing)}"}
    real = f"The {label} date must be a real date, like 27 3 2027"
    if not all(part.isdigit() for part in parts) or len(typed.year) != 4:
        return None, {f"{prefix}-day": real}
    try:
        day = date(int(typed.year), int(typed.month), int(typed.day))
    except ValueError:
        return None, {f"{prefix}-day": real}
    if not typed.time:
        start = datetime.combine(day + timedelta(days=1) if end_of_day else day, time(0, 0), tzinfo=LONDON)
        return start.astimezone(UTC), {}
    clock = _clock(typed.time)
    if clock is None:
        return None, {f"{prefix}-time": f"Enter the {label} time like 9:00 or 17:30"}
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC), {}


def parse_dates(opens: Moment, closes: Moment) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """The opening and closing times, or errors by field id."""
    opens_at, errors = parse_moment(opens, "opens", "opening", end_of_day=False)
    closes_at, closing_errors = parse_moment(closes, "closes", "closing", end_of_day=True)
    return opens_at, closes_at, {**errors, **closing_errors}


def date_field_ids(problems: list[FieldError]) -> dict[str, str]:
    """The service's problems with dates by the date fields' ids."""
    return {{"opens_at": "opens-day", "closes_at": "closes-day"}.get(p.field, p.field): p.message for p in problems}
