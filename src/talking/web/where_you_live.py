"""The "where you live" question's answer, as every feature asks it: an area chosen from the list, or a postcode.

A chosen area wins (the resident said so); otherwise a postcode is looked up in OS Code-Point
Open (talking.reference.postcodes). The postcode itself is never kept: it finds the district and
is forgotten, except to show it again on the page when something is wrong. The open survey's
district page and the resident panel's join and manage pages share this, each with its own rule
for which areas it takes (``refusal``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from talking.reference import districts_by_code
from talking.reference.postcodes import PostcodeNotFound, district_of_postcode

# A postcode is at most 8 characters as written; well over that is not one (and is not shown back whole).
MAX_POSTCODE_CHARS = 16
NEITHER = "Enter your postcode, or choose your area from the list"
# Why an area cannot be taken (None when it can): its ONS code in, a message for the resident out.
Refusal = Callable[[str], str | None]


def any_of_the_14(code: str) -> str | None:
    """The default rule: any of the 14 areas, nothing else."""
    return None if code in districts_by_code() else "Choose your area from the list"


class WhereYouLive(NamedTuple):
    """The district found (None when refused), the errors by field id, and the postcode as typed."""

    district: str | None
    errors: dict[str, str]
    postcode: str


def where_you_live(chosen: str | None, postcode: str | None, refusal: Refusal = any_of_the_14) -> WhereYouLive:
    """The district from the page's two ways to answer, or why there is none."""
    typed = (postcode or "").strip()[:MAX_POSTCODE_CHARS]
    if chosen:
        problem = refusal(chosen)
        return WhereYouLive(None if problem else chosen, {"district": problem} if problem else {}, typed)
    if not typed:
        return WhereYouLive(None, {"postcode": NEITHER}, typed)
    try:
        district = district_of_postcode(typed)
    except PostcodeNotFound as exc:
        return WhereYouLive(None, {"postcode": exc.message}, typed)
    if problem := refusal(district.code):
        return WhereYouLive(None, {"postcode": f"{typed.upper()} is in {district.name}: {problem}"}, typed)
    return WhereYouLive(district.code, {}, typed)
